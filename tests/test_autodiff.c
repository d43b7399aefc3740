/* test_autodiff.c — the training pass (passes/autodiff.c) and the backward rules
 * (ir/backward.c): on every non-capsule fixture the backward-data and backward-weight MACs equal
 * the oracle's training_macs layer by layer (backward nodes map to their forward node's module)
 * and in total; phases; no data gradient for the first layer; gradient summation; optimizer
 * state; loss selection; error cases; Gradient-node expansion; a golden IR printout of a tiny
 * MLP's training step (tests/golden/autodiff_mlp.expect). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "passes/passes.h"
#include "testutil.h"

static int64_t jint(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static Graph *load_train(const char *rel, const PassOptions *o, Diag *d) {
  char *p = tu_refdata(rel);
  diag_init(d);
  Graph *g = onnx_load(p, NULL, d);
  free(p);
  if (g && passes_run(g, o, d) != XDL_OK) {
    printf("\n  %s: %s\n", rel, d->msg);
    ir_graph_free(g);
    return NULL;
  }
  return g;
}

static PassOptions train_opts(OptimizerKind opt) {
  PassOptions o;
  memset(&o, 0, sizeof o);
  o.train = true;
  o.optimizer = opt;
  return o;
}

/* Sums backward GEMM MACs per module and compares them with the oracle's layers and totals. */
static void check_training_macs(const char *onnx_file, const char *oracle_file) {
  char *jp = tu_refdata(oracle_file);
  char *text = (char *)tu_read_file(jp, NULL);
  free(jp);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  cJSON *root = cJSON_Parse(text);
  CU_ASSERT_PTR_NOT_NULL_FATAL(root);
  PassOptions o = train_opts(OPT_SGD);
  Diag d;
  Graph *g = load_train(onnx_file, &o, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  int n_layers = cJSON_GetArraySize(layers);
  int64_t *bd = calloc((size_t)n_layers + 1, sizeof *bd), *bw = calloc((size_t)n_layers + 1, 8);
  int64_t tot_d = 0, tot_w = 0, unmapped = 0, by_phase[PHASE_UPDATE + 1] = {0};
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    NodeWork w = ir_node_work(g, n);
    by_phase[nd->phase] += w.macs;
    if (nd->phase != PHASE_BACKWARD_DATA && nd->phase != PHASE_BACKWARD_WEIGHT) continue;
    CU_ASSERT(nd->fwd_node != IR_NONE && nd->fwd_node < n);
    if (!w.macs) continue;
    char path[512];
    tu_module_path(g->nodes[nd->fwd_node].name, path, sizeof path);
    int li = 0;
    for (; li < n_layers; li++) {
      const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(layers, li), "name");
      if (cJSON_IsString(nm) && strcmp(nm->valuestring, path) == 0) break;
    }
    if (li == n_layers) {
      printf("\n  %s: backward node '%s' maps to no oracle layer ('%s')", onnx_file, nd->name,
             path);
      unmapped++;
      continue;
    }
    if (nd->phase == PHASE_BACKWARD_DATA) bd[li] += w.macs, tot_d += w.macs;
    else bw[li] += w.macs, tot_w += w.macs;
  }
  int bad = 0;
  for (int li = 0; li < n_layers; li++) {
    const cJSON *ly = cJSON_GetArrayItem(layers, li);
    if (bd[li] != jint(ly, "bwd_data_macs") || bw[li] != jint(ly, "bwd_weight_macs")) {
      bad++;
      printf("\n  %s: layer '%s' backward data %lld / %lld, weight %lld / %lld", onnx_file,
             cJSON_GetObjectItemCaseSensitive(ly, "name")->valuestring, (long long)bd[li],
             (long long)jint(ly, "bwd_data_macs"), (long long)bw[li],
             (long long)jint(ly, "bwd_weight_macs"));
    }
  }
  const cJSON *tm = cJSON_GetObjectItemCaseSensitive(root, "training_macs");
  printf("\n  %-34s backward_data %lld / %lld, backward_weight %lld / %lld, forward %lld / %lld",
         onnx_file, (long long)tot_d, (long long)jint(tm, "backward_data"), (long long)tot_w,
         (long long)jint(tm, "backward_weight"), (long long)by_phase[PHASE_FORWARD],
         (long long)jint(tm, "forward"));
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT_EQUAL(unmapped, 0);
  CU_ASSERT_EQUAL(tot_d, jint(tm, "backward_data"));
  CU_ASSERT_EQUAL(tot_w, jint(tm, "backward_weight"));
  CU_ASSERT_EQUAL(by_phase[PHASE_BACKWARD_DATA], jint(tm, "backward_data"));
  CU_ASSERT_EQUAL(by_phase[PHASE_BACKWARD_WEIGHT], jint(tm, "backward_weight"));
  CU_ASSERT_EQUAL(by_phase[PHASE_FORWARD], jint(tm, "forward"));
  free(bd);
  free(bw);
  ir_graph_free(g);
  cJSON_Delete(root);
  free(text);
}

static void test_lenet5(void) {
  check_training_macs("onnx/lenet5.onnx", "onnx/lenet5.layers.json");
}
static void test_alexnet(void) {
  check_training_macs("onnx/alexnet.nodata.onnx", "onnx/alexnet.layers.json");
}
static void test_resnet18(void) {
  check_training_macs("onnx/resnet18.nodata.onnx", "onnx/resnet18.layers.json");
}
static void test_mobilenet_v2(void) {
  check_training_macs("onnx/mobilenet_v2.onnx", "onnx/mobilenet_v2.layers.json");
}
static void test_mobilenet_v2_train(void) {
  check_training_macs("onnx/mobilenet_v2_train.nodata.onnx", "onnx/mobilenet_v2_train.layers.json");
}
static void test_squeezenet(void) {
  check_training_macs("onnx/squeezenet1_0.onnx", "onnx/squeezenet1_0.layers.json");
}

/* Every node has a phase in order (forward, then loss, then backward, then update); the loss
 * is a ROLE_LOSS scalar graph output; the first conv gets no data gradient. */
static void test_phases_and_first_layer(void) {
  PassOptions o = train_opts(OPT_SGD);
  Diag d;
  Graph *g = load_train("onnx/lenet5.onnx", &o, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  uint32_t first_conv = IR_NONE;
  int n_loss = 0, n_update = 0, n_weights = 0;
  Phase prev = PHASE_FORWARD;
  bool ordered = true;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    if (nd->op == OP_CONV && nd->phase == PHASE_FORWARD && first_conv == IR_NONE) first_conv = n;
    if (nd->phase == PHASE_LOSS && nd->fwd_node == IR_NONE) n_loss++;
    if (nd->phase == PHASE_UPDATE) n_update++;
    bool bwd = nd->phase == PHASE_BACKWARD_DATA || nd->phase == PHASE_BACKWARD_WEIGHT;
    bool prev_bwd = prev == PHASE_BACKWARD_DATA || prev == PHASE_BACKWARD_WEIGHT;
    if (nd->phase < prev && !(bwd && prev_bwd) &&
        !(prev_bwd && nd->phase == PHASE_LOSS && nd->fwd_node != IR_NONE) &&
        !(bwd && prev == PHASE_LOSS))
      ordered = false;
    if (!(prev_bwd && nd->phase == PHASE_LOSS)) prev = nd->phase;
  }
  CU_ASSERT(ordered);
  CU_ASSERT(n_loss >= 1);
  for (uint32_t t = 0; t < g->n_tensors; t++) n_weights += g->tensors[t].role == ROLE_WEIGHT;
  CU_ASSERT_EQUAL(n_update, n_weights);
  CU_ASSERT_FATAL(first_conv != IR_NONE);
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    if (nd->fwd_node == first_conv) {
      CU_ASSERT(nd->phase == PHASE_BACKWARD_WEIGHT || nd->phase == PHASE_UPDATE);
      CU_ASSERT(nd->op != OP_CONV_TRANSPOSE);
    }
  }
  uint32_t loss = IR_NONE;
  for (uint32_t i = 0; i < g->n_outputs; i++)
    if (g->tensors[g->outputs[i]].role == ROLE_LOSS) loss = g->outputs[i];
  CU_ASSERT_FATAL(loss != IR_NONE);
  CU_ASSERT_EQUAL(g->tensors[loss].rank, 0);
  CU_ASSERT_EQUAL(g->nodes[g->tensors[loss].producer].op, OP_SOFTMAX_CE_LOSS);
  CU_ASSERT_EQUAL(ir_verify(g, &d), XDL_OK);
  ir_graph_free(g);
}

/* ---- tiny graphs built in C ---- */

static uint32_t tensor(Graph *g, const char *name, TensorRole role, int rank, const int64_t *dims,
                       Diag *d) {
  return ir_add_tensor(g, name, DT_FLOAT, role, rank, dims, d);
}

static uint32_t act(Graph *g, const char *name, Diag *d) {
  return ir_add_tensor(g, name, DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
}

/* x [2,4] → Gemm(W1 [3,4], b1, transB) → Relu → Gemm(W2 [2,3], b2, transB) → y [2,2]. With
 * shared = true the hidden h also feeds a Tanh whose result is added to the Relu's. */
static Graph *mlp(bool shared, Diag *d) {
  Graph *g = ir_graph_new();
  g->opset = 13;
  g->name = "mlp";
  int64_t xd[2] = {2, 4}, w1d[2] = {3, 4}, b1d[1] = {3}, w2d[2] = {2, 3}, b2d[1] = {2};
  uint32_t x = tensor(g, "x", ROLE_INPUT, 2, xd, d);
  ir_graph_add_input(g, x);
  uint32_t w1 = tensor(g, "w1", ROLE_WEIGHT, 2, w1d, d);
  uint32_t b1 = tensor(g, "b1", ROLE_WEIGHT, 1, b1d, d);
  uint32_t w2 = tensor(g, "w2", ROLE_WEIGHT, 2, w2d, d);
  uint32_t b2 = tensor(g, "b2", ROLE_WEIGHT, 1, b2d, d);
  uint32_t h = act(g, "h", d), r = act(g, "r", d), y = act(g, "y", d);
  uint32_t in1[3] = {x, w1, b1};
  uint32_t n1 = ir_add_node(g, OP_GEMM, "fc1", in1, 3, &h, 1, d);
  ir_set_attr_int(g, n1, "transB", 1);
  ir_add_node(g, OP_RELU, "relu", &h, 1, &r, 1, d);
  uint32_t last = r;
  if (shared) {
    uint32_t t = act(g, "t", d), s = act(g, "s", d);
    ir_add_node(g, OP_TANH, "tanh", &h, 1, &t, 1, d);
    uint32_t ain[2] = {r, t};
    ir_add_node(g, OP_ADD, "add", ain, 2, &s, 1, d);
    last = s;
  }
  uint32_t in2[3] = {last, w2, b2};
  uint32_t n2 = ir_add_node(g, OP_GEMM, "fc2", in2, 3, &y, 1, d);
  ir_set_attr_int(g, n2, "transB", 1);
  ir_graph_add_output(g, y);
  return g;
}

static char *print_graph(const Graph *g) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ir_print(g, f);
  fclose(f);
  return buf;
}

static void test_golden_mlp(void) {
  Diag d;
  diag_init(&d);
  Graph *g = mlp(false, &d);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  PassOptions o = train_opts(OPT_MOMENTUM);
  CU_ASSERT_EQUAL_FATAL(passes_run(g, &o, &d), XDL_OK);
  char *got = print_graph(g);
  char *path = tu_source("tests/golden/autodiff_mlp.expect");
  char *want = (char *)tu_read_file(path, NULL);
  if (!want || strcmp(got, want) != 0) printf("\n--- got ---\n%s", got);
  CU_ASSERT_PTR_NOT_NULL_FATAL(want);
  CU_ASSERT_STRING_EQUAL(got, want);
  free(got);
  free(want);
  free(path);
  ir_graph_free(g);
}

/* h has two consumers (Relu, Tanh): its gradient is their sum, one Add in backward_data. */
static void test_gradient_sum(void) {
  Diag d;
  diag_init(&d);
  Graph *g = mlp(true, &d);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  PassOptions o = train_opts(OPT_SGD);
  CU_ASSERT_EQUAL_FATAL(passes_run(g, &o, &d), XDL_OK);
  uint32_t h = ir_find_tensor(g, "h");
  int sums = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    if (nd->op != OP_ADD || nd->phase != PHASE_BACKWARD_DATA) continue;
    if (strstr(nd->name, "h/grad/accumulate")) {
      sums++;
      CU_ASSERT_EQUAL(g->nodes[nd->fwd_node].outputs[0], h);
      /* The sum feeds fc1's weight gradient (a Gemm in backward_weight). */
      bool feeds_w1 = false;
      for (uint32_t m = n + 1; m < g->n_nodes; m++)
        for (int i = 0; i < g->nodes[m].n_inputs; i++)
          if (g->nodes[m].inputs[i] == nd->outputs[0] && g->nodes[m].op == OP_GEMM &&
              g->nodes[m].phase == PHASE_BACKWARD_WEIGHT)
            feeds_w1 = true;
      CU_ASSERT(feeds_w1);
    }
  }
  CU_ASSERT_EQUAL(sums, 1);
  ir_graph_free(g);
}

/* Each optimizer: one update node per weight with its state tensors. */
static void test_optimizers(void) {
  const OpKind ops[3] = {OP_SGD, OP_MOMENTUM, OP_ADAM};
  const int states[3] = {0, 1, 2};
  for (int k = 0; k < 3; k++) {
    Diag d;
    diag_init(&d);
    Graph *g = mlp(false, &d);
    CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
    PassOptions o = train_opts((OptimizerKind)k);
    CU_ASSERT_EQUAL_FATAL(passes_run(g, &o, &d), XDL_OK);
    int updates = 0;
    for (uint32_t n = 0; n < g->n_nodes; n++) {
      const Node *nd = &g->nodes[n];
      if (nd->phase != PHASE_UPDATE) continue;
      updates++;
      CU_ASSERT_EQUAL(nd->op, ops[k]);
      int st_in = 0, st_out = 0;
      for (int i = 2; i < nd->n_inputs; i++)
        st_in += g->tensors[nd->inputs[i]].role == ROLE_OPT_STATE;
      for (int i = 0; i < nd->n_outputs; i++)
        st_out += g->tensors[nd->outputs[i]].role == ROLE_OPT_STATE;
      CU_ASSERT_EQUAL(st_in, states[k]);
      CU_ASSERT_EQUAL(st_out, states[k]);
      CU_ASSERT_EQUAL(g->tensors[nd->inputs[2]].role, ROLE_WEIGHT);
      CU_ASSERT_EQUAL(g->tensors[nd->inputs[3]].role, ROLE_GRADIENT);
      NodeWork w = ir_node_work(g, n);
      CU_ASSERT(w.ops > 0 && w.macs == 0);
    }
    CU_ASSERT_EQUAL(updates, 4);
    ir_graph_free(g);
  }
}

static bool has_node(const Graph *g, OpKind op, Phase ph) {
  for (uint32_t n = 0; n < g->n_nodes; n++)
    if (g->nodes[n].op == op && g->nodes[n].phase == ph) return true;
  return false;
}

/* auto: softmax cross-entropy for a classifier, margin for capsule lengths, margin + MSE with
 * a reconstruction; explicit mse on a classifier. */
static void test_loss_selection(void) {
  PassOptions o = train_opts(OPT_SGD);
  Diag d;
  Graph *g = load_train("onnx/alexnet.nodata.onnx", &o, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(has_node(g, OP_SOFTMAX_CE_LOSS, PHASE_LOSS));
  CU_ASSERT(has_node(g, OP_SOFTMAX_CE_LOSS_GRAD, PHASE_LOSS));
  ir_graph_free(g);

  g = load_train("onnx/capsnet.onnx", &o, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(!has_node(g, OP_SOFTMAX_CE_LOSS, PHASE_LOSS));
  CU_ASSERT(ir_find_node(g, "loss/margin") != IR_NONE);
  CU_ASSERT(ir_find_node(g, "loss/mse") == IR_NONE);
  ir_graph_free(g);

  g = load_train("onnx/capsnet_with_decoder.nodata.onnx", &o, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(ir_find_node(g, "loss/margin") != IR_NONE);
  CU_ASSERT(ir_find_node(g, "loss/mse") != IR_NONE);
  ir_graph_free(g);

  o.loss = LOSS_MSE;
  g = load_train("onnx/lenet5.onnx", &o, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(ir_find_node(g, "loss/mse") != IR_NONE);
  CU_ASSERT(!has_node(g, OP_SOFTMAX_CE_LOSS, PHASE_LOSS));
  ir_graph_free(g);
}

/* Capsule models train; with detach_routing the data gradient of the routing shrinks exactly
 * as the oracle's training_macs_detached_routing says. */
static void test_capsnet_detach(void) {
  const char *models[2][2] = {{"onnx/capsnet.onnx", "onnx/capsnet.layers.json"},
                              {"onnx/capsnet_with_decoder.nodata.onnx",
                               "onnx/capsnet_with_decoder.layers.json"}};
  for (int m = 0; m < 2; m++) {
    char *jp = tu_refdata(models[m][1]);
    char *text = (char *)tu_read_file(jp, NULL);
    cJSON *root = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    for (int detach = 0; detach < 2; detach++) {
      PassOptions o = train_opts(OPT_SGD);
      o.detach_routing = detach;
      Diag d;
      Graph *g = load_train(models[m][0], &o, &d);
      CU_ASSERT_PTR_NOT_NULL_FATAL(g);
      int64_t ph[PHASE_UPDATE + 1] = {0};
      for (uint32_t n = 0; n < g->n_nodes; n++) ph[g->nodes[n].phase] += ir_node_work(g, n).macs;
      const cJSON *tm = cJSON_GetObjectItemCaseSensitive(
          root, detach ? "training_macs_detached_routing" : "training_macs");
      printf("\n  %-40s detach %d: backward_data %lld / %lld, backward_weight %lld / %lld",
             models[m][0], detach, (long long)ph[PHASE_BACKWARD_DATA],
             (long long)jint(tm, "backward_data"), (long long)ph[PHASE_BACKWARD_WEIGHT],
             (long long)jint(tm, "backward_weight"));
      CU_ASSERT_EQUAL(ph[PHASE_BACKWARD_DATA], jint(tm, "backward_data"));
      CU_ASSERT_EQUAL(ph[PHASE_BACKWARD_WEIGHT], jint(tm, "backward_weight"));
      ir_graph_free(g);
    }
    cJSON_Delete(root);
    free(text);
    free(jp);
  }
}

/* Bad input: a loss that does not fit, no trainable weight, an op without a backward rule. */
static void test_errors(void) {
  Diag d;
  diag_init(&d);
  /* [4] output: softmax_ce cannot apply. */
  Graph *g = ir_graph_new();
  int64_t xd[1] = {4};
  uint32_t x = tensor(g, "x", ROLE_INPUT, 1, xd, &d), w = tensor(g, "w", ROLE_WEIGHT, 1, xd, &d);
  uint32_t y = act(g, "y", &d);
  ir_graph_add_input(g, x);
  uint32_t in[2] = {x, w};
  ir_add_node(g, OP_MUL, "scale", in, 2, &y, 1, &d);
  ir_graph_add_output(g, y);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  PassOptions o = train_opts(OPT_SGD);
  o.loss = LOSS_SOFTMAX_CE;
  CU_ASSERT_EQUAL(pass_autodiff(g, &o, &d), XDL_ERR_INPUT);
  CU_ASSERT(strstr(d.msg, "softmax_ce") != NULL);
  ir_graph_free(g);

  /* No weight at all. */
  diag_init(&d);
  g = ir_graph_new();
  x = tensor(g, "x", ROLE_INPUT, 1, xd, &d);
  y = act(g, "y", &d);
  ir_graph_add_input(g, x);
  ir_add_node(g, OP_RELU, "relu", &x, 1, &y, 1, &d);
  ir_graph_add_output(g, y);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  o.loss = LOSS_AUTO;
  CU_ASSERT_EQUAL(pass_autodiff(g, &o, &d), XDL_ERR_INPUT);
  CU_ASSERT(strstr(d.msg, "no trainable weight") != NULL);
  ir_graph_free(g);

  /* LRN has no backward rule: the error names the node and the op. */
  diag_init(&d);
  g = ir_graph_new();
  int64_t id[4] = {1, 3, 4, 4}, wd[4] = {3, 3, 1, 1};
  x = tensor(g, "x", ROLE_INPUT, 4, id, &d);
  w = tensor(g, "w", ROLE_WEIGHT, 4, wd, &d);
  uint32_t c = act(g, "c", &d);
  y = act(g, "y", &d);
  ir_graph_add_input(g, x);
  uint32_t cin[2] = {x, w};
  ir_add_node(g, OP_CONV, "conv", cin, 2, &c, 1, &d);
  uint32_t ln = ir_add_node(g, OP_LRN, "norm", &c, 1, &y, 1, &d);
  ir_set_attr_int(g, ln, "size", 3);
  ir_graph_add_output(g, y);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  CU_ASSERT_EQUAL(pass_autodiff(g, &o, &d), XDL_ERR_INPUT);
  CU_ASSERT(strstr(d.msg, "'norm' (LRN)") != NULL);
  CU_ASSERT(strstr(d.msg, "no backward rule") != NULL);
  ir_graph_free(g);
}

/* ONNX Gradient(a, b) {xs = [a, b], y = d} with d = (a + b) * a is replaced by the backward
 * graph; its outputs keep their names and shapes and are produced by it. */
static void test_gradient_node(void) {
  Diag d;
  diag_init(&d);
  Graph *g = ir_graph_new();
  g->opset = 13;
  int64_t sd[2] = {2, 3};
  uint32_t a = tensor(g, "a", ROLE_INPUT, 2, sd, &d), b = tensor(g, "b", ROLE_INPUT, 2, sd, &d);
  ir_graph_add_input(g, a);
  ir_graph_add_input(g, b);
  uint32_t c = act(g, "c", &d), y = act(g, "d", &d), da = act(g, "dd_da", &d),
           db = act(g, "dd_db", &d);
  uint32_t ab[2] = {a, b}, ca[2] = {c, a}, outs[2] = {da, db};
  ir_add_node(g, OP_ADD, "my_add", ab, 2, &c, 1, &d);
  uint32_t gn = ir_add_node(g, OP_GRADIENT, "my_gradient", ab, 2, outs, 2, &d);
  ir_add_node(g, OP_MUL, "my_mul", ca, 2, &y, 1, &d);
  Attr *xs = NULL;
  ir_set_attr_string(g, gn, "y", "d");
  ir_set_attr_int(g, gn, "placeholder", 0);
  xs = ir_node_attr(g, gn, "placeholder");
  static const char *names[2] = {"a", "b"};
  xs->name = "xs";
  xs->kind = ATTR_STRINGS;
  xs->strs = names;
  xs->n = 2;
  ir_graph_add_output(g, y);
  ir_graph_add_output(g, da);
  ir_graph_add_output(g, db);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  PassOptions o;
  memset(&o, 0, sizeof o);
  CU_ASSERT_EQUAL_FATAL(passes_run(g, &o, &d), XDL_OK);
  bool left = false;
  for (uint32_t n = 0; n < g->n_nodes; n++) left = left || g->nodes[n].op == OP_GRADIENT;
  CU_ASSERT(!left);
  uint32_t pa = g->tensors[da].producer, pb = g->tensors[db].producer;
  CU_ASSERT_FATAL(pa != IR_NONE && pb != IR_NONE);
  CU_ASSERT_EQUAL(g->nodes[pa].op, OP_IDENTITY);
  CU_ASSERT_EQUAL(g->tensors[da].rank, 2);
  CU_ASSERT_EQUAL(g->tensors[db].dims[1], 3);
  CU_ASSERT_EQUAL(ir_verify(g, &d), XDL_OK);
  ir_graph_free(g);
}

/* Every allocation the pass makes may fail: it then returns an error, never crashes or leaks
 * (checked under AddressSanitizer), and the graph can still be freed. */
static void test_alloc_failures(void) {
  int failed_cleanly = 0;
  for (uint64_t k = 1;; k++) {
    Diag d;
    diag_init(&d);
    Graph *g = mlp(true, &d);
    CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
    PassOptions o = train_opts(OPT_ADAM);
    xdl_alloc_fail_after(k);
    XdlStatus st = pass_autodiff(g, &o, &d);
    xdl_alloc_fail_after(0);
    ir_graph_free(g);
    if (st == XDL_OK) break;
    CU_ASSERT_EQUAL(st, XDL_ERR_INTERNAL);
    failed_cleanly++;
    if (k > 100000) break;
  }
  printf("\n  allocation-failure loop: %d failures handled", failed_cleanly);
  CU_ASSERT(failed_cleanly > 10);
}

int main(void) {
  CU_TestInfo tests[] = {
      {"lenet5", test_lenet5},
      {"alexnet", test_alexnet},
      {"resnet18", test_resnet18},
      {"mobilenet_v2", test_mobilenet_v2},
      {"mobilenet_v2_train", test_mobilenet_v2_train},
      {"squeezenet1_0", test_squeezenet},
      {"phases_and_first_layer", test_phases_and_first_layer},
      {"golden_mlp", test_golden_mlp},
      {"gradient_sum", test_gradient_sum},
      {"optimizers", test_optimizers},
      {"loss_selection", test_loss_selection},
      {"capsnet_detach", test_capsnet_detach},
      {"errors", test_errors},
      {"gradient_node", test_gradient_node},
      {"alloc_failures", test_alloc_failures},
      CU_TEST_INFO_NULL};
  return tu_run_suite("autodiff", tests);
}
