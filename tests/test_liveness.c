/* test_liveness.c — the memory footprint of a step (passes/liveness.c): a hand-built training
 * graph with every phase whose live bytes per step are worked out by hand, an inference graph
 * with a view and a constant, element sizes, errors (unknown shape), an empty graph, allocation
 * failures, and whole fixture models (weights = 4 bytes x parameters). */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

/* Adds a float tensor of the given dims; IR_NONE on failure. */
static uint32_t ten(Graph *g, const char *name, TensorRole role, int rank, int64_t d0, int64_t d1) {
  const int64_t dims[2] = {d0, d1};
  Diag d;
  diag_init(&d);
  return ir_add_tensor(g, name, DT_FLOAT, role, rank, dims, &d);
}

/* Adds node op(in...) -> out in phase ph; false on failure. */
static bool node(Graph *g, OpKind op, const char *name, Phase ph, const uint32_t *in, int n_in,
                 uint32_t out) {
  Diag d;
  diag_init(&d);
  uint32_t n = ir_add_node(g, op, name, in, n_in, &out, 1, &d);
  if (n == IR_NONE) return false;
  g->nodes[n].phase = ph;
  return true;
}

/* A two-layer perceptron's training step, shapes set by hand (f32, 4 bytes):
 *   0 h  = MatMul(x[1,8], w1[8,4])        forward        h  [1,4]  16 B
 *   1 a  = Relu(h)                        forward        a  [1,4]  16 B
 *   2 z  = MatMul(a, w2[4,2])             forward        z  [1,2]   8 B
 *   3 L  = ReduceSum(z)                   loss           L  [1]     4 B (graph output)
 *   4 gz = Mul(z, L)                      loss           gz [1,2]   8 B gradient
 *   5 gw2 = MatMul(a, gz)                 backward_weight          32 B gradient
 *   6 ga = MatMul(gz, w2)                 backward_data            16 B gradient
 *   7 gh = Mul(ga, h)                     backward_data            16 B gradient
 *   8 gw1 = MatMul(x, gh)                 backward_weight         128 B gradient
 *   9 m1' = Add(m1, gw1)   10 w1' = Sub(w1, m1')   11 m2' = Add(m2, gw2)   12 w2' = Sub(w2, m2')
 * (update; the primed tensors are in-place updates whatever their role). Weights 128 + 32,
 * momentum 128 + 32. */
static Graph *train_graph(void) {
  Graph *g = ir_graph_new();
  if (!g) return NULL;
  uint32_t x = ten(g, "x", ROLE_INPUT, 2, 1, 8), w1 = ten(g, "w1", ROLE_WEIGHT, 2, 8, 4);
  uint32_t w2 = ten(g, "w2", ROLE_WEIGHT, 2, 4, 2), m1 = ten(g, "m1", ROLE_OPT_STATE, 2, 8, 4);
  uint32_t m2 = ten(g, "m2", ROLE_OPT_STATE, 2, 4, 2);
  uint32_t h = ten(g, "h", ROLE_ACTIVATION, 2, 1, 4), a = ten(g, "a", ROLE_ACTIVATION, 2, 1, 4);
  uint32_t z = ten(g, "z", ROLE_ACTIVATION, 2, 1, 2), L = ten(g, "L", ROLE_LOSS, 1, 1, 0);
  uint32_t gz = ten(g, "gz", ROLE_GRADIENT, 2, 1, 2), gw2 = ten(g, "gw2", ROLE_GRADIENT, 2, 4, 2);
  uint32_t ga = ten(g, "ga", ROLE_GRADIENT, 2, 1, 4), gh = ten(g, "gh", ROLE_GRADIENT, 2, 1, 4);
  uint32_t gw1 = ten(g, "gw1", ROLE_GRADIENT, 2, 8, 4);
  /* New values: state by role (m1n), or an activation as the autodiff pass writes them. */
  uint32_t m1n = ten(g, "m1n", ROLE_OPT_STATE, 2, 8, 4), w1n = ten(g, "w1n", ROLE_WEIGHT, 2, 8, 4);
  uint32_t m2n = ten(g, "m2n", ROLE_ACTIVATION, 2, 4, 2);
  uint32_t w2n = ten(g, "w2n", ROLE_ACTIVATION, 2, 4, 2);
  bool ok = w2n != IR_NONE && ir_graph_add_input(g, x);
  ok = ok && node(g, OP_MATMUL, "fc1", PHASE_FORWARD, (uint32_t[]){x, w1}, 2, h);
  ok = ok && node(g, OP_RELU, "relu", PHASE_FORWARD, (uint32_t[]){h}, 1, a);
  ok = ok && node(g, OP_MATMUL, "fc2", PHASE_FORWARD, (uint32_t[]){a, w2}, 2, z);
  ok = ok && node(g, OP_REDUCE_SUM, "loss", PHASE_LOSS, (uint32_t[]){z}, 1, L);
  ok = ok && node(g, OP_MUL, "dloss", PHASE_LOSS, (uint32_t[]){z, L}, 2, gz);
  ok = ok && node(g, OP_MATMUL, "fc2_dw", PHASE_BACKWARD_WEIGHT, (uint32_t[]){a, gz}, 2, gw2);
  ok = ok && node(g, OP_MATMUL, "fc2_dx", PHASE_BACKWARD_DATA, (uint32_t[]){gz, w2}, 2, ga);
  ok = ok && node(g, OP_MUL, "relu_dx", PHASE_BACKWARD_DATA, (uint32_t[]){ga, h}, 2, gh);
  ok = ok && node(g, OP_MATMUL, "fc1_dw", PHASE_BACKWARD_WEIGHT, (uint32_t[]){x, gh}, 2, gw1);
  ok = ok && node(g, OP_ADD, "m1_up", PHASE_UPDATE, (uint32_t[]){m1, gw1}, 2, m1n);
  ok = ok && node(g, OP_SUB, "w1_up", PHASE_UPDATE, (uint32_t[]){w1, m1n}, 2, w1n);
  ok = ok && node(g, OP_ADD, "m2_up", PHASE_UPDATE, (uint32_t[]){m2, gw2}, 2, m2n);
  ok = ok && node(g, OP_SUB, "w2_up", PHASE_UPDATE, (uint32_t[]){w2, m2n}, 2, w2n);
  ok = ok && ir_graph_add_output(g, L);
  if (!ok) {
    ir_graph_free(g);
    return NULL;
  }
  return g;
}

/* Live bytes by step (saved + gradients + loss on top of 320 resident):
 *   saved: x[0,8] 32, h[0,7] 16, a[1,5] 16, z[2,4] 8 → 48 64 72 72 72 64 48 48 32 0 ...
 *   gradients: gz[4,6] 8, gw2[5,11] 32, ga[6,7] 16, gh[7,8] 16, gw1[8,9] 128
 *              → steps 4..11: 8 40 56 64 176 160 32 32
 *   the loss L[3,12] 4 (a graph output stays to the end)
 * The total peaks at step 8 (fc1_dw): 320 + 32 + 176 + 4 = 532. */
static void test_training_step(void) {
  Graph *g = train_graph();
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Diag d;
  diag_init(&d);
  MemoryFootprint m;
  CU_ASSERT_EQUAL_FATAL(training_memory(g, &m, &d), XDL_OK);
  CU_ASSERT_EQUAL(m.weights_bytes, 160);
  CU_ASSERT_EQUAL(m.opt_state_bytes, 160);
  CU_ASSERT_EQUAL(m.const_bytes, 0);
  CU_ASSERT_EQUAL(m.saved_bytes, 72);
  CU_ASSERT_EQUAL(m.gradients_bytes, 176);
  CU_ASSERT_EQUAL(m.activations_bytes, 4);
  CU_ASSERT_EQUAL(m.total_bytes, 532);
  CU_ASSERT_EQUAL(m.peak_node, 8);
  CU_ASSERT_STRING_EQUAL(g->nodes[m.peak_node].name, "fc1_dw");
  CU_ASSERT_EQUAL(m.peak_saved_bytes, 32);
  CU_ASSERT_EQUAL(m.peak_gradients_bytes, 176);
  CU_ASSERT_EQUAL(m.peak_activations_bytes, 4);

  /* Only update nodes write in place (and state by role): as plain nodes, m2' [11,12] and
   * w2' [12,12] (activations by role, 32 bytes each) join the loss at step 12. */
  for (uint32_t n = 9; n < g->n_nodes; n++)
    g->nodes[n].phase = PHASE_BACKWARD_DATA;
  CU_ASSERT_EQUAL_FATAL(training_memory(g, &m, &d), XDL_OK);
  CU_ASSERT_EQUAL(m.activations_bytes, 4 + 32 + 32);
  CU_ASSERT_EQUAL(m.total_bytes, 532);

  /* The same graph as inference (every node forward): nothing is saved, the "gradients" are
   * still gradients by role, and x, h, a, z are plain activations. */
  for (uint32_t n = 0; n < g->n_nodes; n++)
    g->nodes[n].phase = PHASE_FORWARD;
  CU_ASSERT_EQUAL_FATAL(training_memory(g, &m, &d), XDL_OK);
  CU_ASSERT_EQUAL(m.saved_bytes, 0);
  CU_ASSERT_EQUAL(m.activations_bytes, 72 + 4); /* steps 2..4: x h a z, and L */
  CU_ASSERT_EQUAL(m.gradients_bytes, 176);
  ir_graph_free(g);
}

/* x[1,2,6,6] → Conv(w[4,2,3,3]) → y[1,4,4,4] → Relu → r → Reshape(r, shape i64[2]) → f →
 * Gemm(f, b[64,10]) → z[1,10]: f is a view of r, so r lives until the Gemm reads f.
 * Steps: 0: x 288 + y 256; 1: y + r 256; 2: r; 3: r + z 40 → peak 544 at step 0, on top of
 * weights 288 + 2560 and the 16-byte shape constant. */
static void test_inference_views(void) {
  Graph *g = ir_graph_new();
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Diag d;
  diag_init(&d);
  const int64_t xd[4] = {1, 2, 6, 6}, wd[4] = {4, 2, 3, 3}, yd[4] = {1, 4, 4, 4};
  const int64_t sd[1] = {2}, bd[2] = {64, 10}, fd[2] = {1, 64}, zd[2] = {1, 10};
  uint32_t x = ir_add_tensor(g, "x", DT_FLOAT, ROLE_INPUT, 4, xd, &d);
  uint32_t w = ir_add_tensor(g, "w", DT_FLOAT, ROLE_WEIGHT, 4, wd, &d);
  uint32_t y = ir_add_tensor(g, "y", DT_FLOAT, ROLE_ACTIVATION, 4, yd, &d);
  uint32_t r = ir_add_tensor(g, "r", DT_FLOAT, ROLE_ACTIVATION, 4, yd, &d);
  uint32_t sh = ir_add_tensor(g, "shape", DT_INT64, ROLE_CONST, 1, sd, &d);
  uint32_t f = ir_add_tensor(g, "f", DT_FLOAT, ROLE_ACTIVATION, 2, fd, &d);
  uint32_t b = ir_add_tensor(g, "b", DT_FLOAT, ROLE_WEIGHT, 2, bd, &d);
  uint32_t z = ir_add_tensor(g, "z", DT_FLOAT, ROLE_ACTIVATION, 2, zd, &d);
  uint32_t unused = ir_add_tensor(g, "unused", DT_FLOAT, ROLE_CONST, 2, bd, &d);
  CU_ASSERT_FATAL(diag_ok(&d) && unused != IR_NONE);
  CU_ASSERT_FATAL(node(g, OP_CONV, "conv", PHASE_FORWARD, (uint32_t[]){x, w}, 2, y));
  CU_ASSERT_FATAL(node(g, OP_RELU, "relu", PHASE_FORWARD, (uint32_t[]){y}, 1, r));
  CU_ASSERT_FATAL(node(g, OP_RESHAPE, "reshape", PHASE_FORWARD, (uint32_t[]){r, sh}, 2, f));
  CU_ASSERT_FATAL(node(g, OP_GEMM, "fc", PHASE_FORWARD, (uint32_t[]){f, b}, 2, z));
  CU_ASSERT_FATAL(ir_graph_add_input(g, x) && ir_graph_add_output(g, z));
  MemoryFootprint m;
  CU_ASSERT_EQUAL_FATAL(training_memory(g, &m, &d), XDL_OK);
  CU_ASSERT_EQUAL(m.weights_bytes, 288 + 2560);
  CU_ASSERT_EQUAL(m.const_bytes, 16); /* "unused" is never read: not counted */
  CU_ASSERT_EQUAL(m.opt_state_bytes, 0);
  CU_ASSERT_EQUAL(m.saved_bytes, 0);
  CU_ASSERT_EQUAL(m.gradients_bytes, 0);
  CU_ASSERT_EQUAL(m.activations_bytes, 544);
  CU_ASSERT_EQUAL(m.total_bytes, 288 + 2560 + 16 + 544);
  CU_ASSERT_EQUAL(m.peak_node, 0);

  /* Half-precision weights take 2 bytes per element. */
  g->tensors[b].dtype = DT_FLOAT16;
  CU_ASSERT_EQUAL_FATAL(training_memory(g, &m, &d), XDL_OK);
  CU_ASSERT_EQUAL(m.weights_bytes, 288 + 1280);

  /* A live tensor with an unknown shape is bad input naming it. */
  g->tensors[y].rank = -1;
  diag_init(&d);
  CU_ASSERT_EQUAL(training_memory(g, &m, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "'y'"));
  g->tensors[y].rank = 4;

  /* Every allocation failing in turn: a clean error, or success past the last one. */
  bool reached = false;
  for (uint64_t k = 1; k < 10 && !reached; k++) {
    diag_init(&d);
    xdl_alloc_fail_after(k);
    XdlStatus st = training_memory(g, &m, &d);
    xdl_alloc_fail_after(0);
    CU_ASSERT(st == XDL_OK || st == XDL_ERR_INTERNAL);
    reached = st == XDL_OK;
  }
  CU_ASSERT(reached);
  ir_graph_free(g);
}

/* A graph without nodes: only what is resident, no peak step. */
static void test_empty(void) {
  Graph *g = ir_graph_new();
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Diag d;
  diag_init(&d);
  MemoryFootprint m;
  CU_ASSERT_EQUAL(training_memory(g, &m, &d), XDL_OK);
  CU_ASSERT_EQUAL(m.total_bytes, 0);
  CU_ASSERT_EQUAL(m.peak_node, IR_NONE);
  ir_graph_free(g);
}

/* Whole fixture models as inference graphs: weights = 4 bytes x parameters (every weight is
 * f32), nothing saved, the peak at least the largest activation pair. */
static void check_model(const char *rel) {
  char *path = tu_refdata(rel);
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, NULL, &d);
  free(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  MemoryFootprint m;
  CU_ASSERT_EQUAL_FATAL(training_memory(g, &m, &d), XDL_OK);
  GraphTotals t = report_graph_totals(g);
  CU_ASSERT_EQUAL(m.weights_bytes, 4 * t.params);
  CU_ASSERT_EQUAL(m.saved_bytes, 0);
  CU_ASSERT_EQUAL(m.gradients_bytes, 0);
  CU_ASSERT(m.activations_bytes > 0);
  CU_ASSERT(m.total_bytes >= m.weights_bytes + m.activations_bytes);
  CU_ASSERT(m.total_bytes <= m.weights_bytes + m.const_bytes + m.activations_bytes);
  ir_graph_free(g);
}

static void test_fixture_models(void) {
  check_model("onnx/lenet5.onnx");
  check_model("onnx/resnet18.nodata.onnx");
  check_model("onnx/mobilenet_v2_train.nodata.onnx");
}

/* Whole training steps through the pass pipeline (autodiff with a loss and an optimizer):
 * weights = 4 bytes x parameters, something saved for the backward pass, every weight gradient
 * live together when the updates start (they follow the whole backward pass), Adam's two
 * moments per weight, and more memory than inference. */
static void check_training(const char *rel, OptimizerKind opt) {
  char *path = tu_refdata(rel);
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, NULL, &d), *gi = onnx_load(path, NULL, &d);
  free(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_PTR_NOT_NULL_FATAL(gi);
  GraphTotals t = report_graph_totals(g);
  PassOptions po = {.train = true, .optimizer = opt};
  CU_ASSERT_EQUAL_FATAL(passes_run(g, &po, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(passes_run(gi, NULL, &d), XDL_OK);
  MemoryFootprint m, mi;
  CU_ASSERT_EQUAL_FATAL(training_memory(g, &m, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(training_memory(gi, &mi, &d), XDL_OK);
  CU_ASSERT_EQUAL(m.weights_bytes, 4 * t.params);
  CU_ASSERT_EQUAL(mi.weights_bytes, 4 * t.params);
  CU_ASSERT(m.saved_bytes > 0);
  CU_ASSERT(m.gradients_bytes >= m.weights_bytes);
  CU_ASSERT(m.total_bytes >= 2 * m.weights_bytes + m.opt_state_bytes);
  if (opt == OPT_ADAM) CU_ASSERT(m.opt_state_bytes >= 2 * m.weights_bytes);
  if (opt == OPT_SGD) CU_ASSERT(m.opt_state_bytes < 64); /* learning rate and step only */
  CU_ASSERT(m.total_bytes > mi.total_bytes);
  CU_ASSERT_EQUAL(mi.saved_bytes, 0);
  CU_ASSERT_PTR_NOT_NULL(m.peak_name);
  if (m.peak_node != IR_NONE) CU_ASSERT_STRING_EQUAL(m.peak_name, g->nodes[m.peak_node].name);
  ir_graph_free(g);
  ir_graph_free(gi);
}

static void test_training_models(void) {
  check_training("onnx/lenet5.onnx", OPT_SGD);
  check_training("onnx/lenet5.onnx", OPT_ADAM);
  check_training("onnx/resnet18.nodata.onnx", OPT_MOMENTUM);
}

int main(void) {
  CU_TestInfo tests[] = {
      {"training step worked out by hand", test_training_step},
      {"inference graph with a view, constants, f16, errors, allocation failures",
       test_inference_views},
      {"empty graph", test_empty},
      {"fixture models as inference graphs", test_fixture_models},
      {"fixture models' training steps (autodiff)", test_training_models},
      CU_TEST_INFO_NULL,
  };
  return tu_run_suite("liveness", tests);
}
