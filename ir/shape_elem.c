/* shape_elem.c — shape rules of the elementwise operators: unary functions, Cast, the
 * numpy-broadcasting binary and variadic arithmetic, comparisons and Where. Each rule also
 * computes its output's values when every input's values are known (see fold.c), so integer
 * shape arithmetic exported by PyTorch (Add/Sub/Mul/Div on dims, Equal/Where on shapes, Cast of
 * shape vectors) resolves at import time. Integer Div truncates toward zero, as the ONNX
 * reference implementation (numpy divide then cast) and onnxruntime (C division) do. */
#include "ir/ir.h"

#include <math.h>
#include <string.h>

/* ---- unary ---- */

/* One definition of each unary function serves value folding here and the interpreter. */
void ir_unary_attrs(const Graph *g, uint32_t n, UnaryParams *p) {
  memset(p, 0, sizeof *p);
  switch (g->nodes[n].op) {
  case OP_LEAKY_RELU: p->alpha = ir_attr_float(g, n, "alpha", 0.01); break;
  case OP_ELU: p->alpha = ir_attr_float(g, n, "alpha", 1.0); break;
  case OP_SELU:
    p->alpha = ir_attr_float(g, n, "alpha", 1.67326319217681884765625);
    p->gamma = ir_attr_float(g, n, "gamma", 1.05070102214813232421875);
    break;
  case OP_HARD_SIGMOID:
    p->alpha = ir_attr_float(g, n, "alpha", 0.2);
    p->beta = ir_attr_float(g, n, "beta", 0.5);
    break;
  default: break;
  }
}

double ir_unary_eval(OpKind op, double x, const UnaryParams *a) {
  switch (op) {
  case OP_RELU: return x < 0 ? 0.0 : x;
  case OP_LEAKY_RELU: return x < 0 ? a->alpha * x : x;
  case OP_ELU: return x < 0 ? a->alpha * (exp(x) - 1.0) : x;
  case OP_SELU: return a->gamma * (x <= 0 ? a->alpha * (exp(x) - 1.0) : x);
  case OP_SIGMOID: return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
  case OP_HARD_SIGMOID: return fmax(0.0, fmin(1.0, a->alpha * x + a->beta));
  case OP_HARD_SWISH: return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
  case OP_TANH: return tanh(x);
  case OP_SOFTPLUS: return x > 30 ? x : log1p(exp(x));
  case OP_CLIP:
    if (a->has_lo && x < a->lo_f) x = a->lo_f;
    if (a->has_hi && x > a->hi_f) x = a->hi_f;
    return x;
  case OP_ERF: return erf(x);
  case OP_SQRT: return sqrt(x);
  case OP_EXP: return exp(x);
  case OP_LOG: return log(x);
  case OP_NEG: return -x;
  case OP_ABS: return fabs(x);
  case OP_RECIPROCAL: return 1.0 / x;
  default: return x;
  }
}

/* Integer version for the ops that are closed over integers; false when the op has no integer
 * form here or the result overflows (the value is then left unknown). */
static bool unary_i(OpKind op, int64_t x, const UnaryParams *p, int64_t *out) {
  switch (op) {
  case OP_RELU: *out = x < 0 ? 0 : x; return true;
  case OP_NEG:
    if (x == INT64_MIN) return false;
    *out = -x;
    return true;
  case OP_ABS:
    if (x == INT64_MIN) return false;
    *out = x < 0 ? -x : x;
    return true;
  case OP_CLIP:
    if (p->has_lo && x < p->lo_i) x = p->lo_i;
    if (p->has_hi && x > p->hi_i) x = p->hi_i;
    *out = x;
    return true;
  default: return false;
  }
}

/* Reads Clip's bounds: attributes min/max before opset 11, optional scalar inputs 1 and 2
 * after. Returns false (error recorded) when a bound input is not a one-element tensor; sets
 * *foldable false when a bound is given but its value is not known. */
static bool clip_bounds(Graph *g, uint32_t n, UnaryParams *p, bool *foldable, Diag *d) {
  for (int i = 1; i <= 2; i++) {
    const Tensor *b = sh_in(g, n, i);
    double *f = i == 1 ? &p->lo_f : &p->hi_f;
    int64_t *v = i == 1 ? &p->lo_i : &p->hi_i;
    bool *has = i == 1 ? &p->has_lo : &p->has_hi;
    if (b) {
      if (ir_numel(b) != 1) {
        sh_fail(g, n, d, "'%s' bound (input %d) must be a scalar", i == 1 ? "min" : "max", i);
        return false;
      }
      if (!fold_known(b)) {
        *foldable = false;
        continue;
      }
      *has = true;
      *f = fold_f(b, 0);
      *v = fold_i(b, 0);
      continue;
    }
    const Attr *a = ir_node_attr(g, n, i == 1 ? "min" : "max");
    if (a && (a->kind == ATTR_FLOAT || a->kind == ATTR_INT)) {
      *has = true;
      *f = a->kind == ATTR_FLOAT ? a->f : (double)a->i;
      if (!fold_f2i(*f, v)) *v = *f < 0 ? INT64_MIN : INT64_MAX;
    }
  }
  return true;
}

/* Unary elementwise ops: output 0 has input 0's type and shape. Values fold for every listed
 * function on floats and for Relu, Neg, Abs and Clip on integers. */
XdlStatus shape_unary(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = sh_in(g, n, 0);
  if (!x) return sh_fail(g, n, d, "missing input 0");
  OpKind op = g->nodes[n].op;
  UnaryParams p;
  ir_unary_attrs(g, n, &p);
  bool foldable = true;
  if (op == OP_CLIP && !clip_bounds(g, n, &p, &foldable, d)) return d->status;
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, x->rank, x->dims, d);
  if (st != XDL_OK) return st;
  Tensor *o = fold_out(g, n, 0);
  if (!o || !foldable || !fold_known(x)) return XDL_OK;
  int64_t numel = ir_numel(o);
  if (ir_dtype_is_int(o->dtype)) {
    int64_t *iv = fold_ibuf(g, o);
    if (!iv) return fold_oom(d);
    for (int64_t k = 0; k < numel; k++)
      if (!unary_i(op, fold_i(x, k), &p, &iv[k]) || !fold_int_fits(o->dtype, iv[k])) return XDL_OK;
    o->ivals = iv;
  } else {
    double *fv = fold_fbuf(g, o);
    if (!fv) return fold_oom(d);
    for (int64_t k = 0; k < numel; k++)
      fv[k] = fold_float_round(o->dtype, ir_unary_eval(op, fold_f(x, k), &p));
    o->fvals = fv;
  }
  return XDL_OK;
}

/* ---- Cast ---- */

/* Opset 1–5 spelled `to` as a TensorProto.DataType name. */
static int64_t dtype_from_name(const char *s) {
  static const char *names[] = {"UNDEFINED",  "FLOAT",   "UINT8",  "INT8",   "UINT16",
                                "INT16",      "INT32",   "INT64",  "STRING", "BOOL",
                                "FLOAT16",    "DOUBLE",  "UINT32", "UINT64", "COMPLEX64",
                                "COMPLEX128", "BFLOAT16"};
  for (int k = 1; k < (int)(sizeof names / sizeof *names); k++)
    if (strcmp(s, names[k]) == 0) return k;
  return -1;
}

/* Cast: output 0 has input 0's shape and the element type of attribute `to`. Known values are
 * converted: integer ↔ float, to bool as != 0, float → integer truncating toward zero, integer
 * narrowing by two's-complement wrap (as numpy's astype). */
XdlStatus shape_cast(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = sh_in(g, n, 0);
  if (!x) return sh_fail(g, n, d, "missing input 0");
  const Attr *a = ir_node_attr(g, n, "to");
  int64_t to = -1;
  if (a && a->kind == ATTR_INT)
    to = a->i;
  else if (a && a->kind == ATTR_STRING && a->s)
    to = dtype_from_name(a->s);
  else
    return sh_fail(g, n, d, "attribute 'to' is missing");
  if (to <= DT_UNDEFINED || to > DT_MAX)
    return sh_fail(g, n, d, "attribute 'to' names unsupported element type %lld", (long long)to);
  DataType dt = (DataType)to;
  XdlStatus st = sh_set_out(g, n, 0, dt, x->rank, x->dims, d);
  if (st != XDL_OK) return st;
  Tensor *o = fold_out(g, n, 0);
  if (!o || !fold_known(x) || (!ir_dtype_is_int(x->dtype) && !fold_is_float(x->dtype)))
    return XDL_OK;
  int64_t numel = ir_numel(o);
  bool from_int = ir_dtype_is_int(x->dtype);
  if (ir_dtype_is_int(dt)) {
    int64_t *iv = fold_ibuf(g, o);
    if (!iv) return fold_oom(d);
    for (int64_t k = 0; k < numel; k++) {
      if (from_int) {
        iv[k] = fold_int_wrap(dt, fold_i(x, k));
      } else if (dt == DT_BOOL) {
        iv[k] = fold_f(x, k) != 0.0;
      } else {
        int64_t v;
        if (!fold_f2i(fold_f(x, k), &v)) return XDL_OK; /* NaN or out of range: unknown */
        iv[k] = fold_int_wrap(dt, v);
      }
    }
    o->ivals = iv;
  } else {
    double *fv = fold_fbuf(g, o);
    if (!fv) return fold_oom(d);
    for (int64_t k = 0; k < numel; k++)
      fv[k] = fold_float_round(dt, fold_f(x, k));
    o->fvals = fv;
  }
  return XDL_OK;
}

/* ---- broadcasting arithmetic ---- */

static bool is_variadic(OpKind op) {
  return op == OP_MIN || op == OP_MAX || op == OP_SUM || op == OP_MEAN;
}

/* Integer power by squaring; false on overflow or a negative exponent. */
static bool ipow(int64_t base, int64_t e, int64_t *out) {
  if (e < 0) return false;
  int64_t r = 1;
  while (e) {
    if ((e & 1) && !ir_mul_ok(r, base, &r)) return false;
    e >>= 1;
    if (e && !ir_mul_ok(base, base, &base)) return false;
  }
  *out = r;
  return true;
}

/* One integer step acc = acc (op) v for the binary and variadic ops; false when the result is
 * not representable (overflow, division by zero): the output's values then stay unknown. */
static bool arith_i(OpKind op, int64_t acc, int64_t v, double vf, int64_t *out) {
  switch (op) {
  case OP_ADD:
  case OP_SUM: return ir_add_ok(acc, v, out);
  case OP_SUB: return !__builtin_sub_overflow(acc, v, out);
  case OP_MUL: return ir_mul_ok(acc, v, out);
  case OP_DIV:
    if (v == 0 || (acc == INT64_MIN && v == -1)) return false;
    *out = acc / v; /* C division truncates toward zero */
    return true;
  case OP_POW: {
    int64_t e;
    if (!fold_f2i(vf, &e) || (double)e != vf) return false; /* fractional exponent */
    return ipow(acc, e, out);
  }
  case OP_PRELU:
    if (acc >= 0) {
      *out = acc;
      return true;
    }
    return ir_mul_ok(acc, v, out);
  case OP_MIN: *out = acc < v ? acc : v; return true;
  case OP_MAX: *out = acc > v ? acc : v; return true;
  default: return false; /* Mean has no integer form */
  }
}

static double arith_f(OpKind op, double acc, double v) {
  switch (op) {
  case OP_ADD:
  case OP_SUM:
  case OP_MEAN: return acc + v;
  case OP_SUB: return acc - v;
  case OP_MUL: return acc * v;
  case OP_DIV: return acc / v;
  case OP_POW: return pow(acc, v);
  case OP_PRELU: return acc < 0 ? acc * v : acc;
  case OP_MIN: return isnan(acc) || isnan(v) ? NAN : fmin(acc, v);
  case OP_MAX: return isnan(acc) || isnan(v) ? NAN : fmax(acc, v);
  default: return acc;
  }
}

/* Checks that inputs 0..count-1 are present and broadcast together; writes the result shape.
 * Returns XDL_OK or an error naming the incompatible input. */
static XdlStatus broadcast_inputs(Graph *g, uint32_t n, int count, int *rank, int64_t *dims,
                                  Diag *d) {
  *rank = 0;
  for (int i = 0; i < count; i++) {
    const Tensor *t = sh_in(g, n, i);
    if (!t) return sh_fail(g, n, d, "missing input %d", i);
    int64_t tmp[IR_MAX_RANK];
    int r;
    if (!sh_broadcast(*rank, dims, t->rank, t->dims, &r, tmp))
      return sh_fail(g, n, d, "input %d ('%s') does not broadcast with the inputs before it", i,
                     t->name);
    *rank = r;
    memcpy(dims, tmp, sizeof tmp);
  }
  return XDL_OK;
}

/* PRelu before opset 7 applied a slope of shape dims[1:1+k] per channel (PyTorch's exporter
 * wrote [C] slopes for [N, C, ...] inputs); true when the slope has that form. */
static bool prelu_legacy(Graph *g, uint32_t n) {
  const Tensor *x = sh_in(g, n, 0), *s = sh_in(g, n, 1);
  if (!x || !s || s->rank < 1 || s->rank > x->rank - 1) return false;
  for (int k = 0; k < s->rank; k++)
    if (s->dims[k] != x->dims[1 + k] && s->dims[k] != 1) return false;
  return true;
}

/* Add, Sub, Mul, Div, Pow, PRelu (two inputs) and Min, Max, Sum, Mean (one or more): numpy
 * broadcasting; the output has input 0's element type (Pow's exponent may differ). */
XdlStatus shape_broadcast(Graph *g, uint32_t n, Diag *d) {
  OpKind op = g->nodes[n].op;
  int count = g->nodes[n].n_inputs;
  if (is_variadic(op) ? count < 1 : count != 2)
    return sh_fail(g, n, d, "expects %s inputs, got %d", is_variadic(op) ? "one or more" : "2",
                   count);
  int rank;
  int64_t dims[IR_MAX_RANK];
  if (op == OP_PRELU && g->opset > 0 && g->opset < 7 && prelu_legacy(g, n)) {
    const Tensor *x = sh_in(g, n, 0);
    return sh_set_out(g, n, 0, x->dtype, x->rank, x->dims, d);
  }
  XdlStatus st = broadcast_inputs(g, n, count, &rank, dims, d);
  if (st != XDL_OK) return st;
  DataType dt = sh_in(g, n, 0)->dtype;
  for (int i = 1; i < count && op != OP_POW; i++) {
    DataType di = sh_in(g, n, i)->dtype;
    if (di != dt && di != DT_UNDEFINED && dt != DT_UNDEFINED)
      return sh_fail(g, n, d, "input %d has element type %s but input 0 has %s", i,
                     ir_dtype_name(di), ir_dtype_name(dt));
  }
  st = sh_set_out(g, n, 0, dt, rank, dims, d);
  if (st != XDL_OK) return st;

  Tensor *o = fold_out(g, n, 0);
  if (!o) return XDL_OK;
  for (int i = 0; i < count; i++)
    if (!fold_known(sh_in(g, n, i))) return XDL_OK;
  int64_t numel = ir_numel(o);
  bool as_int = ir_dtype_is_int(dt);
  int64_t *iv = as_int ? fold_ibuf(g, o) : NULL;
  double *fv = as_int ? NULL : fold_fbuf(g, o);
  if (!iv && !fv) return fold_oom(d);
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < numel; k++, fold_next(rank, dims, idx)) {
    const Tensor *t0 = sh_in(g, n, 0);
    int64_t at0 = fold_bcast_flat(t0, rank, idx);
    int64_t acc_i = as_int ? fold_i(t0, at0) : 0;
    double acc_f = fold_f(t0, at0);
    for (int i = 1; i < count; i++) {
      const Tensor *t = sh_in(g, n, i);
      int64_t at = fold_bcast_flat(t, rank, idx);
      if (as_int) {
        if (!arith_i(op, acc_i, fold_i(t, at), fold_f(t, at), &acc_i)) return XDL_OK;
      } else {
        acc_f = arith_f(op, acc_f, fold_f(t, at));
      }
    }
    if (as_int) {
      if (op == OP_MEAN || !fold_int_fits(dt, acc_i)) return XDL_OK;
      iv[k] = acc_i;
    } else {
      fv[k] = fold_float_round(dt, op == OP_MEAN ? acc_f / count : acc_f);
    }
  }
  if (as_int)
    o->ivals = iv;
  else
    o->fvals = fv;
  return XDL_OK;
}

/* ---- comparisons and Where ---- */

/* Equal, Less, Greater: two broadcasting inputs of one type; bool output. Values compare as
 * integers when both inputs are integer/bool, else as doubles. */
XdlStatus shape_compare(Graph *g, uint32_t n, Diag *d) {
  if (g->nodes[n].n_inputs != 2)
    return sh_fail(g, n, d, "expects 2 inputs, got %d", g->nodes[n].n_inputs);
  int rank;
  int64_t dims[IR_MAX_RANK];
  XdlStatus st = broadcast_inputs(g, n, 2, &rank, dims, d);
  if (st != XDL_OK) return st;
  st = sh_set_out(g, n, 0, DT_BOOL, rank, dims, d);
  if (st != XDL_OK) return st;
  const Tensor *a = sh_in(g, n, 0), *b = sh_in(g, n, 1);
  Tensor *o = fold_out(g, n, 0);
  if (!o || !fold_known(a) || !fold_known(b)) return XDL_OK;
  bool as_int = ir_dtype_is_int(a->dtype) && ir_dtype_is_int(b->dtype);
  OpKind op = g->nodes[n].op;
  int64_t *iv = fold_ibuf(g, o);
  if (!iv) return fold_oom(d);
  int64_t idx[IR_MAX_RANK] = {0};
  int64_t numel = ir_numel(o);
  for (int64_t k = 0; k < numel; k++, fold_next(rank, dims, idx)) {
    int64_t ia = fold_bcast_flat(a, rank, idx), ib = fold_bcast_flat(b, rank, idx);
    int c; /* -1, 0, 1; 2 = unordered (NaN) */
    if (as_int) {
      int64_t x = fold_i(a, ia), y = fold_i(b, ib);
      c = x < y ? -1 : x > y;
    } else {
      double x = fold_f(a, ia), y = fold_f(b, ib);
      c = x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
    }
    iv[k] = op == OP_EQUAL ? c == 0 : op == OP_LESS ? c == -1 : c == 1;
  }
  o->ivals = iv;
  return XDL_OK;
}

/* Where(cond, X, Y): three-way broadcast; the output has X's type. */
XdlStatus shape_where(Graph *g, uint32_t n, Diag *d) {
  if (g->nodes[n].n_inputs != 3)
    return sh_fail(g, n, d, "expects 3 inputs, got %d", g->nodes[n].n_inputs);
  int rank;
  int64_t dims[IR_MAX_RANK];
  XdlStatus st = broadcast_inputs(g, n, 3, &rank, dims, d);
  if (st != XDL_OK) return st;
  const Tensor *c = sh_in(g, n, 0), *x = sh_in(g, n, 1), *y = sh_in(g, n, 2);
  if (c->dtype != DT_BOOL && c->dtype != DT_UNDEFINED)
    return sh_fail(g, n, d, "condition has element type %s, not bool", ir_dtype_name(c->dtype));
  if (x->dtype != y->dtype && x->dtype != DT_UNDEFINED && y->dtype != DT_UNDEFINED)
    return sh_fail(g, n, d, "X is %s but Y is %s", ir_dtype_name(x->dtype),
                   ir_dtype_name(y->dtype));
  st = sh_set_out(g, n, 0, x->dtype, rank, dims, d);
  if (st != XDL_OK) return st;
  Tensor *o = fold_out(g, n, 0);
  if (!o || !fold_known(c) || !fold_known(x) || !fold_known(y)) return XDL_OK;
  bool as_int = ir_dtype_is_int(o->dtype);
  int64_t *iv = as_int ? fold_ibuf(g, o) : NULL;
  double *fv = as_int ? NULL : fold_fbuf(g, o);
  if (!iv && !fv) return fold_oom(d);
  int64_t idx[IR_MAX_RANK] = {0};
  int64_t numel = ir_numel(o);
  for (int64_t k = 0; k < numel; k++, fold_next(rank, dims, idx)) {
    const Tensor *pick = fold_i(c, fold_bcast_flat(c, rank, idx)) ? x : y;
    int64_t at = fold_bcast_flat(pick, rank, idx);
    if (as_int)
      iv[k] = fold_i(pick, at);
    else
      fv[k] = fold_f(pick, at);
  }
  if (as_int)
    o->ivals = iv;
  else
    o->fvals = fv;
  return XDL_OK;
}
