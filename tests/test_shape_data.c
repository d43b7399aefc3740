/* test_shape_data.c — unit tests of the elementwise and data-movement shape rules
 * (ir/shape_elem.c, ir/shape_data.c) and their value folding (ir/fold.c): tiny graphs built in
 * C, one rule or one PyTorch-style shape chain at a time, plus malformed nodes that must fail
 * with a message naming the node. */
#include "ir/ir.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

/* ---- helpers: one graph per test ---- */
static Graph *G;
static Diag D;

#define DIMS(...)  ((const int64_t[]){__VA_ARGS__})
#define NARGS(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define IDS(...)   ((const uint32_t[]){__VA_ARGS__}), NARGS(__VA_ARGS__)
#define NONE       IR_NONE

static void begin(int64_t opset) {
  G = ir_graph_new();
  G->opset = opset;
  diag_init(&D);
}

static void end(void) {
  ir_graph_free(G);
  G = NULL;
}

/* A graph input of the given type and shape. */
static uint32_t in_t(const char *name, DataType dt, int rank, const int64_t *dims) {
  return ir_add_tensor(G, name, dt, ROLE_INPUT, rank, dims, &D);
}

/* A constant with known values: int64 (ivals) or float (fvals). */
static uint32_t const_i(const char *name, int rank, const int64_t *dims, const int64_t *vals) {
  uint32_t t = ir_add_tensor(G, name, DT_INT64, ROLE_CONST, rank, dims, &D);
  ir_set_ivals(G, t, vals, ir_numel(&G->tensors[t]));
  return t;
}

static uint32_t const_f(const char *name, DataType dt, int rank, const int64_t *dims,
                        const double *vals) {
  uint32_t t = ir_add_tensor(G, name, dt, ROLE_CONST, rank, dims, &D);
  ir_set_fvals(G, t, vals, ir_numel(&G->tensors[t]));
  return t;
}

static uint32_t scalar_i(const char *name, int64_t v) {
  return const_i(name, 0, NULL, &v);
}
static uint32_t vec_i(const char *name, int count, const int64_t *vals) {
  int64_t dim = count;
  return const_i(name, 1, &dim, vals);
}

static uint32_t out_t(const char *name) {
  return ir_add_tensor(G, name, DT_UNDEFINED, ROLE_ACTIVATION, -1, NULL, &D);
}

static uint32_t node(OpKind op, const char *name, const uint32_t *ins, int ni, const uint32_t *outs,
                     int no) {
  return ir_add_node(G, op, name, ins, ni, outs, no, &D);
}

static Tensor *T(uint32_t t) {
  return &G->tensors[t];
}

static bool infer_ok(void) {
  XdlStatus st = ir_infer_shapes(G, &D);
  if (st != XDL_OK) fprintf(stderr, "\n  unexpected error: %s\n", D.msg);
  return st == XDL_OK;
}

/* Inference must fail with a message naming node `name` and containing `needle`. */
static void expect_fail(const char *name, const char *needle) {
  XdlStatus st = ir_infer_shapes(G, &D);
  CU_ASSERT_EQUAL(st, XDL_ERR_INPUT);
  char want[128];
  snprintf(want, sizeof want, "node '%s'", name);
  CU_ASSERT_PTR_NOT_NULL(strstr(D.msg, want));
  CU_ASSERT_PTR_NOT_NULL(strstr(D.msg, needle));
  if (!strstr(D.msg, want) || !strstr(D.msg, needle))
    fprintf(stderr, "\n  message was: %s (wanted %s / %s)\n", D.msg, want, needle);
}

static bool shape_is(uint32_t t, DataType dt, int rank, const int64_t *dims) {
  const Tensor *x = T(t);
  if (x->dtype != dt || x->rank != rank) goto bad;
  for (int k = 0; k < rank; k++)
    if (x->dims[k] != dims[k]) goto bad;
  return true;
bad : {
  char buf[128];
  fprintf(stderr, "\n  %s is %s\n", x->name, ir_format_type(x, buf, sizeof buf));
  return false;
}
}
#define SHAPE(t, dt, ...) CU_ASSERT(shape_is(t, dt, NARGS(__VA_ARGS__), DIMS(__VA_ARGS__)))
#define SCALAR(t, dt)     CU_ASSERT(shape_is(t, dt, 0, NULL))

static bool ivals_are(uint32_t t, int count, const int64_t *vals) {
  const Tensor *x = T(t);
  if (!x->ivals || ir_numel(x) != count) return false;
  for (int k = 0; k < count; k++)
    if (x->ivals[k] != vals[k]) {
      fprintf(stderr, "\n  %s[%d] = %lld, want %lld\n", x->name, k, (long long)x->ivals[k],
              (long long)vals[k]);
      return false;
    }
  return true;
}
#define IVALS(t, ...) CU_ASSERT(ivals_are(t, NARGS(__VA_ARGS__), DIMS(__VA_ARGS__)))

static bool fvals_are(uint32_t t, int count, const double *vals) {
  const Tensor *x = T(t);
  if (!x->fvals || ir_numel(x) != count) return false;
  for (int k = 0; k < count; k++)
    if (fabs(x->fvals[k] - vals[k]) > 1e-6 * (1 + fabs(vals[k]))) {
      fprintf(stderr, "\n  %s[%d] = %g, want %g\n", x->name, k, x->fvals[k], vals[k]);
      return false;
    }
  return true;
}
#define FVALS(t, ...)                                                                              \
  CU_ASSERT(fvals_are(t, (int)(sizeof((double[]){__VA_ARGS__}) / sizeof(double)),                  \
                      (const double[]){__VA_ARGS__}))

/* ---- elementwise ---- */

static void test_unary(void) {
  begin(17);
  uint32_t x = in_t("x", DT_FLOAT, 3, DIMS(2, 3, 4)), y = out_t("y");
  node(OP_RELU, "relu", IDS(x), IDS(y));
  uint32_t v = vec_i("v", 3, DIMS(-3, 0, 5)), neg = out_t("neg"), ab = out_t("abs");
  node(OP_NEG, "neg", IDS(v), IDS(neg));
  node(OP_ABS, "abs", IDS(neg), IDS(ab));
  uint32_t lo = scalar_i("lo", -1), hi = scalar_i("hi", 2), cl = out_t("cl");
  node(OP_CLIP, "clip", IDS(v, lo, hi), IDS(cl));
  uint32_t f = const_f("f", DT_FLOAT, 1, DIMS(2), (const double[]){4.0, 9.0}), sq = out_t("sq");
  node(OP_SQRT, "sqrt", IDS(f), IDS(sq));
  uint32_t cl2 = out_t("cl2");
  node(OP_CLIP, "clip_max_only", IDS(v, NONE, hi), IDS(cl2));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y, DT_FLOAT, 2, 3, 4);
  CU_ASSERT_PTR_NULL(T(y)->fvals);
  IVALS(neg, 3, 0, -5);
  IVALS(ab, 3, 0, 5);
  IVALS(cl, -1, 0, 2);
  IVALS(cl2, -3, 0, 2);
  FVALS(sq, 2.0, 3.0);
  end();
}

static void test_clip_old_and_bad(void) {
  begin(6);
  uint32_t f = const_f("f", DT_FLOAT, 1, DIMS(3), (const double[]){-2, 0.5, 7}), y = out_t("y");
  uint32_t c = node(OP_CLIP, "clip6", IDS(f), IDS(y));
  ir_set_attr_float(G, c, "min", -1.0);
  ir_set_attr_float(G, c, "max", 1.0);
  CU_ASSERT_FATAL(infer_ok());
  FVALS(y, -1.0, 0.5, 1.0);
  end();

  begin(13);
  f = in_t("f", DT_FLOAT, 1, DIMS(3));
  uint32_t lo = vec_i("lo", 2, DIMS(0, 1));
  y = out_t("y");
  node(OP_CLIP, "badclip", IDS(f, lo), IDS(y));
  expect_fail("badclip", "scalar");
  end();
}

static void test_cast(void) {
  begin(17);
  uint32_t v = vec_i("v", 3, DIMS(-2, 0, 300));
  uint32_t f = const_f("f", DT_FLOAT, 1, DIMS(3), (const double[]){-2.7, 0.0, 2.5});
  uint32_t a = out_t("a"), b = out_t("b"), c = out_t("c"), e = out_t("e");
  ir_set_attr_int(G, node(OP_CAST, "tofloat", IDS(v), IDS(a)), "to", DT_FLOAT);
  ir_set_attr_int(G, node(OP_CAST, "toint", IDS(f), IDS(b)), "to", DT_INT64);
  ir_set_attr_int(G, node(OP_CAST, "tobool", IDS(f), IDS(c)), "to", DT_BOOL);
  ir_set_attr_int(G, node(OP_CAST, "toi8", IDS(v), IDS(e)), "to", DT_INT8);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_FLOAT, 3);
  FVALS(a, -2.0, 0.0, 300.0);
  SHAPE(b, DT_INT64, 3);
  IVALS(b, -2, 0, 2); /* truncation toward zero */
  SHAPE(c, DT_BOOL, 3);
  IVALS(c, 1, 0, 1);
  IVALS(e, -2, 0, 44); /* 300 wraps to 44 in int8 */
  end();

  begin(1); /* opset 1 named the type */
  v = in_t("v", DT_FLOAT, 1, DIMS(4));
  a = out_t("a");
  ir_set_attr_string(G, node(OP_CAST, "cast1", IDS(v), IDS(a)), "to", "INT32");
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_INT32, 4);
  end();

  begin(17);
  v = in_t("v", DT_FLOAT, 1, DIMS(4));
  a = out_t("a");
  node(OP_CAST, "noto", IDS(v), IDS(a));
  expect_fail("noto", "'to'");
  end();

  begin(17);
  v = in_t("v", DT_FLOAT, 1, DIMS(4));
  a = out_t("a");
  ir_set_attr_int(G, node(OP_CAST, "badto", IDS(v), IDS(a)), "to", 99);
  expect_fail("badto", "unsupported element type 99");
  end();
}

static void test_broadcast(void) {
  begin(17);
  uint32_t x = in_t("x", DT_FLOAT, 3, DIMS(2, 1, 4)), w = in_t("w", DT_FLOAT, 2, DIMS(3, 1));
  uint32_t y = out_t("y");
  node(OP_ADD, "add", IDS(x, w), IDS(y));
  uint32_t a = vec_i("a", 3, DIMS(7, -7, 6)), two = scalar_i("two", 2);
  uint32_t s = out_t("s"), m = out_t("m"), q = out_t("q"), p = out_t("p"), mx = out_t("mx");
  uint32_t df = out_t("df");
  node(OP_SUB, "sub", IDS(a, two), IDS(s));
  node(OP_MUL, "mul", IDS(a, two), IDS(m));
  node(OP_DIV, "div", IDS(a, two), IDS(q));
  node(OP_POW, "pow", IDS(a, two), IDS(p));
  node(OP_MAX, "max", IDS(a, two, s), IDS(mx));
  uint32_t fa = const_f("fa", DT_FLOAT, 1, DIMS(2), (const double[]){1.0, 3.0});
  uint32_t fb = const_f("fb", DT_FLOAT, 0, NULL, (const double[]){2.0});
  uint32_t mean = out_t("mean");
  node(OP_DIV, "fdiv", IDS(fa, fb), IDS(df));
  node(OP_MEAN, "mean", IDS(fa, fb, fb), IDS(mean));
  uint32_t zero = scalar_i("zero", 0), dz = out_t("dz");
  node(OP_DIV, "divzero", IDS(a, zero), IDS(dz));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y, DT_FLOAT, 2, 3, 4);
  SHAPE(s, DT_INT64, 3);
  IVALS(s, 5, -9, 4);
  IVALS(m, 14, -14, 12);
  IVALS(q, 3, -3, 3); /* integer Div truncates toward zero */
  IVALS(p, 49, 49, 36);
  IVALS(mx, 7, 2, 6);
  FVALS(df, 0.5, 1.5);
  FVALS(mean, 5.0 / 3, 7.0 / 3);
  SHAPE(dz, DT_INT64, 3);
  CU_ASSERT_PTR_NULL(T(dz)->ivals); /* division by zero leaves values unknown */
  end();
}

static void test_prelu(void) {
  begin(6); /* before opset 7 a [C] slope applied per channel */
  uint32_t x = in_t("x", DT_FLOAT, 3, DIMS(2, 3, 4)), s = in_t("s", DT_FLOAT, 1, DIMS(3));
  uint32_t y = out_t("y");
  node(OP_PRELU, "prelu6", IDS(x, s), IDS(y));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y, DT_FLOAT, 2, 3, 4);
  end();

  begin(9);
  x = in_t("x", DT_FLOAT, 3, DIMS(2, 3, 4));
  s = in_t("s", DT_FLOAT, 1, DIMS(3));
  y = out_t("y");
  node(OP_PRELU, "prelu9", IDS(x, s), IDS(y));
  expect_fail("prelu9", "broadcast");
  end();

  begin(9);
  uint32_t v = const_f("v", DT_FLOAT, 1, DIMS(2), (const double[]){-2.0, 3.0});
  s = const_f("s", DT_FLOAT, 0, NULL, (const double[]){0.5});
  y = out_t("y");
  node(OP_PRELU, "preluv", IDS(v, s), IDS(y));
  CU_ASSERT_FATAL(infer_ok());
  FVALS(y, -1.0, 3.0);
  end();
}

static void test_broadcast_errors(void) {
  begin(17);
  uint32_t x = in_t("x", DT_FLOAT, 2, DIMS(2, 3)), w = in_t("w", DT_FLOAT, 1, DIMS(4));
  uint32_t y = out_t("y");
  node(OP_MUL, "badmul", IDS(x, w), IDS(y));
  expect_fail("badmul", "broadcast");
  end();

  begin(17);
  x = in_t("x", DT_FLOAT, 1, DIMS(3));
  w = in_t("w", DT_INT64, 1, DIMS(3));
  y = out_t("y");
  node(OP_ADD, "mixed", IDS(x, w), IDS(y));
  expect_fail("mixed", "element type");
  end();

  begin(17);
  x = in_t("x", DT_FLOAT, 1, DIMS(3));
  y = out_t("y");
  node(OP_SUB, "oneinput", IDS(x), IDS(y));
  expect_fail("oneinput", "expects 2 inputs");
  end();

  begin(17);
  uint32_t big = scalar_i("big", INT64_MAX), two = scalar_i("two", 2);
  y = out_t("y");
  uint32_t z = out_t("z"), mn = scalar_i("mn", INT64_MIN), m1 = scalar_i("m1", -1), q = out_t("q");
  node(OP_MUL, "overflow", IDS(big, two), IDS(y));
  node(OP_NEG, "negmin", IDS(mn), IDS(z));
  node(OP_DIV, "divmin", IDS(mn, m1), IDS(q));
  CU_ASSERT_FATAL(infer_ok()); /* overflow only leaves the values unknown */
  CU_ASSERT_PTR_NULL(T(y)->ivals);
  CU_ASSERT_PTR_NULL(T(z)->ivals);
  CU_ASSERT_PTR_NULL(T(q)->ivals);
  end();
}

static void test_compare_where(void) {
  begin(17);
  uint32_t a = vec_i("a", 4, DIMS(1, 0, 3, 0)), zero = scalar_i("zero", 0);
  uint32_t eq = out_t("eq"), lt = out_t("lt"), gt = out_t("gt");
  node(OP_EQUAL, "eq", IDS(a, zero), IDS(eq));
  node(OP_LESS, "lt", IDS(a, zero), IDS(lt));
  node(OP_GREATER, "gt", IDS(a, zero), IDS(gt));
  uint32_t ones = vec_i("ones", 4, DIMS(1, 1, 1, 1)), w = out_t("w");
  node(OP_WHERE, "where", IDS(eq, ones, a), IDS(w));
  uint32_t fa = const_f("fa", DT_FLOAT, 1, DIMS(2), (const double[]){NAN, 1.0}), fl = out_t("fl");
  uint32_t fz = const_f("fz", DT_FLOAT, 0, NULL, (const double[]){1.0});
  node(OP_LESS, "fless", IDS(fa, fz), IDS(fl));
  uint32_t c = in_t("c", DT_BOOL, 2, DIMS(3, 1)), x = in_t("x", DT_FLOAT, 1, DIMS(5));
  uint32_t yv = in_t("yv", DT_FLOAT, 3, DIMS(2, 1, 1)), w3 = out_t("w3");
  node(OP_WHERE, "where3", IDS(c, x, yv), IDS(w3));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(eq, DT_BOOL, 4);
  IVALS(eq, 0, 1, 0, 1);
  IVALS(lt, 0, 0, 0, 0);
  IVALS(gt, 1, 0, 1, 0);
  SHAPE(w, DT_INT64, 4);
  IVALS(w, 1, 1, 3, 1);
  IVALS(fl, 0, 0);
  SHAPE(w3, DT_FLOAT, 2, 3, 5);
  end();

  begin(17);
  c = in_t("c", DT_FLOAT, 1, DIMS(3));
  x = in_t("x", DT_FLOAT, 1, DIMS(3));
  w = out_t("w");
  node(OP_WHERE, "badcond", IDS(c, x, x), IDS(w));
  expect_fail("badcond", "not bool");
  end();
}

/* ---- reshapes ---- */

static void test_reshape(void) {
  begin(17);
  uint32_t x = in_t("x", DT_FLOAT, 4, DIMS(2, 3, 4, 5));
  uint32_t s1 = vec_i("s1", 3, DIMS(0, -1, 5)), y1 = out_t("y1");
  node(OP_RESHAPE, "r1", IDS(x, s1), IDS(y1));
  uint32_t z = in_t("z", DT_FLOAT, 3, DIMS(0, 3, 4)), s2 = vec_i("s2", 3, DIMS(3, 4, 0));
  uint32_t y2 = out_t("y2");
  ir_set_attr_int(G, node(OP_RESHAPE, "r2", IDS(z, s2), IDS(y2)), "allowzero", 1);
  uint32_t v = vec_i("v", 6, DIMS(1, 2, 3, 4, 5, 6)), s3 = vec_i("s3", 2, DIMS(-1, 2));
  uint32_t y3 = out_t("y3");
  node(OP_RESHAPE, "r3", IDS(v, s3), IDS(y3));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y1, DT_FLOAT, 2, 12, 5);
  SHAPE(y2, DT_FLOAT, 3, 4, 0);
  SHAPE(y3, DT_INT64, 3, 2);
  IVALS(y3, 1, 2, 3, 4, 5, 6);
  end();

  begin(4); /* shape as an attribute */
  x = in_t("x", DT_FLOAT, 2, DIMS(6, 4));
  y1 = out_t("y1");
  ir_set_attr_ints(G, node(OP_RESHAPE, "r4", IDS(x), IDS(y1)), "shape", DIMS(3, -1), 2);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y1, DT_FLOAT, 3, 8);
  end();

  struct {
    const int64_t *shape;
    int n;
    const char *msg;
  } bad[] = {
      {DIMS(5, -1), 2, "cannot reshape"},
      {DIMS(-1, -1), 2, "more than one -1"},
      {DIMS(7, 2), 2, "cannot reshape 24 elements into 14"},
      {DIMS(-2, 12), 2, "entry 0 is -2"},
      {DIMS(0, 0, 0, 24), 4, "entry 2 is 0"},
      {DIMS(INT64_MAX, 4), 2, "64 bits"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    begin(17);
    x = in_t("x", DT_FLOAT, 2, DIMS(2, 12));
    int64_t len = bad[i].n;
    uint32_t s = const_i("s", 1, &len, bad[i].shape);
    y1 = out_t("y");
    node(OP_RESHAPE, "badreshape", IDS(x, s), IDS(y1));
    expect_fail("badreshape", bad[i].msg);
    end();
  }

  begin(17); /* a shape input whose values are unknown */
  x = in_t("x", DT_FLOAT, 2, DIMS(2, 12));
  uint32_t s = in_t("s", DT_INT64, 1, DIMS(2));
  y1 = out_t("y");
  node(OP_RESHAPE, "dynreshape", IDS(x, s), IDS(y1));
  expect_fail("dynreshape", "must be known at import time");
  end();
}

static void test_flatten_transpose(void) {
  begin(17);
  uint32_t x = in_t("x", DT_FLOAT, 4, DIMS(2, 3, 4, 5));
  uint32_t f0 = out_t("f0"), f1 = out_t("f1"), fn = out_t("fn"), t0 = out_t("t0"), t1 = out_t("t1");
  ir_set_attr_int(G, node(OP_FLATTEN, "f0", IDS(x), IDS(f0)), "axis", 0);
  node(OP_FLATTEN, "f1", IDS(x), IDS(f1));
  ir_set_attr_int(G, node(OP_FLATTEN, "fn", IDS(x), IDS(fn)), "axis", -1);
  node(OP_TRANSPOSE, "t0", IDS(x), IDS(t0));
  ir_set_attr_ints(G, node(OP_TRANSPOSE, "t1", IDS(x), IDS(t1)), "perm", DIMS(0, 2, 3, 1), 4);
  uint32_t m = const_i("m", 2, DIMS(2, 3), DIMS(1, 2, 3, 4, 5, 6)), mt = out_t("mt");
  node(OP_TRANSPOSE, "mt", IDS(m), IDS(mt));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(f0, DT_FLOAT, 1, 120);
  SHAPE(f1, DT_FLOAT, 2, 60);
  SHAPE(fn, DT_FLOAT, 24, 5);
  SHAPE(t0, DT_FLOAT, 5, 4, 3, 2);
  SHAPE(t1, DT_FLOAT, 2, 4, 5, 3);
  SHAPE(mt, DT_INT64, 3, 2);
  IVALS(mt, 1, 4, 2, 5, 3, 6);
  end();

  begin(10); /* negative Flatten axis arrived in opset 11 */
  x = in_t("x", DT_FLOAT, 2, DIMS(2, 3));
  f0 = out_t("f0");
  ir_set_attr_int(G, node(OP_FLATTEN, "negflat", IDS(x), IDS(f0)), "axis", -1);
  expect_fail("negflat", "out of range");
  end();

  begin(17);
  x = in_t("x", DT_FLOAT, 3, DIMS(2, 3, 4));
  t0 = out_t("t0");
  ir_set_attr_ints(G, node(OP_TRANSPOSE, "badperm", IDS(x), IDS(t0)), "perm", DIMS(0, 2, 2), 3);
  expect_fail("badperm", "not a permutation");
  end();

  begin(17);
  x = in_t("x", DT_FLOAT, 3, DIMS(2, 3, 4));
  t0 = out_t("t0");
  ir_set_attr_ints(G, node(OP_TRANSPOSE, "shortperm", IDS(x), IDS(t0)), "perm", DIMS(1, 0), 2);
  expect_fail("shortperm", "2 entries for rank 3");
  end();
}

static void test_squeeze_unsqueeze(void) {
  begin(11);
  uint32_t x = in_t("x", DT_FLOAT, 4, DIMS(1, 3, 1, 5));
  uint32_t a = out_t("a"), b = out_t("b"), c = out_t("c");
  node(OP_SQUEEZE, "sq_all", IDS(x), IDS(a));
  ir_set_attr_ints(G, node(OP_SQUEEZE, "sq_attr", IDS(x), IDS(b)), "axes", DIMS(-2), 1);
  ir_set_attr_ints(G, node(OP_UNSQUEEZE, "usq_attr", IDS(x), IDS(c)), "axes", DIMS(0, -1), 2);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_FLOAT, 3, 5);
  SHAPE(b, DT_FLOAT, 1, 3, 5);
  SHAPE(c, DT_FLOAT, 1, 1, 3, 1, 5, 1);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  uint32_t ax = vec_i("ax", 3, DIMS(3, 1, 0)), s = scalar_i("s", 42);
  a = out_t("a");
  b = out_t("b");
  c = out_t("c");
  node(OP_UNSQUEEZE, "usq", IDS(x, ax), IDS(a));
  node(OP_UNSQUEEZE, "usq_val", IDS(s, vec_i("z", 1, DIMS(0))), IDS(b));
  node(OP_SQUEEZE, "sq_val", IDS(b, vec_i("z2", 1, DIMS(0))), IDS(c));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_FLOAT, 1, 1, 3, 1, 4);
  SHAPE(b, DT_INT64, 1);
  IVALS(b, 42);
  SCALAR(c, DT_INT64);
  IVALS(c, 42);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  a = out_t("a");
  node(OP_SQUEEZE, "badsq", IDS(x, vec_i("ax", 1, DIMS(1))), IDS(a));
  expect_fail("badsq", "cannot squeeze axis 1 of size 4");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  a = out_t("a");
  node(OP_UNSQUEEZE, "badusq", IDS(x, vec_i("ax", 2, DIMS(1, -3))), IDS(a));
  expect_fail("badusq", "repeated");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  a = out_t("a");
  node(OP_UNSQUEEZE, "noaxes", IDS(x), IDS(a));
  expect_fail("noaxes", "missing 'axes'");
  end();
}

/* ---- Concat, Split, Slice ---- */

static void test_concat(void) {
  begin(17);
  uint32_t a = in_t("a", DT_FLOAT, 3, DIMS(2, 3, 4)), b = in_t("b", DT_FLOAT, 3, DIMS(2, 5, 4));
  uint32_t y = out_t("y");
  ir_set_attr_int(G, node(OP_CONCAT, "cat", IDS(a, b), IDS(y)), "axis", -2);
  uint32_t p = vec_i("p", 2, DIMS(1, 2)), q = vec_i("q", 0, NULL), r = vec_i("r", 1, DIMS(3));
  uint32_t v = out_t("v");
  ir_set_attr_int(G, node(OP_CONCAT, "catv", IDS(p, q, r), IDS(v)), "axis", 0);
  uint32_t m = const_i("m", 2, DIMS(2, 1), DIMS(1, 2)),
           n2 = const_i("n", 2, DIMS(2, 2), DIMS(3, 4, 5, 6));
  uint32_t mv = out_t("mv");
  ir_set_attr_int(G, node(OP_CONCAT, "cat2d", IDS(m, n2), IDS(mv)), "axis", 1);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y, DT_FLOAT, 2, 8, 4);
  SHAPE(v, DT_INT64, 3);
  IVALS(v, 1, 2, 3);
  IVALS(mv, 1, 3, 4, 2, 5, 6);
  end();

  begin(17);
  a = in_t("a", DT_FLOAT, 2, DIMS(2, 3));
  b = in_t("b", DT_FLOAT, 2, DIMS(3, 3));
  y = out_t("y");
  ir_set_attr_int(G, node(OP_CONCAT, "badcat", IDS(a, b), IDS(y)), "axis", 1);
  expect_fail("badcat", "input 1 has dim 3 at axis 0");
  end();

  begin(17);
  a = in_t("a", DT_FLOAT, 2, DIMS(2, 3));
  y = out_t("y");
  node(OP_CONCAT, "noaxis", IDS(a, a), IDS(y));
  expect_fail("noaxis", "'axis' is missing");
  end();

  begin(17);
  a = in_t("a", DT_FLOAT, 2, DIMS(2, 3));
  y = out_t("y");
  ir_set_attr_int(G, node(OP_CONCAT, "farcat", IDS(a, a), IDS(y)), "axis", 2);
  expect_fail("farcat", "axis 2 is out of range");
  end();
}

static void test_split(void) {
  begin(11); /* split as an attribute */
  uint32_t x = in_t("x", DT_FLOAT, 2, DIMS(6, 4));
  uint32_t a = out_t("a"), b = out_t("b"), c = out_t("c");
  ir_set_attr_ints(G, node(OP_SPLIT, "sp", IDS(x), IDS(a, b)), "split", DIMS(2, 4), 2);
  uint32_t e = out_t("e"), f = out_t("f");
  ir_set_attr_int(G, node(OP_SPLIT, "eq", IDS(x), IDS(c, e, f)), "axis", 0);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_FLOAT, 2, 4);
  SHAPE(b, DT_FLOAT, 4, 4);
  SHAPE(c, DT_FLOAT, 2, 4);
  SHAPE(f, DT_FLOAT, 2, 4);
  end();

  begin(13); /* split as input 1, with values folded */
  uint32_t v = vec_i("v", 5, DIMS(1, 2, 3, 4, 5));
  a = out_t("a");
  b = out_t("b");
  c = out_t("c");
  node(OP_SPLIT, "spv", IDS(v, vec_i("s", 3, DIMS(2, 0, 3))), IDS(a, b, c));
  CU_ASSERT_FATAL(infer_ok());
  IVALS(a, 1, 2);
  SHAPE(b, DT_INT64, 0);
  IVALS(c, 3, 4, 5);
  end();

  begin(18); /* num_outputs: ceil-sized parts, the last smaller */
  x = in_t("x", DT_FLOAT, 1, DIMS(7));
  a = out_t("a");
  b = out_t("b");
  c = out_t("c");
  e = out_t("e");
  ir_set_attr_int(G, node(OP_SPLIT, "num", IDS(x), IDS(a, b, c, e)), "num_outputs", 4);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_FLOAT, 2);
  SHAPE(c, DT_FLOAT, 2);
  SHAPE(e, DT_FLOAT, 1);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 1, DIMS(7));
  a = out_t("a");
  b = out_t("b");
  node(OP_SPLIT, "badsum", IDS(x, vec_i("s", 2, DIMS(3, 3))), IDS(a, b));
  expect_fail("badsum", "sums to 6");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 1, DIMS(7));
  a = out_t("a");
  b = out_t("b");
  node(OP_SPLIT, "uneven", IDS(x), IDS(a, b));
  expect_fail("uneven", "equal parts");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 1, DIMS(7));
  a = out_t("a");
  b = out_t("b");
  node(OP_SPLIT, "negsplit", IDS(x, vec_i("s", 2, DIMS(-1, 8))), IDS(a, b));
  expect_fail("negsplit", "entry 0 is -1");
  end();
}

static void test_slice(void) {
  begin(9); /* attribute form */
  uint32_t x = in_t("x", DT_FLOAT, 3, DIMS(20, 10, 5)), y = out_t("y");
  uint32_t s = node(OP_SLICE, "s9", IDS(x), IDS(y));
  ir_set_attr_ints(G, s, "starts", DIMS(0, 1), 2);
  ir_set_attr_ints(G, s, "ends", DIMS(3, 1000), 2);
  ir_set_attr_ints(G, s, "axes", DIMS(0, 1), 2);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y, DT_FLOAT, 3, 9, 5);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 3, DIMS(20, 10, 5));
  uint32_t y1 = out_t("y1"), y2 = out_t("y2"), y3 = out_t("y3"), y4 = out_t("y4");
  /* negative step over the whole axis: starts -1, ends INT64_MIN */
  node(OP_SLICE, "rev",
       IDS(x, vec_i("st", 1, DIMS(-1)), vec_i("en", 1, DIMS(INT64_MIN)), vec_i("ax", 1, DIMS(1)),
           vec_i("sp", 1, DIMS(-1))),
       IDS(y1));
  /* default axes and steps, out-of-bounds ends */
  node(OP_SLICE, "dflt",
       IDS(x, vec_i("st2", 3, DIMS(0, 0, 3)), vec_i("en2", 3, DIMS(20, 10, INT64_MAX))), IDS(y2));
  /* step 3 on a negative axis, start beyond the end */
  node(OP_SLICE, "step",
       IDS(x, vec_i("st3", 2, DIMS(1, 1000)), vec_i("en3", 2, DIMS(20, 1000)),
           vec_i("ax3", 2, DIMS(-3, -1)), vec_i("sp3", 2, DIMS(3, 1))),
       IDS(y3));
  uint32_t v = vec_i("v", 6, DIMS(10, 11, 12, 13, 14, 15));
  node(OP_SLICE, "sv",
       IDS(v, vec_i("st4", 1, DIMS(-2)), vec_i("en4", 1, DIMS(0)), NONE, vec_i("sp4", 1, DIMS(-2))),
       IDS(y4));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y1, DT_FLOAT, 20, 10, 5);
  SHAPE(y2, DT_FLOAT, 20, 10, 2);
  SHAPE(y3, DT_FLOAT, 7, 10, 0);
  SHAPE(y4, DT_INT64, 2);
  IVALS(y4, 14, 12);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 1, DIMS(5));
  y = out_t("y");
  node(OP_SLICE, "zerostep",
       IDS(x, vec_i("st", 1, DIMS(0)), vec_i("en", 1, DIMS(5)), vec_i("ax", 1, DIMS(0)),
           vec_i("sp", 1, DIMS(0))),
       IDS(y));
  expect_fail("zerostep", "step 0 is 0");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 1, DIMS(5));
  y = out_t("y");
  node(OP_SLICE, "badaxis",
       IDS(x, vec_i("st", 1, DIMS(0)), vec_i("en", 1, DIMS(5)), vec_i("ax", 1, DIMS(1))), IDS(y));
  expect_fail("badaxis", "axis 1 is out of range");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 1, DIMS(5));
  y = out_t("y");
  node(OP_SLICE, "mismatch", IDS(x, vec_i("st", 2, DIMS(0, 0)), vec_i("en", 1, DIMS(5))), IDS(y));
  expect_fail("mismatch", "'starts' has 2 entries, 'ends' 1");
  end();

  begin(13); /* INT64_MIN step must not overflow */
  x = in_t("x", DT_FLOAT, 1, DIMS(5));
  y = out_t("y");
  node(OP_SLICE, "minstep",
       IDS(x, vec_i("st", 1, DIMS(4)), vec_i("en", 1, DIMS(INT64_MIN)), vec_i("ax", 1, DIMS(0)),
           vec_i("sp", 1, DIMS(INT64_MIN))),
       IDS(y));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y, DT_FLOAT, 1);
  end();
}

/* ---- Gather ---- */

static void test_gather(void) {
  begin(13);
  uint32_t x = in_t("x", DT_FLOAT, 3, DIMS(5, 6, 7));
  uint32_t y0 = out_t("y0"), y1 = out_t("y1"), y2 = out_t("y2");
  node(OP_GATHER, "g0", IDS(x, scalar_i("i0", -1)), IDS(y0));
  ir_set_attr_int(
      G, node(OP_GATHER, "g1", IDS(x, const_i("i1", 2, DIMS(2, 2), DIMS(0, 1, 1, -6))), IDS(y1)),
      "axis", 1);
  uint32_t v = vec_i("v", 4, DIMS(10, 20, 30, 40));
  node(OP_GATHER, "gv", IDS(v, const_i("i2", 2, DIMS(2, 2), DIMS(3, 0, -1, 1))), IDS(y2));
  uint32_t m = const_i("m", 2, DIMS(2, 2), DIMS(1, 2, 3, 4)), ge = out_t("ge");
  ir_set_attr_int(G,
                  node(OP_GATHER_ELEMENTS, "gel",
                       IDS(m, const_i("gi", 2, DIMS(2, 2), DIMS(0, 0, 1, 0))), IDS(ge)),
                  "axis", 1);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(y0, DT_FLOAT, 6, 7);
  SHAPE(y1, DT_FLOAT, 5, 2, 2, 7);
  SHAPE(y2, DT_INT64, 2, 2);
  IVALS(y2, 40, 10, 40, 20);
  SHAPE(ge, DT_INT64, 2, 2);
  IVALS(ge, 1, 1, 4, 3);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(5, 6));
  y0 = out_t("y0");
  node(OP_GATHER, "oob", IDS(x, vec_i("i", 2, DIMS(1, 5))), IDS(y0));
  expect_fail("oob", "index 5 is out of range");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(5, 6));
  y0 = out_t("y0");
  ir_set_attr_int(G, node(OP_GATHER, "gaxis", IDS(x, scalar_i("i", 0)), IDS(y0)), "axis", -3);
  expect_fail("gaxis", "axis -3 is out of range");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(5, 6));
  y0 = out_t("y0");
  node(OP_GATHER_ELEMENTS, "gelrank", IDS(x, vec_i("i", 1, DIMS(0))), IDS(y0));
  expect_fail("gelrank", "indices have rank 1, data has 2");
  end();
}

/* ---- Expand, Tile, Pad ---- */

static void test_expand_tile_pad(void) {
  begin(13);
  uint32_t x = in_t("x", DT_FLOAT, 2, DIMS(3, 1)), e = out_t("e"), e2 = out_t("e2");
  node(OP_EXPAND, "ex", IDS(x, vec_i("s", 3, DIMS(2, 1, 6))), IDS(e));
  uint32_t v = vec_i("v", 2, DIMS(7, 8));
  node(OP_EXPAND, "exv", IDS(v, vec_i("s2", 2, DIMS(2, 1))), IDS(e2));
  uint32_t t = out_t("t"), tv = out_t("tv");
  node(OP_TILE, "tile", IDS(x, vec_i("r", 2, DIMS(2, 3))), IDS(t));
  node(OP_TILE, "tilev", IDS(v, vec_i("r2", 1, DIMS(2))), IDS(tv));
  uint32_t p = out_t("p"), pr = out_t("pr"), pe = out_t("pe");
  node(OP_PAD, "pad", IDS(x, vec_i("pads", 4, DIMS(1, 0, 2, -1))), IDS(p));
  uint32_t r = vec_i("row", 3, DIMS(1, 2, 3));
  ir_set_attr_string(G, node(OP_PAD, "reflect", IDS(r, vec_i("pads2", 2, DIMS(2, 2))), IDS(pr)),
                     "mode", "reflect");
  ir_set_attr_string(G, node(OP_PAD, "edge", IDS(r, vec_i("pads3", 2, DIMS(1, 2))), IDS(pe)),
                     "mode", "edge");
  uint32_t pc = out_t("pc");
  node(OP_PAD, "constpad", IDS(r, vec_i("pads4", 2, DIMS(1, 1)), scalar_i("cv", 9)), IDS(pc));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(e, DT_FLOAT, 2, 3, 6);
  SHAPE(e2, DT_INT64, 2, 2);
  IVALS(e2, 7, 8, 7, 8);
  SHAPE(t, DT_FLOAT, 6, 3);
  IVALS(tv, 7, 8, 7, 8);
  SHAPE(p, DT_FLOAT, 6, 0);
  IVALS(pr, 3, 2, 1, 2, 3, 2, 1);
  IVALS(pe, 1, 1, 2, 3, 3, 3);
  IVALS(pc, 9, 1, 2, 3, 9);
  end();

  begin(10); /* Pad attribute form with axes absent */
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  p = out_t("p");
  uint32_t pn = node(OP_PAD, "pad10", IDS(x), IDS(p));
  ir_set_attr_ints(G, pn, "pads", DIMS(0, 1, 0, 1), 4);
  ir_set_attr_float(G, pn, "value", 1.5);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(p, DT_FLOAT, 3, 6);
  end();

  begin(18); /* Pad with axes input (opset 18) */
  x = in_t("x", DT_FLOAT, 3, DIMS(3, 4, 5));
  p = out_t("p");
  node(OP_PAD, "pad18", IDS(x, vec_i("pads", 2, DIMS(1, 2)), NONE, vec_i("ax", 1, DIMS(-1))),
       IDS(p));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(p, DT_FLOAT, 3, 4, 8);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  e = out_t("e");
  node(OP_EXPAND, "badexpand", IDS(x, vec_i("s", 2, DIMS(2, 4))), IDS(e));
  expect_fail("badexpand", "broadcast");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  t = out_t("t");
  node(OP_TILE, "negtile", IDS(x, vec_i("r", 2, DIMS(1, -2))), IDS(t));
  expect_fail("negtile", "negative or overflows");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  t = out_t("t");
  node(OP_TILE, "hugetile", IDS(x, vec_i("r", 2, DIMS(INT64_MAX / 2, INT64_MAX / 2))), IDS(t));
  expect_fail("hugetile", "overflows");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  p = out_t("p");
  node(OP_PAD, "croppad", IDS(x, vec_i("pads", 4, DIMS(0, -5, 0, 0))), IDS(p));
  expect_fail("croppad", "below zero");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 2, DIMS(3, 4));
  p = out_t("p");
  ir_set_attr_string(G, node(OP_PAD, "badmode", IDS(x, vec_i("pads", 4, DIMS(0, 0, 0, 0))), IDS(p)),
                     "mode", "mirror");
  expect_fail("badmode", "unknown mode 'mirror'");
  end();
}

/* ---- small layout ops ---- */

static void test_identity_dropout_space(void) {
  begin(12);
  uint32_t v = vec_i("v", 2, DIMS(3, 4)), id = out_t("id");
  node(OP_IDENTITY, "id", IDS(v), IDS(id));
  uint32_t x = in_t("x", DT_FLOAT, 4, DIMS(1, 8, 2, 3)), dr = out_t("dr"), mask = out_t("mask");
  node(OP_DROPOUT, "drop", IDS(x, const_f("ratio", DT_FLOAT, 0, NULL, (const double[]){0.5})),
       IDS(dr, mask));
  uint32_t d2s = out_t("d2s"), s2d = out_t("s2d");
  uint32_t n1 = node(OP_DEPTH_TO_SPACE, "d2s", IDS(x), IDS(d2s));
  ir_set_attr_int(G, n1, "blocksize", 2);
  ir_set_attr_string(G, n1, "mode", "CRD");
  ir_set_attr_int(G, node(OP_SPACE_TO_DEPTH, "s2d", IDS(d2s), IDS(s2d)), "blocksize", 2);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(id, DT_INT64, 2);
  IVALS(id, 3, 4);
  SHAPE(dr, DT_FLOAT, 1, 8, 2, 3);
  SHAPE(mask, DT_BOOL, 1, 8, 2, 3);
  SHAPE(d2s, DT_FLOAT, 1, 2, 4, 6);
  SHAPE(s2d, DT_FLOAT, 1, 8, 2, 3);
  end();

  begin(12);
  x = in_t("x", DT_FLOAT, 4, DIMS(1, 6, 2, 3));
  d2s = out_t("d2s");
  ir_set_attr_int(G, node(OP_DEPTH_TO_SPACE, "badd2s", IDS(x), IDS(d2s)), "blocksize", 2);
  expect_fail("badd2s", "not divisible");
  end();

  begin(12);
  x = in_t("x", DT_FLOAT, 4, DIMS(1, 6, 2, 3));
  s2d = out_t("s2d");
  node(OP_SPACE_TO_DEPTH, "noblock", IDS(x), IDS(s2d));
  expect_fail("noblock", "'blocksize'");
  end();
}

static void test_one_hot(void) {
  begin(11);
  uint32_t ind = in_t("ind", DT_INT64, 2, DIMS(2, 3));
  uint32_t depth = const_f("depth", DT_FLOAT, 0, NULL, (const double[]){10.0});
  uint32_t vals = in_t("vals", DT_INT32, 1, DIMS(2));
  uint32_t a = out_t("a"), b = out_t("b");
  node(OP_ONE_HOT, "oh", IDS(ind, depth, vals), IDS(a));
  ir_set_attr_int(G, node(OP_ONE_HOT, "oh1", IDS(ind, vec_i("d1", 1, DIMS(4)), vals), IDS(b)),
                  "axis", 1);
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_INT32, 2, 3, 10);
  SHAPE(b, DT_INT32, 2, 4, 3);
  end();

  begin(11);
  ind = in_t("ind", DT_INT64, 1, DIMS(3));
  uint32_t dyn = in_t("dyn", DT_INT64, 0, NULL);
  vals = in_t("vals", DT_FLOAT, 1, DIMS(2));
  a = out_t("a");
  node(OP_ONE_HOT, "ohdyn", IDS(ind, dyn, vals), IDS(a));
  expect_fail("ohdyn", "must be known");
  end();

  begin(11);
  ind = in_t("ind", DT_INT64, 1, DIMS(3));
  vals = in_t("vals", DT_FLOAT, 1, DIMS(2));
  a = out_t("a");
  node(OP_ONE_HOT, "ohneg", IDS(ind, scalar_i("d", -4), vals), IDS(a));
  expect_fail("ohneg", "positive");
  end();
}

/* ---- shape and constant arithmetic ---- */

static void test_shape_size(void) {
  begin(15);
  uint32_t x = in_t("x", DT_FLOAT, 4, DIMS(2, 3, 4, 5));
  uint32_t s = out_t("s"), s1 = out_t("s1"), s2 = out_t("s2"), sz = out_t("sz");
  node(OP_SHAPE, "shape", IDS(x), IDS(s));
  uint32_t n1 = node(OP_SHAPE, "shape1", IDS(x), IDS(s1));
  ir_set_attr_int(G, n1, "start", 1);
  ir_set_attr_int(G, n1, "end", -1);
  uint32_t n2 = node(OP_SHAPE, "shape2", IDS(x), IDS(s2));
  ir_set_attr_int(G, n2, "start", -10);
  ir_set_attr_int(G, n2, "end", 100);
  node(OP_SIZE, "size", IDS(x), IDS(sz));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(s, DT_INT64, 4);
  IVALS(s, 2, 3, 4, 5);
  IVALS(s1, 3, 4);
  IVALS(s2, 2, 3, 4, 5);
  SCALAR(sz, DT_INT64);
  IVALS(sz, 120);
  end();
}

static void test_constant(void) {
  begin(13);
  uint32_t c1 = out_t("c1"), c2 = out_t("c2"), c3 = out_t("c3"), c4 = out_t("c4"), c5 = out_t("c5");
  ir_set_attr_float(G, node(OP_CONSTANT, "cf", NULL, 0, IDS(c1)), "value_float", 2.5);
  ir_set_attr_ints(G, node(OP_CONSTANT, "cis", NULL, 0, IDS(c2)), "value_ints", DIMS(4, 5, 6), 3);
  ir_set_attr_int(G, node(OP_CONSTANT, "ci", NULL, 0, IDS(c3)), "value_int", 7);
  ir_set_attr_floats(G, node(OP_CONSTANT, "cfs", NULL, 0, IDS(c4)), "value_floats",
                     (const double[]){1.0, 2.0}, 2);
  uint32_t val = const_i("val", 2, DIMS(1, 2), DIMS(8, 9));
  uint32_t nt = node(OP_CONSTANT, "ct", NULL, 0, IDS(c5));
  ir_set_attr_int(G, nt, "value", 0);
  Attr *a = ir_node_attr(G, nt, "value");
  a->kind = ATTR_TENSOR;
  a->tensor = val;
  CU_ASSERT_FATAL(infer_ok());
  SCALAR(c1, DT_FLOAT);
  FVALS(c1, 2.5);
  SHAPE(c2, DT_INT64, 3);
  IVALS(c2, 4, 5, 6);
  IVALS(c3, 7);
  FVALS(c4, 1.0, 2.0);
  SHAPE(c5, DT_INT64, 1, 2);
  IVALS(c5, 8, 9);
  end();

  begin(13);
  c1 = out_t("c1");
  ir_set_attr_int(G, node(OP_CONSTANT, "sparse", NULL, 0, IDS(c1)), "sparse_value", 0);
  expect_fail("sparse", "sparse");
  end();

  begin(13);
  c1 = out_t("c1");
  node(OP_CONSTANT, "empty", NULL, 0, IDS(c1));
  expect_fail("empty", "exactly one value attribute");
  end();
}

static void test_constant_of_shape(void) {
  begin(13);
  uint32_t a = out_t("a"), b = out_t("b"), c = out_t("c");
  node(OP_CONSTANT_OF_SHAPE, "cos", IDS(vec_i("s", 2, DIMS(2, 3))), IDS(a));
  uint32_t one = const_i("one", 1, DIMS(1), DIMS(1));
  uint32_t nb = node(OP_CONSTANT_OF_SHAPE, "cos1", IDS(vec_i("s2", 1, DIMS(3))), IDS(b));
  ir_set_attr_int(G, nb, "value", 0);
  Attr *at = ir_node_attr(G, nb, "value");
  at->kind = ATTR_TENSOR;
  at->tensor = one;
  node(OP_CONSTANT_OF_SHAPE, "cos0", IDS(vec_i("s3", 0, NULL)), IDS(c));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_FLOAT, 2, 3);
  FVALS(a, 0, 0, 0, 0, 0, 0);
  SHAPE(b, DT_INT64, 3);
  IVALS(b, 1, 1, 1);
  SCALAR(c, DT_FLOAT);
  end();

  begin(13);
  a = out_t("a");
  node(OP_CONSTANT_OF_SHAPE, "cosdyn", IDS(in_t("s", DT_INT64, 1, DIMS(2))), IDS(a));
  expect_fail("cosdyn", "must be known");
  end();

  begin(13);
  a = out_t("a");
  node(OP_CONSTANT_OF_SHAPE, "cosneg", IDS(vec_i("s", 2, DIMS(2, -3))), IDS(a));
  expect_fail("cosneg", "entry 1 is -3");
  end();
}

static void test_range(void) {
  begin(11);
  uint32_t a = out_t("a"), b = out_t("b"), c = out_t("c"), e = out_t("e");
  node(OP_RANGE, "r", IDS(scalar_i("s", 1), scalar_i("l", 10), scalar_i("d", 3)), IDS(a));
  node(OP_RANGE, "rneg", IDS(scalar_i("s2", 10), scalar_i("l2", 6), scalar_i("d2", -3)), IDS(b));
  node(OP_RANGE, "rf",
       IDS(const_f("fs", DT_FLOAT, 0, NULL, (const double[]){1.0}),
           const_f("fl", DT_FLOAT, 0, NULL, (const double[]){5.0}),
           const_f("fd", DT_FLOAT, 0, NULL, (const double[]){2.0})),
       IDS(c));
  node(OP_RANGE, "rempty", IDS(scalar_i("s3", 5), scalar_i("l3", 1), scalar_i("d3", 1)), IDS(e));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_INT64, 3);
  IVALS(a, 1, 4, 7);
  IVALS(b, 10, 7);
  SHAPE(c, DT_FLOAT, 2);
  FVALS(c, 1.0, 3.0);
  SHAPE(e, DT_INT64, 0);
  end();

  begin(11);
  a = out_t("a");
  node(OP_RANGE, "rzero", IDS(scalar_i("s", 1), scalar_i("l", 10), scalar_i("d", 0)), IDS(a));
  expect_fail("rzero", "'delta' is 0");
  end();

  begin(11);
  a = out_t("a");
  node(OP_RANGE, "rhuge", IDS(scalar_i("s", INT64_MIN), scalar_i("l", INT64_MAX), scalar_i("d", 1)),
       IDS(a));
  expect_fail("rhuge", "overflows");
  end();

  begin(11);
  a = out_t("a");
  node(OP_RANGE, "rdyn", IDS(scalar_i("s", 0), in_t("l", DT_INT64, 0, NULL), scalar_i("d", 1)),
       IDS(a));
  expect_fail("rdyn", "'limit' (input 1) must be known");
  end();

  begin(11);
  a = out_t("a");
  node(OP_RANGE, "rvec", IDS(vec_i("s", 2, DIMS(0, 1)), scalar_i("l", 5), scalar_i("d", 1)),
       IDS(a));
  expect_fail("rvec", "must be a scalar");
  end();
}

static void test_resize(void) {
  begin(10); /* opset 10: (X, scales) */
  uint32_t x = in_t("x", DT_FLOAT, 4, DIMS(1, 1, 2, 4)), a = out_t("a");
  node(OP_RESIZE, "r10",
       IDS(x, const_f("sc", DT_FLOAT, 1, DIMS(4), (const double[]){1, 1, 0.6f, 0.6f})), IDS(a));
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_FLOAT, 1, 1, 1, 2);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 4, DIMS(1, 1, 4, 4));
  uint32_t empty = const_f("empty", DT_FLOAT, 1, DIMS(0), NULL);
  uint32_t b = out_t("b"), c = out_t("c"), e = out_t("e");
  a = out_t("a");
  node(OP_RESIZE, "rs", IDS(x, empty, empty, vec_i("sz", 4, DIMS(1, 1, 3, 2))), IDS(a));
  node(OP_RESIZE, "rsc",
       IDS(x, NONE, const_f("sc", DT_FLOAT, 1, DIMS(4), (const double[]){1, 1, 2, 3})), IDS(b));
  uint32_t roi =
      const_f("roi", DT_FLOAT, 1, DIMS(8), (const double[]){0, 0, 0.4, 0.6, 1, 1, 0.6, 0.8});
  uint32_t nc = node(
      OP_RESIZE, "crop",
      IDS(x, roi, const_f("sc2", DT_FLOAT, 1, DIMS(4), (const double[]){1, 1, 0.8, 0.8})), IDS(c));
  ir_set_attr_string(G, nc, "coordinate_transformation_mode", "tf_crop_and_resize");
  uint32_t ne = node(OP_RESIZE, "aspect", IDS(x, NONE, NONE, vec_i("sz2", 2, DIMS(7, 8))), IDS(e));
  ir_set_attr_ints(G, ne, "axes", DIMS(2, 3), 2);
  ir_set_attr_string(G, ne, "keep_aspect_ratio_policy", "not_larger");
  CU_ASSERT_FATAL(infer_ok());
  SHAPE(a, DT_FLOAT, 1, 1, 3, 2);
  SHAPE(b, DT_FLOAT, 1, 1, 8, 12);
  SHAPE(c, DT_FLOAT, 1, 1, 0, 0); /* floor(4 * 0.2 * 0.8) */
  SHAPE(e, DT_FLOAT, 1, 1, 7, 7);
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 4, DIMS(1, 1, 4, 4));
  a = out_t("a");
  node(OP_RESIZE, "nothing", IDS(x, NONE, NONE, NONE), IDS(a));
  expect_fail("nothing", "needs 'scales' or 'sizes'");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 4, DIMS(1, 1, 4, 4));
  a = out_t("a");
  node(OP_RESIZE, "shortsc",
       IDS(x, NONE, const_f("sc", DT_FLOAT, 1, DIMS(2), (const double[]){2, 2})), IDS(a));
  expect_fail("shortsc", "4 entries");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 4, DIMS(1, 1, 4, 4));
  a = out_t("a");
  node(OP_RESIZE, "negsc",
       IDS(x, NONE, const_f("sc", DT_FLOAT, 1, DIMS(4), (const double[]){1, 1, -2, 1e300})),
       IDS(a));
  expect_fail("negsc", "scale -2");
  end();
}

/* ---- PyTorch-style shape chains ---- */

/* x.view(x.size(0), -1): Shape → Gather(0) → Unsqueeze → Concat([.., -1]) → Reshape. */
static void test_torch_chain(void) {
  begin(13);
  uint32_t x = in_t("x", DT_FLOAT, 4, DIMS(2, 3, 4, 5));
  uint32_t s = out_t("s"), b = out_t("b"), bu = out_t("bu"), cat = out_t("cat"), y = out_t("y");
  node(OP_SHAPE, "Shape_0", IDS(x), IDS(s));
  node(OP_GATHER, "Gather_1", IDS(s, scalar_i("zero", 0)), IDS(b));
  node(OP_UNSQUEEZE, "Unsqueeze_2", IDS(b, vec_i("axes", 1, DIMS(0))), IDS(bu));
  uint32_t m1 = out_t("m1");
  ir_set_attr_ints(G, node(OP_CONSTANT, "Constant_3", NULL, 0, IDS(m1)), "value_ints", DIMS(-1), 1);
  ir_set_attr_int(G, node(OP_CONCAT, "Concat_4", IDS(bu, m1), IDS(cat)), "axis", 0);
  node(OP_RESHAPE, "Reshape_5", IDS(x, cat), IDS(y));
  /* Range over a dim and Equal/Where on a shape vector, as torch exports for expand_as. */
  uint32_t r = out_t("r"), eq = out_t("eq"), w = out_t("w"), ex = out_t("ex");
  node(OP_RANGE, "Range_6", IDS(scalar_i("r0", 0), b, scalar_i("r1", 1)), IDS(r));
  uint32_t tgt = vec_i("tgt", 2, DIMS(3, -1));
  node(OP_EQUAL, "Equal_7", IDS(tgt, scalar_i("neg1", -1)), IDS(eq));
  node(OP_WHERE, "Where_8", IDS(eq, vec_i("ones", 2, DIMS(1, 1)), tgt), IDS(w));
  node(OP_EXPAND, "Expand_9", IDS(r, w), IDS(ex));
  /* Slice of the shape (x.shape[2:]) multiplied out, cast to float and back. */
  uint32_t sl = out_t("sl"), pr = out_t("pr"), cf = out_t("cf"), ci = out_t("ci");
  node(OP_SLICE, "Slice_10", IDS(s, vec_i("st", 1, DIMS(2)), vec_i("en", 1, DIMS(INT64_MAX))),
       IDS(sl));
  node(OP_MUL, "Mul_11", IDS(sl, scalar_i("two", 2)), IDS(pr));
  ir_set_attr_int(G, node(OP_CAST, "Cast_12", IDS(pr), IDS(cf)), "to", DT_FLOAT);
  ir_set_attr_int(G, node(OP_CAST, "Cast_13", IDS(cf), IDS(ci)), "to", DT_INT64);
  CU_ASSERT_FATAL(infer_ok());
  SCALAR(b, DT_INT64);
  IVALS(b, 2);
  IVALS(cat, 2, -1);
  SHAPE(y, DT_FLOAT, 2, 60);
  IVALS(r, 0, 1);
  IVALS(w, 3, 1);
  SHAPE(ex, DT_INT64, 3, 2);
  IVALS(ex, 0, 1, 0, 1, 0, 1);
  IVALS(ci, 8, 10);
  end();
}

/* Unknown values where they are required and absurd sizes fail cleanly, naming the node. */
static void test_absurd(void) {
  begin(13);
  uint32_t x = in_t("x", DT_FLOAT, 2, DIMS(INT64_MAX / 4, 2)), y = out_t("y");
  node(OP_TILE, "tile_big", IDS(x, vec_i("r", 2, DIMS(1, 4))), IDS(y));
  expect_fail("tile_big", "64 bits");
  end();

  begin(13);
  y = out_t("y");
  node(OP_CONSTANT_OF_SHAPE, "cos_big", IDS(vec_i("s", 3, DIMS(INT64_MAX / 2, INT64_MAX / 2, 4))),
       IDS(y));
  expect_fail("cos_big", "64 bits");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 1, DIMS(4));
  y = out_t("y");
  node(OP_UNSQUEEZE, "usq_rank", IDS(x, vec_i("a", 8, DIMS(0, 1, 2, 3, 4, 5, 6, 7))), IDS(y));
  expect_fail("usq_rank", "rank 9");
  end();

  begin(13);
  y = out_t("y");
  node(OP_RANGE, "rf_huge",
       IDS(const_f("s", DT_DOUBLE, 0, NULL, (const double[]){0}),
           const_f("l", DT_DOUBLE, 0, NULL, (const double[]){1e300}),
           const_f("d", DT_DOUBLE, 0, NULL, (const double[]){1e-300})),
       IDS(y));
  expect_fail("rf_huge", "not finite");
  end();

  begin(13);
  x = in_t("x", DT_FLOAT, 1, DIMS(4));
  y = out_t("y");
  node(OP_GATHER, "gather_missing", IDS(x), IDS(y));
  expect_fail("gather_missing", "missing indices");
  end();
}

int main(void) {
  CU_TestInfo tests[] = {
      {"unary", test_unary},
      {"clip forms", test_clip_old_and_bad},
      {"cast", test_cast},
      {"broadcast arithmetic", test_broadcast},
      {"prelu", test_prelu},
      {"broadcast errors", test_broadcast_errors},
      {"compare and where", test_compare_where},
      {"reshape", test_reshape},
      {"flatten and transpose", test_flatten_transpose},
      {"squeeze and unsqueeze", test_squeeze_unsqueeze},
      {"concat", test_concat},
      {"split", test_split},
      {"slice", test_slice},
      {"gather", test_gather},
      {"expand, tile, pad", test_expand_tile_pad},
      {"identity, dropout, depth/space", test_identity_dropout_space},
      {"one-hot", test_one_hot},
      {"shape and size", test_shape_size},
      {"constant", test_constant},
      {"constant of shape", test_constant_of_shape},
      {"range", test_range},
      {"resize", test_resize},
      {"pytorch shape chain", test_torch_chain},
      {"absurd values", test_absurd},
      CU_TEST_INFO_NULL,
  };
  return tu_run_suite("shape_data", tests);
}
