/* interp_data.c — interpreter kernels of the data-movement, layout and constant operators
 * (Reshape through Range) and Resize. Output dims come from the graph; the kernels map each
 * output element to its source the way shape_data.c's folding does, reading index lists
 * (starts, pads, repeats, ...) from attributes or from the run-time values of their inputs. */
#include <math.h>
#include <string.h>

#include "ir/interp_impl.h"

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity: the values in the same row-major order. */
XdlStatus ik_copy(Interp *ip, uint32_t n, Diag *d) {
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y || x->n != y->n) return ik_fail(ip, n, d, "input and output sizes differ");
  for (int64_t k = 0; k < y->n; k++) vcopy(y, k, x, k);
  return XDL_OK;
}

XdlStatus ik_transpose(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  int64_t perm[IR_MAX_RANK], st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  if (ik_attr_ints(ip, n, "perm", perm, IR_MAX_RANK) != tx->rank)
    for (int k = 0; k < tx->rank; k++) perm[k] = tx->rank - 1 - k;
  ik_strides(tx->rank, tx->dims, st);
  for (int64_t k = 0; k < y->n; k++, fold_next(ty->rank, ty->dims, idx)) {
    int64_t at = 0;
    for (int j = 0; j < ty->rank; j++) at += idx[j] * st[perm[j]];
    vcopy(y, k, x, at);
  }
  return XDL_OK;
}

/* outer / len / inner split of a shape around axis. */
static void split_axis(const Tensor *t, int axis, int64_t *outer, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int k = 0; k < axis; k++) *outer *= t->dims[k];
  for (int k = axis + 1; k < t->rank; k++) *inner *= t->dims[k];
}

XdlStatus ik_concat(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ty = ik_tout(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  int axis;
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", 1), ty->rank, &axis))
    return ik_fail(ip, n, d, "axis out of range");
  int64_t outer, inner, offset = 0, ylen = ty->dims[axis];
  split_axis(ty, axis, &outer, &inner);
  for (int i = 0; i < ip->g->nodes[n].n_inputs; i++) {
    const Tensor *t = ik_tin(ip, n, i);
    const Value *x = ik_in(ip, n, i);
    if (!x) return ik_fail(ip, n, d, "input %d is missing", i);
    int64_t len = t->dims[axis];
    for (int64_t o = 0; o < outer; o++)
      for (int64_t j = 0; j < len; j++)
        for (int64_t s = 0; s < inner; s++)
          vcopy(y, (o * ylen + offset + j) * inner + s, x, (o * len + j) * inner + s);
    offset += len;
  }
  return XDL_OK;
}

/* Split: each output takes the next dims[axis] entries along axis (sizes from shape inference). */
XdlStatus ik_split(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  if (!x) return ik_fail(ip, n, d, "input is missing");
  int axis;
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", 0), tx->rank, &axis))
    return ik_fail(ip, n, d, "axis out of range");
  int64_t outer, inner, offset = 0, xlen = tx->dims[axis];
  split_axis(tx, axis, &outer, &inner);
  for (int i = 0; i < ip->g->nodes[n].n_outputs; i++) {
    const Tensor *t = ik_tout(ip, n, i);
    Value *y = ik_out(ip, n, i);
    if (!y) continue;
    int64_t len = t->dims[axis];
    for (int64_t o = 0; o < outer; o++)
      for (int64_t j = 0; j < len; j++)
        for (int64_t s = 0; s < inner; s++)
          vcopy(y, (o * len + j) * inner + s, x, (o * xlen + offset + j) * inner + s);
    offset += len;
  }
  return XDL_OK;
}

/* Slice: starts/ends/axes (attributes before opset 10, inputs 1..3 after) and steps (input 4);
 * the first index taken on each axis is clamped as in shape_data.c's slice_len. */
XdlStatus ik_slice(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
  int ns = ik_int_list(ip, n, "starts", 1, starts, IR_MAX_RANK, d);
  int ne = ik_int_list(ip, n, "ends", 2, ends, IR_MAX_RANK, d);
  int na = ik_int_list(ip, n, "axes", 3, axes, IR_MAX_RANK, d);
  int nst = ik_int_list(ip, n, NULL, 4, steps, IR_MAX_RANK, d);
  if (ns < 0 || ne != ns || na < -1 || nst < -1) return ik_fail(ip, n, d, "bad starts/ends");
  int64_t first[IR_MAX_RANK], step[IR_MAX_RANK];
  for (int k = 0; k < tx->rank; k++) {
    first[k] = 0;
    step[k] = 1;
  }
  for (int i = 0; i < ns; i++) {
    int ax;
    if (!sh_axis(na >= 0 ? axes[i] : i, tx->rank, &ax)) return ik_fail(ip, n, d, "bad axis");
    int64_t dim = tx->dims[ax], s = starts[i], stp = nst >= 0 ? steps[i] : 1;
    if (s < 0) s += dim;
    if (stp > 0) s = s < 0 ? 0 : s > dim ? dim : s;
    else s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
    first[ax] = s;
    step[ax] = stp;
  }
  int64_t st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  ik_strides(tx->rank, tx->dims, st);
  for (int64_t k = 0; k < y->n; k++, fold_next(ty->rank, ty->dims, idx)) {
    int64_t at = 0;
    for (int j = 0; j < tx->rank; j++) at += (first[j] + idx[j] * step[j]) * st[j];
    vcopy(y, k, x, at);
  }
  return XDL_OK;
}

/* Gather: out[pre, ind..., post] = data[pre, indices[ind...], post]; negative indices count
 * from the end. Out-of-range indices are an error naming the node. */
XdlStatus ik_gather(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0), *ind = ik_in(ip, n, 1);
  Value *y = ik_out(ip, n, 0);
  if (!x || !ind || !y) return ik_fail(ip, n, d, "needs data, indices and output");
  int axis;
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", 0), tx->rank, &axis))
    return ik_fail(ip, n, d, "axis out of range");
  int64_t outer, inner, len = tx->dims[axis];
  split_axis(tx, axis, &outer, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t q = 0; q < ind->n; q++) {
      int64_t j = vi(ind, q);
      if (j < 0) j += len;
      if (j < 0 || j >= len) return ik_fail(ip, n, d, "index %lld out of range", (long long)j);
      for (int64_t s = 0; s < inner; s++)
        vcopy(y, (o * ind->n + q) * inner + s, x, (o * len + j) * inner + s);
    }
  return XDL_OK;
}

XdlStatus ik_gather_elements(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ti = ik_tin(ip, n, 1);
  const Value *x = ik_in(ip, n, 0), *ind = ik_in(ip, n, 1);
  Value *y = ik_out(ip, n, 0);
  if (!x || !ind || !y) return ik_fail(ip, n, d, "needs data, indices and output");
  int axis;
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", 0), tx->rank, &axis))
    return ik_fail(ip, n, d, "axis out of range");
  int64_t st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  ik_strides(tx->rank, tx->dims, st);
  for (int64_t k = 0; k < y->n; k++, fold_next(ti->rank, ti->dims, idx)) {
    int64_t j = vi(ind, k), at = 0;
    if (j < 0) j += tx->dims[axis];
    if (j < 0 || j >= tx->dims[axis])
      return ik_fail(ip, n, d, "index %lld out of range", (long long)j);
    for (int a = 0; a < tx->rank; a++) at += (a == axis ? j : idx[a]) * st[a];
    vcopy(y, k, x, at);
  }
  return XDL_OK;
}

XdlStatus ik_expand(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < y->n; k++, fold_next(ty->rank, ty->dims, idx))
    vcopy(y, k, x, fold_bcast_flat(tx, ty->rank, idx));
  return XDL_OK;
}

XdlStatus ik_tile(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  int64_t idx[IR_MAX_RANK] = {0}, in[IR_MAX_RANK];
  for (int64_t k = 0; k < y->n; k++, fold_next(ty->rank, ty->dims, idx)) {
    for (int j = 0; j < tx->rank; j++) in[j] = idx[j] % tx->dims[j];
    vcopy(y, k, x, fold_flat(tx, in));
  }
  return XDL_OK;
}

/* Pad: pads from 'paddings'/'pads' attributes or input 1, constant value from attribute
 * 'value' or input 2, axes from input 3; modes constant, reflect, edge, wrap. */
XdlStatus ik_pad(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0), *cv = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK], before[IR_MAX_RANK] = {0};
  const char *pname = ir_node_attr(ip->g, n, "paddings") ? "paddings" : "pads";
  int np = ik_int_list(ip, n, pname, 1, pads, 2 * IR_MAX_RANK, d);
  int na = ik_int_list(ip, n, NULL, 3, axes, IR_MAX_RANK, d);
  if (na < 0)
    for (na = 0; na < tx->rank; na++) axes[na] = na;
  if (np != 2 * na) return ik_fail(ip, n, d, "pads do not match the axes");
  for (int i = 0; i < na; i++) {
    int ax;
    if (!sh_axis(axes[i], tx->rank, &ax)) return ik_fail(ip, n, d, "axis out of range");
    before[ax] = pads[i];
  }
  const char *mode = ir_attr_string(ip->g, n, "mode", "constant");
  int m = strcmp(mode, "reflect") == 0 ? 1 : strcmp(mode, "edge") == 0 ? 2
        : strcmp(mode, "wrap") == 0 ? 3 : 0;
  double fill = cv && cv->n >= 1 ? vf(cv, 0) : ir_attr_float(ip->g, n, "value", 0.0);
  int64_t idx[IR_MAX_RANK] = {0}, in[IR_MAX_RANK];
  for (int64_t k = 0; k < y->n; k++, fold_next(ty->rank, ty->dims, idx)) {
    bool outside = false;
    for (int j = 0; j < tx->rank; j++) {
      in[j] = ik_pad_source(m, idx[j] - before[j], tx->dims[j]);
      if (in[j] < 0) outside = true;
    }
    if (outside) vset(y, k, fill);
    else vcopy(y, k, x, fold_flat(tx, in));
  }
  return XDL_OK;
}

/* Dropout: the identity with an all-true mask (inference, or training with ratio 0); training
 * with a positive ratio is random and is refused. */
XdlStatus ik_dropout(Interp *ip, uint32_t n, Diag *d) {
  const Value *x = ik_in(ip, n, 0), *ratio = ik_in(ip, n, 1), *train = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0), *mask = ik_out(ip, n, 1);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  bool training = train && train->n >= 1 && vi(train, 0) != 0;
  double r = ratio && ratio->n >= 1 ? vf(ratio, 0) : ir_attr_float(ip->g, n, "ratio", 0.5);
  if (training && r != 0)
    return ik_fail(ip, n, d, "training-mode dropout with ratio %g is random; the interpreter "
                   "only runs it with ratio 0", r);
  for (int64_t k = 0; k < y->n; k++) vcopy(y, k, x, k);
  for (int64_t k = 0; mask && k < mask->n; k++) vset(mask, k, 1);
  return XDL_OK;
}

/* DepthToSpace: out[n, c, h*b + i, w*b + j] = x[n, (i*b + j)*C' + c, h, w] (DCR) or
 * x[n, c*b*b + i*b + j, h, w] (CRD). */
XdlStatus ik_depth_to_space(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  int64_t b = ir_attr_int(ip->g, n, "blocksize", 1);
  bool crd = strcmp(ir_attr_string(ip->g, n, "mode", "DCR"), "CRD") == 0;
  int64_t C = tx->dims[1], H = tx->dims[2], W = tx->dims[3], co = ty->dims[1];
  int64_t idx[4] = {0};
  for (int64_t k = 0; k < y->n; k++, fold_next(4, ty->dims, idx)) {
    int64_t h = idx[2] / b, i = idx[2] % b, w = idx[3] / b, j = idx[3] % b;
    int64_t c = crd ? idx[1] * b * b + i * b + j : (i * b + j) * co + idx[1];
    vcopy(y, k, x, ((idx[0] * C + c) * H + h) * W + w);
  }
  return XDL_OK;
}

/* SpaceToDepth: out[n, (i*b + j)*C + c, h, w] = x[n, c, h*b + i, w*b + j]. */
XdlStatus ik_space_to_depth(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  int64_t b = ir_attr_int(ip->g, n, "blocksize", 1);
  int64_t C = tx->dims[1], H = tx->dims[2], W = tx->dims[3];
  int64_t idx[4] = {0};
  for (int64_t k = 0; k < y->n; k++, fold_next(4, ty->dims, idx)) {
    int64_t blk = idx[1] / C, c = idx[1] % C, i = blk / b, j = blk % b;
    vcopy(y, k, x, ((idx[0] * C + c) * H + idx[2] * b + i) * W + idx[3] * b + j);
  }
  return XDL_OK;
}

/* OneHot(indices, depth, values [off, on]): a new axis of size depth; negative indices count
 * from depth, out-of-range ones give an all-off row. */
XdlStatus ik_one_hot(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ty = ik_tout(ip, n, 0);
  const Value *ind = ik_in(ip, n, 0), *vals = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0);
  if (!ind || !vals || vals->n != 2 || !y) return ik_fail(ip, n, d, "needs indices and values");
  int axis;
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", -1), ty->rank, &axis))
    return ik_fail(ip, n, d, "axis out of range");
  int64_t depth = ty->dims[axis], outer = 1, inner = 1;
  for (int k = 0; k < axis; k++) outer *= ty->dims[k];
  for (int k = axis + 1; k < ty->rank; k++) inner *= ty->dims[k];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < depth; j++)
      for (int64_t s = 0; s < inner; s++) {
        int64_t v = vi(ind, o * inner + s);
        if (v < 0) v += depth;
        vcopy(y, (o * depth + j) * inner + s, vals, v == j ? 1 : 0);
      }
  return XDL_OK;
}

XdlStatus ik_shape(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!tx || !y) return ik_fail(ip, n, d, "needs input and output");
  int64_t r = tx->rank, s = ir_attr_int(ip->g, n, "start", 0), e = ir_attr_int(ip->g, n, "end", r);
  if (s < 0) s += r;
  if (e < 0) e += r;
  s = s < 0 ? 0 : s > r ? r : s;
  for (int64_t k = 0; k < y->n; k++) y->i[k] = tx->dims[s + k];
  (void)e;
  return XDL_OK;
}

XdlStatus ik_size(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!tx || !y) return ik_fail(ip, n, d, "needs input and output");
  y->i[0] = ir_numel(tx);
  return XDL_OK;
}

/* Constant: the value tensor (loaded like a weight) or value_float(s) / value_int(s). */
XdlStatus ik_constant(Interp *ip, uint32_t n, Diag *d) {
  const Node *nd = &ip->g->nodes[n];
  Value *y = ik_out(ip, n, 0);
  if (!y || nd->n_attrs != 1) return ik_fail(ip, n, d, "needs one value attribute");
  const Attr *a = &nd->attrs[0];
  if (a->kind == ATTR_TENSOR) {
    Value v = {0};
    XdlStatus st = ik_load_const(ip, a->tensor, &v, d);
    if (st == XDL_OK && v.n != y->n) st = ik_fail(ip, n, d, "value tensor has a different size");
    for (int64_t k = 0; st == XDL_OK && k < y->n; k++) vcopy(y, k, &v, k);
    xdl_free(v.f);
    xdl_free(v.i);
    return st;
  }
  for (int64_t k = 0; k < y->n; k++) {
    switch (a->kind) {
    case ATTR_FLOAT: vset(y, k, a->f); break;
    case ATTR_INT: y->is_int ? (void)(y->i[k] = a->i) : (void)(y->f[k] = (double)a->i); break;
    case ATTR_FLOATS: vset(y, k, a->floats[k]); break;
    case ATTR_INTS: y->is_int ? (void)(y->i[k] = a->ints[k]) : (void)(y->f[k] = (double)a->ints[k]);
      break;
    default: return ik_fail(ip, n, d, "attribute '%s' has no numeric value", a->name);
    }
  }
  return XDL_OK;
}

XdlStatus ik_constant_of_shape(Interp *ip, uint32_t n, Diag *d) {
  Value *y = ik_out(ip, n, 0);
  if (!y) return ik_fail(ip, n, d, "needs an output");
  const Attr *a = ir_node_attr(ip->g, n, "value");
  Value v = {0};
  if (a && a->kind == ATTR_TENSOR) {
    XdlStatus st = ik_load_const(ip, a->tensor, &v, d);
    if (st != XDL_OK) return st;
  }
  for (int64_t k = 0; k < y->n; k++) {
    if (v.n < 1) vset(y, k, 0);
    else vcopy(y, k, &v, 0);
  }
  xdl_free(v.f);
  xdl_free(v.i);
  return XDL_OK;
}

/* Range: out[k] = start + k * delta (integers exactly, floats in double then rounded). */
XdlStatus ik_range(Interp *ip, uint32_t n, Diag *d) {
  const Value *s = ik_in(ip, n, 0), *dl = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0);
  if (!s || !dl || !y) return ik_fail(ip, n, d, "needs start, limit and delta");
  for (int64_t k = 0; k < y->n; k++) {
    if (y->is_int) y->i[k] = vi(s, 0) + k * vi(dl, 0);
    else y->f[k] = vf(s, 0) + (double)k * vf(dl, 0);
  }
  return XDL_OK;
}

/* ---- Resize ---- */

typedef struct ResizeArgs {
  int mode;              /* 0 nearest, 1 linear, 2 cubic */
  int nearest;           /* 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil */
  const char *ctm;       /* coordinate_transformation_mode */
  double cubic_a, extrapolation;
  bool exclude_outside;
} ResizeArgs;

/* Input coordinate of output coordinate x on an axis (ONNX Resize, coordinate modes). As in
 * ONNX's reference implementation, the output length in the formulas is scale * in, which is
 * fractional when scales (not sizes) are given. */
static double resize_coord(const ResizeArgs *a, double x, double scale, int64_t in,
                           int64_t out_int, double roi_lo, double roi_hi) {
  const char *m = a->ctm;
  double out = scale * (double)in;
  if (strcmp(m, "asymmetric") == 0) return x / scale;
  if (strcmp(m, "align_corners") == 0)
    return out == 1 ? 0 : x * (double)(in - 1) / (out - 1);
  if (strcmp(m, "pytorch_half_pixel") == 0) return out > 1 ? (x + 0.5) / scale - 0.5 : 0;
  if (strcmp(m, "tf_half_pixel_for_nearest") == 0 || strcmp(m, "tf_half_pixel_for_nn") == 0)
    return (x + 0.5) / scale; /* the second spelling is in older test data */
  if (strcmp(m, "tf_crop_and_resize") == 0)
    return out > 1 ? roi_lo * (double)(in - 1) + x * (roi_hi - roi_lo) * (double)(in - 1) /
                                                     (out - 1)
                   : 0.5 * (roi_lo + roi_hi) * (double)(in - 1);
  if (strcmp(m, "half_pixel_symmetric") == 0) {
    double adj = (double)out_int / out, center = (double)in / 2;
    return center * (1 - adj) + (x + 0.5) / scale - 0.5;
  }
  return (x + 0.5) / scale - 0.5; /* half_pixel */
}

static int64_t clamp_index(int64_t i, int64_t len) { return i < 0 ? 0 : i >= len ? len - 1 : i; }

/* The taps (input index, weight) of one axis for input coordinate c; returns their count, or 0
 * when the coordinate is outside the input for tf_crop_and_resize (extrapolation). */
static int resize_taps(const ResizeArgs *a, double c, int64_t in, bool resized, int64_t *idx,
                       double *w) {
  if (strcmp(a->ctm, "tf_crop_and_resize") == 0 && (c < 0 || c > (double)(in - 1))) return 0;
  if (!resized) { /* an axis the resize leaves alone: c is the output index itself */
    idx[0] = clamp_index((int64_t)c, in);
    w[0] = 1;
    return 1;
  }
  if (a->mode == 0) {
    double f = floor(c), frac = c - f;
    int64_t i;
    switch (a->nearest) {
    case 1: i = frac >= 0.5 ? (int64_t)f + 1 : (int64_t)f; break;
    case 2: i = (int64_t)f; break;
    case 3: i = (int64_t)ceil(c); break;
    default: i = frac > 0.5 ? (int64_t)f + 1 : (int64_t)f; break;
    }
    idx[0] = clamp_index(i, in);
    w[0] = 1;
    return 1;
  }
  int64_t x0 = (int64_t)floor(c);
  double t = c - (double)x0;
  if (a->mode == 1) {
    idx[0] = clamp_index(x0, in);
    idx[1] = clamp_index(x0 + 1, in);
    w[0] = 1 - t;
    w[1] = t;
    return 2;
  }
  double A = a->cubic_a, sum = 0;
  double dist[4] = {t + 1, t, 1 - t, 2 - t};
  for (int k = 0; k < 4; k++) {
    double x = dist[k];
    w[k] = x <= 1 ? ((A + 2) * x - (A + 3)) * x * x + 1 : ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    int64_t raw = x0 - 1 + k;
    if (a->exclude_outside && (raw < 0 || raw >= in)) w[k] = 0;
    idx[k] = clamp_index(raw, in);
    sum += w[k];
  }
  if (a->exclude_outside && sum != 0)
    for (int k = 0; k < 4; k++) w[k] /= sum;
  return 4;
}

/* Resize: nearest (four rounding modes), linear and cubic (n-linear / n-cubic, separable) with
 * every coordinate transformation mode; scales from input 'scales' or sizes / input extents
 * (keep_aspect_ratio_policy: the uniform scale). antialias is not modelled (refused). */
XdlStatus ik_resize(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  if (ir_attr_int(ip->g, n, "antialias", 0) != 0)
    return ik_fail(ip, n, d, "antialias resizing is not implemented in the interpreter");
  bool v10 = ik_opset(ip) <= 10;
  ResizeArgs a;
  const char *mode = ir_attr_string(ip->g, n, "mode", "nearest");
  a.mode = strcmp(mode, "linear") == 0 ? 1 : strcmp(mode, "cubic") == 0 ? 2 : 0;
  const char *nm = ir_attr_string(ip->g, n, "nearest_mode", v10 ? "floor" : "round_prefer_floor");
  a.nearest = strcmp(nm, "round_prefer_ceil") == 0 ? 1 : strcmp(nm, "floor") == 0 ? 2
            : strcmp(nm, "ceil") == 0 ? 3 : 0;
  a.ctm = ir_attr_string(ip->g, n, "coordinate_transformation_mode",
                         v10 ? "asymmetric" : "half_pixel");
  a.cubic_a = ir_attr_float(ip->g, n, "cubic_coeff_a", -0.75);
  a.extrapolation = ir_attr_float(ip->g, n, "extrapolation_value", 0.0);
  a.exclude_outside = ir_attr_int(ip->g, n, "exclude_outside", 0) != 0;
  int r = tx->rank;
  int64_t axes[IR_MAX_RANK];
  int na = ik_attr_ints(ip, n, "axes", axes, IR_MAX_RANK);
  if (na < 0)
    for (na = 0; na < r; na++) axes[na] = na;
  const Value *roi = v10 ? NULL : ik_in(ip, n, 1);
  const Value *scales = ik_in(ip, n, v10 ? 1 : 2), *sizes = v10 ? NULL : ik_in(ip, n, 3);
  if (scales && scales->n == 0) scales = NULL;
  if (roi && roi->n == 0) roi = NULL;
  double scale[IR_MAX_RANK], roi_lo[IR_MAX_RANK], roi_hi[IR_MAX_RANK];
  const char *policy = ir_attr_string(ip->g, n, "keep_aspect_ratio_policy", "stretch");
  double uniform = strcmp(policy, "not_larger") == 0 ? INFINITY : 0;
  for (int k = 0; k < r; k++) {
    scale[k] = 1;
    roi_lo[k] = 0;
    roi_hi[k] = 1;
  }
  for (int i = 0; i < na; i++) {
    int ax;
    if (!sh_axis(axes[i], r, &ax)) return ik_fail(ip, n, d, "axis out of range");
    if (scales && i < scales->n) scale[ax] = vf(scales, i);
    else scale[ax] = (double)ty->dims[ax] / (double)tx->dims[ax];
    if (sizes && strcmp(policy, "stretch") != 0) {
      double s = vf(sizes, i) / (double)tx->dims[ax];
      uniform = strcmp(policy, "not_larger") == 0 ? fmin(uniform, s) : fmax(uniform, s);
    }
    if (roi && roi->n == 2 * na) {
      roi_lo[ax] = vf(roi, i);
      roi_hi[ax] = vf(roi, na + i);
    }
  }
  if (sizes && strcmp(policy, "stretch") != 0)
    for (int i = 0; i < na; i++) scale[axes[i] < 0 ? axes[i] + r : axes[i]] = uniform;
  int64_t tap_idx[IR_MAX_RANK][4], cnt[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  double tap_w[IR_MAX_RANK][4];
  for (int64_t k = 0; k < y->n; k++, fold_next(r, ty->dims, idx)) {
    bool extrapolate = false;
    for (int j = 0; j < r; j++) {
      bool resized = tx->dims[j] != ty->dims[j] || scale[j] != 1 ||
                     strcmp(a.ctm, "tf_crop_and_resize") == 0;
      double c = resized ? resize_coord(&a, (double)idx[j], scale[j], tx->dims[j], ty->dims[j],
                                        roi_lo[j], roi_hi[j])
                         : (double)idx[j];
      cnt[j] = resize_taps(&a, c, tx->dims[j], resized, tap_idx[j], tap_w[j]);
      if (!cnt[j]) extrapolate = true;
    }
    if (extrapolate) {
      vset(y, k, a.extrapolation);
      continue;
    }
    /* Sum over every combination of the axes' taps. */
    double acc = 0;
    int64_t t[IR_MAX_RANK] = {0};
    do {
      double w = 1;
      int64_t at = 0;
      for (int j = 0; j < r; j++) {
        w *= tap_w[j][t[j]];
        at = at * tx->dims[j] + tap_idx[j][t[j]];
      }
      if (w != 0) acc += w * vf(x, at);
    } while (fold_next(r, cnt, t));
    vset(y, k, acc);
  }
  return XDL_OK;
}
