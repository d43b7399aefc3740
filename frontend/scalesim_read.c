/* scalesim_read.c — reads SCALE-Sim v2's input files: the INI-style config ([general],
 * [architecture_presets], [run_presets]) and the topology CSV (conv or GEMM rows). Produces plain
 * structs for `xploredl scalesim`; every error names file:line. Knows nothing of cost models. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frontend/frontend.h"

enum { LINE_MAX_BYTES = 4096 };

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

/* Parses a whole decimal integer (surrounding blanks allowed). */
static bool parse_int(const char *text, int64_t *out) {
  char buf[64];
  size_t n = strlen(text);
  if (n == 0 || n >= sizeof buf) return false;
  memcpy(buf, text, n + 1);
  char *s = trim(buf), *end;
  if (!*s) return false;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*end || errno) return false;
  *out = v;
  return true;
}

/* Reads one line into buf; false at end of file. Over-long lines are an error (*toolong). */
static bool read_line(FILE *f, char *buf, size_t size, bool *toolong) {
  *toolong = false;
  if (!fgets(buf, (int)size, f)) return false;
  size_t n = strlen(buf);
  if (n == size - 1 && buf[n - 1] != '\n' && !feof(f)) *toolong = true;
  buf[strcspn(buf, "\r\n")] = '\0';
  return true;
}

typedef struct CfgKey {
  const char *name;
  int64_t *value;
  bool seen;
  int line;
} CfgKey;

XdlStatus scalesim_read_config(const char *path, ScaleSimConfig *out, Diag *d) {
  memset(out, 0, sizeof *out);
  out->filter_offset = 10000000, out->ofmap_offset = 20000000;
  FILE *f = fopen(path, "r");
  if (!f) return diag_error(d, XDL_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  XdlStatus st = XDL_OK;
  CfgKey keys[] = {
      {"ArrayHeight", &out->array_h, false, 0},     {"ArrayWidth", &out->array_w, false, 0},
      {"IfmapSramSzkB", &out->ifmap_sram_kb, false, 0},
      {"FilterSramSzkB", &out->filter_sram_kb, false, 0},
      {"OfmapSramSzkB", &out->ofmap_sram_kb, false, 0},
      {"IfmapOffset", &out->ifmap_offset, false, 0},
      {"FilterOffset", &out->filter_offset, false, 0},
      {"OfmapOffset", &out->ofmap_offset, false, 0},
  };
  enum { N_KEYS = sizeof keys / sizeof *keys, N_REQUIRED = 5 };
  bool seen_df = false, seen_name = false;
  char buf[LINE_MAX_BYTES], section[64] = "";
  int line = 0;
  bool toolong;
  while (read_line(f, buf, sizeof buf, &toolong)) {
    line++;
    if (toolong) {
      st = diag_error(d, XDL_ERR_INPUT, "%s:%d: line too long", path, line);
      goto fail;
    }
    char *s = trim(buf);
    if (!*s || *s == '#' || *s == ';') continue;
    if (*s == '[') {
      char *e = strchr(s, ']');
      if (!e || e[1]) {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%d: malformed section header", path, line);
        goto fail;
      }
      *e = '\0';
      snprintf(section, sizeof section, "%s", trim(s + 1));
      continue;
    }
    size_t sep = strcspn(s, ":=");
    if (!s[sep]) {
      st = diag_error(d, XDL_ERR_INPUT, "%s:%d: expected 'key: value'", path, line);
      goto fail;
    }
    s[sep] = '\0';
    char *key = trim(s), *val = trim(s + sep + 1);
    if (strcasecmp(key, "run_name") == 0) {
      if (!*val || strlen(val) >= sizeof out->run_name || strchr(val, '/')) {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%d: invalid run_name", path, line);
        goto fail;
      }
      snprintf(out->run_name, sizeof out->run_name, "%s", val);
      seen_name = true;
    } else if (strcasecmp(key, "Dataflow") == 0) {
      if (strcasecmp(val, "os") && strcasecmp(val, "ws") && strcasecmp(val, "is")) {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%d: unknown dataflow '%s' (os, ws or is)", path,
                        line, val);
        goto fail;
      }
      for (int i = 0; i < 2; i++) out->dataflow[i] = (char)tolower((unsigned char)val[i]);
      seen_df = true;
    } else if (strcasecmp(key, "InterfaceBandwidth") == 0) {
      if (strcasecmp(val, "USER") == 0) out->bw_user = true;
      else if (strcasecmp(val, "CALC") == 0) out->bw_user = false;
      else {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%d: InterfaceBandwidth must be CALC or USER", path,
                        line);
        goto fail;
      }
    } else if (strcasecmp(key, "Bandwidth") == 0) {
      char first[64];
      size_t n = strcspn(val, ",");
      snprintf(first, sizeof first, "%.*s", (int)(n < 63 ? n : 63), val);
      if (!parse_int(first, &out->bandwidth) || out->bandwidth <= 0) {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%d: Bandwidth must be a positive integer", path,
                        line);
        goto fail;
      }
    } else {
      for (int i = 0; i < N_KEYS; i++) {
        if (strcasecmp(key, keys[i].name) != 0) continue;
        bool offset = i >= N_REQUIRED;
        if (!parse_int(val, keys[i].value) || (offset ? *keys[i].value < 0
                                                      : *keys[i].value <= 0)) {
          st = diag_error(d, XDL_ERR_INPUT, "%s:%d: %s must be a %s integer, got '%s'", path,
                          line, keys[i].name, offset ? "non-negative" : "positive", val);
          goto fail;
        }
        keys[i].seen = true;
        keys[i].line = line;
      }
      /* Other keys (MemoryBanks, sparsity and layout options) are ignored, as in v2. */
    }
  }
  if (ferror(f)) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: read error", path);
    goto fail;
  }
  for (int i = 0; i < N_REQUIRED; i++)
    if (!keys[i].seen) {
      st = diag_error(d, XDL_ERR_INPUT, "%s:%d: missing key %s", path, line, keys[i].name);
      goto fail;
    }
  if (!seen_df) {
    st = diag_error(d, XDL_ERR_INPUT, "%s:%d: missing key Dataflow", path, line);
    goto fail;
  }
  if (out->bw_user && out->bandwidth <= 0) {
    st = diag_error(d, XDL_ERR_INPUT, "%s:%d: InterfaceBandwidth USER needs Bandwidth", path, line);
    goto fail;
  }
  if (out->ifmap_sram_kb > ((int64_t)1 << 30) || out->filter_sram_kb > ((int64_t)1 << 30) ||
      out->ofmap_sram_kb > ((int64_t)1 << 30) || out->array_h > (1 << 20) ||
      out->array_w > (1 << 20)) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: array or SRAM size too large", path);
    goto fail;
  }
  if (!seen_name) snprintf(out->run_name, sizeof out->run_name, "scale_run");
  (void)section;
fail:
  fclose(f);
  return st;
}

void scalesim_topology_free(ScaleSimTopology *t) {
  xdl_free(t->layers);
  memset(t, 0, sizeof *t);
}

/* Splits s at commas in place; returns the number of fields (at most max). */
static int split_fields(char *s, char **fields, int max) {
  int n = 0;
  for (;;) {
    if (n == max) return max + 1;
    fields[n++] = s;
    char *c = strchr(s, ',');
    if (!c) return n;
    *c = '\0';
    s = c + 1;
  }
}

XdlStatus scalesim_read_topology(const char *path, bool gemm, ScaleSimTopology *out, Diag *d) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) return diag_error(d, XDL_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  XdlStatus st = XDL_OK;
  char buf[LINE_MAX_BYTES];
  int line = 0;
  bool toolong;
  static const char *conv_names[] = {"IFMAP height", "IFMAP width", "filter height",
                                     "filter width", "channels", "num filters", "stride",
                                     "column stride"};
  static const char *gemm_names[] = {"M", "N", "K"};
  while (read_line(f, buf, sizeof buf, &toolong)) {
    line++;
    if (toolong) {
      st = diag_error(d, XDL_ERR_INPUT, "%s:%d: line too long", path, line);
      goto fail;
    }
    if (line == 1) continue; /* header */
    char *s = trim(buf);
    if (!*s) continue;
    char *fields[16];
    int n = split_fields(s, fields, 15); /* 16 = more than 15 fields (the 16th is unset) */
    if (n > 1 && n <= 15 && !*trim(fields[n - 1])) n--; /* the trailing comma SCALE-Sim expects */
    int want_min = gemm ? 4 : 8, want_max = gemm ? 4 : 9;
    if (n < want_min || n > want_max) {
      st = diag_error(d, XDL_ERR_INPUT, "%s:%d: expected %s, got %d fields", path, line,
                      gemm ? "name, M, N, K" : "name, H, W, Fh, Fw, channels, filters, stride",
                      n);
      goto fail;
    }
    int64_t v[8] = {0};
    for (int i = 1; i < n; i++)
      if (!parse_int(fields[i], &v[i - 1]) || v[i - 1] <= 0 || v[i - 1] > ((int64_t)1 << 31)) {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%d: %s must be a positive integer, got '%s'",
                        path, line, gemm ? gemm_names[i - 1] : conv_names[i - 1],
                        trim(fields[i]));
        goto fail;
      }
    if (out->n_layers == out->cap_layers) {
      int cap = out->cap_layers ? out->cap_layers * 2 : 16;
      ScaleSimLayer *nl = xdl_realloc(out->layers, (size_t)cap * sizeof *nl);
      if (!nl) {
        st = diag_error(d, XDL_ERR_INTERNAL, "%s:%d: out of memory", path, line);
        goto fail;
      }
      out->layers = nl, out->cap_layers = cap;
    }
    ScaleSimLayer *l = &out->layers[out->n_layers++];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", trim(fields[0]));
    l->line = line;
    if (gemm) {
      l->gemm_m = v[0], l->gemm_n = v[1], l->gemm_k = v[2];
      l->ifmap_h = v[0], l->ifmap_w = v[2], l->filter_h = 1, l->filter_w = v[2];
      l->channels = 1, l->num_filters = v[1], l->stride_h = l->stride_w = 1;
    } else {
      l->ifmap_h = v[0], l->ifmap_w = v[1], l->filter_h = v[2], l->filter_w = v[3];
      l->channels = v[4], l->num_filters = v[5], l->stride_h = v[6];
      l->stride_w = n == 9 ? v[7] : v[6];
      if (l->filter_h > l->ifmap_h || l->filter_w > l->ifmap_w) {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%d: filter %lldx%lld larger than input %lldx%lld",
                        path, line, (long long)l->filter_h, (long long)l->filter_w,
                        (long long)l->ifmap_h, (long long)l->ifmap_w);
        goto fail;
      }
    }
  }
  if (ferror(f)) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: read error", path);
    goto fail;
  }
  if (out->n_layers == 0) {
    st = diag_error(d, XDL_ERR_INPUT, "%s:%d: no layers", path, line);
    goto fail;
  }
  fclose(f);
  return XDL_OK;
fail:
  fclose(f);
  scalesim_topology_free(out);
  return st;
}
