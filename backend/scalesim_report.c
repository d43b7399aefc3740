/* scalesim_report.c — SCALE-Sim v2's three report files (COMPUTE_REPORT.csv,
 * BANDWIDTH_REPORT.csv, DETAILED_ACCESS_REPORT.csv) written byte for byte as v2 writes them, and
 * a JSON form of the same numbers. Last stage of `xploredl scalesim`; values come from
 * systolic.c. Files are written to temporaries and renamed, so an error leaves none behind. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"

char *scalesim_format_float(double v, char *buf, size_t size) {
  if (isnan(v)) {
    snprintf(buf, size, "nan");
    return buf;
  }
  if (isinf(v)) {
    snprintf(buf, size, v < 0 ? "-inf" : "inf");
    return buf;
  }
  /* Shortest digit string that reads back as v, as Python's repr picks it. */
  char tmp[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    if (strtod(tmp, NULL) == v) break;
  }
  bool neg = tmp[0] == '-';
  char digits[24];
  int nd = 0;
  const char *p = tmp + neg;
  for (; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9') digits[nd++] = *p;
  int exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = '\0';
  char out[64];
  int o = 0;
  if (neg) out[o++] = '-';
  if (exp10 >= -4 && exp10 < 16) { /* fixed notation, at least one digit after the point */
    if (exp10 < 0) {
      out[o++] = '0', out[o++] = '.';
      for (int i = 0; i < -exp10 - 1; i++) out[o++] = '0';
      for (int i = 0; i < nd; i++) out[o++] = digits[i];
    } else {
      for (int i = 0; i <= exp10; i++) out[o++] = i < nd ? digits[i] : '0';
      out[o++] = '.';
      if (nd > exp10 + 1)
        for (int i = exp10 + 1; i < nd; i++) out[o++] = digits[i];
      else
        out[o++] = '0';
    }
    out[o] = '\0';
  } else { /* d.ddde+XX */
    out[o++] = digits[0];
    if (nd > 1) {
      out[o++] = '.';
      for (int i = 1; i < nd; i++) out[o++] = digits[i];
    }
    snprintf(out + o, sizeof out - (size_t)o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
  }
  snprintf(buf, size, "%s", out);
  return buf;
}

typedef enum ReportKind { REP_COMPUTE, REP_BANDWIDTH, REP_DETAILED, N_REPORTS } ReportKind;

static const char *const report_files[N_REPORTS] = {
    "COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"};

static const char *const report_headers[N_REPORTS] = {
    "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,",
    "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, "
    "Avg FILTER DRAM BW, Avg OFMAP DRAM BW,",
    "LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
    "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
    "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
    "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
    "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
    "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,"};

/* v2 prints the items as str(item) joined by ", " and ends the row with ","; detailed-report
 * cycles come out of float arrays, hence "33.0". */
static void put_float(FILE *f, double v) {
  char b[64];
  fprintf(f, ", %s", scalesim_format_float(v, b, sizeof b));
}

static void put_int(FILE *f, int64_t v) { fprintf(f, ", %" PRId64, v); }

static void write_row(FILE *f, ReportKind kind, int id, const SystolicResult *r) {
  fprintf(f, "%d", id);
  switch (kind) {
  case REP_COMPUTE:
    put_int(f, r->total_cycles);
    put_int(f, r->stall_cycles);
    put_float(f, r->overall_util_pct);
    put_float(f, r->mapping_efficiency_pct);
    put_float(f, r->compute_util_pct);
    break;
  case REP_BANDWIDTH:
    for (int o = 0; o < SYS_N_OPERANDS; o++) put_float(f, r->avg_sram_bw[o]);
    for (int o = 0; o < SYS_N_OPERANDS; o++) put_float(f, r->avg_dram_bw[o]);
    break;
  case REP_DETAILED:
    for (int o = 0; o < SYS_N_OPERANDS; o++) {
      put_float(f, (double)r->sram_start_cycle[o]);
      put_float(f, (double)r->sram_stop_cycle[o]);
      put_int(f, r->sram_words[o]);
    }
    for (int o = 0; o < SYS_N_OPERANDS; o++) {
      put_float(f, (double)r->dram_start_cycle[o]);
      put_float(f, (double)r->dram_stop_cycle[o]);
      put_int(f, r->dram_words[o]);
    }
    break;
  default:
    break;
  }
  fputs(",\n", f);
}

/* mkdir -p for one or two levels under an existing parent. */
static bool make_dir(const char *path) {
  if (mkdir(path, 0777) == 0 || errno == EEXIST) return true;
  if (errno != ENOENT) return false;
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", path);
  char *slash = strrchr(parent, '/');
  if (!slash || slash == parent) return false;
  *slash = '\0';
  if (!make_dir(parent)) return false;
  return mkdir(path, 0777) == 0 || errno == EEXIST;
}

XdlStatus scalesim_write_reports(const char *outdir, const char *run_name,
                                 const SystolicResult *results, int n, Diag *d) {
  char dir[4096], tmp[N_REPORTS][4200], final[N_REPORTS][4200];
  bool created[N_REPORTS] = {false};
  XdlStatus st = XDL_OK;
  if (snprintf(dir, sizeof dir, "%s/%s", outdir, run_name) >= (int)sizeof dir)
    return diag_error(d, XDL_ERR_INPUT, "output path too long");
  if (!make_dir(dir))
    return diag_error(d, XDL_ERR_INTERNAL, "%s: cannot create directory: %s", dir,
                      strerror(errno));
  for (int k = 0; k < N_REPORTS; k++) {
    snprintf(final[k], sizeof final[k], "%s/%s", dir, report_files[k]);
    snprintf(tmp[k], sizeof tmp[k], "%s/.%s.tmp%ld", dir, report_files[k], (long)getpid());
    FILE *f = fopen(tmp[k], "w");
    if (!f) {
      st = diag_error(d, XDL_ERR_INTERNAL, "%s: cannot write: %s", tmp[k], strerror(errno));
      goto fail;
    }
    created[k] = true;
    fprintf(f, "%s\n", report_headers[k]);
    for (int i = 0; i < n; i++) write_row(f, (ReportKind)k, i, &results[i]);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
      st = diag_error(d, XDL_ERR_INTERNAL, "%s: write failed", tmp[k]);
      goto fail;
    }
  }
  for (int k = 0; k < N_REPORTS; k++) {
    if (rename(tmp[k], final[k]) != 0) {
      st = diag_error(d, XDL_ERR_INTERNAL, "%s: cannot rename: %s", final[k], strerror(errno));
      for (int j = 0; j < k; j++) remove(final[j]);
      goto fail;
    }
    created[k] = false;
  }
  return XDL_OK;
fail:
  for (int k = 0; k < N_REPORTS; k++)
    if (created[k]) remove(tmp[k]);
  return st;
}

static void json_operands(JsonWriter *j, const char *key, const int64_t *v) {
  json_open_object(j, key);
  json_int(j, "ifmap", v[SYS_IFMAP]);
  json_int(j, "filter", v[SYS_FILTER]);
  json_int(j, "ofmap", v[SYS_OFMAP]);
  json_close_object(j);
}

static void json_operands_f(JsonWriter *j, const char *key, const double *v) {
  json_open_object(j, key);
  json_num(j, "ifmap", v[SYS_IFMAP]);
  json_num(j, "filter", v[SYS_FILTER]);
  json_num(j, "ofmap", v[SYS_OFMAP]);
  json_close_object(j);
}

void scalesim_write_json(FILE *out, const char *run_name, const char *const *names,
                         const SystolicResult *results, int n) {
  JsonWriter j;
  json_init(&j, out, true);
  json_open_object(&j, NULL);
  json_str(&j, "run_name", run_name);
  json_open_array(&j, "layers");
  for (int i = 0; i < n; i++) {
    const SystolicResult *r = &results[i];
    json_open_object(&j, NULL);
    json_int(&j, "layer_id", i);
    if (names) json_str(&j, "name", names[i]);
    json_int(&j, "total_cycles", r->total_cycles);
    json_int(&j, "stall_cycles", r->stall_cycles);
    json_int(&j, "macs", r->macs);
    json_num(&j, "overall_util_pct", r->overall_util_pct);
    json_num(&j, "mapping_efficiency_pct", r->mapping_efficiency_pct);
    json_num(&j, "compute_util_pct", r->compute_util_pct);
    json_operands(&j, "sram_words", r->sram_words);
    json_operands(&j, "sram_start_cycle", r->sram_start_cycle);
    json_operands(&j, "sram_stop_cycle", r->sram_stop_cycle);
    json_operands(&j, "dram_words", r->dram_words);
    json_operands(&j, "dram_start_cycle", r->dram_start_cycle);
    json_operands(&j, "dram_stop_cycle", r->dram_stop_cycle);
    json_operands_f(&j, "avg_sram_bw_words_per_cycle", r->avg_sram_bw);
    json_operands_f(&j, "avg_dram_bw_words_per_cycle", r->avg_dram_bw);
    json_close_object(&j);
  }
  json_close_array(&j);
  json_close_object(&j);
}
