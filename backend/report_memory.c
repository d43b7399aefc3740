/* report_memory.c — how a memory footprint (passes/liveness.c) is shown: one line of text for
 * the terminal reports of inspect, estimate and explore, and one JSON object for their --json
 * output and pareto.json, so every command reports the same figures under the same names. */
#include <inttypes.h>
#include <stdio.h>

#include "backend/backend.h"

char *report_format_bytes(int64_t bytes, char *buf, size_t size) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) {
    snprintf(buf, size, "%" PRId64 " B", bytes);
    return buf;
  }
  double v = (double)bytes / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    u++;
  }
  snprintf(buf, size, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
  return buf;
}

/* Contract: m came from training_memory on a graph that is still alive (peak_name is
 * borrowed). */
void report_memory_text(FILE *out, const MemoryFootprint *m, bool train) {
  char b[7][32];
  fprintf(out, "memory (%s): %s at peak", train ? "training step" : "inference",
          report_format_bytes(m->total_bytes, b[0], sizeof b[0]));
  if (m->peak_name) fprintf(out, " (node '%s')", m->peak_name);
  fprintf(out,
          ": weights %s, optimizer state %s, constants %s, saved activations %s, gradients %s, "
          "other activations %s\n",
          report_format_bytes(m->weights_bytes, b[1], sizeof b[1]),
          report_format_bytes(m->opt_state_bytes, b[2], sizeof b[2]),
          report_format_bytes(m->const_bytes, b[3], sizeof b[3]),
          report_format_bytes(m->peak_saved_bytes, b[4], sizeof b[4]),
          report_format_bytes(m->peak_gradients_bytes, b[5], sizeof b[5]),
          report_format_bytes(m->peak_activations_bytes, b[6], sizeof b[6]));
}

void report_memory_json(JsonWriter *j, const char *key, const MemoryFootprint *m) {
  json_open_object(j, key);
  json_int(j, "total_bytes", m->total_bytes);
  if (m->peak_name)
    json_str(j, "peak_node", m->peak_name);
  else
    json_null(j, "peak_node");
  json_int(j, "weights_bytes", m->weights_bytes);
  json_int(j, "opt_state_bytes", m->opt_state_bytes);
  json_int(j, "const_bytes", m->const_bytes);
  json_int(j, "saved_bytes", m->saved_bytes);
  json_int(j, "gradients_bytes", m->gradients_bytes);
  json_int(j, "activations_bytes", m->activations_bytes);
  json_open_object(j, "at_peak");
  json_int(j, "saved_bytes", m->peak_saved_bytes);
  json_int(j, "gradients_bytes", m->peak_gradients_bytes);
  json_int(j, "activations_bytes", m->peak_activations_bytes);
  json_close_object(j);
  json_close_object(j);
}
