/* backward.c — backward rules named in ops.def: each appends, after the forward graph, the
 * nodes that turn the gradients of a node's outputs into the gradients of its differentiable
 * inputs. The autodiff pass (passes/autodiff.c) walks the graph in reverse and calls them; it
 * also decides each new node's phase (backward_data or backward_weight) from what the node
 * feeds. A rule returns in grad_in[i] a tensor of exactly input i's shape and type. Nodes
 * created here carry fwd_node = the forward node and origin = its name. The internal ops used
 * (ConvGradWeight, ReduceToShape, UnaryGrad, ...) are defined in ir/shape_train.c. */
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

/* Graphs built in C (opset 0) follow the newest rules, as the shape rules do. */
static int64_t opset_of(const Graph *g) { return g->opset > 0 ? g->opset : 18; }

/* ---- building blocks: every helper returns a tensor id, or IR_NONE with d set ---- */

/* Starts a node of op for forward node fwd with n_out fresh outputs of unknown shape. Returns
 * the node id; set its attributes, then call bw_finish. */
static uint32_t bw_start(Graph *g, uint32_t fwd, OpKind op, const uint32_t *in, int n_in,
                         int n_out, Diag *d) {
  char name[600];
  const char *fname = g->nodes[fwd].name;
  snprintf(name, sizeof name, "%.400s/grad/%s", fname, ir_ops[op].name);
  uint32_t *outs = xdl_malloc((size_t)(n_out > 0 ? n_out : 1) * sizeof *outs);
  if (!outs) {
    diag_error(d, XDL_ERR_INTERNAL, "out of memory in a backward rule");
    return IR_NONE;
  }
  char base[520];
  snprintf(base, sizeof base, "%.400s.grad", fname);
  for (int i = 0; i < n_out; i++) {
    outs[i] = ir_add_tensor_unique(g, base, DT_FLOAT, ROLE_GRADIENT, -1, NULL, d);
    if (outs[i] == IR_NONE) {
      xdl_free(outs);
      return IR_NONE;
    }
  }
  uint32_t id = ir_add_node(g, op, name, in, n_in, outs, n_out, d);
  xdl_free(outs);
  if (id == IR_NONE) return IR_NONE;
  Node *nd = &g->nodes[id];
  const Node *f = &g->nodes[fwd];
  nd->phase = PHASE_BACKWARD_DATA; /* the autodiff pass settles data vs weight */
  nd->fwd_node = fwd;
  nd->origin = f->name;
  nd->caps_role = f->caps_role;
  nd->caps_iter = f->caps_iter;
  return id;
}

/* Infers node id's output shapes; returns output 0 or IR_NONE. */
static uint32_t bw_finish(Graph *g, uint32_t id, Diag *d) {
  if (id == IR_NONE || ir_infer_node(g, id, d) != XDL_OK) return IR_NONE;
  return g->nodes[id].outputs[0];
}

/* One-output node without attributes. */
static uint32_t bw_op(Graph *g, uint32_t fwd, OpKind op, const uint32_t *in, int n_in, Diag *d) {
  return bw_finish(g, bw_start(g, fwd, op, in, n_in, 1, d), d);
}

static uint32_t bw_op2(Graph *g, uint32_t fwd, OpKind op, uint32_t a, uint32_t b, Diag *d) {
  if (a == IR_NONE || b == IR_NONE) return IR_NONE;
  uint32_t in[2] = {a, b};
  return bw_op(g, fwd, op, in, 2, d);
}

static uint32_t bw_op1(Graph *g, uint32_t fwd, OpKind op, uint32_t a, Diag *d) {
  if (a == IR_NONE) return IR_NONE;
  return bw_op(g, fwd, op, &a, 1, d);
}

/* A scalar constant of type dt (float types) holding v. */
static uint32_t bw_scalar(Graph *g, DataType dt, double v, Diag *d) {
  char base[64];
  snprintf(base, sizeof base, "const_%g", v);
  uint32_t t = ir_add_tensor_unique(g, base, dt, ROLE_CONST, 0, NULL, d);
  if (t != IR_NONE && !ir_set_fvals(g, t, &v, 1)) {
    diag_error(d, XDL_ERR_INTERNAL, "out of memory");
    return IR_NONE;
  }
  return t;
}

/* A 1-D int64 constant (shapes, axes, pads). */
static uint32_t bw_ints(Graph *g, const int64_t *v, int count, Diag *d) {
  int64_t dims[1] = {count};
  uint32_t t = ir_add_tensor_unique(g, "const_ints", DT_INT64, ROLE_CONST, 1, dims, d);
  if (t != IR_NONE && !ir_set_ivals(g, t, count ? v : dims, count)) {
    diag_error(d, XDL_ERR_INTERNAL, "out of memory");
    return IR_NONE;
  }
  return t;
}

static const Tensor *tens(const Graph *g, uint32_t t) { return &g->tensors[t]; }

static bool same_shape(const Tensor *t, int rank, const int64_t *dims) {
  return t->rank == rank && (rank == 0 || memcmp(t->dims, dims, (size_t)rank * sizeof *dims) == 0);
}

/* x reshaped to dims (no node when the shape already matches). */
static uint32_t bw_reshape(Graph *g, uint32_t fwd, uint32_t x, int rank, const int64_t *dims,
                           Diag *d) {
  if (x == IR_NONE || same_shape(tens(g, x), rank, dims)) return x;
  if (opset_of(g) < 5) {
    uint32_t id = bw_start(g, fwd, OP_RESHAPE, &x, 1, 1, d);
    if (id == IR_NONE || !ir_set_attr_ints(g, id, "shape", dims, rank)) return IR_NONE;
    return bw_finish(g, id, d);
  }
  uint32_t shp = bw_ints(g, dims, rank, d);
  return shp == IR_NONE ? IR_NONE : bw_op2(g, fwd, OP_RESHAPE, x, shp, d);
}

/* x summed down to dims (which broadcast to x's shape); no node when already that shape. */
static uint32_t bw_reduce_to(Graph *g, uint32_t fwd, uint32_t x, int rank, const int64_t *dims,
                             Diag *d) {
  if (x == IR_NONE) return IR_NONE;
  const Tensor *t = tens(g, x);
  if (same_shape(t, rank, dims)) return x;
  int64_t tn = ir_numel(t), want = 1;
  for (int i = 0; i < rank; i++)
    want *= dims[i];
  if (tn == want) return bw_reshape(g, fwd, x, rank, dims, d); /* only unit axes differ */
  uint32_t id = bw_start(g, fwd, OP_REDUCE_TO_SHAPE, &x, 1, 1, d);
  if (id == IR_NONE || !ir_set_attr_ints(g, id, "shape", dims, rank)) return IR_NONE;
  return bw_finish(g, id, d);
}

/* x summed down to the shape of tensor like. */
static uint32_t bw_reduce_like(Graph *g, uint32_t fwd, uint32_t x, uint32_t like, Diag *d) {
  const Tensor *l = tens(g, like);
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, l->dims, sizeof dims);
  return bw_reduce_to(g, fwd, x, l->rank, dims, d);
}

static uint32_t bw_expand(Graph *g, uint32_t fwd, uint32_t x, int rank, const int64_t *dims,
                          Diag *d) {
  if (x == IR_NONE || same_shape(tens(g, x), rank, dims)) return x;
  uint32_t shp = bw_ints(g, dims, rank, d);
  return shp == IR_NONE ? IR_NONE : bw_op2(g, fwd, OP_EXPAND, x, shp, d);
}

static uint32_t bw_transpose(Graph *g, uint32_t fwd, uint32_t x, const int64_t *perm, int r,
                             Diag *d) {
  uint32_t id = bw_start(g, fwd, OP_TRANSPOSE, &x, 1, 1, d);
  if (id == IR_NONE || !ir_set_attr_ints(g, id, "perm", perm, r)) return IR_NONE;
  return bw_finish(g, id, d);
}

/* Zeros of dtype dt and the given shape (a broadcast scalar). */
static uint32_t bw_zeros(Graph *g, uint32_t fwd, DataType dt, int rank, const int64_t *dims,
                         Diag *d) {
  uint32_t z = bw_scalar(g, dt, 0.0, d);
  return z == IR_NONE ? IR_NONE : bw_expand(g, fwd, z, rank, dims, d);
}

/* a * v for a scalar v (no node when v == 1). */
static uint32_t bw_scale(Graph *g, uint32_t fwd, uint32_t a, double v, Diag *d) {
  if (a == IR_NONE || v == 1.0) return a;
  uint32_t c = bw_scalar(g, tens(g, a)->dtype, v, d);
  return c == IR_NONE ? IR_NONE : bw_op2(g, fwd, OP_MUL, a, c, d);
}

/* Where(cond, a, 0) — a where cond holds, else zero. */
static uint32_t bw_mask(Graph *g, uint32_t fwd, uint32_t cond, uint32_t a, Diag *d) {
  if (cond == IR_NONE || a == IR_NONE) return IR_NONE;
  uint32_t z = bw_scalar(g, tens(g, a)->dtype, 0.0, d);
  if (z == IR_NONE) return IR_NONE;
  uint32_t in[3] = {cond, a, z};
  return bw_op(g, fwd, OP_WHERE, in, 3, d);
}

/* Copies attribute name of node from to node to (when present). */
static bool copy_attr(Graph *g, uint32_t from, uint32_t to, const char *name) {
  const Attr *a = ir_node_attr(g, from, name);
  if (!a) return true;
  switch (a->kind) {
  case ATTR_INT: return ir_set_attr_int(g, to, name, a->i);
  case ATTR_FLOAT: return ir_set_attr_float(g, to, name, a->f);
  case ATTR_STRING: return ir_set_attr_string(g, to, name, a->s);
  case ATTR_INTS: {
    Attr copy = *a; /* the array lives in the arena; setting may move the attr table */
    return ir_set_attr_ints(g, to, name, copy.ints, copy.n);
  }
  case ATTR_FLOATS: {
    Attr copy = *a;
    return ir_set_attr_floats(g, to, name, copy.floats, copy.n);
  }
  default: return true;
  }
}

static XdlStatus oom_or(Diag *d) {
  return diag_ok(d) ? diag_error(d, XDL_ERR_INTERNAL, "out of memory in a backward rule")
                    : d->status;
}

/* Input i of forward node n (IR_NONE when omitted). */
static uint32_t in_of(const Graph *g, uint32_t n, int i) {
  const Node *nd = &g->nodes[n];
  return i < nd->n_inputs ? nd->inputs[i] : IR_NONE;
}

static uint32_t out_of(const Graph *g, uint32_t n, int i) {
  const Node *nd = &g->nodes[n];
  return i < nd->n_outputs ? nd->outputs[i] : IR_NONE;
}

/* Gives forward node n an output at index idx (an optional output the rule needs, e.g.
 * Dropout's mask) shaped by the node's own shape rule; returns its tensor. */
static uint32_t ensure_output(Graph *g, uint32_t n, int idx, const char *suffix, Diag *d) {
  uint32_t have = out_of(g, n, idx);
  if (have != IR_NONE) return have;
  char base[520];
  snprintf(base, sizeof base, "%.400s%s", g->nodes[n].name, suffix);
  uint32_t t = ir_add_tensor_unique(g, base, DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
  if (t == IR_NONE) return IR_NONE;
  Node *nd = &g->nodes[n];
  int count = nd->n_outputs > idx + 1 ? nd->n_outputs : idx + 1;
  uint32_t *outs = arena_alloc(&g->arena, (size_t)count * sizeof *outs);
  if (!outs) {
    diag_error(d, XDL_ERR_INTERNAL, "out of memory");
    return IR_NONE;
  }
  for (int i = 0; i < count; i++)
    outs[i] = i < nd->n_outputs ? nd->outputs[i] : IR_NONE;
  outs[idx] = t;
  nd->outputs = outs;
  nd->n_outputs = count;
  g->tensors[t].producer = n;
  return ir_infer_node(g, n, d) == XDL_OK ? t : IR_NONE;
}

/* ---- the rule of ops that have none ---- */

/* Asking for a gradient through such an op is an error naming the node and op. */
XdlStatus bwd_none(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                   uint32_t *grad_in, Diag *d) {
  (void)grad_out;
  (void)need_in;
  (void)grad_in;
  return sh_fail(g, n, d, "no backward rule for this operator (training needs a gradient "
                          "through it)");
}

/* ---- convolutions ---- */

typedef struct ConvGeom {
  int nsp;
  int64_t kernel[IR_MAX_RANK], strides[IR_MAX_RANK], dilations[IR_MAX_RANK];
  int64_t pads[2 * IR_MAX_RANK]; /* explicit, ONNX order */
  int64_t group;
} ConvGeom;

static void read_ints_or(const Graph *g, uint32_t n, const char *name, int count, int64_t fill,
                         int64_t *out) {
  const Attr *a = ir_node_attr(g, n, name);
  for (int i = 0; i < count; i++)
    out[i] = a && a->kind == ATTR_INTS && a->n == count ? a->ints[i] : fill;
}

/* Window of node n (Conv, ConvTranspose, pooling) with auto_pad resolved to explicit pads,
 * given the spatial extents of the sliding side: `in` (the padded side, input of a Conv or
 * output of a ConvTranspose) and `out` (the windows). kernel: the weight's, or NULL to read
 * kernel_shape. transposed: the SAME_* split of ConvTranspose. */
static void conv_geom(const Graph *g, uint32_t n, int nsp, const int64_t *kernel,
                      const int64_t *in, const int64_t *out, bool transposed, ConvGeom *c) {
  memset(c, 0, sizeof *c);
  c->nsp = nsp;
  c->group = ir_attr_int(g, n, "group", 1);
  if (kernel)
    memcpy(c->kernel, kernel, (size_t)nsp * sizeof *kernel);
  else
    read_ints_or(g, n, "kernel_shape", nsp, 1, c->kernel);
  read_ints_or(g, n, "strides", nsp, 1, c->strides);
  read_ints_or(g, n, "dilations", nsp, 1, c->dilations);
  read_ints_or(g, n, "pads", 2 * nsp, 0, c->pads);
  const char *ap = ir_attr_string(g, n, "auto_pad", "NOTSET");
  bool has_oshape = transposed && ir_node_attr(g, n, "output_shape");
  if (strcmp(ap, "VALID") == 0) {
    memset(c->pads, 0, sizeof c->pads);
  } else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0 || has_oshape) {
    bool upper = strcmp(ap, "SAME_UPPER") == 0;
    for (int i = 0; i < nsp; i++) {
      int64_t ext = (c->kernel[i] - 1) * c->dilations[i] + 1;
      int64_t total = (out[i] - 1) * c->strides[i] + ext - in[i];
      if (total < 0) total = 0;
      /* Conv: SAME_UPPER puts the odd pixel at the end. ConvTranspose with output_shape
       * follows ONNX's text: SAME_UPPER starts with total/2, otherwise with the larger half. */
      int64_t begin = upper ? total / 2 : total - total / 2;
      c->pads[i] = begin;
      c->pads[nsp + i] = total - begin;
    }
  }
}

static bool set_geom(Graph *g, uint32_t id, const ConvGeom *c, bool with_kernel) {
  return (!with_kernel || ir_set_attr_ints(g, id, "kernel_shape", c->kernel, c->nsp)) &&
         ir_set_attr_ints(g, id, "strides", c->strides, c->nsp) &&
         ir_set_attr_ints(g, id, "pads", c->pads, 2 * c->nsp) &&
         ir_set_attr_ints(g, id, "dilations", c->dilations, c->nsp) &&
         ir_set_attr_int(g, id, "group", c->group);
}

/* Bias gradient of a [N, C, ...] output: dY summed over every axis but 1, as [C]. */
static uint32_t bias_grad(Graph *g, uint32_t n, uint32_t dy, Diag *d) {
  const Tensor *t = tens(g, dy);
  int64_t dims[IR_MAX_RANK], c = t->dims[1];
  int r = t->rank;
  for (int i = 0; i < r - 1; i++)
    dims[i] = i == 0 ? c : 1;
  uint32_t s = bw_reduce_to(g, n, dy, r - 1, dims, d);
  return bw_reshape(g, n, s, 1, &c, d);
}

/* Conv(X, W, B?) -> Y.  dX = ConvTranspose(dY, W) with the same strides, pads, dilations and
 * group and the output_padding that gives X's extent; dW = ConvGradWeight(X, dY);
 * dB = dY summed over batch and space. */
XdlStatus bwd_conv(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                   uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0), w = in_of(g, n, 1);
  if (dy == IR_NONE) return XDL_OK;
  const Tensor *xt = tens(g, x), *wt = tens(g, w), *yt = tens(g, out_of(g, n, 0));
  int nsp = xt->rank - 2;
  ConvGeom c;
  conv_geom(g, n, nsp, &wt->dims[2], &xt->dims[2], &yt->dims[2], false, &c);
  if (need_in[0]) {
    int64_t opad[IR_MAX_RANK];
    for (int i = 0; i < nsp; i++) {
      int64_t ext = (c.kernel[i] - 1) * c.dilations[i] + 1;
      opad[i] = xt->dims[2 + i] -
                ((yt->dims[2 + i] - 1) * c.strides[i] + ext - c.pads[i] - c.pads[nsp + i]);
      if (opad[i] < 0) return sh_fail(g, n, d, "cannot invert the convolution's geometry");
    }
    uint32_t in[2] = {dy, w};
    uint32_t id = bw_start(g, n, OP_CONV_TRANSPOSE, in, 2, 1, d);
    if (id == IR_NONE || !set_geom(g, id, &c, true) ||
        !ir_set_attr_ints(g, id, "output_padding", opad, nsp))
      return oom_or(d);
    if ((grad_in[0] = bw_finish(g, id, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[1]) {
    uint32_t in[2] = {x, dy};
    uint32_t id = bw_start(g, n, OP_CONV_GRAD_WEIGHT, in, 2, 1, d);
    if (id == IR_NONE || !set_geom(g, id, &c, true)) return oom_or(d);
    if ((grad_in[1] = bw_finish(g, id, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[2] && (grad_in[2] = bias_grad(g, n, dy, d)) == IR_NONE) return oom_or(d);
  return XDL_OK;
}

/* ConvTranspose(X, W, B?) -> Y.  dX = Conv(dY, W) with the same geometry (its output has X's
 * extent); dW = ConvGradWeight(dY, X) (the roles of image and gradient swap); dB as Conv's. */
XdlStatus bwd_conv_transpose(Graph *g, uint32_t n, const uint32_t *grad_out,
                             const bool *need_in, uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0), w = in_of(g, n, 1);
  if (dy == IR_NONE) return XDL_OK;
  const Tensor *xt = tens(g, x), *wt = tens(g, w), *yt = tens(g, out_of(g, n, 0));
  int nsp = xt->rank - 2;
  ConvGeom c;
  /* For the transposed op the padded side is Y (plus output_padding) and the windows are X. */
  int64_t in_ext[IR_MAX_RANK], opad[IR_MAX_RANK];
  read_ints_or(g, n, "output_padding", nsp, 0, opad);
  for (int i = 0; i < nsp; i++)
    in_ext[i] = yt->dims[2 + i] - opad[i];
  conv_geom(g, n, nsp, &wt->dims[2], in_ext, &xt->dims[2], true, &c);
  if (need_in[0]) {
    uint32_t in[2] = {dy, w};
    uint32_t id = bw_start(g, n, OP_CONV, in, 2, 1, d);
    if (id == IR_NONE || !set_geom(g, id, &c, true)) return oom_or(d);
    if ((grad_in[0] = bw_finish(g, id, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[1]) {
    uint32_t in[2] = {dy, x};
    uint32_t id = bw_start(g, n, OP_CONV_GRAD_WEIGHT, in, 2, 1, d);
    if (id == IR_NONE || !set_geom(g, id, &c, true)) return oom_or(d);
    if ((grad_in[1] = bw_finish(g, id, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[2] && (grad_in[2] = bias_grad(g, n, dy, d)) == IR_NONE) return oom_or(d);
  return XDL_OK;
}

/* ---- matrix products ---- */

static uint32_t gemm_node(Graph *g, uint32_t n, uint32_t a, uint32_t b, bool ta, bool tb,
                          double alpha, Diag *d) {
  uint32_t in[2] = {a, b};
  uint32_t id = bw_start(g, n, OP_GEMM, in, 2, 1, d);
  if (id == IR_NONE) return IR_NONE;
  if ((ta && !ir_set_attr_int(g, id, "transA", 1)) ||
      (tb && !ir_set_attr_int(g, id, "transB", 1)) ||
      (alpha != 1.0 && !ir_set_attr_float(g, id, "alpha", alpha)))
    return IR_NONE;
  return bw_finish(g, id, d);
}

/* Gemm(A, B, C?) -> Y = alpha op(A) op(B) + beta C. With dY [M, N]:
 *   d op(A) = alpha dY op(B)^T, d op(B) = alpha op(A)^T dY, each one Gemm with the
 *   transposes folded into transA/transB; dC = beta dY summed to C's shape. */
XdlStatus bwd_gemm(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                   uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], a = in_of(g, n, 0), b = in_of(g, n, 1);
  if (dy == IR_NONE) return XDL_OK;
  bool ta = ir_attr_int(g, n, "transA", 0) != 0, tb = ir_attr_int(g, n, "transB", 0) != 0;
  double alpha = ir_attr_float(g, n, "alpha", 1.0), beta = ir_attr_float(g, n, "beta", 1.0);
  if (need_in[0]) {
    /* A [M, K] = dY B'^T;  A^T given: dA [K, M] = op(B) dY^T. */
    grad_in[0] = !ta ? gemm_node(g, n, dy, b, false, !tb, alpha, d)
                     : gemm_node(g, n, b, dy, tb, true, alpha, d);
    if (grad_in[0] == IR_NONE) return oom_or(d);
  }
  if (need_in[1]) {
    /* B [K, N] = op(A)^T dY;  B^T given: dB [N, K] = dY^T op(A). */
    grad_in[1] = !tb ? gemm_node(g, n, a, dy, !ta, false, alpha, d)
                     : gemm_node(g, n, dy, a, true, ta, alpha, d);
    if (grad_in[1] == IR_NONE) return oom_or(d);
  }
  if (need_in[2]) {
    uint32_t s = bw_reduce_like(g, n, dy, in_of(g, n, 2), d);
    if ((grad_in[2] = bw_scale(g, n, s, beta, d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* MatMul(A, B) -> Y (numpy): dA = dY B^T and dB = A^T dY on the last two axes, each summed
 * over the batch axes its operand broadcast along; 1-D operands are viewed as [1, K] / [K, 1]. */
XdlStatus bwd_matmul(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                     uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], a = in_of(g, n, 0), b = in_of(g, n, 1);
  if (dy == IR_NONE) return XDL_OK;
  const Tensor *yt = tens(g, dy);
  Tensor at = *tens(g, a), bt = *tens(g, b); /* copies: the tensor table grows below */
  int64_t a2[IR_MAX_RANK], b2[IR_MAX_RANK], y2[IR_MAX_RANK];
  int ra = at.rank, rb = bt.rank, ry = yt->rank;
  memcpy(a2, at.dims, sizeof a2);
  memcpy(b2, bt.dims, sizeof b2);
  memcpy(y2, yt->dims, sizeof y2);
  if (ra == 1) { a2[0] = 1, a2[1] = at.dims[0], ra = 2; }
  if (rb == 1) { b2[1] = 1, rb = 2; }
  if (at.rank == 1 && bt.rank == 1) {
    ry = 2, y2[0] = 1, y2[1] = 1;
  } else if (at.rank == 1) { /* Y [..., N] -> [..., 1, N] */
    y2[ry] = y2[ry - 1], y2[ry - 1] = 1, ry++;
  } else if (bt.rank == 1) { /* Y [..., M] -> [..., M, 1] */
    y2[ry++] = 1;
  }
  uint32_t A = bw_reshape(g, n, a, ra, a2, d), B = bw_reshape(g, n, b, rb, b2, d);
  uint32_t DY = bw_reshape(g, n, dy, ry, y2, d);
  if (A == IR_NONE || B == IR_NONE || DY == IR_NONE) return oom_or(d);
  int64_t perm[IR_MAX_RANK];
  if (need_in[0]) {
    for (int i = 0; i < rb; i++)
      perm[i] = i < rb - 2 ? i : (i == rb - 2 ? rb - 1 : rb - 2);
    uint32_t bT = bw_transpose(g, n, B, perm, rb, d);
    uint32_t p = bw_op2(g, n, OP_MATMUL, DY, bT, d);
    uint32_t s = bw_reduce_to(g, n, p, ra, a2, d);
    if ((grad_in[0] = bw_reshape(g, n, s, at.rank, at.dims, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[1]) {
    for (int i = 0; i < ra; i++)
      perm[i] = i < ra - 2 ? i : (i == ra - 2 ? ra - 1 : ra - 2);
    uint32_t aT = bw_transpose(g, n, A, perm, ra, d);
    uint32_t p = bw_op2(g, n, OP_MATMUL, aT, DY, d);
    uint32_t s = bw_reduce_to(g, n, p, rb, b2, d);
    if ((grad_in[1] = bw_reshape(g, n, s, bt.rank, bt.dims, d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* Labels of one Einsum operand term in order (ellipsis axes as ids EIN_LETTERS + k, aligned
 * from the right like EinsumSpec's); returns the count or -1 for a term we cannot handle. */
static int ein_term(const char *t, size_t len, int rank, int ell_rank, int *labels) {
  int letters = 0;
  for (size_t i = 0; i < len; i++)
    if ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')) letters++;
  int cnt = 0, ell = rank - letters;
  for (size_t i = 0; i < len; i++) {
    char ch = t[i];
    if (ch == '.') {
      if (i + 2 >= len || t[i + 1] != '.' || t[i + 2] != '.') return -1;
      for (int k = 0; k < ell; k++)
        labels[cnt++] = EIN_LETTERS + ell_rank - ell + k;
      i += 2;
    } else if (ch >= 'a' && ch <= 'z') {
      labels[cnt++] = ch - 'a';
    } else if (ch >= 'A' && ch <= 'Z') {
      labels[cnt++] = 26 + ch - 'A';
    } else if (ch != ' ') {
      return -1;
    }
  }
  return cnt == rank ? cnt : -1;
}

/* The equation character of a label; ellipsis axes take letters no operand uses. */
static char ein_char(int l, const EinsumSpec *s) {
  if (l < 26) return (char)('a' + l);
  if (l < EIN_LETTERS) return (char)('A' + l - 26);
  int k = l - EIN_LETTERS, seen = 0;
  for (int c = 0; c < EIN_LETTERS; c++)
    if (!s->used[c] && seen++ == k) return c < 26 ? (char)('a' + c) : (char)('A' + c - 26);
  return '?';
}

static void ein_write(char *buf, size_t size, const int *labels, int n, const EinsumSpec *s) {
  size_t o = strlen(buf);
  for (int i = 0; i < n && o + 1 < size; i++)
    buf[o++] = ein_char(labels[i], s);
  buf[o] = 0;
}

/* Einsum(A, B) -> Y: dA = Einsum(dY, B) with A's labels as the output, and likewise dB, each
 * summed back to its operand's shape where it broadcast. A label only one operand sums over
 * (not in Y or the other operand) and repeated labels (diagonals) are not supported. */
XdlStatus bwd_einsum(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                     uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE) return XDL_OK;
  const Node *nd = &g->nodes[n];
  if (nd->n_inputs != 2) return sh_fail(g, n, d, "backward rule supports two operands only");
  const char *eq = ir_attr_string(g, n, "equation", "");
  int ranks[2];
  const int64_t *dims[2];
  for (int k = 0; k < 2; k++) {
    ranks[k] = tens(g, nd->inputs[k])->rank;
    dims[k] = tens(g, nd->inputs[k])->dims;
  }
  EinsumSpec s;
  char err[200];
  if (!einsum_parse(eq, 2, ranks, dims, &s, err, sizeof err)) return sh_fail(g, n, d, "%s", err);
  char lhs[256];
  snprintf(lhs, sizeof lhs, "%s", eq);
  char *arrow = strstr(lhs, "->");
  if (arrow) *arrow = 0;
  char *comma = strchr(lhs, ',');
  if (!comma) return sh_fail(g, n, d, "equation has one operand term");
  int lab[2][IR_MAX_RANK];
  if (ein_term(lhs, (size_t)(comma - lhs), ranks[0], s.ell_rank, lab[0]) < 0 ||
      ein_term(comma + 1, strlen(comma + 1), ranks[1], s.ell_rank, lab[1]) < 0)
    return sh_fail(g, n, d, "backward rule cannot read the equation '%s'", eq);
  for (int k = 0; k < 2; k++) {
    if (!need_in[k]) continue;
    int other = 1 - k;
    for (int i = 0; i < ranks[k]; i++) {
      for (int j = 0; j < i; j++)
        if (lab[k][i] == lab[k][j])
          return sh_fail(g, n, d, "no backward rule for a repeated label (diagonal)");
      if (!s.in_out[lab[k][i]] && !s.in_op[other][lab[k][i]])
        return sh_fail(g, n, d, "no backward rule for a label only operand %d sums over", k);
    }
    char geq[128] = "";
    ein_write(geq, sizeof geq, s.out_labels, s.out_rank, &s);
    strcat(geq, ",");
    ein_write(geq, sizeof geq, lab[other], ranks[other], &s);
    strcat(geq, "->");
    ein_write(geq, sizeof geq, lab[k], ranks[k], &s);
    uint32_t in[2] = {dy, nd->inputs[other]};
    uint32_t id = bw_start(g, n, OP_EINSUM, in, 2, 1, d);
    if (id == IR_NONE || !ir_set_attr_string(g, id, "equation", geq)) return oom_or(d);
    uint32_t p = bw_finish(g, id, d);
    nd = &g->nodes[n];
    if ((grad_in[k] = bw_reduce_like(g, n, p, nd->inputs[k], d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* ---- normalization and pooling ---- */

/* BatchNormalization, InstanceNormalization, LayerNormalization:
 * dX = NormalizationGrad(dY, X, scale[, mean, var]) — inference statistics (BatchNorm not in
 * training mode) are passed in, batch statistics are recomputed over the normalized axes;
 * dScale = NormalizationScaleGrad(dY, X[, mean, var]); dBias = dY summed to the bias' shape.
 * The statistics outputs of BatchNorm and LayerNorm carry no gradient. */
XdlStatus bwd_norm(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                   uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0), scale = in_of(g, n, 1);
  if (dy == IR_NONE) return XDL_OK;
  OpKind op = g->nodes[n].op;
  const Tensor *xt = tens(g, x);
  int r = xt->rank, n_axes = 0, scale_axis = 1;
  int64_t axes[IR_MAX_RANK];
  bool stats_in = false;
  double eps = ir_attr_float(g, n, "epsilon", 1e-5);
  if (op == OP_BATCH_NORM) {
    bool training = opset_of(g) >= 14 ? ir_attr_int(g, n, "training_mode", 0) != 0
                                      : out_of(g, n, 1) != IR_NONE;
    stats_in = !training;
    axes[n_axes++] = 0;
    for (int i = 2; i < r; i++)
      axes[n_axes++] = i;
  } else if (op == OP_INSTANCE_NORM) {
    for (int i = 2; i < r; i++)
      axes[n_axes++] = i;
  } else {
    int a;
    if (!sh_axis(ir_attr_int(g, n, "axis", -1), r, &a)) return sh_fail(g, n, d, "bad axis");
    for (int i = a; i < r; i++)
      axes[n_axes++] = i;
    scale_axis = r - tens(g, scale)->rank;
  }
  uint32_t mean = stats_in ? in_of(g, n, 3) : IR_NONE, var = stats_in ? in_of(g, n, 4) : IR_NONE;
  if (need_in[0]) {
    uint32_t in[5] = {dy, x, scale, mean, var};
    uint32_t id = bw_start(g, n, OP_NORM_GRAD, in, stats_in ? 5 : 3, 1, d);
    if (id == IR_NONE || !ir_set_attr_ints(g, id, "axes", axes, n_axes) ||
        !ir_set_attr_int(g, id, "scale_axis", scale_axis) ||
        !ir_set_attr_float(g, id, "epsilon", eps))
      return oom_or(d);
    if ((grad_in[0] = bw_finish(g, id, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[1]) {
    const Tensor *st = tens(g, scale);
    int64_t sdims[IR_MAX_RANK];
    int srank = st->rank;
    memcpy(sdims, st->dims, sizeof sdims);
    uint32_t in[4] = {dy, x, mean, var};
    uint32_t id = bw_start(g, n, OP_NORM_SCALE_GRAD, in, stats_in ? 4 : 2, 1, d);
    if (id == IR_NONE || !ir_set_attr_ints(g, id, "axes", axes, n_axes) ||
        !ir_set_attr_int(g, id, "scale_axis", scale_axis) ||
        !ir_set_attr_float(g, id, "epsilon", eps) ||
        !ir_set_attr_ints(g, id, "shape", sdims, srank))
      return oom_or(d);
    if ((grad_in[1] = bw_finish(g, id, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[2]) {
    grad_in[2] = op == OP_LAYER_NORM ? bw_reduce_like(g, n, dy, in_of(g, n, 2), d)
                                     : bias_grad(g, n, dy, d);
    if (grad_in[2] == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* MaxPool(X) -> Y: dX = MaxPoolGrad(dY, X) (dY routed to each window's maximum). The Indices
 * output carries no gradient. */
XdlStatus bwd_max_pool(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                       uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  const Tensor *xt = tens(g, x), *yt = tens(g, out_of(g, n, 0));
  ConvGeom c;
  conv_geom(g, n, xt->rank - 2, NULL, &xt->dims[2], &yt->dims[2], false, &c);
  uint32_t in[2] = {dy, x};
  uint32_t id = bw_start(g, n, OP_MAX_POOL_GRAD, in, 2, 1, d);
  if (id == IR_NONE || !ir_set_attr_ints(g, id, "kernel_shape", c.kernel, c.nsp) ||
      !ir_set_attr_ints(g, id, "strides", c.strides, c.nsp) ||
      !ir_set_attr_ints(g, id, "pads", c.pads, 2 * c.nsp) ||
      !ir_set_attr_ints(g, id, "dilations", c.dilations, c.nsp))
    return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* AveragePool(X) -> Y: dX = AveragePoolGrad(dY) (each dY spread evenly over its window). */
XdlStatus bwd_average_pool(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                           uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  const Tensor *xt = tens(g, x), *yt = tens(g, out_of(g, n, 0));
  ConvGeom c;
  conv_geom(g, n, xt->rank - 2, NULL, &xt->dims[2], &yt->dims[2], false, &c);
  int64_t xdims[IR_MAX_RANK];
  int xr = xt->rank;
  memcpy(xdims, xt->dims, sizeof xdims);
  uint32_t id = bw_start(g, n, OP_AVERAGE_POOL_GRAD, &dy, 1, 1, d);
  if (id == IR_NONE || !ir_set_attr_ints(g, id, "kernel_shape", c.kernel, c.nsp) ||
      !ir_set_attr_ints(g, id, "strides", c.strides, c.nsp) ||
      !ir_set_attr_ints(g, id, "pads", c.pads, 2 * c.nsp) ||
      !ir_set_attr_ints(g, id, "dilations", c.dilations, c.nsp) ||
      !ir_set_attr_int(g, id, "count_include_pad", ir_attr_int(g, n, "count_include_pad", 0)) ||
      !ir_set_attr_ints(g, id, "input_shape", xdims, xr))
    return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* GlobalAveragePool: dX = dY / (spatial size) broadcast over space. GlobalMaxPool: dX =
 * MaxPoolGrad(dY, X) with one window covering the whole space. */
XdlStatus bwd_global_pool(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                          uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  const Tensor *xt = tens(g, x);
  int64_t xdims[IR_MAX_RANK], sp = 1, ones[IR_MAX_RANK], zeros[2 * IR_MAX_RANK] = {0};
  int xr = xt->rank;
  memcpy(xdims, xt->dims, sizeof xdims);
  for (int i = 2; i < xr; i++) {
    sp *= xdims[i];
    ones[i - 2] = 1;
  }
  if (g->nodes[n].op == OP_GLOBAL_AVERAGE_POOL) {
    uint32_t s = bw_scale(g, n, dy, 1.0 / (double)(sp ? sp : 1), d);
    grad_in[0] = bw_expand(g, n, s, xr, xdims, d);
    return grad_in[0] == IR_NONE ? oom_or(d) : XDL_OK;
  }
  uint32_t in[2] = {dy, x};
  uint32_t id = bw_start(g, n, OP_MAX_POOL_GRAD, in, 2, 1, d);
  if (id == IR_NONE || !ir_set_attr_ints(g, id, "kernel_shape", &xdims[2], xr - 2) ||
      !ir_set_attr_ints(g, id, "strides", ones, xr - 2) ||
      !ir_set_attr_ints(g, id, "pads", zeros, 2 * (xr - 2)) ||
      !ir_set_attr_ints(g, id, "dilations", ones, xr - 2))
    return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* ---- elementwise ---- */

/* Unary activations and math: dX = UnaryGrad(dY, X?, Y?) {op, forward attributes}, reading
 * only the forward tensor the derivative needs (that one stays live for the backward pass);
 * Neg is Neg(dY). Clip's min and max are not differentiated. */
XdlStatus bwd_unary(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                    uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  OpKind op = g->nodes[n].op;
  if (op == OP_NEG)
    return (grad_in[0] = bw_op1(g, n, OP_NEG, dy, d)) == IR_NONE ? oom_or(d) : XDL_OK;
  bool use_x = false, use_y = false;
  switch (op) {
  case OP_RELU: case OP_ELU: case OP_SELU: case OP_SIGMOID: case OP_HARD_SIGMOID: case OP_TANH:
  case OP_SQRT: case OP_EXP: case OP_RECIPROCAL:
    use_y = true;
    break;
  case OP_CLIP: use_x = use_y = true; break;
  default: use_x = true; break; /* LeakyRelu, HardSwish, Softplus, Erf, Log, Abs */
  }
  uint32_t in[3] = {dy, use_x ? in_of(g, n, 0) : IR_NONE, use_y ? out_of(g, n, 0) : IR_NONE};
  int n_in = use_y ? 3 : 2;
  uint32_t id = bw_start(g, n, OP_UNARY_GRAD, in, n_in, 1, d);
  if (id == IR_NONE || !ir_set_attr_string(g, id, "op", ir_ops[op].name) ||
      !copy_attr(g, n, id, "alpha") || !copy_attr(g, n, id, "beta") ||
      !copy_attr(g, n, id, "gamma"))
    return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Cast: the gradient is cast back to the input's (float) type. */
XdlStatus bwd_cast(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                   uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  if (tens(g, x)->dtype == tens(g, dy)->dtype) {
    grad_in[0] = dy;
    return XDL_OK;
  }
  uint32_t id = bw_start(g, n, OP_CAST, &dy, 1, 1, d);
  if (id == IR_NONE || !ir_set_attr_int(g, id, "to", tens(g, x)->dtype)) return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Add, Sub: dA = dY, dB = +-dY, each summed over the axes its operand was broadcast along. */
XdlStatus bwd_add_sub(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                      uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE) return XDL_OK;
  for (int i = 0; i < 2; i++) {
    if (!need_in[i]) continue;
    uint32_t s = bw_reduce_like(g, n, dy, in_of(g, n, i), d);
    if (i == 1 && g->nodes[n].op == OP_SUB) s = bw_op1(g, n, OP_NEG, s, d);
    if ((grad_in[i] = s) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* Mul: dA = dY * B, dB = dY * A (each summed to its operand's shape). */
XdlStatus bwd_mul(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                  uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE) return XDL_OK;
  for (int i = 0; i < 2; i++) {
    if (!need_in[i]) continue;
    uint32_t p = bw_op2(g, n, OP_MUL, dy, in_of(g, n, 1 - i), d);
    if ((grad_in[i] = bw_reduce_like(g, n, p, in_of(g, n, i), d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* Div: Y = A / B; dA = dY / B, dB = -dY * Y / B. */
XdlStatus bwd_div(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                  uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], a = in_of(g, n, 0), b = in_of(g, n, 1), y = out_of(g, n, 0);
  if (dy == IR_NONE) return XDL_OK;
  uint32_t q = bw_op2(g, n, OP_DIV, dy, b, d);
  if (need_in[0] && (grad_in[0] = bw_reduce_like(g, n, q, a, d)) == IR_NONE) return oom_or(d);
  if (need_in[1]) {
    uint32_t p = bw_op1(g, n, OP_NEG, bw_op2(g, n, OP_MUL, q, y, d), d);
    if ((grad_in[1] = bw_reduce_like(g, n, p, b, d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* Pow: Y = A ^ B; dA = dY * B * A ^ (B - 1), dB = dY * Y * ln A. */
XdlStatus bwd_pow(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                  uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], a = in_of(g, n, 0), b = in_of(g, n, 1), y = out_of(g, n, 0);
  if (dy == IR_NONE) return XDL_OK;
  if (need_in[0]) {
    uint32_t one = bw_scalar(g, tens(g, b)->dtype, 1.0, d);
    uint32_t pm1 = bw_op2(g, n, OP_POW, a, bw_op2(g, n, OP_SUB, b, one, d), d);
    uint32_t p = bw_op2(g, n, OP_MUL, dy, bw_op2(g, n, OP_MUL, pm1, b, d), d);
    if ((grad_in[0] = bw_reduce_like(g, n, p, a, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[1]) {
    uint32_t p = bw_op2(g, n, OP_MUL, dy, bw_op2(g, n, OP_MUL, y, bw_op1(g, n, OP_LOG, a, d), d),
                        d);
    if ((grad_in[1] = bw_reduce_like(g, n, p, b, d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* PRelu: Y = X > 0 ? X : slope * X; dX = X > 0 ? dY : slope * dY,
 * dslope = (X > 0 ? 0 : dY * X) summed to slope's shape. */
XdlStatus bwd_prelu(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                    uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0), slope = in_of(g, n, 1);
  if (dy == IR_NONE) return XDL_OK;
  uint32_t zero = bw_scalar(g, tens(g, x)->dtype, 0.0, d);
  uint32_t pos = bw_op2(g, n, OP_GREATER, x, zero, d);
  if (need_in[0]) {
    uint32_t in[3] = {pos, dy, bw_op2(g, n, OP_MUL, dy, slope, d)};
    if (in[2] == IR_NONE) return oom_or(d);
    uint32_t w = bw_op(g, n, OP_WHERE, in, 3, d);
    if ((grad_in[0] = bw_reduce_like(g, n, w, x, d)) == IR_NONE) return oom_or(d);
  }
  if (need_in[1]) {
    uint32_t in[3] = {pos, zero, bw_op2(g, n, OP_MUL, dy, x, d)};
    if (in[2] == IR_NONE) return oom_or(d);
    uint32_t w = bw_op(g, n, OP_WHERE, in, 3, d);
    if ((grad_in[1] = bw_reduce_like(g, n, w, slope, d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* Min, Max (variadic): each input gets dY where it equals the result (ties share nothing:
 * every tied input receives the full gradient). */
XdlStatus bwd_min_max(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                      uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], y = out_of(g, n, 0);
  if (dy == IR_NONE) return XDL_OK;
  for (int i = 0; i < g->nodes[n].n_inputs; i++) {
    if (!need_in[i]) continue;
    uint32_t x = in_of(g, n, i);
    uint32_t m = bw_mask(g, n, bw_op2(g, n, OP_EQUAL, x, y, d), dy, d);
    if ((grad_in[i] = bw_reduce_like(g, n, m, x, d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* Sum, Mean (variadic): every input gets dY (divided by the count for Mean). */
XdlStatus bwd_sum_mean(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                       uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE) return XDL_OK;
  int count = g->nodes[n].n_inputs;
  if (g->nodes[n].op == OP_MEAN && (dy = bw_scale(g, n, dy, 1.0 / count, d)) == IR_NONE)
    return oom_or(d);
  for (int i = 0; i < count; i++)
    if (need_in[i] && (grad_in[i] = bw_reduce_like(g, n, dy, in_of(g, n, i), d)) == IR_NONE)
      return oom_or(d);
  return XDL_OK;
}

/* Where(cond, A, B): dA = where(cond, dY, 0), dB = where(cond, 0, dY), summed to shape. */
XdlStatus bwd_where(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                    uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], cond = in_of(g, n, 0);
  if (dy == IR_NONE) return XDL_OK;
  for (int i = 1; i < 3; i++) {
    if (!need_in[i]) continue;
    uint32_t z = bw_scalar(g, tens(g, dy)->dtype, 0.0, d);
    uint32_t in[3] = {cond, i == 1 ? dy : z, i == 1 ? z : dy};
    if (z == IR_NONE) return oom_or(d);
    uint32_t w = bw_op(g, n, OP_WHERE, in, 3, d);
    if ((grad_in[i] = bw_reduce_like(g, n, w, in_of(g, n, i), d)) == IR_NONE) return oom_or(d);
  }
  return XDL_OK;
}

/* ---- softmax and reductions ---- */

/* Softmax, LogSoftmax: dX = SoftmaxGrad / LogSoftmaxGrad(dY, Y) {axis, coerced}. */
XdlStatus bwd_softmax(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                      uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], y = out_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  bool coerced = opset_of(g) < 13;
  int r = tens(g, y)->rank, ax;
  int64_t a = ir_attr_int(g, n, "axis", coerced ? 1 : -1);
  if (!sh_axis(a, r, &ax)) ax = r; /* coerced at the end: every row has one element */
  uint32_t in[2] = {dy, y};
  OpKind op = g->nodes[n].op == OP_SOFTMAX ? OP_SOFTMAX_GRAD : OP_LOG_SOFTMAX_GRAD;
  uint32_t id = bw_start(g, n, op, in, 2, 1, d);
  if (id == IR_NONE || !ir_set_attr_int(g, id, "axis", ax) ||
      !ir_set_attr_int(g, id, "coerced", coerced))
    return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Reduce*: dY is reshaped to keep the reduced axes as 1 (dYk, Yk), then
 *   Sum dX = expand(dYk)   Mean dX = expand(dYk / count)   Max, Min dX = where(X == Yk, dYk, 0)
 *   L2 dX = X * dYk / Yk    SumSquare dX = 2 X dYk          Prod dX = dYk * Yk / X. */
XdlStatus bwd_reduce(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                     uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0), y = out_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  OpKind op = g->nodes[n].op;
  const Tensor *xt = tens(g, x);
  int r = xt->rank, count = 0;
  int64_t axes[IR_MAX_RANK], xdims[IR_MAX_RANK], kdims[IR_MAX_RANK];
  memcpy(xdims, xt->dims, sizeof xdims);
  bool axes_input = opset_of(g) >= 18 || (op == OP_REDUCE_SUM && opset_of(g) >= 13);
  const Tensor *ai = axes_input ? sh_in(g, n, 1) : NULL;
  if (!(ai && ir_numel(ai) == 0 && !ir_node_attr(g, n, "axes")) &&
      sh_int_list(g, n, "axes", axes_input ? 1 : -1, axes, &count, IR_MAX_RANK, d) < 0)
    return d->status;
  if (count == 0 && ir_attr_int(g, n, "noop_with_empty_axes", 0) != 0) {
    grad_in[0] = dy;
    return XDL_OK;
  }
  bool red[IR_MAX_RANK] = {false};
  for (int i = 0; i < count; i++) {
    int a;
    if (sh_axis(axes[i], r, &a)) red[a] = true;
  }
  int64_t cnt = 1;
  for (int i = 0; i < r; i++) {
    if (count == 0) red[i] = true;
    kdims[i] = red[i] ? 1 : xdims[i];
    if (red[i]) cnt *= xdims[i];
  }
  uint32_t dyk = bw_reshape(g, n, dy, r, kdims, d), res;
  if (dyk == IR_NONE) return oom_or(d);
  switch (op) {
  case OP_REDUCE_SUM: res = bw_expand(g, n, dyk, r, xdims, d); break;
  case OP_REDUCE_MEAN:
    res = bw_expand(g, n, bw_scale(g, n, dyk, 1.0 / (double)(cnt ? cnt : 1), d), r, xdims, d);
    break;
  case OP_REDUCE_SUM_SQUARE: res = bw_op2(g, n, OP_MUL, x, bw_scale(g, n, dyk, 2.0, d), d); break;
  default: {
    uint32_t yk = bw_reshape(g, n, y, r, kdims, d);
    if (op == OP_REDUCE_L2)
      res = bw_op2(g, n, OP_MUL, x, bw_op2(g, n, OP_DIV, dyk, yk, d), d);
    else if (op == OP_REDUCE_PROD)
      res = bw_op2(g, n, OP_MUL, dyk, bw_op2(g, n, OP_DIV, yk, x, d), d);
    else
      res = bw_expand(g, n, bw_mask(g, n, bw_op2(g, n, OP_EQUAL, x, yk, d), dyk, d), r, xdims,
                      d);
    break;
  }
  }
  return (grad_in[0] = res) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* SoftmaxCrossEntropyLoss(scores, labels, weights?) -> loss, log_prob:
 * dscores = SoftmaxCrossEntropyLossGrad(dloss, log_prob, labels, weights?). */
XdlStatus bwd_sce_loss(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                       uint32_t *grad_in, Diag *d) {
  uint32_t dl = grad_out[0];
  if (dl == IR_NONE || !need_in[0]) return XDL_OK;
  uint32_t lp = ensure_output(g, n, 1, ".log_prob", d);
  if (lp == IR_NONE) return oom_or(d);
  uint32_t w = in_of(g, n, 2);
  uint32_t in[4] = {dl, lp, in_of(g, n, 1), w};
  uint32_t id = bw_start(g, n, OP_SOFTMAX_CE_LOSS_GRAD, in, w != IR_NONE ? 4 : 3, 1, d);
  if (id == IR_NONE || !copy_attr(g, n, id, "reduction") ||
      !copy_attr(g, n, id, "ignore_index"))
    return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* ---- data movement ---- */

/* Reshape, Flatten, Squeeze, Unsqueeze: dX = dY reshaped to X's shape. */
XdlStatus bwd_reshape(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                      uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  const Tensor *xt = tens(g, in_of(g, n, 0));
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, xt->dims, sizeof dims);
  return (grad_in[0] = bw_reshape(g, n, dy, xt->rank, dims, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Identity: the gradient passes through unchanged. */
XdlStatus bwd_identity(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                       uint32_t *grad_in, Diag *d) {
  (void)g, (void)n, (void)d;
  if (need_in[0]) grad_in[0] = grad_out[0];
  return XDL_OK;
}

/* Transpose(perm): dX = Transpose(dY, inverse perm). */
XdlStatus bwd_transpose(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                        uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  int r = tens(g, dy)->rank;
  int64_t perm[IR_MAX_RANK], inv[IR_MAX_RANK];
  read_ints_or(g, n, "perm", r, -1, perm);
  for (int i = 0; i < r; i++) {
    if (perm[i] < 0) perm[i] = r - 1 - i;
    inv[perm[i]] = i;
  }
  return (grad_in[0] = bw_transpose(g, n, dy, inv, r, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Split x along axis into parts of the given sizes. Returns the node id (its outputs are the
 * parts; every part is produced, used or not). */
static uint32_t bw_split(Graph *g, uint32_t fwd, uint32_t x, int axis, const int64_t *sizes,
                         int parts, Diag *d) {
  bool as_input = opset_of(g) >= 13;
  uint32_t in[2] = {x, as_input ? bw_ints(g, sizes, parts, d) : IR_NONE};
  if (as_input && in[1] == IR_NONE) return IR_NONE;
  uint32_t id = bw_start(g, fwd, OP_SPLIT, in, as_input ? 2 : 1, parts, d);
  if (id == IR_NONE || !ir_set_attr_int(g, id, "axis", axis) ||
      (!as_input && !ir_set_attr_ints(g, id, "split", sizes, parts)))
    return IR_NONE;
  return bw_finish(g, id, d) == IR_NONE ? IR_NONE : id;
}

/* Concat(axis): dY split back into the inputs' extents. */
XdlStatus bwd_concat(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                     uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE) return XDL_OK;
  int parts = g->nodes[n].n_inputs, r = tens(g, dy)->rank, axis;
  if (parts == 1) return bwd_identity(g, n, grad_out, need_in, grad_in, d);
  if (!sh_axis(ir_attr_int(g, n, "axis", 1), r, &axis)) return sh_fail(g, n, d, "bad axis");
  int64_t *sizes = xdl_malloc((size_t)parts * sizeof *sizes);
  XdlStatus st = XDL_OK;
  if (!sizes) return oom_or(d);
  for (int i = 0; i < parts; i++)
    sizes[i] = tens(g, in_of(g, n, i))->dims[axis];
  uint32_t id = bw_split(g, n, dy, axis, sizes, parts, d);
  if (id == IR_NONE) {
    st = oom_or(d);
    goto done;
  }
  for (int i = 0; i < parts; i++)
    if (need_in[i]) grad_in[i] = g->nodes[id].outputs[i];
done:
  xdl_free(sizes);
  return st;
}

/* Split: dX = Concat of the parts' gradients along axis (zeros for parts with none). */
XdlStatus bwd_split(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                    uint32_t *grad_in, Diag *d) {
  if (!need_in[0]) return XDL_OK;
  int parts = g->nodes[n].n_outputs, r = tens(g, in_of(g, n, 0))->rank, axis;
  if (!sh_axis(ir_attr_int(g, n, "axis", 0), r, &axis)) return sh_fail(g, n, d, "bad axis");
  uint32_t *ins = xdl_malloc((size_t)parts * sizeof *ins);
  if (!ins) return oom_or(d);
  XdlStatus st = XDL_OK;
  for (int i = 0; i < parts; i++) {
    ins[i] = grad_out[i];
    uint32_t o = out_of(g, n, i);
    if (ins[i] == IR_NONE && o != IR_NONE) {
      const Tensor *ot = tens(g, o);
      int64_t dims[IR_MAX_RANK];
      memcpy(dims, ot->dims, sizeof dims);
      ins[i] = bw_zeros(g, n, ot->dtype, ot->rank, dims, d);
      if (ins[i] == IR_NONE) {
        st = oom_or(d);
        goto done;
      }
    }
  }
  uint32_t id = bw_start(g, n, OP_CONCAT, ins, parts, 1, d);
  if (id == IR_NONE || !ir_set_attr_int(g, id, "axis", axis) ||
      (grad_in[0] = bw_finish(g, id, d)) == IR_NONE)
    st = oom_or(d);
done:
  xdl_free(ins);
  return st;
}

/* Pads x with zeros: before[i] / after[i] elements on axis i. */
static uint32_t bw_pad(Graph *g, uint32_t fwd, uint32_t x, const int64_t *before,
                       const int64_t *after, Diag *d) {
  int r = tens(g, x)->rank;
  int64_t pads[2 * IR_MAX_RANK];
  for (int i = 0; i < r; i++) {
    pads[i] = before[i];
    pads[r + i] = after[i];
  }
  if (opset_of(g) >= 11) {
    uint32_t p = bw_ints(g, pads, 2 * r, d);
    return p == IR_NONE ? IR_NONE : bw_op2(g, fwd, OP_PAD, x, p, d);
  }
  uint32_t id = bw_start(g, fwd, OP_PAD, &x, 1, 1, d);
  if (id == IR_NONE || !ir_set_attr_ints(g, id, "pads", pads, 2 * r)) return IR_NONE;
  return bw_finish(g, id, d);
}

/* Slice: with unit steps dX = dY padded with zeros back to X's extent; with any other step
 * dX = SliceGrad(dY) {shape, starts, steps}, starts resolved to the first index taken on each
 * axis as ONNX clamps it (as shape_slice does), so the internal op needs no clamping rules. */
XdlStatus bwd_slice(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                    uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  const Tensor *xt = tens(g, x), *yt = tens(g, dy);
  int r = xt->rank, ns = 0, ne = 0, na = 0, nst = 0;
  int64_t st_[IR_MAX_RANK], en[IR_MAX_RANK], ax[IR_MAX_RANK], sp[IR_MAX_RANK];
  if (sh_int_list(g, n, "starts", 1, st_, &ns, IR_MAX_RANK, d) < 0 ||
      sh_int_list(g, n, "ends", 2, en, &ne, IR_MAX_RANK, d) < 0 ||
      sh_int_list(g, n, "axes", 3, ax, &na, IR_MAX_RANK, d) < 0 ||
      sh_int_list(g, n, NULL, 4, sp, &nst, IR_MAX_RANK, d) < 0)
    return d->status;
  int64_t first[IR_MAX_RANK], step[IR_MAX_RANK], xdims[IR_MAX_RANK];
  bool unit = true;
  memcpy(xdims, xt->dims, sizeof xdims);
  for (int a = 0; a < r; a++) {
    first[a] = 0;
    step[a] = 1;
  }
  for (int i = 0; i < ns; i++) {
    int a = i;
    if (na && !sh_axis(ax[i], r, &a)) return sh_fail(g, n, d, "bad axis");
    int64_t dim = xdims[a], s = st_[i], stp = nst ? sp[i] : 1;
    if (stp == 0) return sh_fail(g, n, d, "step %d is 0", i);
    if (s < 0) s += dim;
    if (stp > 0) s = s < 0 ? 0 : s > dim ? dim : s;
    else s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
    first[a] = s;
    step[a] = stp;
    unit = unit && stp == 1;
  }
  if (!unit) {
    uint32_t id = bw_start(g, n, OP_SLICE_GRAD, &dy, 1, 1, d);
    if (id == IR_NONE || !ir_set_attr_ints(g, id, "shape", xdims, r) ||
        !ir_set_attr_ints(g, id, "starts", first, r) ||
        !ir_set_attr_ints(g, id, "steps", step, r))
      return oom_or(d);
    return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
  }
  int64_t after[IR_MAX_RANK];
  for (int a = 0; a < r; a++)
    after[a] = xdims[a] - first[a] - yt->dims[a];
  return (grad_in[0] = bw_pad(g, n, dy, first, after, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Pad: in constant mode with non-negative pads dX = the slice of dY that X occupies; in
 * reflect, edge and wrap modes, or with negative (cropping) pads, dX = PadGrad(dY) {shape,
 * pads, mode}, pads widened to two entries per axis, which sums every dY element back onto
 * the X element it was copied from. */
XdlStatus bwd_pad(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                  uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  char mode[16]; /* copied: the attribute store may move while nodes are added */
  snprintf(mode, sizeof mode, "%s", ir_attr_string(g, n, "mode", "constant"));
  const Tensor *xt = tens(g, x);
  int r = xt->rank, np = 0, na = 0;
  int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
  const char *pname = ir_node_attr(g, n, "paddings") ? "paddings" : "pads";
  if (sh_int_list(g, n, pname, 1, pads, &np, 2 * IR_MAX_RANK, d) < 0 ||
      sh_int_list(g, n, NULL, 3, axes, &na, IR_MAX_RANK, d) < 0)
    return d->status;
  if (na == 0)
    for (na = 0; na < r; na++)
      axes[na] = na;
  if (np != 2 * na) return sh_fail(g, n, d, "'pads' has %d entries for %d axes", np, na);
  int64_t starts[IR_MAX_RANK] = {0}, ends[IR_MAX_RANK], all[IR_MAX_RANK], xdims[IR_MAX_RANK];
  int64_t full[2 * IR_MAX_RANK] = {0};
  bool cropping = false;
  memcpy(xdims, xt->dims, sizeof xdims);
  for (int i = 0; i < r; i++) {
    ends[i] = xdims[i];
    all[i] = i;
  }
  for (int i = 0; i < na; i++) {
    int a;
    if (!sh_axis(axes[i], r, &a)) return sh_fail(g, n, d, "bad axis");
    cropping = cropping || pads[i] < 0 || pads[i + na] < 0;
    full[a] = pads[i];
    full[r + a] = pads[i + na];
    starts[a] = pads[i];
    ends[a] = pads[i] + xdims[a];
  }
  if (cropping || strcmp(mode, "constant") != 0) {
    uint32_t id = bw_start(g, n, OP_PAD_GRAD, &dy, 1, 1, d);
    if (id == IR_NONE || !ir_set_attr_ints(g, id, "shape", xdims, r) ||
        !ir_set_attr_ints(g, id, "pads", full, 2 * r) || !ir_set_attr_string(g, id, "mode", mode))
      return oom_or(d);
    return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
  }
  uint32_t res;
  if (opset_of(g) >= 10) {
    uint32_t in[4] = {dy, bw_ints(g, starts, r, d), bw_ints(g, ends, r, d), bw_ints(g, all, r, d)};
    if (in[1] == IR_NONE || in[2] == IR_NONE || in[3] == IR_NONE) return oom_or(d);
    res = bw_op(g, n, OP_SLICE, in, 4, d);
  } else {
    uint32_t id = bw_start(g, n, OP_SLICE, &dy, 1, 1, d);
    if (id == IR_NONE || !ir_set_attr_ints(g, id, "starts", starts, r) ||
        !ir_set_attr_ints(g, id, "ends", ends, r) || !ir_set_attr_ints(g, id, "axes", all, r))
      return oom_or(d);
    res = bw_finish(g, id, d);
  }
  return (grad_in[0] = res) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Gather, GatherElements: dX = GatherGrad(dY, indices) (scatter-add into zeros of X). */
XdlStatus bwd_gather(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                     uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  const Tensor *xt = tens(g, x);
  int64_t dims[IR_MAX_RANK];
  int r = xt->rank, axis;
  memcpy(dims, xt->dims, sizeof dims);
  if (!sh_axis(ir_attr_int(g, n, "axis", 0), r, &axis)) return sh_fail(g, n, d, "bad axis");
  uint32_t in[2] = {dy, in_of(g, n, 1)};
  uint32_t id = bw_start(g, n, OP_GATHER_GRAD, in, 2, 1, d);
  if (id == IR_NONE || !ir_set_attr_int(g, id, "axis", axis) ||
      !ir_set_attr_ints(g, id, "shape", dims, r) ||
      !ir_set_attr_int(g, id, "elements", g->nodes[n].op == OP_GATHER_ELEMENTS))
    return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Expand: dX = dY summed over the broadcast axes. */
XdlStatus bwd_expand(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                     uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  grad_in[0] = bw_reduce_like(g, n, dy, in_of(g, n, 0), d);
  return grad_in[0] == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Tile: dY [r0*d0, r1*d1, ...] viewed as [r0, d0, r1, d1, ...], summed over the repeats. */
XdlStatus bwd_tile(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                   uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0], x = in_of(g, n, 0);
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  const Tensor *xt = tens(g, x), *yt = tens(g, dy);
  int r = xt->rank;
  if (2 * r > IR_MAX_RANK)
    return sh_fail(g, n, d, "no backward rule above rank %d", IR_MAX_RANK / 2);
  int64_t split[IR_MAX_RANK], keep[IR_MAX_RANK], xdims[IR_MAX_RANK];
  memcpy(xdims, xt->dims, sizeof xdims);
  for (int i = 0; i < r; i++) {
    split[2 * i] = xdims[i] ? yt->dims[i] / xdims[i] : 0;
    split[2 * i + 1] = xdims[i];
    keep[2 * i] = 1;
    keep[2 * i + 1] = xdims[i];
  }
  uint32_t v = bw_reshape(g, n, dy, 2 * r, split, d);
  uint32_t s = bw_reduce_to(g, n, v, 2 * r, keep, d);
  return (grad_in[0] = bw_reshape(g, n, s, r, xdims, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* Dropout: dX = DropoutGrad(dY, mask) {ratio} in training mode (the mask output is added to
 * the forward node when the model omits it); the identity otherwise. */
XdlStatus bwd_dropout(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                      uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  double ratio = ir_attr_float(g, n, "ratio", 0.5);
  bool training = false;
  const Tensor *rt = sh_in(g, n, 1), *tm = sh_in(g, n, 2);
  if (rt && fold_known(rt)) ratio = fold_f(rt, 0);
  if (opset_of(g) >= 12)
    training = tm && (!fold_known(tm) || fold_i(tm, 0) != 0);
  else /* no training flag: a model that lists the mask trains with it */
    training = out_of(g, n, 1) != IR_NONE;
  if (!training || ratio == 0.0) {
    grad_in[0] = dy;
    return XDL_OK;
  }
  uint32_t mask = ensure_output(g, n, 1, ".mask", d);
  if (mask == IR_NONE) return oom_or(d);
  uint32_t in[2] = {dy, mask};
  uint32_t id = bw_start(g, n, OP_DROPOUT_GRAD, in, 2, 1, d);
  if (id == IR_NONE || !ir_set_attr_float(g, id, "ratio", ratio)) return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}

/* DepthToSpace (DCR) and SpaceToDepth invert each other. */
XdlStatus bwd_depth_space(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                          uint32_t *grad_in, Diag *d) {
  uint32_t dy = grad_out[0];
  if (dy == IR_NONE || !need_in[0]) return XDL_OK;
  bool d2s = g->nodes[n].op == OP_DEPTH_TO_SPACE;
  if (d2s && strcmp(ir_attr_string(g, n, "mode", "DCR"), "DCR") != 0)
    return sh_fail(g, n, d, "no backward rule for mode CRD");
  uint32_t id = bw_start(g, n, d2s ? OP_SPACE_TO_DEPTH : OP_DEPTH_TO_SPACE, &dy, 1, 1, d);
  if (id == IR_NONE || !copy_attr(g, n, id, "blocksize")) return oom_or(d);
  return (grad_in[0] = bw_finish(g, id, d)) == IR_NONE ? oom_or(d) : XDL_OK;
}
