/* report.h — writers for what XploreDL prints and saves: a small streaming JSON writer used by
 * every --json output, and the `inspect` report (per-node table and JSON). */
#ifndef XDL_REPORT_H
#define XDL_REPORT_H

#include <stdio.h>

#include "ir/ir.h"

/* ------------------------------------------------------------------------------------------
 * json.c — streaming JSON writer: commas and escaping are handled here, nesting by the caller.
 * ------------------------------------------------------------------------------------------ */
typedef struct JsonWriter {
  FILE *out;
  int depth;
  bool need_comma[64]; /* per nesting level */
  bool pretty;
} JsonWriter;

void json_init(JsonWriter *j, FILE *out, bool pretty);
/* key may be NULL inside arrays (and at top level). */
void json_open_object(JsonWriter *j, const char *key);
void json_open_array(JsonWriter *j, const char *key);
void json_close_object(JsonWriter *j);
void json_close_array(JsonWriter *j);
void json_int(JsonWriter *j, const char *key, int64_t v);
void json_num(JsonWriter *j, const char *key, double v); /* non-finite → null */
void json_str(JsonWriter *j, const char *key, const char *v);
void json_bool(JsonWriter *j, const char *key, bool v);
void json_null(JsonWriter *j, const char *key);
void json_shape(JsonWriter *j, const char *key, const Tensor *t); /* [d0,d1,...] */

/* ------------------------------------------------------------------------------------------
 * report_inspect.c — `xploredl inspect`: one row per node (name, op, output shapes, MACs,
 * params, GEMM view) and totals; JSON in the documented schema.
 * ------------------------------------------------------------------------------------------ */
typedef struct GraphTotals {
  int64_t macs, ops;
  int64_t params; /* distinct trainable weights, each counted once */
} GraphTotals;

GraphTotals report_graph_totals(const Graph *g);
void report_inspect_text(const Graph *g, FILE *out);
void report_inspect_json(const Graph *g, FILE *out);

/* ------------------------------------------------------------------------------------------
 * report_memory.c — a memory footprint (passes/liveness.c) as one line of text and as a JSON
 * object, the same in inspect, estimate and explore.
 * ------------------------------------------------------------------------------------------ */
#include "passes/passes.h"

/* "memory (training step): 1.23 MiB at peak (node 'x'): weights ..., optimizer state ...,
 * constants ..., saved activations ..., gradients ..., other activations ..." + newline; the
 * parts are those live at the peak step, so they add up to it. train selects the label. */
void report_memory_text(FILE *out, const MemoryFootprint *m, bool train);
/* {total_bytes, peak_node, weights_bytes, opt_state_bytes, const_bytes, saved_bytes,
 *  gradients_bytes, activations_bytes, at_peak:{saved_bytes, gradients_bytes,
 *  activations_bytes}}: the *_bytes of the transient classes are each one's own peak. */
void report_memory_json(JsonWriter *j, const char *key, const MemoryFootprint *m);
/* Bytes for people: "512 B", "1.50 KiB", "23.4 MiB", "1.20 GiB". Returns buf. */
char *report_format_bytes(int64_t bytes, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------
 * report_dse.c (shared with estimate) — an Estimate's totals by capsule role as JSON members:
 * capsule_roles: {untagged|primary|votes|routing.softmax|routing.sum|routing.squash|
 * routing.agree|class|decoder: {cycles, latency_s, energy_j, macs}} and routing_by_iteration:
 * [{iteration, cycles, latency_s, energy_j}] (latency = the role's share of the cycles).
 * ------------------------------------------------------------------------------------------ */
struct Estimate;
void report_roles_json(JsonWriter *j, const struct Estimate *e);

#endif
