/* shape_train.c — shape and work rules of the training ops: ONNX's preview training domain
 * (Gradient, Momentum, Adagrad, Adam), SoftmaxCrossEntropyLoss, and the internal ops the
 * autodiff pass (passes/autodiff.c) creates through the backward rules of ir/backward.c. Each
 * internal op's meaning is stated above its shape rule so that the reference interpreter and
 * the cost model agree on it. Work counts saturate at INT64_MAX like ir/work.c's. */
#include <string.h>

#include "ir/ir.h"

/* ---- helpers ---- */

/* Input i with a known shape, or NULL. */
static const Tensor *known_in(const Graph *g, uint32_t n, int i) {
  const Node *nd = &g->nodes[n];
  if (i < 0 || i >= nd->n_inputs || nd->inputs[i] == IR_NONE) return NULL;
  const Tensor *t = &g->tensors[nd->inputs[i]];
  return t->rank >= 0 ? t : NULL;
}

static int64_t elems_of(const Tensor *t) {
  if (!t) return 0;
  int64_t e = 1;
  for (int i = 0; i < t->rank; i++)
    e = ir_sat_mul(e, t->dims[i]);
  return e;
}

static const Tensor *req_in(Graph *g, uint32_t n, int i, const char *what, Diag *d) {
  const Tensor *t = sh_in(g, n, i);
  if (!t) sh_fail(g, n, d, "required input %d (%s) is missing", i, what);
  return t;
}

/* Output 0 takes input `from`'s type and dims. */
static XdlStatus like_input(Graph *g, uint32_t n, int from, Diag *d) {
  const Tensor *x = req_in(g, n, from, "tensor", d);
  if (!x) return XDL_ERR_INPUT;
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  return sh_set_out(g, n, 0, x->dtype, x->rank, dims, d);
}

/* Reads the integer-list attribute name (at most IR_MAX_RANK entries); false with an error
 * when it is absent or too long. */
static bool ints_attr(Graph *g, uint32_t n, const char *name, int64_t *out, int *count,
                      Diag *d) {
  const Attr *a = ir_node_attr(g, n, name);
  if (!a || a->kind != ATTR_INTS) {
    sh_fail(g, n, d, "attribute '%s' (a list of integers) is required", name);
    return false;
  }
  if (a->n > IR_MAX_RANK) {
    sh_fail(g, n, d, "attribute '%s' has more than %d entries", name, IR_MAX_RANK);
    return false;
  }
  if (a->n) memcpy(out, a->ints, (size_t)a->n * sizeof *out);
  *count = a->n;
  return true;
}

/* ---- Gradient (ai.onnx.preview.training) ----
 * Gradient(values of xs..., values of zs...) {xs, zs, y} -> dY/dxs[i] for every listed x; the
 * i-th output has the shape and type of the i-th input. The autodiff pass replaces the node by
 * the backward graph of y. */
XdlStatus shape_gradient(Graph *g, uint32_t n, Diag *d) {
  const Node *nd = &g->nodes[n];
  const Attr *xs = ir_node_attr(g, n, "xs");
  if (!xs || xs->kind != ATTR_STRINGS)
    return sh_fail(g, n, d, "attribute 'xs' (the tensors to differentiate by) is required");
  if (!ir_attr_string(g, n, "y", NULL))
    return sh_fail(g, n, d, "attribute 'y' (the tensor to differentiate) is required");
  if (nd->n_outputs != xs->n || nd->n_inputs < xs->n)
    return sh_fail(g, n, d, "has %d inputs and %d outputs for %d tensors in 'xs'", nd->n_inputs,
                   nd->n_outputs, xs->n);
  for (int i = 0; i < nd->n_outputs; i++) {
    const Tensor *x = req_in(g, n, i, "x", d);
    if (!x) return XDL_ERR_INPUT;
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    XdlStatus st = sh_set_out(g, n, i, x->dtype, x->rank, dims, d);
    if (st != XDL_OK) return st;
  }
  return XDL_OK;
}

/* ---- optimizers ----
 * SGD (internal)       (R, T, X..., G...)             -> X_new...
 *   X_new = X - R * (G + norm_coefficient * X)
 * Momentum             (R, T, X..., G..., V...)       -> X_new..., V_new...
 * Adagrad              (R, T, X..., G..., H...)       -> X_new..., H_new...
 * Adam                 (R, T, X..., G..., V..., H...) -> X_new..., V_new..., H_new...
 *   (formulas: ONNX Operators.md, ai.onnx.preview.training). R is the learning rate and T the
 * update count, both scalars; each output has the shape of the input it updates. */
static void optimizer_groups(OpKind op, int *k_in, int *k_out) {
  switch (op) {
  case OP_SGD: *k_in = 2, *k_out = 1; break;
  case OP_ADAM: *k_in = 4, *k_out = 3; break;
  default: *k_in = 3, *k_out = 2; break; /* Momentum, Adagrad */
  }
}

XdlStatus shape_optimizer(Graph *g, uint32_t n, Diag *d) {
  const Node *nd = &g->nodes[n];
  int k_in, k_out;
  optimizer_groups(nd->op, &k_in, &k_out);
  const Tensor *r = req_in(g, n, 0, "R", d), *t = req_in(g, n, 1, "T", d);
  if (!r || !t) return XDL_ERR_INPUT;
  if (ir_numel(r) != 1 || ir_numel(t) != 1)
    return sh_fail(g, n, d, "R and T must be scalars");
  int rest = nd->n_inputs - 2;
  if (rest < k_in || rest % k_in)
    return sh_fail(g, n, d, "has %d tensor inputs; expected a multiple of %d", rest, k_in);
  int count = rest / k_in;
  if (nd->n_outputs != k_out * count)
    return sh_fail(g, n, d, "has %d outputs; expected %d for %d tensors", nd->n_outputs,
                   k_out * count, count);
  for (int j = 0; j < count; j++) {
    const Tensor *x = req_in(g, n, 2 + j, "X", d);
    if (!x) return XDL_ERR_INPUT;
    for (int k = 1; k < k_in; k++) {
      const Tensor *o = req_in(g, n, 2 + k * count + j, "state or gradient", d);
      if (!o) return XDL_ERR_INPUT;
      if (ir_numel(o) != ir_numel(x))
        return sh_fail(g, n, d, "'%s' and '%s' differ in size", o->name, x->name);
    }
  }
  for (int i = 0; i < nd->n_outputs; i++) {
    int grp = i / count, in_grp = grp == 0 ? 0 : grp + 1;
    const Tensor *src = sh_in(g, n, 2 + in_grp * count + i % count);
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, src->dims, sizeof dims);
    XdlStatus st = sh_set_out(g, n, i, src->dtype, src->rank, dims, d);
    if (st != XDL_OK) return st;
  }
  return XDL_OK;
}

/* Vector operations per updated element, counting every multiply, add, sqrt and divide of
 * the update formula (ONNX's; the regularization term included):
 *   SGD      g = G + c*X (2), X - R*g (2)                                          =  4
 *   Momentum g (2), V = a*V + b*g (3), X - R*V (2)                                  =  7
 *   Adagrad  g (2), H + g*g (2), sqrt(H) + eps (2), X - r*g/den (3)                 =  9
 *   Adam     g (2), V (3), H (4), sqrt(H) + eps (2), X - r*V/den (3), post-norm (2) = 16 */
void work_optimizer(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)macs, (void)gemm;
  const Node *nd = &g->nodes[n];
  int k_in, k_out, per;
  optimizer_groups(nd->op, &k_in, &k_out);
  per = nd->op == OP_SGD ? 4 : nd->op == OP_MOMENTUM ? 7 : nd->op == OP_ADAGRAD ? 9 : 16;
  int count = (nd->n_inputs - 2) / k_in;
  int64_t total = 0;
  for (int j = 0; j < count; j++)
    total = ir_sat_add(total, ir_sat_mul(elems_of(known_in(g, n, 2 + j)), per));
  *ops = total;
}

/* ---- SoftmaxCrossEntropyLoss (ONNX, opset 12) ----
 * (scores [N, C, D...], labels [N, D...] integer, weights? [C]) {reduction, ignore_index}
 * -> loss (scalar, or [N, D...] with reduction "none"), log_prob? (like scores). */
XdlStatus shape_sce_loss(Graph *g, uint32_t n, Diag *d) {
  const Tensor *s = req_in(g, n, 0, "scores", d), *l = req_in(g, n, 1, "labels", d);
  if (!s || !l) return XDL_ERR_INPUT;
  if (s->rank < 2) return sh_fail(g, n, d, "scores must be [N, C, ...], not rank %d", s->rank);
  if (!ir_dtype_is_int(l->dtype)) return sh_fail(g, n, d, "labels must be integers");
  if (l->rank != s->rank - 1 || l->dims[0] != s->dims[0])
    return sh_fail(g, n, d, "labels must be [N, D...] for scores [N, C, D...]");
  for (int i = 1; i < l->rank; i++)
    if (l->dims[i] != s->dims[i + 1])
      return sh_fail(g, n, d, "labels dim %d is %lld, scores have %lld", i,
                     (long long)l->dims[i], (long long)s->dims[i + 1]);
  const Tensor *w = sh_in(g, n, 2);
  if (w && (w->rank != 1 || w->dims[0] != s->dims[1]))
    return sh_fail(g, n, d, "weights must be [C]");
  if (g->nodes[n].n_outputs > 2) return sh_fail(g, n, d, "has at most 2 outputs");
  const char *red = ir_attr_string(g, n, "reduction", "mean");
  if (strcmp(red, "mean") && strcmp(red, "sum") && strcmp(red, "none"))
    return sh_fail(g, n, d, "reduction '%.40s' is not mean, sum or none", red);
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, l->dims, sizeof dims);
  XdlStatus st = sh_set_out(g, n, 0, s->dtype, strcmp(red, "none") ? 0 : l->rank, dims, d);
  memcpy(dims, s->dims, sizeof dims);
  return st == XDL_OK ? sh_set_out(g, n, 1, s->dtype, s->rank, dims, d) : st;
}

/* SoftmaxCrossEntropyLossGrad (internal)
 * (dloss, log_prob, labels, weights?) {reduction, ignore_index} -> dscores like log_prob:
 * dscores[n,c,..] = dloss' * w[label] * (exp(log_prob[n,c,..]) - (c == label)), where dloss'
 * is dloss broadcast (reduction none) or dloss / (sum of w[label] over non-ignored
 * positions) for mean, and every ignored position gets 0. */
XdlStatus shape_sce_loss_grad(Graph *g, uint32_t n, Diag *d) {
  if (!req_in(g, n, 0, "dloss", d) || !req_in(g, n, 2, "labels", d)) return XDL_ERR_INPUT;
  return like_input(g, n, 1, d);
}

/* ---- ConvGradWeight (internal) ----
 * (X [N, C, D...], dY [N, M, O...]) {kernel_shape, strides, pads, dilations, group}
 * -> dW [M, C/group, k...]:
 * dW[m, c, k] = sum over n, o of dY[n, m, o] * X[n, (m / (M/group)) * C/group + c,
 *                                                 o * stride + k * dilation - pad_begin]
 * (zero where the index falls in the padding): the weight gradient of Conv with those
 * attributes (pads explicit, ONNX order). */
XdlStatus shape_conv_grad_weight(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = req_in(g, n, 0, "X", d), *dy = req_in(g, n, 1, "dY", d);
  if (!x || !dy) return XDL_ERR_INPUT;
  int r = x->rank, nk;
  int64_t k[IR_MAX_RANK], dims[IR_MAX_RANK];
  if (r < 3 || dy->rank != r || dy->dims[0] != x->dims[0])
    return sh_fail(g, n, d, "X and dY must be [N, C, spatial...] of the same rank and batch");
  if (!ints_attr(g, n, "kernel_shape", k, &nk, d)) return XDL_ERR_INPUT;
  if (nk != r - 2) return sh_fail(g, n, d, "kernel_shape has %d entries, expected %d", nk, r - 2);
  int64_t group = ir_attr_int(g, n, "group", 1);
  if (group < 1 || x->dims[1] % group || dy->dims[1] % group)
    return sh_fail(g, n, d, "group %lld must divide both channel counts", (long long)group);
  dims[0] = dy->dims[1];
  dims[1] = x->dims[1] / group;
  for (int i = 0; i < nk; i++) {
    if (k[i] < 1) return sh_fail(g, n, d, "kernel_shape[%d] must be positive", i);
    dims[2 + i] = k[i];
  }
  return sh_set_out(g, n, 0, x->dtype, r, dims, d);
}

/* GEMM view of the weight gradient: per group, dW [M/g, C/g * prod(k)] = dY^T X_cols, so
 * G = group, M = Cout/group, N = Cin/group * prod(kernel), K = N_batch * prod(out spatial):
 * the same MACs as the forward convolution. */
void work_conv_grad_weight(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops,
                           GemmView *gemm) {
  (void)ops;
  const Tensor *dy = known_in(g, n, 1);
  const Node *nd = &g->nodes[n];
  if (!dy || nd->outputs[0] == IR_NONE) return;
  const Tensor *dw = &g->tensors[nd->outputs[0]];
  int64_t group = ir_attr_int(g, n, "group", 1);
  if (dw->rank < 3 || dy->rank != dw->rank || group < 1 || dw->dims[0] % group) return;
  int64_t kcols = 1, pix = dy->dims[0];
  for (int i = 1; i < dw->rank; i++)
    kcols = ir_sat_mul(kcols, dw->dims[i]);
  for (int i = 2; i < dy->rank; i++)
    pix = ir_sat_mul(pix, dy->dims[i]);
  gemm->g = group;
  gemm->m = dw->dims[0] / group;
  gemm->n = kcols;
  gemm->k = pix;
  *macs = ir_sat_mul(ir_sat_mul(gemm->g, gemm->m), ir_sat_mul(gemm->n, gemm->k));
}

/* ---- pooling gradients (internal) ----
 * MaxPoolGrad(dY, X) {kernel_shape, strides, pads, dilations} -> dX like X: each dY element
 * is added at the position of its window's maximum in X (the first one in row-major window
 * order; padding never wins).
 * AveragePoolGrad(dY) {kernel_shape, strides, pads, count_include_pad, input_shape} -> dX of
 * input_shape: each dY element, divided by its window's element count (positions inside the
 * input, or inside the padded input with count_include_pad), is added to every input
 * position of the window. Pads are explicit (ONNX order); windows are those of dY's dims. */
XdlStatus shape_max_pool_grad(Graph *g, uint32_t n, Diag *d) {
  const Tensor *dy = req_in(g, n, 0, "dY", d), *x = req_in(g, n, 1, "X", d);
  if (!dy || !x) return XDL_ERR_INPUT;
  if (dy->rank != x->rank || dy->rank < 3)
    return sh_fail(g, n, d, "dY and X must be [N, C, spatial...] of the same rank");
  return like_input(g, n, 1, d);
}

XdlStatus shape_average_pool_grad(Graph *g, uint32_t n, Diag *d) {
  const Tensor *dy = req_in(g, n, 0, "dY", d);
  if (!dy) return XDL_ERR_INPUT;
  int64_t dims[IR_MAX_RANK];
  int r;
  if (!ints_attr(g, n, "input_shape", dims, &r, d)) return XDL_ERR_INPUT;
  if (r != dy->rank || dims[0] != dy->dims[0] || dims[1] != dy->dims[1])
    return sh_fail(g, n, d, "input_shape must keep dY's rank, batch and channels");
  return sh_set_out(g, n, 0, dy->dtype, r, dims, d);
}

/* Every dY element visits one kernel window. */
void work_pool_grad(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)macs, (void)gemm;
  const Attr *k = ir_node_attr(g, n, "kernel_shape");
  int64_t window = 1;
  if (k && k->kind == ATTR_INTS)
    for (int i = 0; i < k->n; i++)
      window = ir_sat_mul(window, k->ints[i]);
  *ops = ir_sat_mul(elems_of(known_in(g, n, 0)), window);
}

/* ---- ReduceToShape (internal) ----
 * (X) {shape} -> Y of `shape`, which must broadcast (numpy rules) to X's shape: Y[j] is the
 * sum of the X elements that broadcasting maps to j — the gradient of a broadcast. */
XdlStatus shape_reduce_to_shape(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = req_in(g, n, 0, "X", d);
  if (!x) return XDL_ERR_INPUT;
  int64_t dims[IR_MAX_RANK], b[IR_MAX_RANK];
  int r, rb;
  if (!ints_attr(g, n, "shape", dims, &r, d)) return XDL_ERR_INPUT;
  if (!sh_broadcast(r, dims, x->rank, x->dims, &rb, b) || rb != x->rank ||
      memcmp(b, x->dims, (size_t)rb * sizeof *b) != 0)
    return sh_fail(g, n, d, "shape does not broadcast to the input's shape");
  return sh_set_out(g, n, 0, x->dtype, r, dims, d);
}

/* ---- elementwise gradients (internal): output 0 like input 0 ----
 * UnaryGrad(dY, X?, Y?) {op, alpha?, beta?, gamma?} -> dX = dY * f'(x) of the unary op named
 * by `op` (its forward attributes copied), from X or Y, whichever the op's derivative reads:
 *   Relu Y>0 | LeakyRelu X>0 ? 1 : alpha | Elu Y>0 ? 1 : Y+alpha | Selu Y>0 ? gamma :
 *   Y+gamma*alpha | Sigmoid Y(1-Y) | HardSigmoid 0<Y<1 ? alpha : 0 | HardSwish X<-3 ? 0 :
 *   X>3 ? 1 : (2X+3)/6 | Tanh 1-Y^2 | Softplus 1/(1+e^-X) | Clip X==Y (inside the bounds) |
 *   Erf 2/sqrt(pi) e^(-X^2) | Sqrt 0.5/Y | Exp Y | Log 1/X | Neg -1 | Abs sign(X) |
 *   Reciprocal -Y^2.
 * SoftmaxGrad(dY, Y) {axis, coerced}: dX = Y * (dY - sum_axis(dY * Y)).
 * LogSoftmaxGrad(dY, Y) {axis, coerced}: dX = dY - exp(Y) * sum_axis(dY).
 *   The sums run over `axis` alone, or with coerced = 1 (opset < 13) over axes [axis, rank).
 * DropoutGrad(dY, mask) {ratio}: dX = dY * mask / (1 - ratio). */
XdlStatus shape_grad_like_first(Graph *g, uint32_t n, Diag *d) { return like_input(g, n, 0, d); }

/* ---- normalization gradients (internal) ----
 * NormalizationGrad(dY, X, scale, mean?, var?) {axes, scale_axis, epsilon} -> dX like X.
 * scale (and mean, var when given) align with X's dims from scale_axis on (broadcast).
 * With mean and var (inference statistics): dX = dY * scale / sqrt(var + epsilon).
 * Without (batch statistics over `axes`): xh = (X - mu) / sigma, g = dY * scale,
 *   dX = (g - mean_axes(g) - xh * mean_axes(g * xh)) / sigma, sigma = sqrt(var_axes + eps).
 * NormalizationScaleGrad(dY, X, mean?, var?) {axes, scale_axis, epsilon, shape} -> the
 * gradient of scale, of `shape` (aligned at scale_axis): sum of dY * xh over every other
 * position, xh from the given statistics or from batch statistics over `axes`. */
XdlStatus shape_norm_grad(Graph *g, uint32_t n, Diag *d) {
  const Tensor *dy = req_in(g, n, 0, "dY", d), *x = req_in(g, n, 1, "X", d);
  if (!dy || !x || !req_in(g, n, 2, "scale", d)) return XDL_ERR_INPUT;
  if (ir_numel(dy) != ir_numel(x)) return sh_fail(g, n, d, "dY and X differ in size");
  return like_input(g, n, 1, d);
}

XdlStatus shape_norm_scale_grad(Graph *g, uint32_t n, Diag *d) {
  const Tensor *dy = req_in(g, n, 0, "dY", d), *x = req_in(g, n, 1, "X", d);
  if (!dy || !x) return XDL_ERR_INPUT;
  int64_t dims[IR_MAX_RANK];
  int r;
  if (!ints_attr(g, n, "shape", dims, &r, d)) return XDL_ERR_INPUT;
  int64_t ax = ir_attr_int(g, n, "scale_axis", 1);
  if (ax < 0 || ax + r > x->rank) return sh_fail(g, n, d, "scale_axis is out of range");
  return sh_set_out(g, n, 0, dy->dtype, r, dims, d);
}

/* ---- GatherGrad (internal) ----
 * (dY, indices) {axis, shape, elements} -> dX of `shape` (the gathered data's), zero but for
 * dY scatter-added where Gather (elements = 0) or GatherElements (elements = 1) read it;
 * negative indices count from the end of axis. */
XdlStatus shape_gather_grad(Graph *g, uint32_t n, Diag *d) {
  const Tensor *dy = req_in(g, n, 0, "dY", d);
  if (!dy || !req_in(g, n, 1, "indices", d)) return XDL_ERR_INPUT;
  int64_t dims[IR_MAX_RANK];
  int r;
  if (!ints_attr(g, n, "shape", dims, &r, d)) return XDL_ERR_INPUT;
  return sh_set_out(g, n, 0, dy->dtype, r, dims, d);
}

/* ---- SliceGrad (internal) ----
 * (dY) {shape, starts, steps} -> dX of `shape` (the sliced data's), one entry of starts and
 * steps per axis, already resolved as Slice resolves them (starts = the first index taken,
 * after ONNX's clamping; steps non-zero, negative ones walking backwards):
 *   dX[starts + j * steps] = dY[j] for every index j of dY, and 0 at every other position.
 * A non-zero step never maps two j to one position, so nothing is summed. */
XdlStatus shape_slice_grad(Graph *g, uint32_t n, Diag *d) {
  const Tensor *dy = req_in(g, n, 0, "dY", d);
  if (!dy) return XDL_ERR_INPUT;
  int64_t dims[IR_MAX_RANK], starts[IR_MAX_RANK], steps[IR_MAX_RANK];
  int r, rs, rp;
  if (!ints_attr(g, n, "shape", dims, &r, d) || !ints_attr(g, n, "starts", starts, &rs, d) ||
      !ints_attr(g, n, "steps", steps, &rp, d))
    return XDL_ERR_INPUT;
  if (rs != r || rp != r || dy->rank != r)
    return sh_fail(g, n, d, "shape, starts, steps and dY differ in rank");
  for (int k = 0; k < r; k++) {
    if (steps[k] == 0) return sh_fail(g, n, d, "step of axis %d is 0", k);
    if (dy->dims[k] == 0) continue;
    int64_t last;
    if (!ir_mul_ok(dy->dims[k] - 1, steps[k], &last) || !ir_add_ok(last, starts[k], &last) ||
        starts[k] < 0 || starts[k] >= dims[k] || last < 0 || last >= dims[k])
      return sh_fail(g, n, d, "axis %d: dY positions fall outside the shape", k);
  }
  return sh_set_out(g, n, 0, dy->dtype, r, dims, d);
}

/* ---- PadGrad (internal) ----
 * (dY) {shape, pads, mode} -> dX of `shape` (the padded data's); pads holds 2 * rank entries
 * (all the befores, then all the afters, negative = cropped) with
 * dY dims = shape + before + after. Every dY element at j is added onto the X element Pad
 * copied it from: i = j - before on each axis, mapped back into [0, size) as `mode` says —
 * "constant" drops positions outside (the fill), "edge" clamps, "wrap" takes i mod size,
 * "reflect" mirrors about the end elements (period 2 * (size - 1); size 1 maps to 0). Several
 * dY elements may land on one X element; their values are summed. */
XdlStatus shape_pad_grad(Graph *g, uint32_t n, Diag *d) {
  const Tensor *dy = req_in(g, n, 0, "dY", d);
  if (!dy) return XDL_ERR_INPUT;
  int64_t dims[IR_MAX_RANK];
  int r;
  if (!ints_attr(g, n, "shape", dims, &r, d)) return XDL_ERR_INPUT;
  const Attr *p = ir_node_attr(g, n, "pads");
  if (!p || p->kind != ATTR_INTS || p->n != 2 * r)
    return sh_fail(g, n, d, "attribute 'pads' needs 2 * %d integers", r);
  const char *mode = ir_attr_string(g, n, "mode", "constant");
  bool constant = strcmp(mode, "constant") == 0;
  if (!constant && strcmp(mode, "reflect") != 0 && strcmp(mode, "edge") != 0 &&
      strcmp(mode, "wrap") != 0)
    return sh_fail(g, n, d, "unknown mode '%s'", mode);
  if (dy->rank != r) return sh_fail(g, n, d, "shape and dY differ in rank");
  for (int k = 0; k < r; k++) {
    int64_t want;
    if (!ir_add_ok(dims[k], p->ints[k], &want) || !ir_add_ok(want, p->ints[r + k], &want) ||
        want != dy->dims[k])
      return sh_fail(g, n, d, "axis %d: shape plus pads is not dY's size", k);
    if (!constant && dims[k] == 0 && dy->dims[k] > 0)
      return sh_fail(g, n, d, "axis %d: cannot %s-pad an empty axis", k, mode);
  }
  return sh_set_out(g, n, 0, dy->dtype, r, dims, d);
}
