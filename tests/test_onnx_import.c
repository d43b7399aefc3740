/* test_onnx_import.c — the ONNX frontend: tiny models built in C with protobuf-c (initializer
 * forms, symbolic dims, roles, Constant nodes, every rejected input), an allocation-failure
 * loop, and a fuzz pass that imports thousands of truncated and bit-flipped variants of every
 * fixture model in ../shared/refdata/onnx (run under ASan/UBSan in the sanitizer build). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "onnx/onnx.pb-c.h"
#include "testutil.h"

/* ---- a tiny model builder over the protobuf-c structs (test-owned memory) ---- */
enum { MB_MAX = 32, MB_ATTRS = 8, MB_DIMS = 10 };

typedef struct MB {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opsets[4], *opset_ptrs[4];
  Onnx__NodeProto nodes[MB_MAX], *node_ptrs[MB_MAX];
  Onnx__AttributeProto attrs[MB_MAX][MB_ATTRS], *attr_ptrs[MB_MAX][MB_ATTRS];
  Onnx__TensorProto inits[MB_MAX], *init_ptrs[MB_MAX];
  Onnx__ValueInfoProto vis[MB_MAX], *in_ptrs[MB_MAX], *out_ptrs[MB_MAX], *vi_ptrs[MB_MAX];
  Onnx__TypeProto types[MB_MAX];
  Onnx__TypeProto__Tensor ttypes[MB_MAX];
  Onnx__TensorShapeProto shapes[MB_MAX];
  Onnx__TensorShapeProto__Dimension dims[MB_MAX][MB_DIMS], *dim_ptrs[MB_MAX][MB_DIMS];
  Onnx__StringStringEntryProto ext[MB_MAX][3], *ext_ptrs[MB_MAX][3];
  Onnx__GraphProto subgraph;
  int n_vis;
  void *pool[256];
  int n_pool;
} MB;

/* NAMES("a", "b") expands to the (array, count) pair mb_node takes; NONE_ is the empty pair. */
#define NAMES(...)                                                                              \
  (const char *[]){__VA_ARGS__},                                                               \
      (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *))
#define NONE_ NULL, 0

static void *mb_keep(MB *mb, void *p) {
  CU_ASSERT_FATAL(mb->n_pool < 256);
  mb->pool[mb->n_pool++] = p;
  return p;
}

static void *mb_dup(MB *mb, const void *p, size_t n) {
  void *q = mb_keep(mb, malloc(n ? n : 1));
  if (n) memcpy(q, p, n);
  return q;
}

static MB *mb_new(int64_t opset) {
  MB *mb = calloc(1, sizeof *mb);
  onnx__model_proto__init(&mb->model);
  onnx__graph_proto__init(&mb->graph);
  onnx__graph_proto__init(&mb->subgraph);
  mb->model.has_ir_version = 1;
  mb->model.ir_version = 7;
  mb->model.graph = &mb->graph;
  mb->graph.name = "g";
  mb->model.opset_import = mb->opset_ptrs;
  mb->graph.node = mb->node_ptrs;
  mb->graph.initializer = mb->init_ptrs;
  mb->graph.input = mb->in_ptrs;
  mb->graph.output = mb->out_ptrs;
  mb->graph.value_info = mb->vi_ptrs;
  if (opset) {
    Onnx__OperatorSetIdProto *o = &mb->opsets[mb->model.n_opset_import];
    onnx__operator_set_id_proto__init(o);
    o->domain = "";
    o->has_version = 1;
    o->version = opset;
    mb->opset_ptrs[mb->model.n_opset_import++] = o;
  }
  return mb;
}

static void mb_opset(MB *mb, const char *domain, int64_t v) {
  Onnx__OperatorSetIdProto *o = &mb->opsets[mb->model.n_opset_import];
  onnx__operator_set_id_proto__init(o);
  o->domain = (char *)domain;
  o->has_version = 1;
  o->version = v;
  mb->opset_ptrs[mb->model.n_opset_import++] = o;
}

static void mb_free(MB *mb) {
  for (int i = 0; i < mb->n_pool; i++) free(mb->pool[i]);
  free(mb);
}

/* A value info with a tensor type; dims[k] < 0 with params[k] set = symbolic; params NULL =
 * static; rank < 0 = no shape. */
static Onnx__ValueInfoProto *mb_vi(MB *mb, const char *name, int elem, int rank,
                                   const int64_t *dims, const char *const *params) {
  int i = mb->n_vis++;
  CU_ASSERT_FATAL(i < MB_MAX && rank <= MB_DIMS);
  Onnx__ValueInfoProto *vi = &mb->vis[i];
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(&mb->types[i]);
  onnx__type_proto__tensor__init(&mb->ttypes[i]);
  vi->name = (char *)name;
  vi->type = &mb->types[i];
  mb->types[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  mb->types[i].tensor_type = &mb->ttypes[i];
  mb->ttypes[i].has_elem_type = 1;
  mb->ttypes[i].elem_type = elem;
  if (rank < 0) return vi;
  onnx__tensor_shape_proto__init(&mb->shapes[i]);
  mb->ttypes[i].shape = &mb->shapes[i];
  mb->shapes[i].n_dim = (size_t)rank;
  mb->shapes[i].dim = mb->dim_ptrs[i];
  for (int k = 0; k < rank; k++) {
    Onnx__TensorShapeProto__Dimension *dm = &mb->dims[i][k];
    onnx__tensor_shape_proto__dimension__init(dm);
    if (params && params[k]) {
      dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      dm->dim_param = (char *)params[k];
    } else if (dims[k] != INT64_MIN) {
      dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dm->dim_value = dims[k];
    }
    mb->dim_ptrs[i][k] = dm;
  }
  return vi;
}

static void mb_input(MB *mb, const char *name, int elem, int rank, const int64_t *dims,
                     const char *const *params) {
  mb->in_ptrs[mb->graph.n_input++] = mb_vi(mb, name, elem, rank, dims, params);
}

static void mb_output(MB *mb, const char *name, int rank, const int64_t *dims) {
  mb->out_ptrs[mb->graph.n_output++] = mb_vi(mb, name, 1, rank, dims, NULL);
}

static Onnx__TensorProto *mb_tensor(MB *mb, const char *name, int dt, int rank,
                                    const int64_t *dims) {
  size_t i = mb->graph.n_initializer++;
  Onnx__TensorProto *t = &mb->inits[i];
  onnx__tensor_proto__init(t);
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = dt;
  t->n_dims = (size_t)rank;
  t->dims = mb_dup(mb, dims, (size_t)rank * sizeof *dims);
  mb->init_ptrs[i] = t;
  return t;
}

static Onnx__TensorProto *mb_raw(MB *mb, const char *name, int dt, int rank,
                                 const int64_t *dims, const void *bytes, size_t n) {
  Onnx__TensorProto *t = mb_tensor(mb, name, dt, rank, dims);
  t->has_raw_data = 1;
  t->raw_data.len = n;
  t->raw_data.data = mb_dup(mb, bytes, n);
  return t;
}

static Onnx__TensorProto *mb_floats(MB *mb, const char *name, int rank, const int64_t *dims,
                                    const float *v, size_t n) {
  Onnx__TensorProto *t = mb_tensor(mb, name, DT_FLOAT, rank, dims);
  t->n_float_data = n;
  t->float_data = mb_dup(mb, v, n * sizeof *v);
  return t;
}

static Onnx__TensorProto *mb_ints(MB *mb, const char *name, int rank, const int64_t *dims,
                                  const int64_t *v, size_t n) {
  Onnx__TensorProto *t = mb_tensor(mb, name, DT_INT64, rank, dims);
  t->n_int64_data = n;
  t->int64_data = mb_dup(mb, v, n * sizeof *v);
  return t;
}

static Onnx__TensorProto *mb_external(MB *mb, const char *name, int dt, int rank,
                                      const int64_t *dims, const char *loc) {
  size_t i = mb->graph.n_initializer;
  Onnx__TensorProto *t = mb_tensor(mb, name, dt, rank, dims);
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  const char *keys[3] = {"location", "offset", "length"}, *vals[3] = {loc, "4096", "64"};
  for (int k = 0; k < 3; k++) {
    onnx__string_string_entry_proto__init(&mb->ext[i][k]);
    mb->ext[i][k].key = (char *)keys[k];
    mb->ext[i][k].value = (char *)vals[k];
    mb->ext_ptrs[i][k] = &mb->ext[i][k];
  }
  t->n_external_data = 3;
  t->external_data = mb->ext_ptrs[i];
  return t;
}

static Onnx__NodeProto *mb_node(MB *mb, const char *op, const char *name, const char **ins,
                                int n_in, const char **outs, int n_out) {
  size_t i = mb->graph.n_node++;
  CU_ASSERT_FATAL(i < MB_MAX);
  Onnx__NodeProto *nd = &mb->nodes[i];
  onnx__node_proto__init(nd);
  nd->op_type = (char *)op;
  nd->name = (char *)name;
  nd->n_input = (size_t)n_in;
  nd->input = mb_dup(mb, ins, (size_t)n_in * sizeof *ins);
  nd->n_output = (size_t)n_out;
  nd->output = mb_dup(mb, outs, (size_t)n_out * sizeof *outs);
  nd->attribute = mb->attr_ptrs[i];
  mb->node_ptrs[i] = nd;
  return nd;
}

static Onnx__AttributeProto *mb_attr(MB *mb, Onnx__NodeProto *nd, const char *name, int type) {
  size_t i = (size_t)(nd - mb->nodes), k = nd->n_attribute++;
  CU_ASSERT_FATAL(k < MB_ATTRS);
  Onnx__AttributeProto *a = &mb->attrs[i][k];
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  a->type = type;
  mb->attr_ptrs[i][k] = a;
  return a;
}

static void mb_attr_int(MB *mb, Onnx__NodeProto *nd, const char *name, int64_t v) {
  Onnx__AttributeProto *a = mb_attr(mb, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

static void mb_attr_ints(MB *mb, Onnx__NodeProto *nd, const char *name, const int64_t *v,
                         size_t n) {
  Onnx__AttributeProto *a = mb_attr(mb, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = n;
  a->ints = mb_dup(mb, v, n * sizeof *v);
}

/* Moves the last initializer mb_tensor/... made into a TENSOR attribute of nd. */
static void mb_attr_tensor(MB *mb, Onnx__NodeProto *nd, const char *name) {
  Onnx__AttributeProto *a = mb_attr(mb, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  a->t = mb->init_ptrs[--mb->graph.n_initializer];
}

static void mb_attr_graph(MB *mb, Onnx__NodeProto *nd, const char *name) {
  Onnx__AttributeProto *a = mb_attr(mb, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
  a->g = &mb->subgraph;
}

static uint8_t *mb_pack(MB *mb, size_t *len) {
  *len = onnx__model_proto__get_packed_size(&mb->model);
  uint8_t *buf = malloc(*len ? *len : 1);
  CU_ASSERT_FATAL(buf != NULL);
  CU_ASSERT_FATAL(onnx__model_proto__pack(&mb->model, buf) == *len);
  return buf;
}

/* Packs and imports mb as "model.onnx"; d receives the error on failure. */
static Graph *mb_load(MB *mb, const ImportOptions *opts, Diag *d) {
  size_t len;
  uint8_t *buf = mb_pack(mb, &len);
  diag_init(d);
  Graph *g = onnx_load_buffer(buf, len, "model.onnx", opts, d);
  free(buf);
  if (!g) {
    CU_ASSERT(d->status != XDL_OK);
    CU_ASSERT(d->msg[0] != '\0');
    CU_ASSERT(strchr(d->msg, '\n') == NULL);
  }
  return g;
}

/* Imports mb expecting failure with a message containing every given fragment. */
static void expect_error(MB *mb, const ImportOptions *opts, const char *const *frags, int n) {
  Diag d;
  Graph *g = mb_load(mb, opts, &d);
  CU_ASSERT_PTR_NULL(g);
  ir_graph_free(g);
  CU_ASSERT(strncmp(d.msg, "model.onnx: ", 12) == 0);
  for (int i = 0; i < n; i++) {
    if (!strstr(d.msg, frags[i])) {
      fprintf(stderr, "\n  message '%s' lacks '%s'\n", d.msg, frags[i]);
      CU_FAIL("error message lacks an expected fragment");
    }
  }
  mb_free(mb);
}
#define EXPECT_ERROR(mb, opts, ...) expect_error(mb, opts, NAMES(__VA_ARGS__))

static const Tensor *find(const Graph *g, const char *name) {
  uint32_t t = ir_find_tensor(g, name);
  CU_ASSERT_FATAL(t != IR_NONE);
  return &g->tensors[t];
}

static bool dims_are(const Tensor *t, int rank, const int64_t *dims) {
  if (t->rank != rank) return false;
  for (int k = 0; k < rank; k++)
    if (t->dims[k] != dims[k]) return false;
  return true;
}
/* DIMS(1, 4) expands to the (rank, dims) pair the builders take. */
#define DIMS(...)                                                                               \
  (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

/* x:f32[1,4] → Relu → y, the smallest valid model. */
static MB *relu_model(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 4), NULL);
  mb_node(mb, "Relu", "r", NAMES("x"), NAMES("y"));
  mb_output(mb, "y", -1, NULL);
  return mb;
}

/* ---- initializers ---- */
static void test_initializer_forms(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 4), NULL);
  float w[16];
  for (int i = 0; i < 16; i++) w[i] = (float)i;
  mb_raw(mb, "w", DT_FLOAT, DIMS(4, 4), w, sizeof w);
  const float b[4] = {0.5f, -1.0f, 2.0f, 3.0f};
  mb_floats(mb, "b", DIMS(4), b, 4);
  mb_external(mb, "e", DT_FLOAT, DIMS(4), "missing_weights.bin");
  const uint8_t shape_le[16] = {2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
  mb_raw(mb, "shape", DT_INT64, DIMS(2), shape_le, sizeof shape_le);
  Onnx__TensorProto *i32 = mb_tensor(mb, "i32", DT_INT32, DIMS(3));
  int32_t i32v[3] = {-1, 2, 70000};
  i32->n_int32_data = 3;
  i32->int32_data = mb_dup(mb, i32v, sizeof i32v);
  const uint8_t flags[3] = {1, 0, 1};
  mb_raw(mb, "flags", DT_BOOL, DIMS(3), flags, 3);
  const uint8_t i8[2] = {0xff, 0x7f};
  mb_raw(mb, "i8", DT_INT8, DIMS(2), i8, 2);
  const uint8_t half[2] = {0x00, 0x3c}; /* 1.0 in float16 */
  mb_raw(mb, "half", DT_FLOAT16, DIMS(1), half, 2);
  mb_node(mb, "MatMul", "mm", NAMES("x", "w"), NAMES("y"));
  mb_node(mb, "Add", "add_b", NAMES("y", "b"), NAMES("z"));
  mb_node(mb, "Add", "add_e", NAMES("z", "e"), NAMES("z2"));
  mb_node(mb, "Reshape", "rs", NAMES("z2", "shape"), NAMES("out"));
  mb_output(mb, "out", -1, NULL);
  ImportOptions opts = {.keep_weight_bytes = true};
  Diag d;
  Graph *g = mb_load(mb, &opts, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_STRING_EQUAL(g->name, "model");
  CU_ASSERT_EQUAL(g->opset, 13);
  CU_ASSERT_EQUAL(g->n_inputs, 1);
  CU_ASSERT_EQUAL(g->n_outputs, 1);
  const Tensor *tw = find(g, "w");
  CU_ASSERT(dims_are(tw, DIMS(4, 4)));
  CU_ASSERT_EQUAL(tw->role, ROLE_WEIGHT);
  CU_ASSERT_PTR_NOT_NULL(tw->fvals);
  if (tw->fvals) CU_ASSERT_DOUBLE_EQUAL(tw->fvals[7], 7.0, 0);
  CU_ASSERT_EQUAL(tw->data.n_bytes, sizeof w);
  CU_ASSERT(tw->data.bytes && memcmp(tw->data.bytes, w, sizeof w) == 0);
  const Tensor *tb = find(g, "b");
  CU_ASSERT(tb->fvals && tb->fvals[1] == -1.0 && tb->fvals[3] == 3.0);
  CU_ASSERT(tb->data.bytes && tb->data.n_bytes == 16 && memcmp(tb->data.bytes, b, 16) == 0);
  const Tensor *te = find(g, "e");
  CU_ASSERT(dims_are(te, DIMS(4)));
  CU_ASSERT_PTR_NULL(te->fvals);
  CU_ASSERT_PTR_NULL(te->data.bytes);
  CU_ASSERT(te->data.external && strcmp(te->data.external, "missing_weights.bin") == 0);
  CU_ASSERT_EQUAL(te->data.ext_offset, 4096);
  CU_ASSERT_EQUAL(te->data.ext_length, 64);
  const Tensor *ts = find(g, "shape");
  CU_ASSERT_EQUAL(ts->role, ROLE_CONST);
  CU_ASSERT(ts->ivals && ts->ivals[0] == 2 && ts->ivals[1] == 2);
  const Tensor *ti = find(g, "i32");
  CU_ASSERT(ti->ivals && ti->ivals[0] == -1 && ti->ivals[2] == 70000);
  CU_ASSERT(ti->data.n_bytes == 12 && memcmp(ti->data.bytes, i32v, 12) == 0);
  const Tensor *tf = find(g, "flags");
  CU_ASSERT(tf->ivals && tf->ivals[0] == 1 && tf->ivals[1] == 0);
  const Tensor *t8 = find(g, "i8");
  CU_ASSERT(t8->ivals && t8->ivals[0] == -1 && t8->ivals[1] == 127);
  const Tensor *th = find(g, "half");
  CU_ASSERT(th->fvals && th->fvals[0] == 1.0);
  CU_ASSERT(dims_are(find(g, "out"), DIMS(2, 2)));
  CU_ASSERT_EQUAL(find(g, "out")->role, ROLE_ACTIVATION);
  ir_graph_free(g);
  mb_free(mb);
}

static void test_initializer_errors(void) {
  MB *mb = relu_model();
  float w[3] = {0};
  mb_raw(mb, "short_w", DT_FLOAT, DIMS(4), w, sizeof w);
  EXPECT_ERROR(mb, NULL, "initializer 'short_w'", "12 bytes", "16");

  mb = relu_model();
  mb_floats(mb, "few", DIMS(2, 2), w, 3);
  EXPECT_ERROR(mb, NULL, "initializer 'few'", "3 values");

  mb = relu_model();
  mb_external(mb, "neg", DT_FLOAT, DIMS(3, -2), "x.bin");
  EXPECT_ERROR(mb, NULL, "initializer 'neg'", "negative");

  mb = relu_model();
  mb_external(mb, "huge", DT_FLOAT, DIMS(INT64_C(1) << 40, INT64_C(1) << 40), "x.bin");
  EXPECT_ERROR(mb, NULL, "initializer 'huge'", "64 bits");

  mb = relu_model();
  mb_external(mb, "deep", DT_FLOAT, DIMS(1, 1, 1, 1, 1, 1, 1, 1, 1), "x.bin");
  EXPECT_ERROR(mb, NULL, "initializer 'deep'", "rank 9");

  mb = relu_model();
  mb_tensor(mb, "untyped", 0, DIMS(1));
  EXPECT_ERROR(mb, NULL, "initializer 'untyped'", "data type");

  mb = relu_model();
  mb_tensor(mb, "", DT_FLOAT, DIMS(1));
  EXPECT_ERROR(mb, NULL, "no name");
}

/* ---- graph inputs and symbolic dims ---- */
static MB *symbolic_model(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(-1, -1, 8), (const char *const[]){"batch_sz", "seq", NULL});
  mb_node(mb, "Relu", "r", NAMES("x"), NAMES("y"));
  mb_output(mb, "y", 3, (int64_t[]){1, 1, 8}); /* a stale declared shape: not cross-checked */
  return mb;
}

static void test_symbolic_dims(void) {
  MB *mb = symbolic_model();
  const char *names[] = {"seq"};
  const int64_t vals[] = {5};
  ImportOptions opts = {.batch = 3, .dim_names = names, .dim_values = vals, .n_dims = 1};
  Diag d;
  Graph *g = mb_load(mb, &opts, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(dims_are(find(g, "x"), DIMS(3, 5, 8)));
  CU_ASSERT(dims_are(find(g, "y"), DIMS(3, 5, 8)));
  CU_ASSERT_EQUAL(find(g, "x")->role, ROLE_INPUT);
  ir_graph_free(g);

  /* A named binding wins over the batch default; batch defaults to 1. */
  const char *names2[] = {"seq", "batch_sz"};
  const int64_t vals2[] = {2, 7};
  ImportOptions opts2 = {.dim_names = names2, .dim_values = vals2, .n_dims = 2};
  g = mb_load(mb, &opts2, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(dims_are(find(g, "y"), DIMS(7, 2, 8)));
  ir_graph_free(g);
  ImportOptions opts3 = {.dim_names = names, .dim_values = vals, .n_dims = 1};
  g = mb_load(mb, &opts3, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(dims_are(find(g, "y"), DIMS(1, 5, 8)));
  ir_graph_free(g);

  EXPECT_ERROR(mb, NULL, "graph input 'x'", "'seq'", "--dim seq=");
}

static void test_input_errors(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(-1, 4), NULL);
  mb_node(mb, "Relu", "r", NAMES("x"), NAMES("y"));
  EXPECT_ERROR(mb, NULL, "graph input 'x'", "negative");

  mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(INT64_C(1) << 40, INT64_C(1) << 40), NULL);
  mb_node(mb, "Relu", "r", NAMES("x"), NAMES("y"));
  EXPECT_ERROR(mb, NULL, "graph input 'x'", "64 bits");

  mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 1, 1, 1, 1, 1, 1, 1, 1), NULL);
  mb_node(mb, "Relu", "r", NAMES("x"), NAMES("y"));
  EXPECT_ERROR(mb, NULL, "graph input 'x'", "rank 9");

  mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, -1, NULL, NULL);
  mb_node(mb, "Relu", "r", NAMES("x"), NAMES("y"));
  EXPECT_ERROR(mb, NULL, "graph input 'x'", "no shape");

  mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, INT64_MIN), NULL); /* dim with neither value nor name */
  mb_node(mb, "Relu", "r", NAMES("x"), NAMES("y"));
  EXPECT_ERROR(mb, NULL, "graph input 'x'", "dim 1");

  mb = relu_model();
  mb->model.n_opset_import = 0;
  mb_opset(mb, "ai.onnx.ml", 3);
  EXPECT_ERROR(mb, NULL, "opset");
}

/* An initializer listed among the graph inputs (IR version < 4 style) stays an initializer. */
static void test_initializer_as_input(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 4), NULL);
  mb_input(mb, "b", DT_FLOAT, DIMS(4), NULL);
  const float b[4] = {1, 2, 3, 4};
  mb_floats(mb, "b", DIMS(4), b, 4);
  mb_node(mb, "Add", "add", NAMES("x", "b"), NAMES("y"));
  mb_output(mb, "y", 2, (int64_t[]){1, 4});
  Diag d;
  Graph *g = mb_load(mb, NULL, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->n_inputs, 1);
  CU_ASSERT_EQUAL(find(g, "b")->role, ROLE_WEIGHT);
  ir_graph_free(g);
  mb_free(mb);
}

/* Graph input i may be replaced by a TensorProto file (how conformance tests feed shapes). */
static void test_input_pb(void) {
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  int64_t dims[2] = {2, 3}, vals[6] = {1, 2, 3, 4, 5, 6};
  tp.n_dims = 2;
  tp.dims = dims;
  tp.has_data_type = 1;
  tp.data_type = DT_INT64;
  tp.n_int64_data = 6;
  tp.int64_data = vals;
  size_t len = onnx__tensor_proto__get_packed_size(&tp);
  uint8_t *buf = malloc(len);
  onnx__tensor_proto__pack(&tp, buf);
  const char *path = "test_onnx_import_input_0.pb";
  FILE *f = fopen(path, "wb");
  CU_ASSERT_FATAL(f != NULL);
  fwrite(buf, 1, len, f);
  fclose(f);
  free(buf);

  DataType dt;
  int rank;
  int64_t got[IR_MAX_RANK];
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(onnx_read_tensor_dims(path, &dt, &rank, got, &d), XDL_OK);
  CU_ASSERT(dt == DT_INT64 && rank == 2 && got[0] == 2 && got[1] == 3);

  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_INT64, DIMS(-1, -1), (const char *const[]){"a", "b"});
  mb_node(mb, "Neg", "n", NAMES("x"), NAMES("y"));
  const char *pbs[1] = {path};
  ImportOptions opts = {.input_pb_paths = pbs, .n_input_pb = 1};
  Graph *g = mb_load(mb, &opts, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  const Tensor *x = find(g, "x");
  CU_ASSERT(dims_are(x, DIMS(2, 3)));
  CU_ASSERT(x->ivals && x->ivals[5] == 6);
  CU_ASSERT(dims_are(find(g, "y"), DIMS(2, 3)));
  ir_graph_free(g);
  remove(path);

  diag_init(&d);
  CU_ASSERT_NOT_EQUAL(onnx_read_tensor_dims(path, &dt, &rank, got, &d), XDL_OK);
  CU_ASSERT(strstr(d.msg, path) != NULL);
  g = mb_load(mb, &opts, &d); /* the pb file is gone now */
  CU_ASSERT_PTR_NULL(g);
  CU_ASSERT(strstr(d.msg, path) != NULL);
  mb_free(mb);
}

/* ---- nodes ---- */
static void test_unsupported_ops(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 4), NULL);
  mb_node(mb, "Relu", "r", NAMES("x"), NAMES("a"));
  Onnx__NodeProto *loop = mb_node(mb, "Loop", "loop_0", NAMES("", "", "a"), NAMES("b"));
  mb_attr_graph(mb, loop, "body");
  mb_node(mb, "NonMaxSuppression", "nms", NAMES("b", "b"), NAMES("c"));
  mb_node(mb, "NonMaxSuppression", "nms2", NAMES("c", "c"), NAMES("c2"));
  Onnx__NodeProto *fc = mb_node(mb, "FusedConv", "fc", NAMES("c2"), NAMES("d"));
  fc->domain = "com.microsoft";
  Onnx__NodeProto *cond = mb_node(mb, "If", "if_0", NAMES("d"), NAMES("e"));
  mb_attr_graph(mb, cond, "then_branch");
  mb_attr_graph(mb, cond, "else_branch");
  mb_node(mb, "Scan", "", NAMES("e"), NAMES("f"));
  mb_node(mb, "Loop", "loop_1", NAMES("f"), NAMES("g"));
  mb_output(mb, "g", -1, NULL);
  Diag d;
  Graph *g = mb_load(mb, NULL, &d);
  CU_ASSERT_PTR_NULL(g);
  CU_ASSERT_STRING_EQUAL(d.msg, "model.onnx: unsupported operators: Loop (first at node "
                         "'loop_0'), NonMaxSuppression (first at node 'nms'), FusedConv in "
                         "domain 'com.microsoft' (first at node 'fc'), If (first at node "
                         "'if_0'), Scan (first at node #6)");
  CU_ASSERT(d.unsupported);
  mb_free(mb);

  /* A model of training-domain ops only needs no default opset; an op that domain lacks is
   * "unsupported" (Adam, Adagrad, Momentum and Gradient are in the table). */
  mb = mb_new(0);
  mb_opset(mb, "ai.onnx.preview.training", 1);
  mb_input(mb, "x", DT_FLOAT, DIMS(4), NULL);
  Onnx__NodeProto *lamb = mb_node(mb, "Lamb", "opt", NAMES("x"), NAMES("y"));
  lamb->domain = "ai.onnx.preview.training";
  CU_ASSERT_PTR_NULL(mb_load(mb, NULL, &d));
  CU_ASSERT(d.unsupported);
  CU_ASSERT(strstr(d.msg, "Lamb in domain 'ai.onnx.preview.training' (first at node 'opt')") !=
            NULL);
  mb_free(mb);

  /* Sequence (or optional, map) graph inputs are an unsupported feature too. */
  mb = relu_model();
  mb->types[0].value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
  Onnx__TypeProto__Sequence seq = ONNX__TYPE_PROTO__SEQUENCE__INIT;
  mb->types[0].sequence_type = &seq;
  CU_ASSERT_PTR_NULL(mb_load(mb, NULL, &d));
  CU_ASSERT(d.unsupported);
  CU_ASSERT(strstr(d.msg, "graph input 'x' is not a tensor") != NULL);
  mb_free(mb);

  /* A subgraph attribute on any op is rejected the same way. */
  mb = relu_model();
  mb_attr_graph(mb, &mb->nodes[0], "body");
  EXPECT_ERROR(mb, NULL, "unsupported operators: Relu (first at node 'r')");
}

static void test_node_errors(void) {
  MB *mb = relu_model();
  mb_node(mb, "Add", "add", NAMES("y", "nope"), NAMES("z"));
  Diag d;
  CU_ASSERT_PTR_NULL(mb_load(mb, NULL, &d));
  CU_ASSERT(!d.unsupported); /* broken, not unsupported */
  EXPECT_ERROR(mb, NULL, "node 'add' (Add)", "'nope'", "not defined");

  mb = relu_model();
  mb_node(mb, "Neg", "twice", NAMES("x"), NAMES("y"));
  EXPECT_ERROR(mb, NULL, "node 'twice' (Neg)", "'y'", "node 'r' (Relu)");

  mb = relu_model();
  mb_node(mb, "Neg", "shadow", NAMES("y"), NAMES("x"));
  EXPECT_ERROR(mb, NULL, "node 'shadow' (Neg)", "'x'", "graph input");

  mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 4), NULL);
  mb_node(mb, "Relu", "head", NAMES("x"), NAMES("a"));
  mb_node(mb, "Add", "loop_a", NAMES("a", "c"), NAMES("b"));
  mb_node(mb, "Neg", "loop_b", NAMES("b"), NAMES("c"));
  mb_node(mb, "Neg", "tail", NAMES("c"), NAMES("d"));
  mb_output(mb, "d", -1, NULL);
  EXPECT_ERROR(mb, NULL, "cycle", "(");
  /* Which node the message names: one on the cycle, not the one after it. */
  mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 4), NULL);
  mb_node(mb, "Neg", "tail", NAMES("c"), NAMES("d"));
  mb_node(mb, "Add", "loop_a", NAMES("x", "c"), NAMES("b"));
  mb_node(mb, "Neg", "loop_b", NAMES("b"), NAMES("c"));
  CU_ASSERT_PTR_NULL(mb_load(mb, NULL, &d));
  CU_ASSERT(strstr(d.msg, "loop_") != NULL && strstr(d.msg, "tail") == NULL);
  mb_free(mb);

  mb = relu_model();
  mb_output(mb, "ghost", -1, NULL);
  EXPECT_ERROR(mb, NULL, "graph output 'ghost'");

  mb = relu_model();
  Onnx__AttributeProto *a = mb_attr(mb, &mb->nodes[0], "odd",
                                    ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS);
  (void)a;
  EXPECT_ERROR(mb, NULL, "node 'r' (Relu)", "attribute 'odd'");

  mb = relu_model();
  mb_attr_int(mb, &mb->nodes[0], "k", 1);
  mb_attr_int(mb, &mb->nodes[0], "k", 2);
  EXPECT_ERROR(mb, NULL, "node 'r' (Relu)", "'k'", "twice");
}

/* Nodes listed out of order are sorted (stably); duplicate and empty node names are fine. */
static void test_topological_sort(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 4), NULL);
  mb_node(mb, "Neg", "late", NAMES("b"), NAMES("c"));
  mb_node(mb, "Relu", "same", NAMES("x"), NAMES("a"));
  mb_node(mb, "Relu", "same", NAMES("a"), NAMES("b"));
  mb_node(mb, "Abs", "", NAMES("x"), NAMES("u"));
  mb_node(mb, "Add", "sum", NAMES("c", "u"), NAMES("y"));
  mb_output(mb, "y", 2, (int64_t[]){1, 4});
  Diag d;
  Graph *g = mb_load(mb, NULL, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL_FATAL(g->n_nodes, 5);
  CU_ASSERT_STRING_EQUAL(g->nodes[0].name, "same");
  CU_ASSERT_STRING_NOT_EQUAL(g->nodes[1].name, "same"); /* uniquified */
  CU_ASSERT_EQUAL(g->nodes[1].op, OP_RELU);
  CU_ASSERT_STRING_EQUAL(g->nodes[2].name, "late");
  CU_ASSERT_EQUAL(g->nodes[3].op, OP_ABS);
  CU_ASSERT_STRING_EQUAL(g->nodes[4].name, "sum");
  CU_ASSERT_EQUAL(diag_ok(&d), true);
  ir_graph_free(g);
  mb_free(mb);
}

/* Optional inputs given as "" and omitted trailing outputs. */
static void test_optional_slots(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 3, 8, 8), NULL);
  mb_node(mb, "Clip", "clip", NAMES("x", "", ""), NAMES("c"));
  mb_node(mb, "Dropout", "drop", NAMES("c"), NAMES("y", ""));
  mb_output(mb, "y", 4, (int64_t[]){1, 3, 8, 8});
  Diag d;
  Graph *g = mb_load(mb, NULL, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->nodes[0].n_inputs, 3);
  CU_ASSERT_EQUAL(g->nodes[0].inputs[1], IR_NONE);
  CU_ASSERT_EQUAL(g->nodes[1].outputs[1], IR_NONE);
  ir_graph_free(g);
  mb_free(mb);
}

/* ---- roles, Constant nodes, attributes ---- */
static void test_roles(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(1, 3, 8, 8), NULL);
  float wv[4 * 3 * 3 * 3] = {0}, c4[4] = {1, 1, 1, 1};
  mb_floats(mb, "conv.w", DIMS(4, 3, 3, 3), wv, 108);
  mb_external(mb, "conv.b", DT_FLOAT, DIMS(4), "gone.bin");
  mb_floats(mb, "bn.scale", DIMS(4), c4, 4);
  mb_floats(mb, "bn.bias", DIMS(4), c4, 4);
  mb_floats(mb, "bn.mean", DIMS(4), c4, 4);
  mb_floats(mb, "bn.var", DIMS(4), c4, 4);
  mb_ints(mb, "shape", DIMS(2), (int64_t[]){1, -1}, 2);
  Onnx__NodeProto *conv = mb_node(mb, "Conv", "conv", NAMES("x", "conv.w", "conv.b"),
                                  NAMES("c"));
  mb_attr_ints(mb, conv, "kernel_shape", (int64_t[]){3, 3}, 2);
  mb_attr_ints(mb, conv, "pads", (int64_t[]){1, 1, 1, 1}, 4);
  mb_node(mb, "BatchNormalization", "bn", NAMES("c", "bn.scale", "bn.bias", "bn.mean",
                                                "bn.var"), NAMES("n"));
  mb_node(mb, "Reshape", "flat", NAMES("n", "shape"), NAMES("y"));
  mb_output(mb, "y", 2, (int64_t[]){1, 256});
  Diag d;
  Graph *g = mb_load(mb, NULL, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(find(g, "conv.w")->role, ROLE_WEIGHT);
  CU_ASSERT_EQUAL(find(g, "conv.b")->role, ROLE_WEIGHT);
  CU_ASSERT_EQUAL(find(g, "bn.scale")->role, ROLE_WEIGHT);
  CU_ASSERT_EQUAL(find(g, "bn.bias")->role, ROLE_WEIGHT);
  CU_ASSERT_EQUAL(find(g, "bn.mean")->role, ROLE_CONST);
  CU_ASSERT_EQUAL(find(g, "bn.var")->role, ROLE_CONST);
  CU_ASSERT_EQUAL(find(g, "shape")->role, ROLE_CONST);
  CU_ASSERT_EQUAL(find(g, "x")->role, ROLE_INPUT);
  CU_ASSERT_EQUAL(find(g, "c")->role, ROLE_ACTIVATION);
  CU_ASSERT(dims_are(find(g, "y"), DIMS(1, 256)));
  const Attr *pads = ir_node_attr(g, 0, "pads");
  CU_ASSERT(pads && pads->kind == ATTR_INTS && pads->n == 4 && pads->ints[3] == 1);
  ir_graph_free(g);
  mb_free(mb);
}

static void test_constant_and_attrs(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(2, 4), NULL);
  Onnx__NodeProto *k = mb_node(mb, "Constant", "k", NONE_, NAMES("target"));
  mb_ints(mb, "", DIMS(2), (int64_t[]){1, 8}, 2);
  mb_attr_tensor(mb, k, "value");
  mb_node(mb, "Reshape", "rs", NAMES("x", "target"), NAMES("r"));
  Onnx__NodeProto *lr = mb_node(mb, "LeakyRelu", "lr", NAMES("r"), NAMES("y"));
  Onnx__AttributeProto *alpha = mb_attr(mb, lr, "alpha",
                                        ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  alpha->has_f = 1;
  alpha->f = 0.25f;
  Onnx__AttributeProto *s = mb_attr(mb, lr, "note", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  s->has_s = 1;
  s->s.len = 3;
  s->s.data = (uint8_t *)"abcdef"; /* not NUL-terminated at len */
  Onnx__AttributeProto *fl = mb_attr(mb, lr, "fl", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  fl->n_floats = 2;
  fl->floats = mb_dup(mb, (float[]){1.5f, -2.0f}, 2 * sizeof(float));
  Onnx__AttributeProto *ss = mb_attr(mb, lr, "ss", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  ProtobufCBinaryData strs[2] = {{2, (uint8_t *)"hi"}, {0, NULL}};
  ss->n_strings = 2;
  ss->strings = mb_dup(mb, strs, sizeof strs);
  mb_output(mb, "y", 2, (int64_t[]){1, 8});
  mb_opset(mb, "ai.onnx.preview.training", 1);
  mb_opset(mb, "ai.xploredl", 2);
  Diag d;
  Graph *g = mb_load(mb, NULL, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->opset_training, 1);
  CU_ASSERT_EQUAL(g->opset_xploredl, 2);
  const Tensor *target = find(g, "target");
  CU_ASSERT_EQUAL(target->role, ROLE_CONST);
  CU_ASSERT(dims_are(target, DIMS(2)));
  const Tensor *kv = find(g, "k.value");
  CU_ASSERT_EQUAL(kv->role, ROLE_CONST);
  CU_ASSERT(kv->ivals && kv->ivals[1] == 8);
  const Attr *va = ir_node_attr(g, 0, "value");
  CU_ASSERT(va && va->kind == ATTR_TENSOR && va->tensor == ir_find_tensor(g, "k.value"));
  CU_ASSERT(dims_are(find(g, "y"), DIMS(1, 8)));
  uint32_t n = ir_find_node(g, "lr");
  CU_ASSERT_FATAL(n != IR_NONE);
  CU_ASSERT_DOUBLE_EQUAL(ir_attr_float(g, n, "alpha", 0), 0.25, 1e-9);
  CU_ASSERT_STRING_EQUAL(ir_attr_string(g, n, "note", ""), "abc");
  const Attr *fa = ir_node_attr(g, n, "fl");
  CU_ASSERT(fa && fa->kind == ATTR_FLOATS && fa->n == 2 && fa->floats[1] == -2.0);
  const Attr *sa = ir_node_attr(g, n, "ss");
  CU_ASSERT(sa && sa->kind == ATTR_STRINGS && sa->n == 2 && strcmp(sa->strs[0], "hi") == 0 &&
            sa->strs[1][0] == '\0');
  ir_graph_free(g);
  mb_free(mb);
}

/* Declared output / value_info shapes only cross-check the inferred ones. */
static void test_declared_shapes(void) {
  MB *mb = relu_model();
  mb->graph.n_output = 0;
  mb_output(mb, "y", 2, (int64_t[]){1, 5});
  EXPECT_ERROR(mb, NULL, "node 'r' (Relu)", "'y'", "[1,4]", "[1,5]");

  mb = relu_model();
  mb->vi_ptrs[mb->graph.n_value_info++] = mb_vi(mb, "y", DT_FLOAT, 3, (int64_t[]){1, 4, 1}, NULL);
  EXPECT_ERROR(mb, NULL, "'y'", "[1,4,1]");

  mb = relu_model(); /* symbolic dims in value_info are not a mismatch */
  mb->vi_ptrs[mb->graph.n_value_info++] =
      mb_vi(mb, "y", DT_FLOAT, 2, (int64_t[]){-1, 4}, (const char *const[]){"n", NULL});
  Diag d;
  Graph *g = mb_load(mb, NULL, &d);
  CU_ASSERT_PTR_NOT_NULL(g);
  ir_graph_free(g);
  mb_free(mb);
}

/* ---- files ---- */
static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  CU_ASSERT_FATAL(f != NULL);
  if (n) fwrite(data, 1, n, f);
  fclose(f);
}

static void expect_load_error(const char *path, const char *frag) {
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, NULL, &d);
  CU_ASSERT_PTR_NULL(g);
  ir_graph_free(g);
  CU_ASSERT(d.status == XDL_ERR_INPUT);
  CU_ASSERT(strncmp(d.msg, path, strlen(path)) == 0);
  if (!strstr(d.msg, frag)) {
    fprintf(stderr, "\n  message '%s' lacks '%s'\n", d.msg, frag);
    CU_FAIL("error message lacks an expected fragment");
  }
}

static void test_bad_files(void) {
  expect_load_error("no_such_dir/absent.onnx", "cannot open");
  mkdir("test_onnx_import_dir.onnx", 0755);
  expect_load_error("test_onnx_import_dir.onnx", "directory");
  rmdir("test_onnx_import_dir.onnx");
  write_file("test_onnx_import_empty.onnx", "", 0);
  expect_load_error("test_onnx_import_empty.onnx", "empty");
  remove("test_onnx_import_empty.onnx");
  const char text[] = "this is not a protobuf, it is a text file\n";
  write_file("test_onnx_import_text.onnx", text, sizeof text - 1);
  expect_load_error("test_onnx_import_text.onnx", "not an ONNX model");
  remove("test_onnx_import_text.onnx");

  /* A valid model written to disk loads through onnx_load, named after its stem. */
  MB *mb = relu_model();
  size_t len;
  uint8_t *buf = mb_pack(mb, &len);
  write_file("test_onnx_import_tiny.nodata.onnx", buf, len);
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load("test_onnx_import_tiny.nodata.onnx", NULL, &d);
  CU_ASSERT_PTR_NOT_NULL(g);
  if (g) CU_ASSERT_STRING_EQUAL(g->name, "test_onnx_import_tiny");
  ir_graph_free(g);
  remove("test_onnx_import_tiny.nodata.onnx");
  /* Valid protobuf that is not a model: a TensorProto has no graph. */
  diag_init(&d);
  g = onnx_load_buffer((const uint8_t *)"\x08\x01\x10\x01", 4, "t.pb", NULL, &d);
  CU_ASSERT_PTR_NULL(g);
  CU_ASSERT(strstr(d.msg, "t.pb: ") == d.msg);
  free(buf);
  mb_free(mb);
}

/* Graphs nested through subgraph attributes, `levels` deep, encoded by hand (protobuf-c's
 * own packer recurses too): Model{graph: Graph{node: Node{op_type: "Loop", attribute:
 * Attr{name: "body", g: Graph{...}}}}}. */
static size_t varint_len(size_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) n++;
  return n;
}

static uint8_t *put_varint(uint8_t *p, size_t v) {
  for (; v >= 0x80; v >>= 7) *p++ = (uint8_t)(v | 0x80);
  *p++ = (uint8_t)v;
  return p;
}

static uint8_t *put_bytes(uint8_t *p, uint8_t key, const void *data, size_t n) {
  *p++ = key;
  p = put_varint(p, n);
  memcpy(p, data, n);
  return p + n;
}

static uint8_t *nested_model(size_t levels, size_t *len) {
  /* graph[i]: size of the graph at depth i (graph[levels] is the empty innermost one). */
  size_t *graph = calloc(levels + 1, sizeof *graph), *node = calloc(levels, sizeof *node),
         *attr = calloc(levels, sizeof *attr);
  for (size_t i = levels; i-- > 0;) {
    attr[i] = 6 + 1 + varint_len(graph[i + 1]) + graph[i + 1];
    node[i] = 6 + 1 + varint_len(attr[i]) + attr[i];
    graph[i] = 1 + varint_len(node[i]) + node[i];
  }
  const uint8_t opset[4] = {0x10, 13};
  *len = 1 + varint_len(graph[0]) + graph[0] + 2 + 2;
  uint8_t *buf = malloc(*len), *p = buf;
  p = put_bytes(p, 0x42, opset, 2); /* ModelProto.opset_import = {version: 13} */
  *p++ = 0x3a;                      /* ModelProto.graph */
  p = put_varint(p, graph[0]);
  for (size_t i = 0; i < levels; i++) {
    *p++ = 0x0a; /* GraphProto.node */
    p = put_varint(p, node[i]);
    p = put_bytes(p, 0x22, "Loop", 4); /* NodeProto.op_type */
    *p++ = 0x2a;                       /* NodeProto.attribute */
    p = put_varint(p, attr[i]);
    p = put_bytes(p, 0x0a, "body", 4); /* AttributeProto.name */
    *p++ = 0x32;                       /* AttributeProto.g */
    p = put_varint(p, graph[i + 1]);
  }
  CU_ASSERT(p == buf + *len);
  free(graph);
  free(node);
  free(attr);
  return buf;
}

static void test_deep_nesting(void) {
  size_t len;
  uint8_t *buf = nested_model(3, &len); /* a sane depth: an ordinary "unsupported" error */
  Diag d;
  diag_init(&d);
  CU_ASSERT_PTR_NULL(onnx_load_buffer(buf, len, "nest.onnx", NULL, &d));
  CU_ASSERT(d.unsupported);
  CU_ASSERT(strstr(d.msg, "Loop (first at node #0)") != NULL);
  free(buf);
  buf = nested_model(200000, &len); /* would exhaust the stack inside protobuf-c */
  diag_init(&d);
  CU_ASSERT_PTR_NULL(onnx_load_buffer(buf, len, "nest.onnx", NULL, &d));
  CU_ASSERT(strstr(d.msg, "nest.onnx: ") == d.msg);
  CU_ASSERT(strstr(d.msg, "nested more than") != NULL);
  free(buf);
}

/* ---- allocation failures ---- */
static void test_alloc_failures(void) {
  MB *mb = mb_new(13);
  mb_input(mb, "x", DT_FLOAT, DIMS(-1, 4), (const char *const[]){"n", NULL});
  const float b[4] = {1, 2, 3, 4};
  mb_floats(mb, "b", DIMS(4), b, 4);
  Onnx__NodeProto *k = mb_node(mb, "Constant", "k", NONE_, NAMES("shape"));
  mb_ints(mb, "", DIMS(2), (int64_t[]){2, 2}, 2);
  mb_attr_tensor(mb, k, "value");
  mb_node(mb, "Add", "add", NAMES("x", "b"), NAMES("s"));
  mb_node(mb, "Reshape", "rs", NAMES("s", "shape"), NAMES("y"));
  mb_output(mb, "y", -1, NULL);
  size_t len;
  uint8_t *buf = mb_pack(mb, &len);
  Diag d;
  diag_init(&d);
  xdl_alloc_fail_after(0);
  Graph *g = onnx_load_buffer(buf, len, "tiny.onnx", NULL, &d);
  uint64_t total = xdl_alloc_count();
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  ir_graph_free(g);
  CU_ASSERT(total > 5);
  int failed_cleanly = 0;
  for (uint64_t n = 1; n <= total + 1; n++) {
    diag_init(&d);
    xdl_alloc_fail_after(n);
    g = onnx_load_buffer(buf, len, "tiny.onnx", NULL, &d);
    xdl_alloc_fail_after(0);
    if (n <= total) {
      CU_ASSERT_PTR_NULL(g);
      CU_ASSERT(d.status == XDL_ERR_INTERNAL);
      CU_ASSERT(strncmp(d.msg, "tiny.onnx: ", 11) == 0);
      if (!g && d.msg[0]) failed_cleanly++;
      if (g || d.status != XDL_ERR_INTERNAL)
        fprintf(stderr, "\n  allocation %llu: %s\n", (unsigned long long)n,
                g ? "import succeeded" : d.msg);
    } else {
      CU_ASSERT_PTR_NOT_NULL(g);
    }
    ir_graph_free(g);
  }
  printf("\n    allocation-failure loop: %d of %llu allocations fail cleanly\n", failed_cleanly,
         (unsigned long long)total);
  free(buf);
  mb_free(mb);
}

/* ---- fuzz: truncated and bit-flipped fixture models ---- */
static uint64_t rng_next(uint64_t *s) { /* xorshift64* */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

typedef struct FuzzStats {
  long variants, imported, rejected;
} FuzzStats;

/* Imports buf[0..len) and checks the contract: a graph, or NULL with a one-line, non-empty
 * message. buf must be exactly len bytes long so that ASan sees any over-read. */
static void fuzz_one(const uint8_t *buf, size_t len, FuzzStats *st) {
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load_buffer(buf, len, "fuzz.onnx", NULL, &d);
  st->variants++;
  if (g) {
    st->imported++;
    CU_ASSERT(diag_ok(&d));
  } else {
    st->rejected++;
    CU_ASSERT(d.status != XDL_OK && d.msg[0] != '\0' && !strchr(d.msg, '\n'));
  }
  ir_graph_free(g);
}

/* The first len bytes of buf, from an exactly sized copy. */
static void fuzz_cut(const uint8_t *buf, size_t len, FuzzStats *st) {
  uint8_t *copy = malloc(len ? len : 1);
  if (len) memcpy(copy, buf, len);
  fuzz_one(copy, len, st);
  free(copy);
}

static void test_fuzz_fixtures(void) {
  static const char *models[] = {
      "lenet5.onnx", "alexnet.nodata.onnx", "resnet18.nodata.onnx",
      "squeezenet1_0.onnx", "mobilenet_v2.onnx", "mobilenet_v2_train.nodata.onnx",
      "capsnet.onnx", "capsnet_with_decoder.nodata.onnx"};
  FuzzStats st = {0};
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  clock_t t0 = clock();
  for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
    char rel[128];
    snprintf(rel, sizeof rel, "onnx/%s", models[m]);
    char *path = tu_refdata(rel);
    size_t len = 0;
    uint8_t *file = tu_read_file(path, &len);
    free(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(file);
    uint8_t *buf = malloc(len); /* exactly sized; mutated in place by the flips */
    memcpy(buf, file, len);
    free(file);
    /* Big files get fewer variants; their weight payload sits between a small head (nodes)
     * and a small tail (inputs/outputs), where most flips are aimed. */
    bool big = len > (1u << 20);
    long n_cuts = len > (8u << 20) ? 40 : big ? 120 : 1000;
    long n_flips = len > (8u << 20) ? 160 : big ? 350 : 700;
    long before = st.variants;
    clock_t tm = clock();
    long ok_before = st.imported;
    fuzz_one(buf, len, &st); /* the intact file imports */
    CU_ASSERT_EQUAL(st.imported, ok_before + 1);
    for (size_t cut = 0; cut < 64 && cut < len; cut++) fuzz_cut(buf, cut, &st);
    for (long i = 1; i < n_cuts; i++) fuzz_cut(buf, (size_t)((double)len * i / n_cuts), &st);
    size_t region = len < 65536 ? len : 65536;
    for (long i = 0; i < n_flips; i++) {
      uint64_t r = rng_next(&seed);
      size_t pos;
      switch (r % 4) {
      case 0: case 1: pos = (size_t)(rng_next(&seed) % region); break; /* head */
      case 2: pos = len - 1 - (size_t)(rng_next(&seed) % region); break; /* tail */
      default: pos = (size_t)(rng_next(&seed) % len); break;
      }
      size_t span = (r >> 8) % 8 == 0 && pos + 4 <= len ? 4 : 1;
      uint8_t saved[4];
      memcpy(saved, buf + pos, span);
      for (size_t k = 0; k < span; k++) {
        uint64_t r2 = rng_next(&seed);
        if ((r >> 12) % 4 == 0) buf[pos + k] = (uint8_t)r2; /* random byte */
        else buf[pos + k] ^= (uint8_t)(1u << (r2 % 8));    /* one flipped bit */
      }
      fuzz_one(buf, len, &st);
      memcpy(buf + pos, saved, span);
    }
    printf("\n    %s: %ld variants, %.1f s CPU", models[m], st.variants - before,
           (double)(clock() - tm) / CLOCKS_PER_SEC);
    free(buf);
  }
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  printf("\n    fuzz: %ld variants, %ld imported, %ld rejected cleanly, %.1f s CPU\n",
         st.variants, st.imported, st.rejected, secs);
  CU_ASSERT(st.variants >= 3000);
  CU_ASSERT(st.rejected > 0 && st.imported > 0);
}

int main(void) {
  CU_TestInfo tests[] = {
      {"initializer forms", test_initializer_forms},
      {"initializer errors", test_initializer_errors},
      {"symbolic dims", test_symbolic_dims},
      {"input errors", test_input_errors},
      {"initializer listed as input", test_initializer_as_input},
      {"inputs from TensorProto files", test_input_pb},
      {"unsupported ops", test_unsupported_ops},
      {"node errors", test_node_errors},
      {"topological sort", test_topological_sort},
      {"optional slots", test_optional_slots},
      {"roles", test_roles},
      {"Constant nodes and attributes", test_constant_and_attrs},
      {"declared shapes", test_declared_shapes},
      {"bad files", test_bad_files},
      {"deeply nested subgraphs", test_deep_nesting},
      {"allocation failures", test_alloc_failures},
      {"fuzz fixtures", test_fuzz_fixtures},
      CU_TEST_INFO_NULL,
  };
  return tu_run_suite("onnx_import", tests);
}
