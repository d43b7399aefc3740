/* verify.c — structural invariants of a Graph, checked after import and after every pass:
 * ids in range, single assignment, topological order, every used tensor has a source, and
 * every shape is known. A failure here after a pass is a bug in that pass. */
#include "ir/ir.h"

XdlStatus ir_verify(const Graph *g, Diag *d) {
  const char *path = g->path;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    if ((unsigned)nd->op >= OP_COUNT)
      return diag_error(d, XDL_ERR_INTERNAL, "%s: node '%s' has no operator", path, nd->name);
    for (int i = 0; i < nd->n_inputs; i++) {
      uint32_t t = nd->inputs[i];
      if (t == IR_NONE) continue;
      if (t >= g->n_tensors)
        return diag_error(d, XDL_ERR_INTERNAL, "%s: node '%s' input %d is not a tensor", path,
                          nd->name, i);
      const Tensor *ts = &g->tensors[t];
      if (ts->producer == IR_NONE) {
        if (ts->role == ROLE_ACTIVATION)
          return diag_error(d, XDL_ERR_INTERNAL, "%s: node '%s' reads '%s', which nothing "
                            "produces", path, nd->name, ts->name);
      } else if (ts->producer >= n) {
        return diag_error(d, XDL_ERR_INTERNAL, "%s: node '%s' reads '%s' before node '%s' "
                          "produces it (not topological)", path, nd->name, ts->name,
                          g->nodes[ts->producer].name);
      }
      if (ts->rank < 0)
        return diag_error(d, XDL_ERR_INTERNAL, "%s: tensor '%s' has no shape", path, ts->name);
    }
    for (int i = 0; i < nd->n_outputs; i++) {
      uint32_t t = nd->outputs[i];
      if (t == IR_NONE) continue;
      if (t >= g->n_tensors || g->tensors[t].producer != n)
        return diag_error(d, XDL_ERR_INTERNAL, "%s: node '%s' output %d is assigned twice or "
                          "not linked to its producer", path, nd->name, i);
      if (g->tensors[t].rank < 0)
        return diag_error(d, XDL_ERR_INTERNAL, "%s: output '%s' of node '%s' has no shape",
                          path, g->tensors[t].name, nd->name);
    }
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    uint32_t t = g->outputs[i];
    if (t >= g->n_tensors)
      return diag_error(d, XDL_ERR_INTERNAL, "%s: graph output %u is not a tensor", path, i);
    const Tensor *ts = &g->tensors[t];
    if (ts->producer == IR_NONE && ts->role == ROLE_ACTIVATION)
      return diag_error(d, XDL_ERR_INPUT, "%s: graph output '%s' is never produced", path,
                        ts->name);
  }
  return XDL_OK;
}
