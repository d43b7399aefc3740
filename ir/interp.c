/* interp.c — the reference interpreter's core: one value per tensor, loading of weights and
 * constants (inline bytes, known values, external-data files, or pseudo-random fill), the
 * kernel table and the run loop. Kernels live in interp_nn.c (convolutions, products,
 * normalization, pooling, softmax, reductions), interp_elem.c (elementwise), interp_data.c
 * (data movement, constants, Resize) and interp_train.c (backward, loss, optimizer and capsule
 * ops). Plain loops, clarity over speed: it proves the passes, it does not run models fast. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/interp_impl.h"

/* ---- element decoding and rounding ---- */

static double half_bits_to_double(uint16_t h) {
  int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v;
  if (exp == 0) v = ldexp(man, -24);
  else if (exp == 31) v = man ? NAN : INFINITY;
  else v = ldexp(man + 1024, exp - 25);
  return h & 0x8000 ? -v : v;
}

bool interp_decode(DataType dt, const void *bytes, int64_t n, double *f, int64_t *i) {
  const uint8_t *p = bytes;
  int size = ir_dtype_bytes(dt);
  if (dt == DT_STRING || dt == DT_COMPLEX64 || dt == DT_COMPLEX128 || size == 0) return false;
  for (int64_t k = 0; k < n; k++, p += size) {
    uint64_t bits = 0;
    for (int b = size - 1; b >= 0; b--) bits = bits << 8 | p[b];
    switch (dt) {
    case DT_FLOAT: {
      uint32_t b32 = (uint32_t)bits;
      float v;
      memcpy(&v, &b32, sizeof v);
      f[k] = v;
      break;
    }
    case DT_DOUBLE: memcpy(&f[k], &bits, sizeof f[k]); break;
    case DT_FLOAT16: f[k] = half_bits_to_double((uint16_t)bits); break;
    case DT_BFLOAT16: {
      uint32_t b32 = (uint32_t)bits << 16;
      float v;
      memcpy(&v, &b32, sizeof v);
      f[k] = v;
      break;
    }
    case DT_INT8: i[k] = (int8_t)(uint8_t)bits; break;
    case DT_INT16: i[k] = (int16_t)(uint16_t)bits; break;
    case DT_INT32: i[k] = (int32_t)(uint32_t)bits; break;
    case DT_BOOL: i[k] = bits != 0; break;
    default: i[k] = (int64_t)bits; break; /* uint8/16/32, int64, uint64 (above 2^63 wraps) */
    }
  }
  return true;
}

/* Rounds |v| to a binary format with mant_bits stored mantissa bits and minimum normal
 * exponent emin, round-to-nearest-even; max_finite overflows to infinity. */
static double round_format(double v, int mant_bits, int emin, double max_finite) {
  if (v == 0 || isnan(v) || isinf(v)) return v;
  int e;
  frexp(v, &e); /* |v| = m * 2^e, m in [0.5, 1) */
  if (e - 1 < emin) e = emin + 1;
  double quantum = ldexp(1.0, e - 1 - mant_bits);
  double r = nearbyint(v / quantum) * quantum; /* default rounding mode: to nearest even */
  if (fabs(r) > max_finite) return r < 0 ? -INFINITY : INFINITY;
  return r;
}

double interp_round(DataType dt, double v) {
  switch (dt) {
  case DT_FLOAT:
    if (isnan(v) || isinf(v)) return v;
    if (fabs(v) >= 3.4028235677973366e38) return v < 0 ? -INFINITY : INFINITY;
    return (double)(float)v;
  case DT_FLOAT16: return round_format(v, 10, -14, 65504.0);
  case DT_BFLOAT16: return round_format(v, 7, -126, 3.3895313892515355e38);
  default: return v;
  }
}

/* ---- helpers for kernels ---- */

XdlStatus ik_fail(const Interp *ip, uint32_t n, Diag *d, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const Graph *g = ip->g;
  const Node *nd = &g->nodes[n];
  return diag_error(d, XDL_ERR_INPUT, "%s%snode '%s' (%s): %s", g->path, *g->path ? ": " : "",
                    nd->name, ir_ops[nd->op].name, msg);
}

XdlStatus ik_oom(Diag *d) {
  return diag_error(d, XDL_ERR_INTERNAL, "interpreter: out of memory");
}

const Tensor *ik_tin(const Interp *ip, uint32_t n, int i) {
  const Node *nd = &ip->g->nodes[n];
  if (i < 0 || i >= nd->n_inputs || nd->inputs[i] == IR_NONE) return NULL;
  return &ip->g->tensors[nd->inputs[i]];
}

const Tensor *ik_tout(const Interp *ip, uint32_t n, int i) {
  const Node *nd = &ip->g->nodes[n];
  if (i < 0 || i >= nd->n_outputs || nd->outputs[i] == IR_NONE) return NULL;
  return &ip->g->tensors[nd->outputs[i]];
}

Value *ik_in(const Interp *ip, uint32_t n, int i) {
  const Node *nd = &ip->g->nodes[n];
  if (i < 0 || i >= nd->n_inputs || nd->inputs[i] == IR_NONE) return NULL;
  return &ip->vals[nd->inputs[i]];
}

Value *ik_out(const Interp *ip, uint32_t n, int i) {
  const Node *nd = &ip->g->nodes[n];
  if (i < 0 || i >= nd->n_outputs || nd->outputs[i] == IR_NONE) return NULL;
  return &ip->vals[nd->outputs[i]];
}

int64_t vi(const Value *v, int64_t k) {
  if (v->is_int) return v->i[k];
  double x = v->f[k];
  if (isnan(x)) return 0;
  if (x >= 9223372036854775807.0) return INT64_MAX;
  if (x <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)x;
}

int ik_attr_ints(const Interp *ip, uint32_t n, const char *name, int64_t *out, int max) {
  const Attr *a = ir_node_attr(ip->g, n, name);
  if (!a) return -1;
  if (a->kind == ATTR_INT) {
    if (max >= 1) out[0] = a->i;
    return 1;
  }
  if (a->kind != ATTR_INTS) return -1;
  int cnt = a->n < max ? a->n : max;
  if (cnt > 0) memcpy(out, a->ints, (size_t)cnt * sizeof *out);
  return a->n;
}

int ik_int_list(const Interp *ip, uint32_t n, const char *attr, int idx, int64_t *out, int max,
                Diag *d) {
  int cnt = attr ? ik_attr_ints(ip, n, attr, out, max) : -1;
  if (cnt >= 0) {
    if (cnt > max) {
      ik_fail(ip, n, d, "attribute '%s' has more than %d entries", attr, max);
      return -2;
    }
    return cnt;
  }
  const Value *v = ik_in(ip, n, idx);
  if (!v) return -1;
  if (v->n > max) {
    ik_fail(ip, n, d, "input %d has more than %d entries", idx, max);
    return -2;
  }
  for (int64_t k = 0; k < v->n; k++) out[k] = vi(v, k);
  return (int)v->n;
}

int64_t ik_opset(const Interp *ip) {
  return ip->g->opset > 0 ? ip->g->opset : INT64_MAX;
}

void ik_strides(int rank, const int64_t *dims, int64_t *strides) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    strides[k] = s;
    s *= dims[k];
  }
}

/* ---- the kernel table ---- */

static InterpKernel kernel_of(OpKind op) {
  switch (op) {
  case OP_CONV: return ik_conv;
  case OP_CONV_TRANSPOSE: return ik_conv_transpose;
  case OP_GEMM: return ik_gemm;
  case OP_MATMUL: return ik_matmul;
  case OP_EINSUM: return ik_einsum;
  case OP_BATCH_NORM: return ik_batch_norm;
  case OP_INSTANCE_NORM: return ik_instance_norm;
  case OP_LAYER_NORM: return ik_layer_norm;
  case OP_LRN: return ik_lrn;
  case OP_MAX_POOL: case OP_AVERAGE_POOL: return ik_pool;
  case OP_GLOBAL_AVERAGE_POOL: case OP_GLOBAL_MAX_POOL: return ik_global_pool;
  case OP_RELU: case OP_LEAKY_RELU: case OP_ELU: case OP_SELU: case OP_SIGMOID:
  case OP_HARD_SIGMOID: case OP_HARD_SWISH: case OP_TANH: case OP_SOFTPLUS: case OP_CLIP:
  case OP_ERF: case OP_SQRT: case OP_EXP: case OP_LOG: case OP_NEG: case OP_ABS:
  case OP_RECIPROCAL:
    return ik_unary;
  case OP_CAST: return ik_cast;
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_PRELU:
  case OP_MIN: case OP_MAX: case OP_SUM: case OP_MEAN:
    return ik_binary;
  case OP_EQUAL: case OP_LESS: case OP_GREATER: return ik_compare;
  case OP_WHERE: return ik_where;
  case OP_SOFTMAX: case OP_LOG_SOFTMAX: return ik_softmax;
  case OP_REDUCE_SUM: case OP_REDUCE_MEAN: case OP_REDUCE_MAX: case OP_REDUCE_MIN:
  case OP_REDUCE_PROD: case OP_REDUCE_L2: case OP_REDUCE_SUM_SQUARE:
    return ik_reduce;
  case OP_ARG_MAX: case OP_ARG_MIN: return ik_arg_reduce;
  case OP_RESIZE: return ik_resize;
  case OP_RESHAPE: case OP_FLATTEN: case OP_SQUEEZE: case OP_UNSQUEEZE: case OP_IDENTITY:
    return ik_copy;
  case OP_TRANSPOSE: return ik_transpose;
  case OP_CONCAT: return ik_concat;
  case OP_SPLIT: return ik_split;
  case OP_SLICE: return ik_slice;
  case OP_GATHER: return ik_gather;
  case OP_GATHER_ELEMENTS: return ik_gather_elements;
  case OP_EXPAND: return ik_expand;
  case OP_TILE: return ik_tile;
  case OP_PAD: return ik_pad;
  case OP_DROPOUT: return ik_dropout;
  case OP_DEPTH_TO_SPACE: return ik_depth_to_space;
  case OP_SPACE_TO_DEPTH: return ik_space_to_depth;
  case OP_ONE_HOT: return ik_one_hot;
  case OP_SHAPE: return ik_shape;
  case OP_SIZE: return ik_size;
  case OP_CONSTANT: return ik_constant;
  case OP_CONSTANT_OF_SHAPE: return ik_constant_of_shape;
  case OP_RANGE: return ik_range;
  case OP_SOFTMAX_CE_LOSS: return ik_sce_loss;
  case OP_SOFTMAX_CE_LOSS_GRAD: return ik_sce_loss_grad;
  case OP_SGD: case OP_MOMENTUM: case OP_ADAGRAD: case OP_ADAM: return ik_optimizer;
  case OP_CONV_GRAD_WEIGHT: return ik_conv_grad_weight;
  case OP_MAX_POOL_GRAD: case OP_AVERAGE_POOL_GRAD: return ik_pool_grad;
  case OP_REDUCE_TO_SHAPE: return ik_reduce_to_shape;
  case OP_UNARY_GRAD: return ik_unary_grad;
  case OP_SOFTMAX_GRAD: case OP_LOG_SOFTMAX_GRAD: return ik_softmax_grad;
  case OP_NORM_GRAD: return ik_norm_grad;
  case OP_NORM_SCALE_GRAD: return ik_norm_scale_grad;
  case OP_DROPOUT_GRAD: return ik_dropout_grad;
  case OP_GATHER_GRAD: return ik_gather_grad;
  case OP_SLICE_GRAD: return ik_slice_grad;
  case OP_PAD_GRAD: return ik_pad_grad;
  case OP_SQUASH: return ik_squash;
  /* Gradient is expanded by the autodiff pass; PrimaryCaps, ConvCaps and ClassCaps by
   * capsule_lower: the interpreter runs the graphs those passes produce. */
  default: return NULL; /* an op added to ops.def without a kernel: run fails naming it */
  }
}

bool interp_supports(OpKind op) { return kernel_of(op) != NULL; }

/* ---- values ---- */

/* Gives v a buffer for tensor t (numel elements of t's kind), reusing the one it has. */
static XdlStatus value_alloc(const Interp *ip, uint32_t t, Value *v, Diag *d) {
  const Tensor *ts = &ip->g->tensors[t];
  int64_t n = ir_numel(ts);
  if (n < 0)
    return diag_error(d, XDL_ERR_INPUT, "interpreter: tensor '%s' has no known shape", ts->name);
  if (ts->dtype == DT_STRING || ts->dtype == DT_COMPLEX64 || ts->dtype == DT_COMPLEX128 ||
      ts->dtype == DT_UNDEFINED)
    return diag_error(d, XDL_ERR_INPUT, "interpreter: tensor '%s' has element type %s, which "
                      "the interpreter does not compute with", ts->name, ir_dtype_name(ts->dtype));
  bool is_int = ir_dtype_is_int(ts->dtype);
  if ((is_int ? v->i != NULL : v->f != NULL) && v->n == n) {
    v->set = false;
    return XDL_OK;
  }
  xdl_free(v->f);
  xdl_free(v->i);
  v->f = NULL;
  v->i = NULL;
  v->set = false;
  v->is_int = is_int;
  v->n = n;
  size_t count = (size_t)(n ? n : 1);
  if (is_int) v->i = xdl_calloc(count, sizeof *v->i);
  else v->f = xdl_calloc(count, sizeof *v->f);
  if (is_int ? !v->i : !v->f) return ik_oom(d);
  return XDL_OK;
}

/* Rounds (or wraps) every element of v to tensor t's element type. */
static void value_round(const Interp *ip, uint32_t t, Value *v) {
  DataType dt = ip->g->tensors[t].dtype;
  if (v->is_int) {
    for (int64_t k = 0; k < v->n; k++) v->i[k] = fold_int_wrap(dt, v->i[k]);
  } else if (!ip->opts.use_double && dt != DT_DOUBLE) {
    for (int64_t k = 0; k < v->n; k++) v->f[k] = interp_round(dt, v->f[k]);
  }
}

/* splitmix64: the pseudo-random stream of the random_weights fill. */
static uint64_t next_random(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Weights of rank >= 2 get uniform values in ±1/sqrt(fan_in); vectors (biases, scales,
 * running statistics) uniform ones in [0.5, 1.5), positive so variances stay valid. */
static void fill_random(const Interp *ip, const Tensor *ts, Value *v) {
  uint64_t s = ip->opts.seed ^ 0x5DEECE66Dull;
  for (const char *p = ts->name; *p; p++) s = (s ^ (unsigned char)*p) * 1099511628211ull;
  int64_t fan_in = ts->rank >= 2 && ts->dims[0] > 0 ? v->n / ts->dims[0] : 1;
  double scale = ts->rank >= 2 ? 1.0 / sqrt((double)(fan_in > 0 ? fan_in : 1)) : 0.5;
  double offset = ts->rank >= 2 ? 0.0 : 1.0;
  for (int64_t k = 0; k < v->n; k++) {
    double u = (double)(next_random(&s) >> 11) * 0x1.0p-53; /* [0, 1) */
    v->f[k] = offset + scale * (2.0 * u - 1.0);
  }
}

/* Reads t's external-data file (relative to the model's directory); false if it is absent or
 * short. Errors other than absence are recorded in d. */
static XdlStatus load_external(const Interp *ip, const Tensor *ts, Value *v, bool *found,
                               Diag *d) {
  const char *model = ip->g->path ? ip->g->path : "";
  const char *slash = strrchr(model, '/');
  int dir_len = slash ? (int)(slash - model) : 0;
  char path[4096];
  if (ts->data.external[0] == '/' || !slash)
    snprintf(path, sizeof path, "%s", ts->data.external);
  else
    snprintf(path, sizeof path, "%.*s/%s", dir_len, model, ts->data.external);
  *found = false;
  FILE *f = fopen(path, "rb");
  if (!f) return XDL_OK;
  XdlStatus st = XDL_OK;
  size_t need = (size_t)v->n * (size_t)ir_dtype_bytes(ts->dtype);
  uint8_t *buf = xdl_malloc(need ? need : 1);
  if (!buf) {
    st = ik_oom(d);
    goto fail;
  }
  int64_t off = ts->data.ext_offset > 0 ? ts->data.ext_offset : 0;
  if ((ts->data.ext_length >= 0 && (uint64_t)ts->data.ext_length < need) ||
      fseek(f, (long)off, SEEK_SET) != 0 || fread(buf, 1, need, f) != need) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: external data of tensor '%s' is shorter than its "
                    "%zu bytes", path, ts->name, need);
    goto fail;
  }
  interp_decode(ts->dtype, buf, v->n, v->f, v->i);
  *found = true;
fail:
  xdl_free(buf);
  fclose(f);
  return st;
}

XdlStatus ik_load_const(Interp *ip, uint32_t t, Value *v, Diag *d) {
  const Tensor *ts = &ip->g->tensors[t];
  XdlStatus st = value_alloc(ip, t, v, d);
  if (st != XDL_OK) return st;
  size_t need = (size_t)v->n * (size_t)ir_dtype_bytes(ts->dtype);
  if (ts->data.bytes && ts->data.n_bytes == need) {
    interp_decode(ts->dtype, ts->data.bytes, v->n, v->f, v->i);
  } else if (v->n == 0 || (v->is_int ? ts->ivals || ts->fvals : ts->fvals || ts->ivals)) {
    for (int64_t k = 0; k < v->n; k++) {
      if (v->is_int) v->i[k] = fold_i(ts, k);
      else v->f[k] = fold_f(ts, k);
    }
  } else {
    bool found = false;
    if (ts->data.external && (st = load_external(ip, ts, v, &found, d)) != XDL_OK) return st;
    if (!found) {
      if (!ip->opts.random_weights || v->is_int)
        return diag_error(d, XDL_ERR_INPUT, "interpreter: %s '%s' has no values (no stored "
                          "bytes%s; import with keep_weight_bytes%s)",
                          ts->role == ROLE_INPUT ? "input" : "tensor", ts->name,
                          ts->data.external ? ", external-data file absent" : "",
                          ts->role == ROLE_INPUT ? " or set it" : " or ask for random weights");
      fill_random(ip, ts, v);
    }
  }
  value_round(ip, t, v);
  v->set = true;
  return XDL_OK;
}

/* ---- public API ---- */

Interp *interp_new(const Graph *g, const InterpOptions *opts, Diag *d) {
  Interp *ip = xdl_calloc(1, sizeof *ip);
  if (!ip) goto oom;
  ip->g = g;
  if (opts) ip->opts = *opts;
  size_t nt = g->n_tensors ? g->n_tensors : 1;
  ip->vals = xdl_calloc(nt, sizeof *ip->vals);
  ip->produced = xdl_calloc(nt, sizeof *ip->produced);
  if (!ip->vals || !ip->produced) goto oom;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    for (int i = 0; i < nd->n_outputs; i++)
      if (nd->outputs[i] != IR_NONE) ip->produced[nd->outputs[i]] = true;
  }
  return ip;
oom:
  ik_oom(d);
  interp_free(ip);
  return NULL;
}

void interp_free(Interp *ip) {
  if (!ip) return;
  for (uint32_t t = 0; ip->vals && t < ip->g->n_tensors; t++) {
    xdl_free(ip->vals[t].f);
    xdl_free(ip->vals[t].i);
  }
  xdl_free(ip->vals);
  xdl_free(ip->produced);
  xdl_free(ip);
}

XdlStatus interp_set(Interp *ip, uint32_t t, const double *f, const int64_t *i, int64_t n,
                     Diag *d) {
  if (t >= ip->g->n_tensors || (!f && !i))
    return diag_error(d, XDL_ERR_INPUT, "interpreter: no tensor or no values to set");
  Value *v = &ip->vals[t];
  XdlStatus st = value_alloc(ip, t, v, d);
  if (st != XDL_OK) return st;
  if (n != v->n)
    return diag_error(d, XDL_ERR_INPUT, "interpreter: tensor '%s' has %" PRId64 " elements, "
                      "given %" PRId64, ip->g->tensors[t].name, v->n, n);
  for (int64_t k = 0; k < n; k++) {
    if (v->is_int) v->i[k] = f ? (int64_t)f[k] : i[k];
    else v->f[k] = f ? f[k] : (double)i[k];
  }
  value_round(ip, t, v);
  v->set = true;
  return XDL_OK;
}

/* Makes sure tensor t has a value: loads a constant on first use. */
static XdlStatus ensure_value(Interp *ip, uint32_t t, Diag *d) {
  Value *v = &ip->vals[t];
  if (v->set) return XDL_OK;
  if (ip->produced[t])
    return diag_error(d, XDL_ERR_INPUT, "interpreter: tensor '%s' has no value yet (its "
                      "producer has not run)", ip->g->tensors[t].name);
  return ik_load_const(ip, t, v, d);
}

static XdlStatus run_node(Interp *ip, uint32_t n, Diag *d) {
  const Node *nd = &ip->g->nodes[n];
  InterpKernel k = kernel_of(nd->op);
  if (!k)
    return ik_fail(ip, n, d, "the interpreter has no kernel for operator %s%s",
                   ir_ops[nd->op].name,
                   nd->op == OP_GRADIENT ? " (run the autodiff pass first)"
                   : ir_ops[nd->op].domain == DOM_XPLOREDL ? " (run capsule_lower first)" : "");
  for (int i = 0; i < nd->n_inputs; i++) {
    if (nd->inputs[i] == IR_NONE) continue;
    XdlStatus st = ensure_value(ip, nd->inputs[i], d);
    if (st != XDL_OK) return st;
  }
  for (int i = 0; i < nd->n_outputs; i++) {
    if (nd->outputs[i] == IR_NONE) continue;
    XdlStatus st = value_alloc(ip, nd->outputs[i], &ip->vals[nd->outputs[i]], d);
    if (st != XDL_OK) return st;
  }
  XdlStatus st = k(ip, n, d);
  if (st != XDL_OK) return st;
  for (int i = 0; i < nd->n_outputs; i++) {
    uint32_t t = nd->outputs[i];
    if (t == IR_NONE) continue;
    value_round(ip, t, &ip->vals[t]);
    ip->vals[t].set = true;
  }
  return XDL_OK;
}

XdlStatus interp_run_nodes(Interp *ip, uint32_t first, uint32_t end, Diag *d) {
  if (end > ip->g->n_nodes) end = ip->g->n_nodes;
  for (uint32_t n = first; n < end; n++) {
    XdlStatus st = run_node(ip, n, d);
    if (st != XDL_OK) return st;
  }
  return XDL_OK;
}

XdlStatus interp_run(Interp *ip, Diag *d) { return interp_run_nodes(ip, 0, ip->g->n_nodes, d); }

XdlStatus interp_get(Interp *ip, uint32_t t, InterpValue *out, Diag *d) {
  if (t >= ip->g->n_tensors) return diag_error(d, XDL_ERR_INPUT, "interpreter: no such tensor");
  XdlStatus st = ensure_value(ip, t, d);
  if (st != XDL_OK) return st;
  const Value *v = &ip->vals[t];
  out->is_int = v->is_int;
  out->n = v->n;
  out->f = v->f;
  out->i = v->i;
  return XDL_OK;
}
