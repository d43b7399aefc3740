/* test_interp.c — the reference interpreter (ir/interp*.c), proved three ways: (a) ONNX's
 * conformance node tests numerically (every considered test's outputs against output_N.pb,
 * |a - b| <= 1e-4 + 1e-3 |b|), (b) a whole-model forward smoke run of LeNet-5 with its inline
 * weights, (c) finite-difference gradient checks of the autodiff pass's weight gradients
 * (every backward rule on small random shapes, and whole models). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend.h"
#include "passes/passes.h"
#include "testutil.h"

enum { MAX_IO = 64 };

/* ------------------------------------------------------------------------------------------
 * (a) conformance, numerically
 * ------------------------------------------------------------------------------------------ */

/* Considered tests the interpreter is excused from matching, each with its reason. A listed
 * test that passes is reported (so the list stays honest). */
static const struct {
  const char *name, *reason;
} EXCEPTIONS[] = {
    /* ONNX's test data stores bfloat16 as uint16 bit patterns (numpy has no bfloat16), and the
     * importer takes a graph input's type from its .pb file, so the model's Cast sees uint16
     * integers instead of bfloat16 values. */
    {"test_cast_BFLOAT16_to_FLOAT", "bfloat16 input stored as uint16 bits"},
    {"test_castlike_BFLOAT16_to_FLOAT_expanded", "bfloat16 input stored as uint16 bits"},
    /* The expected outputs were made by truncating float32 to bfloat16 (the reference of the
     * ONNX version that generated them); the interpreter rounds to nearest even, as ONNX
     * specifies from opset 19 and onnxruntime does: one bfloat16 ulp (0.4 %) apart. */
    {"test_cast_FLOAT_to_BFLOAT16", "reference truncates to bfloat16, we round to nearest"},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded", "reference truncates to bfloat16"},
    /* String tensors carry no numbers; the interpreter computes with numbers only. */
    {"test_cast_FLOAT_to_STRING", "string tensors"},
    {"test_cast_STRING_to_FLOAT", "string tensors"},
    {"test_castlike_FLOAT_to_STRING_expanded", "string tensors"},
    {"test_castlike_STRING_to_FLOAT_expanded", "string tensors"},
    /* Training-mode Dropout with a positive ratio draws a random mask (numpy's generator in
     * the reference); no deterministic interpreter can reproduce it. Ratio 0 is tested. */
    {"test_training_dropout", "random mask"},
    {"test_training_dropout_default", "random mask"},
    {"test_training_dropout_default_mask", "random mask"},
    {"test_training_dropout_mask", "random mask"},
    /* ONNX's generator computed this test's outputs with epsilon = 1e-2 but wrote the Adam
     * node without an epsilon attribute (so the default 1e-6 applies to the model as shipped).
     * test_adam_multiple_epsilon below re-runs it with epsilon = 1e-2 set and must match. */
    {"test_adam_multiple", "expected outputs use epsilon=1e-2, the model omits it"},
};

static const char *exception_reason(const char *test) {
  for (size_t k = 0; k < sizeof EXCEPTIONS / sizeof *EXCEPTIONS; k++)
    if (*EXCEPTIONS[k].name && strcmp(EXCEPTIONS[k].name, test) == 0) return EXCEPTIONS[k].reason;
  return NULL;
}

typedef struct Tally {
  int total, considered, passed, excused, unsupported, stale;
} Tally;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Compares the interpreter's value of tensor t with the expected values; on a mismatch writes
 * a one-line reason into why. */
static bool same_values(Interp *ip, const Graph *g, uint32_t t, const TensorValues *want,
                        char *why, size_t why_size) {
  Diag d;
  diag_init(&d);
  InterpValue got;
  if (interp_get(ip, t, &got, &d) != XDL_OK) {
    snprintf(why, why_size, "%s", d.msg);
    return false;
  }
  if (got.n != want->n) {
    snprintf(why, why_size, "'%s' has %lld elements, expected %lld", g->tensors[t].name,
             (long long)got.n, (long long)want->n);
    return false;
  }
  bool bf16_bits = g->tensors[t].dtype == DT_BFLOAT16 && want->dtype == DT_UINT16;
  for (int64_t k = 0; k < got.n; k++) {
    double a = got.is_int ? (double)got.i[k] : got.f[k];
    double b = want->is_int ? (double)want->ivals[k] : want->fvals[k];
    if (bf16_bits) { /* ONNX's test data keeps bfloat16 as its uint16 bit pattern */
      uint8_t raw[2] = {(uint8_t)want->ivals[k], (uint8_t)(want->ivals[k] >> 8)};
      interp_decode(DT_BFLOAT16, raw, 1, &b, NULL);
    }
    bool ok;
    if (got.is_int && want->is_int && !bf16_bits) ok = got.i[k] == want->ivals[k];
    else if (isnan(b)) ok = isnan(a);
    else if (isinf(b)) ok = a == b;
    else ok = fabs(a - b) <= 1e-4 + 1e-3 * fabs(b);
    if (!ok) {
      snprintf(why, why_size, "'%s'[%lld] = %.9g, expected %.9g", g->tensors[t].name,
               (long long)k, a, b);
      return false;
    }
  }
  return true;
}

/* Runs one test directory: import (inputs' shapes from input_N.pb, weights kept), feed the
 * inputs' values, run, compare every output (adam_epsilon > 0 sets every Adam node's epsilon
 * first). Returns true when considered and passed; why
 * gets the reason otherwise. */
static bool run_values(const char *dir, bool *considered, char *why, size_t why_size,
                       double adam_epsilon) {
  char model[1300], path[1300];
  snprintf(model, sizeof model, "%s/model.onnx", dir);
  char *inputs[MAX_IO];
  int n_in = 0;
  for (; n_in < MAX_IO; n_in++) {
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, n_in);
    if (!exists(path)) break;
    inputs[n_in] = strdup(path);
  }
  ImportOptions opts = {.batch = 1, .input_pb_paths = (const char *const *)inputs,
                        .n_input_pb = n_in, .keep_weight_bytes = true};
  Diag d;
  diag_init(&d);
  bool ok = false;
  Interp *ip = NULL;
  Graph *g = onnx_load(model, &opts, &d);
  *considered = g || !d.unsupported;
  if (!g) {
    snprintf(why, why_size, "import: %s", d.msg);
    goto done;
  }
  /* ONNX Gradient nodes are expanded by the autodiff pass (inference mode); the interpreter
   * runs the backward graph it writes. */
  bool has_gradient = false;
  for (uint32_t n = 0; n < g->n_nodes; n++) has_gradient |= g->nodes[n].op == OP_GRADIENT;
  PassOptions po = {0};
  if (has_gradient && pass_autodiff(g, &po, &d) != XDL_OK) goto fail;
  if (adam_epsilon > 0)
    for (uint32_t n = 0; n < g->n_nodes; n++)
      if (g->nodes[n].op == OP_ADAM) ir_set_attr_float(g, n, "epsilon", adam_epsilon);
  ip = interp_new(g, NULL, &d);
  if (!ip) goto fail;
  for (int i = 0; i < n_in && (uint32_t)i < g->n_inputs; i++) {
    TensorValues v;
    if (onnx_read_tensor_values(inputs[i], &v, &d) != XDL_OK) goto fail;
    XdlStatus st = interp_set(ip, g->inputs[i], v.fvals, v.ivals, v.n, &d);
    onnx_tensor_values_free(&v);
    if (st != XDL_OK) goto fail;
  }
  if (interp_run(ip, &d) != XDL_OK) goto fail;
  ok = true;
  for (uint32_t i = 0; ok && i < g->n_outputs; i++) {
    snprintf(path, sizeof path, "%s/test_data_set_0/output_%u.pb", dir, i);
    if (!exists(path)) break;
    TensorValues want;
    if (onnx_read_tensor_values(path, &want, &d) != XDL_OK) {
      ok = false;
      goto fail;
    }
    ok = same_values(ip, g, g->outputs[i], &want, why, why_size);
    onnx_tensor_values_free(&want);
  }
  goto done;
fail:
  snprintf(why, why_size, "%s", d.msg);
done:
  interp_free(ip);
  ir_graph_free(g);
  for (int k = 0; k < n_in; k++) free(inputs[k]);
  return ok;
}

static void run_collection(const char *name, Tally *t) {
  char root[1024];
  snprintf(root, sizeof root, "%s/%s", XDL_ONNX_TESTDATA, name);
  DIR *dir = opendir(root);
  CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
  char *names[4096];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) && n < 4096)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  closedir(dir);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  Tally before = *t;
  const char *only = getenv("XDL_INTERP_ONLY"); /* debugging aid: run matching tests only */
  for (int i = 0; i < n; i++) {
    if (only && !strstr(names[i], only)) {
      free(names[i]);
      continue;
    }
    char sub[1200], model[1300], why[1200] = "";
    snprintf(sub, sizeof sub, "%s/%s", root, names[i]);
    snprintf(model, sizeof model, "%s/model.onnx", sub);
    if (!exists(model)) {
      free(names[i]);
      continue;
    }
    t->total++;
    bool considered = false;
    bool ok = run_values(sub, &considered, why, sizeof why, 0);
    const char *reason = exception_reason(names[i]);
    if (!considered) {
      t->unsupported++;
    } else if (ok) {
      t->considered++;
      t->passed++;
      if (reason) {
        printf("  STALE EXCEPTION %s/%s passes now\n", name, names[i]);
        t->stale++;
      }
    } else {
      t->considered++;
      if (reason) {
        t->excused++;
        printf("  excused %s/%s (%s): %s\n", name, names[i], reason, why);
      } else {
        printf("  FAIL %s/%s: %s\n", name, names[i], why);
      }
    }
    free(names[i]);
  }
  printf("  %-18s %4d tests, %4d considered, %4d passed, %4d excused\n", name,
         t->total - before.total, t->considered - before.considered,
         t->passed - before.passed, t->excused - before.excused);
}

static void test_conformance_values(void) {
  Tally t = {0};
  printf("\n");
  run_collection("node", &t);
  run_collection("pytorch-converted", &t);
  run_collection("pytorch-operator", &t);
  run_collection("simple", &t);
  printf("  conformance values: considered / passed = %d / %d (%d excused with reasons)\n",
         t.considered, t.passed, t.excused);
  CU_ASSERT(t.considered > 600);
  CU_ASSERT_EQUAL(t.passed + t.excused, t.considered);
  CU_ASSERT_EQUAL(t.stale, 0);
}

/* The excused test_adam_multiple matches once its node carries the epsilon its generator used. */
static void test_adam_multiple_epsilon(void) {
  char dir[512], why[512];
  snprintf(dir, sizeof dir, "%s/node/test_adam_multiple", XDL_ONNX_TESTDATA);
  bool considered;
  bool ok = run_values(dir, &considered, why, sizeof why, 1e-2);
  if (!ok) printf("\n  %s\n", why);
  CU_ASSERT_TRUE(considered);
  CU_ASSERT_TRUE(ok);
}

/* ------------------------------------------------------------------------------------------
 * (b) whole-model forward smoke
 * ------------------------------------------------------------------------------------------ */

static void test_lenet_forward(void) {
  char *path = tu_refdata("onnx/lenet5.onnx");
  ImportOptions opts = {.batch = 2, .keep_weight_bytes = true};
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, &opts, &d);
  free(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Interp *ip = interp_new(g, NULL, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ip);
  uint32_t x = g->inputs[0];
  int64_t nx = ir_numel(&g->tensors[x]);
  double *v = malloc((size_t)nx * sizeof *v);
  for (int64_t k = 0; k < nx; k++) v[k] = sin(0.37 * (double)k) * 0.5 + 0.5;
  CU_ASSERT_EQUAL(interp_set(ip, x, v, NULL, nx, &d), XDL_OK);
  free(v);
  XdlStatus st = interp_run(ip, &d);
  if (st != XDL_OK) printf("\n  lenet5: %s\n", d.msg);
  CU_ASSERT_EQUAL_FATAL(st, XDL_OK);
  const Tensor *out = &g->tensors[g->outputs[0]];
  CU_ASSERT_EQUAL(out->rank, 2);
  int64_t batch = g->tensors[x].dims[0]; /* the model may fix its batch size */
  CU_ASSERT_EQUAL(out->dims[0], batch);
  CU_ASSERT_EQUAL(out->dims[1], 10);
  InterpValue y;
  CU_ASSERT_EQUAL_FATAL(interp_get(ip, g->outputs[0], &y, &d), XDL_OK);
  CU_ASSERT_EQUAL(y.n, 10 * batch);
  bool finite = true, varied = false;
  for (int64_t k = 0; k < y.n; k++) {
    finite = finite && isfinite(y.f[k]);
    varied = varied || y.f[k] != y.f[0];
  }
  CU_ASSERT(finite);
  CU_ASSERT(varied);
  /* A weight without bytes is an error naming it (the same model imported shape-only). */
  interp_free(ip);
  ir_graph_free(g);
  path = tu_refdata("onnx/lenet5.onnx");
  g = onnx_load(path, NULL, &d);
  free(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  ip = interp_new(g, NULL, &d);
  nx = ir_numel(&g->tensors[g->inputs[0]]);
  v = calloc((size_t)nx, sizeof *v);
  interp_set(ip, g->inputs[0], v, NULL, nx, &d);
  free(v);
  Diag d2;
  diag_init(&d2);
  CU_ASSERT_NOT_EQUAL(interp_run(ip, &d2), XDL_OK);
  CU_ASSERT_PTR_NOT_NULL(strstr(d2.msg, "has no values"));
  interp_free(ip);
  ir_graph_free(g);
}

/* ------------------------------------------------------------------------------------------
 * (c) finite-difference gradient checks
 * ------------------------------------------------------------------------------------------ */

/* Outcome of one check: pairs and elements compared, and the worst relative error seen. */
typedef struct GradCheck {
  int n_pairs, n_elems, n_bad;
  double worst, max_grad; /* worst relative error; largest |gradient| compared */
  char worst_at[256];
} GradCheck;

/* Deterministic values for the graph inputs: floats in [-1, 1]; integer inputs (labels) in
 * [0, C) where C is the class count of the SoftmaxCrossEntropyLoss that reads them. */
static bool feed_inputs(Interp *ip, const Graph *g, Diag *d) {
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    uint32_t t = g->inputs[i];
    const Tensor *ts = &g->tensors[t];
    int64_t n = ir_numel(ts), classes = 1;
    for (uint32_t k = 0; k < g->n_nodes; k++) {
      const Node *nd = &g->nodes[k];
      if (nd->op == OP_SOFTMAX_CE_LOSS && nd->n_inputs > 1 && nd->inputs[1] == t)
        classes = g->tensors[nd->inputs[0]].dims[1];
    }
    double *f = malloc((size_t)(n ? n : 1) * sizeof *f);
    int64_t *iv = malloc((size_t)(n ? n : 1) * sizeof *iv);
    for (int64_t k = 0; k < n; k++) {
      f[k] = sin(1.3 * (double)k + 0.7 * (double)i);
      iv[k] = (k * 7 + 3) % classes;
    }
    XdlStatus st = ir_dtype_is_int(ts->dtype) ? interp_set(ip, t, NULL, iv, n, d)
                                              : interp_set(ip, t, f, NULL, n, d);
    free(f);
    free(iv);
    if (st != XDL_OK) return false;
  }
  return true;
}

/* Runs the forward and loss nodes and returns the sum of the loss tensor's values. */
static double run_loss(Interp *ip, const Graph *g, uint32_t loss, Diag *d) {
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    Phase ph = g->nodes[n].phase;
    if ((ph == PHASE_FORWARD || ph == PHASE_LOSS) && interp_run_nodes(ip, n, n + 1, d) != XDL_OK)
      return NAN;
  }
  InterpValue v;
  if (interp_get(ip, loss, &v, d) != XDL_OK) return NAN;
  double sum = 0;
  for (int64_t k = 0; k < v.n; k++) sum += v.f[k];
  return sum;
}

/* Checks every (weight, gradient) pair that the graph's optimizer nodes update (SGD, Momentum,
 * Adagrad, Adam: inputs R, T, X..., G..., state...) against central differences of the loss
 * (the ROLE_LOSS tensor) for up to max_elems elements per weight, in double precision:
 * |fd - grad| <= tol * (|fd| + |grad|) + 1e-7. Weights without bytes get pseudo-random
 * values. Returns false (message in d) when the graph cannot be run. */
static bool grad_check(const Graph *g, int max_elems, double eps, double tol, GradCheck *out,
                       Diag *d) {
  memset(out, 0, sizeof *out);
  uint32_t loss = IR_NONE;
  for (uint32_t t = 0; t < g->n_tensors; t++)
    if (g->tensors[t].role == ROLE_LOSS) loss = t;
  if (loss == IR_NONE) {
    diag_error(d, XDL_ERR_INPUT, "graph has no loss tensor");
    return false;
  }
  InterpOptions o = {.use_double = true, .random_weights = true, .seed = 7};
  Interp *ip = interp_new(g, &o, d);
  if (!ip || !feed_inputs(ip, g, d)) goto fail;
  for (uint32_t n = 0; n < g->n_nodes; n++)
    if (g->nodes[n].phase != PHASE_UPDATE && interp_run_nodes(ip, n, n + 1, d) != XDL_OK)
      goto fail;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    int k_in = nd->op == OP_SGD ? 2 : nd->op == OP_ADAM ? 4
             : nd->op == OP_MOMENTUM || nd->op == OP_ADAGRAD ? 3 : 0;
    if (!k_in) continue;
    int count = (nd->n_inputs - 2) / k_in;
    for (int j = 0; j < count; j++) {
      uint32_t w = nd->inputs[2 + j], gr = nd->inputs[2 + count + j];
      InterpValue wv, gv;
      if (interp_get(ip, w, &wv, d) != XDL_OK || interp_get(ip, gr, &gv, d) != XDL_OK) goto fail;
      int64_t nw = wv.n;
      double *wcopy = malloc((size_t)nw * sizeof *wcopy);
      double *gcopy = malloc((size_t)nw * sizeof *gcopy);
      memcpy(wcopy, wv.f, (size_t)nw * sizeof *wcopy);
      memcpy(gcopy, gv.f, (size_t)nw * sizeof *gcopy);
      out->n_pairs++;
      int64_t step = nw > max_elems ? nw / max_elems : 1;
      bool ok = true;
      for (int64_t k = 0; ok && k < nw; k += step) {
        double saved = wcopy[k], lp, lm;
        wcopy[k] = saved + eps;
        ok = interp_set(ip, w, wcopy, NULL, nw, d) == XDL_OK;
        lp = run_loss(ip, g, loss, d);
        wcopy[k] = saved - eps;
        ok = ok && interp_set(ip, w, wcopy, NULL, nw, d) == XDL_OK;
        lm = run_loss(ip, g, loss, d);
        wcopy[k] = saved;
        ok = ok && interp_set(ip, w, wcopy, NULL, nw, d) == XDL_OK;
        if (ok && (isnan(lp) || isnan(lm))) {
          ok = false;
          if (diag_ok(d)) diag_error(d, XDL_ERR_INPUT, "the loss is not a number");
        }
        double fd = (lp - lm) / (2 * eps), an = gcopy[k];
        double err = fabs(fd - an), scale = fabs(fd) + fabs(an);
        double rel = scale > 0 ? err / scale : 0;
        out->n_elems++;
        if (fabs(an) > out->max_grad) out->max_grad = fabs(an);
        if (err > tol * scale + 1e-7) out->n_bad++;
        if (rel > out->worst && err > 1e-7) {
          out->worst = rel;
          snprintf(out->worst_at, sizeof out->worst_at, "d%s/d%s[%lld]: fd %.8g, grad %.8g",
                   g->tensors[loss].name, g->tensors[w].name, (long long)k, fd, an);
        }
      }
      free(wcopy);
      free(gcopy);
      if (!ok) goto fail;
    }
  }
  interp_free(ip);
  return true;
fail:
  interp_free(ip);
  return false;
}

/* ---- graphs built in C ---- */

static uint32_t add_t(Graph *g, const char *name, DataType dt, TensorRole role, int rank,
                      const int64_t *dims) {
  Diag d;
  diag_init(&d);
  uint32_t t = ir_add_tensor(g, name, dt, role, rank, dims, &d);
  CU_ASSERT_NOT_EQUAL_FATAL(t, IR_NONE);
  return t;
}

static uint32_t add_n(Graph *g, OpKind op, Phase ph, const uint32_t *in, int n_in,
                      const uint32_t *out, int n_out) {
  Diag d;
  diag_init(&d);
  uint32_t n = ir_add_node(g, op, NULL, in, n_in, out, n_out, &d);
  CU_ASSERT_NOT_EQUAL_FATAL(n, IR_NONE);
  g->nodes[n].phase = ph;
  return n;
}

/* A small classifier with its backward graph written out by hand from the internal gradient
 * ops (the autodiff pass writes the same kind of graph): Conv → Relu → MaxPool → Flatten →
 * Gemm → SoftmaxCrossEntropyLoss, then gradients of every weight and an SGD update. */
static Graph *hand_built_training_graph(void) {
  Graph *g = ir_graph_new();
  int64_t dx[] = {2, 1, 5, 5}, dw1[] = {3, 1, 3, 3}, db1[] = {3}, dw2[] = {12, 4}, db2[] = {4};
  int64_t dl[] = {2}, dshape[] = {4};
  uint32_t x = add_t(g, "x", DT_FLOAT, ROLE_INPUT, 4, dx);
  uint32_t lab = add_t(g, "labels", DT_INT64, ROLE_INPUT, 1, dl);
  ir_graph_add_input(g, x);
  ir_graph_add_input(g, lab);
  uint32_t w1 = add_t(g, "w1", DT_FLOAT, ROLE_WEIGHT, 4, dw1);
  uint32_t b1 = add_t(g, "b1", DT_FLOAT, ROLE_WEIGHT, 1, db1);
  uint32_t w2 = add_t(g, "w2", DT_FLOAT, ROLE_WEIGHT, 2, dw2);
  uint32_t b2 = add_t(g, "b2", DT_FLOAT, ROLE_WEIGHT, 1, db2);
  const char *acts[] = {"h1", "a1", "p1", "f", "z", "loss", "log_prob", "dz", "dw2", "db2",
                        "df", "dp1", "da1", "dh1", "dw1", "db1_3d", "db1", "w1n", "b1n", "w2n",
                        "b2n"};
  uint32_t t[21];
  for (int i = 0; i < 21; i++)
    t[i] = add_t(g, acts[i], DT_FLOAT, i == 5 ? ROLE_LOSS : i >= 7 ? ROLE_GRADIENT
                                                                   : ROLE_ACTIVATION, -1, NULL);
  uint32_t dloss = add_t(g, "dloss", DT_FLOAT, ROLE_CONST, 0, NULL);
  uint32_t shp = add_t(g, "p1_shape", DT_INT64, ROLE_CONST, 1, dshape);
  uint32_t lr = add_t(g, "lr", DT_FLOAT, ROLE_CONST, 0, NULL);
  uint32_t step = add_t(g, "step", DT_INT64, ROLE_CONST, 0, NULL);
  double one = 1.0, rate = 0.1;
  int64_t p1_shape[] = {2, 3, 2, 2}, zero = 0;
  ir_set_fvals(g, dloss, &one, 1);
  ir_set_fvals(g, lr, &rate, 1);
  ir_set_ivals(g, shp, p1_shape, 4);
  ir_set_ivals(g, step, &zero, 1);
  int64_t k3[] = {3, 3}, k2[] = {2, 2}, pads1[] = {1, 1, 1, 1}, s3[] = {3, 1, 1}, s4[] = {4};
  uint32_t n;
  n = add_n(g, OP_CONV, PHASE_FORWARD, (uint32_t[]){x, w1, b1}, 3, &t[0], 1);
  ir_set_attr_ints(g, n, "pads", pads1, 4);
  add_n(g, OP_RELU, PHASE_FORWARD, &t[0], 1, &t[1], 1);
  n = add_n(g, OP_MAX_POOL, PHASE_FORWARD, &t[1], 1, &t[2], 1);
  ir_set_attr_ints(g, n, "kernel_shape", k2, 2);
  ir_set_attr_ints(g, n, "strides", k2, 2);
  add_n(g, OP_FLATTEN, PHASE_FORWARD, &t[2], 1, &t[3], 1);
  add_n(g, OP_GEMM, PHASE_FORWARD, (uint32_t[]){t[3], w2, b2}, 3, &t[4], 1);
  add_n(g, OP_SOFTMAX_CE_LOSS, PHASE_LOSS, (uint32_t[]){t[4], lab}, 2, &t[5], 2);
  /* backward */
  add_n(g, OP_SOFTMAX_CE_LOSS_GRAD, PHASE_BACKWARD_DATA, (uint32_t[]){dloss, t[6], lab}, 3,
        &t[7], 1);
  n = add_n(g, OP_GEMM, PHASE_BACKWARD_WEIGHT, (uint32_t[]){t[3], t[7]}, 2, &t[8], 1);
  ir_set_attr_int(g, n, "transA", 1);
  n = add_n(g, OP_REDUCE_TO_SHAPE, PHASE_BACKWARD_WEIGHT, &t[7], 1, &t[9], 1);
  ir_set_attr_ints(g, n, "shape", s4, 1);
  n = add_n(g, OP_GEMM, PHASE_BACKWARD_DATA, (uint32_t[]){t[7], w2}, 2, &t[10], 1);
  ir_set_attr_int(g, n, "transB", 1);
  add_n(g, OP_RESHAPE, PHASE_BACKWARD_DATA, (uint32_t[]){t[10], shp}, 2, &t[11], 1);
  n = add_n(g, OP_MAX_POOL_GRAD, PHASE_BACKWARD_DATA, (uint32_t[]){t[11], t[1]}, 2, &t[12], 1);
  ir_set_attr_ints(g, n, "kernel_shape", k2, 2);
  ir_set_attr_ints(g, n, "strides", k2, 2);
  n = add_n(g, OP_UNARY_GRAD, PHASE_BACKWARD_DATA, (uint32_t[]){t[12], IR_NONE, t[1]}, 3,
            &t[13], 1);
  ir_set_attr_string(g, n, "op", "Relu");
  n = add_n(g, OP_CONV_GRAD_WEIGHT, PHASE_BACKWARD_WEIGHT, (uint32_t[]){x, t[13]}, 2, &t[14], 1);
  ir_set_attr_ints(g, n, "kernel_shape", k3, 2);
  ir_set_attr_ints(g, n, "pads", pads1, 4);
  n = add_n(g, OP_REDUCE_TO_SHAPE, PHASE_BACKWARD_WEIGHT, &t[13], 1, &t[15], 1);
  ir_set_attr_ints(g, n, "shape", s3, 3);
  n = add_n(g, OP_RESHAPE, PHASE_BACKWARD_WEIGHT, (uint32_t[]){t[15], IR_NONE}, 1, &t[16], 1);
  ir_set_attr_ints(g, n, "shape", db1, 1);
  add_n(g, OP_SGD, PHASE_UPDATE,
        (uint32_t[]){lr, step, w1, b1, w2, b2, t[14], t[16], t[8], t[9]}, 10, &t[17], 4);
  Diag d;
  diag_init(&d);
  XdlStatus st = ir_infer_shapes(g, &d);
  if (st != XDL_OK) printf("\n  hand-built graph: %s\n", d.msg);
  CU_ASSERT_EQUAL_FATAL(st, XDL_OK);
  return g;
}

static void test_grad_check_hand_built(void) {
  Graph *g = hand_built_training_graph();
  GradCheck c;
  Diag d;
  diag_init(&d);
  bool ran = grad_check(g, 64, 1e-6, 1e-5, &c, &d);
  if (!ran) printf("\n  grad check: %s\n", d.msg);
  CU_ASSERT_FATAL(ran);
  printf("\n  hand-built graph: %d weights, %d elements, %d off, worst %.2g %s\n", c.n_pairs,
         c.n_elems, c.n_bad, c.worst, c.worst_at);
  CU_ASSERT_EQUAL(c.n_pairs, 4);
  CU_ASSERT_EQUAL(c.n_bad, 0);
  CU_ASSERT(c.max_grad > 1e-3);
  /* The harness notices a wrong backward rule: Relu's derivative replaced by Sigmoid's. */
  for (uint32_t n = 0; n < g->n_nodes; n++)
    if (g->nodes[n].op == OP_UNARY_GRAD) ir_set_attr_string(g, n, "op", "Sigmoid");
  CU_ASSERT_FATAL(grad_check(g, 64, 1e-6, 1e-5, &c, &d));
  CU_ASSERT(c.n_bad > 0);
  ir_graph_free(g);
}

/* ---- every backward rule on small random shapes ---- */

/* One operand of a per-op case: a float weight of the given shape (values from the
 * interpreter's random fill: rank 1 in [0.5, 1.5), which keeps Log, Sqrt, Div and variances
 * valid), or an int64 constant with the given values. */
typedef struct Operand {
  int rank;
  int64_t dims[4];
  bool is_int;
  int64_t ivals[8];
  bool absent;  /* an omitted optional input */
  bool boolean; /* an integer constant of type bool */
} Operand;

typedef struct OpCase {
  const char *name;
  OpKind op;
  int n_in, n_out;
  Operand in[5];
  const char *attrs; /* "name=i:v,v" (ints), "name=f:v" (float), "name=s:text" */
} OpCase;

#define F1(a) {1, {a}, false, {0}, false, false}
#define F2(a, b) {2, {a, b}, false, {0}, false, false}
#define F3(a, b, c) {3, {a, b, c}, false, {0}, false, false}
#define F4(a, b, c, e) {4, {a, b, c, e}, false, {0}, false, false}
#define I1(n, ...) {1, {n}, true, {__VA_ARGS__}, false, false}
#define I2(a, b, ...) {2, {a, b}, true, {__VA_ARGS__}, false, false}
#define B2(a, b, ...) {2, {a, b}, true, {__VA_ARGS__}, false, true}

static const OpCase OP_CASES[] = {
    {"conv", OP_CONV, 3, 1, {F4(1, 2, 5, 5), F4(3, 2, 3, 3), F1(3)},
     "pads=i:1,0,1,1;strides=i:2,1"},
    {"conv_group_dil", OP_CONV, 2, 1, {F4(1, 4, 6, 6), F4(4, 2, 2, 2)},
     "group=i:2;dilations=i:2,2"},
    {"conv_transpose", OP_CONV_TRANSPOSE, 3, 1, {F4(1, 2, 3, 3), F4(2, 3, 3, 3), F1(3)},
     "strides=i:2,2;pads=i:1,1,0,0"},
    {"gemm", OP_GEMM, 3, 1, {F2(3, 4), F2(5, 4), F1(5)}, "transB=i:1;alpha=f:0.5;beta=f:2"},
    {"matmul", OP_MATMUL, 2, 1, {F3(2, 3, 4), F2(4, 5)}, ""},
    {"einsum", OP_EINSUM, 2, 1, {F3(2, 3, 4), F3(2, 4, 5)}, "equation=s:bij,bjk->bik"},
    {"batch_norm_train", OP_BATCH_NORM, 5, 1, {F4(2, 3, 2, 2), F1(3), F1(3), F1(3), F1(3)},
     "training_mode=i:1"},
    {"batch_norm_infer", OP_BATCH_NORM, 5, 1, {F4(2, 3, 2, 2), F1(3), F1(3), F1(3), F1(3)}, ""},
    {"instance_norm", OP_INSTANCE_NORM, 3, 1, {F4(2, 3, 2, 3), F1(3), F1(3)}, ""},
    {"layer_norm", OP_LAYER_NORM, 3, 1, {F3(2, 3, 4), F1(4), F1(4)}, "axis=i:-1"},
    {"max_pool", OP_MAX_POOL, 1, 1, {F4(1, 2, 5, 5)},
     "kernel_shape=i:3,3;strides=i:2,2;pads=i:1,1,1,1"},
    {"average_pool", OP_AVERAGE_POOL, 1, 1, {F4(1, 2, 5, 5)},
     "kernel_shape=i:3,3;strides=i:2,2;pads=i:1,1,1,1;count_include_pad=i:1"},
    {"average_pool_exclude", OP_AVERAGE_POOL, 1, 1, {F4(1, 2, 5, 5)},
     "kernel_shape=i:2,2;pads=i:1,1,0,0"},
    {"global_average_pool", OP_GLOBAL_AVERAGE_POOL, 1, 1, {F4(1, 2, 3, 3)}, ""},
    {"global_max_pool", OP_GLOBAL_MAX_POOL, 1, 1, {F4(1, 2, 3, 3)}, ""},
    {"relu", OP_RELU, 1, 1, {F2(3, 4)}, ""},
    {"leaky_relu", OP_LEAKY_RELU, 1, 1, {F2(3, 4)}, "alpha=f:0.2"},
    {"elu", OP_ELU, 1, 1, {F2(3, 4)}, "alpha=f:0.7"},
    {"selu", OP_SELU, 1, 1, {F2(3, 4)}, ""},
    {"sigmoid", OP_SIGMOID, 1, 1, {F2(3, 4)}, ""},
    {"hard_sigmoid", OP_HARD_SIGMOID, 1, 1, {F2(3, 4)}, "alpha=f:0.9"},
    {"hard_swish", OP_HARD_SWISH, 1, 1, {F2(3, 4)}, ""},
    {"tanh", OP_TANH, 1, 1, {F2(3, 4)}, ""},
    {"softplus", OP_SOFTPLUS, 1, 1, {F2(3, 4)}, ""},
    {"clip", OP_CLIP, 1, 1, {F2(3, 4)}, "min=f:-0.2;max=f:0.3"},
    {"erf", OP_ERF, 1, 1, {F2(3, 4)}, ""},
    {"sqrt", OP_SQRT, 1, 1, {F1(6)}, ""},
    {"exp", OP_EXP, 1, 1, {F2(3, 4)}, ""},
    {"log", OP_LOG, 1, 1, {F1(6)}, ""},
    {"neg", OP_NEG, 1, 1, {F2(3, 4)}, ""},
    {"abs", OP_ABS, 1, 1, {F2(3, 4)}, ""},
    {"reciprocal", OP_RECIPROCAL, 1, 1, {F1(6)}, ""},
    {"where", OP_WHERE, 3, 1, {B2(3, 1, 1, 0, 1), F2(3, 4), F1(4)}, ""},
    {"gather_elements", OP_GATHER_ELEMENTS, 2, 1, {F2(3, 4), I2(3, 2, 0, 3, 3, 1, 2, 0)},
     "axis=i:1"},
    {"add_bcast", OP_ADD, 2, 1, {F3(2, 3, 4), F2(1, 4)}, ""},
    {"sub_bcast", OP_SUB, 2, 1, {F2(3, 4), F3(2, 3, 4)}, ""},
    {"mul_bcast", OP_MUL, 2, 1, {F3(2, 3, 4), F2(3, 1)}, ""},
    {"div", OP_DIV, 2, 1, {F2(3, 4), F1(4)}, ""},
    {"pow", OP_POW, 2, 1, {F1(5), F1(5)}, ""},
    {"prelu", OP_PRELU, 2, 1, {F3(2, 3, 4), F1(4)}, ""},
    {"min", OP_MIN, 3, 1, {F2(3, 4), F2(3, 4), F1(4)}, ""},
    {"max", OP_MAX, 2, 1, {F2(3, 4), F2(3, 4)}, ""},
    {"sum", OP_SUM, 3, 1, {F2(3, 4), F1(4), F2(3, 4)}, ""},
    {"mean", OP_MEAN, 2, 1, {F2(3, 4), F1(4)}, ""},
    {"softmax", OP_SOFTMAX, 1, 1, {F3(2, 3, 4)}, "axis=i:1"},
    {"log_softmax", OP_LOG_SOFTMAX, 1, 1, {F3(2, 3, 4)}, "axis=i:-1"},
    {"reduce_sum", OP_REDUCE_SUM, 2, 1, {F3(2, 3, 4), I1(1, 1)}, "keepdims=i:0"},
    {"reduce_mean", OP_REDUCE_MEAN, 1, 1, {F3(2, 3, 4)}, "axes=i:0,2"},
    {"reduce_max", OP_REDUCE_MAX, 1, 1, {F3(2, 3, 4)}, "axes=i:2"},
    {"reduce_min", OP_REDUCE_MIN, 1, 1, {F3(2, 3, 4)}, "axes=i:1;keepdims=i:0"},
    {"reduce_prod", OP_REDUCE_PROD, 1, 1, {F3(2, 3, 4)}, "axes=i:1"},
    {"reduce_l2", OP_REDUCE_L2, 1, 1, {F3(2, 3, 4)}, "axes=i:2"},
    {"reduce_sum_square", OP_REDUCE_SUM_SQUARE, 1, 1, {F3(2, 3, 4)}, ""},
    {"reshape", OP_RESHAPE, 2, 1, {F3(2, 3, 4), I1(2, 4, -1)}, ""},
    {"flatten", OP_FLATTEN, 1, 1, {F3(2, 3, 4)}, "axis=i:2"},
    {"transpose", OP_TRANSPOSE, 1, 1, {F3(2, 3, 4)}, "perm=i:1,2,0"},
    {"concat", OP_CONCAT, 2, 1, {F3(2, 3, 4), F3(2, 1, 4)}, "axis=i:1"},
    {"split", OP_SPLIT, 1, 2, {F3(2, 4, 3)}, "axis=i:1;split=i:1,3"},
    {"slice", OP_SLICE, 5, 1,
     {F3(2, 5, 4), I1(2, 1, 0), I1(2, 4, 3), I1(2, 1, 2), I1(2, 1, 1)}, ""},
    {"slice_negative", OP_SLICE, 3, 1, {F3(2, 5, 4), I1(1, -3), I1(1, 100)}, ""},
    {"slice_step2", OP_SLICE, 5, 1,
     {F3(2, 5, 4), I1(2, 0, 3), I1(2, 5, 0), I1(2, 1, 2), I1(2, 2, -2)}, ""},
    {"slice_reverse", OP_SLICE, 5, 1,
     {F3(2, 5, 4), I1(1, -1), I1(1, INT64_MIN), I1(1, 1), I1(1, -1)}, ""},
    {"slice_clamped", OP_SLICE, 5, 1,
     {F3(2, 5, 4), I1(2, 1, 10), I1(2, 100, -100), I1(2, 1, 2), I1(2, 3, -3)}, ""},
    {"gather", OP_GATHER, 2, 1, {F3(2, 5, 3), I1(4, 4, 0, 4, -2)}, "axis=i:1"},
    {"squeeze", OP_SQUEEZE, 2, 1, {F3(2, 1, 4), I1(1, 1)}, ""},
    {"unsqueeze", OP_UNSQUEEZE, 2, 1, {F2(3, 4), I1(1, 1)}, ""},
    {"expand", OP_EXPAND, 2, 1, {F2(3, 1), I1(3, 2, 3, 4)}, ""},
    {"tile", OP_TILE, 2, 1, {F2(2, 3), I1(2, 2, 3)}, ""},
    {"pad_constant", OP_PAD, 2, 1, {F2(3, 4), I1(4, 1, 0, 2, 1)}, ""},
    {"pad_reflect", OP_PAD, 2, 1, {F2(3, 4), I1(4, 2, 3, 1, 3)}, "mode=s:reflect"},
    {"pad_edge", OP_PAD, 2, 1, {F2(3, 4), I1(4, 1, 2, 2, 0)}, "mode=s:edge"},
    {"pad_wrap", OP_PAD, 2, 1, {F2(3, 4), I1(4, 2, 1, 0, 5)}, "mode=s:wrap"},
    {"pad_crop", OP_PAD, 2, 1, {F2(3, 4), I1(4, -1, 2, 1, -1)}, ""},
    {"pad_reflect_crop", OP_PAD, 4, 1,
     {F3(2, 3, 4), I1(2, -1, 2), {0, {0}, false, {0}, true, false}, I1(1, 2)}, "mode=s:reflect"},
    {"identity", OP_IDENTITY, 1, 1, {F2(3, 4)}, ""},
    {"dropout", OP_DROPOUT, 1, 1, {F2(3, 4)}, ""},
    {"depth_to_space", OP_DEPTH_TO_SPACE, 1, 1, {F4(1, 8, 2, 3)}, "blocksize=i:2"},
    {"space_to_depth", OP_SPACE_TO_DEPTH, 1, 1, {F4(1, 2, 4, 6)}, "blocksize=i:2"},
};

/* Sets the attributes described by spec ("a=i:1,2;b=f:0.5;c=s:text") on node n. */
static void set_attrs(Graph *g, uint32_t n, const char *spec) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", spec);
  for (char *save = NULL, *item = strtok_r(buf, ";", &save); item;
       item = strtok_r(NULL, ";", &save)) {
    char *eq = strchr(item, '=');
    if (!eq || eq[1] == 0 || eq[2] != ':') continue;
    *eq = 0;
    char kind = eq[1], *val = eq + 3;
    if (kind == 's') {
      ir_set_attr_string(g, n, item, val);
    } else if (kind == 'f') {
      ir_set_attr_float(g, n, item, atof(val));
    } else {
      int64_t v[8];
      int cnt = 0;
      for (char *s2 = NULL, *tok = strtok_r(val, ",", &s2); tok && cnt < 8;
           tok = strtok_r(NULL, ",", &s2))
        v[cnt++] = atoll(tok);
      if (cnt == 1 && strcmp(item, "axis") != 0 && strcmp(item, "keepdims") != 0 &&
          strstr("group transA transB training_mode blocksize count_include_pad to", item))
        ir_set_attr_int(g, n, item, v[0]);
      else if (cnt == 1 && (strcmp(item, "axis") == 0 || strcmp(item, "keepdims") == 0))
        ir_set_attr_int(g, n, item, v[0]);
      else
        ir_set_attr_ints(g, n, item, v, cnt);
    }
  }
}

/* Builds the one-op graph of case c (float operands are weights), appends its training graph
 * with an MSE loss over the first output, and checks every weight's gradient. */
static bool check_op_case(const OpCase *c, GradCheck *out, Diag *d) {
  Graph *g = ir_graph_new();
  uint32_t in[5], outs[4];
  char name[32];
  for (int i = 0; i < c->n_in; i++) {
    const Operand *o = &c->in[i];
    if (o->absent) {
      in[i] = IR_NONE;
      continue;
    }
    snprintf(name, sizeof name, "in%d", i);
    DataType dt = o->boolean ? DT_BOOL : o->is_int ? DT_INT64 : DT_FLOAT;
    in[i] = add_t(g, name, dt, o->is_int ? ROLE_CONST : ROLE_WEIGHT, o->rank, o->dims);
    int64_t count = 1;
    for (int k = 0; k < o->rank; k++) count *= o->dims[k];
    if (o->is_int) ir_set_ivals(g, in[i], o->ivals, count);
  }
  for (int i = 0; i < c->n_out; i++) {
    snprintf(name, sizeof name, "out%d", i);
    outs[i] = add_t(g, name, DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  }
  uint32_t n = add_n(g, c->op, PHASE_FORWARD, in, c->n_in, outs, c->n_out);
  set_attrs(g, n, c->attrs);
  ir_graph_add_output(g, outs[0]);
  PassOptions po = {.train = true, .loss = LOSS_MSE, .optimizer = OPT_SGD};
  bool ok = ir_infer_shapes(g, d) == XDL_OK && pass_autodiff(g, &po, d) == XDL_OK &&
            grad_check(g, 48, 1e-6, 1e-5, out, d);
  ir_graph_free(g);
  return ok;
}

static void test_grad_check_ops(void) {
  int n_cases = (int)(sizeof OP_CASES / sizeof *OP_CASES), passed = 0;
  bool covered[OP_COUNT] = {false};
  printf("\n");
  for (int i = 0; i < n_cases; i++) {
    const OpCase *c = &OP_CASES[i];
    GradCheck r;
    Diag d;
    diag_init(&d);
    bool ran = check_op_case(c, &r, &d);
    bool ok = ran && r.n_bad == 0 && r.n_pairs > 0;
    if (ok) {
      passed++;
      covered[c->op] = true;
    } else if (!ran) {
      printf("  FAIL %s: %s\n", c->name, d.msg);
    } else {
      printf("  FAIL %s: %d of %d elements off (%d weights); worst %.3g at %s\n", c->name,
             r.n_bad, r.n_elems, r.n_pairs, r.worst, r.worst_at);
    }
  }
  /* Every op with a backward rule has a passing case (the loss ops are checked whole). */
  int missing = 0;
  for (int op = 0; op < OP_COUNT; op++)
    /* Not here: SoftmaxCrossEntropyLoss (checked as the loss of the whole models) and Cast,
     * whose input ops.def marks nodiff, so autodiff never asks its rule for a gradient. */
    if (ir_ops[op].backward != bwd_none && !covered[op] && op != OP_SOFTMAX_CE_LOSS &&
        op != OP_CAST) {
      printf("  no passing gradient check for %s\n", ir_ops[op].name);
      missing++;
    }
  printf("  per-op gradient checks: %d / %d cases pass\n", passed, n_cases);
  CU_ASSERT_EQUAL(passed, n_cases);
  CU_ASSERT_EQUAL(missing, 0);
}

/* ---- whole models ---- */

static void check_model(Graph *g, const char *what, int max_elems) {
  PassOptions po = {.train = true, .optimizer = OPT_SGD};
  Diag d;
  diag_init(&d);
  XdlStatus st = passes_run(g, &po, &d);
  if (st != XDL_OK) printf("\n  %s: %s\n", what, d.msg);
  CU_ASSERT_EQUAL_FATAL(st, XDL_OK);
  GradCheck r;
  bool ran = grad_check(g, max_elems, 1e-6, 1e-5, &r, &d);
  if (!ran) printf("\n  %s: %s\n", what, d.msg);
  CU_ASSERT_FATAL(ran);
  printf("\n  %s: %d weights, %d elements, %d off, worst %.2g %s\n", what, r.n_pairs,
         r.n_elems, r.n_bad, r.worst, r.worst_at);
  CU_ASSERT(r.n_pairs > 0);
  CU_ASSERT_EQUAL(r.n_bad, 0);
  CU_ASSERT(r.max_grad > 0);
}

static void test_grad_check_lenet(void) {
  char *path = tu_refdata("onnx/lenet5.onnx");
  ImportOptions opts = {.batch = 1, .keep_weight_bytes = true};
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, &opts, &d);
  free(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  check_model(g, "lenet5 (its own weights)", 6);
  ir_graph_free(g);
}

/* A tiny CapsNet: Conv → Relu → PrimaryCaps (squashed) → ClassCaps (3 routing iterations) →
 * capsule lengths, trained with the margin loss; capsule_lower expands the capsule ops. */
static void test_grad_check_capsnet(void) {
  Graph *g = ir_graph_new();
  int64_t dx[] = {1, 1, 8, 8}, dw1[] = {4, 1, 3, 3}, db1[] = {4}, dwp[] = {8, 4, 3, 3};
  int64_t dwc[] = {8, 3, 2, 4}, axes[] = {-1};
  uint32_t x = add_t(g, "x", DT_FLOAT, ROLE_INPUT, 4, dx);
  ir_graph_add_input(g, x);
  uint32_t w1 = add_t(g, "conv.w", DT_FLOAT, ROLE_WEIGHT, 4, dw1);
  uint32_t b1 = add_t(g, "conv.b", DT_FLOAT, ROLE_WEIGHT, 1, db1);
  uint32_t wp = add_t(g, "primary.w", DT_FLOAT, ROLE_WEIGHT, 4, dwp);
  uint32_t wc = add_t(g, "class.w", DT_FLOAT, ROLE_WEIGHT, 4, dwc);
  uint32_t h = add_t(g, "h", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  uint32_t a = add_t(g, "a", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  uint32_t u = add_t(g, "u", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  uint32_t v = add_t(g, "v", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  uint32_t len = add_t(g, "lengths", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  add_n(g, OP_CONV, PHASE_FORWARD, (uint32_t[]){x, w1, b1}, 3, &h, 1);
  add_n(g, OP_RELU, PHASE_FORWARD, &h, 1, &a, 1);
  uint32_t n = add_n(g, OP_PRIMARY_CAPS, PHASE_FORWARD, (uint32_t[]){a, wp}, 2, &u, 1);
  ir_set_attr_int(g, n, "num_capsules", 2);
  ir_set_attr_int(g, n, "capsule_dim", 4);
  ir_set_attr_ints(g, n, "strides", (int64_t[]){2, 2}, 2);
  n = add_n(g, OP_CLASS_CAPS, PHASE_FORWARD, (uint32_t[]){u, wc}, 2, &v, 1);
  ir_set_attr_int(g, n, "num_capsules", 3);
  ir_set_attr_int(g, n, "capsule_dim", 2);
  ir_set_attr_int(g, n, "routing_iterations", 3);
  n = add_n(g, OP_REDUCE_L2, PHASE_FORWARD, &v, 1, &len, 1);
  ir_set_attr_ints(g, n, "axes", axes, 1);
  ir_set_attr_int(g, n, "keepdims", 0);
  ir_graph_add_output(g, len);
  Diag d;
  diag_init(&d);
  XdlStatus st = ir_infer_shapes(g, &d);
  if (st != XDL_OK) printf("\n  capsnet: %s\n", d.msg);
  CU_ASSERT_EQUAL_FATAL(st, XDL_OK);
  check_model(g, "tiny capsnet (margin loss)", 16);
  ir_graph_free(g);
}

int main(void) {
  CU_TestInfo tests[] = {
      {"conformance_output_values", test_conformance_values},
      {"adam_multiple_with_its_epsilon", test_adam_multiple_epsilon},
      {"lenet5_forward", test_lenet_forward},
      {"grad_check_hand_built", test_grad_check_hand_built},
      {"grad_check_every_backward_rule", test_grad_check_ops},
      {"grad_check_lenet5", test_grad_check_lenet},
      {"grad_check_capsnet", test_grad_check_capsnet},
      CU_TEST_INFO_NULL,
  };
  return tu_run_suite("interp", tests);
}
