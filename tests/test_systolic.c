/* test_systolic.c — the systolic-array model against SCALE-Sim v2's reference reports
 * (../shared/refdata/scalesim/public/reference.csv, every row, both paths), the report writer
 * against SCALE-Sim's verbatim files, and the SCALE-Sim config/topology reader on bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "testutil.h"

/* ------------------------------------------------------------------------------------------
 * reference.csv rows
 * ------------------------------------------------------------------------------------------ */
enum { MAX_COLS = 64, MAX_ROWS = 512 };

typedef struct RefRow {
  char *cols[MAX_COLS];
  char *buf;
} RefRow;

static char *ref_header[MAX_COLS];
static int n_ref_cols;
static RefRow ref_rows[MAX_ROWS];
static int n_ref_rows;
static char *ref_text;

static int split_csv(char *s, char **cols) {
  int n = 0;
  cols[n++] = s;
  for (; *s && n < MAX_COLS; s++)
    if (*s == ',') *s = '\0', cols[n++] = s + 1;
  return n;
}

static bool load_reference(void) {
  if (ref_text) return true;
  char *path = tu_refdata("scalesim/public/reference.csv");
  ref_text = (char *)tu_read_file(path, NULL);
  free(path);
  if (!ref_text) return false;
  char *save = NULL, *line = strtok_r(ref_text, "\n", &save);
  line[strcspn(line, "\r")] = '\0'; /* the file has CRLF line ends */
  n_ref_cols = split_csv(line, ref_header);
  while ((line = strtok_r(NULL, "\n", &save)) && n_ref_rows < MAX_ROWS) {
    line[strcspn(line, "\r")] = '\0';
    if (split_csv(line, ref_rows[n_ref_rows].cols) == n_ref_cols) n_ref_rows++;
  }
  return n_ref_rows > 0;
}

static const char *col(int row, const char *name) {
  for (int i = 0; i < n_ref_cols; i++)
    if (strcmp(ref_header[i], name) == 0) return ref_rows[row].cols[i];
  return "";
}

static int64_t icol(int row, const char *name) { return (int64_t)strtod(col(row, name), NULL); }
static double dcol(int row, const char *name) { return strtod(col(row, name), NULL); }

static void row_inputs(int row, SystolicConfig *c, SysLayer *l) {
  memset(c, 0, sizeof *c);
  c->rows = icol(row, "array_h"), c->cols = icol(row, "array_w");
  const char *df = col(row, "dataflow");
  c->df = strcmp(df, "os") == 0 ? DF_OS : strcmp(df, "ws") == 0 ? DF_WS : DF_IS;
  c->ifmap_sram_words = icol(row, "ifmap_sram_kb") * 1024;
  c->filter_sram_words = icol(row, "filter_sram_kb") * 1024;
  c->ofmap_sram_words = icol(row, "ofmap_sram_kb") * 1024;
  c->bw_mode_user = strcmp(col(row, "bw_mode"), "USER") == 0;
  c->dram_bw_words = c->bw_mode_user ? icol(row, "dram_bw_words_per_cycle") : 10;
  c->word_bytes = 1;
  c->filter_offset = 10000000, c->ofmap_offset = 20000000;
  SysLayer ll = {icol(row, "ifmap_h"),  icol(row, "ifmap_w"),     icol(row, "filter_h"),
                 icol(row, "filter_w"), icol(row, "channels"),    icol(row, "num_filters"),
                 icol(row, "stride_h"), icol(row, "stride_w"),    1};
  *l = ll;
}

/* Row `row` through one path: its config in *c, the result in *r. */
static XdlStatus eval_row(int row, bool exact, SystolicConfig *c, SystolicResult *r) {
  SysLayer l;
  row_inputs(row, c, &l);
  Diag d;
  diag_init(&d);
  return exact ? systolic_eval_exact(c, &l, r, &d) : systolic_eval_fast(c, &l, r, &d);
}

/* The integer columns and where they live in a result. */
typedef struct IntCol {
  const char *name;
  int kind; /* 0 sram_words, 1 sram_start, 2 sram_stop, 3 dram_words, 4 dram_start, 5 stop */
  int op;
} IntCol;

static const IntCol int_cols[] = {
    {"sram_ifmap_start_cycle", 1, SYS_IFMAP},   {"sram_ifmap_stop_cycle", 2, SYS_IFMAP},
    {"sram_ifmap_reads", 0, SYS_IFMAP},         {"sram_filter_start_cycle", 1, SYS_FILTER},
    {"sram_filter_stop_cycle", 2, SYS_FILTER},  {"sram_filter_reads", 0, SYS_FILTER},
    {"sram_ofmap_start_cycle", 1, SYS_OFMAP},   {"sram_ofmap_stop_cycle", 2, SYS_OFMAP},
    {"sram_ofmap_writes", 0, SYS_OFMAP},        {"dram_ifmap_start_cycle", 4, SYS_IFMAP},
    {"dram_ifmap_stop_cycle", 5, SYS_IFMAP},    {"dram_ifmap_reads", 3, SYS_IFMAP},
    {"dram_filter_start_cycle", 4, SYS_FILTER}, {"dram_filter_stop_cycle", 5, SYS_FILTER},
    {"dram_filter_reads", 3, SYS_FILTER},       {"dram_ofmap_start_cycle", 4, SYS_OFMAP},
    {"dram_ofmap_stop_cycle", 5, SYS_OFMAP},    {"dram_ofmap_writes", 3, SYS_OFMAP},
};
enum { N_INT_COLS = sizeof int_cols / sizeof *int_cols };

static int64_t result_int(const SystolicResult *r, const IntCol *c) {
  switch (c->kind) {
  case 0: return r->sram_words[c->op];
  case 1: return r->sram_start_cycle[c->op];
  case 2: return r->sram_stop_cycle[c->op];
  case 3: return r->dram_words[c->op];
  case 4: return r->dram_start_cycle[c->op];
  default: return r->dram_stop_cycle[c->op];
  }
}

/* Exact path: every reported number on every row, doubles compared as printed (Python repr
 * round-trips, so equality of the parsed value is equality of the printed text). */
static void test_reference_exact(void) {
  CU_ASSERT_FATAL(load_reference());
  int bad[N_INT_COLS + 12] = {0}, rows_ok = 0;
  for (int i = 0; i < n_ref_rows; i++) {
    SystolicConfig c;
    SystolicResult r;
    CU_ASSERT_EQUAL_FATAL(eval_row(i, true, &c, &r), XDL_OK);
    int before = 0;
    for (int k = 0; k < N_INT_COLS + 12; k++) before += bad[k];
    for (int k = 0; k < N_INT_COLS; k++)
      if (result_int(&r, &int_cols[k]) != icol(i, int_cols[k].name)) bad[k]++;
    bad[N_INT_COLS + 0] += r.total_cycles != icol(i, "total_cycles");
    bad[N_INT_COLS + 1] += r.stall_cycles != icol(i, "stall_cycles");
    bad[N_INT_COLS + 2] += r.overall_util_pct != dcol(i, "overall_util_pct");
    bad[N_INT_COLS + 3] += r.mapping_efficiency_pct != dcol(i, "mapping_efficiency_pct");
    bad[N_INT_COLS + 4] += r.compute_util_pct != dcol(i, "compute_util_pct");
    const char *bw[6] = {"avg_ifmap_sram_bw", "avg_filter_sram_bw", "avg_ofmap_sram_bw",
                         "avg_ifmap_dram_bw", "avg_filter_dram_bw", "avg_ofmap_dram_bw"};
    for (int o = 0; o < 3; o++) {
      bad[N_INT_COLS + 5 + o] += r.avg_sram_bw[o] != dcol(i, bw[o]);
      bad[N_INT_COLS + 8 + o] += r.avg_dram_bw[o] != dcol(i, bw[3 + o]);
    }
    int after = 0;
    for (int k = 0; k < N_INT_COLS + 12; k++) after += bad[k];
    if (after == before) rows_ok++;
    else {
      printf("\n  exact mismatch: %s %s:", col(i, "run_id"), col(i, "layer_name"));
      for (int k = 0; k < N_INT_COLS + 12; k++) if (bad[k]) printf(" %d", k);
    }
  }
  printf("\n  exact path: %d/%d rows match on all 31 reported columns\n", rows_ok, n_ref_rows);
  for (int k = 0; k < N_INT_COLS; k++)
    if (bad[k]) printf("  column %s: %d rows differ\n", int_cols[k].name, bad[k]);
  CU_ASSERT_EQUAL(rows_ok, n_ref_rows);
}

static double rel_err(double got, double want) {
  return want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
}

/* Fast path: closed forms must match exactly (utilisations to 1e-12 relative: the closed form
 * differs from SCALE-Sim's fold-by-fold float sum only in the last bits); DRAM traffic of CALC
 * rows is checked in test_reference_fast_dram. */
static void test_reference_fast_closed(void) {
  CU_ASSERT_FATAL(load_reference());
  int bad_cycles = 0, bad_sram = 0, bad_sram_cyc = 0, bad_util = 0;
  double worst_map = 0, worst_util = 0;
  for (int i = 0; i < n_ref_rows; i++) {
    SystolicConfig c;
    SystolicResult r;
    CU_ASSERT_EQUAL_FATAL(eval_row(i, false, &c, &r), XDL_OK);
    /* Compute cycles = total cycles without stalls. */
    int64_t want_compute = icol(i, "total_cycles") - icol(i, "stall_cycles");
    if (r.total_cycles - r.stall_cycles != want_compute) bad_cycles++;
    for (int k = 0; k < N_INT_COLS; k++) {
      if (int_cols[k].kind == 0 && result_int(&r, &int_cols[k]) != icol(i, int_cols[k].name))
        bad_sram++;
      if (!c.bw_mode_user && (int_cols[k].kind == 1 || int_cols[k].kind == 2) &&
          result_int(&r, &int_cols[k]) != icol(i, int_cols[k].name))
        bad_sram_cyc++;
    }
    double em = rel_err(r.mapping_efficiency_pct, dcol(i, "mapping_efficiency_pct"));
    double eu = rel_err(r.compute_util_pct, dcol(i, "compute_util_pct"));
    if (em > worst_map) worst_map = em;
    if (eu > worst_util) worst_util = eu;
    if (em > 1e-12 || eu > 1e-12) bad_util++;
  }
  printf("\n  fast path: compute cycles %d/%d, SRAM counts %d/%d, SRAM start/stop (CALC) bad %d,"
         "\n  mapping eff. worst rel. err %.2e, compute util worst rel. err %.2e\n",
         n_ref_rows - bad_cycles, n_ref_rows, n_ref_rows * 3 - bad_sram, n_ref_rows * 3,
         bad_sram_cyc, worst_map, worst_util);
  CU_ASSERT_EQUAL(bad_cycles, 0);
  CU_ASSERT_EQUAL(bad_sram, 0);
  CU_ASSERT_EQUAL(bad_sram_cyc, 0);
  CU_ASSERT_EQUAL(bad_util, 0);
}

/* Every reported column of the fast path against the reference, largest error over CALC rows
 * and over USER rows, printed (the assertions are in the tests around it). Cycles are compared
 * relative to max(1, |reference|), since start cycles can be 0 or negative. */
static void print_fast_column_errors(void) {
  enum { N_DBL = 12, N_ALL = N_INT_COLS + N_DBL };
  static const char *dbl[N_DBL] = {"total_cycles",       "stall_cycles",
                                   "overall_util_pct",   "mapping_efficiency_pct",
                                   "compute_util_pct",   "avg_ifmap_sram_bw",
                                   "avg_filter_sram_bw", "avg_ofmap_sram_bw",
                                   "avg_ifmap_dram_bw",  "avg_filter_dram_bw",
                                   "avg_ofmap_dram_bw",  ""};
  double worst[2][N_ALL] = {{0}};
  for (int i = 0; i < n_ref_rows; i++) {
    SystolicConfig c;
    SystolicResult r;
    if (eval_row(i, false, &c, &r) != XDL_OK) continue;
    double got[N_ALL], want[N_ALL];
    for (int k = 0; k < N_INT_COLS; k++)
      got[k] = (double)result_int(&r, &int_cols[k]), want[k] = dcol(i, int_cols[k].name);
    double g2[N_DBL - 1] = {(double)r.total_cycles, (double)r.stall_cycles, r.overall_util_pct,
                            r.mapping_efficiency_pct, r.compute_util_pct, r.avg_sram_bw[0],
                            r.avg_sram_bw[1], r.avg_sram_bw[2], r.avg_dram_bw[0],
                            r.avg_dram_bw[1], r.avg_dram_bw[2]};
    for (int k = 0; k < N_DBL - 1; k++)
      got[N_INT_COLS + k] = g2[k], want[N_INT_COLS + k] = dcol(i, dbl[k]);
    for (int k = 0; k < N_ALL - 1; k++) {
      double e = fabs(got[k] - want[k]) / fmax(1, fabs(want[k]));
      if (e > worst[c.bw_mode_user][k]) worst[c.bw_mode_user][k] = e;
    }
  }
  printf("\n  fast path vs reference, largest relative error per column (CALC / USER rows):");
  for (int k = 0; k < N_ALL - 1; k++)
    printf("%s%-24s %9.3g%% %9.3g%%", k % 2 ? "   " : "\n    ",
           k < N_INT_COLS ? int_cols[k].name : dbl[k - N_INT_COLS], worst[0][k] * 100,
           worst[1][k] * 100);
  printf("\n");
}

/* Fast path DRAM model: per-column worst error, CALC total within 5%, USER errors printed. */
static void test_reference_fast_dram(void) {
  CU_ASSERT_FATAL(load_reference());
  double worst[3] = {0}, worst_calc = 0, worst_user_tot = 0, worst_user_cyc = 0;
  int calc_rows = 0, calc_ok = 0;
  for (int i = 0; i < n_ref_rows; i++) {
    SystolicConfig c;
    SystolicResult r;
    CU_ASSERT_EQUAL_FATAL(eval_row(i, false, &c, &r), XDL_OK);
    const char *names[3] = {"dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes"};
    double want_tot = 0, got_tot = 0;
    for (int o = 0; o < 3; o++) {
      double e = rel_err((double)r.dram_words[o], dcol(i, names[o]));
      if (!c.bw_mode_user && e > worst[o]) worst[o] = e;
      want_tot += dcol(i, names[o]);
      got_tot += (double)r.dram_words[o];
    }
    double et = rel_err(got_tot, want_tot);
    if (c.bw_mode_user) {
      double ec = rel_err((double)r.total_cycles, dcol(i, "total_cycles"));
      if (et > worst_user_tot) worst_user_tot = et;
      if (ec > worst_user_cyc) worst_user_cyc = ec;
    } else {
      calc_rows++;
      calc_ok += et <= 0.05;
      if (et > worst_calc) worst_calc = et;
    }
  }
  printf("\n  fast path DRAM, CALC rows: worst rel. error ifmap %.1f%%, filter %.1f%%, ofmap"
         " %.2f%%; total traffic worst %.1f%%, %d/%d rows within 5%%\n"
         "  USER rows: total cycles worst %.1f%%, DRAM traffic worst %.1f%%\n",
         worst[0] * 100, worst[1] * 100, worst[2] * 100, worst_calc * 100, calc_ok, calc_rows,
         worst_user_cyc * 100, worst_user_tot * 100);
  print_fast_column_errors();
  CU_ASSERT_EQUAL(calc_ok, calc_rows);
}

/* One line naming a config and a layer, for a failing case. */
static void print_case(const char *what, const SystolicConfig *c, const SysLayer *l) {
  printf("\n  %s: %s %lldx%lld sram %lld/%lld/%lld b %lld layer %lld %lld %lld %lld %lld %lld"
         " %lld %lld", what, systolic_dataflow_name(c->df), (long long)c->rows,
         (long long)c->cols, (long long)c->ifmap_sram_words, (long long)c->filter_sram_words,
         (long long)c->ofmap_sram_words, (long long)c->dram_bw_words, (long long)l->ifmap_h,
         (long long)l->ifmap_w, (long long)l->filter_h, (long long)l->filter_w,
         (long long)l->channels, (long long)l->num_filters, (long long)l->stride_h,
         (long long)l->stride_w);
}

/* Every cycle and count of two results equal (the utilisations follow from them). */
static bool results_equal(const SystolicResult *a, const SystolicResult *b) {
  bool same = a->total_cycles == b->total_cycles && a->stall_cycles == b->stall_cycles;
  for (int o = 0; o < 3; o++)
    same = same && a->sram_words[o] == b->sram_words[o] &&
           a->sram_start_cycle[o] == b->sram_start_cycle[o] &&
           a->sram_stop_cycle[o] == b->sram_stop_cycle[o] && a->dram_words[o] == b->dram_words[o] &&
           a->dram_start_cycle[o] == b->dram_start_cycle[o] &&
           a->dram_stop_cycle[o] == b->dram_stop_cycle[o];
  return same;
}

/* Random small layers: the fast path's closed-form SRAM start/stop cycles and counts equal the
 * exact replay's (overhanging windows, partial folds, odd strides). */
static void test_fast_closed_forms_random(void) {
  unsigned seed = 12345;
  int bad = 0, n_plain = 0;
  for (int it = 0; it < 300; it++) {
    seed = seed * 1103515245u + 12345u;
    unsigned s = seed >> 8;
    SystolicConfig c = {.rows = 2 + s % 9, .cols = 2 + (s / 9) % 7, .df = (Dataflow)((s / 63) % 3),
                        .ifmap_sram_words = 4096, .filter_sram_words = 4096,
                        .ofmap_sram_words = 2048, .word_bytes = 1};
    seed = seed * 1103515245u + 12345u;
    s = seed >> 8;
    SysLayer l = {.ifmap_h = 3 + s % 9, .ifmap_w = 3 + (s / 9) % 9, .channels = 1 + (s / 81) % 4,
                  .num_filters = 1 + (s / 324) % 11, .stride_h = 1 + (s / 3564) % 4,
                  .repeat = 1};
    l.stride_w = 1 + (s / 14256) % 4;
    l.filter_h = 1 + (s / 57024) % l.ifmap_h;
    l.filter_w = 1 + (s / 513216) % l.ifmap_w;
    SystolicResult a, b;
    Diag d;
    diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_fast(&c, &l, &a, &d), XDL_OK);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_exact(&c, &l, &b, &d), XDL_OK);
    bool same = a.total_cycles == b.total_cycles;
    for (int o = 0; o < 3; o++)
      same = same && a.sram_words[o] == b.sram_words[o] &&
             a.sram_start_cycle[o] == b.sram_start_cycle[o] &&
             a.sram_stop_cycle[o] == b.sram_stop_cycle[o];
    same = same && a.dram_words[SYS_FILTER] == b.dram_words[SYS_FILTER];
    /* The first OFMAP drain starts at the write that leaves more than D words waiting; the
     * filter's epochs end at reads whose cycles the strip model knows. */
    same = same && a.dram_start_cycle[SYS_OFMAP] == b.dram_start_cycle[SYS_OFMAP] &&
           a.dram_start_cycle[SYS_FILTER] == b.dram_start_cycle[SYS_FILTER] &&
           a.dram_stop_cycle[SYS_FILTER] == b.dram_stop_cycle[SYS_FILTER];
    /* Windows that neither overlap nor overhang: every IFMAP request is a DRAM read once the
     * footprint passes Q, so reads and the last epoch's cycle are exact too. */
    int64_t eh = (l.ifmap_h - l.filter_h + l.stride_h - 1) / l.stride_h + 1;
    int64_t ew = (l.ifmap_w - l.filter_w + l.stride_w - 1) / l.stride_w + 1;
    bool overlap = (l.filter_h > l.stride_h && eh > 1) || (l.filter_w > l.stride_w && ew > 1);
    bool overhang = (eh - 1) * l.stride_h + l.filter_h > l.ifmap_h ||
                    (ew - 1) * l.stride_w + l.filter_w > l.ifmap_w;
    if (!overlap && !overhang) {
      n_plain++;
      same = same && a.dram_words[SYS_IFMAP] == b.dram_words[SYS_IFMAP] &&
             a.dram_stop_cycle[SYS_IFMAP] == b.dram_stop_cycle[SYS_IFMAP];
    }
    if (!same) {
      bad++;
      print_case("fast/exact differ", &c, &l);
    }
  }
  printf("\n  300 random layers (%d without overlapping or overhanging windows): %d differ\n",
         n_plain, bad);
  CU_ASSERT(n_plain >= 20); /* the generator must keep exercising that case */
  CU_ASSERT_EQUAL(bad, 0);
}

/* Random layers: fast-path DRAM traffic (ifmap + filter + ofmap) against the exact replay in
 * CALC mode, with SRAMs small enough that the epoch buffer forgets (Q = 50 * floor(B/100)).
 * Prints the error distribution and asserts what the deterministic epoch models reach on these
 * shapes (measured: median 0.02%, p90 0.7%, 292/300 within 5%, worst 27%, the worst ones where
 * the reuse-distance model still decides); a regression shows up as a larger error. */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void test_fast_dram_random(void) {
  enum { N_LAYERS = 300 };
  static double err[N_LAYERS];
  unsigned seed = 777;
  int n = 0;
  for (int it = 0; it < N_LAYERS; it++) {
    seed = seed * 1103515245u + 12345u;
    unsigned s = seed >> 8;
    SystolicConfig c = {.rows = 4 << (s % 4), .cols = 4 << ((s / 4) % 4),
                        .df = (Dataflow)((s / 16) % 3), .ifmap_sram_words = 2048 << ((s / 48) % 3),
                        .filter_sram_words = 4096, .ofmap_sram_words = 4096, .word_bytes = 1};
    seed = seed * 1103515245u + 12345u;
    s = seed >> 8;
    SysLayer l = {.ifmap_h = 8 + s % 40, .channels = 1 + (s / 40) % 48,
                  .num_filters = 1 + (s / 1920) % 40, .stride_h = 1 + (s / 76800) % 3,
                  .repeat = 1};
    l.ifmap_w = l.ifmap_h;
    l.filter_h = l.filter_w = 1 + (s / 230400) % 5;
    l.stride_w = l.stride_h;
    SystolicResult a, b;
    Diag d;
    diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_fast(&c, &l, &a, &d), XDL_OK);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_exact(&c, &l, &b, &d), XDL_OK);
    double ga = 0, gb = 0;
    for (int o = 0; o < 3; o++) ga += (double)a.dram_words[o], gb += (double)b.dram_words[o];
    err[n++] = rel_err(ga, gb);
  }
  qsort(err, (size_t)n, sizeof *err, cmp_double);
  int within5 = 0;
  for (int i = 0; i < n; i++) within5 += err[i] <= 0.05;
  printf("\n  fast vs exact DRAM total, %d random CALC layers: median %.2f%%, p90 %.2f%%,"
         " p99 %.2f%%, worst %.2f%%, %d within 5%%\n",
         n, err[n / 2] * 100, err[n * 9 / 10] * 100, err[n * 99 / 100] * 100, err[n - 1] * 100,
         within5);
  CU_ASSERT(err[n / 2] <= 0.002);
  CU_ASSERT(err[n * 9 / 10] <= 0.02);
  CU_ASSERT(within5 >= n * 95 / 100);
  CU_ASSERT(err[n - 1] <= 0.35);
}

/* Random USER-mode layers: the exact replay's position-range prefetch window gives the same
 * results as the hash-set window (every address resident in the window, walked set by set) on
 * GEMMs and convolutions, with and without overlapping windows, padding and overhang, and
 * SRAMs small enough that the window laps the fetch stream many times. */
static void test_user_window_random(void) {
  unsigned seed = 4242;
  int bad = 0;
  for (int it = 0; it < 400; it++) {
    seed = seed * 1103515245u + 12345u;
    unsigned s = seed >> 8;
    SystolicConfig c = {.rows = 2 + s % 15, .cols = 2 + (s / 15) % 11,
                        .df = (Dataflow)((s / 165) % 3), .ifmap_sram_words = 100 + (s / 495) % 900,
                        .filter_sram_words = 100 + (s / 445500) % 700, .ofmap_sram_words = 512,
                        .bw_mode_user = 1, .word_bytes = 1, .filter_offset = 10000000,
                        .ofmap_offset = 20000000};
    seed = seed * 1103515245u + 12345u;
    s = seed >> 8;
    c.dram_bw_words = 1 + s % 16;
    SysLayer l;
    if ((s / 16) % 2) { /* GEMM M x K by K x N */
      l = systolic_layer_from_gemm(1, 1 + (s / 32) % 60, 1 + (s / 1920) % 40,
                                   1 + (s / 76800) % 50);
    } else {
      l = (SysLayer){.ifmap_h = 3 + (s / 32) % 14, .channels = 1 + (s / 448) % 3,
                     .num_filters = 1 + (s / 1344) % 12, .stride_h = 1 + (s / 16128) % 3,
                     .repeat = 1};
      seed = seed * 1103515245u + 12345u;
      s = seed >> 8;
      l.ifmap_w = 3 + s % 14;
      l.stride_w = 1 + (s / 14) % 3;
      l.filter_h = 1 + (s / 42) % (l.ifmap_h < 4 ? l.ifmap_h : 4);
      l.filter_w = 1 + (s / 168) % (l.ifmap_w < 4 ? l.ifmap_w : 4);
    }
    SystolicResult a, b;
    Diag d;
    diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_exact(&c, &l, &a, &d), XDL_OK);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_exact_hashed(&c, &l, &b, &d), XDL_OK);
    if (!results_equal(&a, &b)) {
      bad++;
      print_case("ranged/hashed windows differ", &c, &l);
    }
  }
  CU_ASSERT_EQUAL(bad, 0);
}

/* Random USER-mode convolutions whose IFMAP fetch stream is injective but padded inside (the
 * filter no taller / wider than the stride, the last output row / column overhanging): the
 * range window then bounds its sets by walking the stream once per lap, keeping only the
 * boundaries of the sets in the window. Small SRAMs (100 .. 1099 words) make the window lap the
 * stream many times; it must give the hash-set window's results. */
static void test_user_window_walked(void) {
  unsigned seed = 777;
  int bad = 0;
  for (int it = 0; it < 120; it++) {
    seed = seed * 1103515245u + 12345u;
    unsigned s = seed >> 8;
    SystolicConfig c = {.rows = 2 + s % 13, .cols = 2 + (s / 13) % 9,
                        .df = (Dataflow)((s / 117) % 3), .ifmap_sram_words = 100 + (s / 351) % 1000,
                        .filter_sram_words = 100 + (s / 351000) % 300, .ofmap_sram_words = 256,
                        .bw_mode_user = 1, .word_bytes = 1, .filter_offset = 10000000,
                        .ofmap_offset = 20000000};
    seed = seed * 1103515245u + 12345u;
    s = seed >> 8;
    c.dram_bw_words = 1 + s % 12;
    SysLayer l = {.channels = 1 + (s / 12) % 3, .num_filters = 1 + (s / 36) % 10,
                  .stride_h = 2 + (s / 360) % 2, .stride_w = 2 + (s / 720) % 2, .repeat = 1};
    seed = seed * 1103515245u + 12345u;
    s = seed >> 8;
    l.filter_h = 1 + s % l.stride_h, l.filter_w = 1 + (s / 3) % l.stride_w;
    /* (h - fh) % stride != 0: the last output row overhangs (likewise columns) */
    l.ifmap_h = l.filter_h + l.stride_h * (1 + (s / 9) % 12) + 1;
    l.ifmap_w = l.filter_w + l.stride_w * (1 + (s / 108) % 12) + (s / 1296) % 2;
    SystolicResult a, b;
    Diag d;
    diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_exact(&c, &l, &a, &d), XDL_OK);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_exact_hashed(&c, &l, &b, &d), XDL_OK);
    if (!results_equal(&a, &b)) {
      bad++;
      print_case("walked/hashed windows differ", &c, &l);
    }
  }
  CU_ASSERT_EQUAL(bad, 0);
}

/* ------------------------------------------------------------------------------------------
 * USER mode: the fast path's fold-level prefetch-window model against the reference rows and
 * the exact replay.
 * ------------------------------------------------------------------------------------------ */
enum { UE_CYCLES, UE_STALL, UE_IFMAP, UE_FILTER, UE_OFMAP, N_UE };
static const char *ue_names[N_UE] = {"total cycles", "stall (of total)", "IFMAP reads",
                                     "FILTER reads", "OFMAP writes"};

/* Relative errors; stalls relative to the total cycles (a layer may barely stall). */
static void user_errors(const SystolicResult *a, const SystolicResult *b, double e[N_UE]) {
  e[UE_CYCLES] = rel_err((double)a->total_cycles, (double)b->total_cycles);
  e[UE_STALL] = fabs((double)(a->stall_cycles - b->stall_cycles)) / (double)(b->total_cycles + 1);
  for (int o = 0; o < 3; o++)
    e[UE_IFMAP + o] = rel_err((double)a->dram_words[o], (double)b->dram_words[o]);
}

/* The 24 USER rows (GEMMs, 32x8, os/ws/is, b = 16 and b = 4 with 8 kB SRAMs): the model is
 * exact on cycles, stalls, DRAM reads and their start/stop cycles and the SRAM stop cycles;
 * OFMAP writes lack only SCALE-Sim's line-padding artefact (README §6). */
static void test_user_reference_fast(void) {
  CU_ASSERT_FATAL(load_reference());
  double worst[N_UE] = {0};
  int n = 0, bad_cyc[N_INT_COLS] = {0};
  bool verbose = getenv("XDL_USER_VERBOSE") != NULL;
  for (int i = 0; i < n_ref_rows; i++) {
    SystolicConfig c;
    SysLayer l;
    row_inputs(i, &c, &l);
    if (!c.bw_mode_user) continue;
    SystolicResult r, want;
    Diag d;
    diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_fast(&c, &l, &r, &d), XDL_OK);
    memset(&want, 0, sizeof want);
    want.total_cycles = icol(i, "total_cycles"), want.stall_cycles = icol(i, "stall_cycles");
    want.dram_words[SYS_IFMAP] = icol(i, "dram_ifmap_reads");
    want.dram_words[SYS_FILTER] = icol(i, "dram_filter_reads");
    want.dram_words[SYS_OFMAP] = icol(i, "dram_ofmap_writes");
    double e[N_UE];
    user_errors(&r, &want, e);
    for (int k = 0; k < N_UE; k++)
      if (e[k] > worst[k]) worst[k] = e[k];
    CU_ASSERT_EQUAL(r.total_cycles, want.total_cycles);
    CU_ASSERT_EQUAL(r.stall_cycles, want.stall_cycles);
    CU_ASSERT_EQUAL(r.dram_words[SYS_IFMAP], want.dram_words[SYS_IFMAP]);
    CU_ASSERT_EQUAL(r.dram_words[SYS_FILTER], want.dram_words[SYS_FILTER]);
    CU_ASSERT(e[UE_OFMAP] <= 0.001);
    for (int k = 0; k < N_INT_COLS; k++)
      if (int_cols[k].kind != 0 && result_int(&r, &int_cols[k]) != icol(i, int_cols[k].name))
        bad_cyc[k]++;
    n++;
    if (verbose)
      printf("\n  %s %s: cycles %lld/%lld stall %lld/%lld DRAM %lld/%lld %lld/%lld %lld/%lld",
             col(i, "run_id"), col(i, "layer_name"), (long long)r.total_cycles,
             (long long)want.total_cycles, (long long)r.stall_cycles,
             (long long)want.stall_cycles, (long long)r.dram_words[0],
             (long long)want.dram_words[0], (long long)r.dram_words[1],
             (long long)want.dram_words[1], (long long)r.dram_words[2],
             (long long)want.dram_words[2]);
  }
  CU_ASSERT_EQUAL(n, 24);
  printf("\n  USER rows (%d), fast path worst rel. error:\n   ", n);
  for (int k = 0; k < N_UE; k++) printf(" %s %.3f%%%s", ue_names[k], worst[k] * 100,
                                        k < N_UE - 1 ? "," : "\n");
  printf("  start/stop cycles equal to SCALE-Sim's (rows):");
  for (int k = 0, m = 0; k < N_INT_COLS; k++)
    if (int_cols[k].kind != 0 && int_cols[k].kind != 3)
      printf("%s %s %d", m++ % 4 ? "," : "\n   ", int_cols[k].name, n - bad_cyc[k]);
  printf("\n");
  for (int k = 0; k < N_INT_COLS; k++) {
    bool ofmap_drain = int_cols[k].op == SYS_OFMAP && int_cols[k].kind >= 4;
    bool ofmap_start = int_cols[k].op == SYS_OFMAP && int_cols[k].kind == 1;
    if (int_cols[k].kind != 0 && int_cols[k].kind != 3 && !ofmap_drain && !ofmap_start)
      CU_ASSERT_EQUAL(bad_cyc[k], 0);
  }
}

/* Random USER-mode layers. Small: the generator of test_user_window_random (SRAMs of 100 ..
 * 1000 words, so the windows lap their streams; b = 1 .. 16). Medium: arrays 4 .. 32, SRAMs of
 * 1 .. 8 k words, b in {1, 2, 4, 10, 16, 50}, GEMMs up to 300 x 100 x 400, convs up to
 * 31 x 31 x 16 with 1x1 .. 3x3 filters and strides 1 .. 2. */
static void random_user_small(unsigned *seed, SystolicConfig *c, SysLayer *l) {
  *seed = *seed * 1103515245u + 12345u;
  unsigned s = *seed >> 8;
  SystolicConfig cc = {.rows = 2 + s % 15, .cols = 2 + (s / 15) % 11,
                       .df = (Dataflow)((s / 165) % 3), .ifmap_sram_words = 100 + (s / 495) % 900,
                       .filter_sram_words = 100 + (s / 445500) % 700, .ofmap_sram_words = 512,
                       .bw_mode_user = 1, .word_bytes = 1, .filter_offset = 10000000,
                       .ofmap_offset = 20000000};
  *c = cc;
  *seed = *seed * 1103515245u + 12345u;
  s = *seed >> 8;
  c->dram_bw_words = 1 + s % 16;
  if ((s / 16) % 2) {
    *l = systolic_layer_from_gemm(1, 1 + (s / 32) % 60, 1 + (s / 1920) % 40,
                                  1 + (s / 76800) % 50);
    return;
  }
  *l = (SysLayer){.ifmap_h = 3 + (s / 32) % 14, .channels = 1 + (s / 448) % 3,
                  .num_filters = 1 + (s / 1344) % 12, .stride_h = 1 + (s / 16128) % 3,
                  .repeat = 1};
  *seed = *seed * 1103515245u + 12345u;
  s = *seed >> 8;
  l->ifmap_w = 3 + s % 14;
  l->stride_w = 1 + (s / 14) % 3;
  l->filter_h = 1 + (s / 42) % (l->ifmap_h < 4 ? l->ifmap_h : 4);
  l->filter_w = 1 + (s / 168) % (l->ifmap_w < 4 ? l->ifmap_w : 4);
}

static void random_user_medium(unsigned *seed, SystolicConfig *c, SysLayer *l) {
  static const int64_t sides[4] = {4, 8, 16, 32}, bws[6] = {1, 2, 4, 10, 16, 50};
  *seed = *seed * 1103515245u + 12345u;
  unsigned s = *seed >> 8;
  SystolicConfig cc = {.rows = sides[s % 4], .cols = sides[(s / 4) % 4],
                       .df = (Dataflow)((s / 16) % 3), .ifmap_sram_words = 1024 << ((s / 48) % 4),
                       .filter_sram_words = 1024 << ((s / 192) % 4),
                       .ofmap_sram_words = 1024 << ((s / 768) % 4), .bw_mode_user = 1,
                       .word_bytes = 1, .filter_offset = 10000000, .ofmap_offset = 20000000};
  *c = cc;
  *seed = *seed * 1103515245u + 12345u;
  s = *seed >> 8;
  c->dram_bw_words = bws[s % 6];
  if ((s / 6) % 2) {
    *l = systolic_layer_from_gemm(1, 1 + (s / 12) % 300, 1 + (s / 3600) % 100,
                                  1 + (s / 360000) % 400);
    return;
  }
  *seed = *seed * 1103515245u + 12345u;
  s = *seed >> 8;
  *l = (SysLayer){.ifmap_h = 8 + s % 24, .channels = 1 + (s / 24) % 16,
                  .num_filters = 1 + (s / 384) % 40, .stride_h = 1 + (s / 15360) % 2,
                  .repeat = 1};
  l->ifmap_w = l->ifmap_h, l->stride_w = l->stride_h;
  l->filter_h = l->filter_w = 1 + (s / 30720) % 3;
}

/* Layer classes the model treats differently: GEMMs; convs whose IFMAP fetch stream holds every
 * word once and no overhang padding (the position model is exact); injective but overhanging
 * (valid words ranked by density); overlapping windows (one word at many stream positions, a
 * hit on any copy in SCALE-Sim, each copy its own word here). */
enum { UC_GEMM, UC_CONV_EXACT, UC_CONV_OVERHANG, UC_CONV_OVERLAP, N_UC };
static const char *uc_names[N_UC] = {"GEMM", "conv, injective", "conv, injective overhang",
                                     "conv, overlapping"};

static int user_class(const SysLayer *l) {
  int64_t eh = (l->ifmap_h - l->filter_h + l->stride_h + l->stride_h - 1) / l->stride_h;
  int64_t ew = (l->ifmap_w - l->filter_w + l->stride_w + l->stride_w - 1) / l->stride_w;
  if (l->filter_h == 1 && l->filter_w == l->ifmap_w && l->stride_h == 1 && l->channels == 1)
    return UC_GEMM;
  if (!((l->filter_h <= l->stride_h || eh == 1) && (l->filter_w <= l->stride_w || ew == 1)))
    return UC_CONV_OVERLAP;
  bool pad = (l->ifmap_h - l->filter_h) % l->stride_h || (l->ifmap_w - l->filter_w) % l->stride_w;
  return pad ? UC_CONV_OVERHANG : UC_CONV_EXACT;
}

enum { N_SMALL = 400, N_MEDIUM = 200, N_RANDOM = N_SMALL + N_MEDIUM };

static void print_quantiles(const char *name, double *e, int n) {
  if (n == 0) return;
  qsort(e, (size_t)n, sizeof *e, cmp_double);
  printf("    %-18s %8.3f%% %8.3f%% %9.3f%%\n", name, e[n / 2] * 100, e[n * 9 / 10] * 100,
         e[n - 1] * 100);
}

static void test_user_random_fast(void) {
  static double err[N_UC + 1][N_UE][N_RANDOM]; /* per class, then all layers */
  static double stall_rel[N_UC + 1][N_RANDOM];   /* layers stalled >= 5% of their cycles */
  int n[N_UC + 1] = {0}, n_st[N_UC + 1] = {0};
  unsigned seed_s = 9001, seed_m = 4711;
  bool verbose = getenv("XDL_USER_VERBOSE") != NULL;
  for (int it = 0; it < N_RANDOM; it++) {
    SystolicConfig c;
    SysLayer l;
    if (it < N_SMALL) random_user_small(&seed_s, &c, &l);
    else random_user_medium(&seed_m, &c, &l);
    SystolicResult a, b;
    Diag d;
    diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_fast(&c, &l, &a, &d), XDL_OK);
    CU_ASSERT_EQUAL_FATAL(systolic_eval_exact(&c, &l, &b, &d), XDL_OK);
    double e[N_UE];
    user_errors(&a, &b, e);
    int uc = user_class(&l);
    for (int k = 0; k < N_UE; k++) err[uc][k][n[uc]] = err[N_UC][k][n[N_UC]] = e[k];
    n[uc]++, n[N_UC]++;
    if (b.stall_cycles * 20 >= b.total_cycles) {
      double es = rel_err((double)a.stall_cycles, (double)b.stall_cycles);
      stall_rel[uc][n_st[uc]++] = es, stall_rel[N_UC][n_st[N_UC]++] = es;
    }
    if (verbose && (e[UE_CYCLES] > 0.01 || e[UE_IFMAP] > 0 || e[UE_FILTER] > 0)) {
      print_case("fast vs exact", &c, &l);
      printf(": cycles %lld/%lld stall %lld/%lld IFMAP %lld/%lld FILTER %lld/%lld",
             (long long)a.total_cycles, (long long)b.total_cycles, (long long)a.stall_cycles,
             (long long)b.stall_cycles, (long long)a.dram_words[0], (long long)b.dram_words[0],
             (long long)a.dram_words[1], (long long)b.dram_words[1]);
    }
  }
  printf("\n  fast vs exact, %d random USER layers; rel. error median / p90 / worst"
         " ((*) layers stalled >= 5%% of their cycles):\n", n[N_UC]);
  for (int uc = 0; uc <= N_UC; uc++) {
    printf("  %s (%d layers)\n", uc < N_UC ? uc_names[uc] : "all", n[uc]);
    for (int k = 0; k < N_UE; k++) print_quantiles(ue_names[k], err[uc][k], n[uc]);
    char label[32];
    snprintf(label, sizeof label, "stalls (*), %d", n_st[uc]);
    print_quantiles(label, stall_rel[uc], n_st[uc]);
  }
  /* Sorted now: [n - 1] is the worst. FILTER streams hold every word once without inner
   * padding, so their reads are exact everywhere, as are IFMAP reads wherever that holds too
   * (GEMMs, injective convs). Cycles: the OFMAP queue model and the sampled read events leave
   * GEMMs within a few per cent (measured worst 3.5%, median 0). */
  CU_ASSERT_EQUAL(err[N_UC][UE_FILTER][n[N_UC] - 1], 0);
  CU_ASSERT_EQUAL(err[UC_GEMM][UE_IFMAP][n[UC_GEMM] - 1], 0);
  CU_ASSERT_EQUAL(err[UC_CONV_EXACT][UE_IFMAP][n[UC_CONV_EXACT] - 1], 0);
  CU_ASSERT(err[UC_GEMM][UE_CYCLES][n[UC_GEMM] / 2] <= 0.001);
  CU_ASSERT(err[UC_GEMM][UE_CYCLES][n[UC_GEMM] - 1] <= 0.06);
  CU_ASSERT(err[UC_CONV_EXACT][UE_CYCLES][n[UC_CONV_EXACT] - 1] <= 0.06);
  CU_ASSERT(err[N_UC][UE_OFMAP][n[N_UC] - 1] <= 0.05);
  /* Overlapping convs: requests hit on any copy of a word, as in SCALE-Sim (measured IFMAP
   * reads p90 0, cycles p90 0.2% / worst 51%, stalls (*) p90 4%, the worst where overhang
   * makes ranks approximate; served positionally, cycles were off by up to 609%). */
  int no = n[UC_CONV_OVERLAP], nso = n_st[UC_CONV_OVERLAP];
  CU_ASSERT(err[UC_CONV_OVERLAP][UE_IFMAP][no * 9 / 10] <= 0.01);
  CU_ASSERT(err[UC_CONV_OVERLAP][UE_CYCLES][no * 9 / 10] <= 0.01);
  CU_ASSERT(err[UC_CONV_OVERLAP][UE_CYCLES][no - 1] <= 0.6);
  CU_ASSERT(err[UC_CONV_OVERLAP][UE_IFMAP][no - 1] <= 2);
  CU_ASSERT(stall_rel[UC_CONV_OVERLAP][nso * 9 / 10] <= 0.1);
}

/* USER-mode layers with more folds than the fast model walks one by one (USER_FOLD_BUDGET =
 * 4096 in systolic.c): the rest of the layer follows the measured rate. Against the exact
 * replay the extrapolated total cycles stay within 10% (5.5% worst when written). */
static void test_user_fold_budget(void) {
  static const SysLayer layers[] = {
      {66, 66, 3, 3, 2, 32, 1, 1, 1}, {130, 130, 3, 3, 1, 16, 1, 1, 1},
      {64, 64, 1, 1, 4, 96, 1, 1, 1}, {98, 98, 3, 3, 1, 24, 1, 1, 1}};
  double worst = 0;
  int n = 0;
  for (int df = DF_OS; df <= DF_IS; df += DF_IS - DF_OS)
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
      SystolicConfig c = {.rows = 4, .cols = 4, .df = (Dataflow)df, .ifmap_sram_words = 4096,
                          .filter_sram_words = 4096, .ofmap_sram_words = 2048,
                          .dram_bw_words = 4, .bw_mode_user = 1, .word_bytes = 1,
                          .filter_offset = 10000000, .ofmap_offset = 20000000};
      SystolicResult a, b;
      Diag d;
      diag_init(&d);
      CU_ASSERT_EQUAL_FATAL(systolic_eval_fast(&c, &layers[i], &a, &d), XDL_OK);
      if (a.row_folds * a.col_folds <= 4096) continue; /* walked fold by fold */
      CU_ASSERT_EQUAL_FATAL(systolic_eval_exact(&c, &layers[i], &b, &d), XDL_OK);
      worst = fmax(worst, rel_err((double)a.total_cycles, (double)b.total_cycles));
      n++;
    }
  printf("\n  %d USER layers over the fold budget: total cycles worst %.2f%% from the exact"
         " replay\n", n, worst * 100);
  CU_ASSERT(n >= 5);
  CU_ASSERT(worst <= 0.10);
}

/* A GEMM view costs exactly like SCALE-Sim's GEMM topology row; repeats scale counts. */
static void test_gemm_view(void) {
  SystolicConfig c = {.rows = 16, .cols = 16, .df = DF_WS, .ifmap_sram_words = 65536,
                      .filter_sram_words = 65536, .ofmap_sram_words = 65536, .word_bytes = 1};
  GemmView gv = {.g = 1, .m = 200, .n = 50, .k = 300};
  SysLayer l = {200, 300, 1, 300, 1, 50, 1, 1, 1};
  SystolicResult a, b, g3;
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(systolic_eval_gemm(&c, &gv, true, &a, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(systolic_eval_exact(&c, &l, &b, &d), XDL_OK);
  CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof a), 0);
  CU_ASSERT_EQUAL(a.total_cycles, 18695); /* gemm_pub4_16x16_ws G2 */
  gv.g = 3;
  CU_ASSERT_EQUAL_FATAL(systolic_eval_gemm(&c, &gv, false, &g3, &d), XDL_OK);
  CU_ASSERT_EQUAL(g3.macs, 3 * a.macs);
  CU_ASSERT_EQUAL(g3.total_cycles, 3 * (a.total_cycles + 1) - 1);
  CU_ASSERT_EQUAL(g3.sram_words[SYS_IFMAP], 3 * a.sram_words[SYS_IFMAP]);
}

static void test_format_float(void) {
  char b[64];
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(33.0, b, sizeof b), "33.0");
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(-3275.0, b, sizeof b), "-3275.0");
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(94.53125, b, sizeof b), "94.53125");
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(0.1, b, sizeof b), "0.1");
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(1e-05, b, sizeof b), "1e-05");
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(0.0001, b, sizeof b), "0.0001");
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(1e16, b, sizeof b), "1e+16");
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(123456789012345.0, b, sizeof b),
                         "123456789012345.0");
  CU_ASSERT_STRING_EQUAL(scalesim_format_float(84.99102675770285, b, sizeof b),
                         "84.99102675770285");
}

/* ------------------------------------------------------------------------------------------
 * Reports against SCALE-Sim's verbatim files.
 * ------------------------------------------------------------------------------------------ */
static void check_run(const char *run_id, const char *topo_file, bool gemm) {
  char rel[512], *cfg_path, *topo_path;
  snprintf(rel, sizeof rel, "scalesim/public/%s/%s.cfg", run_id, run_id);
  cfg_path = tu_refdata(rel);
  snprintf(rel, sizeof rel, "scalesim/public/%s/%s", run_id, topo_file);
  topo_path = tu_refdata(rel);
  Diag d;
  diag_init(&d);
  ScaleSimConfig sc;
  ScaleSimTopology topo;
  CU_ASSERT_EQUAL_FATAL(scalesim_read_config(cfg_path, &sc, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(scalesim_read_topology(topo_path, gemm, &topo, &d), XDL_OK);
  CU_ASSERT_STRING_EQUAL(sc.run_name, run_id);
  SystolicConfig c = {.rows = sc.array_h, .cols = sc.array_w,
                      .df = sc.dataflow[0] == 'o' ? DF_OS : sc.dataflow[0] == 'w' ? DF_WS : DF_IS,
                      .ifmap_sram_words = sc.ifmap_sram_kb * 1024,
                      .filter_sram_words = sc.filter_sram_kb * 1024,
                      .ofmap_sram_words = sc.ofmap_sram_kb * 1024, .bw_mode_user = sc.bw_user,
                      .dram_bw_words = sc.bw_user ? sc.bandwidth : 10, .word_bytes = 1};
  SystolicResult res[16];
  CU_ASSERT_FATAL(topo.n_layers <= 16);
  for (int i = 0; i < topo.n_layers; i++) {
    const ScaleSimLayer *l = &topo.layers[i];
    SysLayer sl = {l->ifmap_h,     l->ifmap_w,  l->filter_h, l->filter_w, l->channels,
                   l->num_filters, l->stride_h, l->stride_w, 1};
    CU_ASSERT_EQUAL_FATAL(systolic_eval_exact(&c, &sl, &res[i], &d), XDL_OK);
  }
  char dir[] = "/tmp/xdl_test_systolic_XXXXXX";
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  CU_ASSERT_EQUAL(scalesim_write_reports(dir, sc.run_name, res, topo.n_layers, &d), XDL_OK);
  const char *files[3] = {"COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv",
                          "DETAILED_ACCESS_REPORT.csv"};
  for (int k = 0; k < 3; k++) {
    char mine[600];
    snprintf(mine, sizeof mine, "%s/%s/%s", dir, run_id, files[k]);
    snprintf(rel, sizeof rel, "scalesim/public/%s/%s", run_id, files[k]);
    char *ref = tu_refdata(rel);
    size_t n1 = 0, n2 = 0;
    uint8_t *a = tu_read_file(mine, &n1), *b = tu_read_file(ref, &n2);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(b);
    CU_ASSERT(a && b && n1 == n2 && memcmp(a, b, n1) == 0);
    if (!(a && b && n1 == n2 && memcmp(a, b, n1) == 0))
      printf("\n  report differs: %s vs %s", mine, ref);
    free(a);
    free(b);
    free(ref);
    remove(mine);
  }
  snprintf(rel, sizeof rel, "%s/%s", dir, run_id);
  rmdir(rel);
  rmdir(dir);
  scalesim_topology_free(&topo);
  free(cfg_path);
  free(topo_path);
}

static void test_reports_verbatim(void) {
  check_run("alexnet_32x32_os", "alexnet.csv", false);
  check_run("yolo_tiny_conv6_conv9_8x8_is", "yolo_tiny_conv6_conv9.csv", false);
  check_run("gemm_pub4_32x8_ws_userbw16", "gemm_pub4.csv", true);
  check_run("gemm_pub4_16x16_os_sram16k", "gemm_pub4.csv", true);
}

/* ------------------------------------------------------------------------------------------
 * Reader: bad input gives XDL_ERR_INPUT and a file:line message.
 * ------------------------------------------------------------------------------------------ */
static char tmpdir[64];

static const char *write_tmp(const char *name, const char *text) {
  static char path[256];
  if (!tmpdir[0]) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xdl_scalesim_io_XXXXXX");
    if (!mkdtemp(tmpdir)) return NULL;
  }
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  if (!f) return NULL;
  fputs(text, f);
  fclose(f);
  return path;
}

static const char *good_cfg =
    "[general]\nrun_name = t\n\n[architecture_presets]\nArrayHeight:    8\nArrayWidth:     8\n"
    "IfmapSramSzkB:   64\nFilterSramSzkB:  64\nOfmapSramSzkB:   64\nIfmapOffset:    0\n"
    "FilterOffset:   10000000\nOfmapOffset:    20000000\nBandwidth : 10\nDataflow : os\n"
    "MemoryBanks:   1\n\n[run_presets]\nInterfaceBandwidth: CALC\n";

static void expect_cfg_error(const char *text, const char *needle) {
  const char *p = write_tmp("bad.cfg", text);
  CU_ASSERT_PTR_NOT_NULL_FATAL(p);
  ScaleSimConfig sc;
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(scalesim_read_config(p, &sc, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, needle));
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "bad.cfg"));
  if (!strstr(d.msg, needle)) printf("\n  message '%s' lacks '%s'", d.msg, needle);
}

static void expect_topo_error(const char *text, bool gemm, const char *needle) {
  const char *p = write_tmp("bad.csv", text);
  CU_ASSERT_PTR_NOT_NULL_FATAL(p);
  ScaleSimTopology t;
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(scalesim_read_topology(p, gemm, &t, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, needle));
  if (!strstr(d.msg, needle)) printf("\n  message '%s' lacks '%s'", d.msg, needle);
}

static char *replace(const char *text, const char *from, const char *to) {
  static char out[2048];
  const char *at = strstr(text, from);
  snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
  return out;
}

static void test_reader_good(void) {
  const char *p = write_tmp("good.cfg", good_cfg);
  ScaleSimConfig sc;
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(scalesim_read_config(p, &sc, &d), XDL_OK);
  CU_ASSERT_EQUAL(sc.array_h, 8);
  CU_ASSERT_STRING_EQUAL(sc.dataflow, "os");
  CU_ASSERT_FALSE(sc.bw_user);
  p = write_tmp("good.csv", "Layer name, H, W, Fh, Fw, C, N, S,\n"
                            "Conv1     ,224   ,224 ,11 ,11 ,3 ,96 ,4 ,\n"
                            "Conv2,27,27,5,5,96,256,1,2,\n\n");
  ScaleSimTopology t;
  CU_ASSERT_EQUAL_FATAL(scalesim_read_topology(p, false, &t, &d), XDL_OK);
  CU_ASSERT_EQUAL(t.n_layers, 2);
  CU_ASSERT_STRING_EQUAL(t.layers[0].name, "Conv1");
  CU_ASSERT_EQUAL(t.layers[0].stride_w, 4);
  CU_ASSERT_EQUAL(t.layers[1].stride_h, 1);
  CU_ASSERT_EQUAL(t.layers[1].stride_w, 2);
  CU_ASSERT_EQUAL(t.layers[1].line, 3);
  scalesim_topology_free(&t);
  p = write_tmp("good_gemm.csv", "Layer, M, N, K,\nG1, 64, 32, 16,\n");
  CU_ASSERT_EQUAL_FATAL(scalesim_read_topology(p, true, &t, &d), XDL_OK);
  CU_ASSERT_EQUAL(t.layers[0].ifmap_h, 64);
  CU_ASSERT_EQUAL(t.layers[0].filter_w, 16);
  CU_ASSERT_EQUAL(t.layers[0].num_filters, 32);
  scalesim_topology_free(&t);
}

static void test_reader_bad(void) {
  ScaleSimConfig sc;
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(scalesim_read_config("/nonexistent/x.cfg", &sc, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "/nonexistent/x.cfg"));
  expect_cfg_error(replace(good_cfg, "Dataflow : os", "Dataflow : xs"), "bad.cfg:14:");
  expect_cfg_error(replace(good_cfg, "ArrayHeight:    8", "ArrayHeight:    eight"),
                   "bad.cfg:5:");
  expect_cfg_error(replace(good_cfg, "ArrayWidth:     8", "ArrayWidth:     0"), "bad.cfg:6:");
  expect_cfg_error(replace(good_cfg, "IfmapSramSzkB:   64", "IfmapSramSzkB:   0"),
                   "bad.cfg:7:");
  expect_cfg_error(replace(good_cfg, "FilterSramSzkB:  64\n", ""), "missing key FilterSramSzkB");
  expect_cfg_error("[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 1\n"
                   "FilterSramSzkB: 1\nOfmapSramSzkB: 1\nDataflow: ws\n[run_presets]\n"
                   "InterfaceBandwidth: USER\n",
                   "bad.cfg:9: InterfaceBandwidth USER needs Bandwidth");
  expect_cfg_error(replace(good_cfg, "CALC", "FAST"), "bad.cfg:18:");
  ScaleSimTopology t;
  CU_ASSERT_EQUAL(scalesim_read_topology("/nonexistent/t.csv", false, &t, &d), XDL_ERR_INPUT);
  const char *hdr = "Layer name, H, W, Fh, Fw, C, N, S,\n";
  char buf[512];
  snprintf(buf, sizeof buf, "%sConv1,224,224,11,11,3,96,4,\nConv2,27,x,5,5,96,256,1,\n", hdr);
  expect_topo_error(buf, false, "bad.csv:3: IFMAP width");
  snprintf(buf, sizeof buf, "%sConv1,224,224,11,11,3,96,\n", hdr);
  expect_topo_error(buf, false, "bad.csv:2: expected");
  snprintf(buf, sizeof buf, "%sConv1,224,224,11,11,3,96,0,\n", hdr);
  expect_topo_error(buf, false, "bad.csv:2: stride");
  snprintf(buf, sizeof buf, "%sConv1,224,224,11,11,3,96,-4,\n", hdr);
  expect_topo_error(buf, false, "bad.csv:2: stride");
  snprintf(buf, sizeof buf, "%sConv1,8,8,11,3,3,96,1,\n", hdr);
  expect_topo_error(buf, false, "bad.csv:2: filter 11x3 larger than input 8x8");
  snprintf(buf, sizeof buf, "%s", hdr);
  expect_topo_error(buf, false, "no layers");
  expect_topo_error("Layer, M, N, K,\nG1, 64, 0, 16,\n", true, "bad.csv:2: N");
  expect_topo_error("Layer, M, N, K,\nG1, 64, 16,\n", true, "bad.csv:2: expected");
}

int main(void) {
  CU_TestInfo tests[] = {
      {"reference rows, exact path: every column", test_reference_exact},
      {"reference rows, fast path: closed forms", test_reference_fast_closed},
      {"reference rows, fast path: CALC DRAM within 5%", test_reference_fast_dram},
      {"random layers: fast closed forms equal exact replay", test_fast_closed_forms_random},
      {"random layers: fast DRAM traffic vs exact replay", test_fast_dram_random},
      {"random USER layers: range window equals hash-set window", test_user_window_random},
      {"random USER overhanging convs: walked range window equals hash-set window",
       test_user_window_walked},
      {"USER reference rows: fast path prefetch-window model", test_user_reference_fast},
      {"random USER layers: fast path vs exact replay", test_user_random_fast},
      {"USER layers over the fold budget: fast path vs exact replay", test_user_fold_budget},
      {"GEMM view equals SCALE-Sim GEMM row; repeats scale", test_gemm_view},
      {"Python float repr", test_format_float},
      {"reports byte-identical to SCALE-Sim's", test_reports_verbatim},
      {"reader accepts SCALE-Sim files", test_reader_good},
      {"reader rejects bad input with file:line", test_reader_bad},
      CU_TEST_INFO_NULL,
  };
  int rc = tu_run_suite("systolic", tests);
  free(ref_text);
  if (tmpdir[0]) { /* the reader tests' temporary files */
    const char *names[] = {"bad.cfg", "bad.csv", "good.cfg", "good.csv", "good_gemm.csv"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
      snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
      remove(path);
    }
    rmdir(tmpdir);
  }
  return rc;
}
