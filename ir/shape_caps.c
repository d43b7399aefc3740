/* shape_caps.c — the compact capsule ops of XploreDL's own ONNX domain ai.xploredl: PrimaryCaps,
 * ConvCaps, ClassCaps and Squash. Their shape rules validate every attribute and operand
 * (unknown attributes, inconsistent capsule dimensions, zero routing iterations are one-line
 * errors naming the node) and their work rules count the MACs their lowering
 * (passes/capsule_lower.c, which runs before any other pass needs the graph) will have. The
 * semantics of each op are given in README "Capsule ops (domain ai.xploredl)". */
#include "ir/ir.h"

#include <string.h>

/* Attribute names each op accepts; anything else is rejected by name. */
static const char *const primary_attrs[] = {"kernel_shape", "strides", "pads", "num_capsules",
                                            "capsule_dim", "squash", NULL};
static const char *const conv_attrs[] = {"kernel_shape", "strides", "pads", "num_capsules",
                                         "capsule_dim", "routing", "routing_iterations", NULL};
static const char *const class_attrs[] = {"num_capsules", "capsule_dim", "routing_iterations",
                                          NULL};
static const char *const squash_attrs[] = {"axis", NULL};

/* Fails naming the first attribute of node n that is not in allowed. */
static XdlStatus check_attr_names(Graph *g, uint32_t n, const char *const *allowed, Diag *d) {
  const Node *nd = &g->nodes[n];
  for (int i = 0; i < nd->n_attrs; i++) {
    bool ok = false;
    for (int k = 0; allowed[k] && !ok; k++) ok = strcmp(allowed[k], nd->attrs[i].name) == 0;
    if (!ok) return sh_fail(g, n, d, "unknown attribute '%.60s'", nd->attrs[i].name);
  }
  return XDL_OK;
}

/* Integer attribute name (fallback when absent, or an error when required) that must be at
 * least min. */
static XdlStatus int_attr(Graph *g, uint32_t n, const char *name, bool required,
                          int64_t fallback, int64_t min, int64_t *out, Diag *d) {
  const Attr *a = ir_node_attr(g, n, name);
  if (!a) {
    if (required) return sh_fail(g, n, d, "attribute '%s' is required", name);
    *out = fallback;
    return XDL_OK;
  }
  if (a->kind != ATTR_INT) return sh_fail(g, n, d, "attribute '%s' must be an integer", name);
  if (a->i < min)
    return sh_fail(g, n, d, "attribute '%s' = %lld must be at least %lld", name,
                   (long long)a->i, (long long)min);
  *out = a->i;
  return XDL_OK;
}

/* Integer-list attribute with exactly count entries, each at least min; fill when absent. */
static XdlStatus ints_attr(Graph *g, uint32_t n, const char *name, int count, int64_t fill,
                           int64_t min, int64_t *out, Diag *d) {
  const Attr *a = ir_node_attr(g, n, name);
  if (!a) {
    for (int i = 0; i < count; i++) out[i] = fill;
    return XDL_OK;
  }
  if (a->kind != ATTR_INTS || a->n != count)
    return sh_fail(g, n, d, "attribute '%s' must be a list of %d integers", name, count);
  for (int i = 0; i < count; i++) {
    if (a->ints[i] < min)
      return sh_fail(g, n, d, "attribute '%s'[%d] = %lld must be at least %lld", name, i,
                     (long long)a->ints[i], (long long)min);
    out[i] = a->ints[i];
  }
  return XDL_OK;
}

/* Input i with the given rank; NULL (error recorded) when missing or of another rank. */
static const Tensor *ranked_in(Graph *g, uint32_t n, int i, const char *what, int rank,
                               Diag *d) {
  const Tensor *t = sh_in(g, n, i);
  if (!t) {
    sh_fail(g, n, d, "required input %d (%s) is missing", i, what);
    return NULL;
  }
  if (t->rank != rank) {
    sh_fail(g, n, d, "input %d (%s) has rank %d; expected %d", i, what, t->rank, rank);
    return NULL;
  }
  return t;
}

/* Reads the window attributes against the weight's 2-D kernel kw[0..1] and computes the output
 * extents out[0..1] of inputs in[0..1]. */
static XdlStatus caps_window(Graph *g, uint32_t n, const int64_t *kw, const int64_t *in,
                             CapsParams *p, int64_t *out, Diag *d) {
  XdlStatus st;
  if ((st = ints_attr(g, n, "kernel_shape", 2, 0, 1, p->kernel, d)) != XDL_OK ||
      (st = ints_attr(g, n, "strides", 2, 1, 1, p->strides, d)) != XDL_OK ||
      (st = ints_attr(g, n, "pads", 4, 0, 0, p->pads, d)) != XDL_OK)
    return st;
  for (int i = 0; i < 2; i++) {
    if (ir_node_attr(g, n, "kernel_shape") && p->kernel[i] != kw[i])
      return sh_fail(g, n, d, "kernel_shape[%d] = %lld but the weight's kernel is %lld", i,
                     (long long)p->kernel[i], (long long)kw[i]);
    p->kernel[i] = kw[i];
    int64_t span = in[i] + p->pads[i] + p->pads[2 + i];
    if (kw[i] < 1 || span < kw[i])
      return sh_fail(g, n, d, "kernel %lld does not fit the padded input %lld on spatial axis %d",
                     (long long)kw[i], (long long)span, i);
    out[i] = (span - kw[i]) / p->strides[i] + 1;
  }
  return XDL_OK;
}

/* Checks the optional bias (input 2) has one value per output channel. */
static XdlStatus check_bias(Graph *g, uint32_t n, int64_t channels, Diag *d) {
  const Tensor *b = sh_in(g, n, 2);
  if (b && (b->rank != 1 || b->dims[0] != channels))
    return sh_fail(g, n, d, "bias B must have shape [%lld] (num_capsules x capsule_dim)",
                   (long long)channels);
  return XDL_OK;
}

static XdlStatus check_outputs(Graph *g, uint32_t n, Diag *d) {
  if (g->nodes[n].n_outputs != 1) return sh_fail(g, n, d, "must have exactly one output");
  return XDL_OK;
}

/* PrimaryCaps(X [N, C, H, W], W [num*dim, C, kh, kw], B?) -> [N, num*H'*W', dim]. */
static XdlStatus primary_params(Graph *g, uint32_t n, CapsParams *p, Diag *d) {
  XdlStatus st;
  const Tensor *x = ranked_in(g, n, 0, "X", 4, d), *w = ranked_in(g, n, 1, "W", 4, d);
  if (!x || !w) return XDL_ERR_INPUT;
  int64_t sq = 1; /* initialized for gcc -O3, which cannot see int_attr always sets it */
  if ((st = int_attr(g, n, "num_capsules", true, 0, 1, &p->num_caps, d)) != XDL_OK ||
      (st = int_attr(g, n, "capsule_dim", true, 0, 1, &p->caps_dim, d)) != XDL_OK ||
      (st = int_attr(g, n, "squash", false, 1, 0, &sq, d)) != XDL_OK)
    return st;
  if (sq > 1) return sh_fail(g, n, d, "attribute 'squash' must be 0 or 1");
  p->squash = sq != 0;
  int64_t ch;
  if (!ir_mul_ok(p->num_caps, p->caps_dim, &ch) || w->dims[0] != ch)
    return sh_fail(g, n, d, "weight has %lld output channels but num_capsules x capsule_dim = "
                   "%lld x %lld", (long long)w->dims[0], (long long)p->num_caps,
                   (long long)p->caps_dim);
  if (w->dims[1] != x->dims[1])
    return sh_fail(g, n, d, "weight expects %lld input channels but X has %lld",
                   (long long)w->dims[1], (long long)x->dims[1]);
  if ((st = check_bias(g, n, ch, d)) != XDL_OK) return st;
  if ((st = caps_window(g, n, &w->dims[2], &x->dims[2], p, p->out_hw, d)) != XDL_OK) return st;
  p->in_caps = x->dims[1];
  p->in_dim = 1;
  return XDL_OK;
}

/* ConvCaps(X [N, Cin, Din, H, W], W, B?) -> [N, Cout, Dout, H', W']; W is
 * [Cout*Dout, Cin*Din, kh, kw] for routing "2d" and [Cout*Dout, 1, Din, kh, kw] for "3d". */
static XdlStatus conv_params(Graph *g, uint32_t n, CapsParams *p, Diag *d) {
  XdlStatus st;
  const char *routing = ir_attr_string(g, n, "routing", "2d");
  const Attr *ra = ir_node_attr(g, n, "routing");
  if ((ra && ra->kind != ATTR_STRING) ||
      (strcmp(routing, "2d") != 0 && strcmp(routing, "3d") != 0))
    return sh_fail(g, n, d, "attribute 'routing' must be the string \"2d\" or \"3d\"");
  p->routing_3d = routing[0] == '3';
  const Tensor *x = ranked_in(g, n, 0, "X", 5, d);
  const Tensor *w = ranked_in(g, n, 1, "W", p->routing_3d ? 5 : 4, d);
  if (!x || !w) return XDL_ERR_INPUT;
  if ((st = int_attr(g, n, "num_capsules", true, 0, 1, &p->num_caps, d)) != XDL_OK ||
      (st = int_attr(g, n, "capsule_dim", true, 0, 1, &p->caps_dim, d)) != XDL_OK ||
      (st = int_attr(g, n, "routing_iterations", false, p->routing_3d ? 3 : 1, 1, &p->iters, d))
          != XDL_OK)
    return st;
  if (!p->routing_3d && p->iters != 1)
    return sh_fail(g, n, d, "routing \"2d\" gives each output capsule a single vote (the "
                   "convolution sums over input capsule types); routing_iterations must be 1");
  p->in_caps = x->dims[1];
  p->in_dim = x->dims[2];
  int64_t ch, in_ch;
  if (!ir_mul_ok(p->num_caps, p->caps_dim, &ch) || w->dims[0] != ch)
    return sh_fail(g, n, d, "weight has %lld output channels but num_capsules x capsule_dim = "
                   "%lld x %lld", (long long)w->dims[0], (long long)p->num_caps,
                   (long long)p->caps_dim);
  if (!ir_mul_ok(p->in_caps, p->in_dim, &in_ch))
    return sh_fail(g, n, d, "input capsule count overflows");
  if (!p->routing_3d && w->dims[1] != in_ch)
    return sh_fail(g, n, d, "weight expects %lld input channels but X has %lld capsules x %lld "
                   "dimensions", (long long)w->dims[1], (long long)p->in_caps,
                   (long long)p->in_dim);
  if (p->routing_3d && (w->dims[1] != 1 || w->dims[2] != p->in_dim))
    return sh_fail(g, n, d, "3-D routing weight must be [%lld, 1, %lld, kh, kw] (capsule "
                   "dimension of X as kernel depth), not [%lld, %lld, %lld, ...]", (long long)ch,
                   (long long)p->in_dim, (long long)w->dims[0], (long long)w->dims[1],
                   (long long)w->dims[2]);
  if ((st = check_bias(g, n, ch, d)) != XDL_OK) return st;
  const int64_t *kw = &w->dims[p->routing_3d ? 3 : 2];
  return caps_window(g, n, kw, &x->dims[3], p, p->out_hw, d);
}

/* ClassCaps(U [N, n_in, d_in], W [n_in, n_out, d_out, d_in]) -> [N, n_out, d_out]. */
static XdlStatus class_params(Graph *g, uint32_t n, CapsParams *p, Diag *d) {
  XdlStatus st;
  const Tensor *u = ranked_in(g, n, 0, "U", 3, d), *w = ranked_in(g, n, 1, "W", 4, d);
  if (!u || !w) return XDL_ERR_INPUT;
  if ((st = int_attr(g, n, "num_capsules", true, 0, 1, &p->num_caps, d)) != XDL_OK ||
      (st = int_attr(g, n, "capsule_dim", true, 0, 1, &p->caps_dim, d)) != XDL_OK ||
      (st = int_attr(g, n, "routing_iterations", false, 3, 1, &p->iters, d)) != XDL_OK)
    return st;
  p->in_caps = u->dims[1];
  p->in_dim = u->dims[2];
  const int64_t want[4] = {p->in_caps, p->num_caps, p->caps_dim, p->in_dim};
  if (memcmp(want, w->dims, sizeof want) != 0)
    return sh_fail(g, n, d, "weight is [%lld, %lld, %lld, %lld] but input capsules x "
                   "num_capsules x capsule_dim x input capsule_dim = [%lld, %lld, %lld, %lld]",
                   (long long)w->dims[0], (long long)w->dims[1], (long long)w->dims[2],
                   (long long)w->dims[3], (long long)want[0], (long long)want[1],
                   (long long)want[2], (long long)want[3]);
  return XDL_OK;
}

XdlStatus caps_params(Graph *g, uint32_t n, CapsParams *p, Diag *d) {
  memset(p, 0, sizeof *p);
  p->iters = 1;
  OpKind op = g->nodes[n].op;
  XdlStatus st = check_outputs(g, n, d);
  if (st != XDL_OK) return st;
  switch (op) {
  case OP_PRIMARY_CAPS:
    if ((st = check_attr_names(g, n, primary_attrs, d)) != XDL_OK) return st;
    return primary_params(g, n, p, d);
  case OP_CONV_CAPS:
    if ((st = check_attr_names(g, n, conv_attrs, d)) != XDL_OK) return st;
    return conv_params(g, n, p, d);
  case OP_CLASS_CAPS:
    if ((st = check_attr_names(g, n, class_attrs, d)) != XDL_OK) return st;
    return class_params(g, n, p, d);
  case OP_SQUASH: {
    if ((st = check_attr_names(g, n, squash_attrs, d)) != XDL_OK) return st;
    const Tensor *x = sh_in(g, n, 0);
    if (!x || x->rank < 1) return sh_fail(g, n, d, "input must be a tensor of rank >= 1");
    int64_t axis = -1;
    if ((st = int_attr(g, n, "axis", false, -1, INT64_MIN, &axis, d)) != XDL_OK) return st;
    if (!sh_axis(axis, x->rank, &p->axis))
      return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
    p->caps_dim = x->dims[p->axis];
    return XDL_OK;
  }
  default:
    return sh_fail(g, n, d, "not a capsule op");
  }
}

/* ---- shape rules ---- */

XdlStatus shape_primary_caps(Graph *g, uint32_t n, Diag *d) {
  CapsParams p;
  XdlStatus st = caps_params(g, n, &p, d);
  if (st != XDL_OK) return st;
  const Tensor *x = sh_in(g, n, 0);
  int64_t caps;
  if (!ir_mul_ok(p.num_caps, p.out_hw[0], &caps) || !ir_mul_ok(caps, p.out_hw[1], &caps))
    return sh_fail(g, n, d, "capsule count overflows");
  int64_t dims[3] = {x->dims[0], caps, p.caps_dim};
  return sh_set_out(g, n, 0, x->dtype, 3, dims, d);
}

XdlStatus shape_conv_caps(Graph *g, uint32_t n, Diag *d) {
  CapsParams p;
  XdlStatus st = caps_params(g, n, &p, d);
  if (st != XDL_OK) return st;
  const Tensor *x = sh_in(g, n, 0);
  int64_t dims[5] = {x->dims[0], p.num_caps, p.caps_dim, p.out_hw[0], p.out_hw[1]};
  return sh_set_out(g, n, 0, x->dtype, 5, dims, d);
}

XdlStatus shape_class_caps(Graph *g, uint32_t n, Diag *d) {
  CapsParams p;
  XdlStatus st = caps_params(g, n, &p, d);
  if (st != XDL_OK) return st;
  const Tensor *u = sh_in(g, n, 0);
  int64_t dims[3] = {u->dims[0], p.num_caps, p.caps_dim};
  return sh_set_out(g, n, 0, u->dtype, 3, dims, d);
}

XdlStatus shape_squash(Graph *g, uint32_t n, Diag *d) {
  CapsParams p;
  XdlStatus st = caps_params(g, n, &p, d);
  if (st != XDL_OK) return st;
  const Tensor *x = sh_in(g, n, 0);
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  return sh_set_out(g, n, 0, x->dtype, x->rank, dims, d);
}

/* ---- work rules: the MACs of the lowering, computed from the shapes ---- */

/* Shaped input / output, or NULL. */
static const Tensor *known(const Graph *g, uint32_t t) {
  return t != IR_NONE && t < g->n_tensors && g->tensors[t].rank >= 0 ? &g->tensors[t] : NULL;
}

/* MACs of routing over the lowering's contractions: iters weighted sums and iters - 1
 * agreements (the agreement after the last iteration is never used, so never computed), each
 * one MAC per element of the votes tensor. */
static int64_t routing_macs(int64_t votes_elems, int64_t iters) {
  return iters < 1 ? 0 : ir_sat_mul(votes_elems, 2 * iters - 1);
}

/* PrimaryCaps: its convolution, im2col view G = 1, M = N*H'*W', N = num*dim, K = C*kh*kw. */
void work_primary_caps(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)ops;
  const Node *nd = &g->nodes[n];
  const Tensor *w = nd->n_inputs > 1 ? known(g, nd->inputs[1]) : NULL;
  const Tensor *y = nd->n_outputs ? known(g, nd->outputs[0]) : NULL;
  if (!w || !y || w->rank != 4 || y->rank != 3 || y->dims[2] < 1 || w->dims[0] % y->dims[2])
    return;
  int64_t num = w->dims[0] / y->dims[2];
  if (num < 1 || y->dims[1] % num) return;
  gemm->g = 1;
  gemm->m = ir_sat_mul(y->dims[0], y->dims[1] / num);
  gemm->n = w->dims[0];
  gemm->k = ir_sat_mul(w->dims[1], ir_sat_mul(w->dims[2], w->dims[3]));
  *macs = ir_sat_mul(ir_sat_mul(gemm->m, gemm->n), gemm->k);
}

/* ConvCaps "2d": its convolution (view as for PrimaryCaps). "3d": the vote convolution
 * (N*Cin*H'*W' output pixels x Cout*Dout filters x Din*kh*kw) plus routing; no single GEMM
 * view (the lowering has one per phase). */
void work_conv_caps(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)ops;
  const Node *nd = &g->nodes[n];
  const Tensor *x = known(g, nd->inputs[0]);
  const Tensor *w = nd->n_inputs > 1 ? known(g, nd->inputs[1]) : NULL;
  const Tensor *y = nd->n_outputs ? known(g, nd->outputs[0]) : NULL;
  if (!x || !w || !y || x->rank != 5 || y->rank != 5) return;
  int64_t pix = ir_sat_mul(y->dims[0], ir_sat_mul(y->dims[3], y->dims[4]));
  const char *routing = ir_attr_string(g, n, "routing", "2d");
  if (routing[0] != '3') {
    if (w->rank != 4) return;
    gemm->g = 1;
    gemm->m = pix;
    gemm->n = w->dims[0];
    gemm->k = ir_sat_mul(w->dims[1], ir_sat_mul(w->dims[2], w->dims[3]));
    *macs = ir_sat_mul(ir_sat_mul(gemm->m, gemm->n), gemm->k);
    return;
  }
  if (w->rank != 5) return;
  int64_t votes = ir_sat_mul(ir_sat_mul(pix, x->dims[1]), w->dims[0]);
  int64_t k = ir_sat_mul(w->dims[2], ir_sat_mul(w->dims[3], w->dims[4]));
  *macs = ir_sat_add(ir_sat_mul(votes, k), routing_macs(votes, ir_attr_int(g, n, "routing_iterations",
                                                                      3)));
}

/* ClassCaps: the votes u_hat = W u (B*n_in*n_out*d_out*d_in) plus routing; no single view. */
void work_class_caps(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)ops, (void)gemm;
  const Node *nd = &g->nodes[n];
  const Tensor *u = known(g, nd->inputs[0]);
  const Tensor *w = nd->n_inputs > 1 ? known(g, nd->inputs[1]) : NULL;
  if (!u || !w || u->rank != 3 || w->rank != 4) return;
  int64_t votes = ir_sat_mul(u->dims[0], ir_sat_mul(ir_sat_mul(w->dims[0], w->dims[1]), w->dims[2]));
  *macs = ir_sat_add(ir_sat_mul(votes, w->dims[3]),
                  routing_macs(votes, ir_attr_int(g, n, "routing_iterations", 3)));
}

/* Squash over the capsule axis, as lowered: a square, a sum and a multiply and a divide per
 * element (4 per element) and add, divide, add and square root per capsule (4 per capsule). */
void work_squash(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)macs, (void)gemm;
  const Tensor *x = known(g, g->nodes[n].inputs[0]);
  if (!x) return;
  int64_t elems = ir_numel(x);
  int axis;
  if (elems < 0 || !sh_axis(ir_attr_int(g, n, "axis", -1), x->rank, &axis) || x->dims[axis] < 1)
    return;
  *ops = ir_sat_add(ir_sat_mul(elems, 4), ir_sat_mul(elems / x->dims[axis], 4));
}
