/* canonicalize.c — the first pass: a smaller, uniform graph for the later ones.
 * Requires: a shape-inferred graph. Does: drops Identity and inference-mode Dropout (their
 * consumers read the input instead; kept when their output is a graph output), removes
 * constant computation (shape/constant ops, and any node whose outputs were all folded to known
 * values at import; their outputs become ROLE_CONST tensors), and marks Reshape, Flatten,
 * Squeeze and Unsqueeze as layout-only views.
 * Invalidates: node ids. */
#include <string.h>

#include "passes/passes.h"

/* True for a Dropout that only copies: no mask output used and not in training mode. */
static bool dropout_is_copy(const Graph *g, uint32_t n) {
  const Node *nd = &g->nodes[n];
  if (nd->n_inputs > 2 && nd->inputs[2] != IR_NONE) {
    const Tensor *tm = &g->tensors[nd->inputs[2]];
    if (!tm->ivals || tm->ivals[0] != 0) return false; /* training_mode true or unknown */
  }
  return nd->n_outputs < 2 || nd->outputs[1] == IR_NONE;
}

XdlStatus pass_canonicalize(Graph *g, const PassOptions *o, Diag *d) {
  (void)o;
  bool *remove = xdl_calloc(g->n_nodes ? g->n_nodes : 1, sizeof *remove);
  uint32_t *alias = xdl_malloc((g->n_tensors ? g->n_tensors : 1) * sizeof *alias);
  if (!remove || !alias) {
    xdl_free(remove);
    xdl_free(alias);
    return diag_error(d, XDL_ERR_INTERNAL, "out of memory in canonicalize");
  }
  for (uint32_t t = 0; t < g->n_tensors; t++) alias[t] = t;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    Node *nd = &g->nodes[n];
    /* Read through removed copies first, so chains of Identity collapse. */
    for (int i = 0; i < nd->n_inputs; i++)
      if (nd->inputs[i] != IR_NONE) nd->inputs[i] = alias[nd->inputs[i]];
    uint32_t out = nd->n_outputs ? nd->outputs[0] : IR_NONE;
    bool copy = nd->op == OP_IDENTITY || (nd->op == OP_DROPOUT && dropout_is_copy(g, n));
    if (copy && out != IR_NONE && !g->tensors[out].is_graph_output && nd->inputs[0] != IR_NONE) {
      alias[out] = nd->inputs[0];
      remove[n] = true;
      continue;
    }
    /* Constant computation: shape/constant ops (their inputs are known at import by
     * construction) and any node whose outputs were all folded to known values. */
    bool folded = nd->n_outputs > 0;
    for (int i = 0; i < nd->n_outputs; i++) {
      uint32_t t = nd->outputs[i];
      if (t == IR_NONE) continue;
      const Tensor *ts = &g->tensors[t];
      bool known = ir_ops[nd->op].category == CAT_META || ts->ivals || ts->fvals ||
                   ir_numel(ts) == 0;
      if (!known || ts->is_graph_output) folded = false;
    }
    if (folded) {
      for (int i = 0; i < nd->n_outputs; i++)
        if (nd->outputs[i] != IR_NONE) g->tensors[nd->outputs[i]].role = ROLE_CONST;
      remove[n] = true;
      continue;
    }
    if (nd->op == OP_RESHAPE || nd->op == OP_FLATTEN || nd->op == OP_SQUEEZE ||
        nd->op == OP_UNSQUEEZE)
      nd->layout_only = true;
  }
  ir_remove_nodes(g, remove);
  xdl_free(remove);
  xdl_free(alias);
  return XDL_OK;
}
