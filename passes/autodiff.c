/* autodiff.c — the training pass: turns a forward graph into one training step.
 * Requires: a shape-inferred, topologically ordered graph (after canonicalize and capsule
 * lowering). Does: (1) expands every ONNX Gradient node into the backward graph of its y with
 * respect to its xs (in any mode); (2) with o->train, appends a loss over the graph outputs
 * (PHASE_LOSS nodes, a ROLE_LOSS scalar), the backward graph in reverse topological order using
 * each op's rule from ops.def (PHASE_BACKWARD_DATA for nodes feeding activation gradients,
 * PHASE_BACKWARD_WEIGHT for those feeding only weight gradients; fwd_node and origin name the
 * forward node), and one optimizer update per weight (PHASE_UPDATE, with ROLE_OPT_STATE state).
 * The activations the backward graph must keep (saved activations) are exactly the forward
 * tensors its nodes read; the liveness pass reads them from the graph structure.
 * Invalidates: node ids (Gradient expansion re-sorts the graph). */
#include <stdio.h>
#include <string.h>

#include "passes/passes.h"

/* Hyper-parameters written into the update nodes (PyTorch's defaults). */
#define AD_LEARNING_RATE 0.01
#define AD_MOMENTUM 0.9
#define AD_ADAM_BETA1 0.9
#define AD_ADAM_BETA2 0.999
#define AD_ADAM_EPS 1e-8
/* Capsule margin loss (Sabour et al. 2017): m+ = 0.9, m- = 0.1, lambda = 0.5; the
 * reconstruction term is scaled by 0.0005 when added to it. */
#define AD_M_PLUS 0.9
#define AD_M_MINUS 0.1
#define AD_LAMBDA 0.5
#define AD_RECON_WEIGHT 0.0005

/* State of one backward sweep. Arrays are indexed by tensor id and cover the tensors that
 * existed when the sweep started (every forward tensor). */
typedef struct Ad {
  Graph *g;
  const PassOptions *o;
  Diag *d;
  uint32_t nt;        /* tensors covered */
  bool *need;         /* the tensor depends differentiably on a source */
  bool *from_input;   /* the tensor depends on a graph input (else: weights/constants only) */
  bool *votes;        /* capsule prediction vectors (for detach_routing) */
  uint32_t *grad;     /* gradient tensor accumulated so far, or IR_NONE */
  int last_iter;      /* last routing iteration, -1 when the graph has none */
} Ad;

static bool is_float(DataType dt) {
  return dt == DT_FLOAT || dt == DT_DOUBLE || dt == DT_FLOAT16 || dt == DT_BFLOAT16;
}

static XdlStatus oom(Diag *d) {
  return diag_ok(d) ? diag_error(d, XDL_ERR_INTERNAL, "out of memory in autodiff") : d->status;
}

static void ad_free(Ad *a) {
  xdl_free(a->need);
  xdl_free(a->from_input);
  xdl_free(a->votes);
  xdl_free(a->grad);
  memset(a, 0, sizeof *a);
}

/* With detach_routing, input i of routing node n reads the prediction vectors as a constant in
 * every iteration but the last. */
static bool detached(const Ad *a, uint32_t n, int i) {
  const Node *nd = &a->g->nodes[n];
  if (!a->o->detach_routing || a->last_iter < 0 || nd->caps_iter >= a->last_iter) return false;
  if (nd->caps_role != CAPS_ROUTING_SUM && nd->caps_role != CAPS_ROUTING_AGREE) return false;
  uint32_t t = nd->inputs[i];
  return t != IR_NONE && t < a->nt && a->votes[t];
}

/* Fills need, from_input and votes over nodes [0, end) for the sources marked in
 * source[0, n_source). */
static XdlStatus ad_init(Ad *a, Graph *g, const PassOptions *o, const bool *source,
                         uint32_t n_source, uint32_t end, Diag *d) {
  memset(a, 0, sizeof *a);
  a->g = g, a->o = o, a->d = d, a->nt = g->n_tensors, a->last_iter = -1;
  size_t nt = a->nt ? a->nt : 1;
  a->need = xdl_calloc(nt, sizeof *a->need);
  a->from_input = xdl_calloc(nt, sizeof *a->from_input);
  a->votes = xdl_calloc(nt, sizeof *a->votes);
  a->grad = xdl_malloc(nt * sizeof *a->grad);
  if (!a->need || !a->from_input || !a->votes || !a->grad) return oom(d);
  for (uint32_t t = 0; t < a->nt; t++) {
    const Tensor *ts = &g->tensors[t];
    a->grad[t] = IR_NONE;
    a->need[t] = t < n_source && source[t] && is_float(ts->dtype);
    a->from_input[t] = ts->role == ROLE_INPUT;
  }
  for (uint32_t n = 0; n < end; n++) {
    const Node *nd = &g->nodes[n];
    if (nd->caps_role == CAPS_ROUTING_SUM && nd->caps_iter > a->last_iter)
      a->last_iter = nd->caps_iter;
  }
  for (uint32_t n = 0; n < end; n++) {
    const Node *nd = &g->nodes[n];
    bool need = false, inp = false;
    bool votes = nd->caps_role == CAPS_VOTES ||
                 (ir_ops[nd->op].category == CAT_MOVE && nd->n_inputs > 0 &&
                  nd->inputs[0] != IR_NONE && a->votes[nd->inputs[0]]);
    for (int i = 0; i < nd->n_inputs; i++) {
      uint32_t t = nd->inputs[i];
      if (t == IR_NONE) continue;
      inp = inp || a->from_input[t];
      bool diff = i >= 32 || !((ir_ops[nd->op].nodiff >> i) & 1u);
      if (diff && a->need[t] && !detached(a, n, i)) need = true;
    }
    for (int i = 0; i < nd->n_outputs; i++) {
      uint32_t t = nd->outputs[i];
      if (t == IR_NONE) continue;
      a->from_input[t] = inp;
      a->need[t] = need && is_float(g->tensors[t].dtype);
      a->votes[t] = votes;
    }
  }
  return XDL_OK;
}

/* Phase of a backward node: loss-phase forward nodes keep PHASE_LOSS; otherwise data when the
 * gradient it feeds belongs to a tensor that depends on the graph input. */
static Phase grad_phase(const Ad *a, uint32_t fwd, bool data) {
  if (a->g->nodes[fwd].phase == PHASE_LOSS) return PHASE_LOSS;
  return data ? PHASE_BACKWARD_DATA : PHASE_BACKWARD_WEIGHT;
}

/* Adds gnew into the gradient of tensor t (an Add node when t already has one). consumer is
 * the forward node whose rule produced gnew. */
static XdlStatus accumulate(Ad *a, uint32_t t, uint32_t gnew, uint32_t consumer) {
  Graph *g = a->g;
  const Tensor *tt = &g->tensors[t], *gt = &g->tensors[gnew];
  if (gt->rank != tt->rank ||
      (tt->rank && memcmp(gt->dims, tt->dims, (size_t)tt->rank * sizeof *tt->dims) != 0))
    return diag_error(a->d, XDL_ERR_INTERNAL, "node '%s' (%s): gradient of '%s' has the wrong "
                      "shape", g->nodes[consumer].name, ir_ops[g->nodes[consumer].op].name,
                      tt->name);
  if (a->grad[t] == IR_NONE) {
    a->grad[t] = gnew;
    return XDL_OK;
  }
  char base[520], name[600];
  snprintf(base, sizeof base, "%.500s.grad", tt->name);
  snprintf(name, sizeof name, "%.500s/grad/accumulate", tt->name);
  uint32_t producer = tt->producer; /* tt dangles once the tensor table grows */
  uint32_t out = ir_add_tensor_unique(g, base, tt->dtype, ROLE_GRADIENT, -1, NULL, a->d);
  if (out == IR_NONE) return a->d->status;
  uint32_t in[2] = {a->grad[t], gnew};
  uint32_t id = ir_add_node(g, OP_ADD, name, in, 2, &out, 1, a->d);
  if (id == IR_NONE) return a->d->status;
  Node *nd = &g->nodes[id];
  nd->fwd_node = producer != IR_NONE ? producer : consumer;
  nd->origin = g->nodes[nd->fwd_node].name;
  nd->phase = grad_phase(a, consumer, a->from_input[t]);
  nd->caps_role = g->nodes[nd->fwd_node].caps_role;
  nd->caps_iter = g->nodes[nd->fwd_node].caps_iter;
  XdlStatus st = ir_infer_node(g, id, a->d);
  if (st == XDL_OK) a->grad[t] = out;
  return st;
}

/* Settles the phase of the nodes [n0, end) a rule just created for forward node fwd: a node is
 * backward-data when one of its outputs is (or feeds) the gradient of an input that depends on
 * the graph input, else backward-weight. */
static XdlStatus settle_phases(Ad *a, uint32_t fwd, uint32_t n0, uint32_t t0,
                               const uint32_t *grad_in, int n_in) {
  Graph *g = a->g;
  uint32_t span = g->n_tensors - t0;
  bool *data = xdl_calloc(span ? span : 1, sizeof *data);
  if (!data) return oom(a->d);
  for (int i = 0; i < n_in; i++) {
    uint32_t t = grad_in[i], x = g->nodes[fwd].inputs[i];
    if (t != IR_NONE && t >= t0 && a->from_input[x]) data[t - t0] = true;
  }
  for (uint32_t n = g->n_nodes; n-- > n0;) {
    Node *nd = &g->nodes[n];
    bool is_data = false;
    for (int i = 0; i < nd->n_outputs; i++) {
      uint32_t t = nd->outputs[i];
      if (t != IR_NONE && t >= t0 && data[t - t0]) is_data = true;
    }
    if (is_data)
      for (int i = 0; i < nd->n_inputs; i++) {
        uint32_t t = nd->inputs[i];
        if (t != IR_NONE && t >= t0) data[t - t0] = true;
      }
    nd->phase = grad_phase(a, fwd, is_data);
  }
  xdl_free(data);
  return XDL_OK;
}

/* Runs the backward rules of nodes [0, end) in reverse, from grad[seed] = seed_grad. */
static XdlStatus backprop(Ad *a, uint32_t end, uint32_t seed, uint32_t seed_grad) {
  Graph *g = a->g;
  a->grad[seed] = seed_grad;
  int max_io = 1;
  for (uint32_t n = 0; n < end; n++) {
    if (g->nodes[n].n_inputs > max_io) max_io = g->nodes[n].n_inputs;
    if (g->nodes[n].n_outputs > max_io) max_io = g->nodes[n].n_outputs;
  }
  max_io += 2; /* a rule may add an optional output (Dropout's mask, the loss' log_prob) */
  uint32_t *grad_out = xdl_malloc((size_t)max_io * sizeof *grad_out);
  uint32_t *grad_in = xdl_malloc((size_t)max_io * sizeof *grad_in);
  bool *need_in = xdl_malloc((size_t)max_io * sizeof *need_in);
  XdlStatus st = XDL_OK;
  if (!grad_out || !grad_in || !need_in) {
    st = oom(a->d);
    goto done;
  }
  for (uint32_t n = end; n-- > 0;) {
    const Node *nd = &g->nodes[n];
    bool any_out = false, any_in = false;
    for (int i = 0; i < max_io; i++) {
      grad_out[i] = grad_in[i] = IR_NONE;
      need_in[i] = false;
    }
    for (int i = 0; i < nd->n_outputs; i++) {
      uint32_t t = nd->outputs[i];
      if (t != IR_NONE && t < a->nt && a->grad[t] != IR_NONE) {
        grad_out[i] = a->grad[t];
        any_out = true;
      }
    }
    if (!any_out) continue;
    for (int i = 0; i < nd->n_inputs; i++) {
      uint32_t t = nd->inputs[i];
      bool diff = i >= 32 || !((ir_ops[nd->op].nodiff >> i) & 1u);
      need_in[i] = t != IR_NONE && diff && a->need[t] && !detached(a, n, i);
      any_in = any_in || need_in[i];
    }
    if (!any_in) continue;
    int n_in = nd->n_inputs;
    uint32_t n0 = g->n_nodes, t0 = g->n_tensors;
    if ((st = ir_ops[nd->op].backward(g, n, grad_out, need_in, grad_in, a->d)) != XDL_OK ||
        (st = settle_phases(a, n, n0, t0, grad_in, n_in)) != XDL_OK)
      goto done;
    for (int i = 0; i < n_in; i++) {
      uint32_t x = g->nodes[n].inputs[i];
      if (grad_in[i] == IR_NONE || !need_in[i]) continue;
      if ((st = accumulate(a, x, grad_in[i], n)) != XDL_OK) goto done;
    }
  }
done:
  xdl_free(grad_out);
  xdl_free(grad_in);
  xdl_free(need_in);
  return st;
}

/* ---- nodes the pass creates itself ---- */

/* Adds node op(in) with one fresh output named after base (role), in phase ph; infers it. */
static uint32_t add_node(Graph *g, OpKind op, const char *name, const uint32_t *in, int n_in,
                         const char *base, TensorRole role, Phase ph, uint32_t fwd, Diag *d) {
  uint32_t out = ir_add_tensor_unique(g, base, DT_FLOAT, role, -1, NULL, d);
  if (out == IR_NONE) return IR_NONE;
  uint32_t id = ir_add_node(g, op, name, in, n_in, &out, 1, d);
  if (id == IR_NONE) return IR_NONE;
  g->nodes[id].phase = ph;
  g->nodes[id].fwd_node = fwd;
  if (fwd != IR_NONE) g->nodes[id].origin = g->nodes[fwd].name;
  return ir_infer_node(g, id, d) == XDL_OK ? out : IR_NONE;
}

static uint32_t scalar_const(Graph *g, const char *base, DataType dt, double v, Diag *d) {
  uint32_t t = ir_add_tensor_unique(g, base, dt, ROLE_CONST, 0, NULL, d);
  if (t == IR_NONE) return IR_NONE;
  int64_t iv = (int64_t)v;
  bool ok = is_float(dt) ? ir_set_fvals(g, t, &v, 1) : ir_set_ivals(g, t, &iv, 1);
  if (!ok) {
    oom(d);
    return IR_NONE;
  }
  return t;
}

/* A tensor of ones (or zeros) shaped like t, for seeds and missing gradients. */
static uint32_t filled_like(Graph *g, uint32_t t, double v, Phase ph, uint32_t fwd, Diag *d) {
  const Tensor *tt = &g->tensors[t];
  DataType dt = tt->dtype;
  int rank = tt->rank;
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, tt->dims, sizeof dims);
  char name[520];
  snprintf(name, sizeof name, "%.480s/fill", tt->name);
  uint32_t c = scalar_const(g, v == 0.0 ? "zero" : "one", dt, v, d);
  if (c == IR_NONE || rank == 0) return c;
  int64_t shp_dims[1] = {rank};
  uint32_t shp = ir_add_tensor_unique(g, "shape", DT_INT64, ROLE_CONST, 1, shp_dims, d);
  if (shp == IR_NONE || !ir_set_ivals(g, shp, dims, rank)) {
    oom(d);
    return IR_NONE;
  }
  uint32_t in[2] = {c, shp};
  return add_node(g, OP_EXPAND, name, in, 2, name, ROLE_GRADIENT, ph, fwd, d);
}

/* A new graph input (labels, targets). */
static uint32_t new_input(Graph *g, const char *base, DataType dt, int rank, const int64_t *dims,
                          Diag *d) {
  uint32_t t = ir_add_tensor_unique(g, base, dt, ROLE_INPUT, rank, dims, d);
  if (t != IR_NONE && !ir_graph_add_input(g, t)) {
    oom(d);
    return IR_NONE;
  }
  return t;
}

/* ---- stable topological re-sort (after Gradient expansion) ---- */

/* Drops the nodes marked in remove and restores topological order, keeping the current
 * order wherever dependencies allow; fwd_node links are remapped. */
static XdlStatus reorder(Graph *g, const bool *remove, Diag *d) {
  uint32_t n = g->n_nodes, done = 0, heap_n = 0;
  uint32_t *indeg = xdl_calloc(n + 1, sizeof *indeg), *order = xdl_malloc((n + 1) * sizeof *order);
  uint32_t *heap = xdl_malloc((n + 1) * sizeof *heap), *newid = xdl_malloc((n + 1) * sizeof *newid);
  Node *copy = xdl_malloc((n + 1) * sizeof *copy);
  bool *none = xdl_calloc(n + 1, sizeof *none);
  XdlStatus st = XDL_OK;
  if (!indeg || !order || !heap || !newid || !copy || !none) {
    st = oom(d);
    goto out;
  }
  for (uint32_t m = 0; m < n; m++)
    for (int i = 0; i < g->nodes[m].n_inputs; i++) {
      uint32_t t = g->nodes[m].inputs[i];
      if (t != IR_NONE && g->tensors[t].producer != IR_NONE) indeg[m]++;
    }
  for (uint32_t m = 0; m < n; m++) {
    if (indeg[m]) continue;
    uint32_t k = heap_n++;
    for (; k && heap[(k - 1) / 2] > m; k = (k - 1) / 2) heap[k] = heap[(k - 1) / 2];
    heap[k] = m;
  }
  while (heap_n) {
    uint32_t m = heap[0], last = heap[--heap_n], k = 0;
    for (;;) { /* sift last down from the root */
      uint32_t c = 2 * k + 1;
      if (c >= heap_n) break;
      if (c + 1 < heap_n && heap[c + 1] < heap[c]) c++;
      if (heap[c] >= last) break;
      heap[k] = heap[c];
      k = c;
    }
    if (heap_n) heap[k] = last;
    order[done++] = m;
    /* Release consumers of m's outputs (a linear scan per node keeps this simple; Gradient
     * expansion happens on small graphs). */
    for (uint32_t c2 = 0; c2 < n; c2++)
      for (int i = 0; i < g->nodes[c2].n_inputs; i++) {
        uint32_t t = g->nodes[c2].inputs[i];
        if (t == IR_NONE || g->tensors[t].producer != m || --indeg[c2]) continue;
        uint32_t k2 = heap_n++;
        for (; k2 && heap[(k2 - 1) / 2] > c2; k2 = (k2 - 1) / 2) heap[k2] = heap[(k2 - 1) / 2];
        heap[k2] = c2;
      }
  }
  if (done != n) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: the graph has a cycle after Gradient expansion",
                    g->path);
    goto out;
  }
  uint32_t kept = 0;
  for (uint32_t k = 0; k < n; k++) newid[order[k]] = remove[order[k]] ? IR_NONE : kept++;
  for (uint32_t k = 0; k < n; k++)
    if (!remove[order[k]]) copy[newid[order[k]]] = g->nodes[order[k]];
  for (uint32_t k = 0; k < kept; k++)
    if (copy[k].fwd_node != IR_NONE) copy[k].fwd_node = newid[copy[k].fwd_node];
  memcpy(g->nodes, copy, (size_t)kept * sizeof *copy);
  g->n_nodes = kept;
  ir_remove_nodes(g, none); /* rebuilds producer links and the name map */
out:
  xdl_free(indeg);
  xdl_free(order);
  xdl_free(heap);
  xdl_free(newid);
  xdl_free(copy);
  xdl_free(none);
  return st;
}

/* ---- Gradient nodes ---- */

/* Replaces every Gradient node by the backward graph of its y w.r.t. its xs, whose results
 * feed the node's outputs through Identity nodes. */
static XdlStatus expand_gradients(Graph *g, const PassOptions *o, Diag *d) {
  uint32_t end = g->n_nodes;
  bool any = false;
  for (uint32_t n = 0; n < end; n++) any = any || g->nodes[n].op == OP_GRADIENT;
  if (!any) return XDL_OK;
  XdlStatus st = XDL_OK;
  bool *source = NULL, *remove = NULL;
  uint32_t n_source = 0;
  Ad a;
  memset(&a, 0, sizeof a);
  for (uint32_t n = 0; n < end && st == XDL_OK; n++) {
    if (g->nodes[n].op != OP_GRADIENT) continue;
    const char *yname = ir_attr_string(g, n, "y", "");
    const Attr *xs = ir_node_attr(g, n, "xs");
    uint32_t y = ir_find_tensor(g, yname);
    if (y == IR_NONE || !xs || xs->kind != ATTR_STRINGS) {
      st = sh_fail(g, n, d, "y '%s' or xs does not name tensors of the graph", yname);
      break;
    }
    xdl_free(source);
    n_source = g->n_tensors;
    source = xdl_calloc(n_source, sizeof *source);
    if (!source) {
      st = oom(d);
      break;
    }
    for (int i = 0; i < xs->n; i++) {
      uint32_t x = ir_find_tensor(g, xs->strs[i]);
      if (x == IR_NONE) {
        st = sh_fail(g, n, d, "xs names '%s', which is not a tensor of the graph", xs->strs[i]);
        break;
      }
      source[x] = true;
    }
    if (st != XDL_OK) break;
    uint32_t seed = filled_like(g, y, 1.0, PHASE_BACKWARD_DATA, n, d);
    if (seed == IR_NONE) {
      st = oom(d);
      break;
    }
    ad_free(&a);
    if ((st = ad_init(&a, g, o, source, n_source, end, d)) != XDL_OK) break;
    if ((st = backprop(&a, end, y, seed)) != XDL_OK) break;
    for (int i = 0; i < xs->n && i < g->nodes[n].n_outputs; i++) {
      uint32_t x = ir_find_tensor(g, xs->strs[i]), out = g->nodes[n].outputs[i];
      if (out == IR_NONE) continue;
      uint32_t gx = a.grad[x] != IR_NONE ? a.grad[x]
                                         : filled_like(g, x, 0.0, PHASE_BACKWARD_DATA, n, d);
      char name[520];
      snprintf(name, sizeof name, "%.480s/result", g->nodes[n].name);
      uint32_t id = gx == IR_NONE ? IR_NONE : ir_add_node(g, OP_IDENTITY, name, &gx, 1, &out, 1, d);
      if (id == IR_NONE) {
        st = oom(d);
        break;
      }
      g->nodes[id].phase = a.from_input[x] ? PHASE_BACKWARD_DATA : PHASE_BACKWARD_WEIGHT;
      g->nodes[id].fwd_node = n;
      g->nodes[id].origin = g->nodes[n].name;
      if ((st = ir_infer_node(g, id, d)) != XDL_OK) break;
    }
  }
  if (st == XDL_OK) {
    remove = xdl_calloc(g->n_nodes, sizeof *remove);
    if (!remove) {
      st = oom(d);
    } else {
      for (uint32_t n = 0; n < end; n++) remove[n] = g->nodes[n].op == OP_GRADIENT;
      st = reorder(g, remove, d);
    }
  }
  ad_free(&a);
  xdl_free(source);
  xdl_free(remove);
  return st;
}

/* ---- the loss ---- */

typedef struct LossNodes {
  Graph *g;
  Diag *d;
  uint32_t fwd; /* graph-output producer the loss hangs off (for origin), or IR_NONE */
} LossNodes;

static uint32_t lnode(LossNodes *l, OpKind op, const char *what, uint32_t a, uint32_t b) {
  if (a == IR_NONE || (b == IR_NONE && op != OP_RELU && op != OP_REDUCE_SUM &&
                       op != OP_REDUCE_MEAN))
    return IR_NONE;
  uint32_t in[2] = {a, b};
  char name[64];
  snprintf(name, sizeof name, "loss/%s", what);
  uint32_t out = add_node(l->g, op, name, in, b == IR_NONE ? 1 : 2, what, ROLE_ACTIVATION,
                          PHASE_LOSS, IR_NONE, l->d);
  if (out != IR_NONE && (op == OP_REDUCE_SUM || op == OP_REDUCE_MEAN)) {
    uint32_t id = l->g->tensors[out].producer;
    if (!ir_set_attr_int(l->g, id, "keepdims", 0) || ir_infer_node(l->g, id, l->d) != XDL_OK)
      return IR_NONE;
  }
  return out;
}

static uint32_t lconst(LossNodes *l, double v) {
  return scalar_const(l->g, "loss_const", DT_FLOAT, v, l->d);
}

/* Margin loss over capsule lengths v [B, C] with one-hot labels T [B, C]:
 * mean over the batch of sum_c T relu(m+ - v)^2 + lambda (1 - T) relu(v - m-)^2. */
static uint32_t margin_loss(LossNodes *l, uint32_t v) {
  const Tensor *vt = &l->g->tensors[v];
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, vt->dims, sizeof dims);
  uint32_t t = new_input(l->g, "labels", vt->dtype, vt->rank, dims, l->d);
  uint32_t a = lnode(l, OP_RELU, "margin_pos", lnode(l, OP_SUB, "margin_pos_diff",
                                                      lconst(l, AD_M_PLUS), v), IR_NONE);
  uint32_t b = lnode(l, OP_RELU, "margin_neg", lnode(l, OP_SUB, "margin_neg_diff", v,
                                                      lconst(l, AD_M_MINUS)), IR_NONE);
  uint32_t pos = lnode(l, OP_MUL, "margin_pos_term", t, lnode(l, OP_MUL, "margin_pos_sq", a, a));
  uint32_t absent = lnode(l, OP_MUL, "margin_absent",
                          lnode(l, OP_SUB, "margin_not_label", lconst(l, 1.0), t),
                          lconst(l, AD_LAMBDA));
  uint32_t neg = lnode(l, OP_MUL, "margin_neg_term", absent,
                       lnode(l, OP_MUL, "margin_neg_sq", b, b));
  uint32_t sum = lnode(l, OP_REDUCE_SUM, "margin_sum",
                       lnode(l, OP_ADD, "margin_terms", pos, neg), IR_NONE);
  return lnode(l, OP_MUL, "margin", sum, lconst(l, 1.0 / (double)(dims[0] > 0 ? dims[0] : 1)));
}

/* Mean-squared error of x against a new target input of its shape. */
static uint32_t mse_loss(LossNodes *l, uint32_t x) {
  const Tensor *xt = &l->g->tensors[x];
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, xt->dims, sizeof dims);
  char base[520];
  snprintf(base, sizeof base, "%.480s_target", xt->name);
  uint32_t t = new_input(l->g, base, xt->dtype, xt->rank, dims, l->d);
  uint32_t diff = lnode(l, OP_SUB, "mse_diff", x, t);
  return lnode(l, OP_REDUCE_MEAN, "mse", lnode(l, OP_MUL, "mse_sq", diff, diff), IR_NONE);
}

/* Softmax cross-entropy of scores [B, C, ...] against new integer labels [B, ...]. */
static uint32_t sce_loss(LossNodes *l, uint32_t s) {
  const Tensor *st = &l->g->tensors[s];
  int64_t dims[IR_MAX_RANK];
  int r = st->rank - 1;
  DataType dt = st->dtype;
  dims[0] = st->dims[0];
  for (int i = 1; i < r; i++) dims[i] = st->dims[i + 1];
  uint32_t labels = new_input(l->g, "labels", DT_INT64, r, dims, l->d);
  if (labels == IR_NONE) return IR_NONE;
  uint32_t out[2] = {ir_add_tensor_unique(l->g, "softmax_ce", dt, ROLE_ACTIVATION, -1, NULL, l->d),
                     IR_NONE};
  out[1] = ir_add_tensor_unique(l->g, "log_prob", dt, ROLE_ACTIVATION, -1, NULL, l->d);
  uint32_t in[2] = {s, labels};
  if (out[0] == IR_NONE || out[1] == IR_NONE) return IR_NONE;
  uint32_t id = ir_add_node(l->g, OP_SOFTMAX_CE_LOSS, "loss/softmax_ce", in, 2, out, 2, l->d);
  if (id == IR_NONE || !ir_set_attr_string(l->g, id, "reduction", "mean")) return IR_NONE;
  l->g->nodes[id].phase = PHASE_LOSS;
  return ir_infer_node(l->g, id, l->d) == XDL_OK ? out[0] : IR_NONE;
}

static const char *loss_name(LossKind k) {
  static const char *names[] = {"auto", "softmax_ce", "margin", "mse"};
  return (unsigned)k < 4 ? names[k] : "?";
}

/* Builds the loss o->loss asks for over the graph outputs; returns the ROLE_LOSS scalar. */
static XdlStatus add_loss(Graph *g, const PassOptions *o, Diag *d, uint32_t *loss) {
  LossNodes l = {g, d, IR_NONE};
  uint32_t first = IR_NONE, lengths = IR_NONE, recon = IR_NONE;
  bool caps = false;
  for (uint32_t n = 0; n < g->n_nodes; n++) caps = caps || g->nodes[n].caps_role != CAPS_NONE;
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    uint32_t t = g->outputs[i];
    const Tensor *ts = &g->tensors[t];
    if (!is_float(ts->dtype)) continue;
    if (first == IR_NONE) first = t;
    if (strcmp(ts->name, "lengths") == 0) lengths = t;
    else if (strcmp(ts->name, "reconstruction") == 0) recon = t;
  }
  if (first == IR_NONE)
    return diag_error(d, XDL_ERR_INPUT, "%s: loss %s: the model has no floating-point output",
                      g->path, loss_name(o->loss));
  if (caps && lengths == IR_NONE && g->tensors[first].rank == 2) lengths = first;
  const Tensor *ft = &g->tensors[first];
  char shape[160];
  ir_format_type(ft, shape, sizeof shape);
  uint32_t out = IR_NONE;
  switch (o->loss) {
  case LOSS_AUTO:
    if (lengths != IR_NONE && recon != IR_NONE) {
      uint32_t m = margin_loss(&l, lengths), e = mse_loss(&l, recon);
      out = lnode(&l, OP_ADD, "margin_and_reconstruction", m,
                  lnode(&l, OP_MUL, "reconstruction_term", e, lconst(&l, AD_RECON_WEIGHT)));
    } else if (lengths != IR_NONE) {
      out = margin_loss(&l, lengths);
    } else if (ft->rank >= 2) {
      out = sce_loss(&l, first);
    } else {
      out = mse_loss(&l, first);
    }
    break;
  case LOSS_SOFTMAX_CE:
    if (ft->rank < 2)
      return diag_error(d, XDL_ERR_INPUT, "%s: loss softmax_ce needs a [batch, classes] output, "
                        "but '%s' is %s", g->path, ft->name, shape);
    out = sce_loss(&l, first);
    break;
  case LOSS_MARGIN: {
    uint32_t v = lengths != IR_NONE ? lengths : first;
    if (g->tensors[v].rank != 2)
      return diag_error(d, XDL_ERR_INPUT, "%s: loss margin needs capsule lengths [batch, "
                        "classes], but '%s' is %s", g->path, ft->name, shape);
    out = margin_loss(&l, v);
    break;
  }
  case LOSS_MSE: out = mse_loss(&l, recon != IR_NONE ? recon : first); break;
  }
  if (out == IR_NONE) return diag_ok(d) ? oom(d) : d->status;
  g->tensors[out].role = ROLE_LOSS;
  if (!ir_graph_add_output(g, out)) return oom(d);
  *loss = out;
  return XDL_OK;
}

/* ---- optimizer updates ---- */

/* One update node per weight with a gradient: SGD(R, T, W, G), Momentum(R, T, W, G, V) or
 * Adam(R, T, W, G, V, H); the state tensors (V, H, and the step count T) are ROLE_OPT_STATE
 * inputs, their new values ROLE_OPT_STATE outputs; the new weight is an activation. */
static XdlStatus add_updates(Graph *g, const PassOptions *o, const Ad *a, Diag *d) {
  uint32_t lr = scalar_const(g, "learning_rate", DT_FLOAT, AD_LEARNING_RATE, d);
  uint32_t step = scalar_const(g, "step", DT_INT64, 1, d);
  if (lr == IR_NONE || step == IR_NONE) return oom(d);
  g->tensors[step].role = ROLE_OPT_STATE;
  OpKind op = o->optimizer == OPT_ADAM ? OP_ADAM : o->optimizer == OPT_MOMENTUM ? OP_MOMENTUM
                                                                                : OP_SGD;
  int n_state = op == OP_ADAM ? 2 : op == OP_MOMENTUM ? 1 : 0;
  static const char *state_names[2][2] = {{".momentum", ""}, {".adam_m", ".adam_v"}};
  for (uint32_t w = 0; w < a->nt; w++) {
    if (g->tensors[w].role != ROLE_WEIGHT || a->grad[w] == IR_NONE) continue;
    const Tensor *wt = &g->tensors[w];
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, wt->dims, sizeof dims);
    DataType dt = wt->dtype;
    int rank = wt->rank;
    char wname[480], base[520], name[540];
    snprintf(wname, sizeof wname, "%s", wt->name);
    uint32_t in[6] = {lr, step, w, a->grad[w], IR_NONE, IR_NONE}, outs[3];
    for (int s = 0; s < n_state; s++) {
      snprintf(base, sizeof base, "%s%s", wname, state_names[n_state - 1][s]);
      in[4 + s] = ir_add_tensor_unique(g, base, dt, ROLE_OPT_STATE, rank, dims, d);
      if (in[4 + s] == IR_NONE) return d->status;
    }
    snprintf(base, sizeof base, "%s.new", wname);
    outs[0] = ir_add_tensor_unique(g, base, dt, ROLE_ACTIVATION, -1, NULL, d);
    for (int s = 0; s < n_state && outs[0] != IR_NONE; s++) {
      snprintf(base, sizeof base, "%s.new", g->tensors[in[4 + s]].name);
      if ((outs[1 + s] = ir_add_tensor_unique(g, base, dt, ROLE_OPT_STATE, -1, NULL, d)) ==
          IR_NONE)
        return d->status;
    }
    if (outs[0] == IR_NONE) return d->status;
    snprintf(name, sizeof name, "%s/update", wname);
    uint32_t id = ir_add_node(g, op, name, in, 4 + n_state, outs, 1 + n_state, d);
    if (id == IR_NONE) return d->status;
    bool ok = true;
    if (op == OP_MOMENTUM)
      ok = ir_set_attr_float(g, id, "alpha", AD_MOMENTUM) &&
           ir_set_attr_float(g, id, "beta", 1.0) &&
           ir_set_attr_string(g, id, "mode", "standard") &&
           ir_set_attr_float(g, id, "norm_coefficient", 0.0);
    else if (op == OP_ADAM)
      ok = ir_set_attr_float(g, id, "alpha", AD_ADAM_BETA1) &&
           ir_set_attr_float(g, id, "beta", AD_ADAM_BETA2) &&
           ir_set_attr_float(g, id, "epsilon", AD_ADAM_EPS);
    if (!ok) return oom(d);
    Node *nd = &g->nodes[id];
    nd->phase = PHASE_UPDATE;
    for (uint32_t m = 0; m < id && nd->fwd_node == IR_NONE; m++) /* first reader of w */
      for (int i = 0; i < g->nodes[m].n_inputs; i++)
        if (g->nodes[m].inputs[i] == w && g->nodes[m].phase == PHASE_FORWARD) {
          nd->fwd_node = m;
          nd->origin = g->nodes[m].name;
          break;
        }
    XdlStatus st = ir_infer_node(g, id, d);
    if (st != XDL_OK) return st;
  }
  return XDL_OK;
}

/* ---- the pass ---- */

XdlStatus pass_autodiff(Graph *g, const PassOptions *o, Diag *d) {
  XdlStatus st = expand_gradients(g, o, d);
  if (st != XDL_OK || !o->train) return st;
  bool *source = xdl_calloc(g->n_tensors ? g->n_tensors : 1, sizeof *source);
  if (!source) return oom(d);
  uint32_t n_weights = 0;
  for (uint32_t t = 0; t < g->n_tensors; t++)
    if (g->tensors[t].role == ROLE_WEIGHT) {
      source[t] = true;
      n_weights++;
    }
  Ad a;
  memset(&a, 0, sizeof a);
  uint32_t loss = IR_NONE, seed;
  if (n_weights == 0) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: the graph has no trainable weight (no float "
                    "initializer read through a differentiable input)", g->path);
    goto out;
  }
  if ((st = add_loss(g, o, d, &loss)) != XDL_OK) goto out;
  if ((seed = scalar_const(g, "loss.grad_seed", g->tensors[loss].dtype, 1.0, d)) == IR_NONE) {
    st = oom(d);
    goto out;
  }
  xdl_free(source);
  /* The loss added tensors; rebuild the source marks over the grown tensor table. */
  uint32_t n_source = g->n_tensors;
  source = xdl_calloc(n_source, sizeof *source);
  if (!source) {
    st = oom(d);
    goto out;
  }
  for (uint32_t t = 0; t < n_source; t++) source[t] = g->tensors[t].role == ROLE_WEIGHT;
  uint32_t end = g->n_nodes;
  if ((st = ad_init(&a, g, o, source, n_source, end, d)) != XDL_OK) goto out;
  if (!a.need[loss]) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: no trainable weight reaches the loss", g->path);
    goto out;
  }
  if ((st = backprop(&a, end, loss, seed)) != XDL_OK) goto out;
  st = add_updates(g, o, &a, d);
out:
  ad_free(&a);
  xdl_free(source);
  return st;
}
