/* test_onnx_export.c — the ONNX writer (frontend/onnx_export.c): tiny graphs built in C round
 * trip through onnx_save and onnx_load with their nodes, attributes, shapes, roles and known
 * values; external-data initializers import without their side file; output is deterministic
 * and atomic; and the shipped models in models/nets import with the MACs and parameters their
 * architectures give by formula. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "testutil.h"

/* ---- scratch directories ---- */

static char *make_tmpdir(void) {
  char *dir = strdup("/tmp/xdl_export_XXXXXX");
  if (dir && !mkdtemp(dir)) {
    free(dir);
    return NULL;
  }
  return dir;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Number of entries in dir other than "." and ".."; -1 if it cannot be read. */
static int count_entries(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(dp));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(dp);
  return n;
}

/* Removes dir and the plain files and empty directories directly inside it. */
static void remove_tmpdir(char *dir) {
  if (!dir) return;
  DIR *dp = opendir(dir);
  if (dp) {
    for (struct dirent *e; (e = readdir(dp));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char *p = join(dir, e->d_name);
      if (p && unlink(p) != 0) rmdir(p);
      free(p);
    }
    closedir(dp);
  }
  rmdir(dir);
  free(dir);
}

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* ---- tiny graphs ---- */

static uint32_t tensor(Graph *g, const char *name, DataType dt, TensorRole role, int rank,
                       const int64_t *dims) {
  Diag d;
  diag_init(&d);
  uint32_t t = ir_add_tensor(g, name, dt, role, rank, dims, &d);
  CU_ASSERT_FATAL(t != IR_NONE);
  return t;
}

static uint32_t node(Graph *g, OpKind op, const char *name, const uint32_t *ins, int n_in,
                     uint32_t out) {
  Diag d;
  diag_init(&d);
  uint32_t n = ir_add_node(g, op, name, ins, n_in, &out, 1, &d);
  CU_ASSERT_FATAL(n != IR_NONE);
  return n;
}

/* x[1,3,8,8] → Conv(3→4, 3×3, stride 2, pad 1) → Relu → Reshape(to [0,-1]) → Gemm(64→10)
 * → Clip(0, 6) → out[1,10]. The Reshape target and the Clip bounds carry known values. */
static Graph *tiny_cnn(void) {
  Graph *g = ir_graph_new();
  CU_ASSERT_FATAL(g != NULL);
  g->name = "tiny";
  g->opset = 13;
  uint32_t x = tensor(g, "x", DT_FLOAT, ROLE_INPUT, 4, (int64_t[]){1, 3, 8, 8});
  CU_ASSERT_FATAL(ir_graph_add_input(g, x));
  uint32_t w = tensor(g, "conv.weight", DT_FLOAT, ROLE_WEIGHT, 4, (int64_t[]){4, 3, 3, 3});
  uint32_t b = tensor(g, "conv.bias", DT_FLOAT, ROLE_WEIGHT, 1, (int64_t[]){4});
  uint32_t c = tensor(g, "c", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  uint32_t n = node(g, OP_CONV, "/conv/Conv", (uint32_t[]){x, w, b}, 3, c);
  CU_ASSERT(ir_set_attr_ints(g, n, "kernel_shape", (int64_t[]){3, 3}, 2));
  CU_ASSERT(ir_set_attr_ints(g, n, "pads", (int64_t[]){1, 1, 1, 1}, 4));
  CU_ASSERT(ir_set_attr_ints(g, n, "strides", (int64_t[]){2, 2}, 2));
  CU_ASSERT(ir_set_attr_int(g, n, "group", 1));
  uint32_t r = tensor(g, "r", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  node(g, OP_RELU, "/relu/Relu", &c, 1, r);
  uint32_t shape = tensor(g, "shape", DT_INT64, ROLE_CONST, 1, (int64_t[]){2});
  CU_ASSERT(ir_set_ivals(g, shape, (int64_t[]){0, -1}, 2));
  uint32_t f = tensor(g, "f", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  node(g, OP_RESHAPE, "/Reshape", (uint32_t[]){r, shape}, 2, f);
  uint32_t fw = tensor(g, "fc.weight", DT_FLOAT, ROLE_WEIGHT, 2, (int64_t[]){10, 64});
  uint32_t fb = tensor(g, "fc.bias", DT_FLOAT, ROLE_WEIGHT, 1, (int64_t[]){10});
  uint32_t y = tensor(g, "y", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  n = node(g, OP_GEMM, "/fc/Gemm", (uint32_t[]){f, fw, fb}, 3, y);
  CU_ASSERT(ir_set_attr_float(g, n, "alpha", 0.5));
  CU_ASSERT(ir_set_attr_int(g, n, "transB", 1));
  uint32_t lo = tensor(g, "lo", DT_FLOAT, ROLE_CONST, 0, NULL);
  uint32_t hi = tensor(g, "hi", DT_FLOAT, ROLE_CONST, 0, NULL);
  CU_ASSERT(ir_set_fvals(g, lo, (double[]){0.0}, 1));
  CU_ASSERT(ir_set_fvals(g, hi, (double[]){6.0}, 1));
  uint32_t out = tensor(g, "out", DT_FLOAT, ROLE_ACTIVATION, 2, (int64_t[]){1, 10});
  node(g, OP_CLIP, "/act/Clip", (uint32_t[]){y, lo, hi}, 3, out);
  CU_ASSERT_FATAL(ir_graph_add_output(g, out));
  return g;
}

/* Saves g into dir/name with opts and loads it back (with import options io); NULL on
 * failure (the message is printed). */
static Graph *round_trip(const Graph *g, const char *dir, const char *name,
                         const ExportOptions *opts, const ImportOptions *io) {
  char *path = join(dir, name);
  Diag d;
  diag_init(&d);
  Graph *back = NULL;
  if (onnx_save(g, path, opts, &d) != XDL_OK)
    fprintf(stderr, "\n  onnx_save: %s\n", d.msg);
  else if (!(back = onnx_load(path, io, &d)))
    fprintf(stderr, "\n  onnx_load: %s\n", d.msg);
  free(path);
  return back;
}

static const Tensor *find(const Graph *g, const char *name) {
  uint32_t t = ir_find_tensor(g, name);
  CU_ASSERT_FATAL(t != IR_NONE);
  return &g->tensors[t];
}

static bool dims_are(const Tensor *t, int rank, const int64_t *dims) {
  if (t->rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (t->dims[i] != dims[i]) return false;
  return true;
}

/* ---- round trips ---- */

static void test_round_trip_cnn(void) {
  char *dir = make_tmpdir();
  CU_ASSERT_FATAL(dir != NULL);
  Graph *g = tiny_cnn();
  Graph *back = round_trip(g, dir, "tiny.onnx", NULL, NULL);
  CU_ASSERT_FATAL(back != NULL);
  CU_ASSERT_EQUAL(back->opset, 13);
  CU_ASSERT_EQUAL(back->n_nodes, g->n_nodes);
  for (uint32_t n = 0; n < g->n_nodes && n < back->n_nodes; n++) {
    const Node *a = &g->nodes[n], *b = &back->nodes[n];
    CU_ASSERT_EQUAL(a->op, b->op);
    CU_ASSERT_STRING_EQUAL(a->name, b->name);
    CU_ASSERT_EQUAL(a->n_inputs, b->n_inputs);
    CU_ASSERT_EQUAL(a->n_attrs, b->n_attrs);
    for (int i = 0; i < a->n_inputs && i < b->n_inputs; i++)
      CU_ASSERT_STRING_EQUAL(g->tensors[a->inputs[i]].name, back->tensors[b->inputs[i]].name);
    for (int i = 0; i < a->n_attrs; i++) {
      const Attr *x = &a->attrs[i], *y = ir_node_attr(back, n, x->name);
      CU_ASSERT_FATAL(y != NULL);
      CU_ASSERT_EQUAL(x->kind, y->kind);
      if (x->kind == ATTR_INT) CU_ASSERT_EQUAL(x->i, y->i);
      if (x->kind == ATTR_FLOAT) CU_ASSERT_DOUBLE_EQUAL(x->f, y->f, 1e-7);
      if (x->kind == ATTR_INTS) {
        CU_ASSERT_EQUAL_FATAL(x->n, y->n);
        CU_ASSERT(memcmp(x->ints, y->ints, (size_t)x->n * sizeof *x->ints) == 0);
      }
    }
  }
  /* Roles: the input, weights (float initializers read as data), constants. */
  CU_ASSERT_EQUAL(back->n_inputs, 1);
  CU_ASSERT_STRING_EQUAL(back->tensors[back->inputs[0]].name, "x");
  CU_ASSERT_EQUAL(find(back, "x")->role, ROLE_INPUT);
  CU_ASSERT_EQUAL(find(back, "conv.weight")->role, ROLE_WEIGHT);
  CU_ASSERT_EQUAL(find(back, "fc.bias")->role, ROLE_WEIGHT);
  CU_ASSERT_EQUAL(find(back, "shape")->role, ROLE_CONST);
  CU_ASSERT_EQUAL(find(back, "lo")->role, ROLE_CONST);
  /* Shapes inferred on import. */
  CU_ASSERT(dims_are(find(back, "conv.weight"), 4, (int64_t[]){4, 3, 3, 3}));
  CU_ASSERT(dims_are(find(back, "c"), 4, (int64_t[]){1, 4, 4, 4}));
  CU_ASSERT(dims_are(find(back, "f"), 2, (int64_t[]){1, 64}));
  CU_ASSERT(dims_are(find(back, "out"), 2, (int64_t[]){1, 10}));
  CU_ASSERT_EQUAL(back->n_outputs, 1);
  CU_ASSERT_STRING_EQUAL(back->tensors[back->outputs[0]].name, "out");
  /* Known values written inline come back. */
  const Tensor *shape = find(back, "shape");
  CU_ASSERT_FATAL(shape->ivals != NULL);
  CU_ASSERT_EQUAL(shape->ivals[0], 0);
  CU_ASSERT_EQUAL(shape->ivals[1], -1);
  const Tensor *hi = find(back, "hi");
  CU_ASSERT_EQUAL(hi->rank, 0);
  CU_ASSERT_FATAL(hi->fvals != NULL);
  CU_ASSERT_DOUBLE_EQUAL(hi->fvals[0], 6.0, 0.0);
  /* MACs survive: conv 64·27 + gemm 64·10. */
  int64_t macs = 0;
  for (uint32_t n = 0; n < back->n_nodes; n++) macs += ir_node_work(back, n).macs;
  CU_ASSERT_EQUAL(macs, 1 * 4 * 4 * 4 * 27 + 64 * 10);
  ir_graph_free(back);
  ir_graph_free(g);
  remove_tmpdir(dir);
}

/* Every AttrKind with an ONNX form: INT, FLOAT, STRING, INTS, FLOATS, STRINGS on an Identity
 * node, TENSOR as a Constant node's value (with typed values of several widths). */
static void test_round_trip_attrs(void) {
  char *dir = make_tmpdir();
  CU_ASSERT_FATAL(dir != NULL);
  Graph *g = ir_graph_new();
  CU_ASSERT_FATAL(g != NULL);
  g->opset = 13;
  uint32_t x = tensor(g, "x", DT_FLOAT, ROLE_INPUT, 2, (int64_t[]){2, 3});
  CU_ASSERT_FATAL(ir_graph_add_input(g, x));
  uint32_t y = tensor(g, "y", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  uint32_t n = node(g, OP_IDENTITY, "id", &x, 1, y);
  CU_ASSERT(ir_set_attr_int(g, n, "i", -7));
  CU_ASSERT(ir_set_attr_float(g, n, "f", 0.25));
  CU_ASSERT(ir_set_attr_string(g, n, "s", "hello"));
  CU_ASSERT(ir_set_attr_ints(g, n, "is", (int64_t[]){1, -2, 3000000000}, 3));
  CU_ASSERT(ir_set_attr_floats(g, n, "fs", (double[]){1.5, -2.0}, 2));
  CU_ASSERT(ir_set_attr_string(g, n, "ss", "unused"));
  Attr *a = ir_node_attr(g, n, "ss");
  const char **strs = arena_alloc(&g->arena, 2 * sizeof *strs);
  CU_ASSERT_FATAL(a != NULL && strs != NULL);
  strs[0] = "a";
  strs[1] = "bc";
  a->kind = ATTR_STRINGS;
  a->strs = strs;
  a->n = 2;
  CU_ASSERT_FATAL(ir_graph_add_output(g, y));
  /* Constant nodes whose value tensors hold int32, int8, bool and float16 values. */
  static const DataType types[4] = {DT_INT32, DT_INT8, DT_BOOL, DT_FLOAT16};
  static const char *const names[4] = {"k32", "k8", "kb", "kh"};
  for (int i = 0; i < 4; i++) {
    char vname[16];
    snprintf(vname, sizeof vname, "%s.value", names[i]);
    uint32_t v = tensor(g, vname, types[i], ROLE_CONST, 1, (int64_t[]){3});
    bool ok = types[i] == DT_FLOAT16 ? ir_set_fvals(g, v, (double[]){1.0, -0.5, 65504.0}, 3)
                                     : ir_set_ivals(g, v, (int64_t[]){0, -1, 100}, 3);
    CU_ASSERT(ok);
    uint32_t k = tensor(g, names[i], types[i], ROLE_CONST, -1, NULL);
    uint32_t kn = node(g, OP_CONSTANT, names[i], NULL, 0, k);
    CU_ASSERT(ir_set_attr_int(g, kn, "value", 0));
    a = ir_node_attr(g, kn, "value");
    a->kind = ATTR_TENSOR;
    a->tensor = v;
    CU_ASSERT_FATAL(ir_graph_add_output(g, k));
  }
  Graph *back = round_trip(g, dir, "attrs.onnx", NULL, NULL);
  CU_ASSERT_FATAL(back != NULL);
  uint32_t bn = ir_find_node(back, "id");
  CU_ASSERT_FATAL(bn != IR_NONE);
  CU_ASSERT_EQUAL(ir_attr_int(back, bn, "i", 0), -7);
  CU_ASSERT_DOUBLE_EQUAL(ir_attr_float(back, bn, "f", 0), 0.25, 0.0);
  CU_ASSERT_STRING_EQUAL(ir_attr_string(back, bn, "s", ""), "hello");
  a = ir_node_attr(back, bn, "is");
  CU_ASSERT_FATAL(a && a->kind == ATTR_INTS && a->n == 3);
  CU_ASSERT(a->ints[0] == 1 && a->ints[1] == -2 && a->ints[2] == 3000000000);
  a = ir_node_attr(back, bn, "fs");
  CU_ASSERT_FATAL(a && a->kind == ATTR_FLOATS && a->n == 2);
  CU_ASSERT(a->floats[0] == 1.5 && a->floats[1] == -2.0);
  a = ir_node_attr(back, bn, "ss");
  CU_ASSERT_FATAL(a && a->kind == ATTR_STRINGS && a->n == 2);
  CU_ASSERT_STRING_EQUAL(a->strs[0], "a");
  CU_ASSERT_STRING_EQUAL(a->strs[1], "bc");
  for (int i = 0; i < 4; i++) {
    const Tensor *k = find(back, names[i]);
    CU_ASSERT_EQUAL(k->dtype, types[i]);
    CU_ASSERT(dims_are(k, 1, (int64_t[]){3}));
    a = ir_node_attr(back, ir_find_node(back, names[i]), "value");
    CU_ASSERT_FATAL(a && a->kind == ATTR_TENSOR && a->tensor != IR_NONE);
    const Tensor *v = &back->tensors[a->tensor];
    CU_ASSERT_EQUAL(v->dtype, types[i]);
    if (types[i] == DT_FLOAT16) {
      CU_ASSERT_FATAL(v->fvals != NULL);
      CU_ASSERT(v->fvals[0] == 1.0 && v->fvals[1] == -0.5 && v->fvals[2] == 65504.0);
    } else {
      CU_ASSERT_FATAL(v->ivals != NULL);
      int64_t want2 = types[i] == DT_BOOL ? 1 : 100, want1 = types[i] == DT_BOOL ? 1 : -1;
      CU_ASSERT(v->ivals[0] == 0 && v->ivals[1] == want1 && v->ivals[2] == want2);
    }
  }
  ir_graph_free(back);
  ir_graph_free(g);
  remove_tmpdir(dir);
}

/* Weights without bytes become external data in "<stem>.weights", which is never written; the
 * importer takes their dims from the TensorProto. A symbolic batch dim binds to --batch. */
static void test_external_and_batch(void) {
  char *dir = make_tmpdir();
  CU_ASSERT_FATAL(dir != NULL);
  Graph *g = tiny_cnn();
  ExportOptions eo = {.batch_param = "batch"};
  ImportOptions io = {.batch = 3};
  Graph *back = round_trip(g, dir, "net.onnx", &eo, &io);
  CU_ASSERT_FATAL(back != NULL);
  CU_ASSERT_EQUAL(count_entries(dir), 1); /* net.onnx only: no side file, no temp file */
  const Tensor *w = find(back, "conv.weight");
  CU_ASSERT(dims_are(w, 4, (int64_t[]){4, 3, 3, 3}));
  CU_ASSERT(w->data.bytes == NULL);
  CU_ASSERT_FATAL(w->data.external != NULL);
  CU_ASSERT_STRING_EQUAL(w->data.external, "net.weights");
  CU_ASSERT_EQUAL(w->data.ext_length, 4 * 3 * 3 * 3 * 4);
  const Tensor *fw = find(back, "fc.weight");
  CU_ASSERT_FATAL(fw->data.external != NULL);
  CU_ASSERT_EQUAL(fw->data.ext_length, 10 * 64 * 4);
  CU_ASSERT(fw->data.ext_offset >= w->data.ext_offset + w->data.ext_length);
  CU_ASSERT(dims_are(find(back, "x"), 4, (int64_t[]){3, 3, 8, 8}));
  CU_ASSERT(dims_are(find(back, "out"), 2, (int64_t[]){3, 10}));
  ir_graph_free(back);
  ir_graph_free(g);
  remove_tmpdir(dir);
}

/* Same graph, same options → the same bytes (saved under the same file name in two dirs,
 * since the side-file name is part of the model). */
static void test_deterministic(void) {
  char *d1 = make_tmpdir(), *d2 = make_tmpdir();
  CU_ASSERT_FATAL(d1 && d2);
  Graph *g = tiny_cnn();
  char *p1 = join(d1, "m.onnx"), *p2 = join(d2, "m.onnx");
  ExportOptions eo = {.batch_param = "batch"};
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(onnx_save(g, p1, &eo, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(onnx_save(g, p2, &eo, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(onnx_save(g, p2, &eo, &d), XDL_OK); /* overwrite in place */
  size_t n1 = 0, n2 = 0;
  uint8_t *b1 = tu_read_file(p1, &n1), *b2 = tu_read_file(p2, &n2);
  CU_ASSERT_FATAL(b1 && b2);
  CU_ASSERT(n1 > 0);
  CU_ASSERT_EQUAL(n1, n2);
  CU_ASSERT(n1 == n2 && memcmp(b1, b2, n1) == 0);
  free(b1);
  free(b2);
  free(p1);
  free(p2);
  ir_graph_free(g);
  remove_tmpdir(d1);
  remove_tmpdir(d2);
}

/* ---- failures ---- */

static void test_write_failures(void) {
  char *dir = make_tmpdir();
  CU_ASSERT_FATAL(dir != NULL);
  Graph *g = tiny_cnn();
  Diag d;

  /* A directory that does not exist: the error names the path. */
  char *missing = join(dir, "no/such/dir/m.onnx");
  diag_init(&d);
  CU_ASSERT_NOT_EQUAL(onnx_save(g, missing, NULL, &d), XDL_OK);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, missing));
  CU_ASSERT_EQUAL(count_entries(dir), 0);

  /* The target is a directory: the rename fails and the temporary file is removed. */
  char *isdir = join(dir, "m.onnx");
  CU_ASSERT_FATAL(mkdir(isdir, 0777) == 0);
  diag_init(&d);
  CU_ASSERT_NOT_EQUAL(onnx_save(g, isdir, NULL, &d), XDL_OK);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, isdir));
  CU_ASSERT_EQUAL(count_entries(dir), 1);
  CU_ASSERT_EQUAL(count_entries(isdir), 0);
  rmdir(isdir);

  /* A read-only directory (meaningless as root, who may write anyway). */
  if (geteuid() != 0) {
    CU_ASSERT_FATAL(chmod(dir, 0555) == 0);
    char *ro = join(dir, "ro.onnx");
    diag_init(&d);
    CU_ASSERT_NOT_EQUAL(onnx_save(g, ro, NULL, &d), XDL_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, ro));
    CU_ASSERT_EQUAL(count_entries(dir), 0);
    chmod(dir, 0755);
    free(ro);
  }

  /* A graph that cannot be exported leaves an existing file untouched. */
  char *good = join(dir, "keep.onnx");
  diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(onnx_save(g, good, NULL, &d), XDL_OK);
  size_t n_before = 0, n_after = 0;
  uint8_t *before = tu_read_file(good, &n_before);
  uint32_t dangling = tensor(g, "dangling", DT_FLOAT, ROLE_ACTIVATION, 1, (int64_t[]){10});
  uint32_t z = tensor(g, "z", DT_FLOAT, ROLE_ACTIVATION, -1, NULL);
  node(g, OP_ADD, "/bad/Add", (uint32_t[]){g->outputs[0], dangling}, 2, z);
  diag_init(&d);
  CU_ASSERT_NOT_EQUAL(onnx_save(g, good, NULL, &d), XDL_OK);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, good));
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "dangling"));
  uint8_t *after = tu_read_file(good, &n_after);
  CU_ASSERT_FATAL(before && after);
  CU_ASSERT(n_before == n_after && memcmp(before, after, n_before) == 0);
  CU_ASSERT_EQUAL(count_entries(dir), 1);
  free(before);
  free(after);

  /* No opset: refused before anything is written. */
  Graph *empty = ir_graph_new();
  char *noop = join(dir, "noopset.onnx");
  diag_init(&d);
  CU_ASSERT_NOT_EQUAL(onnx_save(empty, noop, NULL, &d), XDL_OK);
  CU_ASSERT_FALSE(file_exists(noop));
  ir_graph_free(empty);

  /* Nodes out of topological order are refused. */
  Graph *bad = ir_graph_new();
  CU_ASSERT_FATAL(bad != NULL);
  bad->opset = 13;
  uint32_t bx = tensor(bad, "x", DT_FLOAT, ROLE_INPUT, 1, (int64_t[]){4});
  uint32_t ba = tensor(bad, "a", DT_FLOAT, ROLE_ACTIVATION, 1, (int64_t[]){4});
  uint32_t bb = tensor(bad, "b", DT_FLOAT, ROLE_ACTIVATION, 1, (int64_t[]){4});
  CU_ASSERT_FATAL(ir_graph_add_input(bad, bx) && ir_graph_add_output(bad, bb));
  node(bad, OP_RELU, "second", &ba, 1, bb);
  node(bad, OP_RELU, "first", &bx, 1, ba);
  diag_init(&d);
  CU_ASSERT_NOT_EQUAL(onnx_save(bad, noop, NULL, &d), XDL_OK);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "topological"));
  CU_ASSERT_FALSE(file_exists(noop));
  ir_graph_free(bad);

  free(noop);
  free(good);
  free(isdir);
  free(missing);
  ir_graph_free(g);
  remove_tmpdir(dir);
}

/* Failing the Nth allocation anywhere in onnx_save gives an error and no file, never a crash
 * or a leak; eventually the save succeeds. */
static void test_alloc_failures(void) {
  char *dir = make_tmpdir();
  CU_ASSERT_FATAL(dir != NULL);
  Graph *g = tiny_cnn();
  char *path = join(dir, "m.onnx");
  bool saved = false;
  for (uint64_t k = 1; k < 1000 && !saved; k++) {
    Diag d;
    diag_init(&d);
    xdl_alloc_fail_after(k);
    XdlStatus st = onnx_save(g, path, NULL, &d);
    xdl_alloc_fail_after(0);
    saved = st == XDL_OK;
    if (!saved) {
      CU_ASSERT_FALSE(diag_ok(&d));
      CU_ASSERT_FALSE(file_exists(path));
    }
  }
  CU_ASSERT(saved);
  CU_ASSERT_EQUAL(count_entries(dir), 1);
  free(path);
  ir_graph_free(g);
  remove_tmpdir(dir);
}

/* ---- the shipped models ---- */

/* MACs of a k×k convolution by the oracle's rule: output elements · Cin/groups · k². */
static int64_t conv_macs(int64_t cin, int64_t cout, int64_t k, int64_t out_hw, int64_t groups) {
  return out_hw * out_hw * cout * (cin / groups) * k * k;
}

static int64_t conv_params(int64_t cin, int64_t cout, int64_t k, int64_t groups) {
  return cout * (cin / groups) * k * k + cout; /* weights + bias (BatchNorm folded in) */
}

typedef struct Expect {
  const char *name;
  int64_t macs, params;
} Expect;

/* Expected batch-1 figures from each architecture's layer list (torchvision shapes). */
static void expected_figures(Expect *e, int *n) {
  int k = 0;
  /* LeNet-5: conv 1→6 5×5 on 28×28 (padded), conv 6→16 5×5 on 14×14, fc 400-120-84-10. */
  e[k++] = (Expect){"lenet5",
                    conv_macs(1, 6, 5, 28, 1) + conv_macs(6, 16, 5, 10, 1) + 400 * 120 +
                        120 * 84 + 84 * 10,
                    conv_params(1, 6, 5, 1) + conv_params(6, 16, 5, 1) + 400 * 120 + 120 +
                        120 * 84 + 84 + 84 * 10 + 10};
  /* AlexNet. */
  e[k++] = (Expect){"alexnet",
                    conv_macs(3, 64, 11, 55, 1) + conv_macs(64, 192, 5, 27, 1) +
                        conv_macs(192, 384, 3, 13, 1) + conv_macs(384, 256, 3, 13, 1) +
                        conv_macs(256, 256, 3, 13, 1) + 9216LL * 4096 + 4096LL * 4096 +
                        4096LL * 1000,
                    conv_params(3, 64, 11, 1) + conv_params(64, 192, 5, 1) +
                        conv_params(192, 384, 3, 1) + conv_params(384, 256, 3, 1) +
                        conv_params(256, 256, 3, 1) + 9216LL * 4096 + 4096 + 4096LL * 4096 +
                        4096 + 4096LL * 1000 + 1000};
  /* VGG16 (configuration D): thirteen 3×3 convs, five 2×2 pools, three fc. */
  static const int vgg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0,
                            512, 512, 512, 0, 512, 512, 512, 0};
  Expect v = {"vgg16", 0, 0};
  int64_t cin = 3, hw = 224;
  for (size_t i = 0; i < sizeof vgg / sizeof *vgg; i++) {
    if (!vgg[i]) {
      hw /= 2;
      continue;
    }
    v.macs += conv_macs(cin, vgg[i], 3, hw, 1);
    v.params += conv_params(cin, vgg[i], 3, 1);
    cin = vgg[i];
  }
  v.macs += 25088LL * 4096 + 4096LL * 4096 + 4096LL * 1000;
  v.params += 25088LL * 4096 + 4096 + 4096LL * 4096 + 4096 + 4096LL * 1000 + 1000;
  e[k++] = v;
  /* ResNet-18: 7×7 stem to 112², four stages of two basic blocks (56², 28², 14², 7²). */
  Expect r = {"resnet18", conv_macs(3, 64, 7, 112, 1), conv_params(3, 64, 7, 1)};
  cin = 64;
  for (int s = 0; s < 4; s++) {
    int64_t planes = 64 << s, out = 56 >> s;
    for (int b = 0; b < 2; b++) {
      r.macs += conv_macs(cin, planes, 3, out, 1) + conv_macs(planes, planes, 3, out, 1);
      r.params += conv_params(cin, planes, 3, 1) + conv_params(planes, planes, 3, 1);
      if (cin != planes) {
        r.macs += conv_macs(cin, planes, 1, out, 1);
        r.params += conv_params(cin, planes, 1, 1);
      }
      cin = planes;
    }
  }
  r.macs += 512 * 1000;
  r.params += 512 * 1000 + 1000;
  e[k++] = r;
  /* MobileNetV2: stem, 17 inverted residual blocks (t, c, n, s), 1×1 to 1280, fc. */
  static const int64_t set[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  Expect m = {"mobilenet_v2", conv_macs(3, 32, 3, 112, 1), conv_params(3, 32, 3, 1)};
  cin = 32;
  hw = 112;
  for (int i = 0; i < 7; i++)
    for (int64_t j = 0; j < set[i][2]; j++) {
      int64_t hid = cin * set[i][0], cout = set[i][1];
      if (set[i][0] != 1) {
        m.macs += conv_macs(cin, hid, 1, hw, 1);
        m.params += conv_params(cin, hid, 1, 1);
      }
      if (j == 0) hw /= set[i][3];
      m.macs += conv_macs(hid, hid, 3, hw, hid) + conv_macs(hid, cout, 1, hw, 1);
      m.params += conv_params(hid, hid, 3, hid) + conv_params(hid, cout, 1, 1);
      cin = cout;
    }
  m.macs += conv_macs(320, 1280, 1, 7, 1) + 1280 * 1000;
  m.params += conv_params(320, 1280, 1, 1) + 1280 * 1000 + 1000;
  e[k++] = m;
  /* Tiny MLP: 784-256-128-10. */
  e[k++] = (Expect){"tiny_mlp", 784 * 256 + 256 * 128 + 128 * 10,
                    784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10};
  *n = k;
}

static void test_shipped_models(void) {
  Expect want[8];
  int n_want = 0;
  expected_figures(want, &n_want);
  /* Cross-check the formula against the refdata oracle's published AlexNet conv layers. */
  CU_ASSERT_EQUAL(want[1].macs, 70276800LL + 223948800 + 112140288 + 149520384 + 99680256 +
                                    37748736 + 16777216 + 4096000);
  char *dir = tu_source("models/nets");
  DIR *dp = opendir(dir);
  CU_ASSERT_FATAL(dp != NULL);
  int seen = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    size_t len = strlen(e->d_name);
    CU_ASSERT(len < 8 || strcmp(e->d_name + len - 8, ".weights") != 0); /* never shipped */
    if (len < 6 || strcmp(e->d_name + len - 5, ".onnx") != 0) continue;
    char *path = join(dir, e->d_name);
    size_t bytes = 0;
    uint8_t *raw = tu_read_file(path, &bytes);
    CU_ASSERT(raw && bytes < 64 * 1024); /* weights stripped: a few KB */
    free(raw);
    Diag d;
    diag_init(&d);
    ImportOptions io = {.batch = 2};
    Graph *g1 = onnx_load(path, NULL, &d), *g2 = onnx_load(path, &io, &d);
    if (!g1 || !g2) fprintf(stderr, "\n  %s: %s\n", path, d.msg);
    CU_ASSERT_FATAL(g1 && g2);
    int64_t macs = 0, params = 0, macs2 = 0;
    for (uint32_t n = 0; n < g1->n_nodes; n++) {
      NodeWork w = ir_node_work(g1, n);
      macs += w.macs;
      params += w.params;
    }
    for (uint32_t n = 0; n < g2->n_nodes; n++) macs2 += ir_node_work(g2, n).macs;
    CU_ASSERT(macs > 0);
    CU_ASSERT_EQUAL(macs2, 2 * macs); /* the leading dim is a symbolic batch */
    CU_ASSERT_EQUAL(g1->opset, 13);
    CU_ASSERT_EQUAL_FATAL(g1->n_inputs, 1);
    CU_ASSERT_STRING_EQUAL(g1->tensors[g1->inputs[0]].name, "input");
    CU_ASSERT_EQUAL_FATAL(g1->n_outputs, 1);
    CU_ASSERT_STRING_EQUAL(g1->tensors[g1->outputs[0]].name, "output");
    for (int i = 0; i < n_want; i++) {
      if (len - 5 != strlen(want[i].name) || strncmp(e->d_name, want[i].name, len - 5)) continue;
      seen++;
      CU_ASSERT_EQUAL(macs, want[i].macs);
      CU_ASSERT_EQUAL(params, want[i].params);
      if (macs != want[i].macs || params != want[i].params)
        fprintf(stderr, "\n  %s: %lld MACs, %lld params; expected %lld, %lld\n", e->d_name,
                (long long)macs, (long long)params, (long long)want[i].macs,
                (long long)want[i].params);
    }
    ir_graph_free(g1);
    ir_graph_free(g2);
    free(path);
  }
  closedir(dp);
  CU_ASSERT_EQUAL(seen, n_want); /* every model this suite knows is shipped */
  free(dir);
}

/* PyTorch-style node names survive: the shipped AlexNet's first node. */
static void test_shipped_names(void) {
  char *path = tu_source("models/nets/alexnet.onnx");
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, NULL, &d);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_STRING_EQUAL(g->nodes[0].name, "/features/features.0/Conv");
  CU_ASSERT_EQUAL(g->nodes[0].op, OP_CONV);
  CU_ASSERT(ir_find_node(g, "/classifier/classifier.6/Gemm") != IR_NONE);
  ir_graph_free(g);
  free(path);
}

int main(void) {
  CU_TestInfo tests[] = {
      {"round trip: small CNN", test_round_trip_cnn},
      {"round trip: every attribute kind", test_round_trip_attrs},
      {"external data without side file, symbolic batch", test_external_and_batch},
      {"deterministic bytes", test_deterministic},
      {"write failures leave no partial file", test_write_failures},
      {"allocation failures", test_alloc_failures},
      {"shipped models: MACs and params by formula", test_shipped_models},
      {"shipped models: PyTorch-style names", test_shipped_names},
      CU_TEST_INFO_NULL,
  };
  return tu_run_suite("onnx_export", tests);
}
