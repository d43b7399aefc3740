/* interp_train.c — interpreter kernels of the training ops: SoftmaxCrossEntropyLoss, ONNX's
 * preview-training optimizers (Momentum, Adagrad, Adam) and the internal SGD, the internal
 * gradient ops the autodiff pass creates (their meaning is stated in ir/shape_train.c; the
 * window ones, ConvGradWeight and the pooling gradients, are in interp_nn.c), and the capsule
 * op Squash. Gradient nodes have no kernel: the autodiff pass expands them. */
#include <math.h>
#include <string.h>

#include "ir/interp_impl.h"

static int64_t prod(const int64_t *dims, int count) {
  int64_t p = 1;
  for (int k = 0; k < count; k++) p *= dims[k];
  return p;
}

/* ---- SoftmaxCrossEntropyLoss and its gradient ---- */

/* Weight of label l (0 where l is ignore_index; weights clamp l into range as numpy's take
 * with mode "clip" does). */
static double label_weight(const Value *w, int64_t l, int64_t n_classes, bool has_ii,
                           int64_t ii) {
  if (has_ii && l == ii) return 0;
  if (!w) return 1;
  return vf(w, l < 0 ? 0 : l >= n_classes ? n_classes - 1 : l);
}

/* SoftmaxCrossEntropyLoss(scores [N, C, D...], labels [N, D...], weights? [C])
 * {reduction, ignore_index} -> loss, log_prob?: log_prob = log-softmax over C;
 * loss[n, d] = -w[label] * log_prob[n, label, d]; mean divides the sum by sum of w[label]. */
XdlStatus ik_sce_loss(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ts = ik_tin(ip, n, 0);
  const Value *s = ik_in(ip, n, 0), *lab = ik_in(ip, n, 1), *w = ik_in(ip, n, 2);
  Value *loss = ik_out(ip, n, 0), *lp = ik_out(ip, n, 1);
  if (!s || !lab || !loss || s->is_int) return ik_fail(ip, n, d, "needs float scores and labels");
  const char *red = ir_attr_string(ip->g, n, "reduction", "mean");
  bool has_ii = ir_node_attr(ip->g, n, "ignore_index") != NULL;
  int64_t ii = ir_attr_int(ip->g, n, "ignore_index", 0);
  int64_t N = ts->dims[0], C = ts->dims[1], inner = prod(&ts->dims[2], ts->rank - 2);
  double total = 0, wsum = 0;
  for (int64_t b = 0; b < N; b++)
    for (int64_t i = 0; i < inner; i++) {
      double mx = -INFINITY, sum = 0;
      for (int64_t c = 0; c < C; c++) mx = fmax(mx, s->f[(b * C + c) * inner + i]);
      for (int64_t c = 0; c < C; c++) sum += exp(s->f[(b * C + c) * inner + i] - mx);
      double lse = mx + log(sum);
      for (int64_t c = 0; lp && c < C; c++)
        lp->f[(b * C + c) * inner + i] = s->f[(b * C + c) * inner + i] - lse;
      int64_t l = vi(lab, b * inner + i);
      double wl = label_weight(w, l, C, has_ii, ii);
      double li = wl == 0 ? 0 : -wl * (s->f[(b * C + l) * inner + i] - lse);
      if (strcmp(red, "none") == 0) loss->f[b * inner + i] = li;
      total += li;
      wsum += wl;
    }
  if (strcmp(red, "sum") == 0) loss->f[0] = total;
  else if (strcmp(red, "mean") == 0) loss->f[0] = total / wsum;
  return XDL_OK;
}

/* SoftmaxCrossEntropyLossGrad(dloss, log_prob, labels, weights?) -> dscores:
 * dloss' * w[label] * (exp(log_prob) - (c == label)), 0 at ignored positions. */
XdlStatus ik_sce_loss_grad(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tl = ik_tin(ip, n, 1);
  const Value *dl = ik_in(ip, n, 0), *lp = ik_in(ip, n, 1), *lab = ik_in(ip, n, 2);
  const Value *w = ik_in(ip, n, 3);
  Value *ds = ik_out(ip, n, 0);
  if (!dl || !lp || !lab || !ds) return ik_fail(ip, n, d, "needs dloss, log_prob and labels");
  const char *red = ir_attr_string(ip->g, n, "reduction", "mean");
  bool has_ii = ir_node_attr(ip->g, n, "ignore_index") != NULL, none = !strcmp(red, "none");
  int64_t ii = ir_attr_int(ip->g, n, "ignore_index", 0);
  int64_t N = tl->dims[0], C = tl->dims[1], inner = prod(&tl->dims[2], tl->rank - 2);
  double wsum = 0;
  for (int64_t k = 0; k < lab->n; k++) wsum += label_weight(w, vi(lab, k), C, has_ii, ii);
  for (int64_t b = 0; b < N; b++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t l = vi(lab, b * inner + i);
      double wl = label_weight(w, l, C, has_ii, ii);
      double g = none ? vf(dl, b * inner + i) : vf(dl, 0);
      if (!strcmp(red, "mean")) g /= wsum;
      for (int64_t c = 0; c < C; c++) {
        int64_t at = (b * C + c) * inner + i;
        ds->f[at] = wl == 0 ? 0 : g * wl * (exp(lp->f[at]) - (c == l ? 1.0 : 0.0));
      }
    }
  return XDL_OK;
}

/* ---- optimizers ---- */

/* SGD, Momentum, Adagrad, Adam over (R, T, X..., G..., state...) with the update formulas of
 * ONNX's Operators.md (ai.onnx.preview.training); SGD: X - R (G + norm_coefficient X). */
XdlStatus ik_optimizer(Interp *ip, uint32_t n, Diag *d) {
  const Node *nd = &ip->g->nodes[n];
  OpKind op = nd->op;
  int k_in = op == OP_SGD ? 2 : op == OP_ADAM ? 4 : 3;
  int count = (nd->n_inputs - 2) / k_in;
  const Value *rv = ik_in(ip, n, 0), *tv = ik_in(ip, n, 1);
  if (!rv || !tv || count < 1) return ik_fail(ip, n, d, "needs R, T and tensors to update");
  double R = vf(rv, 0), T = vf(tv, 0);
  double norm = ir_attr_float(ip->g, n, "norm_coefficient", 0.0);
  double alpha = ir_attr_float(ip->g, n, "alpha", op == OP_ADAM ? 0.9 : 0.0);
  double beta = ir_attr_float(ip->g, n, "beta", op == OP_ADAM ? 0.999 : 0.0);
  double eps = ir_attr_float(ip->g, n, "epsilon", 1e-6);
  double decay = ir_attr_float(ip->g, n, "decay_factor", 0.0);
  double post = ir_attr_float(ip->g, n, "norm_coefficient_post", 0.0);
  bool nesterov = strcmp(ir_attr_string(ip->g, n, "mode", "standard"), "nesterov") == 0;
  for (int j = 0; j < count; j++) {
    const Value *x = ik_in(ip, n, 2 + j), *g = ik_in(ip, n, 2 + count + j);
    const Value *s1 = k_in > 2 ? ik_in(ip, n, 2 + 2 * count + j) : NULL;
    const Value *s2 = k_in > 3 ? ik_in(ip, n, 2 + 3 * count + j) : NULL;
    Value *xo = ik_out(ip, n, j), *o1 = ik_out(ip, n, count + j);
    Value *o2 = ik_out(ip, n, 2 * count + j);
    if (!x || !g || (k_in > 2 && !s1) || (k_in > 3 && !s2))
      return ik_fail(ip, n, d, "tensor group %d is incomplete", j);
    for (int64_t k = 0; k < x->n; k++) {
      double xv = vf(x, k), gr = norm * xv + vf(g, k), xn = xv, v1 = 0, v2 = 0;
      switch (op) {
      case OP_SGD: xn = xv - R * gr; break;
      case OP_MOMENTUM:
        v1 = alpha * vf(s1, k) + (T > 0 ? beta : 1.0) * gr;
        xn = nesterov ? xv - R * (gr + alpha * v1) : xv - R * v1;
        break;
      case OP_ADAGRAD: {
        double r = R / (1 + T * decay);
        v1 = vf(s1, k) + gr * gr;
        xn = xv - r * gr / (sqrt(v1) + eps);
        break;
      }
      default: { /* Adam */
        v1 = alpha * vf(s1, k) + (1 - alpha) * gr;
        v2 = beta * vf(s2, k) + (1 - beta) * gr * gr;
        double ra = T > 0 ? R * sqrt(1 - pow(beta, T)) / (1 - pow(alpha, T)) : R;
        xn = (1 - post) * (xv - ra * v1 / (sqrt(v2) + eps));
        break;
      }
      }
      if (xo) vset(xo, k, xn);
      if (o1) vset(o1, k, v1);
      if (o2) vset(o2, k, v2);
    }
  }
  return XDL_OK;
}

/* ---- broadcast and elementwise gradients ---- */

/* ReduceToShape(X) {shape} -> Y: Y[j] sums the X elements broadcasting maps to j. */
XdlStatus ik_reduce_to_shape(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  for (int64_t k = 0; k < y->n; k++) vset(y, k, 0);
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < x->n; k++, fold_next(tx->rank, tx->dims, idx)) {
    int64_t at = fold_bcast_flat(ty, tx->rank, idx);
    if (y->is_int) y->i[at] += vi(x, k);
    else y->f[at] += vf(x, k);
  }
  return XDL_OK;
}

/* The unary op a UnaryGrad differentiates: attribute op, its ONNX name (or an OpKind). */
static OpKind unary_grad_op(const Interp *ip, uint32_t n) {
  const Attr *a = ir_node_attr(ip->g, n, "op");
  if (a && a->kind == ATTR_STRING && a->s) return ir_op_lookup("", a->s);
  if (a && a->kind == ATTR_INT && a->i >= 0 && a->i < OP_COUNT) return (OpKind)a->i;
  return OP_COUNT;
}

/* UnaryGrad(dY, X?, Y?) {op, alpha?, beta?, gamma?} -> dX = dY * f'(x). */
XdlStatus ik_unary_grad(Interp *ip, uint32_t n, Diag *d) {
  const Value *dy = ik_in(ip, n, 0), *x = ik_in(ip, n, 1), *y = ik_in(ip, n, 2);
  Value *dx = ik_out(ip, n, 0);
  OpKind op = unary_grad_op(ip, n);
  if (!dy || !dx || op == OP_COUNT) return ik_fail(ip, n, d, "needs dY and a known 'op'");
  double alpha = ir_attr_float(ip->g, n, "alpha", op == OP_LEAKY_RELU ? 0.01
                               : op == OP_HARD_SIGMOID ? 0.2 : op == OP_SELU
                               ? 1.67326319217681884765625 : 1.0);
  double gamma = ir_attr_float(ip->g, n, "gamma", 1.05070102214813232421875);
  bool needs_x = op == OP_LEAKY_RELU || op == OP_HARD_SWISH || op == OP_SOFTPLUS ||
                 op == OP_CLIP || op == OP_ERF || op == OP_LOG || op == OP_ABS;
  bool needs_y = op == OP_RELU || op == OP_ELU || op == OP_SELU || op == OP_SIGMOID ||
                 op == OP_HARD_SIGMOID || op == OP_TANH || op == OP_CLIP || op == OP_SQRT ||
                 op == OP_EXP || op == OP_RECIPROCAL;
  if ((needs_x && !x) || (needs_y && !y))
    return ik_fail(ip, n, d, "the derivative of %s needs %s", ir_ops[op].name,
                   needs_x && !x ? "X (input 1)" : "Y (input 2)");
  for (int64_t k = 0; k < dx->n; k++) {
    double X = x ? vf(x, k) : 0, Y = y ? vf(y, k) : 0, f;
    switch (op) {
    case OP_RELU: f = Y > 0; break;
    case OP_LEAKY_RELU: f = X > 0 ? 1 : alpha; break;
    case OP_ELU: f = Y > 0 ? 1 : Y + alpha; break;
    case OP_SELU: f = Y > 0 ? gamma : Y + gamma * alpha; break;
    case OP_SIGMOID: f = Y * (1 - Y); break;
    case OP_HARD_SIGMOID: f = Y > 0 && Y < 1 ? alpha : 0; break;
    case OP_HARD_SWISH: f = X < -3 ? 0 : X > 3 ? 1 : (2 * X + 3) / 6; break;
    case OP_TANH: f = 1 - Y * Y; break;
    case OP_SOFTPLUS: f = 1 / (1 + exp(-X)); break;
    case OP_CLIP: f = X == Y; break;
    case OP_ERF: f = 1.1283791670955126 * exp(-X * X); break; /* 2 / sqrt(pi) */
    case OP_SQRT: f = 0.5 / Y; break;
    case OP_EXP: f = Y; break;
    case OP_LOG: f = 1 / X; break;
    case OP_NEG: f = -1; break;
    case OP_ABS: f = X > 0 ? 1 : X < 0 ? -1 : 0; break;
    case OP_RECIPROCAL: f = -Y * Y; break;
    case OP_IDENTITY: f = 1; break;
    default: return ik_fail(ip, n, d, "no derivative for operator %s", ir_ops[op].name);
    }
    dx->f[k] = vf(dy, k) * f;
  }
  return XDL_OK;
}

/* SoftmaxGrad(dY, Y) {axis, coerced}: dX = Y (dY - sum(dY Y));
 * LogSoftmaxGrad(dY, Y): dX = dY - exp(Y) sum(dY); sums over axis (or [axis, rank)). */
XdlStatus ik_softmax_grad(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ty = ik_tin(ip, n, 1);
  const Value *dy = ik_in(ip, n, 0), *y = ik_in(ip, n, 1);
  Value *dx = ik_out(ip, n, 0);
  if (!dy || !y || !dx) return ik_fail(ip, n, d, "needs dY and Y");
  bool is_log = ip->g->nodes[n].op == OP_LOG_SOFTMAX_GRAD;
  bool coerced = ir_attr_int(ip->g, n, "coerced", 0) != 0;
  int r = ty->rank;
  int64_t a = ir_attr_int(ip->g, n, "axis", -1);
  if (a < 0) a += r;
  if (a < 0 || a > r || (!coerced && a == r)) return ik_fail(ip, n, d, "axis out of range");
  int64_t outer = prod(ty->dims, (int)a), len, inner;
  if (coerced) {
    len = prod(&ty->dims[a], r - (int)a);
    inner = 1;
  } else {
    len = ty->dims[a];
    inner = prod(&ty->dims[a + 1], r - (int)a - 1);
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t s = 0; s < inner; s++) {
      int64_t base = o * len * inner + s;
      double sum = 0;
      for (int64_t j = 0; j < len; j++) {
        int64_t at = base + j * inner;
        sum += is_log ? vf(dy, at) : vf(dy, at) * vf(y, at);
      }
      for (int64_t j = 0; j < len; j++) {
        int64_t at = base + j * inner;
        dx->f[at] = is_log ? vf(dy, at) - exp(vf(y, at)) * sum : vf(y, at) * (vf(dy, at) - sum);
      }
    }
  return XDL_OK;
}

/* ---- normalization gradients ---- */

/* Offset in a tensor of dims sdims (rank sr) aligned with X's axes from `axis` on, for X's
 * multi-index idx (dims of size 1 broadcast). */
static int64_t aligned_flat(const int64_t *sdims, int sr, int axis, const int64_t *idx) {
  int64_t at = 0;
  for (int j = 0; j < sr; j++) at = at * sdims[j] + (sdims[j] == 1 ? 0 : idx[axis + j]);
  return at;
}

/* The normalization statistics of X: for each group of the non-`axes` positions, mean and
 * 1/sigma; from the given mean/var (aligned at scale_axis) or over axes. groups[k] is the
 * group of X's element k. */
typedef struct NormStats {
  int64_t *group;      /* per X element */
  double *mu, *inv;    /* per group */
  int64_t n_groups;
} NormStats;

static void norm_stats_free(NormStats *s) {
  xdl_free(s->group);
  xdl_free(s->mu);
  xdl_free(s->inv);
}

static XdlStatus norm_stats(Interp *ip, uint32_t n, const Tensor *tx, const Value *x,
                            const Tensor *tmean, const Value *mean, const Value *var,
                            NormStats *s, Diag *d) {
  memset(s, 0, sizeof *s);
  double eps = ir_attr_float(ip->g, n, "epsilon", 1e-5);
  int sax = (int)ir_attr_int(ip->g, n, "scale_axis", 1);
  bool reduce[IR_MAX_RANK] = {false};
  int64_t axes[IR_MAX_RANK];
  int na = ik_attr_ints(ip, n, "axes", axes, IR_MAX_RANK);
  for (int i = 0; i < na && i < IR_MAX_RANK; i++) {
    int ax;
    if (sh_axis(axes[i], tx->rank, &ax)) reduce[ax] = true;
  }
  int64_t groups = 1;
  for (int k = 0; k < tx->rank; k++)
    if (!reduce[k]) groups *= tx->dims[k];
  if (mean && var) groups = mean->n;
  s->n_groups = groups;
  s->group = xdl_malloc((size_t)(x->n ? x->n : 1) * sizeof *s->group);
  s->mu = xdl_calloc((size_t)(groups ? groups : 1), sizeof *s->mu);
  s->inv = xdl_calloc((size_t)(groups ? groups : 1), sizeof *s->inv);
  if (!s->group || !s->mu || !s->inv) {
    norm_stats_free(s);
    return ik_oom(d);
  }
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < x->n; k++, fold_next(tx->rank, tx->dims, idx)) {
    int64_t at = 0;
    if (mean && var) {
      at = aligned_flat(tmean->dims, tmean->rank, sax, idx);
    } else {
      for (int j = 0; j < tx->rank; j++)
        if (!reduce[j]) at = at * tx->dims[j] + idx[j];
    }
    s->group[k] = at;
  }
  if (mean && var) {
    for (int64_t gi = 0; gi < groups; gi++) {
      s->mu[gi] = vf(mean, gi);
      s->inv[gi] = 1 / sqrt(vf(var, gi) + eps);
    }
    return XDL_OK;
  }
  double per = groups ? (double)x->n / (double)groups : 1;
  for (int64_t k = 0; k < x->n; k++) s->mu[s->group[k]] += x->f[k] / per;
  for (int64_t k = 0; k < x->n; k++) {
    double c = x->f[k] - s->mu[s->group[k]];
    s->inv[s->group[k]] += c * c / per; /* variance for now */
  }
  for (int64_t gi = 0; gi < groups; gi++) s->inv[gi] = 1 / sqrt(s->inv[gi] + eps);
  return XDL_OK;
}

/* NormalizationGrad(dY, X, scale, mean?, var?) {axes, scale_axis, epsilon} -> dX. */
XdlStatus ik_norm_grad(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 1), *tsc = ik_tin(ip, n, 2), *tm = ik_tin(ip, n, 3);
  const Value *dy = ik_in(ip, n, 0), *x = ik_in(ip, n, 1), *sc = ik_in(ip, n, 2);
  const Value *mean = ik_in(ip, n, 3), *var = ik_in(ip, n, 4);
  Value *dx = ik_out(ip, n, 0);
  if (!dy || !x || !sc || !dx || x->is_int) return ik_fail(ip, n, d, "needs dY, X and scale");
  int sax = (int)ir_attr_int(ip->g, n, "scale_axis", 1);
  NormStats s;
  XdlStatus st = norm_stats(ip, n, tx, x, tm, mean, var, &s, d);
  if (st != XDL_OK) return st;
  double *mg = xdl_calloc((size_t)(s.n_groups ? s.n_groups : 1) * 2, sizeof *mg);
  if (!mg) {
    norm_stats_free(&s);
    return ik_oom(d);
  }
  double *mgx = mg + s.n_groups, per = s.n_groups ? (double)x->n / (double)s.n_groups : 1;
  int64_t idx[IR_MAX_RANK] = {0};
  bool batch = !(mean && var);
  for (int pass = 0; pass < 2; pass++) {
    memset(idx, 0, sizeof idx);
    for (int64_t k = 0; k < x->n; k++, fold_next(tx->rank, tx->dims, idx)) {
      int64_t gi = s.group[k];
      double gk = vf(dy, k) * vf(sc, aligned_flat(tsc->dims, tsc->rank, sax, idx));
      double xh = (x->f[k] - s.mu[gi]) * s.inv[gi];
      if (!batch) dx->f[k] = gk * s.inv[gi];
      else if (pass == 0) {
        mg[gi] += gk / per;
        mgx[gi] += gk * xh / per;
      } else {
        dx->f[k] = (gk - mg[gi] - xh * mgx[gi]) * s.inv[gi];
      }
    }
    if (!batch) break;
  }
  xdl_free(mg);
  norm_stats_free(&s);
  return XDL_OK;
}

/* NormalizationScaleGrad(dY, X, mean?, var?) {axes, scale_axis, epsilon, shape} -> the sum of
 * dY * xh into `shape` aligned at scale_axis. */
XdlStatus ik_norm_scale_grad(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 1), *tm = ik_tin(ip, n, 2), *to = ik_tout(ip, n, 0);
  const Value *dy = ik_in(ip, n, 0), *x = ik_in(ip, n, 1);
  const Value *mean = ik_in(ip, n, 2), *var = ik_in(ip, n, 3);
  Value *ds = ik_out(ip, n, 0);
  if (!dy || !x || !ds || x->is_int) return ik_fail(ip, n, d, "needs dY and X");
  int sax = (int)ir_attr_int(ip->g, n, "scale_axis", 1);
  NormStats s;
  XdlStatus st = norm_stats(ip, n, tx, x, tm, mean, var, &s, d);
  if (st != XDL_OK) return st;
  for (int64_t k = 0; k < ds->n; k++) ds->f[k] = 0;
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < x->n; k++, fold_next(tx->rank, tx->dims, idx)) {
    int64_t gi = s.group[k];
    ds->f[aligned_flat(to->dims, to->rank, sax, idx)] +=
        vf(dy, k) * (x->f[k] - s.mu[gi]) * s.inv[gi];
  }
  norm_stats_free(&s);
  return XDL_OK;
}

/* DropoutGrad(dY, mask) {ratio}: dX = dY * mask / (1 - ratio). */
XdlStatus ik_dropout_grad(Interp *ip, uint32_t n, Diag *d) {
  const Value *dy = ik_in(ip, n, 0), *mask = ik_in(ip, n, 1);
  Value *dx = ik_out(ip, n, 0);
  if (!dy || !dx) return ik_fail(ip, n, d, "needs dY");
  double ratio = ir_attr_float(ip->g, n, "ratio", 0.0);
  for (int64_t k = 0; k < dx->n; k++)
    dx->f[k] = vf(dy, k) * (mask ? vf(mask, k) : 1.0) / (1 - ratio);
  return XDL_OK;
}

/* GatherGrad(dY, indices) {axis, shape, elements} -> dX: dY scatter-added where Gather
 * (elements = 0) or GatherElements (elements = 1) read. */
XdlStatus ik_gather_grad(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ti = ik_tin(ip, n, 1), *tx = ik_tout(ip, n, 0);
  const Value *dy = ik_in(ip, n, 0), *ind = ik_in(ip, n, 1);
  Value *dx = ik_out(ip, n, 0);
  if (!dy || !ind || !dx) return ik_fail(ip, n, d, "needs dY and indices");
  int axis;
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", 0), tx->rank, &axis))
    return ik_fail(ip, n, d, "axis out of range");
  bool elements = ir_attr_int(ip->g, n, "elements", 0) != 0;
  int64_t len = tx->dims[axis], outer = prod(tx->dims, axis);
  int64_t inner = prod(&tx->dims[axis + 1], tx->rank - axis - 1);
  for (int64_t k = 0; k < dx->n; k++) dx->f[k] = 0;
  if (elements) {
    int64_t st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
    ik_strides(tx->rank, tx->dims, st);
    for (int64_t k = 0; k < ind->n; k++, fold_next(ti->rank, ti->dims, idx)) {
      int64_t j = vi(ind, k), at = 0;
      if (j < 0) j += len;
      if (j < 0 || j >= len) return ik_fail(ip, n, d, "index out of range");
      for (int a = 0; a < tx->rank; a++) at += (a == axis ? j : idx[a]) * st[a];
      dx->f[at] += vf(dy, k);
    }
    return XDL_OK;
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t q = 0; q < ind->n; q++) {
      int64_t j = vi(ind, q);
      if (j < 0) j += len;
      if (j < 0 || j >= len) return ik_fail(ip, n, d, "index out of range");
      for (int64_t s = 0; s < inner; s++)
        dx->f[(o * len + j) * inner + s] += vf(dy, (o * ind->n + q) * inner + s);
    }
  return XDL_OK;
}

/* SliceGrad(dY) {shape, starts, steps} -> dX: zeros but for dX[starts + j * steps] = dY[j]. */
XdlStatus ik_slice_grad(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ty = ik_tin(ip, n, 0), *tx = ik_tout(ip, n, 0);
  const Value *dy = ik_in(ip, n, 0);
  Value *dx = ik_out(ip, n, 0);
  if (!dy || !dx) return ik_fail(ip, n, d, "needs dY");
  int64_t starts[IR_MAX_RANK], steps[IR_MAX_RANK];
  if (ik_attr_ints(ip, n, "starts", starts, IR_MAX_RANK) != tx->rank ||
      ik_attr_ints(ip, n, "steps", steps, IR_MAX_RANK) != tx->rank)
    return ik_fail(ip, n, d, "starts and steps need one entry per axis");
  int64_t st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  ik_strides(tx->rank, tx->dims, st);
  for (int64_t k = 0; k < dx->n; k++) dx->f[k] = 0;
  for (int64_t k = 0; k < dy->n; k++, fold_next(ty->rank, ty->dims, idx)) {
    int64_t at = 0;
    for (int a = 0; a < tx->rank; a++) at += (starts[a] + idx[a] * steps[a]) * st[a];
    dx->f[at] = vf(dy, k);
  }
  return XDL_OK;
}

/* PadGrad(dY) {shape, pads, mode} -> dX: each dY element added onto the X element Pad copied
 * it from (none for the constant fill). */
XdlStatus ik_pad_grad(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ty = ik_tin(ip, n, 0), *tx = ik_tout(ip, n, 0);
  const Value *dy = ik_in(ip, n, 0);
  Value *dx = ik_out(ip, n, 0);
  if (!dy || !dx) return ik_fail(ip, n, d, "needs dY");
  int r = tx->rank;
  int64_t pads[2 * IR_MAX_RANK];
  if (ik_attr_ints(ip, n, "pads", pads, 2 * IR_MAX_RANK) != 2 * r)
    return ik_fail(ip, n, d, "pads need two entries per axis");
  const char *mode = ir_attr_string(ip->g, n, "mode", "constant");
  int m = strcmp(mode, "reflect") == 0 ? 1 : strcmp(mode, "edge") == 0 ? 2
        : strcmp(mode, "wrap") == 0 ? 3 : 0;
  int64_t st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  ik_strides(r, tx->dims, st);
  for (int64_t k = 0; k < dx->n; k++) dx->f[k] = 0;
  for (int64_t k = 0; k < dy->n; k++, fold_next(ty->rank, ty->dims, idx)) {
    int64_t at = 0;
    bool outside = false;
    for (int a = 0; a < r && !outside; a++) {
      int64_t i = ik_pad_source(m, idx[a] - pads[a], tx->dims[a]);
      if (i < 0) outside = true;
      at += i * st[a];
    }
    if (!outside) dx->f[at] += vf(dy, k);
  }
  return XDL_OK;
}

/* ---- capsules ---- */

/* Squash {axis}: v = |s|^2 / (1 + |s|^2) * s / |s| along axis (0 where |s| = 0). */
XdlStatus ik_squash(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  int ax;
  if (!x || !y || x->is_int) return ik_fail(ip, n, d, "needs a float input");
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", -1), tx->rank, &ax))
    return ik_fail(ip, n, d, "axis out of range");
  int64_t outer = prod(tx->dims, ax), len = tx->dims[ax];
  int64_t inner = prod(&tx->dims[ax + 1], tx->rank - ax - 1);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t s = 0; s < inner; s++) {
      double sq = 0;
      for (int64_t j = 0; j < len; j++) {
        double v = x->f[(o * len + j) * inner + s];
        sq += v * v;
      }
      double f = sq > 0 ? sq / (1 + sq) / sqrt(sq) : 0;
      for (int64_t j = 0; j < len; j++)
        y->f[(o * len + j) * inner + s] = f * x->f[(o * len + j) * inner + s];
    }
  return XDL_OK;
}
