/* json.c — a streaming JSON writer. Callers open and close objects and arrays; this file puts
 * the commas, quotes and escapes in the right places so every --json output is valid JSON. */
#include <inttypes.h>
#include <math.h>

#include "backend/backend.h"

void json_init(JsonWriter *j, FILE *out, bool pretty) {
  j->out = out;
  j->depth = 0;
  j->need_comma[0] = false;
  j->pretty = pretty;
}

static void put_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    default:
      if (*p < 0x20) fprintf(out, "\\u%04x", *p);
      else fputc(*p, out);
    }
  }
  fputc('"', out);
}

/* Emits the separator and key that precede every value. */
static void begin_value(JsonWriter *j, const char *key) {
  if (j->need_comma[j->depth]) fputc(',', j->out);
  if (j->pretty && j->depth > 0) {
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++) fputs("  ", j->out);
  }
  j->need_comma[j->depth] = true;
  if (key) {
    put_string(j->out, key);
    fputs(j->pretty ? ": " : ":", j->out);
  }
}

static void open_container(JsonWriter *j, const char *key, char c) {
  begin_value(j, key);
  fputc(c, j->out);
  if (j->depth + 1 < (int)(sizeof j->need_comma / sizeof *j->need_comma)) j->depth++;
  j->need_comma[j->depth] = false;
}

static void close_container(JsonWriter *j, char c) {
  bool had = j->need_comma[j->depth];
  if (j->depth > 0) j->depth--;
  if (j->pretty && had) {
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++) fputs("  ", j->out);
  }
  fputc(c, j->out);
  if (j->depth == 0) fputc('\n', j->out);
}

void json_open_object(JsonWriter *j, const char *key) { open_container(j, key, '{'); }
void json_open_array(JsonWriter *j, const char *key) { open_container(j, key, '['); }
void json_close_object(JsonWriter *j) { close_container(j, '}'); }
void json_close_array(JsonWriter *j) { close_container(j, ']'); }

void json_int(JsonWriter *j, const char *key, int64_t v) {
  begin_value(j, key);
  fprintf(j->out, "%" PRId64, v);
}

void json_num(JsonWriter *j, const char *key, double v) {
  begin_value(j, key);
  if (isfinite(v)) fprintf(j->out, "%.17g", v);
  else fputs("null", j->out);
}

void json_str(JsonWriter *j, const char *key, const char *v) {
  begin_value(j, key);
  put_string(j->out, v ? v : "");
}

void json_bool(JsonWriter *j, const char *key, bool v) {
  begin_value(j, key);
  fputs(v ? "true" : "false", j->out);
}

void json_null(JsonWriter *j, const char *key) {
  begin_value(j, key);
  fputs("null", j->out);
}

void json_shape(JsonWriter *j, const char *key, const Tensor *t) {
  begin_value(j, key);
  fputc('[', j->out);
  for (int i = 0; i < t->rank; i++) fprintf(j->out, "%s%" PRId64, i ? "," : "", t->dims[i]);
  fputc(']', j->out);
}
