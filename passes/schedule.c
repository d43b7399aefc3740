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
