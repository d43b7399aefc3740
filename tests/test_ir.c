/* test_ir.c — the IR itself: arena, name maps, tensors and nodes, attributes, checked
 * arithmetic, the verifier's invariants, the stable printer, and allocation failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ir/ir.h"

static void test_arena(void) {
  Arena a;
  arena_init(&a);
  char *s = arena_strdup(&a, "hello");
  CU_ASSERT_STRING_EQUAL(s, "hello");
  void *big = arena_alloc(&a, 1 << 20); /* larger than a block */
  CU_ASSERT_PTR_NOT_NULL(big);
  CU_ASSERT_EQUAL(((uintptr_t)big) % 16, 0);
  for (int i = 0; i < 10000; i++) CU_ASSERT_PTR_NOT_NULL_FATAL(arena_alloc(&a, 24));
  CU_ASSERT_STRING_EQUAL(s, "hello"); /* earlier allocations never move */
  arena_free(&a);
}

static void test_names_and_nodes(void) {
  Diag d;
  diag_init(&d);
  Graph *g = ir_graph_new();
  int64_t dims[4] = {1, 3, 8, 8};
  uint32_t x = ir_add_tensor(g, "x", DT_FLOAT, ROLE_INPUT, 4, dims, &d);
  CU_ASSERT_EQUAL(ir_add_tensor(g, "x", DT_FLOAT, ROLE_INPUT, 4, dims, &d), IR_NONE);
  CU_ASSERT_EQUAL(d.status, XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "'x'"));
  diag_init(&d);
  for (int i = 0; i < 5000; i++) { /* forces several rehashes */
    char name[32];
    snprintf(name, sizeof name, "t%d", i);
    CU_ASSERT_NOT_EQUAL_FATAL(ir_add_tensor(g, name, DT_FLOAT, ROLE_ACTIVATION, -1, NULL, &d),
                              IR_NONE);
  }
  CU_ASSERT_EQUAL(ir_find_tensor(g, "x"), x);
  CU_ASSERT_EQUAL(ir_find_tensor(g, "t4999"), x + 5000);
  CU_ASSERT_EQUAL(ir_find_tensor(g, "nope"), IR_NONE);
  uint32_t u = ir_add_tensor_unique(g, "x", DT_FLOAT, ROLE_ACTIVATION, -1, NULL, &d);
  CU_ASSERT_STRING_EQUAL(g->tensors[u].name, "x_1");

  uint32_t y = ir_find_tensor(g, "t0"), z = ir_find_tensor(g, "t1");
  uint32_t n0 = ir_add_node(g, OP_RELU, "act", &x, 1, &y, 1, &d);
  uint32_t n1 = ir_add_node(g, OP_RELU, "act", &y, 1, &z, 1, &d); /* duplicate name */
  CU_ASSERT_EQUAL(g->tensors[y].producer, n0);
  CU_ASSERT_STRING_NOT_EQUAL(g->nodes[n1].name, g->nodes[n0].name);
  CU_ASSERT_EQUAL(ir_find_node(g, g->nodes[n1].name), n1);
  CU_ASSERT_TRUE(ir_set_attr_int(g, n0, "k", 7));
  CU_ASSERT_TRUE(ir_set_attr_int(g, n0, "k", 9)); /* overwrite, not duplicate */
  CU_ASSERT_EQUAL(g->nodes[n0].n_attrs, 1);
  CU_ASSERT_EQUAL(ir_attr_int(g, n0, "k", 0), 9);
  CU_ASSERT_EQUAL(ir_attr_int(g, n0, "missing", -3), -3);
  int64_t v[3] = {1, 2, 3};
  CU_ASSERT_TRUE(ir_set_attr_ints(g, n0, "list", v, 3));
  CU_ASSERT_EQUAL(ir_node_attr(g, n0, "list")->ints[2], 3);
  CU_ASSERT_EQUAL(ir_node_attr(g, n0, "k")->i, 9); /* earlier attribute survives growth */
  ir_graph_free(g);
}

static void test_checked_math(void) {
  int64_t r;
  CU_ASSERT_FALSE(ir_mul_ok(INT64_MAX / 2 + 1, 2, &r));
  CU_ASSERT_TRUE(ir_mul_ok(1 << 20, 1 << 20, &r));
  CU_ASSERT_EQUAL(r, (int64_t)1 << 40);
  Tensor t = {.rank = 3, .dims = {1 << 30, 1 << 30, 1 << 30}};
  CU_ASSERT_EQUAL(ir_numel(&t), -1); /* 2^90 overflows */
  t.dims[2] = 4;
  CU_ASSERT_EQUAL(ir_numel(&t), (int64_t)1 << 62);
  t.rank = 0;
  CU_ASSERT_EQUAL(ir_numel(&t), 1); /* a scalar */
}

/* x → Relu → y → Relu → z, shapes filled by the rules. */
static Graph *tiny_chain(Diag *d) {
  Graph *g = ir_graph_new();
  if (!g) {
    diag_error(d, XDL_ERR_INTERNAL, "out of memory");
    return NULL;
  }
  int64_t dims[2] = {2, 5};
  uint32_t x = ir_add_tensor(g, "x", DT_FLOAT, ROLE_INPUT, 2, dims, d);
  uint32_t y = ir_add_tensor(g, "y", DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
  uint32_t z = ir_add_tensor(g, "z", DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
  if (!diag_ok(d) || !ir_graph_add_input(g, x)) goto fail;
  if (ir_add_node(g, OP_RELU, "r1", &x, 1, &y, 1, d) == IR_NONE) goto fail;
  if (ir_add_node(g, OP_TANH, "r2", &y, 1, &z, 1, d) == IR_NONE) goto fail;
  if (!ir_graph_add_output(g, z)) goto fail;
  return g;
fail:
  diag_error(d, XDL_ERR_INTERNAL, "out of memory");
  return g;
}

static void test_verify_and_print(void) {
  Diag d;
  diag_init(&d);
  Graph *g = tiny_chain(&d);
  CU_ASSERT_EQUAL(ir_verify(g, &d), XDL_ERR_INTERNAL); /* shapes not inferred yet */
  diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  CU_ASSERT_EQUAL(ir_verify(g, &d), XDL_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ir_print(g, f);
  fclose(f);
  CU_ASSERT_STRING_EQUAL(buf, "input %x : f32[2,5]\n"
                              "%y = Relu(%x) : f32[2,5]\n"
                              "%z = Tanh(%y) : f32[2,5]\n"
                              "output %z\n");
  free(buf);
  /* Break topological order: r2 now reads y before r1 writes it. */
  Node tmp = g->nodes[0];
  g->nodes[0] = g->nodes[1];
  g->nodes[1] = tmp;
  g->tensors[ir_find_tensor(g, "y")].producer = 1;
  g->tensors[ir_find_tensor(g, "z")].producer = 0;
  CU_ASSERT_EQUAL(ir_verify(g, &d), XDL_ERR_INTERNAL);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "not topological"));
  ir_graph_free(g);
}

static void test_remove_nodes(void) {
  Diag d;
  diag_init(&d);
  Graph *g = tiny_chain(&d);
  ir_infer_shapes(g, &d);
  bool rm[2] = {true, false};
  ir_remove_nodes(g, rm);
  CU_ASSERT_EQUAL(g->n_nodes, 1);
  CU_ASSERT_EQUAL(ir_find_node(g, "r2"), 0);
  CU_ASSERT_EQUAL(ir_find_node(g, "r1"), IR_NONE);
  CU_ASSERT_EQUAL(g->tensors[ir_find_tensor(g, "z")].producer, 0);
  ir_graph_free(g);
}

/* Every allocation in building a graph may fail: each failure must be reported, not crash. */
static void test_alloc_failures(void) {
  int failures_seen = 0;
  for (uint64_t k = 1; k < 200; k++) {
    Diag d;
    diag_init(&d);
    xdl_alloc_fail_after(k);
    Graph *g = ir_graph_new();
    bool ok = g != NULL;
    if (g) {
      Graph *tmp = tiny_chain(&d); /* may itself fail part-way */
      ok = diag_ok(&d) && tmp;
      ir_graph_free(tmp);
      ir_graph_free(g);
    }
    xdl_alloc_fail_after(0);
    if (!ok) failures_seen++;
    else break;
  }
  CU_ASSERT(failures_seen > 3);
}

static void test_op_table(void) {
  CU_ASSERT_EQUAL(ir_op_lookup("", "Conv"), OP_CONV);
  CU_ASSERT_EQUAL(ir_op_lookup("ai.onnx", "MatMul"), OP_MATMUL);
  CU_ASSERT_EQUAL(ir_op_lookup("", "Loop"), OP_COUNT);
  CU_ASSERT_EQUAL(ir_op_lookup("com.example", "Conv"), OP_COUNT);
  for (int k = 0; k < OP_COUNT; k++) {
    CU_ASSERT_PTR_NOT_NULL(ir_ops[k].shape);
    CU_ASSERT_PTR_NOT_NULL(ir_ops[k].work);
    /* Ops only passes create are never importable. */
    OpKind want = ir_ops[k].domain == DOM_INTERNAL ? OP_COUNT : (OpKind)k;
    CU_ASSERT_EQUAL(ir_op_lookup(ir_domain_name(ir_ops[k].domain), ir_ops[k].name), want);
  }
}

int main(void) {
  CU_TestInfo tests[] = {{"arena", test_arena},
                         {"names_and_nodes", test_names_and_nodes},
                         {"checked_math", test_checked_math},
                         {"verify_and_print", test_verify_and_print},
                         {"remove_nodes", test_remove_nodes},
                         {"alloc_failures", test_alloc_failures},
                         {"op_table", test_op_table},
                         CU_TEST_INFO_NULL};
  return tu_run_suite("ir", tests);
}
