/* onnx_export.c — Graph → ONNX ModelProto, the inverse of onnx_import.c. It writes the models
 * XploreDL ships (models/make_nets.c) and the compact capsule models: graph inputs and outputs
 * with their types, every node with its attributes, and initializers inline when their bytes or
 * values are known, else as external data in a side file that is never written (shape-only
 * importers read dims from the TensorProto). Protobuf-c structs live in one arena per call. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "onnx/onnx.pb-c.h"

/* One export in progress. Every protobuf struct and buffer is allocated in arena. */
typedef struct Writer {
  const Graph *g;            /* borrowed */
  const char *path;          /* borrowed; named in every message */
  const ExportOptions *opts; /* borrowed; never NULL */
  Diag *d;
  Arena arena;
  char *ext_location;        /* "<stem>.weights", relative to the model */
  int64_t ext_offset_bytes;  /* next free byte in that (never written) file */
  bool used_domain[DOM_INTERNAL + 1];
} Writer;

/* Allocates n zeroed elements of size bytes from the writer's arena; records out of memory. */
static void *w_alloc(Writer *w, size_t n, size_t size) {
  void *p = NULL;
  if (!size || n <= SIZE_MAX / size) p = arena_alloc(&w->arena, n && size ? n * size : 1);
  if (!p) diag_error(w->d, XDL_ERR_INTERNAL, "%s: out of memory while exporting", w->path);
  return p;
}

/* Protobuf-c wants char *; pack only reads it, and the graph outlives the ModelProto. */
static char *w_str(const char *s) { return (char *)(s ? s : ""); }

/* ---- tensor values ---- */

/* IEEE binary32 → binary16, rounding to nearest even; overflow gives infinity. */
static uint16_t half_from_float(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  uint32_t sign = (x >> 16) & 0x8000u, man = x & 0x7fffffu;
  int32_t fexp = (int32_t)((x >> 23) & 0xffu);
  if (fexp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0u));
  int32_t exp = fexp - 127 + 15;
  if (exp >= 31) return (uint16_t)(sign | 0x7c00u);
  if (exp <= 0) { /* subnormal half: value · 2^24 as an integer */
    if (exp < -10) return (uint16_t)sign;
    man |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - exp), h = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = sign | ((uint32_t)exp << 10) | (man >> 13), rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry rounds up the exponent */
  return (uint16_t)h;
}

/* IEEE binary32 → bfloat16 (the upper half), rounding to nearest even; NaN stays NaN. */
static uint16_t bf16_from_float(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)(x >> 16);
}

/* Stores the low `bytes` bytes of v at p, least significant first. */
static void put_le(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static bool is_float_type(DataType dt) {
  return dt == DT_FLOAT || dt == DT_DOUBLE || dt == DT_FLOAT16 || dt == DT_BFLOAT16;
}

/* Element k of t's known values as an integer (floats truncate toward zero, saturating). */
static int64_t value_int(const Tensor *t, int64_t k) {
  if (t->ivals) return t->ivals[k];
  double v = t->fvals[k];
  if (v != v) return 0;
  if (v >= 9223372036854775807.0) return INT64_MAX;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}

/* Element k of t's known values as a double. */
static double value_float(const Tensor *t, int64_t k) {
  return t->fvals ? t->fvals[k] : (double)t->ivals[k];
}

/* Encodes the known values of t (numel elements) as little-endian raw_data. Returns false
 * (nothing recorded) when its element type has no encoding from known values. */
static bool encode_values(Writer *w, const Tensor *t, int64_t numel, ProtobufCBinaryData *out,
                          bool *oom) {
  int width = ir_dtype_bytes(t->dtype);
  if (width == 0 || t->dtype == DT_COMPLEX64 || t->dtype == DT_COMPLEX128) return false;
  uint8_t *buf = w_alloc(w, (size_t)numel, (size_t)width);
  if (!buf) {
    *oom = true;
    return false;
  }
  for (int64_t k = 0; k < numel; k++) {
    uint8_t *p = buf + k * width;
    if (is_float_type(t->dtype)) {
      double v = value_float(t, k);
      float f = (float)v;
      uint32_t u32;
      uint64_t u64;
      switch (t->dtype) {
      case DT_DOUBLE: memcpy(&u64, &v, 8); put_le(p, u64, 8); break;
      case DT_FLOAT16: put_le(p, half_from_float(f), 2); break;
      case DT_BFLOAT16: put_le(p, bf16_from_float(f), 2); break;
      default: memcpy(&u32, &f, 4); put_le(p, u32, 4); break;
      }
    } else if (t->dtype == DT_BOOL) {
      p[0] = value_int(t, k) != 0;
    } else {
      put_le(p, (uint64_t)value_int(t, k), width); /* two's complement, truncated */
    }
  }
  out->data = buf;
  out->len = (size_t)(numel * width);
  return true;
}

/* Builds the TensorProto of tensor id. Its data comes, in order of preference, from the bytes
 * the graph holds, from its known values, or else points into the external side file. */
static Onnx__TensorProto *tensor_proto(Writer *w, uint32_t id) {
  const Tensor *t = &w->g->tensors[id];
  int64_t numel = ir_numel(t);
  if (numel < 0) {
    diag_error(w->d, XDL_ERR_INPUT, "%s: constant tensor '%s' has no known shape", w->path,
               t->name);
    return NULL;
  }
  Onnx__TensorProto *tp = w_alloc(w, 1, sizeof *tp);
  int64_t *dims = w_alloc(w, (size_t)(t->rank ? t->rank : 1), sizeof *dims);
  if (!tp || !dims) return NULL;
  onnx__tensor_proto__init(tp);
  tp->name = w_str(t->name);
  tp->has_data_type = 1;
  tp->data_type = (int32_t)t->dtype;
  if (t->rank) memcpy(dims, t->dims, (size_t)t->rank * sizeof *dims);
  tp->n_dims = (size_t)t->rank;
  tp->dims = dims;

  int width = ir_dtype_bytes(t->dtype);
  int64_t n_bytes = 0;
  if (!ir_mul_ok(numel, width, &n_bytes)) n_bytes = -1;
  bool oom = false;
  if (t->data.bytes && n_bytes >= 0 && t->data.n_bytes == (size_t)n_bytes) {
    tp->has_raw_data = 1;
    tp->raw_data.data = (uint8_t *)t->data.bytes;
    tp->raw_data.len = t->data.n_bytes;
    return tp;
  }
  if (numel == 0) return tp; /* nothing to hold */
  if ((t->ivals || t->fvals) && numel <= IR_MAX_FOLD_ELEMS) {
    if (encode_values(w, t, numel, &tp->raw_data, &oom)) {
      tp->has_raw_data = 1;
      return tp;
    }
    if (oom) return NULL;
  }
  if (width == 0 || n_bytes < 0 || t->dtype == DT_STRING) {
    diag_error(w->d, XDL_ERR_INPUT, "%s: tensor '%s' (%s) has neither data nor known values",
               w->path, t->name, ir_dtype_name(t->dtype));
    return NULL;
  }
  /* External data: the importer reads dims from here and never opens the side file. */
  Onnx__StringStringEntryProto **ents = w_alloc(w, 3, sizeof *ents);
  Onnx__StringStringEntryProto *e = w_alloc(w, 3, sizeof *e);
  char *off = w_alloc(w, 3, 24);
  if (!ents || !e || !off) return NULL;
  snprintf(off, 24, "%lld", (long long)w->ext_offset_bytes);
  snprintf(off + 24, 24, "%lld", (long long)n_bytes);
  const char *keys[3] = {"location", "offset", "length"};
  const char *vals[3] = {w->ext_location, off, off + 24};
  for (int i = 0; i < 3; i++) {
    onnx__string_string_entry_proto__init(&e[i]);
    e[i].key = w_str(keys[i]);
    e[i].value = w_str(vals[i]);
    ents[i] = &e[i];
  }
  tp->n_external_data = 3;
  tp->external_data = ents;
  tp->has_data_location = 1;
  tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  if (!ir_add_ok(w->ext_offset_bytes, n_bytes, &w->ext_offset_bytes)) {
    diag_error(w->d, XDL_ERR_INPUT, "%s: external data larger than 2^63 bytes", w->path);
    return NULL;
  }
  return tp;
}

/* ValueInfoProto of a graph input or output: element type and, when known, the shape (the
 * leading dim symbolic when opts->batch_param is set). */
static Onnx__ValueInfoProto *value_info(Writer *w, uint32_t id) {
  const Tensor *t = &w->g->tensors[id];
  Onnx__ValueInfoProto *vi = w_alloc(w, 1, sizeof *vi);
  Onnx__TypeProto *type = w_alloc(w, 1, sizeof *type);
  Onnx__TypeProto__Tensor *tt = w_alloc(w, 1, sizeof *tt);
  if (!vi || !type || !tt) return NULL;
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(type);
  onnx__type_proto__tensor__init(tt);
  vi->name = w_str(t->name);
  vi->type = type;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tt;
  tt->has_elem_type = 1;
  tt->elem_type = (int32_t)t->dtype;
  if (t->rank < 0) return vi; /* shape unknown: type only */
  Onnx__TensorShapeProto *sh = w_alloc(w, 1, sizeof *sh);
  Onnx__TensorShapeProto__Dimension **dp = w_alloc(w, (size_t)t->rank + 1, sizeof *dp);
  Onnx__TensorShapeProto__Dimension *dims = w_alloc(w, (size_t)t->rank + 1, sizeof *dims);
  if (!sh || !dp || !dims) return NULL;
  onnx__tensor_shape_proto__init(sh);
  for (int i = 0; i < t->rank; i++) {
    onnx__tensor_shape_proto__dimension__init(&dims[i]);
    if (i == 0 && w->opts->batch_param) {
      dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      dims[i].dim_param = w_str(w->opts->batch_param);
    } else {
      dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dims[i].dim_value = t->dims[i];
    }
    dp[i] = &dims[i];
  }
  sh->n_dim = (size_t)t->rank;
  sh->dim = dp;
  tt->shape = sh;
  return vi;
}

/* AttributeProto of attribute a of node n; every AttrKind but ATTR_GRAPH has an ONNX form. */
static Onnx__AttributeProto *attr_proto(Writer *w, uint32_t n, const Attr *a) {
  const Node *nd = &w->g->nodes[n];
  Onnx__AttributeProto *ap = w_alloc(w, 1, sizeof *ap);
  if (!ap) return NULL;
  onnx__attribute_proto__init(ap);
  ap->name = w_str(a->name);
  ap->has_type = 1;
  size_t count = a->n > 0 ? (size_t)a->n : 0;
  switch (a->kind) {
  case ATTR_INT:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    ap->has_i = 1;
    ap->i = a->i;
    break;
  case ATTR_FLOAT:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    ap->has_f = 1;
    ap->f = (float)a->f;
    break;
  case ATTR_STRING:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    ap->has_s = 1;
    ap->s.data = (uint8_t *)w_str(a->s);
    ap->s.len = strlen(w_str(a->s));
    break;
  case ATTR_INTS:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    ap->n_ints = count;
    ap->ints = a->ints;
    break;
  case ATTR_FLOATS: {
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    float *fs = w_alloc(w, count, sizeof *fs);
    if (!fs) return NULL;
    for (size_t i = 0; i < count; i++) fs[i] = (float)a->floats[i];
    ap->n_floats = count;
    ap->floats = fs;
    break;
  }
  case ATTR_STRINGS: {
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    ProtobufCBinaryData *ss = w_alloc(w, count, sizeof *ss);
    if (!ss) return NULL;
    for (size_t i = 0; i < count; i++) {
      ss[i].data = (uint8_t *)w_str(a->strs[i]);
      ss[i].len = strlen(w_str(a->strs[i]));
    }
    ap->n_strings = count;
    ap->strings = ss;
    break;
  }
  case ATTR_TENSOR:
    if (a->tensor >= w->g->n_tensors) goto fail;
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    ap->t = tensor_proto(w, a->tensor);
    if (!ap->t) return NULL;
    break;
  case ATTR_GRAPH:
    goto fail;
  }
  return ap;
fail:
  diag_error(w->d, XDL_ERR_INPUT, "%s: node '%s' (%s): attribute '%s' cannot be exported",
             w->path, nd->name, ir_ops[nd->op].name, a->name);
  return NULL;
}

/* Copies the names of ids (IR_NONE → "", trailing IR_NONE dropped) into *out. */
static bool name_list(Writer *w, const uint32_t *ids, int n, char ***out, size_t *n_out) {
  while (n > 0 && ids[n - 1] == IR_NONE) n--;
  char **names = w_alloc(w, (size_t)n, sizeof *names);
  if (!names) return false;
  for (int i = 0; i < n; i++)
    names[i] = ids[i] == IR_NONE ? w_str("") : w_str(w->g->tensors[ids[i]].name);
  *out = names;
  *n_out = (size_t)n;
  return true;
}

/* NodeProto of node n: op_type and domain from the operator table, inputs and outputs by name,
 * attributes in their stored order. Ops internal to XploreDL (pass-created) and nodes that read
 * a tensor produced later (ONNX requires topological order) are refused. */
static Onnx__NodeProto *node_proto(Writer *w, uint32_t n) {
  const Node *nd = &w->g->nodes[n];
  const OpInfo *op = &ir_ops[nd->op];
  if (op->domain == DOM_INTERNAL) {
    diag_error(w->d, XDL_ERR_INPUT, "%s: node '%s' (%s) is internal to XploreDL and has no ONNX "
               "form", w->path, nd->name, op->name);
    return NULL;
  }
  for (int i = 0; i < nd->n_inputs; i++) {
    uint32_t t = nd->inputs[i];
    if (t != IR_NONE && w->g->tensors[t].producer != IR_NONE && w->g->tensors[t].producer >= n) {
      diag_error(w->d, XDL_ERR_INTERNAL, "%s: node '%s' (%s) reads '%s' before it is produced "
                 "(nodes are not in topological order)", w->path, nd->name, op->name,
                 w->g->tensors[t].name);
      return NULL;
    }
  }
  Onnx__NodeProto *np = w_alloc(w, 1, sizeof *np);
  Onnx__AttributeProto **attrs = w_alloc(w, (size_t)nd->n_attrs, sizeof *attrs);
  if (!np || !attrs) return NULL;
  onnx__node_proto__init(np);
  np->name = w_str(nd->name);
  np->op_type = w_str(op->name);
  np->domain = w_str(op->domain == DOM_ONNX ? "" : ir_domain_name(op->domain));
  w->used_domain[op->domain] = true;
  if (!name_list(w, nd->inputs, nd->n_inputs, &np->input, &np->n_input) ||
      !name_list(w, nd->outputs, nd->n_outputs, &np->output, &np->n_output))
    return NULL;
  for (int i = 0; i < nd->n_attrs; i++) {
    attrs[i] = attr_proto(w, n, &nd->attrs[i]);
    if (!attrs[i]) return NULL;
  }
  np->n_attribute = (size_t)nd->n_attrs;
  np->attribute = attrs;
  return np;
}

/* Marks the tensors written as initializers: read by some node or listed as a graph output,
 * produced by no node and not a graph input. Fails on such a tensor that is an activation. */
static bool mark_initializers(Writer *w, bool *init, size_t *count) {
  const Graph *g = w->g;
  bool *is_input = w_alloc(w, g->n_tensors, sizeof *is_input);
  if (!is_input) return false;
  for (uint32_t i = 0; i < g->n_inputs; i++) is_input[g->inputs[i]] = true;
  for (uint32_t n = 0; n < g->n_nodes; n++)
    for (int i = 0; i < g->nodes[n].n_inputs; i++)
      if (g->nodes[n].inputs[i] != IR_NONE) init[g->nodes[n].inputs[i]] = true;
  for (uint32_t i = 0; i < g->n_outputs; i++) init[g->outputs[i]] = true;
  *count = 0;
  for (uint32_t t = 0; t < g->n_tensors; t++) {
    const Tensor *tt = &g->tensors[t];
    if (!init[t] || tt->producer != IR_NONE || is_input[t]) {
      init[t] = false;
      continue;
    }
    if (tt->role == ROLE_ACTIVATION || tt->role == ROLE_INPUT) {
      diag_error(w->d, XDL_ERR_INPUT, "%s: tensor '%s' is read but neither produced by a node, "
                 "a graph input nor a constant", w->path, tt->name);
      return false;
    }
    (*count)++;
  }
  return true;
}

/* Builds the whole ModelProto, or returns NULL with the error in w->d. */
static Onnx__ModelProto *model_proto(Writer *w) {
  const Graph *g = w->g;
  if (g->opset <= 0) {
    diag_error(w->d, XDL_ERR_INPUT, "%s: graph has no default-domain opset version", w->path);
    return NULL;
  }
  Onnx__ModelProto *m = w_alloc(w, 1, sizeof *m);
  Onnx__GraphProto *gp = w_alloc(w, 1, sizeof *gp);
  Onnx__NodeProto **nodes = w_alloc(w, g->n_nodes, sizeof *nodes);
  Onnx__ValueInfoProto **ins = w_alloc(w, g->n_inputs, sizeof *ins);
  Onnx__ValueInfoProto **outs = w_alloc(w, g->n_outputs, sizeof *outs);
  bool *init = w_alloc(w, g->n_tensors, sizeof *init);
  if (!m || !gp || !nodes || !ins || !outs || !init) return NULL;
  onnx__model_proto__init(m);
  onnx__graph_proto__init(gp);
  for (uint32_t n = 0; n < g->n_nodes; n++)
    if (!(nodes[n] = node_proto(w, n))) return NULL;
  for (uint32_t i = 0; i < g->n_inputs; i++)
    if (!(ins[i] = value_info(w, g->inputs[i]))) return NULL;
  for (uint32_t i = 0; i < g->n_outputs; i++)
    if (!(outs[i] = value_info(w, g->outputs[i]))) return NULL;
  size_t n_init = 0;
  if (!mark_initializers(w, init, &n_init)) return NULL;
  Onnx__TensorProto **inits = w_alloc(w, n_init, sizeof *inits);
  if (!inits) return NULL;
  size_t k = 0;
  for (uint32_t t = 0; t < g->n_tensors; t++)
    if (init[t] && !(inits[k++] = tensor_proto(w, t))) return NULL;

  gp->name = w_str(*g->name ? g->name : "main_graph");
  gp->n_node = g->n_nodes;
  gp->node = nodes;
  gp->n_input = g->n_inputs;
  gp->input = ins;
  gp->n_output = g->n_outputs;
  gp->output = outs;
  gp->n_initializer = n_init;
  gp->initializer = inits;

  /* Opset imports: the default domain, then every other domain that is set or used. */
  const OpDomain doms[3] = {DOM_ONNX, DOM_TRAINING, DOM_XPLOREDL};
  const int64_t versions[3] = {g->opset, g->opset_training, g->opset_xploredl};
  Onnx__OperatorSetIdProto **ops = w_alloc(w, 3, sizeof *ops);
  Onnx__OperatorSetIdProto *op = w_alloc(w, 3, sizeof *op);
  if (!ops || !op) return NULL;
  size_t n_ops = 0;
  for (int i = 0; i < 3; i++) {
    if (i > 0 && versions[i] <= 0 && !w->used_domain[doms[i]]) continue;
    onnx__operator_set_id_proto__init(&op[n_ops]);
    op[n_ops].domain = w_str(i == 0 ? "" : ir_domain_name(doms[i]));
    op[n_ops].has_version = 1;
    op[n_ops].version = versions[i] > 0 ? versions[i] : 1;
    ops[n_ops] = &op[n_ops];
    n_ops++;
  }
  m->has_ir_version = 1;
  m->ir_version = w->opts->ir_version > 0 ? w->opts->ir_version : g->opset <= 13 ? 7 : 8;
  m->n_opset_import = n_ops;
  m->opset_import = ops;
  m->producer_name = w_str("xploredl");
  m->producer_version = w_str("0.1");
  if (w->opts->doc_string) m->doc_string = w_str(w->opts->doc_string);
  m->graph = gp;
  return m;
}

/* Writes len bytes to path atomically: a temporary file beside it, then rename. On error the
 * temporary file is removed and the message names path. */
static XdlStatus write_atomic(const char *path, const uint8_t *buf, size_t len, Diag *d) {
  char tmp[4096];
  int fd = -1, err = 0;
  const char *what = "cannot create";
  if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    goto fail;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
  if (fd < 0) goto fail;
  what = "cannot write";
  for (size_t done = 0; done < len;) {
    ssize_t got = write(fd, buf + done, len - done);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) errno = EIO;
    if (got <= 0) goto fail;
    done += (size_t)got;
  }
  if (fsync(fd) != 0 && errno != EINVAL) goto fail;
  int rc = close(fd);
  fd = -2; /* closed, but the temporary file still exists */
  if (rc != 0) goto fail;
  what = "cannot replace";
  if (rename(tmp, path) != 0) goto fail;
  return XDL_OK;
fail:
  err = errno;
  if (fd >= 0) close(fd);
  if (fd != -1) unlink(tmp);
  return diag_error(d, XDL_ERR_INPUT, "%s: %s: %s", path, what, strerror(err));
}

XdlStatus onnx_save(const Graph *g, const char *path, const ExportOptions *opts, Diag *d) {
  static const ExportOptions no_opts = {0};
  Diag local;
  if (!d) {
    diag_init(&local);
    d = &local;
  }
  Writer w = {.g = g, .path = path, .opts = opts ? opts : &no_opts, .d = d};
  uint8_t *buf = NULL;
  arena_init(&w.arena);
  XdlStatus st = XDL_ERR_INTERNAL;

  /* The side file is named after the model: dir/net.onnx → net.weights. */
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t stem = strlen(base);
  if (stem > 5 && strcmp(base + stem - 5, ".onnx") == 0) stem -= 5;
  w.ext_location = w_alloc(&w, stem + sizeof ".weights", 1);
  if (!w.ext_location) goto fail;
  memcpy(w.ext_location, base, stem);
  memcpy(w.ext_location + stem, ".weights", sizeof ".weights");

  Onnx__ModelProto *m = model_proto(&w);
  if (!m) goto fail;
  size_t len = onnx__model_proto__get_packed_size(m);
  buf = xdl_malloc(len);
  if (!buf) {
    diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory (%zu bytes)", path, len);
    goto fail;
  }
  if (onnx__model_proto__pack(m, buf) != len) {
    diag_error(d, XDL_ERR_INTERNAL, "%s: protobuf packing gave an unexpected size", path);
    goto fail;
  }
  st = write_atomic(path, buf, len, d);
fail:
  xdl_free(buf);
  arena_free(&w.arena);
  if (st != XDL_OK && diag_ok(d)) diag_error(d, st, "%s: export failed", path);
  return st == XDL_OK ? XDL_OK : d->status;
}
