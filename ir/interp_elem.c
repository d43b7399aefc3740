/* interp_elem.c — interpreter kernels of the elementwise operators: unary functions, Cast, the
 * numpy-broadcasting arithmetic (binary and variadic), comparisons and Where. Semantics follow
 * the ONNX operator specification; integer arithmetic follows shape_elem.c's folding (Div
 * truncates toward zero). */
#include <math.h>
#include <string.h>

#include "ir/interp_impl.h"

/* ---- unary (the functions themselves are shape_elem.c's ir_unary_eval) ---- */

XdlStatus ik_unary(Interp *ip, uint32_t n, Diag *d) {
  OpKind op = ip->g->nodes[n].op;
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input 0 and output 0");
  UnaryParams a;
  ir_unary_attrs(ip->g, n, &a);
  switch (op) {
  case OP_CLIP:
    /* Bounds: optional scalar inputs 1 and 2 (opset 11+), else attributes min/max. */
    for (int i = 1; i <= 2; i++) {
      const Value *b = ik_in(ip, n, i);
      bool *has = i == 1 ? &a.has_lo : &a.has_hi;
      double *v = i == 1 ? &a.lo_f : &a.hi_f;
      const Attr *at = ir_node_attr(ip->g, n, i == 1 ? "min" : "max");
      if (b && b->n >= 1) {
        *has = true;
        *v = vf(b, 0);
      } else if (at && (at->kind == ATTR_FLOAT || at->kind == ATTR_INT)) {
        *has = true;
        *v = at->kind == ATTR_FLOAT ? at->f : (double)at->i;
      }
    }
    break;
  default: break;
  }
  for (int64_t k = 0; k < y->n; k++) {
    if (y->is_int) {
      int64_t v = x->i[k];
      if (op == OP_RELU) v = v < 0 ? 0 : v;
      else if (op == OP_NEG) v = (int64_t)(0 - (uint64_t)v);
      else if (op == OP_ABS) v = v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
      else if (op == OP_CLIP) {
        if (a.has_lo && (double)v < a.lo_f) v = (int64_t)a.lo_f;
        if (a.has_hi && (double)v > a.hi_f) v = (int64_t)a.hi_f;
      } else v = (int64_t)ir_unary_eval(op, (double)v, &a);
      y->i[k] = v;
    } else {
      y->f[k] = ir_unary_eval(op, x->f[k], &a);
    }
  }
  return XDL_OK;
}

/* Cast: integer ↔ float, float → integer truncating toward zero (NaN → 0), integer narrowing
 * by two's-complement wrap, to bool as != 0; floats round to the target type afterwards. */
XdlStatus ik_cast(Interp *ip, uint32_t n, Diag *d) {
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input 0 and output 0");
  bool to_bool = ik_tout(ip, n, 0)->dtype == DT_BOOL;
  for (int64_t k = 0; k < y->n; k++) {
    if (!y->is_int) y->f[k] = vf(x, k);
    else if (to_bool) y->i[k] = x->is_int ? x->i[k] != 0 : x->f[k] != 0.0;
    else y->i[k] = vi(x, k);
  }
  return XDL_OK;
}

/* ---- broadcasting arithmetic ---- */

static double arith_f(OpKind op, double acc, double v) {
  switch (op) {
  case OP_ADD: case OP_SUM: case OP_MEAN: return acc + v;
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

/* Integer arithmetic wraps (two's complement); division by zero gives 0 (undefined in ONNX). */
static int64_t arith_i(OpKind op, int64_t acc, int64_t v, double vfl) {
  uint64_t a = (uint64_t)acc, b = (uint64_t)v;
  switch (op) {
  case OP_ADD: case OP_SUM: case OP_MEAN: return (int64_t)(a + b);
  case OP_SUB: return (int64_t)(a - b);
  case OP_MUL: return (int64_t)(a * b);
  case OP_DIV:
    if (v == 0 || (acc == INT64_MIN && v == -1)) return 0;
    return acc / v;
  case OP_POW: {
    double r = pow((double)acc, vfl);
    return isnan(r) ? 0 : fabs(r) >= 9.2e18 ? (r < 0 ? INT64_MIN : INT64_MAX) : (int64_t)r;
  }
  case OP_PRELU: return acc < 0 ? (int64_t)(a * b) : acc;
  case OP_MIN: return acc < v ? acc : v;
  case OP_MAX: return acc > v ? acc : v;
  default: return acc;
  }
}

/* Flat offset in t of output index idx when t is PRelu's legacy (opset < 7) slope, whose axes
 * align with the input's axes 1, 2, ... instead of the trailing ones. */
static int64_t legacy_slope_flat(const Tensor *s, const int64_t *idx) {
  int64_t at = 0;
  for (int k = 0; k < s->rank; k++) at = at * s->dims[k] + (s->dims[k] == 1 ? 0 : idx[1 + k]);
  return at;
}

static bool prelu_legacy(const Interp *ip, uint32_t n) {
  const Tensor *x = ik_tin(ip, n, 0), *s = ik_tin(ip, n, 1);
  if (ip->g->opset <= 0 || ip->g->opset >= 7 || !x || !s) return false;
  if (s->rank < 1 || s->rank > x->rank - 1) return false;
  for (int k = 0; k < s->rank; k++)
    if (s->dims[k] != x->dims[1 + k] && s->dims[k] != 1) return false;
  return true;
}

/* Add, Sub, Mul, Div, Pow, PRelu, and the variadic Min, Max, Sum, Mean. */
XdlStatus ik_binary(Interp *ip, uint32_t n, Diag *d) {
  OpKind op = ip->g->nodes[n].op;
  const Node *nd = &ip->g->nodes[n];
  const Tensor *to = ik_tout(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!y || nd->n_inputs < 1) return ik_fail(ip, n, d, "needs inputs and output 0");
  for (int i = 0; i < nd->n_inputs; i++)
    if (!ik_in(ip, n, i)) return ik_fail(ip, n, d, "input %d is missing", i);
  bool legacy = op == OP_PRELU && prelu_legacy(ip, n);
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < y->n; k++, fold_next(to->rank, to->dims, idx)) {
    const Value *x0 = ik_in(ip, n, 0);
    int64_t at0 = fold_bcast_flat(ik_tin(ip, n, 0), to->rank, idx);
    double acc_f = vf(x0, at0);
    int64_t acc_i = y->is_int ? vi(x0, at0) : 0;
    for (int i = 1; i < nd->n_inputs; i++) {
      const Tensor *ti = ik_tin(ip, n, i);
      const Value *xi = ik_in(ip, n, i);
      int64_t at = legacy ? legacy_slope_flat(ti, idx) : fold_bcast_flat(ti, to->rank, idx);
      if (y->is_int) acc_i = arith_i(op, acc_i, vi(xi, at), vf(xi, at));
      else acc_f = arith_f(op, acc_f, vf(xi, at));
    }
    if (y->is_int) y->i[k] = op == OP_MEAN ? acc_i / nd->n_inputs : acc_i;
    else y->f[k] = op == OP_MEAN ? acc_f / nd->n_inputs : acc_f;
  }
  return XDL_OK;
}

/* Equal, Less, Greater → bool; integers compare exactly, anything else as doubles. */
XdlStatus ik_compare(Interp *ip, uint32_t n, Diag *d) {
  OpKind op = ip->g->nodes[n].op;
  const Value *a = ik_in(ip, n, 0), *b = ik_in(ip, n, 1);
  Value *y = ik_out(ip, n, 0);
  if (!a || !b || !y) return ik_fail(ip, n, d, "needs two inputs and an output");
  const Tensor *to = ik_tout(ip, n, 0), *ta = ik_tin(ip, n, 0), *tb = ik_tin(ip, n, 1);
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < y->n; k++, fold_next(to->rank, to->dims, idx)) {
    int64_t ia = fold_bcast_flat(ta, to->rank, idx), ib = fold_bcast_flat(tb, to->rank, idx);
    int c;
    if (a->is_int && b->is_int) {
      c = a->i[ia] < b->i[ib] ? -1 : a->i[ia] > b->i[ib];
    } else {
      double x = vf(a, ia), z = vf(b, ib);
      c = x < z ? -1 : x > z ? 1 : x == z ? 0 : 2;
    }
    y->i[k] = op == OP_EQUAL ? c == 0 : op == OP_LESS ? c == -1 : c == 1;
  }
  return XDL_OK;
}

XdlStatus ik_where(Interp *ip, uint32_t n, Diag *d) {
  const Value *c = ik_in(ip, n, 0), *x = ik_in(ip, n, 1), *z = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0);
  if (!c || !x || !z || !y) return ik_fail(ip, n, d, "needs three inputs and an output");
  const Tensor *to = ik_tout(ip, n, 0);
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < y->n; k++, fold_next(to->rank, to->dims, idx)) {
    bool pick_x = vi(c, fold_bcast_flat(ik_tin(ip, n, 0), to->rank, idx)) != 0;
    int src = pick_x ? 1 : 2;
    vcopy(y, k, pick_x ? x : z, fold_bcast_flat(ik_tin(ip, n, src), to->rank, idx));
  }
  return XDL_OK;
}
