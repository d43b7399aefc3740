/* shape_data.c — shape rules of the data-movement, layout and constant operators (Reshape
 * through Resize), covering the attribute-to-input moves of ONNX opsets 1–18. Where every
 * input's values are known these rules also compute the output's values (fold.c), so the
 * Shape → Gather/Slice → Unsqueeze → Concat → Reshape chains PyTorch exports resolve at import.
 * Every count is validated with overflow-checked arithmetic; bad models fail with sh_fail. */
#include "ir/ir.h"

#include <math.h>
#include <string.h>

/* The default-domain opset; a graph built in C (opset 0) follows the newest rules. */
static int64_t opset_of(const Graph *g) {
  return g->opset > 0 ? g->opset : INT64_MAX;
}

/* Input 0, or an error naming the node when it is missing. */
static const Tensor *need_x(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = sh_in(g, n, 0);
  if (!x) sh_fail(g, n, d, "missing input 0");
  return x;
}

/* An optional input that counts as absent when omitted or empty (Resize, Split, Pad). */
static const Tensor *opt_in(Graph *g, uint32_t n, int i) {
  const Tensor *t = sh_in(g, n, i);
  return t && ir_numel(t) != 0 ? t : NULL;
}

/* Reads a 1-D integer list input (or its older attribute form) into out. Returns 1 found,
 * 0 absent, -1 error recorded. An input that is not 1-D is an error. */
static int int_list(Graph *g, uint32_t n, const char *attr, int input_idx, const char *what,
                    int64_t *out, int *count, int max, Diag *d) {
  const Tensor *t = input_idx >= 0 ? sh_in(g, n, input_idx) : NULL;
  if (t && !(attr && ir_node_attr(g, n, attr)) && t->rank != 1) {
    sh_fail(g, n, d, "'%s' (input %d) must be 1-D, not rank %d", what, input_idx, t->rank);
    return -1;
  }
  int r = sh_int_list(g, n, attr, input_idx, out, count, max, d);
  return r < 0 ? -1 : r;
}

/* Reads a one-element input whose value must be known; false with an error otherwise. */
static bool known_scalar(Graph *g, uint32_t n, int i, const char *what, double *f, int64_t *v,
                         Diag *d) {
  const Tensor *t = sh_in(g, n, i);
  const char *problem = !t                 ? "is missing"
                        : ir_numel(t) != 1 ? "must be a scalar"
                        : !fold_known(t)   ? "must be known at import time"
                                           : NULL;
  if (problem) {
    sh_fail(g, n, d, "'%s' (input %d) %s", what, i, problem);
    return false;
  }
  if (f) *f = fold_f(t, 0);
  if (v) *v = fold_i(t, 0);
  return true;
}

/* ---- Reshape, Flatten, Transpose ---- */

/* Reshape: 'shape' attribute (opset < 5) or input 1. 0 copies the input's dim at the same
 * position unless allowzero=1 (opset 14); one -1 is inferred from the element count. */
XdlStatus shape_reshape(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t shp[IR_MAX_RANK], out[IR_MAX_RANK];
  int cnt = 0;
  int r = int_list(g, n, "shape", 1, "shape", shp, &cnt, IR_MAX_RANK, d);
  if (r < 0) return d->status;
  if (r == 0) return sh_fail(g, n, d, "missing 'shape' (input 1)");
  bool allowzero = ir_attr_int(g, n, "allowzero", 0) != 0;
  int64_t numel = ir_numel(x), known = 1;
  int infer = -1;
  bool has_zero = false;
  for (int k = 0; k < cnt; k++) {
    int64_t v = shp[k];
    if (v == -1) {
      if (infer >= 0) return sh_fail(g, n, d, "'shape' has more than one -1");
      infer = k;
      continue;
    }
    if (v < -1) return sh_fail(g, n, d, "'shape' entry %d is %lld", k, (long long)v);
    if (v == 0) {
      has_zero = true;
      if (!allowzero) {
        if (k >= x->rank)
          return sh_fail(g, n, d, "'shape' entry %d is 0 but the input has rank %d", k, x->rank);
        v = x->dims[k];
      }
    }
    out[k] = v;
    if (!ir_mul_ok(known, v, &known))
      return sh_fail(g, n, d, "'shape' has more elements than fit in 64 bits");
  }
  if (infer >= 0) {
    if (allowzero && has_zero)
      return sh_fail(g, n, d, "'shape' has both -1 and 0 with allowzero=1");
    if (known == 0)
      return sh_fail(g, n, d, "cannot infer the -1 entry: the other entries multiply to 0");
    if (numel % known != 0)
      return sh_fail(g, n, d, "cannot reshape %lld elements with a -1 entry beside %lld",
                     (long long)numel, (long long)known);
    out[infer] = numel / known;
  } else if (known != numel) {
    return sh_fail(g, n, d, "cannot reshape %lld elements into %lld", (long long)numel,
                   (long long)known);
  }
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, cnt, out, d);
  return st != XDL_OK ? st : fold_copy(g, n, 0, x, d);
}

/* Flatten: [prod(dims[:axis]), prod(dims[axis:])]; axis in [-rank, rank] (negative from
 * opset 11), default 1. */
XdlStatus shape_flatten(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t axis = ir_attr_int(g, n, "axis", 1);
  if (axis < -(int64_t)x->rank || axis > x->rank || (axis < 0 && opset_of(g) < 11))
    return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
  if (axis < 0) axis += x->rank;
  int64_t out[2] = {1, 1};
  for (int k = 0; k < x->rank; k++)
    if (!ir_mul_ok(out[k >= axis], x->dims[k], &out[k >= axis]))
      return sh_fail(g, n, d, "output dimension overflows 64 bits");
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, 2, out, d);
  return st != XDL_OK ? st : fold_copy(g, n, 0, x, d);
}

typedef struct PermCtx {
  const Tensor *x;
  const int64_t *perm;
} PermCtx;

static int64_t perm_index(const int64_t *idx, const void *ctx, int *src) {
  const PermCtx *c = ctx;
  int64_t in[IR_MAX_RANK];
  for (int k = 0; k < c->x->rank; k++)
    in[c->perm[k]] = idx[k];
  *src = 0;
  return fold_flat(c->x, in);
}

/* Transpose: output dim k = input dim perm[k]; perm defaults to reversing the axes and must be
 * a permutation of 0..rank-1. */
XdlStatus shape_transpose(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t perm[IR_MAX_RANK], out[IR_MAX_RANK];
  int cnt = 0;
  int r = int_list(g, n, "perm", -1, "perm", perm, &cnt, IR_MAX_RANK, d);
  if (r < 0) return d->status;
  if (r == 0) {
    cnt = x->rank;
    for (int k = 0; k < cnt; k++)
      perm[k] = cnt - 1 - k;
  }
  if (cnt != x->rank) return sh_fail(g, n, d, "'perm' has %d entries for rank %d", cnt, x->rank);
  bool seen[IR_MAX_RANK] = {false};
  for (int k = 0; k < cnt; k++) {
    if (perm[k] < 0 || perm[k] >= cnt || seen[perm[k]])
      return sh_fail(g, n, d, "'perm' is not a permutation of 0..%d", cnt - 1);
    seen[perm[k]] = true;
    out[k] = x->dims[perm[k]];
  }
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, cnt, out, d);
  if (st != XDL_OK) return st;
  PermCtx c = {x, perm};
  return fold_map(g, n, 0, &x, 1, perm_index, &c, 0.0, d);
}

/* ---- Concat, Split ---- */

typedef struct ConcatCtx {
  const Tensor *const *ins;
  int n_ins, axis;
} ConcatCtx;

static int64_t concat_index(const int64_t *idx, const void *ctx, int *src) {
  const ConcatCtx *c = ctx;
  int64_t in[IR_MAX_RANK];
  memcpy(in, idx, sizeof in);
  int i = 0;
  while (i < c->n_ins - 1 && in[c->axis] >= c->ins[i]->dims[c->axis])
    in[c->axis] -= c->ins[i++]->dims[c->axis];
  *src = i;
  return fold_flat(c->ins[i], in);
}

/* Concat: inputs agree on rank, type and every dim but axis (negative allowed; required from
 * opset 4, default 1 before). */
XdlStatus shape_concat(Graph *g, uint32_t n, Diag *d) {
  int count = g->nodes[n].n_inputs;
  const Tensor *x = count > 0 ? need_x(g, n, d) : NULL;
  if (!x) return count > 0 ? d->status : sh_fail(g, n, d, "needs at least one input");
  const Attr *a = ir_node_attr(g, n, "axis");
  if (!a && opset_of(g) >= 4) return sh_fail(g, n, d, "attribute 'axis' is missing");
  int axis;
  if (!sh_axis(a ? a->i : 1, x->rank, &axis))
    return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)(a ? a->i : 1),
                   x->rank);
  int64_t out[IR_MAX_RANK];
  memcpy(out, x->dims, sizeof out);
  for (int i = 1; i < count; i++) {
    const Tensor *t = sh_in(g, n, i);
    if (!t) return sh_fail(g, n, d, "missing input %d", i);
    if (t->rank != x->rank)
      return sh_fail(g, n, d, "input %d has rank %d, input 0 has %d", i, t->rank, x->rank);
    if (t->dtype != x->dtype && t->dtype != DT_UNDEFINED && x->dtype != DT_UNDEFINED)
      return sh_fail(g, n, d, "input %d is %s, input 0 is %s", i, ir_dtype_name(t->dtype),
                     ir_dtype_name(x->dtype));
    for (int k = 0; k < x->rank; k++)
      if (k != axis && t->dims[k] != x->dims[k])
        return sh_fail(g, n, d, "input %d has dim %lld at axis %d, input 0 has %lld", i,
                       (long long)t->dims[k], k, (long long)x->dims[k]);
    if (!ir_add_ok(out[axis], t->dims[axis], &out[axis]))
      return sh_fail(g, n, d, "concatenated dimension overflows 64 bits");
  }
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, x->rank, out, d);
  if (st != XDL_OK || !fold_out(g, n, 0)) return st;
  const Tensor **ins = xdl_malloc((size_t)count * sizeof *ins);
  if (!ins) return fold_oom(d);
  for (int i = 0; i < count; i++)
    ins[i] = sh_in(g, n, i);
  ConcatCtx c = {ins, count, axis};
  st = fold_map(g, n, 0, ins, count, concat_index, &c, 0.0, d);
  xdl_free(ins);
  return st;
}

typedef struct OffsetCtx {
  const Tensor *x;
  int axis;
  int64_t offset;
} OffsetCtx;

static int64_t offset_index(const int64_t *idx, const void *ctx, int *src) {
  const OffsetCtx *c = ctx;
  int64_t in[IR_MAX_RANK];
  memcpy(in, idx, sizeof in);
  in[c->axis] += c->offset;
  *src = 0;
  return fold_flat(c->x, in);
}

/* Split: part sizes from 'split' (attribute before opset 13, input 1 after), else num_outputs
 * (opset 18: ceil-sized parts, the last smaller), else equal parts; one part per output. */
XdlStatus shape_split(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int nout = g->nodes[n].n_outputs;
  int axis;
  int64_t a = ir_attr_int(g, n, "axis", 0);
  if (!sh_axis(a, x->rank, &axis))
    return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)a, x->rank);
  if (nout < 1) return sh_fail(g, n, d, "has no outputs");
  int64_t *sizes = xdl_malloc((size_t)(nout + 1) * sizeof *sizes);
  if (!sizes) return fold_oom(d);
  XdlStatus st = XDL_OK;
  int cnt = 0;
  int r = int_list(g, n, "split", 1, "split", sizes, &cnt, nout + 1, d);
  if (r < 0) {
    st = d->status;
    goto out;
  }
  int64_t dim = x->dims[axis], total = 0;
  const Attr *num = ir_node_attr(g, n, "num_outputs");
  if (r == 1 && cnt > 0) {
    if (num) {
      st = sh_fail(g, n, d, "has both 'split' and 'num_outputs'");
      goto out;
    }
    if (cnt != nout) {
      st = sh_fail(g, n, d, "'split' has %d entries for %d outputs", cnt, nout);
      goto out;
    }
    for (int i = 0; i < nout; i++)
      if (sizes[i] < 0 || !ir_add_ok(total, sizes[i], &total)) {
        st = sh_fail(g, n, d, "'split' entry %d is %lld", i, (long long)sizes[i]);
        goto out;
      }
    if (total != dim) {
      st = sh_fail(g, n, d, "'split' sums to %lld but axis %d has %lld", (long long)total, axis,
                   (long long)dim);
      goto out;
    }
  } else {
    if (num && (num->kind != ATTR_INT || num->i != nout)) {
      st = sh_fail(g, n, d, "'num_outputs' is %lld but the node has %d outputs",
                   (long long)(num->kind == ATTR_INT ? num->i : -1), nout);
      goto out;
    }
    if (!num && dim % nout != 0) {
      st = sh_fail(g, n, d, "axis %d of size %lld does not split into %d equal parts", axis,
                   (long long)dim, nout);
      goto out;
    }
    int64_t chunk = dim / nout + (dim % nout != 0), left = dim;
    for (int i = 0; i < nout; i++) {
      sizes[i] = chunk < left ? chunk : left;
      left -= sizes[i];
    }
  }
  int64_t offset = 0;
  for (int i = 0; i < nout && st == XDL_OK; i++) {
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = sizes[i];
    st = sh_set_out(g, n, i, x->dtype, x->rank, dims, d);
    OffsetCtx c = {x, axis, offset};
    if (st == XDL_OK) st = fold_map(g, n, i, &x, 1, offset_index, &c, 0.0, d);
    offset += sizes[i];
  }
out:
  xdl_free(sizes);
  return st;
}

/* ---- Slice ---- */

typedef struct SliceCtx {
  const Tensor *x;
  int64_t start[IR_MAX_RANK], step[IR_MAX_RANK];
} SliceCtx;

static int64_t slice_index(const int64_t *idx, const void *ctx, int *src) {
  const SliceCtx *c = ctx;
  int64_t in[IR_MAX_RANK];
  for (int k = 0; k < c->x->rank; k++)
    in[k] = c->start[k] + idx[k] * c->step[k];
  *src = 0;
  return fold_flat(c->x, in);
}

/* Clamps start/end of one sliced axis of size dim as the ONNX spec says and returns the
 * element count; *start gets the first index taken. */
static int64_t slice_len(int64_t dim, int64_t *start, int64_t end, int64_t step) {
  int64_t s = *start, e = end;
  if (s < 0) s += dim; /* s < 0 and dim >= 0: no overflow */
  if (e < 0) e += dim;
  if (step > 0) {
    s = s < 0 ? 0 : s > dim ? dim : s;
    e = e < 0 ? 0 : e > dim ? dim : e;
    *start = s;
    return e > s ? (e - s - 1) / step + 1 : 0;
  }
  s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
  e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
  *start = s;
  uint64_t mag = (uint64_t)0 - (uint64_t)step; /* |step|, also for INT64_MIN */
  return s > e ? (int64_t)((uint64_t)(s - e - 1) / mag) + 1 : 0;
}

/* Slice: starts/ends/axes attributes before opset 10; inputs 1..4 (starts, ends, axes, steps)
 * after. Negative indices count from the end; out-of-range ones clamp. */
XdlStatus shape_slice(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
  int ns = 0, ne = 0, na = 0, nst = 0;
  int rs = int_list(g, n, "starts", 1, "starts", starts, &ns, IR_MAX_RANK, d);
  if (rs < 0) return d->status;
  int re = int_list(g, n, "ends", 2, "ends", ends, &ne, IR_MAX_RANK, d);
  if (re < 0) return d->status;
  if (rs == 0 || re == 0) return sh_fail(g, n, d, "missing 'starts' or 'ends'");
  int ra = int_list(g, n, "axes", 3, "axes", axes, &na, IR_MAX_RANK, d);
  if (ra < 0) return d->status;
  int rp = int_list(g, n, NULL, 4, "steps", steps, &nst, IR_MAX_RANK, d);
  if (rp < 0) return d->status;
  if (ne != ns) return sh_fail(g, n, d, "'starts' has %d entries, 'ends' %d", ns, ne);
  if (ra == 0)
    for (na = 0; na < ns; na++)
      axes[na] = na;
  if (rp == 0)
    for (nst = 0; nst < ns; nst++)
      steps[nst] = 1;
  if (na != ns || nst != ns)
    return sh_fail(g, n, d, "'starts' has %d entries, 'axes' %d, 'steps' %d", ns, na, nst);
  SliceCtx c = {.x = x};
  int64_t out[IR_MAX_RANK];
  bool seen[IR_MAX_RANK] = {false};
  for (int k = 0; k < x->rank; k++) {
    out[k] = x->dims[k];
    c.start[k] = 0;
    c.step[k] = 1;
  }
  for (int i = 0; i < ns; i++) {
    int ax;
    if (!sh_axis(axes[i], x->rank, &ax) || seen[ax])
      return sh_fail(g, n, d, "axis %lld is out of range or repeated for rank %d",
                     (long long)axes[i], x->rank);
    seen[ax] = true;
    if (steps[i] == 0) return sh_fail(g, n, d, "step %d is 0", i);
    c.start[ax] = starts[i];
    c.step[ax] = steps[i];
    out[ax] = slice_len(x->dims[ax], &c.start[ax], ends[i], steps[i]);
  }
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, x->rank, out, d);
  return st != XDL_OK ? st : fold_map(g, n, 0, &x, 1, slice_index, &c, 0.0, d);
}

/* ---- Gather, GatherElements ---- */

typedef struct GatherCtx {
  const Tensor *x, *ind;
  int axis, q; /* q = rank of the indices (Gather) */
} GatherCtx;

static int64_t norm_index(const GatherCtx *c, int64_t at) {
  int64_t v = fold_i(c->ind, at);
  return v < 0 ? v + c->x->dims[c->axis] : v;
}

static int64_t gather_index(const int64_t *idx, const void *ctx, int *src) {
  const GatherCtx *c = ctx;
  int64_t in[IR_MAX_RANK], at = 0;
  int r = c->x->rank;
  for (int k = 0; k < c->axis; k++)
    in[k] = idx[k];
  for (int k = 0; k < c->q; k++)
    at = at * c->ind->dims[k] + idx[c->axis + k];
  in[c->axis] = norm_index(c, at);
  for (int k = c->axis + 1; k < r; k++)
    in[k] = idx[k - 1 + c->q];
  *src = 0;
  return fold_flat(c->x, in);
}

static int64_t gather_elements_index(const int64_t *idx, const void *ctx, int *src) {
  const GatherCtx *c = ctx;
  int64_t in[IR_MAX_RANK];
  memcpy(in, idx, sizeof in);
  in[c->axis] = norm_index(c, fold_flat(c->ind, idx));
  *src = 0;
  return fold_flat(c->x, in);
}

/* Checks known indices against [-dim, dim-1] of the gathered axis. */
static XdlStatus check_indices(Graph *g, uint32_t n, const GatherCtx *c, Diag *d) {
  if (!ir_dtype_is_int(c->ind->dtype) && c->ind->dtype != DT_UNDEFINED)
    return sh_fail(g, n, d, "indices have element type %s", ir_dtype_name(c->ind->dtype));
  if (!fold_known(c->ind)) return XDL_OK;
  int64_t dim = c->x->dims[c->axis], numel = ir_numel(c->ind);
  for (int64_t k = 0; k < numel; k++) {
    int64_t v = fold_i(c->ind, k);
    if (v < -dim || v >= dim)
      return sh_fail(g, n, d, "index %lld is out of range for axis %d of size %lld", (long long)v,
                     c->axis, (long long)dim);
  }
  return XDL_OK;
}

/* Gather: data[:axis] + indices.shape + data[axis+1:]; indices of any rank, negative ones
 * counting from the end. */
XdlStatus shape_gather(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d), *ind = sh_in(g, n, 1);
  if (!x) return d->status;
  if (!ind) return sh_fail(g, n, d, "missing indices (input 1)");
  GatherCtx c = {x, ind, 0, ind->rank};
  int64_t a = ir_attr_int(g, n, "axis", 0);
  if (!sh_axis(a, x->rank, &c.axis))
    return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)a, x->rank);
  int rank = x->rank - 1 + ind->rank;
  if (rank > IR_MAX_RANK) return sh_fail(g, n, d, "output rank %d exceeds %d", rank, IR_MAX_RANK);
  XdlStatus st = check_indices(g, n, &c, d);
  if (st != XDL_OK) return st;
  int64_t out[IR_MAX_RANK];
  int r = 0;
  for (int k = 0; k < c.axis; k++)
    out[r++] = x->dims[k];
  for (int k = 0; k < ind->rank; k++)
    out[r++] = ind->dims[k];
  for (int k = c.axis + 1; k < x->rank; k++)
    out[r++] = x->dims[k];
  st = sh_set_out(g, n, 0, x->dtype, rank, out, d);
  if (st != XDL_OK || !fold_known(ind)) return st;
  return fold_map(g, n, 0, &x, 1, gather_index, &c, 0.0, d);
}

/* GatherElements: indices of the data's rank; the output has the indices' shape. */
XdlStatus shape_gather_elements(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d), *ind = sh_in(g, n, 1);
  if (!x) return d->status;
  if (!ind) return sh_fail(g, n, d, "missing indices (input 1)");
  if (ind->rank != x->rank || x->rank < 1)
    return sh_fail(g, n, d, "indices have rank %d, data has %d", ind->rank, x->rank);
  GatherCtx c = {x, ind, 0, ind->rank};
  int64_t a = ir_attr_int(g, n, "axis", 0);
  if (!sh_axis(a, x->rank, &c.axis))
    return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)a, x->rank);
  for (int k = 0; k < x->rank; k++)
    if (k != c.axis && ind->dims[k] > x->dims[k])
      return sh_fail(g, n, d, "indices dim %d (%lld) exceeds the data's (%lld)", k,
                     (long long)ind->dims[k], (long long)x->dims[k]);
  XdlStatus st = check_indices(g, n, &c, d);
  if (st != XDL_OK) return st;
  st = sh_set_out(g, n, 0, x->dtype, ind->rank, ind->dims, d);
  if (st != XDL_OK || !fold_known(ind)) return st;
  return fold_map(g, n, 0, &x, 1, gather_elements_index, &c, 0.0, d);
}

/* ---- Squeeze, Unsqueeze ---- */

/* Squeeze: removes the listed axes (attribute before opset 13, input 1 after), each of size 1;
 * without axes, every dim of size 1. */
XdlStatus shape_squeeze(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t axes[IR_MAX_RANK], out[IR_MAX_RANK];
  int na = 0, rank = 0;
  int r = int_list(g, n, "axes", 1, "axes", axes, &na, IR_MAX_RANK, d);
  if (r < 0) return d->status;
  bool drop[IR_MAX_RANK] = {false};
  if (r == 0) {
    for (int k = 0; k < x->rank; k++)
      drop[k] = x->dims[k] == 1;
  }
  for (int i = 0; i < na; i++) {
    int ax;
    if (!sh_axis(axes[i], x->rank, &ax) || drop[ax])
      return sh_fail(g, n, d, "axis %lld is out of range or repeated for rank %d",
                     (long long)axes[i], x->rank);
    if (x->dims[ax] != 1)
      return sh_fail(g, n, d, "cannot squeeze axis %d of size %lld", ax, (long long)x->dims[ax]);
    drop[ax] = true;
  }
  for (int k = 0; k < x->rank; k++)
    if (!drop[k]) out[rank++] = x->dims[k];
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, rank, out, d);
  return st != XDL_OK ? st : fold_copy(g, n, 0, x, d);
}

/* Unsqueeze: inserts dims of size 1 at the listed axes (attribute before opset 13, input 1
 * after), normalized against the output rank. */
XdlStatus shape_unsqueeze(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t axes[IR_MAX_RANK], out[IR_MAX_RANK];
  int na = 0;
  int r = int_list(g, n, "axes", 1, "axes", axes, &na, IR_MAX_RANK, d);
  if (r < 0) return d->status;
  if (r == 0) return sh_fail(g, n, d, "missing 'axes'");
  int rank = x->rank + na;
  if (rank > IR_MAX_RANK) return sh_fail(g, n, d, "output rank %d exceeds %d", rank, IR_MAX_RANK);
  bool ins[IR_MAX_RANK] = {false};
  for (int i = 0; i < na; i++) {
    int ax;
    if (!sh_axis(axes[i], rank, &ax) || ins[ax])
      return sh_fail(g, n, d, "axis %lld is out of range or repeated for output rank %d",
                     (long long)axes[i], rank);
    ins[ax] = true;
  }
  for (int k = 0, j = 0; k < rank; k++)
    out[k] = ins[k] ? 1 : x->dims[j++];
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, rank, out, d);
  return st != XDL_OK ? st : fold_copy(g, n, 0, x, d);
}

/* ---- Expand, Tile, Pad ---- */

typedef struct BcastCtx {
  const Tensor *x;
  int out_rank;
} BcastCtx;

static int64_t bcast_index(const int64_t *idx, const void *ctx, int *src) {
  const BcastCtx *c = ctx;
  *src = 0;
  return fold_bcast_flat(c->x, c->out_rank, idx);
}

/* Expand: bidirectional numpy broadcast of the input with the known 'shape' input. */
XdlStatus shape_expand(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t shp[IR_MAX_RANK], out[IR_MAX_RANK];
  int cnt = 0, rank;
  int r = int_list(g, n, NULL, 1, "shape", shp, &cnt, IR_MAX_RANK, d);
  if (r < 0) return d->status;
  if (r == 0) return sh_fail(g, n, d, "missing 'shape' (input 1)");
  for (int k = 0; k < cnt; k++)
    if (shp[k] < 0) return sh_fail(g, n, d, "'shape' entry %d is %lld", k, (long long)shp[k]);
  if (!sh_broadcast(x->rank, x->dims, cnt, shp, &rank, out))
    return sh_fail(g, n, d, "input does not broadcast to 'shape'");
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, rank, out, d);
  BcastCtx c = {x, rank};
  return st != XDL_OK ? st : fold_map(g, n, 0, &x, 1, bcast_index, &c, 0.0, d);
}

static int64_t tile_index(const int64_t *idx, const void *ctx, int *src) {
  const Tensor *x = ctx;
  int64_t in[IR_MAX_RANK];
  for (int k = 0; k < x->rank; k++)
    in[k] = idx[k] % x->dims[k];
  *src = 0;
  return fold_flat(x, in);
}

/* Tile: dim k times repeats[k] (input 1, one non-negative entry per dim). */
XdlStatus shape_tile(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t rep[IR_MAX_RANK], out[IR_MAX_RANK];
  int cnt = 0;
  int r = int_list(g, n, NULL, 1, "repeats", rep, &cnt, IR_MAX_RANK, d);
  if (r < 0) return d->status;
  if (r == 0) return sh_fail(g, n, d, "missing 'repeats' (input 1)");
  if (cnt != x->rank) return sh_fail(g, n, d, "'repeats' has %d entries for rank %d", cnt, x->rank);
  for (int k = 0; k < cnt; k++)
    if (rep[k] < 0 || !ir_mul_ok(x->dims[k], rep[k], &out[k]))
      return sh_fail(g, n, d, "'repeats' entry %d (%lld) is negative or overflows", k,
                     (long long)rep[k]);
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, x->rank, out, d);
  return st != XDL_OK ? st : fold_map(g, n, 0, &x, 1, tile_index, x, 0.0, d);
}

typedef struct PadCtx {
  const Tensor *x;
  int64_t before[IR_MAX_RANK];
  int mode; /* 0 constant, 1 reflect, 2 edge, 3 wrap */
} PadCtx;

static int64_t pad_index(const int64_t *idx, const void *ctx, int *src) {
  const PadCtx *c = ctx;
  int64_t in[IR_MAX_RANK];
  *src = 0;
  for (int k = 0; k < c->x->rank; k++) {
    int64_t dim = c->x->dims[k], i = idx[k] - c->before[k];
    if (i < 0 || i >= dim) {
      if (c->mode == 0) return -1;
      if (c->mode == 2) {
        i = i < 0 ? 0 : dim - 1;
      } else if (c->mode == 3) {
        i = ((i % dim) + dim) % dim;
      } else if (dim == 1) {
        i = 0;
      } else {
        int64_t period = 2 * (dim - 1);
        i = ((i % period) + period) % period;
        if (i >= dim) i = period - i;
      }
    }
    in[k] = i;
  }
  return fold_flat(c->x, in);
}

/* Pad: 'paddings' (opset 1) or 'pads' attribute (opset 2–10), or input 1 (opset 11+) with
 * optional constant_value (input 2) and axes (input 3, opset 18). Negative pads crop. */
XdlStatus shape_pad(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK], out[IR_MAX_RANK];
  int np = 0, na = 0;
  const char *pname = ir_node_attr(g, n, "paddings") ? "paddings" : "pads";
  int r = int_list(g, n, pname, 1, "pads", pads, &np, 2 * IR_MAX_RANK, d);
  if (r < 0) return d->status;
  if (r == 0) return sh_fail(g, n, d, "missing 'pads'");
  int ra = int_list(g, n, NULL, 3, "axes", axes, &na, IR_MAX_RANK, d);
  if (ra < 0) return d->status;
  if (ra == 0)
    for (na = 0; na < x->rank; na++)
      axes[na] = na;
  if (np != 2 * na) return sh_fail(g, n, d, "'pads' has %d entries for %d axes", np, na);
  static const char *modes[] = {"constant", "reflect", "edge", "wrap"};
  const char *mode = ir_attr_string(g, n, "mode", "constant");
  PadCtx c = {.x = x, .mode = -1};
  for (int m = 0; m < 4; m++)
    if (strcmp(mode, modes[m]) == 0) c.mode = m;
  if (c.mode < 0) return sh_fail(g, n, d, "unknown mode '%s'", mode);
  memcpy(out, x->dims, sizeof out);
  bool seen[IR_MAX_RANK] = {false};
  for (int i = 0; i < na; i++) {
    int ax;
    if (!sh_axis(axes[i], x->rank, &ax) || seen[ax])
      return sh_fail(g, n, d, "axis %lld is out of range or repeated for rank %d",
                     (long long)axes[i], x->rank);
    seen[ax] = true;
    c.before[ax] = pads[i];
    if (!ir_add_ok(out[ax], pads[i], &out[ax]) || !ir_add_ok(out[ax], pads[i + na], &out[ax]))
      return sh_fail(g, n, d, "padded dimension overflows 64 bits");
    if (out[ax] < 0)
      return sh_fail(g, n, d, "pads crop axis %d of size %lld below zero", ax,
                     (long long)x->dims[ax]);
    if (c.mode != 0 && x->dims[ax] == 0 && out[ax] > 0)
      return sh_fail(g, n, d, "cannot %s-pad empty axis %d", mode, ax);
  }
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, x->rank, out, d);
  if (st != XDL_OK) return st;
  double fill = ir_attr_float(g, n, "value", 0.0);
  const Tensor *cv = opt_in(g, n, 2);
  if (cv && (ir_numel(cv) != 1 || !fold_known(cv))) return XDL_OK;
  if (cv) fill = fold_f(cv, 0);
  return fold_map(g, n, 0, &x, 1, pad_index, &c, fill, d);
}

/* ---- Identity, Dropout ---- */

/* Identity: type, shape and values pass through. */
XdlStatus shape_identity(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, x->rank, x->dims, d);
  return st != XDL_OK ? st : fold_copy(g, n, 0, x, d);
}

/* Dropout (inference view): output 0 is the input; the optional mask (output 1) has the same
 * shape, bool from opset 10 (the input's type before). ratio and training_mode (inputs 1, 2 from
 * opset 12) must be scalars. */
XdlStatus shape_dropout(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  for (int i = 1; i <= 2; i++) {
    const Tensor *t = sh_in(g, n, i);
    if (t && ir_numel(t) != 1)
      return sh_fail(g, n, d, "'%s' (input %d) must be a scalar",
                     i == 1 ? "ratio" : "training_mode", i);
  }
  XdlStatus st = sh_set_out(g, n, 0, x->dtype, x->rank, x->dims, d);
  DataType mask = opset_of(g) < 10 ? x->dtype : DT_BOOL; /* bool since opset 10 */
  if (st == XDL_OK) st = sh_set_out(g, n, 1, mask, x->rank, x->dims, d);
  return st != XDL_OK ? st : fold_copy(g, n, 0, x, d);
}

/* ---- DepthToSpace, SpaceToDepth ---- */

/* Shared checks: rank-4 NCHW input and a positive blocksize; returns 0 on error. */
static int64_t block_size(Graph *g, uint32_t n, const Tensor *x, Diag *d) {
  int64_t b = ir_attr_int(g, n, "blocksize", 0);
  if (x->rank != 4) {
    sh_fail(g, n, d, "input must be 4-D, not rank %d", x->rank);
    return 0;
  }
  if (b < 1 || b > (int64_t)1 << 31) {
    sh_fail(g, n, d, "'blocksize' %lld must be a positive integer", (long long)b);
    return 0;
  }
  return b;
}

/* DepthToSpace: [N, C/(b*b), H*b, W*b]; mode DCR (default) or CRD. */
XdlStatus shape_depth_to_space(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t b = block_size(g, n, x, d), out[4];
  if (!b) return d->status;
  const char *mode = ir_attr_string(g, n, "mode", "DCR");
  if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
    return sh_fail(g, n, d, "unknown mode '%s'", mode);
  if (x->dims[1] % (b * b) != 0)
    return sh_fail(g, n, d, "channels %lld are not divisible by blocksize² %lld",
                   (long long)x->dims[1], (long long)(b * b));
  out[0] = x->dims[0];
  out[1] = x->dims[1] / (b * b);
  if (!ir_mul_ok(x->dims[2], b, &out[2]) || !ir_mul_ok(x->dims[3], b, &out[3]))
    return sh_fail(g, n, d, "output dimension overflows 64 bits");
  return sh_set_out(g, n, 0, x->dtype, 4, out, d);
}

/* SpaceToDepth: [N, C*b*b, H/b, W/b]; H and W must be divisible by b. */
XdlStatus shape_space_to_depth(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t b = block_size(g, n, x, d), out[4];
  if (!b) return d->status;
  if (x->dims[2] % b != 0 || x->dims[3] % b != 0)
    return sh_fail(g, n, d, "spatial dims %lldx%lld are not divisible by blocksize %lld",
                   (long long)x->dims[2], (long long)x->dims[3], (long long)b);
  out[0] = x->dims[0];
  if (!ir_mul_ok(x->dims[1], b * b, &out[1]))
    return sh_fail(g, n, d, "output dimension overflows 64 bits");
  out[2] = x->dims[2] / b;
  out[3] = x->dims[3] / b;
  return sh_set_out(g, n, 0, x->dtype, 4, out, d);
}

/* ---- OneHot ---- */

/* OneHot(indices, depth, values): inserts a dim of size depth at axis (default -1, range
 * [-(r+1), r]); the output has the values' element type. depth must be known. */
XdlStatus shape_one_hot(Graph *g, uint32_t n, Diag *d) {
  const Tensor *ind = need_x(g, n, d), *vals = sh_in(g, n, 2);
  if (!ind) return d->status;
  double depth_f;
  if (!known_scalar(g, n, 1, "depth", &depth_f, NULL, d)) return d->status;
  int64_t depth;
  if (!fold_f2i(depth_f, &depth) || depth < 1)
    return sh_fail(g, n, d, "'depth' %g must be a positive integer", depth_f);
  if (!vals || ir_numel(vals) != 2)
    return sh_fail(g, n, d, "'values' (input 2) must have two elements");
  int rank = ind->rank + 1, axis;
  if (rank > IR_MAX_RANK) return sh_fail(g, n, d, "output rank %d exceeds %d", rank, IR_MAX_RANK);
  int64_t a = ir_attr_int(g, n, "axis", -1);
  if (!sh_axis(a, rank, &axis))
    return sh_fail(g, n, d, "axis %lld is out of range for output rank %d", (long long)a, rank);
  int64_t out[IR_MAX_RANK];
  for (int k = 0, j = 0; k < rank; k++)
    out[k] = k == axis ? depth : ind->dims[j++];
  return sh_set_out(g, n, 0, vals->dtype, rank, out, d);
}

/* ---- Shape, Size, Constant, ConstantOfShape, Range ---- */

/* Shape: int64 vector of the input's dims[start:end] (start/end from opset 15, clamped);
 * its values are always known. */
XdlStatus shape_shape(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t r = x->rank;
  int64_t s = ir_attr_int(g, n, "start", 0), e = ir_attr_int(g, n, "end", r);
  if (s < 0) s += r;
  if (e < 0) e += r;
  s = s < 0 ? 0 : s > r ? r : s;
  e = e < 0 ? 0 : e > r ? r : e;
  int64_t len = e > s ? e - s : 0;
  XdlStatus st = sh_set_out(g, n, 0, DT_INT64, 1, &len, d);
  if (st != XDL_OK) return st;
  Tensor *o = fold_out(g, n, 0);
  if (o && !ir_set_ivals(g, g->nodes[n].outputs[0], x->dims + s, len)) return fold_oom(d);
  return XDL_OK;
}

/* Size: int64 scalar holding the input's element count. */
XdlStatus shape_size(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int64_t numel = ir_numel(x);
  XdlStatus st = sh_set_out(g, n, 0, DT_INT64, 0, NULL, d);
  if (st != XDL_OK) return st;
  if (fold_out(g, n, 0) && !ir_set_ivals(g, g->nodes[n].outputs[0], &numel, 1)) return fold_oom(d);
  return XDL_OK;
}

/* Gives output 0 the type, shape and (when small) values of constant tensor t. */
static XdlStatus take_tensor(Graph *g, uint32_t n, const Tensor *t, Diag *d) {
  if (t->rank < 0) return sh_fail(g, n, d, "constant tensor '%s' has no shape", t->name);
  XdlStatus st = sh_set_out(g, n, 0, t->dtype, t->rank, t->dims, d);
  Tensor *o = fold_out(g, n, 0);
  if (st != XDL_OK || !o) return st;
  if (ir_dtype_is_int(o->dtype) && t->ivals) o->ivals = t->ivals; /* arena-owned, immutable */
  if (fold_is_float(o->dtype) && t->fvals) o->fvals = t->fvals;
  return XDL_OK;
}

/* Constant: one of value (tensor), value_float(s), value_int(s), value_string(s). */
XdlStatus shape_constant(Graph *g, uint32_t n, Diag *d) {
  const Node *nd = &g->nodes[n];
  if (nd->n_attrs != 1)
    return sh_fail(g, n, d, "needs exactly one value attribute, has %d attributes", nd->n_attrs);
  const Attr *a = &nd->attrs[0];
  const char *nm = a->name;
  XdlStatus st;
  if (strcmp(nm, "value") == 0 && a->kind == ATTR_TENSOR) {
    if (a->tensor >= g->n_tensors) return sh_fail(g, n, d, "'value' names no tensor");
    return take_tensor(g, n, &g->tensors[a->tensor], d);
  }
  int64_t len = a->n;
  if (strcmp(nm, "value_float") == 0 && a->kind == ATTR_FLOAT) {
    st = sh_set_out(g, n, 0, DT_FLOAT, 0, NULL, d);
    if (st == XDL_OK && fold_out(g, n, 0) && !ir_set_fvals(g, nd->outputs[0], &a->f, 1))
      return fold_oom(d);
    return st;
  }
  if (strcmp(nm, "value_int") == 0 && a->kind == ATTR_INT) {
    st = sh_set_out(g, n, 0, DT_INT64, 0, NULL, d);
    if (st == XDL_OK && fold_out(g, n, 0) && !ir_set_ivals(g, nd->outputs[0], &a->i, 1))
      return fold_oom(d);
    return st;
  }
  if (strcmp(nm, "value_floats") == 0 && a->kind == ATTR_FLOATS) {
    st = sh_set_out(g, n, 0, DT_FLOAT, 1, &len, d);
    if (st == XDL_OK && fold_out(g, n, 0)) g->tensors[nd->outputs[0]].fvals = a->floats;
    return st;
  }
  if (strcmp(nm, "value_ints") == 0 && a->kind == ATTR_INTS) {
    st = sh_set_out(g, n, 0, DT_INT64, 1, &len, d);
    if (st == XDL_OK && fold_out(g, n, 0)) g->tensors[nd->outputs[0]].ivals = a->ints;
    return st;
  }
  if (strcmp(nm, "value_string") == 0 && a->kind == ATTR_STRING)
    return sh_set_out(g, n, 0, DT_STRING, 0, NULL, d);
  if (strcmp(nm, "value_strings") == 0 && a->kind == ATTR_STRINGS)
    return sh_set_out(g, n, 0, DT_STRING, 1, &len, d);
  if (strcmp(nm, "sparse_value") == 0)
    return sh_fail(g, n, d, "sparse constants are not supported");
  return sh_fail(g, n, d, "unsupported value attribute '%s'", nm);
}

/* ConstantOfShape: the known 1-D input gives the shape; attribute 'value' (a one-element
 * tensor) the type and fill, default float 0. */
XdlStatus shape_constant_of_shape(Graph *g, uint32_t n, Diag *d) {
  int64_t shp[IR_MAX_RANK];
  int cnt = 0;
  int r = int_list(g, n, NULL, 0, "input", shp, &cnt, IR_MAX_RANK, d);
  if (r < 0) return d->status;
  if (r == 0) return sh_fail(g, n, d, "missing input 0");
  for (int k = 0; k < cnt; k++)
    if (shp[k] < 0) return sh_fail(g, n, d, "shape entry %d is %lld", k, (long long)shp[k]);
  DataType dt = DT_FLOAT;
  bool known = true;
  double fill = 0.0;
  int64_t fill_i = 0;
  const Attr *a = ir_node_attr(g, n, "value");
  if (a) {
    if (a->kind != ATTR_TENSOR || a->tensor >= g->n_tensors)
      return sh_fail(g, n, d, "attribute 'value' must be a tensor");
    const Tensor *t = &g->tensors[a->tensor];
    if (ir_numel(t) != 1) return sh_fail(g, n, d, "attribute 'value' must have one element");
    dt = t->dtype;
    known = fold_known(t);
    if (known) {
      fill = fold_f(t, 0);
      fill_i = fold_i(t, 0);
    }
  }
  XdlStatus st = sh_set_out(g, n, 0, dt, cnt, shp, d);
  Tensor *o = fold_out(g, n, 0);
  if (st != XDL_OK || !o || !known) return st;
  int64_t numel = ir_numel(o);
  if (ir_dtype_is_int(dt)) {
    int64_t *iv = fold_ibuf(g, o);
    if (!iv) return fold_oom(d);
    for (int64_t k = 0; k < numel; k++)
      iv[k] = fill_i;
    o->ivals = iv;
  } else {
    double *fv = fold_fbuf(g, o);
    if (!fv) return fold_oom(d);
    for (int64_t k = 0; k < numel; k++)
      fv[k] = fill;
    o->fvals = fv;
  }
  return XDL_OK;
}

/* Range(start, limit, delta): known scalars; max(ceil((limit - start) / delta), 0) elements of
 * start's type. f32 counts are computed in f32, as onnxruntime does. */
XdlStatus shape_range(Graph *g, uint32_t n, Diag *d) {
  double f[3];
  int64_t v[3];
  static const char *names[3] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; i++)
    if (!known_scalar(g, n, i, names[i], &f[i], &v[i], d)) return d->status;
  DataType dt = sh_in(g, n, 0)->dtype;
  int64_t len;
  if (ir_dtype_is_int(dt)) {
    int64_t diff;
    if (v[2] == 0) return sh_fail(g, n, d, "'delta' is 0");
    if (__builtin_sub_overflow(v[1], v[0], &diff) || (v[2] == -1 && diff == INT64_MIN))
      return sh_fail(g, n, d, "range length overflows 64 bits");
    len = diff / v[2];
    if (diff % v[2] != 0 && (diff < 0) == (v[2] < 0)) len++;
  } else {
    if (f[2] == 0.0) return sh_fail(g, n, d, "'delta' is 0");
    double q = dt == DT_FLOAT ? (double)ceilf(((float)f[1] - (float)f[0]) / (float)f[2])
                              : ceil((f[1] - f[0]) / f[2]);
    if (!fold_f2i(q, &len)) return sh_fail(g, n, d, "range length %g is not finite", q);
  }
  if (len < 0) len = 0;
  XdlStatus st = sh_set_out(g, n, 0, dt, 1, &len, d);
  Tensor *o = fold_out(g, n, 0);
  if (st != XDL_OK || !o) return st;
  if (ir_dtype_is_int(dt)) {
    int64_t *iv = fold_ibuf(g, o);
    if (!iv) return fold_oom(d);
    for (int64_t k = 0; k < len; k++)
      iv[k] = v[0] + k * v[2]; /* stays within [start, limit) */
    o->ivals = iv;
  } else {
    double *fv = fold_fbuf(g, o);
    if (!fv) return fold_oom(d);
    for (int64_t k = 0; k < len; k++)
      fv[k] = fold_float_round(dt, f[0] + (double)k * f[2]);
    o->fvals = fv;
  }
  return XDL_OK;
}

/* ---- Resize ---- */

/* Resize: opset 10 has (X, scales); opset 11+ (X, roi, scales, sizes), where omitted or empty
 * inputs are absent and exactly one of scales/sizes is given. Output dim = floor(dim × scale)
 * (× roi extent for tf_crop_and_resize) or sizes; opset 18 adds 'axes' and
 * keep_aspect_ratio_policy (not_larger / not_smaller rescale sizes uniformly). */
XdlStatus shape_resize(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_x(g, n, d);
  if (!x) return d->status;
  int rank = x->rank;
  int64_t axes[IR_MAX_RANK], out[IR_MAX_RANK];
  int na = 0;
  int ra = int_list(g, n, "axes", -1, "axes", axes, &na, IR_MAX_RANK, d);
  if (ra < 0) return d->status;
  if (ra == 0)
    for (na = 0; na < rank; na++)
      axes[na] = na;
  bool seen[IR_MAX_RANK] = {false};
  int ax[IR_MAX_RANK];
  for (int i = 0; i < na; i++) {
    if (!sh_axis(axes[i], rank, &ax[i]) || seen[ax[i]])
      return sh_fail(g, n, d, "axis %lld is out of range or repeated for rank %d",
                     (long long)axes[i], rank);
    seen[ax[i]] = true;
  }
  bool v10 = opset_of(g) <= 10;
  const Tensor *roi = v10 ? NULL : opt_in(g, n, 1);
  const Tensor *scales = opt_in(g, n, v10 ? 1 : 2), *sizes = v10 ? NULL : opt_in(g, n, 3);
  if (scales && sizes) return sh_fail(g, n, d, "has both 'scales' and 'sizes'");
  if (!scales && !sizes) return sh_fail(g, n, d, "needs 'scales' or 'sizes'");
  const Tensor *p = scales ? scales : sizes;
  const char *what = scales ? "scales" : "sizes";
  if (p->rank != 1 || ir_numel(p) != na)
    return sh_fail(g, n, d, "'%s' must be 1-D with %d entries", what, na);
  if (!fold_known(p)) return sh_fail(g, n, d, "'%s' must be known at import time", what);
  memcpy(out, x->dims, sizeof out);
  if (scales) {
    bool crop = strcmp(ir_attr_string(g, n, "coordinate_transformation_mode", ""),
                       "tf_crop_and_resize") == 0;
    bool use_roi = crop && roi && fold_known(roi) && ir_numel(roi) == 2 * na;
    for (int i = 0; i < na; i++) {
      double s = fold_f(scales, i), extent = use_roi ? fold_f(roi, na + i) - fold_f(roi, i) : 1;
      int64_t v;
      if (!(s > 0) || !fold_f2i(floor((double)x->dims[ax[i]] * extent * s), &v) || v < 0)
        return sh_fail(g, n, d, "scale %g for axis %d is not a usable positive number", s, ax[i]);
      out[ax[i]] = v;
    }
  } else {
    const char *policy = ir_attr_string(g, n, "keep_aspect_ratio_policy", "stretch");
    bool stretch = strcmp(policy, "stretch") == 0, larger = strcmp(policy, "not_larger") == 0;
    if (!stretch && !larger && strcmp(policy, "not_smaller") != 0)
      return sh_fail(g, n, d, "unknown keep_aspect_ratio_policy '%s'", policy);
    double scale = larger ? INFINITY : 0.0;
    for (int i = 0; i < na; i++) {
      int64_t v = fold_i(sizes, i);
      if (v < 0) return sh_fail(g, n, d, "'sizes' entry %d is %lld", i, (long long)v);
      out[ax[i]] = v;
      if (stretch) continue;
      if (x->dims[ax[i]] == 0) return sh_fail(g, n, d, "cannot keep the aspect of empty axis");
      double s = (double)v / (double)x->dims[ax[i]];
      scale = larger ? fmin(scale, s) : fmax(scale, s);
    }
    for (int i = 0; i < na && !stretch; i++)
      if (!fold_f2i(floor(scale * (double)x->dims[ax[i]] + 0.5), &out[ax[i]]))
        return sh_fail(g, n, d, "resized dimension overflows 64 bits");
  }
  return sh_set_out(g, n, 0, x->dtype, rank, out, d);
}
