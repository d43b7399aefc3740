/* report_inspect.c — the `inspect` report: one row per node with its output shapes, MACs,
 * vector ops, parameters and GEMM view, then totals; as a terminal table or as JSON in the
 * schema other tools read (see README "inspect --json"). */
#include <inttypes.h>
#include <string.h>

#include "backend/backend.h"

/* Whether autodiff has run: some node outside the forward phase. */
static bool is_training_graph(const Graph *g) {
  for (uint32_t n = 0; n < g->n_nodes; n++)
    if (g->nodes[n].phase != PHASE_FORWARD) return true;
  return false;
}

GraphTotals report_graph_totals(const Graph *g) {
  GraphTotals t = {0, 0, 0};
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    NodeWork w = ir_node_work(g, n);
    t.macs += w.macs;
    t.ops += w.ops;
  }
  /* Parameters: every trainable weight once, however many nodes read it. */
  for (uint32_t i = 0; i < g->n_tensors; i++)
    if (g->tensors[i].role == ROLE_WEIGHT) {
      int64_t e = ir_numel(&g->tensors[i]);
      if (e > 0) t.params += e;
    }
  return t;
}

/* Formats a count with thousands separators for the terminal table. */
static const char *fmt_count(int64_t v, char *buf, size_t size) {
  char raw[32];
  snprintf(raw, sizeof raw, "%" PRId64, v);
  size_t len = strlen(raw), o = 0;
  for (size_t i = 0; i < len && o + 2 < size; i++) {
    if (i && raw[i - 1] != '-' && (len - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = raw[i];
  }
  buf[o] = '\0';
  return buf;
}

/* A training graph (after autodiff): some node is not in the forward phase. */
static bool is_training(const Graph *g) {
  for (uint32_t n = 0; n < g->n_nodes; n++)
    if (g->nodes[n].phase != PHASE_FORWARD) return true;
  return false;
}

void report_inspect_text(const Graph *g, FILE *out) {
  char shape[256], b1[32], b2[32], b3[32], gemm[96];
  fprintf(out, "model %s  (opset %" PRId64 ", %u nodes)\n", g->name, g->opset, g->n_nodes);
  bool train = is_training(g);
  if (train) fprintf(out, "%-16s ", "phase");
  fprintf(out, "%-40s %-20s %-24s %15s %12s %12s  %s\n", "node", "op", "output", "MACs", "ops",
          "params", "GEMM g x (m,n,k)");
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    NodeWork w = ir_node_work(g, n);
    shape[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < nd->n_outputs && used < sizeof shape; i++) {
      if (nd->outputs[i] == IR_NONE) continue;
      char one[160];
      ir_format_type(&g->tensors[nd->outputs[i]], one, sizeof one);
      used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%s", used ? " " : "", one);
    }
    if (w.gemm.g)
      snprintf(gemm, sizeof gemm, "%" PRId64 " x (%" PRId64 ",%" PRId64 ",%" PRId64 ")",
               w.gemm.g, w.gemm.m, w.gemm.n, w.gemm.k);
    else
      gemm[0] = '\0';
    if (train) fprintf(out, "%-16s ", ir_phase_name(nd->phase));
    fprintf(out, "%-40s %-20s %-24s %15s %12s %12s  %s\n", nd->name, ir_ops[nd->op].name, shape,
            fmt_count(w.macs, b1, sizeof b1), fmt_count(w.ops, b2, sizeof b2),
            fmt_count(w.params, b3, sizeof b3), gemm);
  }
  GraphTotals t = report_graph_totals(g);
  fprintf(out, "total: %s MACs, %s vector ops, %s parameters\n", fmt_count(t.macs, b1, sizeof b1),
          fmt_count(t.ops, b2, sizeof b2), fmt_count(t.params, b3, sizeof b3));
  MemoryFootprint mem; /* training graphs only: inference output stays as it was */
  Diag md;
  diag_init(&md);
  if (is_training_graph(g) && training_memory(g, &mem, &md) == XDL_OK)
    report_memory_text(out, &mem, true);
}

void report_inspect_json(const Graph *g, FILE *out) {
  JsonWriter j;
  bool train = is_training(g);
  int64_t by_phase[PHASE_UPDATE + 1] = {0};
  json_init(&j, out, false);
  json_open_object(&j, NULL);
  json_str(&j, "model", g->name);
  json_int(&j, "opset", g->opset);
  json_open_array(&j, "outputs");
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    const Tensor *t = &g->tensors[g->outputs[i]];
    json_open_object(&j, NULL);
    json_str(&j, "name", t->name);
    json_shape(&j, "shape", t);
    json_close_object(&j);
  }
  json_close_array(&j);
  json_open_array(&j, "nodes");
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    NodeWork w = ir_node_work(g, n);
    if ((unsigned)nd->phase <= PHASE_UPDATE) by_phase[nd->phase] += w.macs;
    json_open_object(&j, NULL);
    json_str(&j, "name", nd->name);
    json_str(&j, "op", ir_ops[nd->op].name);
    json_open_array(&j, "inputs");
    for (int i = 0; i < nd->n_inputs; i++)
      if (nd->inputs[i] != IR_NONE) json_shape(&j, NULL, &g->tensors[nd->inputs[i]]);
    json_close_array(&j);
    json_open_array(&j, "outputs");
    for (int i = 0; i < nd->n_outputs; i++)
      if (nd->outputs[i] != IR_NONE) json_shape(&j, NULL, &g->tensors[nd->outputs[i]]);
    json_close_array(&j);
    json_int(&j, "macs", w.macs);
    json_int(&j, "ops", w.ops);
    json_int(&j, "params", w.params);
    if (w.gemm.g) {
      json_open_object(&j, "gemm");
      json_int(&j, "g", w.gemm.g);
      json_int(&j, "m", w.gemm.m);
      json_int(&j, "n", w.gemm.n);
      json_int(&j, "k", w.gemm.k);
      json_close_object(&j);
    } else {
      json_null(&j, "gemm");
    }
    if (train) json_str(&j, "phase", ir_phase_name(nd->phase));
    if (nd->caps_role != CAPS_NONE) json_str(&j, "capsule_role", ir_caps_role_name(nd->caps_role));
    json_close_object(&j);
  }
  json_close_array(&j);
  GraphTotals t = report_graph_totals(g);
  json_open_object(&j, "totals");
  json_int(&j, "macs", t.macs);
  json_int(&j, "params", t.params);
  if (train) {
    json_open_object(&j, "macs_by_phase");
    for (int p = PHASE_FORWARD; p <= PHASE_UPDATE; p++)
      json_int(&j, ir_phase_name((Phase)p), by_phase[p]);
    json_close_object(&j);
  }
  json_close_object(&j);
  MemoryFootprint mem;
  Diag md;
  diag_init(&md);
  if (is_training_graph(g) && training_memory(g, &mem, &md) == XDL_OK)
    report_memory_json(&j, "memory", &mem);
  json_close_object(&j);
}
