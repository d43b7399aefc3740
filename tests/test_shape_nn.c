/* test_shape_nn.c — CUnit suite for the neural-network shape rules (ir/shape_nn.c) and the work
 * counters (ir/work.c): tiny graphs built in C, checked against the ONNX specification's
 * formulas and conformance cases, hand-computed MAC counts and the MAC oracle in
 * ../shared/refdata/onnx/<model>.layers.json. Every error case must name the node. */
#include "ir/ir.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* DIMS(1, 3, 5) expands to two arguments: a dims array and its rank. */
#define DIMS(...)                                                                                  \
  (const int64_t[]){__VA_ARGS__}, (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static Graph *graph(int64_t opset) {
  Graph *g = ir_graph_new();
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  g->opset = opset;
  return g;
}

/* Adds a float tensor of the given role and shape. */
static uint32_t tensor(Graph *g, const char *name, TensorRole role, const int64_t *dims, int rank) {
  Diag d;
  diag_init(&d);
  uint32_t t = ir_add_tensor(g, name, DT_FLOAT, role, rank, dims, &d);
  CU_ASSERT_FATAL(t != IR_NONE);
  return t;
}

static uint32_t act(Graph *g, const char *name, const int64_t *dims, int rank) {
  return tensor(g, name, ROLE_INPUT, dims, rank);
}

static uint32_t weight(Graph *g, const char *name, const int64_t *dims, int rank) {
  return tensor(g, name, ROLE_WEIGHT, dims, rank);
}

/* Adds node name (op) over ins with n_out fresh outputs of unknown shape ("name:0", ...). */
static uint32_t node(Graph *g, OpKind op, const char *name, const uint32_t *ins, int n_in,
                     int n_out) {
  Diag d;
  diag_init(&d);
  uint32_t outs[8];
  char buf[128];
  for (int i = 0; i < n_out; i++) {
    snprintf(buf, sizeof buf, "%s:%d", name, i);
    outs[i] = ir_add_tensor(g, buf, DT_UNDEFINED, ROLE_ACTIVATION, -1, NULL, &d);
    CU_ASSERT_FATAL(outs[i] != IR_NONE);
  }
  uint32_t n = ir_add_node(g, op, name, ins, n_in, outs, n_out, &d);
  CU_ASSERT_FATAL(n != IR_NONE);
  return n;
}

static const Tensor *out(const Graph *g, uint32_t n, int i) {
  return &g->tensors[g->nodes[n].outputs[i]];
}

/* Runs node n's shape rule and checks output i's shape. */
static void expect_shape(Graph *g, uint32_t n, int i, const int64_t *dims, int rank) {
  Diag d;
  diag_init(&d);
  XdlStatus st = ir_infer_node(g, n, &d);
  CU_ASSERT_EQUAL(st, XDL_OK);
  if (st != XDL_OK) {
    printf("\n  unexpected error: %s\n", d.msg);
    return;
  }
  const Tensor *t = out(g, n, i);
  CU_ASSERT_EQUAL(t->rank, rank);
  if (t->rank != rank) {
    printf("\n  node %s output %d: rank %d, expected %d\n", g->nodes[n].name, i, t->rank, rank);
    return;
  }
  for (int k = 0; k < rank; k++) {
    CU_ASSERT_EQUAL(t->dims[k], dims[k]);
    if (t->dims[k] != dims[k])
      printf("\n  node %s output %d dim %d: %lld, expected %lld\n", g->nodes[n].name, i, k,
             (long long)t->dims[k], (long long)dims[k]);
  }
}

/* Runs node n's shape rule, which must fail with a message naming the node and containing
 * fragment. */
static void expect_fail(Graph *g, uint32_t n, const char *fragment) {
  Diag d;
  diag_init(&d);
  XdlStatus st = ir_infer_node(g, n, &d);
  CU_ASSERT_EQUAL(st, XDL_ERR_INPUT);
  char name[160];
  snprintf(name, sizeof name, "node '%s'", g->nodes[n].name);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, name));
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, fragment));
  if (st == XDL_OK || !strstr(d.msg, fragment))
    printf("\n  node %s: expected an error with '%s', got '%s'\n", g->nodes[n].name, fragment,
           st == XDL_OK ? "(success)" : d.msg);
}

static void expect_gemm(Graph *g, uint32_t n, int64_t macs, int64_t G, int64_t M, int64_t N,
                        int64_t K) {
  NodeWork w = ir_node_work(g, n);
  CU_ASSERT_EQUAL(w.macs, macs);
  CU_ASSERT_EQUAL(w.gemm.g, G);
  CU_ASSERT_EQUAL(w.gemm.m, M);
  CU_ASSERT_EQUAL(w.gemm.n, N);
  CU_ASSERT_EQUAL(w.gemm.k, K);
  CU_ASSERT_EQUAL(w.ops, 0);
  if (w.macs != macs || w.gemm.g != G || w.gemm.m != M || w.gemm.n != N || w.gemm.k != K)
    printf("\n  node %s: macs %lld {%lld,%lld,%lld,%lld}, expected %lld {%lld,%lld,%lld,%lld}\n",
           g->nodes[n].name, (long long)w.macs, (long long)w.gemm.g, (long long)w.gemm.m,
           (long long)w.gemm.n, (long long)w.gemm.k, (long long)macs, (long long)G, (long long)M,
           (long long)N, (long long)K);
}

static void set_ints(Graph *g, uint32_t n, const char *name, const int64_t *v, int count) {
  CU_ASSERT_FATAL(ir_set_attr_ints(g, n, name, v, count));
}

/* A constant int64 tensor with known values (axes inputs). */
static uint32_t const_ints(Graph *g, const char *name, const int64_t *v, int count) {
  int64_t dims[1] = {count};
  Diag d;
  diag_init(&d);
  uint32_t t = ir_add_tensor(g, name, DT_INT64, ROLE_CONST, 1, dims, &d);
  CU_ASSERT_FATAL(t != IR_NONE);
  if (count) CU_ASSERT_FATAL(ir_set_ivals(g, t, v, count));
  return t;
}

/* ---- reading the MAC oracle (refdata JSON, fixed pretty-printed layout) ---- */

typedef struct Oracle {
  int64_t macs, params, G, M, N, K;
} Oracle;

/* Value of "key": <int> at or after p; -1 if absent. */
static int64_t json_int_after(const char *p, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *q = p ? strstr(p, pat) : NULL;
  return q ? strtoll(q + strlen(pat), NULL, 10) : -1;
}

/* Reads layer `name` of refdata/onnx/<model>.layers.json; false if the file or layer is missing. */
static bool oracle(const char *model, const char *name, Oracle *o) {
  char rel[128], pat[160];
  snprintf(rel, sizeof rel, "onnx/%s.layers.json", model);
  char *path = tu_refdata(rel);
  char *buf = (char *)tu_read_file(path, NULL);
  free(path);
  if (!buf) return false;
  snprintf(pat, sizeof pat, "\"name\": \"%s\"", name);
  const char *p = strstr(buf, pat);
  if (p) {
    o->macs = json_int_after(p, "macs");
    const char *gm = strstr(p, "\"gemm\":");
    o->G = json_int_after(gm, "G");
    o->M = json_int_after(gm, "M");
    o->N = json_int_after(gm, "N");
    o->K = json_int_after(gm, "K");
    o->params = json_int_after(gm, "params");
  }
  free(buf);
  return p != NULL;
}

/* ---- Conv ---- */

static void test_conv_spec_cases(void) {
  Graph *g = graph(11);
  uint32_t x = act(g, "x", DIMS(1, 1, 5, 5)), w = weight(g, "w", DIMS(1, 1, 3, 3));
  uint32_t x75 = act(g, "x75", DIMS(1, 1, 7, 5));
  uint32_t in[2] = {x, w}, in75[2] = {x75, w};

  uint32_t n = node(g, OP_CONV, "pad1", in, 2, 1);
  set_ints(g, n, "kernel_shape", DIMS(3, 3));
  set_ints(g, n, "pads", DIMS(1, 1, 1, 1));
  expect_shape(g, n, 0, DIMS(1, 1, 5, 5));
  CU_ASSERT_EQUAL(out(g, n, 0)->dtype, DT_FLOAT);

  n = node(g, OP_CONV, "nopad", in, 2, 1); /* kernel_shape inferred from W */
  expect_shape(g, n, 0, DIMS(1, 1, 3, 3));

  n = node(g, OP_CONV, "asym", in75, 2, 1);
  set_ints(g, n, "pads", DIMS(1, 0, 1, 0));
  set_ints(g, n, "strides", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 4, 2));

  n = node(g, OP_CONV, "strided", in75, 2, 1);
  set_ints(g, n, "pads", DIMS(1, 1, 1, 1));
  set_ints(g, n, "strides", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 4, 3));

  n = node(g, OP_CONV, "same_lower", in, 2, 1);
  ir_set_attr_string(g, n, "auto_pad", "SAME_LOWER");
  set_ints(g, n, "strides", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 3, 3));

  n = node(g, OP_CONV, "same_upper", in75, 2, 1);
  ir_set_attr_string(g, n, "auto_pad", "SAME_UPPER");
  set_ints(g, n, "pads", DIMS(9, 9, 9, 9)); /* ignored under auto_pad */
  expect_shape(g, n, 0, DIMS(1, 1, 7, 5));

  n = node(g, OP_CONV, "valid", in75, 2, 1);
  ir_set_attr_string(g, n, "auto_pad", "VALID");
  set_ints(g, n, "strides", DIMS(2, 1));
  expect_shape(g, n, 0, DIMS(1, 1, 3, 3));

  n = node(g, OP_CONV, "dilated", in75, 2, 1); /* extent (3-1)*2+1 = 5 */
  set_ints(g, n, "dilations", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 3, 1));

  /* 1-D and 3-D convolutions. */
  uint32_t x1 = act(g, "x1", DIMS(2, 4, 10)), w1 = weight(g, "w1", DIMS(6, 4, 3));
  uint32_t in1[2] = {x1, w1};
  n = node(g, OP_CONV, "conv1d", in1, 2, 1);
  set_ints(g, n, "strides", DIMS(2));
  expect_shape(g, n, 0, DIMS(2, 6, 4));
  expect_gemm(g, n, 2 * 4 * 6 * 12, 1, 8, 6, 12);
  uint32_t x3 = act(g, "x3", DIMS(1, 2, 4, 5, 6)), w3 = weight(g, "w3", DIMS(3, 2, 3, 3, 3));
  uint32_t in3[2] = {x3, w3};
  n = node(g, OP_CONV, "conv3d", in3, 2, 1);
  expect_shape(g, n, 0, DIMS(1, 3, 2, 3, 4));
  ir_graph_free(g);
}

static void test_conv_grouped(void) {
  Graph *g = graph(13);
  /* Grouped: 8 input channels in 2 groups of 4, 12 filters. */
  uint32_t x = act(g, "x", DIMS(2, 8, 10, 10)), w = weight(g, "w", DIMS(12, 4, 3, 3));
  uint32_t b = weight(g, "b", DIMS(12));
  uint32_t in[3] = {x, w, b};
  uint32_t n = node(g, OP_CONV, "grouped", in, 3, 1);
  ir_set_attr_int(g, n, "group", 2);
  expect_shape(g, n, 0, DIMS(2, 12, 8, 8));
  /* G = 2, M = 2*8*8 = 128, N = 12/2 = 6, K = 4*3*3 = 36: by the README, also
   * out_elems * Cin/groups * prod(kernel) = 2*12*64 * 4 * 9 = 55296. */
  expect_gemm(g, n, 55296, 2, 128, 6, 36);
  CU_ASSERT_EQUAL(ir_node_work(g, n).params, 12 * 4 * 9 + 12);

  /* Depthwise: MobileNetV2 features.1.conv.0.0, checked against the oracle. */
  uint32_t xd = act(g, "xd", DIMS(1, 32, 112, 112)), wd = weight(g, "wd", DIMS(32, 1, 3, 3));
  uint32_t ind[2] = {xd, wd};
  n = node(g, OP_CONV, "depthwise", ind, 2, 1);
  ir_set_attr_int(g, n, "group", 32);
  set_ints(g, n, "pads", DIMS(1, 1, 1, 1));
  expect_shape(g, n, 0, DIMS(1, 32, 112, 112));
  expect_gemm(g, n, 32 * 12544 * 9, 32, 12544, 1, 9);
  Oracle o;
  CU_ASSERT_FATAL(oracle("mobilenet_v2", "features.1.conv.0.0", &o));
  expect_gemm(g, n, o.macs, o.G, o.M, o.N, o.K);
  CU_ASSERT_EQUAL(ir_node_work(g, n).params, o.params);
  ir_graph_free(g);
}

/* AlexNet's first convolution and first linear layer against the oracle and by hand. */
static void test_alexnet_oracle(void) {
  Graph *g = graph(13);
  uint32_t x = act(g, "input", DIMS(1, 3, 224, 224));
  uint32_t w = weight(g, "features.0.weight", DIMS(64, 3, 11, 11));
  uint32_t b = weight(g, "features.0.bias", DIMS(64));
  uint32_t in[3] = {x, w, b};
  uint32_t n = node(g, OP_CONV, "/features/features.0/Conv", in, 3, 1);
  set_ints(g, n, "kernel_shape", DIMS(11, 11));
  set_ints(g, n, "strides", DIMS(4, 4));
  set_ints(g, n, "pads", DIMS(2, 2, 2, 2));
  set_ints(g, n, "dilations", DIMS(1, 1));
  ir_set_attr_int(g, n, "group", 1);
  expect_shape(g, n, 0, DIMS(1, 64, 55, 55));
  /* By hand: (224 + 4 - 11) / 4 + 1 = 55; M = 55*55 = 3025, N = 64, K = 3*11*11 = 363. */
  expect_gemm(g, n, 3025LL * 64 * 363, 1, 3025, 64, 363);
  CU_ASSERT_EQUAL(ir_node_work(g, n).params, 64 * 363 + 64);
  Oracle o;
  CU_ASSERT_FATAL(oracle("alexnet", "features.0", &o));
  CU_ASSERT_EQUAL(o.macs, 70276800);
  expect_gemm(g, n, o.macs, o.G, o.M, o.N, o.K);
  CU_ASSERT_EQUAL(ir_node_work(g, n).params, o.params);

  uint32_t a = act(g, "flat", DIMS(1, 9216));
  uint32_t fw = weight(g, "classifier.1.weight", DIMS(4096, 9216));
  uint32_t fb = weight(g, "classifier.1.bias", DIMS(4096));
  uint32_t fin[3] = {a, fw, fb};
  n = node(g, OP_GEMM, "/classifier/classifier.1/Gemm", fin, 3, 1);
  ir_set_attr_int(g, n, "transB", 1);
  expect_shape(g, n, 0, DIMS(1, 4096));
  expect_gemm(g, n, 9216LL * 4096, 1, 1, 4096, 9216);
  CU_ASSERT_FATAL(oracle("alexnet", "classifier.1", &o));
  expect_gemm(g, n, o.macs, o.G, o.M, o.N, o.K);
  CU_ASSERT_EQUAL(ir_node_work(g, n).params, o.params);
  ir_graph_free(g);
}

static void test_conv_errors(void) {
  Graph *g = graph(13);
  uint32_t x = act(g, "x", DIMS(1, 8, 6, 6)), w = weight(g, "w", DIMS(6, 3, 3, 3));
  uint32_t w4 = weight(g, "w4", DIMS(6, 8, 3)), wbig = weight(g, "wbig", DIMS(2, 8, 9, 9));
  uint32_t w8 = weight(g, "w8", DIMS(6, 8, 3, 3)), bad_b = weight(g, "bad_b", DIMS(5));
  uint32_t x2 = act(g, "x2", DIMS(8, 6));
  uint32_t in[2] = {x, w}, in8[2] = {x, w8};

  uint32_t n = node(g, OP_CONV, "group_mismatch", in, 2, 1); /* 3 * 3 != 8 channels */
  ir_set_attr_int(g, n, "group", 3);
  expect_fail(g, n, "input channels");
  n = node(g, OP_CONV, "group_zero", in8, 2, 1);
  ir_set_attr_int(g, n, "group", 0);
  expect_fail(g, n, "group");
  n = node(g, OP_CONV, "group_cout", (uint32_t[]){x, weight(g, "w9", DIMS(9, 2, 3, 3))}, 2, 1);
  ir_set_attr_int(g, n, "group", 4); /* 2*4 = 8 input channels, but 9 % 4 != 0 */
  expect_fail(g, n, "does not divide");
  n = node(g, OP_CONV, "rank_mismatch", (uint32_t[]){x, w4}, 2, 1);
  expect_fail(g, n, "rank");
  n = node(g, OP_CONV, "rank2", (uint32_t[]){x2, w4}, 2, 1);
  expect_fail(g, n, "rank");
  n = node(g, OP_CONV, "too_big", (uint32_t[]){x, wbig}, 2, 1);
  expect_fail(g, n, "larger than the padded input");
  n = node(g, OP_CONV, "stride0", in8, 2, 1);
  set_ints(g, n, "strides", DIMS(1, 0));
  expect_fail(g, n, "strides");
  n = node(g, OP_CONV, "dil_neg", in8, 2, 1);
  set_ints(g, n, "dilations", DIMS(-1, 1));
  expect_fail(g, n, "dilations");
  n = node(g, OP_CONV, "pads_neg", in8, 2, 1);
  set_ints(g, n, "pads", DIMS(0, -1, 0, 0));
  expect_fail(g, n, "pads");
  n = node(g, OP_CONV, "pads_count", in8, 2, 1);
  set_ints(g, n, "pads", DIMS(1, 1));
  expect_fail(g, n, "pads");
  n = node(g, OP_CONV, "kshape", in8, 2, 1);
  set_ints(g, n, "kernel_shape", DIMS(5, 5));
  expect_fail(g, n, "kernel_shape");
  n = node(g, OP_CONV, "autopad", in8, 2, 1);
  ir_set_attr_string(g, n, "auto_pad", "SAME");
  expect_fail(g, n, "auto_pad");
  n = node(g, OP_CONV, "bias", (uint32_t[]){x, w8, bad_b}, 3, 1);
  expect_fail(g, n, "bias");
  n = node(g, OP_CONV, "no_weight", (uint32_t[]){x, IR_NONE}, 2, 1);
  expect_fail(g, n, "missing");
  n = node(g, OP_CONV, "huge_pads", in8, 2, 1);
  set_ints(g, n, "pads", DIMS(INT64_MAX, 0, 0, 0));
  expect_fail(g, n, "overflow");
  n = node(g, OP_CONV, "huge_dilation", in8, 2, 1);
  set_ints(g, n, "dilations", DIMS(INT64_MAX, 1));
  expect_fail(g, n, "overflow");
  ir_graph_free(g);
}

/* ---- ConvTranspose ---- */

static void test_conv_transpose(void) {
  Graph *g = graph(11);
  uint32_t x = act(g, "x", DIMS(1, 1, 3, 3)), w = weight(g, "w", DIMS(1, 2, 3, 3));
  uint32_t in[2] = {x, w};
  uint32_t n = node(g, OP_CONV_TRANSPOSE, "plain", in, 2, 1);
  expect_shape(g, n, 0, DIMS(1, 2, 5, 5));
  /* G = 1, M = 9 input pixels, N = 2 * 9, K = 1: in_elems * Cout * prod(kernel) = 162. */
  expect_gemm(g, n, 162, 1, 9, 18, 1);

  n = node(g, OP_CONV_TRANSPOSE, "out_pad", in, 2, 1);
  set_ints(g, n, "strides", DIMS(3, 2));
  set_ints(g, n, "output_padding", DIMS(1, 1));
  expect_shape(g, n, 0, DIMS(1, 2, 10, 8));

  n = node(g, OP_CONV_TRANSPOSE, "out_shape", in, 2, 1);
  set_ints(g, n, "strides", DIMS(3, 2));
  set_ints(g, n, "output_shape", DIMS(10, 8));
  expect_shape(g, n, 0, DIMS(1, 2, 10, 8));

  n = node(g, OP_CONV_TRANSPOSE, "out_shape_full", in, 2, 1);
  set_ints(g, n, "strides", DIMS(3, 2));
  set_ints(g, n, "kernel_shape", DIMS(3, 3));
  set_ints(g, n, "output_padding", DIMS(1, 1));
  set_ints(g, n, "output_shape", DIMS(1, 2, 10, 8));
  expect_shape(g, n, 0, DIMS(1, 2, 10, 8));

  n = node(g, OP_CONV_TRANSPOSE, "pads", in, 2, 1);
  set_ints(g, n, "strides", DIMS(3, 2));
  set_ints(g, n, "pads", DIMS(1, 2, 1, 2));
  expect_shape(g, n, 0, DIMS(1, 2, 7, 3));

  n = node(g, OP_CONV_TRANSPOSE, "same", in, 2, 1);
  ir_set_attr_string(g, n, "auto_pad", "SAME_UPPER");
  set_ints(g, n, "strides", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 2, 6, 6));

  uint32_t w2 = weight(g, "w2", DIMS(1, 1, 2, 2));
  n = node(g, OP_CONV_TRANSPOSE, "dilated", (uint32_t[]){x, w2}, 2, 1);
  set_ints(g, n, "dilations", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 5, 5));

  /* Grouped: Cin 4 in 2 groups, W [4, 3, 3, 3] -> Cout 6; stride 2, pad 1, output_padding 1:
   * 2*(5-1) + 1 + 3 - 2 = 10. */
  uint32_t xg = act(g, "xg", DIMS(2, 4, 5, 5)), wg = weight(g, "wg", DIMS(4, 3, 3, 3));
  n = node(g, OP_CONV_TRANSPOSE, "grouped", (uint32_t[]){xg, wg}, 2, 1);
  ir_set_attr_int(g, n, "group", 2);
  set_ints(g, n, "strides", DIMS(2, 2));
  set_ints(g, n, "pads", DIMS(1, 1, 1, 1));
  set_ints(g, n, "output_padding", DIMS(1, 1));
  expect_shape(g, n, 0, DIMS(2, 6, 10, 10));
  /* G = 2, M = 2*25 = 50, N = 3*9 = 27, K = 4/2 = 2; in_elems*Cout/g*prod(k) = 200*3*9. */
  expect_gemm(g, n, 5400, 2, 50, 27, 2);

  n = node(g, OP_CONV_TRANSPOSE, "chan_mismatch", (uint32_t[]){xg, w}, 2, 1);
  expect_fail(g, n, "input channels");
  n = node(g, OP_CONV_TRANSPOSE, "group_bad", (uint32_t[]){xg, wg}, 2, 1);
  ir_set_attr_int(g, n, "group", 3);
  expect_fail(g, n, "does not divide");
  n = node(g, OP_CONV_TRANSPOSE, "oshape_len", in, 2, 1);
  set_ints(g, n, "output_shape", DIMS(10, 8, 3));
  expect_fail(g, n, "output_shape");
  n = node(g, OP_CONV_TRANSPOSE, "opad_neg", in, 2, 1);
  set_ints(g, n, "output_padding", DIMS(-1, 0));
  expect_fail(g, n, "output_padding");
  n = node(g, OP_CONV_TRANSPOSE, "negative_out", in, 2, 1);
  set_ints(g, n, "pads", DIMS(4, 0, 4, 0)); /* 2 + 3 - 8 < 0 */
  expect_fail(g, n, "negative");
  n = node(g, OP_CONV_TRANSPOSE, "overflow", in, 2, 1);
  set_ints(g, n, "strides", DIMS(INT64_MAX, 1));
  expect_fail(g, n, "overflow");
  ir_graph_free(g);
}

/* ---- Gemm, MatMul ---- */

static void test_gemm(void) {
  Graph *g = graph(13);
  uint32_t a = act(g, "a", DIMS(4, 3)), b = weight(g, "b", DIMS(5, 4));
  uint32_t c = weight(g, "c", DIMS(1, 5));
  uint32_t n = node(g, OP_GEMM, "all_attrs", (uint32_t[]){a, b, c}, 3, 1);
  ir_set_attr_int(g, n, "transA", 1);
  ir_set_attr_int(g, n, "transB", 1);
  ir_set_attr_float(g, n, "alpha", 0.25);
  expect_shape(g, n, 0, DIMS(3, 5));
  expect_gemm(g, n, 3 * 5 * 4, 1, 3, 5, 4);
  CU_ASSERT_EQUAL(ir_node_work(g, n).params, 20 + 5);

  uint32_t a2 = act(g, "a2", DIMS(2, 10)), b2 = weight(g, "b2", DIMS(10, 3));
  n = node(g, OP_GEMM, "no_bias", (uint32_t[]){a2, b2}, 2, 1);
  expect_shape(g, n, 0, DIMS(2, 3));
  expect_gemm(g, n, 60, 1, 2, 3, 10);

  uint32_t cs = weight(g, "cs", NULL, 0), cv = weight(g, "cv", DIMS(3));
  uint32_t cm = weight(g, "cm", DIMS(2, 3)), cbad = weight(g, "cbad", DIMS(2, 4));
  n = node(g, OP_GEMM, "scalar_bias", (uint32_t[]){a2, b2, cs}, 3, 1);
  expect_shape(g, n, 0, DIMS(2, 3));
  n = node(g, OP_GEMM, "vector_bias", (uint32_t[]){a2, b2, cv}, 3, 1);
  expect_shape(g, n, 0, DIMS(2, 3));
  n = node(g, OP_GEMM, "matrix_bias", (uint32_t[]){a2, b2, cm}, 3, 1);
  expect_shape(g, n, 0, DIMS(2, 3));
  n = node(g, OP_GEMM, "bad_bias", (uint32_t[]){a2, b2, cbad}, 3, 1);
  expect_fail(g, n, "bias C");
  n = node(g, OP_GEMM, "inner", (uint32_t[]){a2, b}, 2, 1);
  expect_fail(g, n, "inner dimensions");
  n = node(g, OP_GEMM, "rank", (uint32_t[]){a2, cv}, 2, 1);
  expect_fail(g, n, "matrices");
  ir_graph_free(g);
}

static void test_matmul(void) {
  Graph *g = graph(13);
  uint32_t a = act(g, "a", DIMS(2, 3, 4)), b = act(g, "b", DIMS(2, 4, 3));
  uint32_t n = node(g, OP_MATMUL, "mm3d", (uint32_t[]){a, b}, 2, 1);
  expect_shape(g, n, 0, DIMS(2, 3, 3));
  expect_gemm(g, n, 2 * 3 * 3 * 4, 2, 3, 3, 4);

  /* Batch broadcasting: [2,1,3,4] x [5,4,6] -> [2,5,3,6], G = 10. */
  uint32_t a4 = act(g, "a4", DIMS(2, 1, 3, 4)), b3 = act(g, "b3", DIMS(5, 4, 6));
  n = node(g, OP_MATMUL, "bcast", (uint32_t[]){a4, b3}, 2, 1);
  expect_shape(g, n, 0, DIMS(2, 5, 3, 6));
  expect_gemm(g, n, 10 * 3 * 6 * 4, 10, 3, 6, 4);

  /* 1-D operands: the inserted axis disappears from the result. */
  uint32_t v4 = act(g, "v4", DIMS(4)), m43 = act(g, "m43", DIMS(4, 3));
  n = node(g, OP_MATMUL, "vec_mat", (uint32_t[]){v4, m43}, 2, 1);
  expect_shape(g, n, 0, DIMS(3));
  expect_gemm(g, n, 12, 1, 1, 3, 4);
  n = node(g, OP_MATMUL, "mat_vec", (uint32_t[]){a, v4}, 2, 1);
  expect_shape(g, n, 0, DIMS(2, 3));
  expect_gemm(g, n, 24, 2, 3, 1, 4);
  n = node(g, OP_MATMUL, "dot", (uint32_t[]){v4, v4}, 2, 1);
  expect_shape(g, n, 0, NULL, 0);
  expect_gemm(g, n, 4, 1, 1, 1, 4);

  /* CapsNet prediction vectors: W [1,1152,10,16,8] x u [1,1152,1,8,1] -> u_hat
   * [1,1152,10,16,1]; the oracle's caps_votes view is G = 11520, M = 16, N = 1, K = 8. */
  uint32_t cw = weight(g, "caps_w", DIMS(1, 1152, 10, 16, 8));
  uint32_t cu = act(g, "caps_u", DIMS(1, 1152, 1, 8, 1));
  n = node(g, OP_MATMUL, "/digits/MatMul", (uint32_t[]){cw, cu}, 2, 1);
  expect_shape(g, n, 0, DIMS(1, 1152, 10, 16, 1));
  Oracle o;
  CU_ASSERT_FATAL(oracle("capsnet", "digits.votes", &o));
  expect_gemm(g, n, o.macs, o.G, o.M, o.N, o.K);
  CU_ASSERT_EQUAL(ir_node_work(g, n).params, o.params);

  n = node(g, OP_MATMUL, "inner", (uint32_t[]){a, a}, 2, 1);
  expect_fail(g, n, "inner dimensions");
  uint32_t b34 = act(g, "b34", DIMS(3, 4, 2));
  n = node(g, OP_MATMUL, "batch", (uint32_t[]){a, b34}, 2, 1);
  expect_fail(g, n, "batch");
  uint32_t s = act(g, "s", NULL, 0);
  n = node(g, OP_MATMUL, "scalar", (uint32_t[]){s, v4}, 2, 1);
  expect_fail(g, n, "rank");
  ir_graph_free(g);
}

/* ---- Einsum ---- */

static uint32_t einsum(Graph *g, const char *name, const char *eq, const uint32_t *ins, int n) {
  uint32_t nd = node(g, OP_EINSUM, name, ins, n, 1);
  ir_set_attr_string(g, nd, "equation", eq);
  return nd;
}

static void test_einsum(void) {
  Graph *g = graph(12);
  uint32_t a = act(g, "a", DIMS(5, 2, 3)), b = act(g, "b", DIMS(5, 3, 4));
  uint32_t n = einsum(g, "batch_matmul", "bij, bjk -> bik", (uint32_t[]){a, b}, 2);
  expect_shape(g, n, 0, DIMS(5, 2, 4));
  expect_gemm(g, n, 5 * 2 * 4 * 3, 5, 2, 4, 3);

  uint32_t v = act(g, "v", DIMS(5));
  n = einsum(g, "inner", "i,i", (uint32_t[]){v, v}, 2);
  expect_shape(g, n, 0, NULL, 0);
  expect_gemm(g, n, 5, 1, 1, 1, 5);

  uint32_t m34 = act(g, "m34", DIMS(3, 4)), m45 = act(g, "m45", DIMS(4, 5));
  n = einsum(g, "implicit_mm", "ij,jk", (uint32_t[]){m34, m45}, 2);
  expect_shape(g, n, 0, DIMS(3, 5));
  expect_gemm(g, n, 60, 1, 3, 5, 4);
  n = einsum(g, "implicit_order", "ji,jk", (uint32_t[]){m34, m34}, 2); /* -> "ik" */
  expect_shape(g, n, 0, DIMS(4, 4));
  n = einsum(g, "implicit_transpose", "ba", (uint32_t[]){m34}, 1); /* -> "ab" */
  expect_shape(g, n, 0, DIMS(4, 3));
  NodeWork w = ir_node_work(g, n);
  CU_ASSERT_EQUAL(w.macs, 0);
  CU_ASSERT_EQUAL(w.ops, 12);
  n = einsum(g, "outer", "i,j->ij", (uint32_t[]){v, v}, 2);
  expect_shape(g, n, 0, DIMS(5, 5));
  expect_gemm(g, n, 25, 1, 5, 5, 1);

  /* Single-operand forms from the conformance suite. */
  n = einsum(g, "sum", "ij->i", (uint32_t[]){m34}, 1);
  expect_shape(g, n, 0, DIMS(3));
  n = einsum(g, "transpose", "ij->ji", (uint32_t[]){m34}, 1);
  expect_shape(g, n, 0, DIMS(4, 3));
  uint32_t d355 = act(g, "d355", DIMS(3, 5, 5));
  n = einsum(g, "batch_diagonal", "...ii ->...i", (uint32_t[]){d355}, 1);
  expect_shape(g, n, 0, DIMS(3, 5));
  n = einsum(g, "trace_implicit", "...ii", (uint32_t[]){d355}, 1);
  expect_shape(g, n, 0, DIMS(3));

  /* Ellipsis broadcasting: [2,1,3,4] x [5,4,6] -> [2,5,3,6]. */
  uint32_t e1 = act(g, "e1", DIMS(2, 1, 3, 4)), e2 = act(g, "e2", DIMS(5, 4, 6));
  n = einsum(g, "ellipsis", "...ij,...jk->...ik", (uint32_t[]){e1, e2}, 2);
  expect_shape(g, n, 0, DIMS(2, 5, 3, 6));
  /* '...' axis 0 (2) only in A -> M, axis 1 (5) only in B -> N. */
  expect_gemm(g, n, 2 * 5 * 3 * 6 * 4, 1, 2 * 3, 5 * 6, 4);
  n = einsum(g, "ellipsis_implicit", "...ij,...jk", (uint32_t[]){e1, e2}, 2);
  expect_shape(g, n, 0, DIMS(2, 5, 3, 6));

  /* CapsNet routing as Einsum: the oracle's mulsum entries (weighted sum, agreement). */
  uint32_t c = act(g, "c", DIMS(1, 1152, 10, 1)), u = act(g, "u", DIMS(1, 1152, 10, 16));
  uint32_t vv = act(g, "vv", DIMS(1, 1, 10, 16));
  n = einsum(g, "wsum", "bijk,bijk->bjk", (uint32_t[]){c, u}, 2);
  expect_shape(g, n, 0, DIMS(1, 10, 16));
  Oracle o;
  CU_ASSERT_FATAL(oracle("capsnet", "digits.wsum.0", &o));
  expect_gemm(g, n, o.macs, o.G, o.M, o.N, o.K);
  n = einsum(g, "agree", "bijk,bijk->bij", (uint32_t[]){u, vv}, 2);
  expect_shape(g, n, 0, DIMS(1, 1152, 10));
  CU_ASSERT_FATAL(oracle("capsnet", "digits.agree.1", &o));
  expect_gemm(g, n, o.macs, o.G, o.M, o.N, o.K);

  n = einsum(g, "bad_char", "i#,i", (uint32_t[]){m34, v}, 2);
  expect_fail(g, n, "invalid character");
  n = einsum(g, "term_count", "ij", (uint32_t[]){m34, m34}, 2);
  expect_fail(g, n, "terms");
  n = einsum(g, "rank", "ijk,jk", (uint32_t[]){m34, m34}, 2);
  expect_fail(g, n, "rank");
  n = einsum(g, "unknown_out", "ij,jk->iz", (uint32_t[]){m34, m45}, 2);
  expect_fail(g, n, "appears in no input");
  n = einsum(g, "repeat_out", "ij,jk->ii", (uint32_t[]){m34, m45}, 2);
  expect_fail(g, n, "repeats");
  n = einsum(g, "size_clash", "ij,ij->ij", (uint32_t[]){m34, m45}, 2);
  expect_fail(g, n, "sizes");
  n = einsum(g, "diag_clash", "ii->i", (uint32_t[]){m34}, 1);
  expect_fail(g, n, "repeats in operand");
  n = einsum(g, "dots", "..i,i", (uint32_t[]){v, v}, 2);
  expect_fail(g, n, "ellipsis");
  n = einsum(g, "three", "i,i,i", (uint32_t[]){v, v, v}, 3);
  expect_fail(g, n, "operands");
  n = node(g, OP_EINSUM, "no_equation", (uint32_t[]){v, v}, 2, 1);
  expect_fail(g, n, "equation");
  ir_graph_free(g);
}

/* ---- normalization ---- */

static uint32_t bn(Graph *g, const char *name, uint32_t x, uint32_t stat, int n_out) {
  return node(g, OP_BATCH_NORM, name, (uint32_t[]){x, stat, stat, stat, stat}, 5, n_out);
}

static void test_batch_norm(void) {
  Graph *g = graph(15);
  uint32_t x = act(g, "x", DIMS(2, 3, 4, 5)), s = weight(g, "s", DIMS(3));
  uint32_t n = bn(g, "inference", x, s, 1);
  expect_shape(g, n, 0, DIMS(2, 3, 4, 5));
  CU_ASSERT_EQUAL(ir_node_work(g, n).ops, 120);
  n = bn(g, "training", x, s, 3);
  ir_set_attr_int(g, n, "training_mode", 1);
  expect_shape(g, n, 0, DIMS(2, 3, 4, 5));
  expect_shape(g, n, 1, DIMS(3));
  expect_shape(g, n, 2, DIMS(3));
  n = bn(g, "five_at_15", x, s, 5);
  expect_fail(g, n, "at most 3");
  uint32_t s4 = weight(g, "s4", DIMS(4));
  n = bn(g, "bad_scale", x, s4, 1);
  expect_fail(g, n, "one per channel");
  ir_graph_free(g);

  /* Opset 9-13 (PyTorch training exports): five outputs, statistics shaped [C]. */
  g = graph(13);
  x = act(g, "x", DIMS(1, 32, 112, 112));
  s = weight(g, "s", DIMS(32));
  n = bn(g, "train5", x, s, 5);
  ir_set_attr_int(g, n, "training_mode", 1);
  expect_shape(g, n, 0, DIMS(1, 32, 112, 112));
  for (int i = 1; i < 5; i++)
    expect_shape(g, n, i, DIMS(32));
  n = bn(g, "six", x, s, 6);
  expect_fail(g, n, "at most 5");
  n = node(g, OP_BATCH_NORM, "missing_var", (uint32_t[]){x, s, s, s}, 4, 1);
  expect_fail(g, n, "input_var");
  uint32_t x1 = act(g, "x1", DIMS(7));
  n = bn(g, "rank1", x1, s, 1);
  expect_fail(g, n, "rank");
  ir_graph_free(g);

  /* Opset 6 with spatial = 0: statistics per element of X[1:]. */
  g = graph(6);
  x = act(g, "x", DIMS(2, 3, 4));
  uint32_t se = weight(g, "se", DIMS(3, 4));
  n = bn(g, "per_element", x, se, 5);
  ir_set_attr_int(g, n, "spatial", 0);
  ir_set_attr_int(g, n, "is_test", 0);
  expect_shape(g, n, 0, DIMS(2, 3, 4));
  expect_shape(g, n, 3, DIMS(3, 4));
  n = bn(g, "spatial_bad", x, se, 1);
  expect_fail(g, n, "one per channel");
  ir_graph_free(g);
}

static void test_layer_norm(void) {
  Graph *g = graph(17);
  uint32_t x = act(g, "x", DIMS(2, 3, 4, 5)), s = weight(g, "s", DIMS(3, 4, 5));
  uint32_t n = node(g, OP_LAYER_NORM, "axis1", (uint32_t[]){x, s, s}, 3, 3);
  ir_set_attr_int(g, n, "axis", 1);
  expect_shape(g, n, 0, DIMS(2, 3, 4, 5));
  expect_shape(g, n, 1, DIMS(2, 1, 1, 1));
  expect_shape(g, n, 2, DIMS(2, 1, 1, 1));
  CU_ASSERT_EQUAL(out(g, n, 1)->dtype, DT_FLOAT);
  uint32_t s5 = weight(g, "s5", DIMS(5));
  n = node(g, OP_LAYER_NORM, "default_axis", (uint32_t[]){x, s5}, 2, 3);
  expect_shape(g, n, 1, DIMS(2, 3, 4, 1));
  n = node(g, OP_LAYER_NORM, "neg4", (uint32_t[]){x, x}, 2, 2);
  ir_set_attr_int(g, n, "axis", -4);
  expect_shape(g, n, 1, DIMS(1, 1, 1, 1));
  n = node(g, OP_LAYER_NORM, "y_only", (uint32_t[]){x, s5}, 2, 1);
  expect_shape(g, n, 0, DIMS(2, 3, 4, 5));
  n = node(g, OP_LAYER_NORM, "axis_range", (uint32_t[]){x, s5}, 2, 1);
  ir_set_attr_int(g, n, "axis", 4);
  expect_fail(g, n, "out of range");
  n = node(g, OP_LAYER_NORM, "no_scale", (uint32_t[]){x}, 1, 1);
  expect_fail(g, n, "Scale");
  ir_graph_free(g);
}

static void test_same_as_input(void) {
  Graph *g = graph(13);
  uint32_t x = act(g, "x", DIMS(5, 5, 5, 5)), s = weight(g, "s", DIMS(5));
  uint32_t n = node(g, OP_LRN, "lrn", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "size", 3);
  expect_shape(g, n, 0, DIMS(5, 5, 5, 5));
  NodeWork w = ir_node_work(g, n);
  CU_ASSERT_EQUAL(w.ops, 625 * 3);
  CU_ASSERT_EQUAL(w.macs, 0);
  n = node(g, OP_INSTANCE_NORM, "inorm", (uint32_t[]){x, s, s}, 3, 1);
  expect_shape(g, n, 0, DIMS(5, 5, 5, 5));
  w = ir_node_work(g, n);
  CU_ASSERT_EQUAL(w.ops, 625);
  CU_ASSERT_EQUAL(w.params, 5); /* the same weight twice counts once */
  n = node(g, OP_LRN, "two_outputs", (uint32_t[]){x}, 1, 2);
  expect_fail(g, n, "outputs");
  ir_graph_free(g);
}

/* ---- pooling ---- */

static uint32_t pool(Graph *g, OpKind op, const char *name, uint32_t x, int n_out, const int64_t *k,
                     int nk) {
  uint32_t n = node(g, op, name, (uint32_t[]){x}, 1, n_out);
  if (k) set_ints(g, n, "kernel_shape", k, nk);
  return n;
}

static void test_pool(void) {
  Graph *g = graph(12);
  uint32_t x32 = act(g, "x32", DIMS(1, 3, 32, 32)), x5 = act(g, "x5", DIMS(1, 1, 5, 5));
  uint32_t x4 = act(g, "x4", DIMS(1, 1, 4, 4)), x28 = act(g, "x28", DIMS(1, 3, 28, 28));
  uint32_t n = pool(g, OP_MAX_POOL, "default", x32, 1, DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 3, 31, 31));
  CU_ASSERT_EQUAL(ir_node_work(g, n).ops, 3 * 31 * 31 * 4);
  n = pool(g, OP_AVERAGE_POOL, "strides", x32, 1, DIMS(5, 5));
  set_ints(g, n, "strides", DIMS(3, 3));
  expect_shape(g, n, 0, DIMS(1, 3, 10, 10));
  n = pool(g, OP_AVERAGE_POOL, "pads", x28, 1, DIMS(3, 3));
  set_ints(g, n, "pads", DIMS(2, 2, 2, 2));
  expect_shape(g, n, 0, DIMS(1, 3, 30, 30));
  n = pool(g, OP_MAX_POOL, "same_upper", x5, 1, DIMS(3, 3));
  ir_set_attr_string(g, n, "auto_pad", "SAME_UPPER");
  set_ints(g, n, "strides", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 3, 3));
  n = pool(g, OP_AVERAGE_POOL, "same_lower", x32, 1, DIMS(2, 2));
  ir_set_attr_string(g, n, "auto_pad", "SAME_LOWER");
  expect_shape(g, n, 0, DIMS(1, 3, 32, 32));
  n = pool(g, OP_MAX_POOL, "valid", x5, 1, DIMS(2, 2));
  ir_set_attr_string(g, n, "auto_pad", "VALID");
  ir_set_attr_int(g, n, "ceil_mode", 1); /* does not apply to VALID */
  set_ints(g, n, "strides", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 2, 2));
  n = pool(g, OP_MAX_POOL, "dilations", x4, 1, DIMS(2, 2));
  set_ints(g, n, "dilations", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 2, 2));

  /* ceil_mode: (4 - 3) / 2 rounds up to 1 -> 2 outputs (ONNX test_maxpool_2d_ceil). */
  n = pool(g, OP_MAX_POOL, "ceil", x4, 1, DIMS(3, 3));
  set_ints(g, n, "strides", DIMS(2, 2));
  ir_set_attr_int(g, n, "ceil_mode", 1);
  expect_shape(g, n, 0, DIMS(1, 1, 2, 2));
  n = pool(g, OP_MAX_POOL, "floor", x4, 1, DIMS(3, 3));
  set_ints(g, n, "strides", DIMS(2, 2));
  expect_shape(g, n, 0, DIMS(1, 1, 1, 1));
  /* SqueezeNet features.2: 109 -> ceil((109 - 3) / 2) + 1 = 54. */
  uint32_t xs = act(g, "xs", DIMS(1, 96, 109, 109));
  n = pool(g, OP_MAX_POOL, "squeezenet", xs, 1, DIMS(3, 3));
  set_ints(g, n, "strides", DIMS(2, 2));
  ir_set_attr_int(g, n, "ceil_mode", 1);
  expect_shape(g, n, 0, DIMS(1, 96, 54, 54));
  /* The last window must start inside input + left pad: in 5, k 2, s 2, pads 1/1 gives
   * ceil(5 / 2) + 1 = 4 windows, but the 4th would start at 6 >= 5 + 1, so 3 remain. */
  n = pool(g, OP_MAX_POOL, "ceil_drop", x5, 1, DIMS(2, 2));
  set_ints(g, n, "strides", DIMS(2, 2));
  set_ints(g, n, "pads", DIMS(1, 1, 1, 1));
  ir_set_attr_int(g, n, "ceil_mode", 1);
  expect_shape(g, n, 0, DIMS(1, 1, 3, 3));

  /* MaxPool's optional Indices output is int64. */
  n = pool(g, OP_MAX_POOL, "indices", x5, 2, DIMS(2, 2));
  set_ints(g, n, "strides", DIMS(2, 2));
  ir_set_attr_int(g, n, "storage_order", 1);
  expect_shape(g, n, 1, DIMS(1, 1, 2, 2));
  CU_ASSERT_EQUAL(out(g, n, 1)->dtype, DT_INT64);
  CU_ASSERT_EQUAL(out(g, n, 0)->dtype, DT_FLOAT);

  /* 1-D and 3-D. */
  uint32_t x1 = act(g, "x1", DIMS(1, 3, 32)), x3 = act(g, "x3", DIMS(1, 3, 8, 8, 8));
  n = pool(g, OP_AVERAGE_POOL, "pool1d", x1, 1, DIMS(2));
  expect_shape(g, n, 0, DIMS(1, 3, 31));
  n = pool(g, OP_MAX_POOL, "pool3d", x3, 1, DIMS(2, 2, 2));
  set_ints(g, n, "strides", DIMS(2, 2, 2));
  expect_shape(g, n, 0, DIMS(1, 3, 4, 4, 4));
  CU_ASSERT_EQUAL(ir_node_work(g, n).ops, 3 * 64 * 8);

  n = pool(g, OP_MAX_POOL, "no_kernel", x5, 1, NULL, 0);
  expect_fail(g, n, "kernel_shape");
  n = pool(g, OP_MAX_POOL, "kernel_count", x5, 1, DIMS(2));
  expect_fail(g, n, "kernel_shape");
  n = pool(g, OP_MAX_POOL, "kernel_zero", x5, 1, DIMS(0, 2));
  expect_fail(g, n, "kernel_shape");
  n = pool(g, OP_AVERAGE_POOL, "too_big", x5, 1, DIMS(6, 6));
  expect_fail(g, n, "larger than the padded input");
  n = pool(g, OP_AVERAGE_POOL, "avg_indices", x5, 2, DIMS(2, 2));
  expect_fail(g, n, "outputs");
  uint32_t x2 = act(g, "x2", DIMS(3, 5));
  n = pool(g, OP_MAX_POOL, "rank2", x2, 1, DIMS(2));
  expect_fail(g, n, "rank");
  n = pool(g, OP_MAX_POOL, "stride_neg", x5, 1, DIMS(2, 2));
  set_ints(g, n, "strides", DIMS(-2, 2));
  expect_fail(g, n, "strides");
  ir_graph_free(g);
}

static void test_global_pool(void) {
  Graph *g = graph(1);
  uint32_t x = act(g, "x", DIMS(1, 3, 5, 5)), x3 = act(g, "x3", DIMS(2, 4, 3, 3, 3));
  uint32_t n = node(g, OP_GLOBAL_AVERAGE_POOL, "gap", (uint32_t[]){x}, 1, 1);
  expect_shape(g, n, 0, DIMS(1, 3, 1, 1));
  CU_ASSERT_EQUAL(ir_node_work(g, n).ops, 75);
  n = node(g, OP_GLOBAL_MAX_POOL, "gmp3d", (uint32_t[]){x3}, 1, 1);
  expect_shape(g, n, 0, DIMS(2, 4, 1, 1, 1));
  uint32_t v = act(g, "v", DIMS(4));
  n = node(g, OP_GLOBAL_MAX_POOL, "rank1", (uint32_t[]){v}, 1, 1);
  expect_fail(g, n, "rank");
  ir_graph_free(g);
}

/* ---- softmax, reductions ---- */

static void test_softmax(void) {
  Graph *g = graph(11);
  uint32_t x = act(g, "x", DIMS(3, 4, 5)), v = act(g, "v", DIMS(6));
  uint32_t n = node(g, OP_SOFTMAX, "default11", (uint32_t[]){x}, 1, 1);
  expect_shape(g, n, 0, DIMS(3, 4, 5));
  CU_ASSERT_EQUAL(ir_node_work(g, n).ops, 60);
  /* Before opset 13 the default axis is 1, which a rank-1 input still accepts (coerced to
   * [6, 1]); from 13 the default is -1. */
  n = node(g, OP_LOG_SOFTMAX, "rank1_11", (uint32_t[]){v}, 1, 1);
  expect_shape(g, n, 0, DIMS(6));
  n = node(g, OP_SOFTMAX, "axis3_11", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", 3);
  expect_shape(g, n, 0, DIMS(3, 4, 5));
  n = node(g, OP_SOFTMAX, "axis4_11", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", 4);
  expect_fail(g, n, "out of range");
  g->opset = 13;
  n = node(g, OP_SOFTMAX, "rank1_13", (uint32_t[]){v}, 1, 1);
  expect_shape(g, n, 0, DIMS(6));
  n = node(g, OP_SOFTMAX, "axis3_13", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", 3);
  expect_fail(g, n, "out of range");
  n = node(g, OP_LOG_SOFTMAX, "neg", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", -3);
  expect_shape(g, n, 0, DIMS(3, 4, 5));
  uint32_t s = act(g, "s", NULL, 0);
  n = node(g, OP_SOFTMAX, "scalar", (uint32_t[]){s}, 1, 1);
  expect_fail(g, n, "rank");
  ir_graph_free(g);
}

static void test_reduce(void) {
  /* Opset 11: axes is an attribute for every reduction. */
  Graph *g = graph(11);
  uint32_t x = act(g, "x", DIMS(3, 2, 2));
  uint32_t n = node(g, OP_REDUCE_MEAN, "mean_attr", (uint32_t[]){x}, 1, 1);
  set_ints(g, n, "axes", DIMS(1));
  ir_set_attr_int(g, n, "keepdims", 0);
  expect_shape(g, n, 0, DIMS(3, 2));
  CU_ASSERT_EQUAL(ir_node_work(g, n).ops, 12);
  n = node(g, OP_REDUCE_SUM, "sum_attr_11", (uint32_t[]){x}, 1, 1);
  set_ints(g, n, "axes", DIMS(-2, 0));
  expect_shape(g, n, 0, DIMS(1, 1, 2));
  n = node(g, OP_REDUCE_L2, "all_keep", (uint32_t[]){x}, 1, 1);
  expect_shape(g, n, 0, DIMS(1, 1, 1));
  n = node(g, OP_REDUCE_PROD, "all_drop", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "keepdims", 0);
  expect_shape(g, n, 0, NULL, 0);
  n = node(g, OP_REDUCE_MAX, "dup", (uint32_t[]){x}, 1, 1);
  set_ints(g, n, "axes", DIMS(1, -2));
  expect_fail(g, n, "twice");
  n = node(g, OP_REDUCE_MIN, "range", (uint32_t[]){x}, 1, 1);
  set_ints(g, n, "axes", DIMS(3));
  expect_fail(g, n, "out of range");
  ir_graph_free(g);

  /* Opset 13: ReduceSum reads axes from input 1; the others still use the attribute. */
  g = graph(13);
  x = act(g, "x", DIMS(3, 2, 2));
  uint32_t ax1 = const_ints(g, "ax1", DIMS(1)), empty = const_ints(g, "empty", NULL, 0);
  uint32_t unknown = act(g, "unknown_axes", DIMS(1));
  g->tensors[unknown].dtype = DT_INT64;
  n = node(g, OP_REDUCE_SUM, "sum_input", (uint32_t[]){x, ax1}, 2, 1);
  expect_shape(g, n, 0, DIMS(3, 1, 2));
  n = node(g, OP_REDUCE_SUM, "sum_empty", (uint32_t[]){x, empty}, 2, 1);
  expect_shape(g, n, 0, DIMS(1, 1, 1));
  n = node(g, OP_REDUCE_SUM, "sum_none", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "keepdims", 0);
  expect_shape(g, n, 0, NULL, 0);
  n = node(g, OP_REDUCE_SUM, "sum_noop", (uint32_t[]){x, empty}, 2, 1);
  ir_set_attr_int(g, n, "noop_with_empty_axes", 1);
  expect_shape(g, n, 0, DIMS(3, 2, 2));
  n = node(g, OP_REDUCE_SUM, "sum_unknown", (uint32_t[]){x, unknown}, 2, 1);
  expect_fail(g, n, "known at import time");
  n = node(g, OP_REDUCE_SUM_SQUARE, "ssq_attr_13", (uint32_t[]){x}, 1, 1);
  set_ints(g, n, "axes", DIMS(-2));
  expect_shape(g, n, 0, DIMS(3, 1, 2));
  ir_graph_free(g);

  /* Opset 18: every reduction takes axes as an input. */
  g = graph(18);
  x = act(g, "x", DIMS(3, 2, 2));
  uint32_t ax02 = const_ints(g, "ax02", DIMS(0, 2));
  n = node(g, OP_REDUCE_MAX, "max18", (uint32_t[]){x, ax02}, 2, 1);
  ir_set_attr_int(g, n, "keepdims", 0);
  expect_shape(g, n, 0, DIMS(2));
  ir_graph_free(g);
}

static void test_arg_reduce(void) {
  Graph *g = graph(13);
  uint32_t x = act(g, "x", DIMS(2, 3, 4));
  uint32_t n = node(g, OP_ARG_MAX, "default", (uint32_t[]){x}, 1, 1);
  expect_shape(g, n, 0, DIMS(1, 3, 4));
  CU_ASSERT_EQUAL(out(g, n, 0)->dtype, DT_INT64);
  n = node(g, OP_ARG_MIN, "no_keep", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", 1);
  ir_set_attr_int(g, n, "keepdims", 0);
  ir_set_attr_int(g, n, "select_last_index", 1);
  expect_shape(g, n, 0, DIMS(2, 4));
  n = node(g, OP_ARG_MAX, "neg", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", -1);
  expect_shape(g, n, 0, DIMS(2, 3, 1));
  n = node(g, OP_ARG_MAX, "range", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", -4);
  expect_fail(g, n, "out of range");
  ir_graph_free(g);
}

/* Integer reductions of known values fold (shape arithmetic); float data does not. */
static void test_reduce_fold(void) {
  Graph *g = graph(13);
  Diag d;
  diag_init(&d);
  uint32_t x = ir_add_tensor(g, "x", DT_INT64, ROLE_CONST, 2, (const int64_t[]){2, 3}, &d);
  CU_ASSERT_FATAL(ir_set_ivals(g, x, DIMS(4, 9, 2, -1, 7, 7)));
  uint32_t n = node(g, OP_REDUCE_PROD, "prod", (uint32_t[]){x}, 1, 1);
  set_ints(g, n, "axes", DIMS(1));
  ir_set_attr_int(g, n, "keepdims", 0);
  expect_shape(g, n, 0, DIMS(2));
  CU_ASSERT_PTR_NOT_NULL_FATAL(out(g, n, 0)->ivals);
  CU_ASSERT(out(g, n, 0)->ivals[0] == 72 && out(g, n, 0)->ivals[1] == -49);
  uint32_t ax0 = const_ints(g, "ax0", DIMS(0));
  n = node(g, OP_REDUCE_SUM, "sum", (uint32_t[]){x, ax0}, 2, 1);
  expect_shape(g, n, 0, DIMS(1, 3));
  CU_ASSERT_PTR_NOT_NULL_FATAL(out(g, n, 0)->ivals);
  CU_ASSERT(out(g, n, 0)->ivals[0] == 3 && out(g, n, 0)->ivals[1] == 16 &&
            out(g, n, 0)->ivals[2] == 9);
  n = node(g, OP_REDUCE_MIN, "min_all", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "keepdims", 0);
  expect_shape(g, n, 0, NULL, 0);
  CU_ASSERT(out(g, n, 0)->ivals && out(g, n, 0)->ivals[0] == -1);
  n = node(g, OP_ARG_MAX, "argmax_last", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", 1);
  ir_set_attr_int(g, n, "select_last_index", 1);
  expect_shape(g, n, 0, DIMS(2, 1));
  CU_ASSERT(out(g, n, 0)->ivals && out(g, n, 0)->ivals[0] == 1 && out(g, n, 0)->ivals[1] == 2);
  n = node(g, OP_ARG_MIN, "argmin_first", (uint32_t[]){x}, 1, 1);
  ir_set_attr_int(g, n, "axis", -1);
  expect_shape(g, n, 0, DIMS(2, 1));
  CU_ASSERT(out(g, n, 0)->ivals && out(g, n, 0)->ivals[0] == 2 && out(g, n, 0)->ivals[1] == 0);
  uint32_t xf = act(g, "xf", DIMS(2, 3));
  n = node(g, OP_REDUCE_MAX, "float", (uint32_t[]){xf}, 1, 1);
  expect_shape(g, n, 0, DIMS(1, 1));
  CU_ASSERT_PTR_NULL(out(g, n, 0)->ivals);
  ir_graph_free(g);
}

/* ---- work counters on their own ---- */

static void test_work_vector(void) {
  Graph *g = graph(13);
  Diag d;
  diag_init(&d);
  uint32_t a = act(g, "a", DIMS(2, 3)), b = act(g, "b", DIMS(2, 3));
  uint32_t y = act(g, "y", DIMS(2, 3)), z = act(g, "z", DIMS(2, 3));
  uint32_t n = ir_add_node(g, OP_SUM, "sum3", (uint32_t[]){a, b, a}, 3, &y, 1, &d);
  NodeWork w = ir_node_work(g, n);
  CU_ASSERT_EQUAL(w.ops, 12);
  CU_ASSERT_EQUAL(w.macs, 0);
  CU_ASSERT_EQUAL(w.gemm.g, 0);
  n = ir_add_node(g, OP_MAX, "max1", (uint32_t[]){a}, 1, &z, 1, &d);
  CU_ASSERT_EQUAL(ir_node_work(g, n).ops, 6);
  uint32_t r = act(g, "r", DIMS(6)), shp = const_ints(g, "shp", DIMS(6));
  n = ir_add_node(g, OP_RESHAPE, "reshape", (uint32_t[]){a, shp}, 2, &r, 1, &d);
  w = ir_node_work(g, n);
  CU_ASSERT(w.ops == 0 && w.macs == 0 && w.params == 0);
  uint32_t e = act(g, "e", DIMS(2, 3));
  n = ir_add_node(g, OP_RELU, "relu", (uint32_t[]){a}, 1, &e, 1, &d);
  CU_ASSERT_EQUAL(ir_node_work(g, n).ops, 6);
  CU_ASSERT_EQUAL(ir_node_work(g, 99999).macs, 0); /* out-of-range node id */
  ir_graph_free(g);
}

/* Counts beyond int64 saturate; unknown shapes count nothing. */
static void test_work_saturation(void) {
  Graph *g = graph(13);
  Diag d;
  diag_init(&d);
  int64_t big = (int64_t)1 << 31;
  uint32_t a = weight(g, "a", DIMS(big, big)), b = weight(g, "b", DIMS(big, big));
  uint32_t y = act(g, "y", DIMS(big, big));
  uint32_t n = ir_add_node(g, OP_MATMUL, "huge", (uint32_t[]){a, b}, 2, &y, 1, &d);
  NodeWork w = ir_node_work(g, n);
  CU_ASSERT_EQUAL(w.macs, INT64_MAX);
  CU_ASSERT_EQUAL(w.gemm.m, big);
  CU_ASSERT_EQUAL(w.params, INT64_MAX); /* 2^62 + 2^62 */
  uint32_t u = act(g, "u", NULL, -1), y2 = act(g, "y2", NULL, -1);
  n = ir_add_node(g, OP_CONV, "unknown", (uint32_t[]){u, a}, 2, &y2, 1, &d);
  w = ir_node_work(g, n);
  CU_ASSERT(w.macs == 0 && w.ops == 0 && w.gemm.g == 0);
  n = ir_add_node(g, OP_EINSUM, "einsum_unknown", (uint32_t[]){u, a}, 2, &y2, 1, &d);
  ir_set_attr_string(g, n, "equation", "ij,jk");
  CU_ASSERT_EQUAL(ir_node_work(g, n).macs, 0);
  ir_graph_free(g);
}

/* Absurd attribute values on every windowed op: each node either infers a shape or fails
 * naming itself; nothing crashes (run under ASan/UBSan). */
static void test_absurd_values(void) {
  static const int64_t vals[] = {INT64_MIN,     -3,       -1, 0, 1, 2, 3, 7, (int64_t)1 << 40,
                                 INT64_MAX - 1, INT64_MAX};
  static const char *attrs[] = {"strides",      "pads",           "dilations",
                                "kernel_shape", "output_padding", "output_shape"};
  static const OpKind ops[] = {OP_CONV, OP_CONV_TRANSPOSE, OP_MAX_POOL, OP_AVERAGE_POOL};
  const int nv = (int)(sizeof vals / sizeof *vals);
  Graph *g = graph(13);
  uint32_t x = act(g, "x", DIMS(1, 4, 6, 6)), w = weight(g, "w", DIMS(4, 4, 3, 3));
  int made = 0, ok = 0;
  for (int o = 0; o < 4; o++) {
    for (int a = 0; a < 6; a++) {
      for (int i = 0; i < nv; i++) {
        char name[64];
        snprintf(name, sizeof name, "absurd_%d_%d_%d", o, a, i);
        uint32_t n = node(g, ops[o], name, (uint32_t[]){x, w}, o < 2 ? 2 : 1, 1);
        if (o >= 2) set_ints(g, n, "kernel_shape", DIMS(2, 2));
        int cnt = strcmp(attrs[a], "pads") == 0 ? 4 : 2;
        int64_t v[4] = {vals[i], 1, vals[i], 1};
        set_ints(g, n, attrs[a], v, cnt);
        ir_set_attr_int(g, n, "ceil_mode", i & 1);
        Diag d;
        diag_init(&d);
        XdlStatus st = ir_infer_node(g, n, &d);
        made++;
        if (st == XDL_OK) {
          ok++;
          const Tensor *t = out(g, n, 0);
          CU_ASSERT_EQUAL(t->rank, 4);
          for (int k = 0; k < t->rank; k++)
            CU_ASSERT(t->dims[k] >= 0);
          (void)ir_node_work(g, n);
        } else {
          char want[96];
          snprintf(want, sizeof want, "node '%s'", name);
          CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, want));
        }
      }
    }
  }
  CU_ASSERT(ok > 0 && ok < made);
  /* group values too */
  for (int i = 0; i < nv; i++) {
    char name[64];
    snprintf(name, sizeof name, "absurd_group_%d", i);
    uint32_t n = node(g, i & 1 ? OP_CONV : OP_CONV_TRANSPOSE, name, (uint32_t[]){x, w}, 2, 1);
    ir_set_attr_int(g, n, "group", vals[i]);
    Diag d;
    diag_init(&d);
    if (ir_infer_node(g, n, &d) != XDL_OK) CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, name));
    (void)ir_node_work(g, n);
  }
  ir_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"conv: ONNX spec cases, auto_pad, dilations, 1-D/3-D", test_conv_spec_cases},
    {"conv: grouped and depthwise (MobileNetV2 oracle)", test_conv_grouped},
    {"conv + gemm: AlexNet oracle", test_alexnet_oracle},
    {"conv: absurd attributes and mismatches", test_conv_errors},
    {"conv_transpose: output_padding, output_shape, pads, SAME, groups", test_conv_transpose},
    {"gemm: transA/transB, bias broadcast", test_gemm},
    {"matmul: broadcasting, 1-D operands, CapsNet votes oracle", test_matmul},
    {"einsum: explicit/implicit, ellipsis, mulsum oracle", test_einsum},
    {"batch_norm: opset 6/13/15, 1/3/5 outputs", test_batch_norm},
    {"layer_norm: axis, Mean/InvStdDev", test_layer_norm},
    {"same_as_input: LRN, InstanceNorm", test_same_as_input},
    {"pool: auto_pad, ceil_mode, dilations, Indices", test_pool},
    {"global_pool", test_global_pool},
    {"softmax: axis default by opset", test_softmax},
    {"reduce: axes attribute vs input by opset", test_reduce},
    {"arg_reduce", test_arg_reduce},
    {"reduce: folding known integer values", test_reduce_fold},
    {"work: vector ops", test_work_vector},
    {"work: saturation, unknown shapes", test_work_saturation},
    {"absurd values never crash", test_absurd_values},
    CU_TEST_INFO_NULL,
};

int main(void) {
  return tu_run_suite("shape_nn", tests);
}
