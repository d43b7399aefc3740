/* shape_nn.c — shape rules of the neural-network ops: convolutions, Gemm/MatMul/Einsum,
 * normalizations, pooling, softmax and reductions. Each rule reads its attributes as the node's
 * opset defines them (g->opset), rejects values no exporter would write with a message naming
 * the node, and sets every output's type and dims through sh_set_out (which catches negative
 * and overflowing dims). Formulas follow the ONNX operator specification (Operators.md). */
#include "ir/ir.h"

#include <stdio.h>
#include <string.h>

/* Graphs built in C (tests, passes) may leave opset 0; they get the newest semantics we model. */
#define LATEST_OPSET 17

static int64_t opset_of(const Graph *g) {
  return g->opset > 0 ? g->opset : LATEST_OPSET;
}

/* Input i, which the op requires; NULL (error recorded) when it is omitted. */
static const Tensor *need_in(Graph *g, uint32_t n, int i, const char *what, Diag *d) {
  const Tensor *t = sh_in(g, n, i);
  if (!t) sh_fail(g, n, d, "required input %d (%s) is missing", i, what);
  return t;
}

/* Fails when the node lists more outputs than the op (at this opset) can produce, so no
 * output is left without a shape. */
static XdlStatus check_outputs(Graph *g, uint32_t n, int max, Diag *d) {
  int have = g->nodes[n].n_outputs;
  if (have < 1) return sh_fail(g, n, d, "has no outputs");
  if (have > max)
    return sh_fail(g, n, d, "has %d outputs; this op has at most %d at opset %lld", have, max,
                   (long long)opset_of(g));
  return XDL_OK;
}

/* ---- sliding windows: Conv, ConvTranspose, MaxPool, AveragePool ---- */

typedef enum AutoPad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } AutoPad;

typedef struct Window {
  int nsp; /* spatial axes */
  int64_t kernel[IR_MAX_RANK];
  int64_t strides[IR_MAX_RANK];
  int64_t dilations[IR_MAX_RANK];
  int64_t pads[2 * IR_MAX_RANK]; /* ONNX order: begin of every axis, then end of every axis */
  AutoPad auto_pad;
} Window;

/* Reads a per-axis integer list attribute into out[0..count): absent (or empty) gives fill;
 * present, it must have exactly count entries, each at least min. */
static XdlStatus read_axis_list(Graph *g, uint32_t n, const char *name, int count, int64_t fill,
                                int64_t min, int64_t *out, bool *present, Diag *d) {
  int64_t buf[2 * IR_MAX_RANK];
  int got = 0;
  int rc = sh_int_list(g, n, name, -1, buf, &got, 2 * IR_MAX_RANK, d);
  if (rc < 0) return XDL_ERR_INPUT;
  if (present) *present = rc == 1 && got > 0;
  if (rc == 0 || got == 0) {
    for (int i = 0; i < count; i++)
      out[i] = fill;
    return XDL_OK;
  }
  if (got != count)
    return sh_fail(g, n, d, "attribute '%s' has %d entries, expected %d", name, got, count);
  for (int i = 0; i < count; i++) {
    if (buf[i] < min)
      return sh_fail(g, n, d, "attribute '%s'[%d] = %lld must be at least %lld", name, i,
                     (long long)buf[i], (long long)min);
    out[i] = buf[i];
  }
  return XDL_OK;
}

/* Fills w for nsp spatial axes. wkernel: the kernel dims the weight implies (Conv,
 * ConvTranspose; kernel_shape must then agree), or NULL for pooling (kernel_shape required). */
static XdlStatus read_window(Graph *g, uint32_t n, int nsp, const int64_t *wkernel, Window *w,
                             Diag *d) {
  memset(w, 0, sizeof *w);
  w->nsp = nsp;
  const char *ap = ir_attr_string(g, n, "auto_pad", "NOTSET");
  if (!*ap || strcmp(ap, "NOTSET") == 0)
    w->auto_pad = PAD_NOTSET;
  else if (strcmp(ap, "SAME_UPPER") == 0)
    w->auto_pad = PAD_SAME_UPPER;
  else if (strcmp(ap, "SAME_LOWER") == 0)
    w->auto_pad = PAD_SAME_LOWER;
  else if (strcmp(ap, "VALID") == 0)
    w->auto_pad = PAD_VALID;
  else
    return sh_fail(g, n, d, "auto_pad '%.40s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", ap);
  bool have_k = false;
  XdlStatus st = read_axis_list(g, n, "kernel_shape", nsp, 0, 1, w->kernel, &have_k, d);
  if (st != XDL_OK) return st;
  if (wkernel) {
    for (int i = 0; i < nsp; i++) {
      if (wkernel[i] < 1)
        return sh_fail(g, n, d, "weight has kernel size %lld on spatial axis %d",
                       (long long)wkernel[i], i);
      if (have_k && w->kernel[i] != wkernel[i])
        return sh_fail(g, n, d, "kernel_shape[%d] = %lld but the weight's kernel is %lld", i,
                       (long long)w->kernel[i], (long long)wkernel[i]);
      w->kernel[i] = wkernel[i];
    }
  } else if (!have_k) {
    return sh_fail(g, n, d, "attribute 'kernel_shape' is required");
  }
  if ((st = read_axis_list(g, n, "strides", nsp, 1, 1, w->strides, NULL, d)) != XDL_OK ||
      (st = read_axis_list(g, n, "dilations", nsp, 1, 1, w->dilations, NULL, d)) != XDL_OK ||
      (st = read_axis_list(g, n, "pads", 2 * nsp, 0, 0, w->pads, NULL, d)) != XDL_OK)
    return st;
  return XDL_OK;
}

/* Extent of the dilated kernel on axis i: (k - 1) * d + 1. */
static XdlStatus kernel_extent(Graph *g, uint32_t n, const Window *w, int i, int64_t *ext,
                               Diag *d) {
  if (!ir_mul_ok(w->kernel[i] - 1, w->dilations[i], ext) || !ir_add_ok(*ext, 1, ext))
    return sh_fail(g, n, d, "dilated kernel extent overflows on spatial axis %d", i);
  return XDL_OK;
}

/* Output extent of a sliding window on spatial axis i for input extent in (Conv and pooling).
 * ONNX: NOTSET  out = floor_or_ceil((in + pad_begin + pad_end - ext) / stride) + 1;
 *       VALID   the same with no padding (ceil_mode does not apply);
 *       SAME_*  out = ceil(in / stride), the padding being whatever makes that hold. */
static XdlStatus window_out(Graph *g, uint32_t n, const Window *w, int i, int64_t in,
                            bool ceil_mode, int64_t *out, Diag *d) {
  int64_t s = w->strides[i], ext, span;
  if (in < 0) return sh_fail(g, n, d, "input has negative extent on spatial axis %d", i);
  if (w->auto_pad == PAD_SAME_UPPER || w->auto_pad == PAD_SAME_LOWER) {
    *out = in / s + (in % s != 0);
    return XDL_OK;
  }
  XdlStatus st = kernel_extent(g, n, w, i, &ext, d);
  if (st != XDL_OK) return st;
  int64_t pb = 0, pe = 0;
  if (w->auto_pad == PAD_NOTSET) {
    pb = w->pads[i];
    pe = w->pads[w->nsp + i];
  } else {
    ceil_mode = false;
  }
  if (!ir_add_ok(in, pb, &span) || !ir_add_ok(span, pe, &span))
    return sh_fail(g, n, d, "padded input overflows on spatial axis %d", i);
  if (span < ext)
    return sh_fail(g, n, d,
                   "kernel extent %lld is larger than the padded input %lld on spatial axis %d",
                   (long long)ext, (long long)span, i);
  int64_t num = span - ext, o = num / s + 1;
  if (ceil_mode) {
    if (num % s) o++;
    /* ONNX (opset 19 text, and PyTorch): with ceil_mode the last window must start inside the
     * input or the left padding; one starting in the right padding is dropped. */
    int64_t start;
    if (!ir_mul_ok(o - 1, s, &start) || start >= in + pb) o--;
  }
  *out = o;
  return XDL_OK;
}

/* Conv(X [N, C, D...], W [M, C/group, k...], B? [M]) -> Y [N, M, out...]. */
XdlStatus shape_conv(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "X", d), *w = need_in(g, n, 1, "W", d);
  if (!x || !w) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  int r = x->rank;
  if (r < 3) return sh_fail(g, n, d, "input X has rank %d; Conv needs [N, C, spatial...]", r);
  if (w->rank != r) return sh_fail(g, n, d, "weight W has rank %d but X has rank %d", w->rank, r);
  int64_t group = ir_attr_int(g, n, "group", 1), cin = x->dims[1], cout = w->dims[0], need;
  if (group < 1) return sh_fail(g, n, d, "group = %lld must be positive", (long long)group);
  /* W is [Cout, Cin/group, k...]. */
  if (!ir_mul_ok(w->dims[1], group, &need) || need != cin)
    return sh_fail(g, n, d,
                   "weight expects %lld input channels per group x group %lld, but X has %lld",
                   (long long)w->dims[1], (long long)group, (long long)cin);
  if (cout % group)
    return sh_fail(g, n, d, "group %lld does not divide the %lld output channels", (long long)group,
                   (long long)cout);
  const Tensor *b = sh_in(g, n, 2);
  if (b && (b->rank != 1 || b->dims[0] != cout))
    return sh_fail(g, n, d, "bias B must have shape [%lld] (one per output channel)",
                   (long long)cout);
  Window win;
  if ((st = read_window(g, n, r - 2, &w->dims[2], &win, d)) != XDL_OK) return st;
  int64_t dims[IR_MAX_RANK];
  dims[0] = x->dims[0];
  dims[1] = cout;
  for (int i = 0; i < r - 2; i++)
    if ((st = window_out(g, n, &win, i, x->dims[2 + i], false, &dims[2 + i], d)) != XDL_OK)
      return st;
  return sh_set_out(g, n, 0, x->dtype, r, dims, d);
}

/* ConvTranspose(X [N, C, D...], W [C, M/group, k...], B? [M]) -> Y [N, M, out...]; out from
 * output_shape when given, else from strides, pads/auto_pad, dilations and output_padding. */
XdlStatus shape_conv_transpose(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "X", d), *w = need_in(g, n, 1, "W", d);
  if (!x || !w) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  int r = x->rank, nsp = r - 2;
  if (r < 3)
    return sh_fail(g, n, d, "input X has rank %d; ConvTranspose needs [N, C, spatial...]", r);
  if (w->rank != r) return sh_fail(g, n, d, "weight W has rank %d but X has rank %d", w->rank, r);
  int64_t group = ir_attr_int(g, n, "group", 1), cout;
  if (group < 1) return sh_fail(g, n, d, "group = %lld must be positive", (long long)group);
  /* W is [Cin, Cout/group, k...]. */
  if (w->dims[0] != x->dims[1])
    return sh_fail(g, n, d, "weight has %lld input channels but X has %lld", (long long)w->dims[0],
                   (long long)x->dims[1]);
  if (x->dims[1] % group)
    return sh_fail(g, n, d, "group %lld does not divide the %lld input channels", (long long)group,
                   (long long)x->dims[1]);
  if (!ir_mul_ok(w->dims[1], group, &cout))
    return sh_fail(g, n, d, "output channel count overflows");
  const Tensor *b = sh_in(g, n, 2);
  if (b && (b->rank != 1 || b->dims[0] != cout))
    return sh_fail(g, n, d, "bias B must have shape [%lld] (one per output channel)",
                   (long long)cout);
  Window win;
  int64_t opad[IR_MAX_RANK], oshape[IR_MAX_RANK + 2];
  if ((st = read_window(g, n, nsp, &w->dims[2], &win, d)) != XDL_OK ||
      (st = read_axis_list(g, n, "output_padding", nsp, 0, 0, opad, NULL, d)) != XDL_OK)
    return st;
  int n_oshape = 0;
  int rc = sh_int_list(g, n, "output_shape", -1, oshape, &n_oshape, IR_MAX_RANK + 2, d);
  if (rc < 0) return XDL_ERR_INPUT;
  int64_t dims[IR_MAX_RANK];
  dims[0] = x->dims[0];
  dims[1] = cout;
  if (rc == 1 && n_oshape > 0) {
    /* ONNX: an explicit output_shape fixes the spatial dims (pads are then derived from it).
     * Some exporters write the full [N, C, spatial...] form; accept both. */
    if (n_oshape != nsp && n_oshape != nsp + 2)
      return sh_fail(g, n, d, "output_shape has %d entries, expected %d", n_oshape, nsp);
    const int64_t *sp = oshape + (n_oshape - nsp);
    if (n_oshape == nsp + 2 && (oshape[0] != dims[0] || oshape[1] != cout))
      return sh_fail(g, n, d, "output_shape [%lld, %lld, ...] disagrees with N = %lld, C = %lld",
                     (long long)oshape[0], (long long)oshape[1], (long long)dims[0],
                     (long long)cout);
    for (int i = 0; i < nsp; i++)
      dims[2 + i] = sp[i];
    return sh_set_out(g, n, 0, x->dtype, r, dims, d);
  }
  for (int i = 0; i < nsp; i++) {
    int64_t in = x->dims[2 + i], s = win.strides[i], ext, o;
    if (win.auto_pad == PAD_SAME_UPPER || win.auto_pad == PAD_SAME_LOWER) {
      /* ONNX: with SAME_* the output is input * stride; the pads absorb the rest. */
      if (!ir_mul_ok(in, s, &o)) return sh_fail(g, n, d, "output overflows on spatial axis %d", i);
    } else {
      /* ONNX: out = stride * (in - 1) + output_padding + ((k - 1) * dilation + 1)
       *             - pad_begin - pad_end   (VALID: no pads). */
      int64_t pb = win.auto_pad == PAD_NOTSET ? win.pads[i] : 0;
      int64_t pe = win.auto_pad == PAD_NOTSET ? win.pads[nsp + i] : 0;
      if ((st = kernel_extent(g, n, &win, i, &ext, d)) != XDL_OK) return st;
      if (!ir_mul_ok(s, in - 1, &o) || !ir_add_ok(o, opad[i], &o) || !ir_add_ok(o, ext, &o) ||
          !ir_add_ok(o, -pb, &o) || !ir_add_ok(o, -pe, &o))
        return sh_fail(g, n, d, "output overflows on spatial axis %d", i);
    }
    dims[2 + i] = o;
  }
  return sh_set_out(g, n, 0, x->dtype, r, dims, d);
}

/* ---- matrix products ---- */

/* Gemm(A, B, C?) -> [M, N] with op(A) = A or A^T ([M, K]) and op(B) = B or B^T ([K, N]). */
XdlStatus shape_gemm(Graph *g, uint32_t n, Diag *d) {
  const Tensor *a = need_in(g, n, 0, "A", d), *b = need_in(g, n, 1, "B", d);
  if (!a || !b) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  if (a->rank != 2 || b->rank != 2)
    return sh_fail(g, n, d, "A and B must be matrices, got ranks %d and %d", a->rank, b->rank);
  bool ta = ir_attr_int(g, n, "transA", 0) != 0, tb = ir_attr_int(g, n, "transB", 0) != 0;
  int64_t m = a->dims[ta ? 1 : 0], k = a->dims[ta ? 0 : 1];
  int64_t kb = b->dims[tb ? 1 : 0], nn = b->dims[tb ? 0 : 1];
  if (k != kb)
    return sh_fail(g, n, d,
                   "inner dimensions differ: op(A) is [%lld, %lld], op(B) is "
                   "[%lld, %lld]",
                   (long long)m, (long long)k, (long long)kb, (long long)nn);
  const Tensor *c = sh_in(g, n, 2);
  if (c) {
    /* ONNX: C must broadcast unidirectionally to [M, N]. */
    bool ok = c->rank <= 2;
    if (ok && c->rank >= 1) ok = c->dims[c->rank - 1] == 1 || c->dims[c->rank - 1] == nn;
    if (ok && c->rank == 2) ok = c->dims[0] == 1 || c->dims[0] == m;
    if (!ok)
      return sh_fail(g, n, d, "bias C does not broadcast to [%lld, %lld]", (long long)m,
                     (long long)nn);
  }
  int64_t dims[2] = {m, nn};
  return sh_set_out(g, n, 0, a->dtype, 2, dims, d);
}

/* MatMul(A, B) with numpy.matmul semantics. */
XdlStatus shape_matmul(Graph *g, uint32_t n, Diag *d) {
  const Tensor *a = need_in(g, n, 0, "A", d), *b = need_in(g, n, 1, "B", d);
  if (!a || !b) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  int ra = a->rank, rb = b->rank;
  if (ra < 1 || rb < 1) return sh_fail(g, n, d, "MatMul operands must have rank >= 1");
  /* numpy.matmul: a 1-D A is a row vector [1, K] and a 1-D B a column vector [K, 1]; the
   * inserted axis is removed from the result. Leading axes broadcast as batch axes. */
  int64_t m = ra == 1 ? 1 : a->dims[ra - 2], k = a->dims[ra - 1];
  int64_t kb = rb == 1 ? b->dims[0] : b->dims[rb - 2], nn = rb == 1 ? 1 : b->dims[rb - 1];
  if (k != kb)
    return sh_fail(g, n, d, "inner dimensions differ: A has K = %lld, B has K = %lld", (long long)k,
                   (long long)kb);
  int64_t dims[IR_MAX_RANK + 2];
  int rbat = 0;
  if (!sh_broadcast(ra > 2 ? ra - 2 : 0, a->dims, rb > 2 ? rb - 2 : 0, b->dims, &rbat, dims))
    return sh_fail(g, n, d, "batch dimensions of A and B do not broadcast");
  int r = rbat;
  if (ra > 1) dims[r++] = m;
  if (rb > 1) dims[r++] = nn;
  return sh_set_out(g, n, 0, a->dtype, r, dims, d);
}

/* ---- Einsum ---- */

static int ein_label(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

static void ein_name(int l, char *buf, size_t size) {
  if (l < 26)
    snprintf(buf, size, "'%c'", 'a' + l);
  else if (l < EIN_LETTERS)
    snprintf(buf, size, "'%c'", 'A' + (l - 26));
  else
    snprintf(buf, size, "'...' axis %d", l - EIN_LETTERS);
}

/* Records that operand k has label l with size v; false (message in err) on a conflict. */
static bool ein_bind(EinsumSpec *s, int k, int l, int64_t v, char *err, size_t err_size) {
  char nm[32];
  ein_name(l, nm, sizeof nm);
  if (s->in_op[k][l] && s->op_size[k][l] != v) {
    snprintf(err, err_size, "label %s repeats in operand %d with sizes %lld and %lld", nm, k,
             (long long)s->op_size[k][l], (long long)v);
    return false;
  }
  s->in_op[k][l] = true;
  s->op_size[k][l] = v;
  if (!s->used[l]) {
    s->used[l] = true;
    s->size[l] = v;
  } else if (s->size[l] != v) {
    if (s->size[l] != 1 && v != 1) {
      snprintf(err, err_size, "label %s has sizes %lld and %lld", nm, (long long)s->size[l],
               (long long)v);
      return false;
    }
    if (s->size[l] == 1) s->size[l] = v;
  }
  return true;
}

static bool ein_add_out(EinsumSpec *s, int l, char *err, size_t err_size) {
  if (s->out_rank == IR_MAX_RANK) {
    snprintf(err, err_size, "output would have more than %d axes", IR_MAX_RANK);
    return false;
  }
  s->out_labels[s->out_rank++] = l;
  s->in_out[l] = true;
  return true;
}

bool einsum_parse(const char *eq, int n_ops, const int *ranks, const int64_t *const *dims,
                  EinsumSpec *s, char *err, size_t err_size) {
  memset(s, 0, sizeof *s);
  s->n_ops = n_ops;
  if (n_ops < 1 || n_ops > EIN_MAX_OPS) {
    snprintf(err, err_size, "Einsum with %d operands is not supported (1 or 2)", n_ops);
    return false;
  }
  char buf[256];
  size_t len = 0;
  for (const char *p = eq; *p; p++) {
    if (*p == ' ' || *p == '\t') continue;
    if (len + 1 >= sizeof buf) {
      snprintf(err, err_size, "equation is longer than %zu characters", sizeof buf - 1);
      return false;
    }
    buf[len++] = *p;
  }
  buf[len] = 0;
  char *arrow = strstr(buf, "->");
  const char *rhs = NULL;
  if (arrow) {
    *arrow = 0;
    rhs = arrow + 2;
  }
  /* Split the left side into one term per operand. */
  const char *terms[EIN_MAX_OPS];
  size_t tlen[EIN_MAX_OPS];
  int n_terms = 0;
  for (const char *p = buf;;) {
    const char *comma = strchr(p, ',');
    if (n_terms < EIN_MAX_OPS) {
      terms[n_terms] = p;
      tlen[n_terms] = comma ? (size_t)(comma - p) : strlen(p);
    }
    n_terms++;
    if (!comma) break;
    p = comma + 1;
  }
  if (n_terms != n_ops) {
    snprintf(err, err_size, "equation has %d operand terms but the node has %d inputs", n_terms,
             n_ops);
    return false;
  }
  /* Pass 1: letters per term and how many broadcast axes each "..." stands for. */
  int ell[EIN_MAX_OPS];
  bool has_ell[EIN_MAX_OPS];
  for (int k = 0; k < n_ops; k++) {
    int letters = 0;
    has_ell[k] = false;
    for (size_t i = 0; i < tlen[k];) {
      const char *t = terms[k];
      if (t[i] == '.') {
        if (has_ell[k] || i + 2 >= tlen[k] || t[i + 1] != '.' || t[i + 2] != '.') {
          snprintf(err, err_size, "term %d has a malformed or second ellipsis", k);
          return false;
        }
        has_ell[k] = true;
        i += 3;
        continue;
      }
      if (ein_label(t[i]) < 0) {
        snprintf(err, err_size, "invalid character '%c' in equation", t[i]);
        return false;
      }
      letters++;
      i++;
    }
    ell[k] = ranks[k] - letters;
    if (ell[k] < 0 || (!has_ell[k] && ell[k] != 0)) {
      snprintf(err, err_size, "operand %d has rank %d but its term names %d axes", k, ranks[k],
               letters);
      return false;
    }
    if (ell[k] > s->ell_rank) s->ell_rank = ell[k];
  }
  /* Pass 2: bind every axis to its label; count letter occurrences for the implicit output. */
  int occ[EIN_LETTERS] = {0};
  for (int k = 0; k < n_ops; k++) {
    int dim = 0;
    for (size_t i = 0; i < tlen[k];) {
      const char *t = terms[k];
      if (t[i] == '.') {
        for (int j = 0; j < ell[k]; j++, dim++)
          if (!ein_bind(s, k, EIN_LETTERS + s->ell_rank - ell[k] + j, dims[k][dim], err, err_size))
            return false;
        i += 3;
        continue;
      }
      int l = ein_label(t[i]);
      occ[l]++;
      if (!ein_bind(s, k, l, dims[k][dim++], err, err_size)) return false;
      i++;
    }
  }
  for (int k = 0; k < n_ops; k++)
    for (int l = 0; l < EIN_LABELS; l++)
      if (!s->in_op[k][l]) s->op_size[k][l] = 1;
  if (rhs) {
    bool out_ell = false;
    for (size_t i = 0; rhs[i];) {
      if (rhs[i] == '.') {
        if (out_ell || rhs[i + 1] != '.' || rhs[i + 2] != '.') {
          snprintf(err, err_size, "output has a malformed or second ellipsis");
          return false;
        }
        out_ell = true;
        for (int j = 0; j < s->ell_rank; j++)
          if (!ein_add_out(s, EIN_LETTERS + j, err, err_size)) return false;
        i += 3;
        continue;
      }
      int l = ein_label(rhs[i]);
      if (l < 0) {
        snprintf(err, err_size, "invalid character '%c' in equation", rhs[i]);
        return false;
      }
      if (!s->used[l] || s->in_out[l]) {
        snprintf(err, err_size, "output label '%c' %s", rhs[i],
                 s->used[l] ? "repeats" : "appears in no input");
        return false;
      }
      if (!ein_add_out(s, l, err, err_size)) return false;
      i++;
    }
  } else {
    /* numpy's implicit output: the broadcast axes, then every label that occurs exactly once,
     * in alphabetical (ASCII: upper case first) order. */
    for (int j = 0; j < s->ell_rank; j++)
      if (!ein_add_out(s, EIN_LETTERS + j, err, err_size)) return false;
    for (int c = 0; c < EIN_LETTERS; c++) {
      int l = c < 26 ? 26 + c : c - 26;
      if (occ[l] == 1 && !ein_add_out(s, l, err, err_size)) return false;
    }
  }
  return true;
}

/* Einsum(one or two operands) -> the equation's output; input 0's element type. */
XdlStatus shape_einsum(Graph *g, uint32_t n, Diag *d) {
  const Node *nd = &g->nodes[n];
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  const char *eq = ir_attr_string(g, n, "equation", NULL);
  if (!eq) return sh_fail(g, n, d, "attribute 'equation' is required");
  int n_ops = nd->n_inputs;
  if (n_ops < 1 || n_ops > EIN_MAX_OPS)
    return sh_fail(g, n, d, "Einsum with %d operands is not supported (1 or 2)", n_ops);
  int ranks[EIN_MAX_OPS];
  const int64_t *dims[EIN_MAX_OPS];
  for (int k = 0; k < n_ops; k++) {
    const Tensor *t = need_in(g, n, k, "operand", d);
    if (!t) return XDL_ERR_INPUT;
    ranks[k] = t->rank;
    dims[k] = t->dims;
  }
  EinsumSpec s;
  char err[200];
  if (!einsum_parse(eq, n_ops, ranks, dims, &s, err, sizeof err))
    return sh_fail(g, n, d, "equation '%.64s': %s", eq, err);
  int64_t out[IR_MAX_RANK];
  for (int i = 0; i < s.out_rank; i++)
    out[i] = s.size[s.out_labels[i]];
  return sh_set_out(g, n, 0, sh_in(g, n, 0)->dtype, s.out_rank, out, d);
}

/* ---- normalization ---- */

/* BatchNormalization(X, scale, B, mean, var) -> Y like X, and any listed statistics outputs
 * shaped like input_mean. */
XdlStatus shape_batch_norm(Graph *g, uint32_t n, Diag *d) {
  static const char *names[5] = {"X", "scale", "B", "input_mean", "input_var"};
  const Tensor *in[5];
  for (int i = 0; i < 5; i++)
    if (!(in[i] = need_in(g, n, i, names[i], d))) return XDL_ERR_INPUT;
  /* Opsets 1-13 may list the training outputs (Y, mean, var, saved_mean, saved_var);
   * opset 14 keeps Y, running_mean, running_var (the latter two with training_mode=1). */
  XdlStatus st = check_outputs(g, n, opset_of(g) >= 14 ? 3 : 5, d);
  if (st != XDL_OK) return st;
  const Tensor *x = in[0];
  if (x->rank < 2) return sh_fail(g, n, d, "input X has rank %d; needs [N, C, ...]", x->rank);
  int64_t c = x->dims[1];
  /* Before opset 9, spatial=0 gave per-element statistics shaped like X[1:]; otherwise every
   * statistic is one value per channel. */
  bool spatial = opset_of(g) >= 9 || ir_attr_int(g, n, "spatial", 1) != 0;
  for (int i = 1; i < 5 && spatial; i++)
    if (in[i]->rank != 1 || in[i]->dims[0] != c)
      return sh_fail(g, n, d, "input %s must have shape [%lld] (one per channel)", names[i],
                     (long long)c);
  const Tensor *mean = in[3];
  int64_t xdims[IR_MAX_RANK], mdims[IR_MAX_RANK];
  int mrank = mean->rank;
  DataType mdt = mean->dtype, xdt = x->dtype;
  memcpy(xdims, x->dims, sizeof xdims);
  memcpy(mdims, mean->dims, sizeof mdims);
  if ((st = sh_set_out(g, n, 0, xdt, x->rank, xdims, d)) != XDL_OK) return st;
  for (int i = 1; i < 5; i++) {
    DataType dt = i <= 2 ? mdt : xdt; /* running statistics: type T2; saved ones: T */
    if ((st = sh_set_out(g, n, i, dt, mrank, mdims, d)) != XDL_OK) return st;
  }
  return XDL_OK;
}

/* LayerNormalization(X, Scale, B?) -> Y like X, Mean and InvStdDev (type stash_type). */
XdlStatus shape_layer_norm(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "X", d);
  if (!x || !need_in(g, n, 1, "Scale", d)) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 3, d);
  if (st != XDL_OK) return st;
  int axis;
  int64_t a = ir_attr_int(g, n, "axis", -1), stash = ir_attr_int(g, n, "stash_type", DT_FLOAT);
  if (!sh_axis(a, x->rank, &axis))
    return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)a, x->rank);
  if (stash < 1 || stash > DT_MAX)
    return sh_fail(g, n, d, "stash_type %lld is not an element type", (long long)stash);
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  DataType dt = x->dtype;
  int r = x->rank;
  if ((st = sh_set_out(g, n, 0, dt, r, dims, d)) != XDL_OK) return st;
  /* ONNX: Mean and InvStdDev keep X's rank with the normalized axes [axis, r) set to 1. */
  for (int i = axis; i < r; i++)
    dims[i] = 1;
  if ((st = sh_set_out(g, n, 1, (DataType)stash, r, dims, d)) != XDL_OK) return st;
  return sh_set_out(g, n, 2, (DataType)stash, r, dims, d);
}

/* One output with input 0's type and shape (InstanceNormalization, LRN). */
XdlStatus shape_same_as_input(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "input", d);
  if (!x) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  return sh_set_out(g, n, 0, x->dtype, x->rank, dims, d);
}

/* ---- pooling ---- */

/* MaxPool / AveragePool(X [N, C, D...]) -> Y [N, C, out...]; MaxPool's Indices: int64, same. */
XdlStatus shape_pool(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "X", d);
  if (!x) return XDL_ERR_INPUT;
  bool is_max = g->nodes[n].op == OP_MAX_POOL;
  XdlStatus st = check_outputs(g, n, is_max ? 2 : 1, d);
  if (st != XDL_OK) return st;
  int r = x->rank;
  if (r < 3) return sh_fail(g, n, d, "input X has rank %d; pooling needs [N, C, spatial...]", r);
  Window win;
  if ((st = read_window(g, n, r - 2, NULL, &win, d)) != XDL_OK) return st;
  /* ceil_mode exists from opset 10; older models never set it, so reading it always is safe. */
  bool ceil_mode = ir_attr_int(g, n, "ceil_mode", 0) != 0;
  int64_t dims[IR_MAX_RANK];
  dims[0] = x->dims[0];
  dims[1] = x->dims[1];
  for (int i = 0; i < r - 2; i++)
    if ((st = window_out(g, n, &win, i, x->dims[2 + i], ceil_mode, &dims[2 + i], d)) != XDL_OK)
      return st;
  if ((st = sh_set_out(g, n, 0, x->dtype, r, dims, d)) != XDL_OK) return st;
  return is_max ? sh_set_out(g, n, 1, DT_INT64, r, dims, d) : XDL_OK; /* Indices */
}

/* GlobalAveragePool / GlobalMaxPool(X [N, C, D...]) -> [N, C, 1...]. */
XdlStatus shape_global_pool(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "X", d);
  if (!x) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  if (x->rank < 2) return sh_fail(g, n, d, "input X has rank %d; needs [N, C, ...]", x->rank);
  int64_t dims[IR_MAX_RANK];
  for (int i = 0; i < x->rank; i++)
    dims[i] = i < 2 ? x->dims[i] : 1;
  return sh_set_out(g, n, 0, x->dtype, x->rank, dims, d);
}

/* ---- softmax and reductions ---- */

/* Softmax / LogSoftmax: same shape; only the axis is validated. */
XdlStatus shape_softmax(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "input", d);
  if (!x) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  int r = x->rank, ax;
  if (r < 1) return sh_fail(g, n, d, "input must have rank >= 1");
  /* Before opset 13 the input is coerced to 2-D at axis (default 1), so axis = r is still a
   * valid split ([prod, 1]); from 13 axis (default -1) names one axis. The shape is kept. */
  bool coerced = opset_of(g) < 13;
  int64_t a = ir_attr_int(g, n, "axis", coerced ? 1 : -1);
  if (!sh_axis(a, r, &ax) && !(coerced && (a == r)))
    return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)a, r);
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  return sh_set_out(g, n, 0, x->dtype, r, dims, d);
}

/* Folds an integer ReduceSum/Prod/Max/Min or ArgMax/ArgMin whose input values are known (the
 * shape arithmetic some exporters emit, e.g. ReduceProd over Shape). reduce marks the reduced
 * axes (exactly one for Arg*); the output's shape is already set. Float data is left alone. */
static XdlStatus fold_reduction(Graph *g, uint32_t n, const Tensor *x, const bool *reduce,
                                Diag *d) {
  OpKind op = g->nodes[n].op;
  bool arg = op == OP_ARG_MAX || op == OP_ARG_MIN;
  if (!arg && op != OP_REDUCE_SUM && op != OP_REDUCE_PROD && op != OP_REDUCE_MAX &&
      op != OP_REDUCE_MIN)
    return XDL_OK;
  Tensor *o = fold_out(g, n, 0);
  int64_t xn = ir_numel(x);
  if (!o || !ir_dtype_is_int(x->dtype) || !fold_known(x) || xn <= 0) return XDL_OK;
  int64_t *acc = fold_ibuf(g, o), *best = arg ? fold_ibuf(g, o) : NULL;
  if (!acc || (arg && !best)) return fold_oom(d);
  bool last = ir_attr_int(g, n, "select_last_index", 0) != 0;
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t k = 0; k < xn; k++) {
    int64_t at = 0, pos = 0, v = fold_i(x, k);
    for (int a = 0; a < x->rank; a++) {
      if (!reduce[a])
        at = at * x->dims[a] + idx[a];
      else
        pos = pos * x->dims[a] + idx[a];
    }
    /* Row-major order visits each output slot's elements in increasing pos, so pos 0 is the
     * first one seen. Sums and products wrap like the integer type does. */
    if (arg) {
      bool better = op == OP_ARG_MAX ? (v > best[at] || (last && v == best[at]))
                                     : (v < best[at] || (last && v == best[at]));
      if (pos == 0 || better) {
        best[at] = v;
        acc[at] = pos;
      }
    } else if (pos == 0) {
      acc[at] = v;
    } else if (op == OP_REDUCE_SUM) {
      acc[at] = fold_int_wrap(x->dtype, (int64_t)((uint64_t)acc[at] + (uint64_t)v));
    } else if (op == OP_REDUCE_PROD) {
      acc[at] = fold_int_wrap(x->dtype, (int64_t)((uint64_t)acc[at] * (uint64_t)v));
    } else if (op == OP_REDUCE_MAX ? v > acc[at] : v < acc[at]) {
      acc[at] = v;
    }
    fold_next(x->rank, x->dims, idx);
  }
  o->ivals = acc;
  return XDL_OK;
}

/* Reduce*(data, axes?) -> data with the reduced axes set to 1 (keepdims) or removed. */
XdlStatus shape_reduce(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "data", d);
  if (!x) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  int r = x->rank;
  /* ReduceSum takes axes as input 1 from opset 13, every other reduction from opset 18; before
   * that axes is an attribute. */
  bool axes_input = opset_of(g) >= 18 || (g->nodes[n].op == OP_REDUCE_SUM && opset_of(g) >= 13);
  int64_t axes[IR_MAX_RANK];
  int count = 0;
  const Tensor *ai = axes_input ? sh_in(g, n, 1) : NULL;
  if (ai && !ir_node_attr(g, n, "axes") && ir_numel(ai) == 0) {
    count = 0; /* an empty axes tensor needs no known values */
  } else if (sh_int_list(g, n, "axes", axes_input ? 1 : -1, axes, &count, IR_MAX_RANK, d) < 0) {
    return XDL_ERR_INPUT;
  }
  bool keep = ir_attr_int(g, n, "keepdims", 1) != 0;
  bool reduce[IR_MAX_RANK] = {false};
  int64_t dims[IR_MAX_RANK];
  if (count == 0) {
    /* Empty axes: reduce everything, unless noop_with_empty_axes makes it the identity. */
    if (ir_attr_int(g, n, "noop_with_empty_axes", 0) != 0) {
      memcpy(dims, x->dims, sizeof dims);
      st = sh_set_out(g, n, 0, x->dtype, r, dims, d);
      return st == XDL_OK ? fold_copy(g, n, 0, x, d) : st;
    }
    for (int i = 0; i < r; i++)
      reduce[i] = true;
  }
  for (int i = 0; i < count; i++) {
    int ax;
    if (!sh_axis(axes[i], r, &ax))
      return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)axes[i], r);
    if (reduce[ax]) return sh_fail(g, n, d, "axis %lld is listed twice", (long long)axes[i]);
    reduce[ax] = true;
  }
  int ro = 0;
  for (int i = 0; i < r; i++) {
    if (!reduce[i])
      dims[ro++] = x->dims[i];
    else if (keep)
      dims[ro++] = 1;
  }
  if ((st = sh_set_out(g, n, 0, x->dtype, ro, dims, d)) != XDL_OK) return st;
  return fold_reduction(g, n, x, reduce, d);
}

/* ArgMax / ArgMin(data) -> int64 indices along axis (kept as 1 or removed). */
XdlStatus shape_arg_reduce(Graph *g, uint32_t n, Diag *d) {
  const Tensor *x = need_in(g, n, 0, "data", d);
  if (!x) return XDL_ERR_INPUT;
  XdlStatus st = check_outputs(g, n, 1, d);
  if (st != XDL_OK) return st;
  int r = x->rank, ax;
  int64_t a = ir_attr_int(g, n, "axis", 0);
  if (!sh_axis(a, r, &ax))
    return sh_fail(g, n, d, "axis %lld is out of range for rank %d", (long long)a, r);
  bool keep = ir_attr_int(g, n, "keepdims", 1) != 0, reduce[IR_MAX_RANK] = {false};
  int64_t dims[IR_MAX_RANK];
  int ro = 0;
  reduce[ax] = true;
  for (int i = 0; i < r; i++) {
    if (i != ax)
      dims[ro++] = x->dims[i];
    else if (keep)
      dims[ro++] = 1;
  }
  /* select_last_index (opset 12) picks among ties; the shape does not depend on it. */
  if ((st = sh_set_out(g, n, 0, DT_INT64, ro, dims, d)) != XDL_OK) return st;
  return fold_reduction(g, n, x, reduce, d);
}
