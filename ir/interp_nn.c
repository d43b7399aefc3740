/* interp_nn.c — interpreter kernels of the neural-network operators: Conv, ConvTranspose,
 * Gemm, MatMul, Einsum, the normalizations, LRN, pooling, Softmax/LogSoftmax, reductions and
 * ArgMax/ArgMin. Attributes are read as the shape rules in shape_nn.c read them; output dims
 * come from the graph (shape inference already ran), so only what the values need (pads,
 * strides, axes) is recomputed here. Accumulation is in double. */
#include <math.h>
#include <string.h>

#include "ir/interp_impl.h"

/* floor(a / 2) for any sign (Python's a // 2). */
static int64_t floor_half(int64_t a) { return a >= 0 ? a / 2 : -((-a + 1) / 2); }

/* Kernels that compute in floating point only: fails naming the node for integer operands. */
static bool all_float(const Interp *ip, uint32_t n, Diag *d) {
  const Node *nd = &ip->g->nodes[n];
  for (int i = 0; i < nd->n_inputs; i++) {
    const Value *v = ik_in(ip, n, i);
    if (v && v->is_int && (i == 0 || nd->op != OP_BATCH_NORM)) {
      ik_fail(ip, n, d, "integer operands are not supported by this kernel");
      return false;
    }
  }
  const Value *y = ik_out(ip, n, 0);
  if (y && y->is_int) {
    ik_fail(ip, n, d, "integer outputs are not supported by this kernel");
    return false;
  }
  return true;
}

static int64_t prod(const int64_t *dims, int count) {
  int64_t p = 1;
  for (int k = 0; k < count; k++) p *= dims[k];
  return p;
}

/* ---- sliding windows ---- */

typedef struct Win {
  int nsp;
  int64_t k[IR_MAX_RANK], s[IR_MAX_RANK], dil[IR_MAX_RANK];
  int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK]; /* padding at the begin / end of each axis */
} Win;

/* Reads a per-axis attribute with default fill. */
static void axis_attr(const Interp *ip, uint32_t n, const char *name, int count, int64_t fill,
                      int64_t *out) {
  int64_t buf[2 * IR_MAX_RANK];
  int got = ik_attr_ints(ip, n, name, buf, 2 * IR_MAX_RANK);
  for (int i = 0; i < count; i++) out[i] = got == count ? buf[i] : fill;
}

/* Window of Conv and pooling: kernel wk (or kernel_shape), strides, dilations and the pads,
 * from auto_pad as ONNX defines it (SAME_UPPER puts the odd pad at the end) or from pads. */
static void read_win(const Interp *ip, uint32_t n, int nsp, const int64_t *wk, const int64_t *in,
                     const int64_t *out, Win *w) {
  memset(w, 0, sizeof *w);
  w->nsp = nsp;
  if (wk) memcpy(w->k, wk, (size_t)nsp * sizeof *wk);
  else axis_attr(ip, n, "kernel_shape", nsp, 1, w->k);
  axis_attr(ip, n, "strides", nsp, 1, w->s);
  axis_attr(ip, n, "dilations", nsp, 1, w->dil);
  int64_t pads[2 * IR_MAX_RANK];
  axis_attr(ip, n, "pads", 2 * nsp, 0, pads);
  const char *ap = ir_attr_string(ip->g, n, "auto_pad", "NOTSET");
  bool same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
  for (int i = 0; i < nsp; i++) {
    if (same) {
      int64_t ext = (w->k[i] - 1) * w->dil[i] + 1;
      int64_t total = (out[i] - 1) * w->s[i] + ext - in[i];
      if (total < 0) total = 0;
      w->pb[i] = strcmp(ap, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
      w->pe[i] = total - w->pb[i];
    } else if (strcmp(ap, "VALID") == 0) {
      w->pb[i] = w->pe[i] = 0;
    } else {
      w->pb[i] = pads[i];
      w->pe[i] = pads[nsp + i];
    }
  }
}

/* The taps of the window at output position o (multi-index): for each kernel position kp
 * (flat) whose input position lies inside the input, its flat input offset. Returns the count;
 * *in_padded counts taps inside the padded input (for count_include_pad). */
static int window_taps(const Win *w, const int64_t *o, const int64_t *in, int64_t *kpos,
                       int64_t *ipos, int64_t *in_padded) {
  int64_t kk[IR_MAX_RANK] = {0};
  int64_t kplane = prod(w->k, w->nsp);
  int cnt = 0;
  *in_padded = 0;
  for (int64_t kp = 0; kp < kplane; kp++, fold_next(w->nsp, w->k, kk)) {
    bool inside = true, padded = true;
    int64_t flat = 0;
    for (int j = 0; j < w->nsp; j++) {
      int64_t p = o[j] * w->s[j] - w->pb[j] + kk[j] * w->dil[j];
      if (p < 0 || p >= in[j]) inside = false;
      if (p < -w->pb[j] || p >= in[j] + w->pe[j]) padded = false;
      flat = flat * in[j] + p;
    }
    if (padded) (*in_padded)++;
    if (!inside) continue;
    kpos[cnt] = kp;
    ipos[cnt] = flat;
    cnt++;
  }
  return cnt;
}

/* Conv(X [N, C, D...], W [M, C/group, k...], B?) -> Y [N, M, out...]. */
XdlStatus ik_conv(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  const Tensor *tx = ik_tin(ip, n, 0), *tw = ik_tin(ip, n, 1), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0), *w = ik_in(ip, n, 1), *b = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0);
  if (!x || !w || !y) return ik_fail(ip, n, d, "needs X, W and Y");
  int nsp = tx->rank - 2;
  Win win;
  read_win(ip, n, nsp, &tw->dims[2], &tx->dims[2], &ty->dims[2], &win);
  int64_t group = ir_attr_int(ip->g, n, "group", 1);
  int64_t N = tx->dims[0], C = tx->dims[1], M = tw->dims[0], cg = C / group, mg = M / group;
  int64_t in_plane = prod(&tx->dims[2], nsp), out_plane = prod(&ty->dims[2], nsp);
  int64_t k_plane = prod(win.k, nsp);
  int64_t *kpos = xdl_malloc((size_t)(k_plane ? k_plane : 1) * 2 * sizeof *kpos);
  if (!kpos) return ik_oom(d);
  int64_t *ipos = kpos + k_plane, o[IR_MAX_RANK] = {0};
  for (int64_t op = 0; op < out_plane; op++, fold_next(nsp, &ty->dims[2], o)) {
    int64_t padded;
    int taps = window_taps(&win, o, &tx->dims[2], kpos, ipos, &padded);
    for (int64_t bi = 0; bi < N; bi++)
      for (int64_t m = 0; m < M; m++) {
        int64_t grp = m / mg;
        double acc = b ? vf(b, m) : 0.0;
        for (int64_t c = 0; c < cg; c++) {
          const double *xp = x->f + (bi * C + grp * cg + c) * in_plane;
          const double *wp = w->f + (m * cg + c) * k_plane;
          for (int t = 0; t < taps; t++) acc += xp[ipos[t]] * wp[kpos[t]];
        }
        y->f[(bi * M + m) * out_plane + op] = acc;
      }
  }
  xdl_free(kpos);
  return XDL_OK;
}

/* ConvTranspose(X [N, C, D...], W [C, M/group, k...], B?) -> Y [N, M, out...]: every input
 * element scatters x * w to output position i * stride - pad_begin + k * dilation. pad_begin
 * comes from pads, or, with output_shape or SAME_*, from the total padding
 * stride * (in - 1) + output_padding + extent - out (ONNX: SAME_UPPER floor(total / 2) at the
 * begin, otherwise total - floor(total / 2)). */
XdlStatus ik_conv_transpose(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  const Tensor *tx = ik_tin(ip, n, 0), *tw = ik_tin(ip, n, 1), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0), *w = ik_in(ip, n, 1), *b = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0);
  if (!x || !w || !y) return ik_fail(ip, n, d, "needs X, W and Y");
  int nsp = tx->rank - 2;
  Win win;
  memset(&win, 0, sizeof win);
  win.nsp = nsp;
  memcpy(win.k, &tw->dims[2], (size_t)nsp * sizeof *win.k);
  axis_attr(ip, n, "strides", nsp, 1, win.s);
  axis_attr(ip, n, "dilations", nsp, 1, win.dil);
  int64_t pads[2 * IR_MAX_RANK], opad[IR_MAX_RANK], oshape[IR_MAX_RANK + 2];
  axis_attr(ip, n, "pads", 2 * nsp, 0, pads);
  axis_attr(ip, n, "output_padding", nsp, 0, opad);
  const char *ap = ir_attr_string(ip->g, n, "auto_pad", "NOTSET");
  bool have_oshape = ik_attr_ints(ip, n, "output_shape", oshape, IR_MAX_RANK + 2) > 0;
  bool same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
  for (int i = 0; i < nsp; i++) {
    if (have_oshape || same) {
      int64_t ext = (win.k[i] - 1) * win.dil[i] + 1;
      int64_t total = win.s[i] * (tx->dims[2 + i] - 1) + opad[i] + ext - ty->dims[2 + i];
      win.pb[i] = strcmp(ap, "SAME_UPPER") == 0 ? floor_half(total) : total - floor_half(total);
    } else {
      win.pb[i] = strcmp(ap, "VALID") == 0 ? 0 : pads[i];
    }
  }
  int64_t group = ir_attr_int(ip->g, n, "group", 1);
  int64_t N = tx->dims[0], C = tx->dims[1], cg = C / group, mg = tw->dims[1], M = mg * group;
  int64_t in_plane = prod(&tx->dims[2], nsp), out_plane = prod(&ty->dims[2], nsp);
  int64_t k_plane = prod(win.k, nsp);
  for (int64_t bi = 0; bi < N; bi++)
    for (int64_t m = 0; m < M; m++)
      for (int64_t op = 0; op < out_plane; op++)
        y->f[(bi * M + m) * out_plane + op] = b ? vf(b, m) : 0.0;
  int64_t i_idx[IR_MAX_RANK] = {0};
  for (int64_t ipl = 0; ipl < in_plane; ipl++, fold_next(nsp, &tx->dims[2], i_idx)) {
    int64_t kk[IR_MAX_RANK] = {0};
    for (int64_t kp = 0; kp < k_plane; kp++, fold_next(nsp, win.k, kk)) {
      int64_t flat = 0;
      bool inside = true;
      for (int j = 0; j < nsp && inside; j++) {
        int64_t p = i_idx[j] * win.s[j] - win.pb[j] + kk[j] * win.dil[j];
        inside = p >= 0 && p < ty->dims[2 + j];
        flat = flat * ty->dims[2 + j] + p;
      }
      if (!inside) continue;
      for (int64_t bi = 0; bi < N; bi++)
        for (int64_t ci = 0; ci < C; ci++) {
          double xv = x->f[(bi * C + ci) * in_plane + ipl];
          int64_t grp = ci / cg;
          for (int64_t m = 0; m < mg; m++)
            y->f[(bi * M + grp * mg + m) * out_plane + flat] +=
                xv * w->f[(ci * mg + m) * k_plane + kp];
        }
    }
  }
  return XDL_OK;
}

/* ---- matrix products ---- */

/* Gemm: Y = alpha * op(A) op(B) + beta * C, C broadcast to [M, N]. */
XdlStatus ik_gemm(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ta = ik_tin(ip, n, 0), *tc = ik_tin(ip, n, 2), *ty = ik_tout(ip, n, 0);
  const Value *a = ik_in(ip, n, 0), *b = ik_in(ip, n, 1), *c = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0);
  if (!a || !b || !y) return ik_fail(ip, n, d, "needs A, B and Y");
  bool tra = ir_attr_int(ip->g, n, "transA", 0) != 0, trb = ir_attr_int(ip->g, n, "transB", 0) != 0;
  double alpha = ir_attr_float(ip->g, n, "alpha", 1.0), beta = ir_attr_float(ip->g, n, "beta", 1.0);
  int64_t M = ty->dims[0], N = ty->dims[1], K = ta->dims[tra ? 0 : 1];
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++)
        acc += vf(a, tra ? k * M + i : i * K + k) * vf(b, trb ? j * K + k : k * N + j);
      double v = alpha * acc;
      if (c) {
        int64_t idx[2] = {i, j};
        v += beta * vf(c, fold_bcast_flat(tc, 2, idx));
      }
      vset(y, i * N + j, v);
    }
  return XDL_OK;
}

/* Offset of batch index bi (rank rb, the output's batch axes) in a tensor whose batch dims
 * dims[0..r) broadcast to it (aligned from the right), in units of one matrix. */
static int64_t batch_offset(const int64_t *dims, int r, const int64_t *bi, int rb) {
  int64_t off = 0;
  for (int k = 0; k < r; k++) off = off * dims[k] + (dims[k] == 1 ? 0 : bi[rb - r + k]);
  return off;
}

/* MatMul with numpy.matmul semantics (1-D operands promoted and the inserted axis dropped). */
XdlStatus ik_matmul(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *ta = ik_tin(ip, n, 0), *tb = ik_tin(ip, n, 1), *ty = ik_tout(ip, n, 0);
  const Value *a = ik_in(ip, n, 0), *b = ik_in(ip, n, 1);
  Value *y = ik_out(ip, n, 0);
  if (!a || !b || !y) return ik_fail(ip, n, d, "needs A, B and Y");
  int ra = ta->rank, rb = tb->rank;
  int64_t M = ra == 1 ? 1 : ta->dims[ra - 2], K = ta->dims[ra - 1];
  int64_t N = rb == 1 ? 1 : tb->dims[rb - 1];
  int rbat = ty->rank - (ra > 1) - (rb > 1);
  int64_t bi[IR_MAX_RANK] = {0}, nbat = prod(ty->dims, rbat);
  for (int64_t bo = 0; bo < nbat; bo++, fold_next(rbat, ty->dims, bi)) {
    int64_t ao = batch_offset(ta->dims, ra > 2 ? ra - 2 : 0, bi, rbat) * M * K;
    int64_t bof = batch_offset(tb->dims, rb > 2 ? rb - 2 : 0, bi, rbat) * K * N;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0;
        int64_t acc_i = 0;
        for (int64_t k = 0; k < K; k++) {
          if (y->is_int) acc_i += vi(a, ao + i * K + k) * vi(b, bof + k * N + j);
          else acc += vf(a, ao + i * K + k) * vf(b, bof + k * N + j);
        }
        int64_t at = (bo * M + i) * N + j;
        if (y->is_int) y->i[at] = acc_i;
        else y->f[at] = acc;
      }
  }
  return XDL_OK;
}

/* Einsum over one or two operands: every combination of output and summed labels visited once;
 * operand axes map to labels as einsum_parse numbers them ('...' axes aligned from the right). */
XdlStatus ik_einsum(Interp *ip, uint32_t n, Diag *d) {
  const Node *nd = &ip->g->nodes[n];
  const char *eq = ir_attr_string(ip->g, n, "equation", "");
  int n_ops = nd->n_inputs, ranks[EIN_MAX_OPS];
  const int64_t *dims[EIN_MAX_OPS];
  if (n_ops < 1 || n_ops > EIN_MAX_OPS) return ik_fail(ip, n, d, "needs 1 or 2 operands");
  for (int k = 0; k < n_ops; k++) {
    if (!ik_in(ip, n, k)) return ik_fail(ip, n, d, "operand %d is missing", k);
    ranks[k] = ik_tin(ip, n, k)->rank;
    dims[k] = ik_tin(ip, n, k)->dims;
  }
  EinsumSpec s;
  char err[200];
  if (!einsum_parse(eq, n_ops, ranks, dims, &s, err, sizeof err))
    return ik_fail(ip, n, d, "equation '%.64s': %s", eq, err);
  /* Axis labels of each operand, read from its term the way einsum_parse reads it. */
  int axis_label[EIN_MAX_OPS][IR_MAX_RANK];
  const char *p = eq;
  for (int k = 0; k < n_ops; k++) {
    int letters = 0;
    for (const char *q = p; *q && *q != ',' && *q != '-'; q++)
      letters += (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z');
    int ell = ranks[k] - letters, ax = 0;
    for (; *p && *p != ',' && *p != '-'; p++) {
      if (*p == '.') {
        for (int j = 0; j < ell; j++) axis_label[k][ax++] = EIN_LETTERS + s.ell_rank - ell + j;
        p += 2;
      } else if (*p >= 'a' && *p <= 'z') {
        axis_label[k][ax++] = *p - 'a';
      } else if (*p >= 'A' && *p <= 'Z') {
        axis_label[k][ax++] = 26 + (*p - 'A');
      }
    }
    if (*p == ',') p++;
  }
  int loop[EIN_LABELS], n_loop = 0, pos[EIN_LABELS];
  int64_t sizes[EIN_LABELS];
  for (int i = 0; i < s.out_rank; i++) loop[n_loop++] = s.out_labels[i];
  for (int l = 0; l < EIN_LABELS; l++)
    if (s.used[l] && !s.in_out[l]) loop[n_loop++] = l;
  for (int i = 0; i < n_loop; i++) {
    pos[loop[i]] = i;
    sizes[i] = s.size[loop[i]];
  }
  Value *y = ik_out(ip, n, 0);
  for (int64_t k = 0; k < y->n; k++) vset(y, k, 0);
  int64_t total = prod(sizes, n_loop), idx[EIN_LABELS] = {0}, strides[EIN_MAX_OPS][IR_MAX_RANK];
  for (int k = 0; k < n_ops; k++) ik_strides(ranks[k], dims[k], strides[k]);
  for (int64_t it = 0; it < total; it++, fold_next(n_loop, sizes, idx)) {
    double v = 1.0;
    for (int k = 0; k < n_ops; k++) {
      int64_t at = 0;
      for (int a = 0; a < ranks[k]; a++)
        at += (dims[k][a] == 1 ? 0 : idx[pos[axis_label[k][a]]]) * strides[k][a];
      v *= vf(ik_in(ip, n, k), at);
    }
    int64_t out = 0;
    for (int i = 0; i < s.out_rank; i++) out = out * sizes[i] + idx[i];
    if (y->is_int) y->i[out] += (int64_t)v;
    else y->f[out] += v;
  }
  return XDL_OK;
}

/* ---- normalization ---- */

/* BatchNormalization. Inference: y = scale (x - mean) / sqrt(var + eps) + B. Training
 * (training_mode from opset 14; before, when the statistics outputs are listed and is_test is
 * off): batch statistics (biased variance) normalize, and the running statistics become
 * input * momentum + batch * (1 - momentum). Before opset 9, spatial = 0 keeps one statistic
 * per element of a sample instead of per channel. */
XdlStatus ik_batch_norm(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0), *sc = ik_in(ip, n, 1), *bb = ik_in(ip, n, 2);
  const Value *mean = ik_in(ip, n, 3), *var = ik_in(ip, n, 4);
  Value *y = ik_out(ip, n, 0);
  if (!x || !sc || !bb || !mean || !var || !y) return ik_fail(ip, n, d, "needs 5 inputs");
  double eps = ir_attr_float(ip->g, n, "epsilon", 1e-5);
  double mom = ir_attr_float(ip->g, n, "momentum", 0.9);
  bool spatial = ik_opset(ip) >= 9 || ir_attr_int(ip->g, n, "spatial", 1) != 0;
  bool training;
  if (ik_opset(ip) >= 14) {
    training = ir_attr_int(ip->g, n, "training_mode", 0) != 0;
  } else {
    bool extra = false;
    for (int i = 1; i < 5; i++) extra = extra || ik_out(ip, n, i);
    training = extra && ir_attr_int(ip->g, n, "is_test", 0) == 0;
  }
  int64_t N = tx->dims[0], C = tx->dims[1], inner = prod(&tx->dims[2], tx->rank - 2);
  int64_t n_stat = spatial ? C : C * inner;
  double *bm = xdl_calloc((size_t)n_stat * 2 + 1, sizeof *bm);
  if (!bm) return ik_oom(d);
  double *bv = bm + n_stat;
  int64_t per = spatial ? N * inner : N; /* elements behind one statistic */
  if (training) {
    for (int pass = 0; pass < 2; pass++)
      for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++)
          for (int64_t s = 0; s < inner; s++) {
            int64_t st = spatial ? c : c * inner + s;
            double v = x->f[(b * C + c) * inner + s];
            if (pass == 0) bm[st] += v / (double)per;
            else bv[st] += (v - bm[st]) * (v - bm[st]) / (double)per;
          }
  }
  for (int64_t b = 0; b < N; b++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t s = 0; s < inner; s++) {
        int64_t st = spatial ? c : c * inner + s, at = (b * C + c) * inner + s;
        double m = training ? bm[st] : vf(mean, st), v = training ? bv[st] : vf(var, st);
        y->f[at] = vf(sc, st) * (x->f[at] - m) / sqrt(v + eps) + vf(bb, st);
      }
  for (int i = 1; i < 5; i++) {
    Value *o = ik_out(ip, n, i);
    if (!o) continue;
    for (int64_t st = 0; st < o->n && st < n_stat; st++) {
      double r;
      if (i == 1) r = training ? vf(mean, st) * mom + bm[st] * (1 - mom) : vf(mean, st);
      else if (i == 2) r = training ? vf(var, st) * mom + bv[st] * (1 - mom) : vf(var, st);
      else if (i == 3) r = training ? bm[st] : vf(mean, st);
      else r = training ? bv[st] : vf(var, st);
      vset(o, st, r);
    }
  }
  xdl_free(bm);
  return XDL_OK;
}

/* InstanceNormalization: per (sample, channel) mean and biased variance over spatial axes. */
XdlStatus ik_instance_norm(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0), *sc = ik_in(ip, n, 1), *bb = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0);
  if (!x || !sc || !bb || !y) return ik_fail(ip, n, d, "needs input, scale and B");
  double eps = ir_attr_float(ip->g, n, "epsilon", 1e-5);
  int64_t N = tx->dims[0], C = tx->dims[1], inner = prod(&tx->dims[2], tx->rank - 2);
  for (int64_t b = 0; b < N; b++)
    for (int64_t c = 0; c < C; c++) {
      const double *xp = x->f + (b * C + c) * inner;
      double m = 0, v = 0;
      for (int64_t s = 0; s < inner; s++) m += xp[s];
      m /= (double)inner;
      for (int64_t s = 0; s < inner; s++) v += (xp[s] - m) * (xp[s] - m);
      v /= (double)inner;
      for (int64_t s = 0; s < inner; s++)
        y->f[(b * C + c) * inner + s] = vf(sc, c) * (xp[s] - m) / sqrt(v + eps) + vf(bb, c);
    }
  return XDL_OK;
}

/* LayerNormalization over axes [axis, rank): Y, and optionally Mean and InvStdDev (one value
 * per leading index). Scale and B broadcast against X. */
XdlStatus ik_layer_norm(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0), *sc = ik_in(ip, n, 1), *bb = ik_in(ip, n, 2);
  Value *y = ik_out(ip, n, 0), *om = ik_out(ip, n, 1), *oi = ik_out(ip, n, 2);
  if (!x || !sc || !y) return ik_fail(ip, n, d, "needs X, Scale and Y");
  double eps = ir_attr_float(ip->g, n, "epsilon", 1e-5);
  int r = tx->rank, axis;
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", -1), r, &axis))
    return ik_fail(ip, n, d, "axis out of range");
  int64_t outer = prod(tx->dims, axis), inner = prod(&tx->dims[axis], r - axis);
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t o = 0; o < outer; o++) {
    const double *xp = x->f + o * inner;
    double m = 0, v = 0;
    for (int64_t s = 0; s < inner; s++) m += xp[s];
    m /= (double)inner;
    for (int64_t s = 0; s < inner; s++) v += (xp[s] - m) * (xp[s] - m);
    v /= (double)inner;
    double inv = 1.0 / sqrt(v + eps);
    for (int64_t s = 0; s < inner; s++, fold_next(r, tx->dims, idx)) {
      double z = (xp[s] - m) * inv * vf(sc, fold_bcast_flat(ik_tin(ip, n, 1), r, idx));
      if (bb) z += vf(bb, fold_bcast_flat(ik_tin(ip, n, 2), r, idx));
      y->f[o * inner + s] = z;
    }
    if (om) vset(om, o, m);
    if (oi) vset(oi, o, inv);
  }
  return XDL_OK;
}

/* LRN: y = x / (bias + alpha / size * sum of x^2 over the channels
 * [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)])^beta. */
XdlStatus ik_lrn(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs X and Y");
  double alpha = ir_attr_float(ip->g, n, "alpha", 1e-4);
  double beta = ir_attr_float(ip->g, n, "beta", 0.75);
  double bias = ir_attr_float(ip->g, n, "bias", 1.0);
  int64_t size = ir_attr_int(ip->g, n, "size", 1);
  int64_t N = tx->dims[0], C = tx->dims[1], inner = prod(&tx->dims[2], tx->rank - 2);
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  for (int64_t b = 0; b < N; b++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t s = 0; s < inner; s++) {
        double sq = 0;
        for (int64_t j = c - lo; j <= c + hi; j++) {
          if (j < 0 || j >= C) continue;
          double v = x->f[(b * C + j) * inner + s];
          sq += v * v;
        }
        int64_t at = (b * C + c) * inner + s;
        y->f[at] = x->f[at] / pow(bias + alpha / (double)size * sq, beta);
      }
  return XDL_OK;
}

/* ---- pooling ---- */

/* MaxPool (with optional Indices: flat positions in X, row-major, or column-major within a
 * plane when storage_order = 1) and AveragePool (count_include_pad counts taps inside the
 * padded input). Taps outside the input are skipped; pads come from pads or auto_pad. */
XdlStatus ik_pool(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0), *ty = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0), *ind = ik_out(ip, n, 1);
  if (!x || !y) return ik_fail(ip, n, d, "needs X and Y");
  bool is_max = ip->g->nodes[n].op == OP_MAX_POOL;
  bool include_pad = ir_attr_int(ip->g, n, "count_include_pad", 0) != 0;
  bool col_major = ir_attr_int(ip->g, n, "storage_order", 0) != 0;
  int nsp = tx->rank - 2;
  Win win;
  read_win(ip, n, nsp, NULL, &tx->dims[2], &ty->dims[2], &win);
  int64_t N = tx->dims[0], C = tx->dims[1];
  int64_t in_plane = prod(&tx->dims[2], nsp), out_plane = prod(&ty->dims[2], nsp);
  int64_t k_plane = prod(win.k, nsp);
  int64_t *kpos = xdl_malloc((size_t)(k_plane ? k_plane : 1) * 2 * sizeof *kpos);
  if (!kpos) return ik_oom(d);
  int64_t *ipos = kpos + k_plane, o[IR_MAX_RANK] = {0};
  for (int64_t op = 0; op < out_plane; op++, fold_next(nsp, &ty->dims[2], o)) {
    int64_t padded;
    int taps = window_taps(&win, o, &tx->dims[2], kpos, ipos, &padded);
    for (int64_t bc = 0; bc < N * C; bc++) {
      double acc = is_max ? -INFINITY : 0.0;
      int64_t best = -1;
      for (int t = 0; t < taps; t++) {
        double v = vf(x, bc * in_plane + ipos[t]);
        if (!is_max) acc += v;
        else if (best < 0 || v > acc) {
          acc = v;
          best = ipos[t];
        }
      }
      if (!is_max) acc /= (double)(include_pad ? padded : taps);
      vset(y, bc * out_plane + op, acc);
      if (ind) {
        int64_t at = best < 0 ? 0 : best;
        if (col_major && best >= 0) { /* re-linearize the row-major position column-major */
          int64_t rest = best, flat = 0, mul = 1, pos[IR_MAX_RANK];
          for (int j = nsp - 1; j >= 0; j--) {
            pos[j] = rest % tx->dims[2 + j];
            rest /= tx->dims[2 + j];
          }
          for (int j = 0; j < nsp; j++) {
            flat += pos[j] * mul;
            mul *= tx->dims[2 + j];
          }
          at = flat;
        }
        ind->i[bc * out_plane + op] = bc * in_plane + at;
      }
    }
  }
  xdl_free(kpos);
  return XDL_OK;
}

XdlStatus ik_global_pool(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs X and Y");
  bool is_max = ip->g->nodes[n].op == OP_GLOBAL_MAX_POOL;
  int64_t inner = prod(&tx->dims[2], tx->rank - 2);
  for (int64_t bc = 0; bc < tx->dims[0] * tx->dims[1]; bc++) {
    double acc = is_max ? -INFINITY : 0.0;
    for (int64_t s = 0; s < inner; s++) {
      double v = vf(x, bc * inner + s);
      acc = is_max ? (v > acc ? v : acc) : acc + v;
    }
    vset(y, bc, is_max ? acc : acc / (double)inner);
  }
  return XDL_OK;
}

/* ---- softmax ---- */

/* Softmax / LogSoftmax. Before opset 13 the input is coerced to 2-D at axis (default 1) and
 * each row of prod(dims[axis:]) elements is normalized; from 13 one axis (default -1). */
XdlStatus ik_softmax(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs input and output");
  bool is_log = ip->g->nodes[n].op == OP_LOG_SOFTMAX, coerced = ik_opset(ip) < 13;
  int r = tx->rank;
  int64_t a = ir_attr_int(ip->g, n, "axis", coerced ? 1 : -1);
  if (a < 0) a += r;
  if (a < 0 || a > r || (!coerced && a == r)) return ik_fail(ip, n, d, "axis out of range");
  int64_t outer = prod(tx->dims, (int)a), len, inner;
  if (coerced) {
    len = prod(&tx->dims[a], r - (int)a);
    inner = 1;
  } else {
    len = tx->dims[a];
    inner = prod(&tx->dims[a + 1], r - (int)a - 1);
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t s = 0; s < inner; s++) {
      int64_t base = o * len * inner + s;
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < len; j++) mx = fmax(mx, x->f[base + j * inner]);
      for (int64_t j = 0; j < len; j++) sum += exp(x->f[base + j * inner] - mx);
      for (int64_t j = 0; j < len; j++) {
        double z = x->f[base + j * inner] - mx;
        y->f[base + j * inner] = is_log ? z - log(sum) : exp(z) / sum;
      }
    }
  return XDL_OK;
}

/* ---- reductions ---- */

/* Marks the reduced axes of node n (axes from attribute or input 1); false when the node is
 * the identity (empty axes with noop_with_empty_axes). */
static XdlStatus reduced_axes(Interp *ip, uint32_t n, int r, bool *reduce, bool *noop, Diag *d) {
  int64_t axes[IR_MAX_RANK];
  int cnt = ik_int_list(ip, n, "axes", 1, axes, IR_MAX_RANK, d);
  if (cnt == -2) return d->status;
  *noop = false;
  memset(reduce, 0, IR_MAX_RANK * sizeof *reduce);
  if (cnt <= 0) {
    *noop = ir_attr_int(ip->g, n, "noop_with_empty_axes", 0) != 0;
    for (int k = 0; k < r; k++) reduce[k] = true;
    return XDL_OK;
  }
  for (int i = 0; i < cnt; i++) {
    int ax;
    if (!sh_axis(axes[i], r, &ax)) return ik_fail(ip, n, d, "axis out of range");
    reduce[ax] = true;
  }
  return XDL_OK;
}

/* Flat offset of x's multi-index idx in the keepdims-shaped result (reduced axes at 0). */
static int64_t reduced_flat(const Tensor *tx, const bool *reduce, const int64_t *idx) {
  int64_t at = 0;
  for (int k = 0; k < tx->rank; k++)
    if (!reduce[k]) at = at * tx->dims[k] + idx[k];
  return at;
}

/* ReduceSum/Mean/Max/Min/Prod/L2/SumSquare; an empty reduction gives the operation's
 * identity (0, 1, -inf, +inf; Mean NaN). */
XdlStatus ik_reduce(Interp *ip, uint32_t n, Diag *d) {
  OpKind op = ip->g->nodes[n].op;
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs data and output");
  bool reduce[IR_MAX_RANK], noop;
  XdlStatus st = reduced_axes(ip, n, tx->rank, reduce, &noop, d);
  if (st != XDL_OK) return st;
  if (noop) {
    for (int64_t k = 0; k < y->n; k++) vcopy(y, k, x, k);
    return XDL_OK;
  }
  double init = op == OP_REDUCE_PROD ? 1.0 : op == OP_REDUCE_MAX ? -INFINITY
              : op == OP_REDUCE_MIN ? INFINITY : 0.0;
  double *acc = xdl_malloc((size_t)(y->n ? y->n : 1) * sizeof *acc);
  int64_t *acci = xdl_malloc((size_t)(y->n ? y->n : 1) * sizeof *acci);
  if (!acc || !acci) {
    xdl_free(acc);
    xdl_free(acci);
    return ik_oom(d);
  }
  for (int64_t k = 0; k < y->n; k++) {
    acc[k] = init;
    acci[k] = op == OP_REDUCE_PROD ? 1 : op == OP_REDUCE_MAX ? INT64_MIN
            : op == OP_REDUCE_MIN ? INT64_MAX : 0;
  }
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < x->n; k++, fold_next(tx->rank, tx->dims, idx)) {
    int64_t at = reduced_flat(tx, reduce, idx);
    double v = vf(x, k);
    int64_t w = x->is_int ? x->i[k] : 0;
    switch (op) {
    case OP_REDUCE_SUM: case OP_REDUCE_MEAN: acc[at] += v; acci[at] += w; break;
    case OP_REDUCE_PROD: acc[at] *= v; acci[at] *= w; break;
    case OP_REDUCE_MAX:
      acc[at] = isnan(v) || isnan(acc[at]) ? NAN : fmax(acc[at], v);
      acci[at] = w > acci[at] ? w : acci[at];
      break;
    case OP_REDUCE_MIN:
      acc[at] = isnan(v) || isnan(acc[at]) ? NAN : fmin(acc[at], v);
      acci[at] = w < acci[at] ? w : acci[at];
      break;
    default: acc[at] += v * v; acci[at] += w * w; break; /* L2, SumSquare */
    }
  }
  int64_t count = y->n ? x->n / y->n : 0;
  for (int64_t k = 0; k < y->n; k++) {
    if (y->is_int) {
      int64_t v = acci[k];
      if (op == OP_REDUCE_MEAN) v = count ? v / count : 0;
      if (op == OP_REDUCE_L2) v = (int64_t)sqrt((double)v);
      y->i[k] = v;
    } else {
      double v = acc[k];
      if (op == OP_REDUCE_MEAN) v /= (double)count;
      if (op == OP_REDUCE_L2) v = sqrt(v);
      y->f[k] = v;
    }
  }
  xdl_free(acc);
  xdl_free(acci);
  return XDL_OK;
}

/* ArgMax / ArgMin along axis; ties take the first index (the last with select_last_index). */
XdlStatus ik_arg_reduce(Interp *ip, uint32_t n, Diag *d) {
  const Tensor *tx = ik_tin(ip, n, 0);
  const Value *x = ik_in(ip, n, 0);
  Value *y = ik_out(ip, n, 0);
  if (!x || !y) return ik_fail(ip, n, d, "needs data and output");
  bool is_max = ip->g->nodes[n].op == OP_ARG_MAX;
  bool last = ir_attr_int(ip->g, n, "select_last_index", 0) != 0;
  int ax;
  if (!sh_axis(ir_attr_int(ip->g, n, "axis", 0), tx->rank, &ax))
    return ik_fail(ip, n, d, "axis out of range");
  int64_t outer = prod(tx->dims, ax), len = tx->dims[ax];
  int64_t inner = prod(&tx->dims[ax + 1], tx->rank - ax - 1);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t s = 0; s < inner; s++) {
      int64_t best = 0;
      for (int64_t j = 1; j < len; j++) {
        double v = vf(x, (o * len + j) * inner + s), b = vf(x, (o * len + best) * inner + s);
        bool better = is_max ? (v > b || (last && v == b)) : (v < b || (last && v == b));
        if (better) best = j;
      }
      y->i[o * inner + s] = best;
    }
  return XDL_OK;
}

/* ---- gradients of the window ops (internal ops of the autodiff pass; see shape_train.c) ---- */

/* ConvGradWeight(X, dY) {kernel_shape, strides, pads, dilations, group} -> dW:
 * dW[m, c, k] = sum over n, o of dY[n, m, o] * X[n, group_of(m) * C/group + c, o*s + k*d - pb]. */
XdlStatus ik_conv_grad_weight(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  const Tensor *tx = ik_tin(ip, n, 0), *tdy = ik_tin(ip, n, 1), *tw = ik_tout(ip, n, 0);
  const Value *x = ik_in(ip, n, 0), *dy = ik_in(ip, n, 1);
  Value *dw = ik_out(ip, n, 0);
  if (!x || !dy || !dw) return ik_fail(ip, n, d, "needs X, dY and dW");
  int nsp = tx->rank - 2;
  Win win;
  read_win(ip, n, nsp, &tw->dims[2], &tx->dims[2], &tdy->dims[2], &win);
  int64_t group = ir_attr_int(ip->g, n, "group", 1);
  int64_t N = tx->dims[0], C = tx->dims[1], M = tdy->dims[1], cg = C / group, mg = M / group;
  int64_t in_plane = prod(&tx->dims[2], nsp), out_plane = prod(&tdy->dims[2], nsp);
  int64_t k_plane = prod(win.k, nsp);
  int64_t *kpos = xdl_malloc((size_t)(k_plane ? k_plane : 1) * 2 * sizeof *kpos);
  if (!kpos) return ik_oom(d);
  int64_t *ipos = kpos + k_plane, o[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < dw->n; k++) dw->f[k] = 0;
  for (int64_t op = 0; op < out_plane; op++, fold_next(nsp, &tdy->dims[2], o)) {
    int64_t padded;
    int taps = window_taps(&win, o, &tx->dims[2], kpos, ipos, &padded);
    for (int64_t bi = 0; bi < N; bi++)
      for (int64_t m = 0; m < M; m++) {
        double g = dy->f[(bi * M + m) * out_plane + op];
        int64_t grp = m / mg;
        for (int64_t c = 0; c < cg; c++) {
          const double *xp = x->f + (bi * C + grp * cg + c) * in_plane;
          double *wp = dw->f + (m * cg + c) * k_plane;
          for (int t = 0; t < taps; t++) wp[kpos[t]] += g * xp[ipos[t]];
        }
      }
  }
  xdl_free(kpos);
  return XDL_OK;
}

/* MaxPoolGrad(dY, X) -> dX: each dY element goes to its window's first maximum in X.
 * AveragePoolGrad(dY) {input_shape, count_include_pad} -> dX: each dY element, divided by its
 * window's count, goes to every input position of the window. */
XdlStatus ik_pool_grad(Interp *ip, uint32_t n, Diag *d) {
  if (!all_float(ip, n, d)) return d->status;
  bool is_max = ip->g->nodes[n].op == OP_MAX_POOL_GRAD;
  const Tensor *tdy = ik_tin(ip, n, 0), *tx = ik_tout(ip, n, 0);
  const Value *dy = ik_in(ip, n, 0), *x = ik_in(ip, n, 1);
  Value *dx = ik_out(ip, n, 0);
  if (!dy || !dx || (is_max && !x)) return ik_fail(ip, n, d, "needs dY%s and dX",
                                                   is_max ? ", X" : "");
  bool include_pad = ir_attr_int(ip->g, n, "count_include_pad", 0) != 0;
  int nsp = tx->rank - 2;
  Win win;
  read_win(ip, n, nsp, NULL, &tx->dims[2], &tdy->dims[2], &win);
  int64_t in_plane = prod(&tx->dims[2], nsp), out_plane = prod(&tdy->dims[2], nsp);
  int64_t k_plane = prod(win.k, nsp), planes = tx->dims[0] * tx->dims[1];
  int64_t *kpos = xdl_malloc((size_t)(k_plane ? k_plane : 1) * 2 * sizeof *kpos);
  if (!kpos) return ik_oom(d);
  int64_t *ipos = kpos + k_plane, o[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < dx->n; k++) dx->f[k] = 0;
  for (int64_t op = 0; op < out_plane; op++, fold_next(nsp, &tdy->dims[2], o)) {
    int64_t padded;
    int taps = window_taps(&win, o, &tx->dims[2], kpos, ipos, &padded);
    for (int64_t bc = 0; bc < planes; bc++) {
      double g = dy->f[bc * out_plane + op];
      if (is_max) {
        int64_t best = -1;
        for (int t = 0; t < taps; t++)
          if (best < 0 || x->f[bc * in_plane + ipos[t]] > x->f[bc * in_plane + best])
            best = ipos[t];
        if (best >= 0) dx->f[bc * in_plane + best] += g;
      } else {
        int64_t count = include_pad ? padded : taps;
        for (int t = 0; t < taps && count > 0; t++)
          dx->f[bc * in_plane + ipos[t]] += g / (double)count;
      }
    }
  }
  xdl_free(kpos);
  return XDL_OK;
}
