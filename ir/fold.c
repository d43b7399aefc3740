/* fold.c — known-value helpers for the shape rules (shape_elem.c, shape_data.c). Small tensors
 * carry their values (ivals for integer/bool element types, fvals for floating ones); a rule
 * whose inputs are all known computes its outputs' values with these, which is how PyTorch's
 * exported shape arithmetic resolves at import time. */
#include "ir/ir.h"

#include <float.h>
#include <math.h>
#include <string.h>

bool fold_is_float(DataType dt) {
  return dt == DT_FLOAT || dt == DT_DOUBLE || dt == DT_FLOAT16 || dt == DT_BFLOAT16;
}

bool fold_known(const Tensor *t) {
  if (!t || t->rank < 0) return false;
  int64_t numel = ir_numel(t);
  if (numel < 0 || numel > IR_MAX_FOLD_ELEMS) return false;
  return numel == 0 || t->ivals || t->fvals; /* an empty tensor has nothing left to know */
}

bool fold_f2i(double v, int64_t *out) {
  /* 2^63 is exactly representable; anything at or beyond it (or NaN) does not fit. */
  if (isnan(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0) return false;
  *out = (int64_t)v; /* truncates toward zero, like a C (and numpy astype) conversion */
  return true;
}

int64_t fold_i(const Tensor *t, int64_t k) {
  if (t->ivals) return t->ivals[k];
  int64_t v = 0;
  double f = t->fvals[k];
  if (!fold_f2i(f, &v)) v = isnan(f) ? 0 : f < 0 ? INT64_MIN : INT64_MAX;
  return v;
}

double fold_f(const Tensor *t, int64_t k) {
  return t->fvals ? t->fvals[k] : (double)t->ivals[k];
}

/* Range of each integer element type; bool is 0..1. */
static void int_range(DataType dt, int64_t *lo, int64_t *hi) {
  switch (dt) {
  case DT_BOOL:
    *lo = 0;
    *hi = 1;
    return;
  case DT_UINT8:
    *lo = 0;
    *hi = UINT8_MAX;
    return;
  case DT_INT8:
    *lo = INT8_MIN;
    *hi = INT8_MAX;
    return;
  case DT_UINT16:
    *lo = 0;
    *hi = UINT16_MAX;
    return;
  case DT_INT16:
    *lo = INT16_MIN;
    *hi = INT16_MAX;
    return;
  case DT_UINT32:
    *lo = 0;
    *hi = UINT32_MAX;
    return;
  case DT_INT32:
    *lo = INT32_MIN;
    *hi = INT32_MAX;
    return;
  case DT_UINT64:
    *lo = 0;
    *hi = INT64_MAX;
    return; /* values above INT64_MAX are not kept */
  default:
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    return;
  }
}

bool fold_int_fits(DataType dt, int64_t v) {
  int64_t lo, hi;
  int_range(dt, &lo, &hi);
  return v >= lo && v <= hi;
}

int64_t fold_int_wrap(DataType dt, int64_t v) {
  uint64_t u = (uint64_t)v;
  switch (dt) {
  case DT_BOOL: return v != 0;
  case DT_UINT8: return (int64_t)(u & 0xFFu);
  case DT_UINT16: return (int64_t)(u & 0xFFFFu);
  case DT_UINT32: return (int64_t)(u & 0xFFFFFFFFu);
  case DT_INT8: u &= 0xFFu; return u >= 0x80u ? (int64_t)u - 0x100 : (int64_t)u;
  case DT_INT16: u &= 0xFFFFu; return u >= 0x8000u ? (int64_t)u - 0x10000 : (int64_t)u;
  case DT_INT32:
    u &= 0xFFFFFFFFu;
    return u >= 0x80000000u ? (int64_t)u - 0x100000000LL : (int64_t)u;
  default: return v;
  }
}

double fold_float_round(DataType dt, double v) {
  if (dt != DT_FLOAT || isnan(v) || isinf(v)) return v;
  if (v > FLT_MAX) return INFINITY;
  if (v < -FLT_MAX) return -INFINITY;
  return (double)(float)v;
}

Tensor *fold_out(Graph *g, uint32_t n, int i) {
  const Node *nd = &g->nodes[n];
  if (i < 0 || i >= nd->n_outputs || nd->outputs[i] == IR_NONE) return NULL;
  Tensor *t = &g->tensors[nd->outputs[i]];
  if (t->rank < 0 || (!ir_dtype_is_int(t->dtype) && !fold_is_float(t->dtype))) return NULL;
  int64_t numel = ir_numel(t);
  if (numel < 0 || numel > IR_MAX_FOLD_ELEMS) return NULL;
  return t;
}

int64_t *fold_ibuf(Graph *g, const Tensor *o) {
  int64_t numel = ir_numel(o);
  return arena_alloc(&g->arena, (size_t)(numel > 0 ? numel : 1) * sizeof(int64_t));
}

double *fold_fbuf(Graph *g, const Tensor *o) {
  int64_t numel = ir_numel(o);
  return arena_alloc(&g->arena, (size_t)(numel > 0 ? numel : 1) * sizeof(double));
}

XdlStatus fold_oom(Diag *d) {
  return diag_error(d, XDL_ERR_INTERNAL, "out of memory while folding constant values");
}

bool fold_next(int rank, const int64_t *dims, int64_t *idx) {
  for (int k = rank - 1; k >= 0; k--) {
    if (++idx[k] < dims[k]) return true;
    idx[k] = 0;
  }
  return false;
}

int64_t fold_flat(const Tensor *t, const int64_t *idx) {
  int64_t flat = 0;
  for (int k = 0; k < t->rank; k++)
    flat = flat * t->dims[k] + idx[k];
  return flat;
}

int64_t fold_bcast_flat(const Tensor *t, int out_rank, const int64_t *idx) {
  int64_t flat = 0;
  int off = out_rank - t->rank;
  for (int k = 0; k < t->rank; k++)
    flat = flat * t->dims[k] + (t->dims[k] == 1 ? 0 : idx[k + off]);
  return flat;
}

XdlStatus fold_map(Graph *g, uint32_t n, int out, const Tensor *const *srcs, int n_srcs,
                   FoldIndexFn fn, const void *ctx, double fill, Diag *d) {
  Tensor *o = fold_out(g, n, out);
  if (!o) return XDL_OK;
  for (int s = 0; s < n_srcs; s++)
    if (!fold_known(srcs[s])) return XDL_OK;
  int64_t numel = ir_numel(o);
  bool as_int = ir_dtype_is_int(o->dtype);
  int64_t *iv = as_int ? fold_ibuf(g, o) : NULL;
  double *fv = as_int ? NULL : fold_fbuf(g, o);
  if (!iv && !fv) return fold_oom(d);
  int64_t idx[IR_MAX_RANK] = {0};
  int64_t fill_i = 0;
  if (as_int && !fold_f2i(fill, &fill_i)) fill_i = 0;
  for (int64_t k = 0; k < numel; k++) {
    int which = 0;
    int64_t at = fn(idx, ctx, &which);
    if (at < 0) {
      if (as_int)
        iv[k] = fill_i;
      else
        fv[k] = fill;
    } else if (as_int) {
      iv[k] = fold_i(srcs[which], at);
    } else {
      fv[k] = fold_f(srcs[which], at);
    }
    fold_next(o->rank, o->dims, idx);
  }
  if (as_int)
    o->ivals = iv;
  else
    o->fvals = fv;
  return XDL_OK;
}

static int64_t same_order(const int64_t *idx, const void *ctx, int *src) {
  const Tensor *o = ctx;
  *src = 0;
  return fold_flat(o, idx);
}

XdlStatus fold_copy(Graph *g, uint32_t n, int out, const Tensor *src, Diag *d) {
  Tensor *o = fold_out(g, n, out);
  if (!o || ir_numel(o) != ir_numel(src)) return XDL_OK;
  return fold_map(g, n, out, &src, 1, same_order, o, 0.0, d);
}
