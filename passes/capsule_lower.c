/* capsule_lower.c — capsule networks in primitives, every node tagged with its capsule role.
 *
 * Requires: a shape-inferred graph after canonicalize (constants folded to ROLE_CONST tensors).
 * Does: (1) expands the compact ops of domain ai.xploredl (PrimaryCaps, ConvCaps, ClassCaps,
 * Squash) into Conv, Reshape/Transpose/Unsqueeze views, the votes MatMul and, per routing
 * iteration, Softmax, weighted sum (Einsum), squash (Pow, ReduceSum, Add, Div, Mul, Sqrt) and
 * agreement (Einsum + Add); the agreement after the last iteration is never used, so never
 * emitted. (2) Recognises routing that an exporter already unrolled (by graph structure, never
 * by names) and rewrites each routing Mul → ReduceSum pair into one Einsum contraction, whose
 * GEMM view is the oracle's `mulsum` view. (3) Tags primary, votes, routing[k].softmax|sum|
 * squash|agree, class and decoder nodes (Node.caps_role, caps_iter).
 * Invalidates: node ids (nodes are inserted and removed); tensor ids stay valid. */
#include <stdio.h>
#include <string.h>

#include "passes/passes.h"

/* ==========================================================================================
 * Shared helpers
 * ========================================================================================== */

static bool is_view(OpKind op) {
  return op == OP_RESHAPE || op == OP_SQUEEZE || op == OP_UNSQUEEZE || op == OP_FLATTEN ||
         op == OP_TRANSPOSE || op == OP_IDENTITY;
}

static uint32_t producer(const Graph *g, uint32_t t) {
  return t == IR_NONE ? IR_NONE : g->tensors[t].producer;
}

/* The tensor a chain of views over t reads from (t itself when its producer is no view). */
static uint32_t view_root(const Graph *g, uint32_t t) {
  for (uint32_t p = producer(g, t); p != IR_NONE && is_view(g->nodes[p].op) &&
                                    g->nodes[p].n_inputs > 0;
       p = producer(g, t))
    t = g->nodes[p].inputs[0];
  return t;
}

/* A value fixed before the run: absent, weight, constant, folded, or made by a constant op. */
static bool is_fixed(const Graph *g, uint32_t t) {
  if (t == IR_NONE) return true;
  const Tensor *ts = &g->tensors[t];
  if (ts->role != ROLE_ACTIVATION && ts->role != ROLE_INPUT) return true;
  if (ts->ivals || ts->fvals) return true;
  return ts->producer != IR_NONE && ir_ops[g->nodes[ts->producer].op].category == CAT_META;
}

static bool same_shape(const Tensor *a, const Tensor *b) {
  return a->rank == b->rank && memcmp(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims) == 0;
}

/* Tags node n unless it already has a role. */
static void tag(Graph *g, uint32_t n, CapsRole role, int iter) {
  if (n == IR_NONE || g->nodes[n].caps_role != CAPS_NONE) return;
  g->nodes[n].caps_role = role;
  g->nodes[n].caps_iter = iter;
}

/* Tags the views between tensor t and its view root. */
static void tag_views_back(Graph *g, uint32_t t, CapsRole role, int iter) {
  for (uint32_t p = producer(g, t); p != IR_NONE && is_view(g->nodes[p].op) &&
                                    g->nodes[p].n_inputs > 0;
       p = producer(g, t)) {
    tag(g, p, role, iter);
    t = g->nodes[p].inputs[0];
  }
}

/* Consumers of every tensor (compressed rows), and how often each is read. */
typedef struct Uses {
  uint32_t *first; /* n_tensors + 1 offsets into node */
  uint32_t *node;  /* consumer node of each read, grouped by tensor */
} Uses;

static void uses_free(Uses *u) {
  xdl_free(u->first);
  xdl_free(u->node);
  memset(u, 0, sizeof *u);
}

static bool uses_build(const Graph *g, Uses *u) {
  memset(u, 0, sizeof *u);
  uint32_t reads = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++) reads += (uint32_t)g->nodes[n].n_inputs;
  u->first = xdl_calloc((size_t)g->n_tensors + 1, sizeof *u->first);
  u->node = xdl_malloc((reads ? reads : 1) * sizeof *u->node);
  if (!u->first || !u->node) {
    uses_free(u);
    return false;
  }
  for (uint32_t n = 0; n < g->n_nodes; n++)
    for (int i = 0; i < g->nodes[n].n_inputs; i++)
      if (g->nodes[n].inputs[i] != IR_NONE) u->first[g->nodes[n].inputs[i] + 1]++;
  for (uint32_t t = 0; t < g->n_tensors; t++) u->first[t + 1] += u->first[t];
  uint32_t *fill = xdl_calloc(g->n_tensors ? g->n_tensors : 1, sizeof *fill);
  if (!fill) {
    uses_free(u);
    return false;
  }
  for (uint32_t n = 0; n < g->n_nodes; n++)
    for (int i = 0; i < g->nodes[n].n_inputs; i++) {
      uint32_t t = g->nodes[n].inputs[i];
      if (t != IR_NONE) u->node[u->first[t] + fill[t]++] = n;
    }
  xdl_free(fill);
  return true;
}

static uint32_t use_count(const Uses *u, uint32_t t) { return u->first[t + 1] - u->first[t]; }

/* ==========================================================================================
 * (1) Lowering the compact ops
 * ========================================================================================== */

/* Emission state: nodes are appended to the graph and moved into place by reorder(). */
typedef struct Emit {
  Graph *g;
  Diag *d;
  const char *base;  /* the compact node's name: prefix of everything it becomes */
  const char *origin;
  CapsRole role;
  int iter;
  XdlStatus st;      /* first failure; later calls do nothing */
  uint32_t two, one, eps; /* shared scalar constants of the squash, IR_NONE until made */
} Emit;

static bool axes_as_input(const Graph *g) { return g->opset <= 0 || g->opset >= 13; }

static uint32_t em_tensor(Emit *e, const char *suffix) {
  if (e->st != XDL_OK) return IR_NONE;
  char name[512];
  snprintf(name, sizeof name, "%.400s/%.100s", e->base, suffix);
  uint32_t t = ir_add_tensor_unique(e->g, name, DT_FLOAT, ROLE_ACTIVATION, -1, NULL, e->d);
  if (t == IR_NONE) e->st = diag_ok(e->d) ? XDL_ERR_INTERNAL : e->d->status;
  return t;
}

/* A ROLE_CONST tensor with known values: integers (is_int) or floats, rank 0 or 1. */
static uint32_t em_const(Emit *e, const char *name, bool is_int, const int64_t *iv,
                         const double *fv, int count, int rank) {
  if (e->st != XDL_OK) return IR_NONE;
  int64_t dim = count;
  uint32_t t = ir_add_tensor_unique(e->g, name, is_int ? DT_INT64 : DT_FLOAT, ROLE_CONST, rank,
                                    &dim, e->d);
  if (t == IR_NONE || !(is_int ? ir_set_ivals(e->g, t, iv, count)
                               : ir_set_fvals(e->g, t, fv, count))) {
    e->st = XDL_ERR_INTERNAL;
    if (diag_ok(e->d)) diag_error(e->d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
    return IR_NONE;
  }
  return t;
}

static uint32_t em_ints(Emit *e, const char *suffix, const int64_t *v, int count) {
  char name[512];
  snprintf(name, sizeof name, "%.400s/%.100s", e->base, suffix);
  return em_const(e, name, true, v, NULL, count, 1);
}

static uint32_t em_scalar(Emit *e, uint32_t *cache, const char *name, double v) {
  if (*cache == IR_NONE) *cache = em_const(e, name, false, NULL, &v, 1, 0);
  return *cache;
}

/* Appends node op(in...) named base/suffix, tagged with the current role, writing out (a new
 * tensor when IR_NONE). Returns the node id; em_done infers its shape. */
static uint32_t em_begin(Emit *e, OpKind op, const char *suffix, const uint32_t *in, int n_in,
                         uint32_t *out) {
  if (e->st != XDL_OK) return IR_NONE;
  if (*out == IR_NONE && (*out = em_tensor(e, suffix)) == IR_NONE) return IR_NONE;
  for (int i = 0; i < n_in; i++)
    if (in[i] == IR_NONE) return IR_NONE; /* an earlier step failed (e->st is set) */
  char name[512];
  snprintf(name, sizeof name, "%.400s/%.100s", e->base, suffix);
  uint32_t n = ir_add_node(e->g, op, name, in, n_in, out, 1, e->d);
  if (n == IR_NONE) {
    e->st = XDL_ERR_INTERNAL;
    return IR_NONE;
  }
  Node *nd = &e->g->nodes[n];
  nd->origin = e->origin;
  nd->caps_role = e->role;
  nd->caps_iter = e->iter;
  nd->layout_only = op == OP_RESHAPE || op == OP_SQUEEZE || op == OP_UNSQUEEZE;
  return n;
}

static uint32_t em_done(Emit *e, uint32_t n) {
  if (e->st != XDL_OK || n == IR_NONE) return IR_NONE;
  if (ir_infer_node(e->g, n, e->d) != XDL_OK) {
    e->st = e->d->status;
    return IR_NONE;
  }
  return e->g->nodes[n].outputs[0];
}

static uint32_t em_op(Emit *e, OpKind op, const char *suffix, const uint32_t *in, int n_in,
                      uint32_t out) {
  return em_done(e, em_begin(e, op, suffix, in, n_in, &out));
}

static uint32_t em_unary(Emit *e, OpKind op, const char *suffix, uint32_t x, uint32_t out) {
  return em_op(e, op, suffix, &x, 1, out);
}

static uint32_t em_binary(Emit *e, OpKind op, const char *suffix, uint32_t a, uint32_t b,
                          uint32_t out) {
  uint32_t in[2] = {a, b};
  return em_op(e, op, suffix, in, 2, out);
}

/* Reshape(x) to dims. */
static uint32_t em_reshape(Emit *e, const char *suffix, uint32_t x, const int64_t *dims,
                           int rank, uint32_t out) {
  char cs[128];
  snprintf(cs, sizeof cs, "%s.shape", suffix);
  return em_binary(e, OP_RESHAPE, suffix, x, em_ints(e, cs, dims, rank), out);
}

/* An op with an axes list (ReduceSum, Unsqueeze, Squeeze): an input from opset 13, else an
 * attribute. keepdims < 0 leaves that attribute out. */
static uint32_t em_axes_op(Emit *e, OpKind op, const char *suffix, uint32_t x,
                           const int64_t *axes, int n_axes, int keepdims, uint32_t out) {
  bool as_input = axes_as_input(e->g);
  char cs[128];
  snprintf(cs, sizeof cs, "%s.axes", suffix);
  uint32_t in[2] = {x, as_input ? em_ints(e, cs, axes, n_axes) : IR_NONE};
  uint32_t n = em_begin(e, op, suffix, in, as_input ? 2 : 1, &out);
  if (n == IR_NONE) return IR_NONE;
  if ((!as_input && !ir_set_attr_ints(e->g, n, "axes", axes, n_axes)) ||
      (keepdims >= 0 && !ir_set_attr_int(e->g, n, "keepdims", keepdims)))
    e->st = diag_error(e->d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
  return em_done(e, n);
}

/* v = squash(s) along axis, as PyTorch CapsNets compute it:
 *   n2 = sum(s^2, axis);  v = s * (n2 / (1 + n2)) / sqrt(n2 + eps). */
static uint32_t em_squash(Emit *e, const char *pfx, uint32_t s, int axis, uint32_t out) {
  int64_t ax = axis;
  char nm[8][96];
  static const char *const step[8] = {"square", "norm2", "one_plus", "scale", "scaled",
                                      "norm2_eps", "norm", ""};
  for (int i = 0; i < 8; i++)
    snprintf(nm[i], sizeof nm[i], "%ssquash%s%s", pfx, *step[i] ? "." : "", step[i]);
  uint32_t two = em_scalar(e, &e->two, "caps.two", 2.0);
  uint32_t one = em_scalar(e, &e->one, "caps.one", 1.0);
  uint32_t eps = em_scalar(e, &e->eps, "caps.eps", 1e-8);
  uint32_t sq = em_binary(e, OP_POW, nm[0], s, two, IR_NONE);
  uint32_t n2 = em_axes_op(e, OP_REDUCE_SUM, nm[1], sq, &ax, 1, 1, IR_NONE);
  uint32_t den = em_binary(e, OP_ADD, nm[2], n2, one, IR_NONE);
  uint32_t scale = em_binary(e, OP_DIV, nm[3], n2, den, IR_NONE);
  uint32_t sv = em_binary(e, OP_MUL, nm[4], scale, s, IR_NONE);
  uint32_t ne = em_binary(e, OP_ADD, nm[5], n2, eps, IR_NONE);
  uint32_t nrm = em_unary(e, OP_SQRT, nm[6], ne, IR_NONE);
  return em_binary(e, OP_DIV, nm[7], sv, nrm, out);
}

/* Conv(x, w, b?) with a 2-D (or, for 3-D routing, a depth-strided 3-D) window. */
static uint32_t em_conv(Emit *e, const char *suffix, uint32_t x, uint32_t w, uint32_t b,
                        const CapsParams *p, int64_t depth) {
  uint32_t in[3] = {x, w, b}, out = IR_NONE;
  uint32_t n = em_begin(e, OP_CONV, suffix, in, b == IR_NONE ? 2 : 3, &out);
  if (n == IR_NONE) return IR_NONE;
  int64_t k[3], s[3], pads[6], dil[3] = {1, 1, 1};
  int r = depth ? 3 : 2, o = depth ? 1 : 0;
  if (depth) k[0] = s[0] = depth, pads[0] = pads[3] = 0;
  for (int i = 0; i < 2; i++) {
    k[o + i] = p->kernel[i];
    s[o + i] = p->strides[i];
    pads[o + i] = p->pads[i];
    pads[r + o + i] = p->pads[2 + i];
  }
  if (!ir_set_attr_ints(e->g, n, "dilations", dil, r) || !ir_set_attr_int(e->g, n, "group", 1) ||
      !ir_set_attr_ints(e->g, n, "kernel_shape", k, r) ||
      !ir_set_attr_ints(e->g, n, "pads", pads, 2 * r) ||
      !ir_set_attr_ints(e->g, n, "strides", s, r))
    e->st = diag_error(e->d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
  return em_done(e, n);
}

static uint32_t em_einsum(Emit *e, const char *suffix, uint32_t a, uint32_t b, const char *eq) {
  uint32_t in[2] = {a, b}, out = IR_NONE;
  uint32_t n = em_begin(e, OP_EINSUM, suffix, in, 2, &out);
  if (n != IR_NONE && !ir_set_attr_string(e->g, n, "equation", eq))
    e->st = diag_error(e->d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
  return em_done(e, n);
}

/* Dynamic routing (Sabour et al., procedure 1) over votes u whose axes carry the labels ul.
 * The logits b have labels bl (input capsules ... output capsule last, so Softmax over the last
 * axis is the same at every opset), the output capsules vl (vl minus bl = the capsule
 * dimension, which Squash reduces). iters >= 1 iterations; the last writes out. */
static uint32_t em_routing(Emit *e, uint32_t u, const char *ul, const char *bl, const char *vl,
                           int64_t iters, uint32_t out) {
  if (e->st != XDL_OK) return IR_NONE;
  const Tensor *ut = &e->g->tensors[u]; /* read before the tensor array grows */
  DataType dt = ut->dtype;
  int64_t bdims[IR_MAX_RANK], numel = 1;
  int brank = (int)strlen(bl), axis = 0;
  for (int i = 0; i < brank; i++) {
    bdims[i] = ut->dims[strchr(ul, bl[i]) - ul];
    numel *= bdims[i];
  }
  size_t n_bytes = (size_t)numel * (size_t)ir_dtype_bytes(dt);
  for (int i = 0; vl[i]; i++)
    if (!strchr(bl, vl[i])) axis = i;
  /* Logits start at zero: a constant with stored (zero) bytes, so interpreters can run it. */
  char name[512];
  snprintf(name, sizeof name, "%.400s/routing.logits0", e->base);
  uint32_t b = ir_add_tensor_unique(e->g, name, dt, ROLE_CONST, brank, bdims, e->d);
  void *zeros = b == IR_NONE ? NULL : arena_alloc(&e->g->arena, n_bytes + 1);
  if (!zeros) {
    e->st = diag_error(e->d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
    return IR_NONE;
  }
  e->g->tensors[b].data.bytes = zeros;
  e->g->tensors[b].data.n_bytes = n_bytes;
  char sum_eq[64], agree_eq[64], sfx[64];
  snprintf(sum_eq, sizeof sum_eq, "%s,%s->%s", bl, ul, vl);
  snprintf(agree_eq, sizeof agree_eq, "%s,%s->%s", ul, vl, bl);
  uint32_t v = IR_NONE;
  for (int k = 0; k < iters && e->st == XDL_OK; k++) {
    e->iter = k;
    e->role = CAPS_ROUTING_SOFTMAX;
    snprintf(sfx, sizeof sfx, "routing.%d.softmax", k);
    uint32_t sn = IR_NONE, c = IR_NONE;
    sn = em_begin(e, OP_SOFTMAX, sfx, &b, 1, &c);
    if (sn != IR_NONE && !ir_set_attr_int(e->g, sn, "axis", -1))
      e->st = diag_error(e->d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
    c = em_done(e, sn);
    e->role = CAPS_ROUTING_SUM;
    snprintf(sfx, sizeof sfx, "routing.%d.sum", k);
    uint32_t s = em_einsum(e, sfx, c, u, sum_eq);
    e->role = CAPS_ROUTING_SQUASH;
    snprintf(sfx, sizeof sfx, "routing.%d.", k);
    v = em_squash(e, sfx, s, axis, k + 1 == iters ? out : IR_NONE);
    if (k + 1 == iters) break;
    e->role = CAPS_ROUTING_AGREE;
    snprintf(sfx, sizeof sfx, "routing.%d.agree", k);
    uint32_t a = em_einsum(e, sfx, u, v, agree_eq);
    snprintf(sfx, sizeof sfx, "routing.%d.update", k);
    b = em_binary(e, OP_ADD, sfx, b, a, IR_NONE);
  }
  e->iter = -1;
  return v;
}

/* Emits the primitives of compact node n (already validated by its shape rule). */
static XdlStatus lower_node(Emit *e, uint32_t n) {
  Graph *g = e->g;
  CapsParams p;
  XdlStatus st = caps_params(g, n, &p, e->d);
  if (st != XDL_OK) return st;
  const Node *nd = &g->nodes[n];
  OpKind op = nd->op;
  uint32_t x = nd->inputs[0], w = nd->n_inputs > 1 ? nd->inputs[1] : IR_NONE;
  uint32_t bias = nd->n_inputs > 2 ? nd->inputs[2] : IR_NONE, out = nd->outputs[0];
  e->base = nd->name;
  e->origin = nd->origin;
  e->iter = -1;
  int64_t bn = g->tensors[x].dims[0];
  switch (op) {
  case OP_PRIMARY_CAPS: {
    /* Conv → [N, caps*dim, H', W'] → [N, caps, dim, H', W'] → [N, caps, H', W', dim] →
     * [N, caps*H'*W', dim] (the capsule order of PyTorch CapsNets) → squash. */
    e->role = CAPS_PRIMARY;
    int64_t h = p.out_hw[0], wd = p.out_hw[1];
    uint32_t y = em_conv(e, "conv", x, w, bias, &p, 0);
    int64_t d5[5] = {bn, p.num_caps, p.caps_dim, h, wd};
    uint32_t r5 = em_reshape(e, "split_capsules", y, d5, 5, IR_NONE);
    uint32_t tn = em_begin(e, OP_TRANSPOSE, "capsule_last", &r5, 1, &(uint32_t){IR_NONE});
    static const int64_t perm[5] = {0, 1, 3, 4, 2};
    if (tn != IR_NONE && !ir_set_attr_ints(g, tn, "perm", perm, 5))
      e->st = diag_error(e->d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
    uint32_t t = em_done(e, tn);
    int64_t d3[3] = {bn, p.num_caps * h * wd, p.caps_dim};
    if (!p.squash) {
      em_reshape(e, "capsules", t, d3, 3, out);
      break;
    }
    uint32_t caps = em_reshape(e, "capsules", t, d3, 3, IR_NONE);
    em_squash(e, "", caps, 2, out);
    break;
  }
  case OP_CONV_CAPS: {
    int64_t h = g->tensors[x].dims[3], wd = g->tensors[x].dims[4];
    int64_t oh = p.out_hw[0], ow = p.out_hw[1];
    e->role = CAPS_VOTES;
    if (!p.routing_3d) {
      /* DeepCaps Conv2DCaps: one convolution over all input capsule channels, then squash. */
      int64_t d4[4] = {bn, p.in_caps * p.in_dim, h, wd};
      uint32_t xr = em_reshape(e, "merge_capsules", x, d4, 4, IR_NONE);
      uint32_t y = em_conv(e, "conv", xr, w, bias, &p, 0);
      int64_t d5[5] = {bn, p.num_caps, p.caps_dim, oh, ow};
      uint32_t yr = em_reshape(e, "split_capsules", y, d5, 5, IR_NONE);
      e->role = CAPS_ROUTING_SQUASH;
      e->iter = 0;
      em_squash(e, "", yr, 2, out);
      e->iter = -1;
      break;
    }
    /* DeepCaps ConvCaps3D: a 3-D convolution with depth = stride = the input capsule dimension
     * turns each input capsule type into votes for every output capsule, with weights shared
     * across types: [N, 1, Cin*Din, H, W] → [N, Cout*Dout, Cin, H', W']; then routing over the
     * input types at each location. Labels: n batch, i/j input/output type, d dim, h w. */
    int64_t d5[5] = {bn, 1, p.in_caps * p.in_dim, h, wd};
    uint32_t xr = em_reshape(e, "merge_capsules", x, d5, 5, IR_NONE);
    uint32_t y = em_conv(e, "conv", xr, w, bias, &p, p.in_dim);
    int64_t d6[6] = {bn, p.num_caps, p.caps_dim, p.in_caps, oh, ow};
    uint32_t u = em_reshape(e, "votes", y, d6, 6, IR_NONE);
    em_routing(e, u, "njdihw", "nihwj", "njdhw", p.iters, out);
    break;
  }
  case OP_CLASS_CAPS: {
    /* u_hat[n,i,j,:] = W[i,j] u[n,i]: MatMul(W [i,j,d,k], u [n,i,1,k,1]) → [n,i,j,d,1]. */
    e->role = CAPS_VOTES;
    static const int64_t ax[2] = {2, 4}, last[1] = {4};
    uint32_t u5 = em_axes_op(e, OP_UNSQUEEZE, "votes.operand", x, ax, 2, -1, IR_NONE);
    uint32_t m = em_binary(e, OP_MATMUL, "votes", w, u5, IR_NONE);
    uint32_t u = em_axes_op(e, OP_SQUEEZE, "votes.squeeze", m, last, 1, -1, IR_NONE);
    em_routing(e, u, "nijd", "nij", "njd", p.iters, out);
    break;
  }
  case OP_SQUASH:
    e->role = CAPS_PRIMARY;
    em_squash(e, "", x, p.axis, out);
    break;
  default:
    break;
  }
  return e->st;
}

static bool is_compact(OpKind op) {
  return op == OP_PRIMARY_CAPS || op == OP_CONV_CAPS || op == OP_CLASS_CAPS || op == OP_SQUASH;
}

/* Puts each compact node's expansion (nodes [start[i], end[i]) appended at the end) in its
 * place and drops the compact node; then relinks producers and names. */
static XdlStatus reorder(Graph *g, uint32_t n_old, const uint32_t *start, const uint32_t *end,
                         Diag *d) {
  Node *tmp = xdl_malloc((size_t)g->n_nodes * sizeof *tmp);
  bool *none = xdl_calloc(g->n_nodes, sizeof *none);
  if (!tmp || !none) {
    xdl_free(tmp);
    xdl_free(none);
    return diag_error(d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
  }
  uint32_t w = 0;
  for (uint32_t i = 0; i < n_old; i++) {
    if (start[i] == IR_NONE) {
      tmp[w++] = g->nodes[i];
      continue;
    }
    for (uint32_t k = start[i]; k < end[i]; k++) tmp[w++] = g->nodes[k];
  }
  memcpy(g->nodes, tmp, (size_t)w * sizeof *tmp);
  g->n_nodes = w;
  ir_remove_nodes(g, none); /* nothing removed: rebuilds producer links and the name map */
  xdl_free(tmp);
  xdl_free(none);
  return XDL_OK;
}

/* Lowers every compact node; class_out/class_in collect each ClassCaps' output and input. */
static XdlStatus lower_compact(Graph *g, Diag *d, uint32_t *class_out, uint32_t *class_in,
                               int *n_class, int max_class) {
  uint32_t n_old = g->n_nodes, n_compact = 0;
  for (uint32_t n = 0; n < n_old; n++) n_compact += is_compact(g->nodes[n].op);
  if (!n_compact) return XDL_OK;
  uint32_t *start = xdl_malloc((size_t)n_old * sizeof *start);
  uint32_t *end = xdl_malloc((size_t)n_old * sizeof *end);
  if (!start || !end) {
    xdl_free(start);
    xdl_free(end);
    return diag_error(d, XDL_ERR_INTERNAL, "out of memory lowering capsules");
  }
  Emit e = {.g = g, .d = d, .st = XDL_OK, .two = IR_NONE, .one = IR_NONE, .eps = IR_NONE};
  XdlStatus st = XDL_OK;
  for (uint32_t n = 0; n < n_old && st == XDL_OK; n++) {
    start[n] = end[n] = IR_NONE;
    if (!is_compact(g->nodes[n].op)) continue;
    if (g->nodes[n].op == OP_CLASS_CAPS && *n_class < max_class) {
      class_out[*n_class] = g->nodes[n].outputs[0];
      class_in[(*n_class)++] = g->nodes[n].inputs[0];
    }
    start[n] = g->n_nodes;
    st = lower_node(&e, n);
    end[n] = g->n_nodes;
  }
  if (st == XDL_OK) st = reorder(g, n_old, start, end, d);
  xdl_free(start);
  xdl_free(end);
  return st;
}

/* ==========================================================================================
 * (2) Recognising unrolled routing
 * ========================================================================================== */

/* A Mul whose only reader is a ReduceSum: one contraction sum_R(a * b). */
typedef struct Contraction {
  uint32_t mul, red;          /* node ids */
  uint32_t a, b;              /* the Mul's operands */
  uint32_t ra, rb;            /* their view roots */
  bool reduce[IR_MAX_RANK];   /* reduced axes of the product */
  bool keepdims;
  CapsRole role;              /* CAPS_ROUTING_SUM or _AGREE once recognised, else CAPS_NONE */
  int iter;
} Contraction;

/* Reduced axes of ReduceSum node n over a rank-r input; false if unknown or a no-op. */
static bool reduce_axes(const Graph *g, uint32_t n, int r, bool *reduce) {
  const Node *nd = &g->nodes[n];
  const Attr *a = ir_node_attr(g, n, "axes");
  int64_t axes[IR_MAX_RANK];
  int count = 0;
  if (a && a->kind == ATTR_INTS && a->n <= IR_MAX_RANK) {
    count = a->n;
    memcpy(axes, a->ints, (size_t)count * sizeof *axes);
  } else if (nd->n_inputs > 1 && nd->inputs[1] != IR_NONE) {
    const Tensor *t = &g->tensors[nd->inputs[1]];
    int64_t k = ir_numel(t);
    if (k < 0 || k > IR_MAX_RANK || (k > 0 && !t->ivals)) return false;
    count = (int)k;
    if (count) memcpy(axes, t->ivals, (size_t)count * sizeof *axes);
  }
  for (int i = 0; i < r; i++) reduce[i] = count == 0;
  if (count == 0) return ir_attr_int(g, n, "noop_with_empty_axes", 0) == 0;
  for (int i = 0; i < count; i++) {
    int ax;
    if (!sh_axis(axes[i], r, &ax)) return false;
    reduce[ax] = true;
  }
  return true;
}

static int find_contractions(const Graph *g, const Uses *u, Contraction *out, int max) {
  int count = 0;
  for (uint32_t q = 0; q < g->n_nodes && count < max; q++) {
    const Node *rd = &g->nodes[q];
    if (rd->op != OP_REDUCE_SUM || rd->n_inputs < 1 || rd->caps_role != CAPS_NONE) continue;
    uint32_t t = rd->inputs[0], p = producer(g, t);
    if (p == IR_NONE || g->nodes[p].op != OP_MUL || g->nodes[p].n_inputs != 2) continue;
    const Node *mul = &g->nodes[p];
    if (use_count(u, t) != 1 || g->tensors[t].is_graph_output) continue;
    if (is_fixed(g, mul->inputs[0]) || is_fixed(g, mul->inputs[1])) continue;
    Contraction *c = &out[count];
    memset(c, 0, sizeof *c);
    if (!reduce_axes(g, q, g->tensors[t].rank, c->reduce)) continue;
    c->mul = p;
    c->red = q;
    c->a = mul->inputs[0];
    c->b = mul->inputs[1];
    c->ra = view_root(g, c->a);
    c->rb = view_root(g, c->b);
    c->keepdims = ir_attr_int(g, q, "keepdims", 1) != 0;
    c->iter = -1;
    count++;
  }
  return count;
}

static bool is_reduction(OpKind op) {
  return op == OP_REDUCE_SUM || op == OP_REDUCE_SUM_SQUARE || op == OP_REDUCE_L2 ||
         op == OP_REDUCE_MEAN;
}

/* Ops a squash is made of. */
static bool squash_op(OpKind op) {
  switch (op) {
  case OP_POW: case OP_MUL: case OP_DIV: case OP_ADD: case OP_SUB: case OP_SQRT:
  case OP_RECIPROCAL: case OP_EXP: case OP_NEG: case OP_ABS: case OP_MAX: case OP_MIN:
  case OP_CLIP: case OP_REDUCE_SUM: case OP_REDUCE_SUM_SQUARE: case OP_REDUCE_L2:
  case OP_REDUCE_MEAN:
    return true;
  default:
    return false;
  }
}

enum { SQUASH_MAX_NODES = 32, SQUASH_SCAN = 512 };

/* The squash applied to s: scanning forward from s's producer, the smallest set of vector ops
 * that read only s, constants and each other, contains a reduction (the squared norm), and
 * leaves exactly one value used outside it, shaped like s. Its nodes go to nodes[] (count in
 * *n_nodes) and the value to *v. False when s is not squashed that way. */
static bool find_squash(const Graph *g, const Uses *u, uint32_t s, uint32_t *nodes,
                        int *n_nodes, uint32_t *v) {
  uint32_t rt[SQUASH_MAX_NODES];
  int64_t rem[SQUASH_MAX_NODES];
  int nr = 0;
  bool reduced = false;
  uint32_t from = producer(g, s) == IR_NONE ? 0 : producer(g, s) + 1;
  for (uint32_t n = from; n < g->n_nodes && n < from + SQUASH_SCAN; n++) {
    const Node *nd = &g->nodes[n];
    bool reads_region = false, reads_s = false, joinable = true;
    for (int i = 0; i < nd->n_inputs; i++) {
      uint32_t t = nd->inputs[i];
      bool inr = false;
      for (int k = 0; k < nr && !inr; k++) inr = rt[k] == t;
      reads_region |= inr;
      reads_s |= t == s;
      if (!inr && t != s && !is_fixed(g, t)) joinable = false;
    }
    if (!reads_region && !reads_s) continue;
    joinable = joinable && squash_op(nd->op) && nd->n_outputs == 1 &&
               nd->caps_role == CAPS_NONE && nr < SQUASH_MAX_NODES;
    if (!joinable) {
      if (reads_region) return false;
      continue; /* another reader of s */
    }
    for (int i = 0; i < nd->n_inputs; i++)
      for (int k = 0; k < nr; k++)
        if (rt[k] == nd->inputs[i]) rem[k]--;
    uint32_t o = nd->outputs[0];
    rt[nr] = o;
    rem[nr] = (int64_t)use_count(u, o) + g->tensors[o].is_graph_output;
    nodes[nr++] = n;
    reduced |= is_reduction(nd->op);
    int live = 0;
    for (int k = 0; k < nr; k++) live += rem[k] > 0;
    if (reduced && live == 1 && rem[nr - 1] > 0 && same_shape(&g->tensors[o], &g->tensors[s])) {
      *n_nodes = nr;
      *v = o;
      return true;
    }
  }
  return false;
}

/* The s whose squash yields v: the one non-constant tensor the vector ops producing v start
 * from (found by walking back through vector ops), if find_squash from it gives v. */
static bool squash_back(const Graph *g, const Uses *u, uint32_t v, uint32_t *nodes,
                        int *n_nodes, uint32_t *s_out) {
  uint32_t stack[SQUASH_MAX_NODES], seen[SQUASH_MAX_NODES], s = IR_NONE;
  int sp = 0, ns = 0;
  uint32_t p = producer(g, v);
  if (p == IR_NONE || !squash_op(g->nodes[p].op)) return false;
  stack[sp++] = p;
  seen[ns++] = p;
  while (sp > 0) {
    const Node *nd = &g->nodes[stack[--sp]];
    for (int i = 0; i < nd->n_inputs; i++) {
      uint32_t t = nd->inputs[i], q = producer(g, t);
      if (is_fixed(g, t)) continue;
      if (q != IR_NONE && squash_op(g->nodes[q].op)) {
        bool dup = false;
        for (int k = 0; k < ns && !dup; k++) dup = seen[k] == q;
        if (dup) continue;
        if (ns == SQUASH_MAX_NODES) return false;
        seen[ns++] = q;
        stack[sp++] = q;
      } else if (s == IR_NONE || s == t) {
        s = t;
      } else {
        return false; /* two entries: not a squash of one tensor */
      }
    }
  }
  uint32_t vv;
  if (s == IR_NONE || !find_squash(g, u, s, nodes, n_nodes, &vv) || vv != v) return false;
  *s_out = s;
  return true;
}

/* Tags the primary capsules that feed votes producer p: its activation operand, back through
 * views and an optional squash, to a convolution. */
static void tag_primary(Graph *g, const Uses *u, uint32_t p) {
  const Node *pn = &g->nodes[p];
  uint32_t x = IR_NONE;
  for (int i = 0; i < pn->n_inputs && x == IR_NONE; i++)
    if (!is_fixed(g, pn->inputs[i])) x = pn->inputs[i];
  if (x == IR_NONE) return;
  tag_views_back(g, x, CAPS_VOTES, -1); /* operand layout of the votes product */
  uint32_t t = view_root(g, x), nodes[SQUASH_MAX_NODES], s;
  int n_nodes = 0;
  if (squash_back(g, u, t, nodes, &n_nodes, &s)) t = s;
  uint32_t c = producer(g, view_root(g, t));
  if (c == IR_NONE || g->nodes[c].op != OP_CONV) return;
  for (int k = 0; k < n_nodes; k++) tag(g, nodes[k], CAPS_PRIMARY, -1);
  tag_views_back(g, t, CAPS_PRIMARY, -1);
  tag(g, c, CAPS_PRIMARY, -1);
}

/* Tags what the class capsules v feed: decoder = every node from the first GEMM-like layer
 * with weights on, plus the nodes (masking) whose values only the decoder reads; class = the
 * rest (capsule lengths, predictions). Already tagged nodes are left and not looked through. */
static XdlStatus tag_downstream(Graph *g, const Uses *u, uint32_t v, Diag *d) {
  bool *reach = xdl_calloc(g->n_tensors, sizeof *reach);
  uint8_t *kind = xdl_calloc(g->n_nodes ? g->n_nodes : 1, 1); /* 0 no, 1 class, 2 decoder */
  if (!reach || !kind) {
    xdl_free(reach);
    xdl_free(kind);
    return diag_error(d, XDL_ERR_INTERNAL, "out of memory tagging capsule roles");
  }
  reach[v] = true;
  uint32_t from = producer(g, v) == IR_NONE ? 0 : producer(g, v) + 1;
  for (uint32_t n = from; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    if (nd->caps_role != CAPS_NONE) continue;
    bool in = false, dec = false;
    for (int i = 0; i < nd->n_inputs; i++) {
      uint32_t t = nd->inputs[i];
      if (t == IR_NONE || !reach[t]) continue;
      in = true;
      uint32_t p = producer(g, t);
      dec |= p != IR_NONE && kind[p] == 2;
    }
    if (!in) continue;
    if (ir_ops[nd->op].category == CAT_GEMM)
      for (int i = 0; i < nd->n_inputs; i++)
        dec |= nd->inputs[i] != IR_NONE && g->tensors[nd->inputs[i]].role == ROLE_WEIGHT;
    kind[n] = dec ? 2 : 1;
    for (int i = 0; i < nd->n_outputs; i++)
      if (nd->outputs[i] != IR_NONE) reach[nd->outputs[i]] = true;
  }
  for (uint32_t n = g->n_nodes; n-- > from;) {
    const Node *nd = &g->nodes[n];
    if (kind[n] != 1) continue;
    bool all_dec = true, any = false;
    for (int i = 0; i < nd->n_outputs; i++) {
      uint32_t t = nd->outputs[i];
      if (t == IR_NONE) continue;
      if (g->tensors[t].is_graph_output) all_dec = false;
      for (uint32_t k = u->first[t]; k < u->first[t + 1]; k++) {
        any = true;
        all_dec = all_dec && kind[u->node[k]] == 2;
      }
    }
    if (any && all_dec) kind[n] = 2;
  }
  for (uint32_t n = from; n < g->n_nodes; n++)
    if (kind[n]) tag(g, n, kind[n] == 2 ? CAPS_DECODER : CAPS_CLASS, -1);
  xdl_free(reach);
  xdl_free(kind);
  return XDL_OK;
}

/* Equation of contraction c over its product's axes: one letter per axis, each operand naming
 * the trailing axes it has (numpy alignment), the output the axes not reduced. */
static void contraction_equation(const Graph *g, const Contraction *c, char *eq, size_t size) {
  int r = g->tensors[g->nodes[c->mul].outputs[0]].rank;
  int ra = g->tensors[c->a].rank, rb = g->tensors[c->b].rank;
  char ta[IR_MAX_RANK + 1], tb[IR_MAX_RANK + 1], to[IR_MAX_RANK + 1];
  int no = 0;
  for (int i = 0; i < ra; i++) ta[i] = (char)('a' + r - ra + i);
  for (int i = 0; i < rb; i++) tb[i] = (char)('a' + r - rb + i);
  for (int i = 0; i < r; i++)
    if (!c->reduce[i]) to[no++] = (char)('a' + i);
  ta[ra] = tb[rb] = to[no] = '\0';
  snprintf(eq, size, "%s,%s->%s", ta, tb, to);
}

/* Makes c one Einsum node: the ReduceSum becomes Einsum(a, b) (the Mul is marked for removal);
 * with keepdims the Mul becomes the Einsum and the ReduceSum a view restoring the unit axes. */
static XdlStatus rewrite_contraction(Graph *g, const Contraction *c, bool *remove, Diag *d) {
  char eq[64];
  contraction_equation(g, c, eq, sizeof eq);
  uint32_t target = c->keepdims ? c->mul : c->red;
  Node *nd = &g->nodes[target];
  uint32_t *in = arena_alloc(&g->arena, 2 * sizeof *in);
  if (!in) return diag_error(d, XDL_ERR_INTERNAL, "out of memory rewriting contractions");
  in[0] = c->a;
  in[1] = c->b;
  nd->op = OP_EINSUM;
  nd->inputs = in;
  nd->n_inputs = 2;
  nd->attrs = NULL;
  nd->n_attrs = 0;
  if (!ir_set_attr_string(g, target, "equation", eq))
    return diag_error(d, XDL_ERR_INTERNAL, "out of memory rewriting contractions");
  uint32_t res = g->nodes[c->red].outputs[0];
  Tensor want = g->tensors[res];
  if (c->keepdims) {
    /* Mul → Einsum into a fresh tensor; ReduceSum → Reshape(einsum, kept shape). */
    uint32_t prod = g->nodes[c->mul].outputs[0];
    char name[512];
    snprintf(name, sizeof name, "%.480s/contraction", want.name);
    uint32_t t = ir_add_tensor_unique(g, name, want.dtype, ROLE_ACTIVATION, -1, NULL, d);
    int64_t shp = want.rank;
    uint32_t st = ir_add_tensor_unique(g, "caps.keepdims_shape", DT_INT64, ROLE_CONST, 1, &shp,
                                       d);
    if (t == IR_NONE || st == IR_NONE || !ir_set_ivals(g, st, want.dims, want.rank))
      return diag_ok(d) ? diag_error(d, XDL_ERR_INTERNAL, "out of memory") : d->status;
    g->nodes[c->mul].outputs[0] = t;
    g->tensors[t].producer = c->mul;
    g->tensors[prod].producer = IR_NONE;
    if (ir_infer_node(g, c->mul, d) != XDL_OK) return d->status;
    uint32_t *rin = arena_alloc(&g->arena, 2 * sizeof *rin);
    if (!rin) return diag_error(d, XDL_ERR_INTERNAL, "out of memory rewriting contractions");
    rin[0] = t;
    rin[1] = st;
    Node *rd = &g->nodes[c->red];
    rd->op = OP_RESHAPE;
    rd->inputs = rin;
    rd->n_inputs = 2;
    rd->attrs = NULL;
    rd->n_attrs = 0;
    rd->layout_only = true;
    target = c->red;
  } else {
    remove[c->mul] = true;
  }
  if (ir_infer_node(g, target, d) != XDL_OK) return d->status;
  if (!same_shape(&g->tensors[res], &want))
    return diag_error(d, XDL_ERR_INTERNAL, "%s: contraction '%s' (%s) changed the shape of '%s'",
                      g->path, g->nodes[c->red].name, eq, want.name);
  return XDL_OK;
}

enum { MAX_CONTRACTIONS = 256, MAX_ITERS = 64 };

/* Recognises one routing group: the weighted sums over votes root u (in node order), their
 * squashes, the agreements and the logit updates; tags them and the votes, primary capsules
 * and what the class capsules feed. False (nothing tagged) when the structure is not routing. */
static XdlStatus routing_group(Graph *g, const Uses *u, Contraction *cs, int nc, uint32_t votes,
                               bool *accepted, Diag *d) {
  int sums[MAX_ITERS], ns = 0;
  uint32_t vk[MAX_ITERS], sq[MAX_ITERS][SQUASH_MAX_NODES];
  int nsq[MAX_ITERS];
  *accepted = false;
  for (int i = 0; i < nc && ns < MAX_ITERS; i++) {
    const Contraction *c = &cs[i];
    if (c->role != CAPS_NONE || (c->ra != votes && c->rb != votes)) continue;
    uint32_t other = c->ra == votes ? c->rb : c->ra, p = producer(g, other);
    if (p == IR_NONE || g->nodes[p].op != OP_SOFTMAX) continue;
    if (!find_squash(g, u, g->nodes[c->red].outputs[0], sq[ns], &nsq[ns], &vk[ns])) return XDL_OK;
    sums[ns++] = i;
  }
  if (!ns) return XDL_OK;
  *accepted = true;
  for (int k = 0; k < ns; k++) {
    Contraction *c = &cs[sums[k]];
    c->role = CAPS_ROUTING_SUM;
    c->iter = k;
    tag(g, c->red, CAPS_ROUTING_SUM, k);
    tag(g, c->mul, CAPS_ROUTING_SUM, k);
    uint32_t soft = c->ra == votes ? c->b : c->a;
    tag_views_back(g, soft, CAPS_ROUTING_SOFTMAX, k);
    tag(g, producer(g, view_root(g, soft)), CAPS_ROUTING_SOFTMAX, k);
    for (int j = 0; j < nsq[k]; j++) tag(g, sq[k][j], CAPS_ROUTING_SQUASH, k);
  }
  /* Agreements: votes · v_k, and the Add that updates the logits with them. */
  for (int i = 0; i < nc; i++) {
    Contraction *c = &cs[i];
    if (c->role != CAPS_NONE || (c->ra != votes && c->rb != votes)) continue;
    uint32_t vside = c->ra == votes ? c->b : c->a, vroot = view_root(g, vside);
    int k = -1;
    for (int j = 0; j < ns && k < 0; j++)
      if (vk[j] == vroot) k = j;
    if (k < 0) continue;
    c->role = CAPS_ROUTING_AGREE;
    c->iter = k;
    tag(g, c->red, CAPS_ROUTING_AGREE, k);
    tag(g, c->mul, CAPS_ROUTING_AGREE, k);
    tag_views_back(g, vside, CAPS_ROUTING_SQUASH, k);
    uint32_t out = g->nodes[c->red].outputs[0];
    for (uint32_t q = u->first[out]; q < u->first[out + 1]; q++)
      if (g->nodes[u->node[q]].op == OP_ADD) tag(g, u->node[q], CAPS_ROUTING_AGREE, k);
  }
  /* Votes: the GEMM-like producer of the votes root and the views after it. */
  uint32_t p = producer(g, votes);
  if (p != IR_NONE && ir_ops[g->nodes[p].op].category == CAT_GEMM) {
    for (int i = 0; i < nc; i++)
      if (cs[i].role != CAPS_NONE) {
        tag_views_back(g, cs[i].ra == votes ? cs[i].a : cs[i].b, CAPS_VOTES, -1);
      }
    tag(g, p, CAPS_VOTES, -1);
    tag_primary(g, u, p);
  }
  return tag_downstream(g, u, vk[ns - 1], d);
}

static XdlStatus lower_unrolled(Graph *g, Diag *d) {
  Uses u;
  if (!uses_build(g, &u)) return diag_error(d, XDL_ERR_INTERNAL, "out of memory");
  Contraction *cs = xdl_malloc(MAX_CONTRACTIONS * sizeof *cs);
  bool *remove = xdl_calloc(g->n_nodes ? g->n_nodes : 1, sizeof *remove);
  XdlStatus st = XDL_OK;
  if (!cs || !remove) {
    st = diag_error(d, XDL_ERR_INTERNAL, "out of memory");
    goto fail;
  }
  int nc = find_contractions(g, &u, cs, MAX_CONTRACTIONS);
  /* Each distinct votes root that a softmax-weighted contraction reads is one routing layer. */
  for (int i = 0; i < nc && st == XDL_OK; i++) {
    if (cs[i].role != CAPS_NONE) continue;
    for (int side = 0; side < 2 && st == XDL_OK; side++) {
      uint32_t votes = side ? cs[i].rb : cs[i].ra, other = side ? cs[i].ra : cs[i].rb;
      uint32_t p = producer(g, other);
      if (p == IR_NONE || g->nodes[p].op != OP_SOFTMAX) continue;
      bool ok;
      st = routing_group(g, &u, cs, nc, votes, &ok, d);
      if (ok) break;
    }
  }
  for (int i = 0; i < nc && st == XDL_OK; i++)
    if (cs[i].role != CAPS_NONE) st = rewrite_contraction(g, &cs[i], remove, d);
  if (st == XDL_OK) ir_remove_nodes(g, remove);
fail:
  uses_free(&u);
  xdl_free(cs);
  xdl_free(remove);
  return st;
}

/* ==========================================================================================
 * The pass
 * ========================================================================================== */

enum { MAX_CLASS_LAYERS = 16 };

/* Whether compact node n routes by agreement: ClassCaps, or ConvCaps with routing "3d" (2-D
 * ConvCaps must keep routing_iterations 1). */
static bool routes(const Graph *g, uint32_t n) {
  OpKind op = g->nodes[n].op;
  return op == OP_CLASS_CAPS ||
         (op == OP_CONV_CAPS && strcmp(ir_attr_string(g, n, "routing", "2d"), "3d") == 0);
}

/* Sets routing_iterations = iters (>= 1) on every compact node that routes. XDL_ERR_INPUT
 * when iters < 1 or the graph has no such node (the override would silently do nothing). */
static XdlStatus set_routing_iterations(Graph *g, int64_t iters, Diag *d) {
  const char *path = g->path ? g->path : "";
  if (iters < 1)
    return diag_error(d, XDL_ERR_INPUT, "%s%srouting_iterations %lld: must be at least 1", path,
                      *path ? ": " : "", (long long)iters);
  int n_set = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    if (!routes(g, n)) continue;
    if (!ir_set_attr_int(g, n, "routing_iterations", iters))
      return diag_error(d, XDL_ERR_INTERNAL, "out of memory setting routing_iterations");
    n_set++;
  }
  if (n_set == 0)
    return diag_error(d, XDL_ERR_INPUT,
                      "%s%srouting_iterations %lld: the model has no compact capsule op that "
                      "routes (ClassCaps, or ConvCaps with routing \"3d\", domain ai.xploredl)",
                      path, *path ? ": " : "", (long long)iters);
  return XDL_OK;
}

XdlStatus pass_capsule_lower(Graph *g, const PassOptions *o, Diag *d) {
  uint32_t class_out[MAX_CLASS_LAYERS], class_in[MAX_CLASS_LAYERS];
  int n_class = 0;
  if (o && o->routing_iterations != 0) {
    XdlStatus rs = set_routing_iterations(g, o->routing_iterations, d);
    if (rs != XDL_OK) return rs;
  }
  XdlStatus st = lower_compact(g, d, class_out, class_in, &n_class, MAX_CLASS_LAYERS);
  if (st != XDL_OK) return st;
  if (n_class) {
    /* Compact class capsules: the views that lay out their input belong to the votes; what
     * they feed is class or decoder. */
    Uses u;
    if (!uses_build(g, &u)) return diag_error(d, XDL_ERR_INTERNAL, "out of memory");
    for (int i = n_class; i-- > 0 && st == XDL_OK;) {
      tag_views_back(g, class_in[i], CAPS_VOTES, -1);
      st = tag_downstream(g, &u, class_out[i], d);
    }
    uses_free(&u);
    if (st != XDL_OK) return st;
  }
  return lower_unrolled(g, d);
}
