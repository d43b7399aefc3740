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

#endif
