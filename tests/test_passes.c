/* test_passes.c — the pass manager and canonicalize: a golden IR printout of a small graph
 * before and after (tests/golden/canonicalize.expect), and on every fixture model the pass
 * keeps the graph valid and every MAC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "passes/passes.h"
#include "testutil.h"

static char *print_graph(const Graph *g) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ir_print(g, f);
  fclose(f);
  return buf;
}

/* x → Identity → Identity → Relu ──────────────► Reshape(shape from Shape→Gather→Concat)
 *                                 └ Dropout ──► Add ─┘ */
static Graph *small_graph(Diag *d) {
  Graph *g = ir_graph_new();
  g->opset = 13;
  int64_t xd[4] = {1, 2, 3, 4};
  uint32_t x = ir_add_tensor(g, "x", DT_FLOAT, ROLE_INPUT, 4, xd, d);
  ir_graph_add_input(g, x);
  const char *names[] = {"a", "b", "r", "dr", "s", "sh", "idx", "g0", "minus1", "cat", "y"};
  uint32_t t[11];
  for (int i = 0; i < 11; i++) t[i] = ir_add_tensor(g, names[i], DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
  int64_t zero = 0, m1 = -1, one[1] = {1};
  Tensor *ti = &g->tensors[t[6]];
  ti->role = ROLE_CONST, ti->dtype = DT_INT64, ti->rank = 1, ti->dims[0] = 1;
  ir_set_ivals(g, t[6], &zero, 1);
  Tensor *tm = &g->tensors[t[8]];
  tm->role = ROLE_CONST, tm->dtype = DT_INT64, tm->rank = 1, tm->dims[0] = 1;
  ir_set_ivals(g, t[8], &m1, 1);
  (void)one;
  ir_add_node(g, OP_IDENTITY, "id1", &x, 1, &t[0], 1, d);
  ir_add_node(g, OP_IDENTITY, "id2", &t[0], 1, &t[1], 1, d);
  ir_add_node(g, OP_RELU, "relu", &t[1], 1, &t[2], 1, d);
  ir_add_node(g, OP_DROPOUT, "drop", &t[2], 1, &t[3], 1, d);
  uint32_t add_in[2] = {t[2], t[3]};
  ir_add_node(g, OP_ADD, "add", add_in, 2, &t[4], 1, d);
  ir_add_node(g, OP_SHAPE, "shape", &t[4], 1, &t[5], 1, d);
  uint32_t gin[2] = {t[5], t[6]};
  uint32_t gn = ir_add_node(g, OP_GATHER, "gather", gin, 2, &t[7], 1, d);
  ir_set_attr_int(g, gn, "axis", 0);
  uint32_t cin[2] = {t[7], t[8]};
  uint32_t cn = ir_add_node(g, OP_CONCAT, "concat", cin, 2, &t[9], 1, d);
  ir_set_attr_int(g, cn, "axis", 0);
  uint32_t rin[2] = {t[4], t[9]};
  ir_add_node(g, OP_RESHAPE, "reshape", rin, 2, &t[10], 1, d);
  ir_graph_add_output(g, t[10]);
  return g;
}

static void test_canonicalize_golden(void) {
  Diag d;
  diag_init(&d);
  Graph *g = small_graph(&d);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  PassOptions o;
  memset(&o, 0, sizeof o);
  CU_ASSERT_EQUAL_FATAL(passes_run(g, &o, &d), XDL_OK);
  char *got = print_graph(g);
  char *path = tu_source("tests/golden/canonicalize.expect");
  char *want = (char *)tu_read_file(path, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(want);
  CU_ASSERT_STRING_EQUAL(got, want);
  if (strcmp(got, want) != 0) printf("\n--- got ---\n%s--- want ---\n%s", got, want);
  free(got);
  free(want);
  free(path);
  ir_graph_free(g);
}

static void test_canonicalize_fixtures(void) {
  const char *models[] = {"onnx/lenet5.onnx", "onnx/alexnet.nodata.onnx",
                          "onnx/resnet18.nodata.onnx", "onnx/mobilenet_v2_train.nodata.onnx",
                          "onnx/squeezenet1_0.onnx", "onnx/capsnet_with_decoder.nodata.onnx"};
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    char *p = tu_refdata(models[i]);
    Diag d;
    diag_init(&d);
    Graph *g = onnx_load(p, NULL, &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    int64_t before = 0, after = 0;
    uint32_t nodes_before = g->n_nodes;
    for (uint32_t n = 0; n < g->n_nodes; n++) before += ir_node_work(g, n).macs;
    CU_ASSERT_EQUAL(passes_run(g, NULL, &d), XDL_OK);
    for (uint32_t n = 0; n < g->n_nodes; n++) {
      after += ir_node_work(g, n).macs;
      CU_ASSERT(ir_ops[g->nodes[n].op].category != CAT_META);
      CU_ASSERT(g->nodes[n].op != OP_IDENTITY);
    }
    /* capsule_lower turns CapsNet's five routing Mul+ReduceSum pairs (vector ops at import)
     * into contractions: 5 x 1152*10*16 MACs more, as the oracle counts them. */
    bool caps = strstr(models[i], "capsnet") != NULL;
    CU_ASSERT_EQUAL(before + (caps ? 921600 : 0), after);
    printf("\n    %-40s %4u -> %4u nodes, %lld MACs", models[i], nodes_before, g->n_nodes,
           (long long)after);
    ir_graph_free(g);
    free(p);
  }
}

static void test_dump_after(void) {
  int count;
  const char *const *names = passes_names(&count);
  CU_ASSERT(count >= 1);
  CU_ASSERT_STRING_EQUAL(names[0], "canonicalize");
}

int main(void) {
  CU_TestInfo tests[] = {{"canonicalize_golden", test_canonicalize_golden},
                         {"canonicalize_fixtures", test_canonicalize_fixtures},
                         {"pass_names", test_dump_after},
                         CU_TEST_INFO_NULL};
  return tu_run_suite("passes", tests);
}
