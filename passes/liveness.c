/* liveness.c — the memory footprint of one step of a graph: weights, optimizer state and
 * constants resident for the whole step, plus the tensors live at each step of the node order
 * (the order schedule_build runs tasks in), split into saved activations, gradients and other
 * transients. A read-only analysis after the passes (autodiff included) and before costing; the
 * reports of inspect, estimate and explore and the design-space memory limit read its result. */
#include <string.h>

#include "passes/passes.h"

/* The transient classes, tracked step by step. */
enum { LIVE_SAVED, LIVE_GRADIENT, LIVE_ACTIVATION, LIVE_N };

/* Whether node n's first output is a view of its first input (same bytes, no copy). */
static bool is_view(const Node *nd) {
  if (nd->n_inputs < 1 || nd->n_outputs < 1 || nd->inputs[0] == IR_NONE ||
      nd->outputs[0] == IR_NONE)
    return false;
  switch (nd->op) {
  case OP_RESHAPE:
  case OP_FLATTEN:
  case OP_SQUEEZE:
  case OP_UNSQUEEZE:
  case OP_IDENTITY: return true;
  default: return nd->layout_only;
  }
}

/* Whether tensor t is resident state: a weight or optimizer state no node produces. */
static bool is_state(const Graph *g, uint32_t t) {
  const Tensor *x = &g->tensors[t];
  return (x->role == ROLE_WEIGHT || x->role == ROLE_OPT_STATE) && x->producer == IR_NONE;
}

/* An optimizer update writes each new weight and state value over the old one: output o of
 * update node nd is an in-place update of the first state input, not yet claimed by an earlier
 * output, with the same element type and count (SGD's W → W.new; Adam's W, V, H → W.new,
 * V.new, H.new). Makes o a view of it; a gradient of the same shape is not state. */
static void update_in_place(const Graph *g, const Node *nd, uint32_t *root) {
  uint32_t claimed = 0; /* bit i: input i already taken (inputs past 32 are never claimed) */
  for (int o = 0; o < nd->n_outputs; o++) {
    uint32_t out = nd->outputs[o];
    if (out == IR_NONE) continue;
    const Tensor *y = &g->tensors[out];
    for (int i = 0; i < nd->n_inputs && i < 32; i++) {
      uint32_t in = nd->inputs[i];
      if (in == IR_NONE || (claimed >> i & 1) || !is_state(g, in)) continue;
      const Tensor *x = &g->tensors[in];
      if (x->dtype != y->dtype || ir_numel(x) != ir_numel(y) || ir_numel(x) < 0) continue;
      claimed |= 1u << i;
      root[out] = root[in];
      break;
    }
  }
}

/* Bytes of tensor t into *out; XDL_ERR_INPUT naming it when its shape is unknown or the count
 * overflows. A string or undefined element type has no size and counts 0. */
static XdlStatus tensor_bytes(const Graph *g, uint32_t t, int64_t *out, Diag *d) {
  const Tensor *x = &g->tensors[t];
  int64_t n = ir_numel(x);
  const char *path = g->path ? g->path : "";
  if (n < 0)
    return diag_error(d, XDL_ERR_INPUT,
                      "%s%stensor '%s': shape unknown or too large for the "
                      "memory footprint",
                      path, *path ? ": " : "", x->name);
  if (!ir_mul_ok(n, ir_dtype_bytes(x->dtype), out))
    return diag_error(d, XDL_ERR_INPUT, "%s%stensor '%s': byte count overflows int64", path,
                      *path ? ": " : "", x->name);
  return XDL_OK;
}

/* Adds v to *acc, recording an overflow error. */
static XdlStatus add_bytes(int64_t *acc, int64_t v, Diag *d) {
  if (ir_add_ok(*acc, v, acc)) return XDL_OK;
  return diag_error(d, XDL_ERR_INPUT, "memory footprint overflows int64");
}

/* Contract: see passes.h. Steps are node indices. Pass 1 walks the nodes once, resolving views
 * to the tensor that owns the bytes (its root) and recording each root's last reader and
 * whether a node outside the forward phase reads it; pass 2 classifies each root and adds its
 * bytes to a difference array over [first step, last step]; pass 3 sweeps the steps. O(nodes +
 * tensors + edges). */
XdlStatus training_memory(const Graph *g, MemoryFootprint *out, Diag *d) {
  memset(out, 0, sizeof *out);
  out->peak_node = IR_NONE;
  uint32_t nt = g->n_tensors, nn = g->n_nodes;
  size_t cnt = nt ? nt : 1;
  uint32_t *root = xdl_malloc(cnt * sizeof *root);
  uint32_t *last = xdl_malloc(cnt * sizeof *last); /* last reading step, IR_NONE = unread */
  bool *late = xdl_calloc(cnt, sizeof *late);      /* read by a non-forward node */
  int64_t *delta = xdl_calloc(((size_t)nn + 1) * LIVE_N, sizeof *delta);
  XdlStatus st = XDL_OK;
  if (!root || !last || !late || !delta) {
    st = diag_error(d, XDL_ERR_INTERNAL, "out of memory computing the memory footprint");
    goto done;
  }
  for (uint32_t t = 0; t < nt; t++) {
    root[t] = t;
    last[t] = IR_NONE;
  }

  /* Pass 1: readers and views, in node order. */
  for (uint32_t n = 0; n < nn; n++) {
    const Node *nd = &g->nodes[n];
    for (int i = 0; i < nd->n_inputs; i++) {
      if (nd->inputs[i] == IR_NONE) continue;
      uint32_t r = root[nd->inputs[i]];
      last[r] = n;
      if (nd->phase != PHASE_FORWARD) late[r] = true;
    }
    if (is_view(nd)) root[nd->outputs[0]] = root[nd->inputs[0]];
    if (nd->phase == PHASE_UPDATE) update_in_place(g, nd, root);
  }
  for (uint32_t i = 0; i < g->n_outputs && nn > 0; i++)
    last[root[g->outputs[i]]] = nn - 1; /* returned at the end of the step */

  /* Pass 2: classify every root that is read or produced. */
  for (uint32_t t = 0; t < nt; t++) {
    if (root[t] != t) continue;
    const Tensor *x = &g->tensors[t];
    bool produced = x->producer != IR_NONE;
    if (!produced && last[t] == IR_NONE) continue; /* neither read nor produced */
    bool persistent = x->role == ROLE_WEIGHT || x->role == ROLE_OPT_STATE || x->role == ROLE_CONST;
    if (persistent && produced && x->role != ROLE_CONST) continue; /* in-place update */
    if (x->role == ROLE_CONST && last[t] == IR_NONE) continue;     /* a folded, unread value */
    int64_t bytes = 0;
    if ((st = tensor_bytes(g, t, &bytes, d)) != XDL_OK) goto done;
    if (persistent) {
      int64_t *acc = x->role == ROLE_WEIGHT      ? &out->weights_bytes
                     : x->role == ROLE_OPT_STATE ? &out->opt_state_bytes
                                                 : &out->const_bytes;
      if ((st = add_bytes(acc, bytes, d)) != XDL_OK) goto done;
      continue;
    }
    uint32_t first = produced ? x->producer : 0;
    uint32_t end = last[t] == IR_NONE || last[t] < first ? first : last[t];
    bool forward = !produced || g->nodes[x->producer].phase == PHASE_FORWARD;
    int cls = x->role == ROLE_GRADIENT ? LIVE_GRADIENT
              : forward && late[t]     ? LIVE_SAVED
                                       : LIVE_ACTIVATION;
    if ((st = add_bytes(&delta[(size_t)first * LIVE_N + cls], bytes, d)) != XDL_OK ||
        (st = add_bytes(&delta[((size_t)end + 1) * LIVE_N + cls], -bytes, d)) != XDL_OK)
      goto done;
  }

  /* Pass 3: sweep the steps; the first step reaching the highest total is the peak. */
  int64_t resident = 0, cur[LIVE_N] = {0, 0, 0};
  if ((st = add_bytes(&resident, out->weights_bytes, d)) != XDL_OK ||
      (st = add_bytes(&resident, out->opt_state_bytes, d)) != XDL_OK ||
      (st = add_bytes(&resident, out->const_bytes, d)) != XDL_OK)
    goto done;
  out->total_bytes = resident;
  int64_t *peaks[LIVE_N] = {&out->saved_bytes, &out->gradients_bytes, &out->activations_bytes};
  for (uint32_t n = 0; n < nn; n++) {
    int64_t total = resident;
    for (int c = 0; c < LIVE_N; c++) {
      if ((st = add_bytes(&cur[c], delta[(size_t)n * LIVE_N + c], d)) != XDL_OK ||
          (st = add_bytes(&total, cur[c], d)) != XDL_OK)
        goto done;
      if (cur[c] > *peaks[c]) *peaks[c] = cur[c];
    }
    if (out->peak_node == IR_NONE || total > out->total_bytes) {
      out->total_bytes = total;
      out->peak_node = n;
      out->peak_name = g->nodes[n].name;
      out->peak_saved_bytes = cur[LIVE_SAVED];
      out->peak_gradients_bytes = cur[LIVE_GRADIENT];
      out->peak_activations_bytes = cur[LIVE_ACTIVATION];
    }
  }
done:
  xdl_free(root);
  xdl_free(last);
  xdl_free(late);
  xdl_free(delta);
  return st;
}
