/* shape.c — the shape-inference driver and the helpers every shape rule uses. Rules run in
 * node order (the graph is topological), so each sees its inputs' shapes and, for small integer
 * tensors, their values: that is how PyTorch's Shape → Gather → Concat → Reshape chains fold. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

Tensor *sh_in(Graph *g, uint32_t n, int i) {
  const Node *nd = &g->nodes[n];
  if (i < 0 || i >= nd->n_inputs || nd->inputs[i] == IR_NONE) return NULL;
  return &g->tensors[nd->inputs[i]];
}

XdlStatus sh_fail(Graph *g, uint32_t n, Diag *d, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const Node *nd = &g->nodes[n];
  return diag_error(d, XDL_ERR_INPUT, "%s%snode '%s' (%s): %s", g->path, *g->path ? ": " : "",
                    nd->name, ir_ops[nd->op].name, msg);
}

XdlStatus sh_set_out(Graph *g, uint32_t n, int i, DataType dt, int rank, const int64_t *dims,
                     Diag *d) {
  const Node *nd = &g->nodes[n];
  if (i >= nd->n_outputs || nd->outputs[i] == IR_NONE) return XDL_OK;
  if (rank < 0 || rank > IR_MAX_RANK)
    return sh_fail(g, n, d, "output rank %d is outside 0..%d", rank, IR_MAX_RANK);
  int64_t numel = 1;
  for (int k = 0; k < rank; k++) {
    if (dims[k] < 0)
      return sh_fail(g, n, d, "output %d would have negative dimension %lld", i,
                     (long long)dims[k]);
    if (!ir_mul_ok(numel, dims[k], &numel))
      return sh_fail(g, n, d, "output %d has more elements than fit in 64 bits", i);
  }
  Tensor *t = &g->tensors[nd->outputs[i]];
  t->dtype = dt;
  t->rank = rank;
  if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
  return XDL_OK;
}

int sh_int_list(Graph *g, uint32_t n, const char *attr, int input_idx, int64_t *out, int *count,
                int max, Diag *d) {
  const Attr *a = attr ? ir_node_attr(g, n, attr) : NULL;
  if (a) {
    if (a->kind == ATTR_INT) {
      if (max < 1) goto too_long;
      out[0] = a->i;
      *count = 1;
      return 1;
    }
    if (a->kind != ATTR_INTS) {
      sh_fail(g, n, d, "attribute '%s' must be a list of integers", attr);
      return -1;
    }
    if (a->n > max) goto too_long;
    if (a->n) memcpy(out, a->ints, (size_t)a->n * sizeof *out);
    *count = a->n;
    return 1;
  }
  const Tensor *t = input_idx >= 0 ? sh_in(g, n, input_idx) : NULL;
  if (!t) return 0;
  int64_t numel = ir_numel(t);
  if (!t->ivals || numel < 0) {
    sh_fail(g, n, d, "input %d ('%s') must be known at import time (a constant or foldable "
                     "shape expression)", input_idx, t->name);
    return -1;
  }
  if (numel > max) goto too_long;
  if (numel) memcpy(out, t->ivals, (size_t)numel * sizeof *out);
  *count = (int)numel;
  return 1;
too_long:
  sh_fail(g, n, d, "%s has more than %d entries", attr ? attr : "list input", max);
  return -2;
}

bool sh_axis(int64_t axis, int rank, int *out) {
  if (axis < -(int64_t)rank || axis >= rank) return false;
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

bool sh_broadcast(int ra, const int64_t *a, int rb, const int64_t *b, int *rout, int64_t *out) {
  int r = ra > rb ? ra : rb;
  for (int k = 0; k < r; k++) {
    int ia = k - (r - ra), ib = k - (r - rb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da == db || db == 1) out[k] = da;
    else if (da == 1) out[k] = db;
    else return false;
  }
  *rout = r;
  return true;
}

XdlStatus ir_infer_node(Graph *g, uint32_t n, Diag *d) {
  const Node *nd = &g->nodes[n];
  for (int i = 0; i < nd->n_inputs; i++) {
    const Tensor *t = sh_in(g, n, i);
    if (t && t->rank < 0)
      return sh_fail(g, n, d, "input %d ('%s') has no known shape", i, t->name);
  }
  return ir_ops[nd->op].shape(g, n, d);
}

XdlStatus ir_infer_shapes(Graph *g, Diag *d) {
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    XdlStatus st = ir_infer_node(g, n, d);
    if (st != XDL_OK) return st;
    const Node *nd = &g->nodes[n];
    for (int i = 0; i < nd->n_outputs; i++)
      if (nd->outputs[i] != IR_NONE && g->tensors[nd->outputs[i]].rank < 0)
        return sh_fail(g, n, d, "shape rule left output %d without a shape", i);
  }
  return XDL_OK;
}
