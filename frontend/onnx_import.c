/* onnx_import.c — the first pipeline stage: an ONNX ModelProto becomes a Graph. Reads opsets,
 * initializers, graph inputs (binding symbolic dims), nodes (every unsupported op reported in
 * one message, then a stable topological sort) and attributes, frees the protobuf objects, and
 * runs XploreDL's own shape inference and the verifier; declared value_info/output shapes only
 * cross-check the result. TensorProto decoding lives in onnx_tensor.c. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frontend/frontend.h"
#include "onnx/onnx.pb-c.h"

/* A shape the model declares for a node output (value_info or graph output); -1 = symbolic. */
typedef struct Declared {
  uint32_t tensor;
  int rank;
  int64_t dims[IR_MAX_RANK];
} Declared;

typedef struct Importer {
  Graph *g;
  const Onnx__GraphProto *gp;
  const ImportOptions *opts; /* never NULL (defaults substituted) */
  Diag *d;
  const char *path;
  bool bound;       /* a symbolic dim was bound or an input replaced: skip the cross-check */
  OpKind *ops;      /* per ONNX node, in file order */
  Declared *decl;
  size_t n_decl;
} Importer;

/* Attribute lists longer than this are rejected as absurd (ONNX ops have a dozen at most). */
enum { MAX_NODE_ATTRS = 128 };

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static XdlStatus im_fail(Importer *im, XdlStatus st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static XdlStatus im_fail(Importer *im, XdlStatus st, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return diag_error(im->d, st, "%s: %s", im->path, msg);
}

/* Reports a model feature XploreDL does not have (operators, non-tensor inputs), flagged so
 * that callers can tell "not supported" from "broken". */
static XdlStatus im_unsupported(Importer *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static XdlStatus im_unsupported(Importer *im, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  bool first = diag_ok(im->d);
  XdlStatus st = diag_error(im->d, XDL_ERR_INPUT, "%s: %s", im->path, msg);
  if (first) im->d->unsupported = true;
  return st;
}

/* Re-reports an error an IR call recorded (without the file) in a local Diag. */
static XdlStatus im_relay(Importer *im, const Diag *local) {
  XdlStatus st = local->status != XDL_OK ? local->status : XDL_ERR_INTERNAL;
  return im_fail(im, st, "%s", local->msg[0] ? local->msg : "out of memory");
}

/* "node 'NAME' (OpType)", or "node #k (OpType)" for an unnamed node. */
static const char *node_label(const Onnx__NodeProto *np, size_t k, char *buf, size_t size) {
  const char *name = str_or_empty(np->name);
  const char *type = np->op_type && *np->op_type ? np->op_type : "?";
  if (*name) snprintf(buf, size, "node '%.200s' (%.100s)", name, type);
  else snprintf(buf, size, "node #%zu (%.100s)", k, type);
  return buf;
}

static XdlStatus im_node_fail(Importer *im, size_t k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static XdlStatus im_node_fail(Importer *im, size_t k, const char *fmt, ...) {
  char msg[768], label[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  node_label(im->gp->node[k], k, label, sizeof label);
  return im_fail(im, XDL_ERR_INPUT, "%s: %s", label, msg);
}

static bool dtype_is_float(DataType dt) {
  return dt == DT_FLOAT || dt == DT_DOUBLE || dt == DT_FLOAT16 || dt == DT_BFLOAT16;
}

/* ---- opsets, initializers, inputs ---- */
static XdlStatus import_opsets(Importer *im, const Onnx__ModelProto *m) {
  bool found = false;
  for (size_t k = 0; k < m->n_opset_import; k++) {
    const Onnx__OperatorSetIdProto *os = m->opset_import[k];
    const char *dom = str_or_empty(os->domain);
    int64_t v = os->has_version ? os->version : 0;
    if (!*dom || strcmp(dom, "ai.onnx") == 0) {
      if (v < 1)
        return im_fail(im, XDL_ERR_INPUT, "default-domain opset version %" PRId64 " is invalid",
                       v);
      im->g->opset = v;
      found = true;
    } else if (strcmp(dom, "ai.onnx.preview.training") == 0) {
      im->g->opset_training = v;
    } else if (strcmp(dom, "ai.xploredl") == 0) {
      im->g->opset_xploredl = v;
    }
  }
  /* A model of training-domain ops only (ONNX's optimizer tests) needs no default opset. */
  if (!found && !im->g->opset_training)
    return im_fail(im, XDL_ERR_INPUT, "the model imports no default-domain (ai.onnx) opset");
  return XDL_OK;
}

static XdlStatus import_initializers(Importer *im) {
  const Onnx__GraphProto *gp = im->gp;
  if (gp->n_sparse_initializer)
    return im_fail(im, XDL_ERR_INPUT, "sparse initializers are not supported");
  for (size_t k = 0; k < gp->n_initializer; k++) {
    const Onnx__TensorProto *tp = gp->initializer[k];
    const char *name = str_or_empty(tp->name);
    if (!*name) return im_fail(im, XDL_ERR_INPUT, "initializer #%zu has no name", k);
    char what[300];
    snprintf(what, sizeof what, "initializer '%.200s'", name);
    DataType dt;
    int rank;
    int64_t dims[IR_MAX_RANK];
    XdlStatus st = onnx_tensor_header(tp, im->path, what, &dt, &rank, dims, im->d);
    if (st != XDL_OK) return st;
    Diag ld;
    diag_init(&ld);
    uint32_t t = ir_add_tensor(im->g, name, dt, ROLE_CONST, rank, dims, &ld);
    if (t == IR_NONE) return im_relay(im, &ld);
    st = onnx_tensor_fill(im->g, t, tp, what, im->opts->keep_weight_bytes, im->d);
    if (st != XDL_OK) return st;
  }
  return XDL_OK;
}

/* Dim k of graph input `input`: its value, or the binding of its symbolic name. */
static XdlStatus bind_dim(Importer *im, const char *input, size_t k,
                          const Onnx__TensorShapeProto__Dimension *dim, int64_t *out) {
  const ImportOptions *o = im->opts;
  if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
    if (dim->dim_value < 0)
      return im_fail(im, XDL_ERR_INPUT, "graph input '%.200s' has negative dimension %" PRId64
                     " (dim %zu)", input, dim->dim_value, k);
    *out = dim->dim_value;
    return XDL_OK;
  }
  const char *param = "";
  if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
    param = str_or_empty(dim->dim_param);
  im->bound = true;
  for (int i = 0; *param && o->dim_names && o->dim_values && i < o->n_dims; i++) {
    if (!o->dim_names[i] || strcmp(o->dim_names[i], param) != 0) continue;
    if (o->dim_values[i] < 0)
      return im_fail(im, XDL_ERR_INPUT, "dimension '%.100s' is bound to negative value %" PRId64,
                     param, o->dim_values[i]);
    *out = o->dim_values[i];
    return XDL_OK;
  }
  if (k == 0 || strcmp(param, "batch") == 0 || strcmp(param, "batch_size") == 0 ||
      strcmp(param, "N") == 0) {
    if (o->batch < 0)
      return im_fail(im, XDL_ERR_INPUT, "batch size %" PRId64 " is negative", o->batch);
    *out = o->batch ? o->batch : 1;
    return XDL_OK;
  }
  if (*param)
    return im_fail(im, XDL_ERR_INPUT, "graph input '%.200s' dim %zu is symbolic ('%.100s'); "
                   "bind it with --dim %.100s=VALUE", input, k, param, param);
  return im_fail(im, XDL_ERR_INPUT, "graph input '%.200s' dim %zu has no value; give the input "
                 "a static shape", input, k);
}

/* Sequence, map, optional and sparse graph inputs are a feature XploreDL does not have. */
static XdlStatus check_input_kind(Importer *im, const Onnx__ValueInfoProto *vi,
                                  const char *name) {
  const Onnx__TypeProto *tp = vi->type;
  if (tp && (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type))
    return im_unsupported(im, "graph input '%.200s' is not a tensor (sequence, map, optional "
                          "and sparse inputs are not supported)", name);
  return XDL_OK;
}

/* Adds graph input vi with the dims and element type it declares. */
static XdlStatus input_from_type(Importer *im, const Onnx__ValueInfoProto *vi, const char *name) {
  if (!vi->type)
    return im_fail(im, XDL_ERR_INPUT, "graph input '%.200s' has no type", name);
  const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
  if (!tt->has_elem_type || tt->elem_type <= DT_UNDEFINED || tt->elem_type > DT_MAX)
    return im_fail(im, XDL_ERR_INPUT, "graph input '%.200s' has unsupported element type %"
                   PRId32, name, tt->has_elem_type ? tt->elem_type : 0);
  if (!tt->shape)
    return im_fail(im, XDL_ERR_INPUT, "graph input '%.200s' has no shape", name);
  if (tt->shape->n_dim > IR_MAX_RANK)
    return im_fail(im, XDL_ERR_INPUT, "graph input '%.200s' has rank %zu, more than the "
                   "supported %d", name, tt->shape->n_dim, IR_MAX_RANK);
  int64_t dims[IR_MAX_RANK], numel = 1;
  for (size_t k = 0; k < tt->shape->n_dim; k++) {
    XdlStatus st = bind_dim(im, name, k, tt->shape->dim[k], &dims[k]);
    if (st != XDL_OK) return st;
    if (!ir_mul_ok(numel, dims[k], &numel))
      return im_fail(im, XDL_ERR_INPUT, "graph input '%.200s' has more elements than fit in "
                     "64 bits", name);
  }
  Diag ld;
  diag_init(&ld);
  uint32_t t = ir_add_tensor(im->g, name, (DataType)tt->elem_type, ROLE_INPUT,
                             (int)tt->shape->n_dim, dims, &ld);
  if (t == IR_NONE) return im_relay(im, &ld);
  if (!ir_graph_add_input(im->g, t)) return im_fail(im, XDL_ERR_INTERNAL, "out of memory");
  return XDL_OK;
}

/* Adds graph input `name` with type, dims and small values from the TensorProto file pb. */
static XdlStatus input_from_pb(Importer *im, const char *name, const char *pb) {
  size_t len = 0;
  uint32_t t;
  Onnx__TensorProto *tp = NULL;
  XdlStatus st = XDL_ERR_INPUT;
  uint8_t *buf = onnx_read_file(pb, &len, im->d);
  if (!buf) return im->d->status;
  OnnxPbError err;
  tp = onnx_pb_unpack(&onnx__tensor_proto__descriptor, buf, len, &err);
  if (!tp) {
    st = onnx_pb_error(err, pb, "ONNX TensorProto", im->d);
    goto fail;
  }
  char what[400];
  snprintf(what, sizeof what, "graph input '%.200s' (from %.80s)", name, pb);
  DataType dt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  st = onnx_tensor_header(tp, pb, "tensor", &dt, &rank, dims, im->d);
  if (st != XDL_OK) goto fail;
  Diag ld;
  diag_init(&ld);
  t = ir_add_tensor(im->g, name, dt, ROLE_INPUT, rank, dims, &ld);
  if (t == IR_NONE) {
    st = im_relay(im, &ld);
    goto fail;
  }
  st = onnx_tensor_fill(im->g, t, tp, what, im->opts->keep_weight_bytes, im->d);
  if (st != XDL_OK) goto fail;
  if (!ir_graph_add_input(im->g, t)) st = im_fail(im, XDL_ERR_INTERNAL, "out of memory");
  im->bound = true;
fail:
  onnx_pb_free(tp);
  xdl_free(buf);
  return st;
}

/* Graph inputs that are not initializers, in order; input i may come from opts' pb file i. */
static XdlStatus import_inputs(Importer *im) {
  int idx = 0;
  for (size_t k = 0; k < im->gp->n_input; k++) {
    const Onnx__ValueInfoProto *vi = im->gp->input[k];
    const char *name = str_or_empty(vi->name);
    if (!*name) return im_fail(im, XDL_ERR_INPUT, "graph input #%zu has no name", k);
    uint32_t t = ir_find_tensor(im->g, name);
    if (t != IR_NONE && im->g->tensors[t].role != ROLE_INPUT) continue; /* an initializer */
    const ImportOptions *o = im->opts;
    const char *pb = o->input_pb_paths && idx < o->n_input_pb ? o->input_pb_paths[idx] : NULL;
    idx++;
    XdlStatus st = check_input_kind(im, vi, name);
    if (st != XDL_OK) return st;
    st = pb ? input_from_pb(im, name, pb) : input_from_type(im, vi, name);
    if (st != XDL_OK) return st;
  }
  return XDL_OK;
}

/* ---- operators ---- */
static bool has_graph_attr(const Onnx__NodeProto *np) {
  for (size_t i = 0; i < np->n_attribute; i++) {
    const Onnx__AttributeProto *ap = np->attribute[i];
    if (ap->g || ap->n_graphs || (ap->has_type &&
        (ap->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH ||
         ap->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS)))
      return true;
  }
  return false;
}

/* Looks up every node's op; if any is unsupported (or carries a subgraph, like If/Loop/Scan),
 * reports them all in one message listing each op type with the first node using it. */
static XdlStatus check_ops(Importer *im) {
  enum { MAX_LISTED = 64 };
  size_t first[MAX_LISTED], n_listed = 0, n_more = 0;
  const Onnx__GraphProto *gp = im->gp;
  im->ops = xdl_malloc((gp->n_node ? gp->n_node : 1) * sizeof *im->ops);
  if (!im->ops) return im_fail(im, XDL_ERR_INTERNAL, "out of memory");
  for (size_t k = 0; k < gp->n_node; k++) {
    const Onnx__NodeProto *np = gp->node[k];
    const char *type = str_or_empty(np->op_type), *dom = str_or_empty(np->domain);
    im->ops[k] = ir_op_lookup(dom, type);
    if (im->ops[k] != OP_COUNT && !has_graph_attr(np)) continue;
    im->ops[k] = OP_COUNT;
    bool seen = false;
    for (size_t j = 0; j < n_listed && !seen; j++) {
      const Onnx__NodeProto *q = gp->node[first[j]];
      seen = strcmp(str_or_empty(q->op_type), type) == 0 &&
             strcmp(str_or_empty(q->domain), dom) == 0;
    }
    if (seen) continue;
    if (n_listed < MAX_LISTED) first[n_listed++] = k;
    else n_more++; /* distinct beyond the list: counted, possibly more than once */
  }
  if (!n_listed) return XDL_OK;
  char msg[900];
  size_t used = (size_t)snprintf(msg, sizeof msg, "unsupported operators: ");
  for (size_t j = 0; j < n_listed; j++) {
    const Onnx__NodeProto *np = gp->node[first[j]];
    const char *dom = str_or_empty(np->domain), *name = str_or_empty(np->name);
    char entry[400], where[240];
    if (*name) snprintf(where, sizeof where, "node '%.200s'", name);
    else snprintf(where, sizeof where, "node #%zu", first[j]);
    snprintf(entry, sizeof entry, "%s%.80s%s%.60s%s (first at %s)", j ? ", " : "",
             np->op_type && *np->op_type ? np->op_type : "(no op_type)",
             *dom && strcmp(dom, "ai.onnx") ? " in domain '" : "",
             *dom && strcmp(dom, "ai.onnx") ? dom : "",
             *dom && strcmp(dom, "ai.onnx") ? "'" : "", where);
    if (used + strlen(entry) + 40 >= sizeof msg) {
      n_more += n_listed - j;
      break;
    }
    used += (size_t)snprintf(msg + used, sizeof msg - used, "%s", entry);
  }
  if (n_more) snprintf(msg + used, sizeof msg - used, " and more");
  return im_unsupported(im, "%s", msg);
}

/* ---- attributes ---- */
static int attr_type(const Onnx__AttributeProto *ap) {
  if (ap->has_type) return (int)ap->type;
  /* IR version 1 files carry no type: infer it from the field that is set. */
  if (ap->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  if (ap->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  if (ap->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (ap->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (ap->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (ap->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  if (ap->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static const char *arena_bytes_str(Arena *a, const ProtobufCBinaryData *b) {
  char *s = arena_alloc(a, b->len + 1);
  if (s && b->len) memcpy(s, b->data, b->len);
  return s;
}

/* Makes a TENSOR attribute a ROLE_CONST tensor named "<node>.<attr>". */
static XdlStatus attr_tensor(Importer *im, uint32_t nid, const char *attr,
                             const Onnx__TensorProto *tp, uint32_t *out) {
  char base[512], what[600];
  snprintf(base, sizeof base, "%.300s.%.200s", im->g->nodes[nid].name, attr);
  snprintf(what, sizeof what, "attribute '%.200s' of node '%.300s'", attr,
           im->g->nodes[nid].name);
  DataType dt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  XdlStatus st = onnx_tensor_header(tp, im->path, what, &dt, &rank, dims, im->d);
  if (st != XDL_OK) return st;
  Diag ld;
  diag_init(&ld);
  uint32_t t = ir_add_tensor_unique(im->g, base, dt, ROLE_CONST, rank, dims, &ld);
  if (t == IR_NONE) return im_relay(im, &ld);
  *out = t;
  return onnx_tensor_fill(im->g, t, tp, what, im->opts->keep_weight_bytes, im->d);
}

/* Converts ONNX node k's attributes onto IR node nid. */
static XdlStatus import_attrs(Importer *im, size_t k, uint32_t nid) {
  const Onnx__NodeProto *np = im->gp->node[k];
  Arena *ar = &im->g->arena;
  size_t n = np->n_attribute;
  if (!n) return XDL_OK;
  if (n > MAX_NODE_ATTRS)
    return im_node_fail(im, k, "has %zu attributes, more than the %d supported", n,
                        MAX_NODE_ATTRS);
  Attr *attrs = arena_alloc(ar, n * sizeof *attrs);
  if (!attrs) return im_fail(im, XDL_ERR_INTERNAL, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const Onnx__AttributeProto *ap = np->attribute[i];
    Attr *a = &attrs[i];
    const char *name = str_or_empty(ap->name);
    if (!*name) return im_node_fail(im, k, "attribute #%zu has no name", i);
    for (size_t j = 0; j < i; j++)
      if (strcmp(attrs[j].name, name) == 0)
        return im_node_fail(im, k, "attribute '%.100s' is given twice", name);
    if (ap->ref_attr_name && *ap->ref_attr_name)
      return im_node_fail(im, k, "attribute '%.100s' refers to a function attribute", name);
    if (ap->n_ints > INT32_MAX || ap->n_floats > INT32_MAX || ap->n_strings > INT32_MAX)
      return im_node_fail(im, k, "attribute '%.100s' is absurdly long", name);
    a->name = arena_strdup(ar, name);
    if (!a->name) goto oom;
    a->tensor = IR_NONE;
    switch (attr_type(ap)) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
      a->kind = ATTR_INT;
      a->i = ap->i;
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
      a->kind = ATTR_FLOAT;
      a->f = ap->f;
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
      a->kind = ATTR_STRING;
      if (!(a->s = arena_bytes_str(ar, &ap->s))) goto oom;
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
      a->kind = ATTR_INTS;
      a->n = (int)ap->n_ints;
      if (!(a->ints = arena_memdup(ar, ap->ints, ap->n_ints * sizeof *ap->ints))) goto oom;
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
      a->kind = ATTR_FLOATS;
      a->n = (int)ap->n_floats;
      if (!(a->floats = arena_alloc(ar, (ap->n_floats + 1) * sizeof *a->floats))) goto oom;
      for (size_t j = 0; j < ap->n_floats; j++) a->floats[j] = ap->floats[j];
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
      a->kind = ATTR_STRINGS;
      a->n = (int)ap->n_strings;
      if (!(a->strs = arena_alloc(ar, (ap->n_strings + 1) * sizeof *a->strs))) goto oom;
      for (size_t j = 0; j < ap->n_strings; j++)
        if (!(a->strs[j] = arena_bytes_str(ar, &ap->strings[j]))) goto oom;
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
      a->kind = ATTR_TENSOR;
      if (!ap->t) return im_node_fail(im, k, "tensor attribute '%.100s' has no tensor", name);
      XdlStatus st = attr_tensor(im, nid, name, ap->t, &a->tensor);
      if (st != XDL_OK) return st;
      break;
    }
    default:
      return im_node_fail(im, k, "attribute '%.100s' has unsupported type %d", name,
                          attr_type(ap));
    }
  }
  im->g->nodes[nid].attrs = attrs;
  im->g->nodes[nid].n_attrs = (int)n;
  return XDL_OK;
oom:
  return im_fail(im, XDL_ERR_INTERNAL, "out of memory");
}

/* ---- nodes ---- */
/* Min-heap of node indices: Kahn's algorithm taking the lowest ready index keeps file order
 * whenever the file is already topological. */
static void heap_push(uint32_t *h, size_t *n, uint32_t v) {
  size_t i = (*n)++;
  for (; i && h[(i - 1) / 2] > v; i = (i - 1) / 2) h[i] = h[(i - 1) / 2];
  h[i] = v;
}

static uint32_t heap_pop(uint32_t *h, size_t *n) {
  uint32_t top = h[0], last = h[--*n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && h[c + 1] < h[c]) c++;
    if (h[c] >= last) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
  return top;
}

/* Per-node tensor ids and the producer links the topological sort needs. */
typedef struct NodeLinks {
  size_t *in_off, *out_off; /* n_node + 1 offsets into in_ids / out_ids */
  uint32_t *in_ids, *out_ids;
  uint32_t base;            /* first tensor id made for a node output */
  uint32_t *prod;           /* ONNX node producing tensor base + i */
} NodeLinks;

/* Creates every node output tensor (rejecting names produced twice) and resolves inputs. */
static XdlStatus link_nodes(Importer *im, NodeLinks *L) {
  const Onnx__GraphProto *gp = im->gp;
  Graph *g = im->g;
  char label[320];
  L->base = g->n_tensors;
  for (size_t k = 0; k < gp->n_node; k++) {
    const Onnx__NodeProto *np = gp->node[k];
    for (size_t j = 0; j < np->n_output; j++) {
      const char *name = str_or_empty(np->output[j]);
      uint32_t *slot = &L->out_ids[L->out_off[k] + j];
      *slot = IR_NONE;
      if (!*name) continue;
      uint32_t t = ir_find_tensor(g, name);
      if (t != IR_NONE && t >= L->base)
        return im_node_fail(im, k, "output '%.200s' is already produced by %s", name,
                            node_label(gp->node[L->prod[t - L->base]], L->prod[t - L->base],
                                       label, sizeof label));
      if (t != IR_NONE)
        return im_node_fail(im, k, "output '%.200s' is also a graph input or initializer",
                            name);
      Diag ld;
      diag_init(&ld);
      TensorRole role = im->ops[k] == OP_CONSTANT ? ROLE_CONST : ROLE_ACTIVATION;
      t = ir_add_tensor(g, name, DT_UNDEFINED, role, -1, NULL, &ld);
      if (t == IR_NONE) return im_relay(im, &ld);
      L->prod[t - L->base] = (uint32_t)k;
      *slot = t;
    }
  }
  for (size_t k = 0; k < gp->n_node; k++) {
    const Onnx__NodeProto *np = gp->node[k];
    for (size_t j = 0; j < np->n_input; j++) {
      const char *name = str_or_empty(np->input[j]);
      uint32_t t = *name ? ir_find_tensor(g, name) : IR_NONE;
      if (*name && t == IR_NONE)
        return im_node_fail(im, k, "input '%.200s' is not defined (no initializer, graph "
                            "input or node output has that name)", name);
      L->in_ids[L->in_off[k] + j] = t;
    }
  }
  return XDL_OK;
}

/* Stable topological order of the ONNX nodes into order[]; a cycle is an error naming a node
 * on it. */
static XdlStatus sort_nodes(Importer *im, const NodeLinks *L, uint32_t *order) {
  size_t n = im->gp->n_node, n_done = 0, n_heap = 0;
  XdlStatus st = XDL_OK;
  uint32_t *indeg = xdl_calloc(n + 1, sizeof *indeg), *heap = xdl_malloc((n + 1) * sizeof *heap);
  size_t *succ_off = xdl_calloc(n + 2, sizeof *succ_off);
  uint32_t *succ = xdl_malloc((L->in_off[n] + 1) * sizeof *succ);
  if (!indeg || !heap || !succ_off || !succ) {
    st = im_fail(im, XDL_ERR_INTERNAL, "out of memory");
    goto fail;
  }
  for (size_t k = 0; k < n; k++)
    for (size_t j = L->in_off[k]; j < L->in_off[k + 1]; j++) {
      uint32_t t = L->in_ids[j];
      if (t == IR_NONE || t < L->base) continue;
      indeg[k]++;
      succ_off[L->prod[t - L->base] + 2]++;
    }
  for (size_t k = 0; k < n; k++) succ_off[k + 2] += succ_off[k + 1];
  for (size_t k = 0; k < n; k++) /* succ_off[p + 1] is the fill cursor of producer p */
    for (size_t j = L->in_off[k]; j < L->in_off[k + 1]; j++) {
      uint32_t t = L->in_ids[j];
      if (t != IR_NONE && t >= L->base) succ[succ_off[L->prod[t - L->base] + 1]++] = (uint32_t)k;
    }
  for (size_t k = 0; k < n; k++)
    if (!indeg[k]) heap_push(heap, &n_heap, (uint32_t)k);
  while (n_heap) {
    uint32_t k = heap_pop(heap, &n_heap);
    order[n_done++] = k;
    for (size_t j = succ_off[k]; j < succ_off[k + 1]; j++)
      if (--indeg[succ[j]] == 0) heap_push(heap, &n_heap, succ[j]);
  }
  if (n_done < n) {
    /* Every node left has a producer that is also left: walking producers from any of them
     * revisits a node, and that node is on a cycle. heap[] marks the visited ones. */
    size_t u = 0;
    while (!indeg[u]) u++;
    memset(heap, 0, (n + 1) * sizeof *heap);
    while (!heap[u]) {
      heap[u] = 1;
      for (size_t j = L->in_off[u]; j < L->in_off[u + 1]; j++) {
        uint32_t t = L->in_ids[j];
        if (t != IR_NONE && t >= L->base && indeg[L->prod[t - L->base]]) {
          u = L->prod[t - L->base];
          break;
        }
      }
    }
    st = im_node_fail(im, u, "is on a cycle: the graph is not acyclic");
  }
fail:
  xdl_free(indeg);
  xdl_free(heap);
  xdl_free(succ_off);
  xdl_free(succ);
  return st;
}

/* Creates the IR nodes in topological order, with their attributes. */
static XdlStatus import_nodes(Importer *im) {
  const Onnx__GraphProto *gp = im->gp;
  size_t n = gp->n_node;
  XdlStatus st = XDL_ERR_INTERNAL;
  NodeLinks L = {0};
  uint32_t *order = NULL;
  if (n >= IR_NONE) return im_fail(im, XDL_ERR_INPUT, "the graph has too many nodes");
  L.in_off = xdl_calloc(n + 1, sizeof *L.in_off);
  L.out_off = xdl_calloc(n + 1, sizeof *L.out_off);
  if (!L.in_off || !L.out_off) goto oom;
  for (size_t k = 0; k < n; k++) {
    const Onnx__NodeProto *np = gp->node[k];
    if (np->n_input > INT32_MAX || np->n_output > INT32_MAX) {
      st = im_node_fail(im, k, "has too many inputs or outputs");
      goto fail;
    }
    L.in_off[k + 1] = L.in_off[k] + np->n_input;   /* bounded by the message size */
    L.out_off[k + 1] = L.out_off[k] + np->n_output;
  }
  L.in_ids = xdl_malloc((L.in_off[n] + 1) * sizeof *L.in_ids);
  L.out_ids = xdl_malloc((L.out_off[n] + 1) * sizeof *L.out_ids);
  L.prod = xdl_malloc((L.out_off[n] + 1) * sizeof *L.prod);
  order = xdl_malloc((n + 1) * sizeof *order);
  if (!L.in_ids || !L.out_ids || !L.prod || !order) goto oom;
  if ((st = link_nodes(im, &L)) != XDL_OK) goto fail;
  if ((st = sort_nodes(im, &L, order)) != XDL_OK) goto fail;
  for (size_t i = 0; i < n; i++) {
    size_t k = order[i];
    const Onnx__NodeProto *np = gp->node[k];
    const char *name = np->name; /* repeated names are made unique by ir_add_node */
    Diag ld;
    diag_init(&ld);
    uint32_t nid = ir_add_node(im->g, im->ops[k], name, L.in_ids + L.in_off[k],
                               (int)np->n_input, L.out_ids + L.out_off[k], (int)np->n_output,
                               &ld);
    if (nid == IR_NONE) {
      st = im_relay(im, &ld);
      goto fail;
    }
    if ((st = import_attrs(im, k, nid)) != XDL_OK) goto fail;
  }
  st = XDL_OK;
  goto fail;
oom:
  st = im_fail(im, XDL_ERR_INTERNAL, "out of memory");
fail:
  xdl_free(L.in_off);
  xdl_free(L.out_off);
  xdl_free(L.in_ids);
  xdl_free(L.out_ids);
  xdl_free(L.prod);
  xdl_free(order);
  return st;
}

/* ---- outputs, roles, declared shapes ---- */
static XdlStatus import_outputs(Importer *im) {
  for (size_t k = 0; k < im->gp->n_output; k++) {
    const char *name = str_or_empty(im->gp->output[k]->name);
    uint32_t t = ir_find_tensor(im->g, name);
    if (t == IR_NONE)
      return im_fail(im, XDL_ERR_INPUT, "graph output '%.200s' is not produced by any node "
                     "and is not an input or initializer", name);
    if (im->g->tensors[t].is_graph_output) continue; /* listed twice: keep one */
    if (!ir_graph_add_output(im->g, t)) return im_fail(im, XDL_ERR_INTERNAL, "out of memory");
  }
  return XDL_OK;
}

/* A float initializer is a trainable weight when some node reads it through a differentiable
 * input; otherwise (and for every other initializer) it stays a constant. */
static void assign_roles(Graph *g) {
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    uint32_t nodiff = ir_ops[nd->op].nodiff;
    for (int i = 0; i < nd->n_inputs; i++) {
      if (nd->inputs[i] == IR_NONE) continue;
      Tensor *t = &g->tensors[nd->inputs[i]];
      bool diff = i >= 32 || !((nodiff >> i) & 1u);
      if (diff && t->producer == IR_NONE && t->role == ROLE_CONST && dtype_is_float(t->dtype))
        t->role = ROLE_WEIGHT;
    }
  }
}

/* Keeps the statically known shape vi declares for a node output, for check_declared. */
static void declare_one(Importer *im, const Onnx__ValueInfoProto *vi) {
  uint32_t t = ir_find_tensor(im->g, str_or_empty(vi->name));
  if (t == IR_NONE || im->g->tensors[t].producer == IR_NONE) return;
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
      !tp->tensor_type->shape || tp->tensor_type->shape->n_dim > IR_MAX_RANK)
    return;
  const Onnx__TensorShapeProto *sp = tp->tensor_type->shape;
  Declared *dc = &im->decl[im->n_decl++];
  dc->tensor = t;
  dc->rank = (int)sp->n_dim;
  for (size_t k = 0; k < sp->n_dim; k++) {
    const Onnx__TensorShapeProto__Dimension *dim = sp->dim[k];
    bool known = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                 dim->dim_value >= 0;
    dc->dims[k] = known ? dim->dim_value : -1;
  }
}

static XdlStatus record_declared(Importer *im) {
  const Onnx__GraphProto *gp = im->gp;
  if (im->bound) return XDL_OK; /* bound dims legitimately differ from the exported ones */
  im->decl = xdl_malloc((gp->n_output + gp->n_value_info + 1) * sizeof *im->decl);
  if (!im->decl) return im_fail(im, XDL_ERR_INTERNAL, "out of memory");
  for (size_t k = 0; k < gp->n_output; k++) declare_one(im, gp->output[k]);
  for (size_t k = 0; k < gp->n_value_info; k++) declare_one(im, gp->value_info[k]);
  return XDL_OK;
}

static void format_dims(char *buf, size_t size, int rank, const int64_t *dims) {
  size_t used = (size_t)snprintf(buf, size, "[");
  for (int k = 0; k < rank && used < size; k++) {
    if (dims[k] < 0) used += (size_t)snprintf(buf + used, size - used, "%s?", k ? "," : "");
    else used += (size_t)snprintf(buf + used, size - used, "%s%" PRId64, k ? "," : "", dims[k]);
  }
  if (used < size) snprintf(buf + used, size - used, "]");
}

/* After shape inference: declared static dims must equal the inferred ones. */
static XdlStatus check_declared(Importer *im) {
  const Graph *g = im->g;
  for (size_t i = 0; i < im->n_decl; i++) {
    const Declared *dc = &im->decl[i];
    const Tensor *t = &g->tensors[dc->tensor];
    bool same = t->rank == dc->rank;
    for (int k = 0; same && k < dc->rank; k++) same = dc->dims[k] < 0 || dc->dims[k] == t->dims[k];
    if (same) continue;
    char got[200], want[200];
    format_dims(got, sizeof got, t->rank, t->dims);
    format_dims(want, sizeof want, dc->rank, dc->dims);
    const Node *nd = &g->nodes[t->producer];
    return im_fail(im, XDL_ERR_INPUT, "node '%s' (%s): output '%s' has inferred shape %s, but "
                   "the model declares %s", nd->name, ir_ops[nd->op].name, t->name, got, want);
  }
  return XDL_OK;
}

/* ---- entry points ---- */
/* The model name: the file's base name without ".onnx" and ".nodata". */
static const char *path_stem(Arena *a, const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".onnx") == 0) n -= 5;
  if (n > 7 && strncmp(base + n - 7, ".nodata", 7) == 0) n -= 7;
  char *s = arena_alloc(a, n + 1);
  if (s) memcpy(s, base, n);
  return s;
}

Graph *onnx_load_buffer(const uint8_t *buf, size_t len, const char *path,
                        const ImportOptions *opts, Diag *d) {
  static const ImportOptions no_opts = {0};
  Diag dlocal;
  if (!d) {
    diag_init(&dlocal);
    d = &dlocal;
  }
  Importer im = {.opts = opts ? opts : &no_opts, .d = d, .path = path ? path : "<memory>"};
  Onnx__ModelProto *m = NULL;
  OnnxPbError err;
  if (!buf || len == 0) {
    im_fail(&im, XDL_ERR_INPUT, "empty file");
    goto fail;
  }
  m = onnx_pb_unpack(&onnx__model_proto__descriptor, buf, len, &err);
  if (!m) {
    onnx_pb_error(err, im.path, "ONNX model", d);
    goto fail;
  }
  if (!m->graph) {
    im_fail(&im, XDL_ERR_INPUT, "not an ONNX model (no graph)");
    goto fail;
  }
  im.gp = m->graph;
  if (!(im.g = ir_graph_new())) {
    im_fail(&im, XDL_ERR_INTERNAL, "out of memory");
    goto fail;
  }
  im.g->path = arena_strdup(&im.g->arena, im.path);
  im.g->name = path_stem(&im.g->arena, im.path);
  if (!im.g->path || !im.g->name) {
    im.g->path = "";
    im_fail(&im, XDL_ERR_INTERNAL, "out of memory");
    goto fail;
  }
  if (check_ops(&im) || import_opsets(&im, m) || import_initializers(&im) ||
      import_inputs(&im) || import_nodes(&im) || import_outputs(&im) || record_declared(&im))
    goto fail;
  assign_roles(im.g);
  onnx_pb_free(m); /* everything needed is in the graph now */
  m = NULL;
  im.gp = NULL;
  if (ir_infer_shapes(im.g, d) || ir_verify(im.g, d) || check_declared(&im)) goto fail;
  xdl_free(im.ops);
  xdl_free(im.decl);
  return im.g;
fail:
  if (diag_ok(d)) im_fail(&im, XDL_ERR_INTERNAL, "import failed");
  onnx_pb_free(m);
  ir_graph_free(im.g);
  xdl_free(im.ops);
  xdl_free(im.decl);
  return NULL;
}

Graph *onnx_load(const char *path, const ImportOptions *opts, Diag *d) {
  Diag dlocal;
  if (!d) {
    diag_init(&dlocal);
    d = &dlocal;
  }
  size_t len = 0;
  uint8_t *buf = onnx_read_file(path, &len, d);
  if (!buf) return NULL;
  Graph *g = onnx_load_buffer(buf, len, path, opts, d);
  xdl_free(buf);
  return g;
}
