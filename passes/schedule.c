/* schedule.c — the last pass: turns a shape-inferred graph into the flat task list the backend
 * costs. GEMM-like nodes become PE-array tasks with their GEMM view, vector nodes become
 * vector-unit tasks with element-operation counts by cost class, and data-movement and shape
 * nodes become nothing. Reads the graph only; the Schedule borrows names from its arena. */
#include <string.h>

#include "passes/passes.h"

/* Sums the element counts of tensors ids[0..n) (IR_NONE skipped, and ROLE_CONST skipped when
 * skip_const) into *out. Returns false when a shape is unknown or the sum overflows. */
static bool sum_elems(const Graph *g, const uint32_t *ids, int n, bool skip_const,
                      int64_t *out) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    if (ids[i] == IR_NONE) continue;
    const Tensor *t = &g->tensors[ids[i]];
    if (skip_const && t->role == ROLE_CONST) continue;
    int64_t e = ir_numel(t);
    if (e < 0 || !ir_add_ok(total, e, &total)) return false;
  }
  *out = total;
  return true;
}

/* Fills t->conv for a 2-D, batch-1, undilated Conv (see passes.h); leaves it zero otherwise,
 * so the task reaches the array through its GEMM view. The input SCALE-Sim should see is the
 * part the windows cover: (out - 1) * stride + kernel rows and columns of the padded input, so
 * its ceil-based output size equals the real one. */
static void conv_geometry(const Graph *g, uint32_t n, Task *t) {
  const Node *nd = &g->nodes[n];
  if (nd->op != OP_CONV || nd->n_inputs < 2 || nd->inputs[1] == IR_NONE) return;
  const Tensor *x = &g->tensors[nd->inputs[0]], *w = &g->tensors[nd->inputs[1]];
  const Tensor *y = &g->tensors[nd->outputs[0]];
  if (x->rank != 4 || w->rank != 4 || y->rank != 4 || x->dims[0] != 1) return;
  const Attr *dil = ir_node_attr(g, n, "dilations");
  if (dil && dil->kind == ATTR_INTS)
    for (int i = 0; i < dil->n; i++)
      if (dil->ints[i] != 1) return;
  int64_t sh = 1, sw = 1;
  const Attr *st = ir_node_attr(g, n, "strides");
  if (st && st->kind == ATTR_INTS && st->n == 2) {
    sh = st->ints[0];
    sw = st->ints[1];
  }
  int64_t groups = ir_attr_int(g, n, "group", 1);
  if (groups < 1 || y->dims[2] < 1 || y->dims[3] < 1) return;
  t->conv.kernel_h = w->dims[2];
  t->conv.kernel_w = w->dims[3];
  t->conv.in_h = (y->dims[2] - 1) * sh + w->dims[2];
  t->conv.in_w = (y->dims[3] - 1) * sw + w->dims[3];
  t->conv.channels = w->dims[1];
  t->conv.filters = w->dims[0] / groups;
  t->conv.stride_h = sh;
  t->conv.stride_w = sw;
}

/* Records status with "FILE: node 'NAME' (Op): msg" (no file prefix for in-memory graphs). */
static XdlStatus node_error(const Graph *g, uint32_t n, Diag *d, XdlStatus status,
                            const char *msg) {
  const char *path = g->path ? g->path : "";
  return diag_error(d, status, "%s%snode '%s' (%s): %s", path, *path ? ": " : "",
                    g->nodes[n].name, ir_ops[g->nodes[n].op].name, msg);
}

/* Contract: g is shape-inferred and in topological order; s is zero-initialized. Appends one
 * task per GEMM-like or vector node, in node order, and sets s->total_macs. On failure s holds
 * the tasks built so far (free them with schedule_free) and d names the node. */
XdlStatus schedule_build(const Graph *g, Schedule *s, Diag *d) {
  s->model = g->name;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    const OpInfo *info = &ir_ops[nd->op];
    /* Data-movement ops (Reshape, Transpose, Concat, Slice, Pad, ...) are free on this target
     * model: they are either views the consumer addresses directly or folded into the
     * producer's write of its output into SRAM. Shape/constant ops were folded at import. */
    if (info->category == CAT_MOVE || info->category == CAT_META) continue;

    Task t;
    memset(&t, 0, sizeof t);
    t.node = n;
    t.name = nd->name;
    t.op = nd->op;
    t.phase = nd->phase;
    t.caps_role = nd->caps_role;
    t.caps_iter = nd->caps_iter;
    /* Inputs read: every non-constant operand (activations, and the weights or optimizer
     * state some vector ops read); constants are shape arguments, axes and scalars. */
    if (!sum_elems(g, nd->inputs, nd->n_inputs, true, &t.in_elems) ||
        !sum_elems(g, nd->outputs, nd->n_outputs, false, &t.out_elems))
      return node_error(g, n, d, XDL_ERR_INPUT, "tensor shape unknown or too large");

    NodeWork w = ir_node_work(g, n);
    if (info->category == CAT_GEMM) {
      t.unit = UNIT_ARRAY;
      t.gemm = w.gemm;
      t.macs = w.macs;
      t.vec_class = VEC_NONE;
      conv_geometry(g, n, &t);
      if (!ir_add_ok(s->total_macs, t.macs, &s->total_macs))
        return node_error(g, n, d, XDL_ERR_INPUT, "total MAC count overflows int64");
    } else {
      t.unit = UNIT_VECTOR;
      t.vec_class = info->vec_class;
      t.vec_ops = w.ops;
    }
    if (!xdl_grow((void **)&s->tasks, &s->cap_tasks, s->n_tasks + 1, sizeof *s->tasks))
      return diag_error(d, XDL_ERR_INTERNAL, "out of memory building the schedule");
    s->tasks[s->n_tasks++] = t;
  }
  return XDL_OK;
}

/* Frees the task array; s is left empty and may be reused. */
void schedule_free(Schedule *s) {
  xdl_free(s->tasks);
  memset(s, 0, sizeof *s);
}
