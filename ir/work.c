/* work.c — how much arithmetic each node does: MACs and the GEMM view {G, M, N, K} of the
 * GEMM-like ops, element/reduction operation counts of vector ops, and parameter counts. The
 * definitions are those of ../shared/refdata/onnx/README.md (the MAC oracle). Counts saturate
 * at INT64_MAX instead of overflowing; a node whose shapes are unknown or inconsistent counts
 * zero (the shape rules reject such nodes before anyone asks). */
#include "ir/ir.h"

#include <string.h>

/* Product of dims[from, to), saturating. */
static int64_t sat_prod(const int64_t *dims, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++)
    p = ir_sat_mul(p, dims[i]);
  return p;
}

/* Input / output i with a known shape, or NULL. */
static const Tensor *in_t(const Graph *g, uint32_t n, int i) {
  const Node *nd = &g->nodes[n];
  if (i < 0 || i >= nd->n_inputs || nd->inputs[i] == IR_NONE) return NULL;
  const Tensor *t = &g->tensors[nd->inputs[i]];
  return t->rank >= 0 ? t : NULL;
}

static const Tensor *out_t(const Graph *g, uint32_t n, int i) {
  const Node *nd = &g->nodes[n];
  if (i < 0 || i >= nd->n_outputs || nd->outputs[i] == IR_NONE) return NULL;
  const Tensor *t = &g->tensors[nd->outputs[i]];
  return t->rank >= 0 ? t : NULL;
}

static int64_t elems(const Tensor *t) {
  return t ? sat_prod(t->dims, 0, t->rank) : 0;
}

/* Records the GEMM view and macs = G * M * N * K. */
static void set_gemm(int64_t *macs, GemmView *gemm, int64_t g, int64_t m, int64_t n, int64_t k) {
  gemm->g = g;
  gemm->m = m;
  gemm->n = n;
  gemm->k = k;
  *macs = ir_sat_mul(ir_sat_mul(g, m), ir_sat_mul(n, k));
}

/* Conv: im2col per group — G = groups, M = B * prod(out spatial), N = Cout / groups,
 * K = Cin / groups * prod(kernel). W is [Cout, Cin/groups, k...]. */
void work_conv(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)ops;
  const Tensor *w = in_t(g, n, 1), *y = out_t(g, n, 0);
  int64_t groups = ir_attr_int(g, n, "group", 1);
  if (!w || !y || w->rank < 3 || y->rank != w->rank || groups < 1 || w->dims[0] % groups) return;
  set_gemm(macs, gemm, groups, ir_sat_mul(y->dims[0], sat_prod(y->dims, 2, y->rank)),
           w->dims[0] / groups, sat_prod(w->dims, 1, w->rank));
}

/* ConvTranspose: each input pixel scatters a Cout/groups x kernel patch — G = groups,
 * M = B * prod(in spatial), N = Cout / groups * prod(kernel), K = Cin / groups.
 * W is [Cin, Cout/groups, k...]. */
void work_conv_transpose(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)ops;
  const Tensor *x = in_t(g, n, 0), *w = in_t(g, n, 1);
  int64_t groups = ir_attr_int(g, n, "group", 1);
  if (!x || !w || x->rank < 3 || w->rank != x->rank || groups < 1 || w->dims[0] % groups) return;
  set_gemm(macs, gemm, groups, ir_sat_mul(x->dims[0], sat_prod(x->dims, 2, x->rank)),
           sat_prod(w->dims, 1, w->rank), w->dims[0] / groups);
}

/* Gemm (a linear layer): G = 1, M = rows of op(A), N = columns of op(B), K = the inner dim.
 * The bias C is an elementwise add and not a MAC. */
void work_gemm(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)ops;
  const Tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1);
  if (!a || !b || a->rank != 2 || b->rank != 2) return;
  bool ta = ir_attr_int(g, n, "transA", 0) != 0, tb = ir_attr_int(g, n, "transB", 0) != 0;
  set_gemm(macs, gemm, 1, a->dims[ta ? 1 : 0], b->dims[tb ? 0 : 1], a->dims[ta ? 0 : 1]);
}

/* MatMul (numpy semantics): G = product of the broadcast batch dims; a 1-D A gives M = 1,
 * a 1-D B gives N = 1. */
void work_matmul(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)ops;
  const Tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1);
  if (!a || !b || a->rank < 1 || b->rank < 1) return;
  int ra = a->rank, rb = b->rank, rbat;
  int64_t bat[IR_MAX_RANK];
  if (!sh_broadcast(ra > 2 ? ra - 2 : 0, a->dims, rb > 2 ? rb - 2 : 0, b->dims, &rbat, bat)) return;
  set_gemm(macs, gemm, sat_prod(bat, 0, rbat), ra == 1 ? 1 : a->dims[ra - 2],
           rb == 1 ? 1 : b->dims[rb - 1], a->dims[ra - 1]);
}

/* Einsum, two operands (the README's mulsum rule): MACs = elements of the broadcast product;
 * K = product of the summed labels; a kept label goes to G when both operands have it with
 * size > 1, to M when only A does, to N when only B does. One operand is a reduction or a
 * permutation, not a product: it counts its input elements as vector ops. */
void work_einsum(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  const Node *nd = &g->nodes[n];
  const char *eq = ir_attr_string(g, n, "equation", NULL);
  int n_ops = nd->n_inputs;
  if (!eq || n_ops < 1 || n_ops > EIN_MAX_OPS) return;
  int ranks[EIN_MAX_OPS];
  const int64_t *dims[EIN_MAX_OPS];
  for (int k = 0; k < n_ops; k++) {
    const Tensor *t = in_t(g, n, k);
    if (!t) return;
    ranks[k] = t->rank;
    dims[k] = t->dims;
  }
  EinsumSpec s;
  char err[200];
  if (!einsum_parse(eq, n_ops, ranks, dims, &s, err, sizeof err)) return;
  if (n_ops == 1) {
    *ops = elems(in_t(g, n, 0));
    return;
  }
  int64_t G = 1, M = 1, N = 1, K = 1;
  for (int l = 0; l < EIN_LABELS; l++) {
    if (!s.used[l]) continue;
    if (!s.in_out[l]) {
      K = ir_sat_mul(K, s.size[l]);
      continue;
    }
    bool in_a = s.op_size[0][l] > 1, in_b = s.op_size[1][l] > 1;
    if (in_a && !in_b)
      M = ir_sat_mul(M, s.size[l]);
    else if (in_b && !in_a)
      N = ir_sat_mul(N, s.size[l]);
    else
      G = ir_sat_mul(G, s.size[l]);
  }
  set_gemm(macs, gemm, G, M, N, K);
}

/* One operation per input element (normalizations, softmax, reductions). */
void work_elems_in(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)macs, (void)gemm;
  *ops = elems(in_t(g, n, 0));
}

/* One operation per output element (elementwise ops). */
void work_elems_out(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)macs, (void)gemm;
  *ops = elems(out_t(g, n, 0));
}

/* Variadic elementwise ops (Sum, Max, ...): one operation per output element per extra input,
 * and at least one per output element (a single-input Sum is a copy). */
void work_variadic(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)macs, (void)gemm;
  int extra = g->nodes[n].n_inputs - 1;
  *ops = ir_sat_mul(elems(out_t(g, n, 0)), extra > 1 ? extra : 1);
}

/* Pooling: every output element reads one kernel window. */
void work_pool(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)macs, (void)gemm;
  const Attr *k = ir_node_attr(g, n, "kernel_shape");
  int64_t window = 1;
  if (k && k->kind == ATTR_INTS)
    for (int i = 0; i < k->n; i++)
      window = ir_sat_mul(window, k->ints[i]);
  *ops = ir_sat_mul(elems(out_t(g, n, 0)), window);
}

/* LRN: every element sums squares over `size` neighbouring channels. */
void work_lrn(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)macs, (void)gemm;
  int64_t size = ir_attr_int(g, n, "size", 1);
  *ops = ir_sat_mul(elems(in_t(g, n, 0)), size > 1 ? size : 1);
}

/* Layout and shape ops: no arithmetic. */
void work_none(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm) {
  (void)g, (void)n, (void)macs, (void)ops, (void)gemm;
}

/* Work of node n through its op's work rule, plus its parameter count; all zero for an
 * out-of-range node id. */
NodeWork ir_node_work(const Graph *g, uint32_t n) {
  NodeWork w;
  memset(&w, 0, sizeof w);
  if (n >= g->n_nodes) return w;
  const Node *nd = &g->nodes[n];
  if ((unsigned)nd->op < OP_COUNT) ir_ops[nd->op].work(g, n, &w.macs, &w.ops, &w.gemm);
  /* Parameters: each distinct weight tensor the node reads, once. */
  for (int i = 0; i < nd->n_inputs; i++) {
    uint32_t t = nd->inputs[i];
    if (t == IR_NONE || g->tensors[t].role != ROLE_WEIGHT) continue;
    bool seen = false;
    for (int j = 0; j < i; j++)
      seen = seen || nd->inputs[j] == t;
    if (!seen) w.params = ir_sat_add(w.params, elems(in_t(g, n, i)));
  }
  return w;
}
