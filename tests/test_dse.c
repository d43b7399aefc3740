/* test_dse.c — design spaces, the sweep and the Pareto filter: the filter against brute force
 * on random points with ties, space XML cases (valid, unknown parameter, step 0, malformed,
 * schema violation, ...) with file:line, points.csv invariants on a small LeNet-5 sweep,
 * thread-count independence, shared systolic results equal to cost_estimate per point, the
 * report files written atomically, and the workload parameter routing_iterations (one
 * re-lowered capsule schedule per value). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmp_dir[256];

static const char *tmp_root(void) {
  if (!tmp_dir[0]) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/xdl_test_dse_XXXXXX");
    if (!mkdtemp(tmp_dir)) tmp_dir[0] = '\0';
  }
  return tmp_dir;
}

/* Removes path and everything under it (the suite's temporary folder). */
static void remove_tree(const char *path) {
  DIR *dp = opendir(path);
  if (dp) {
    for (struct dirent *e; (e = readdir(dp));) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char sub[1024];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      remove_tree(sub);
    }
    closedir(dp);
    rmdir(path);
  } else {
    unlink(path);
  }
}

/* Writes text to TMP/name and returns the path (static buffer per call). */
static const char *write_tmp(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmp_root(), name);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  return path;
}

/* Loads text as a space file named name; returns the status, message in d. */
static XdlStatus load_space_text(const char *name, const char *text, DesignSpace *s, Diag *d) {
  diag_init(d);
  return space_load_xml(write_tmp(name, text), s, d);
}

/* Whether msg starts with "PATH:LINE:" for TMP/name. */
static bool at_line(const Diag *d, const char *name, int line) {
  char want[600];
  snprintf(want, sizeof want, "%s/%s:%d:", tmp_root(), name, line);
  bool ok = strncmp(d->msg, want, strlen(want)) == 0;
  if (!ok) fprintf(stderr, "\n  want prefix '%s', got '%s'\n", want, d->msg);
  return ok;
}

static Graph *load_lenet(Schedule *s) {
  char *path = tu_refdata("onnx/lenet5.onnx");
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, NULL, &d);
  free(path);
  if (!g) return NULL;
  memset(s, 0, sizeof *s);
  if (schedule_build(g, s, &d) != XDL_OK) {
    ir_graph_free(g);
    return NULL;
  }
  return g;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* ---- Pareto filter ------------------------------------------------------------------------ */

static bool brute_dominated(const DsePoint *pts, int64_t n, int64_t i, const Objective *objs,
                            int k) {
  for (int64_t j = 0; j < n; j++) {
    if (j == i || !pts[j].feasible) continue;
    bool no_worse = true, better = false;
    for (int o = 0; o < k; o++) {
      double a = pareto_objective(&pts[j].est, objs[o]), b = pareto_objective(&pts[i].est, objs[o]);
      if (a > b) no_worse = false;
      if (a < b) better = true;
    }
    if (no_worse && better) return true;
  }
  return false;
}

static void check_random_front(int64_t n, int n_objs, int distinct) {
  DsePoint *pts = calloc((size_t)n, sizeof *pts);
  CU_ASSERT_PTR_NOT_NULL_FATAL(pts);
  for (int64_t i = 0; i < n; i++) {
    pts[i].index = i;
    pts[i].feasible = rng() % 5 != 0;
    pts[i].pareto = true; /* must be cleared for infeasible and dominated points */
    pts[i].est.latency_s = (double)(rng() % (uint64_t)distinct) + 1;
    pts[i].est.energy_j = (double)(rng() % (uint64_t)distinct) + 1;
    pts[i].est.area_mm2 = (double)(rng() % (uint64_t)distinct) + 1;
    pts[i].est.power_w = (double)(rng() % (uint64_t)distinct) + 1;
  }
  const Objective orders[4][4] = {{OBJ_LATENCY},
                                  {OBJ_ENERGY, OBJ_LATENCY},
                                  {OBJ_LATENCY, OBJ_ENERGY, OBJ_AREA},
                                  {OBJ_POWER, OBJ_AREA, OBJ_ENERGY, OBJ_LATENCY}};
  const Objective *objs = orders[n_objs - 1];
  CU_ASSERT_TRUE_FATAL(pareto_mark(pts, n, objs, n_objs));
  int64_t mismatches = 0, front = 0;
  for (int64_t i = 0; i < n; i++) {
    bool want = pts[i].feasible && !brute_dominated(pts, n, i, objs, n_objs);
    mismatches += want != pts[i].pareto;
    front += pts[i].pareto;
  }
  CU_ASSERT_EQUAL(mismatches, 0);
  CU_ASSERT_TRUE(front > 0);
  free(pts);
}

static void test_pareto_random(void) {
  for (int n_objs = 1; n_objs <= 4; n_objs++) {
    for (int round = 0; round < 20; round++) {
      check_random_front(1 + (int64_t)(rng() % 300), n_objs, 3);    /* many ties */
      check_random_front(1 + (int64_t)(rng() % 300), n_objs, 1000); /* few ties */
    }
  }
  check_random_front(3000, 2, 50);
  check_random_front(3000, 3, 50);
}

static void test_pareto_edges(void) {
  DsePoint pts[4];
  memset(pts, 0, sizeof pts);
  const Objective objs[2] = {OBJ_LATENCY, OBJ_ENERGY};
  CU_ASSERT_TRUE(pareto_mark(pts, 0, objs, 2)); /* empty */
  for (int i = 0; i < 4; i++) {
    pts[i].est.latency_s = 1;
    pts[i].est.energy_j = 1;
    pts[i].feasible = i != 3;
  }
  CU_ASSERT_TRUE(pareto_mark(pts, 4, objs, 2)); /* equal vectors: all survive */
  CU_ASSERT_TRUE(pts[0].pareto && pts[1].pareto && pts[2].pareto);
  CU_ASSERT_FALSE(pts[3].pareto); /* infeasible never */
  pts[1].est.energy_j = NAN;      /* a non-finite objective never makes the front */
  CU_ASSERT_TRUE(pareto_mark(pts, 4, objs, 2));
  CU_ASSERT_FALSE(pts[1].pareto);
  CU_ASSERT_TRUE(pts[0].pareto);
  for (int i = 0; i < 4; i++)
    pts[i].feasible = false;
  CU_ASSERT_TRUE(pareto_mark(pts, 4, objs, 2));
  CU_ASSERT_FALSE(pts[0].pareto || pts[1].pareto || pts[2].pareto || pts[3].pareto);
}

/* ---- space XML ---------------------------------------------------------------------------- */

static void test_space_valid(void) {
  DesignSpace *s = malloc(sizeof *s);
  Diag d;
  XdlStatus st = load_space_text("valid.xml",
                                 "<?xml version=\"1.0\"?>\n"
                                 "<space base=\"edge-16x16\" name=\"small\">\n"
                                 "  <param name=\"rows\"><values>8 16 32</values></param>\n"
                                 "  <param name=\"cols\"><range start=\"8\" stop=\"256\" "
                                 "factor=\"2\"/></param>\n"
                                 "  <param name=\"dataflow\"><values>os ws is</values></param>\n"
                                 "  <param name=\"clock_mhz\"><range start=\"200\" stop=\"1000\" "
                                 "step=\"200\"/></param>\n"
                                 "  <constraints max_area_mm2=\"5\" max_power_w=\"2.5\"/>\n"
                                 "</space>\n",
                                 s, &d);
  CU_ASSERT_EQUAL_FATAL(st, XDL_OK);
  if (st != XDL_OK) fprintf(stderr, "%s\n", d.msg);
  CU_ASSERT_STRING_EQUAL(s->name, "small");
  CU_ASSERT_EQUAL(s->n_params, 4);
  CU_ASSERT_EQUAL(s->params[1].n_values, 6); /* 8 16 32 64 128 256 */
  CU_ASSERT_EQUAL(s->params[1].values[5], 256);
  CU_ASSERT_EQUAL(s->params[2].values[2], 2);
  CU_ASSERT_EQUAL(s->params[3].n_values, 5);
  CU_ASSERT_EQUAL(s->n_points, 3 * 6 * 3 * 5);
  CU_ASSERT_EQUAL(s->limits.max_area_mm2, 5);
  CU_ASSERT_EQUAL(s->limits.max_power_w, 2.5);
  CU_ASSERT_EQUAL(s->limits.max_latency_s, 0);
  CU_ASSERT_EQUAL(s->limits_line, 7);
  /* Mixed radix, first param slowest: the last point has every last value. */
  Accel a;
  space_point(s, s->n_points - 1, &a);
  CU_ASSERT_EQUAL(a.rows, 32);
  CU_ASSERT_EQUAL(a.cols, 256);
  CU_ASSERT_EQUAL(a.df, DF_IS);
  CU_ASSERT_EQUAL(a.clock_mhz, 1000);
  space_point(s, 5, &a); /* digits 0,0,1,0 */
  CU_ASSERT_EQUAL(a.rows, 8);
  CU_ASSERT_EQUAL(a.df, DF_WS);
  CU_ASSERT_EQUAL(a.clock_mhz, 200);
  char buf[16];
  CU_ASSERT_STRING_EQUAL(space_format_value(&s->params[2], 1, buf, sizeof buf), "ws");

  /* A base accelerator file, relative to the space file's folder. */
  char *accel = tu_source("models/accel/tpu-like.xml");
  uint8_t *text = tu_read_file(accel, NULL);
  free(accel);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  write_tmp("tpu-like.xml", (const char *)text);
  free(text);
  char tech_src[64];
  snprintf(tech_src, sizeof tech_src, "models/accel/45nm-horowitz.xml");
  char *tech = tu_source(tech_src);
  text = tu_read_file(tech, NULL);
  free(tech);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  write_tmp("45nm-horowitz.xml", (const char *)text);
  free(text);
  st = load_space_text("file-base.xml",
                       "<space base=\"tpu-like.xml\">\n"
                       "  <param name=\"sram_kib\"><values>64 128</values></param>\n"
                       "  <param name=\"mac_bits\"><values>8 16</values></param>\n"
                       "</space>\n",
                       s, &d);
  CU_ASSERT_EQUAL(st, XDL_OK);
  if (st != XDL_OK) fprintf(stderr, "%s\n", d.msg);
  CU_ASSERT_STRING_EQUAL(s->base.name, "tpu-like");
  space_point(s, 3, &a);
  CU_ASSERT_EQUAL(a.ifmap_sram_kib, 128);
  CU_ASSERT_EQUAL(a.ofmap_sram_kib, 128);
  CU_ASSERT_EQUAL(a.mac_bits, 16);
  CU_ASSERT_EQUAL(a.word_bits, 16);
  free(s);
}

static void test_space_errors(void) {
  DesignSpace *s = malloc(sizeof *s);
  Diag d;
  static const struct {
    const char *name, *text, *needle;
    int line;
  } cases[] = {
      {"unknown.xml",
       "<space base=\"tpu-like\">\n  <param name=\"rows\"><values>8</values></param>\n"
       "  <param name=\"frobs\"><values>8</values></param>\n</space>\n",
       "unknown parameter 'frobs'", 3},
      {"step0.xml",
       "<space base=\"tpu-like\">\n\n  <param name=\"clock_mhz\">\n"
       "    <range start=\"100\" stop=\"900\" step=\"0\"/>\n  </param>\n</space>\n",
       "step 0", 4},
      {"malformed.xml",
       "<space base=\"tpu-like\">\n  <param name=\"rows\"><values>8</values>\n</space>\n",
       "malformed XML", 3},
      {"schema.xml",
       "<space base=\"tpu-like\">\n  <param name=\"rows\"><values>8</values></param>\n"
       "  <param><values>8</values></param>\n</space>\n",
       "schema violation", 3},
      {"emptyrange.xml",
       "<space base=\"tpu-like\">\n  <param name=\"rows\"><range start=\"64\" stop=\"8\" "
       "factor=\"2\"/></param>\n</space>\n",
       "empty range", 2},
      {"novalues.xml",
       "<space base=\"tpu-like\">\n  <param name=\"rows\"><values> </values></param>\n"
       "</space>\n",
       "", 2},
      {"badvalue.xml",
       "<space base=\"tpu-like\">\n  <param name=\"rows\"><values>8 12.5</values></param>\n"
       "</space>\n",
       "must be an integer", 2},
      {"baddf.xml",
       "<space base=\"tpu-like\">\n  <param name=\"dataflow\"><values>os rs</values></param>\n"
       "</space>\n",
       "'rs' is not os, ws or is", 2},
      {"twice.xml",
       "<space base=\"tpu-like\">\n  <param name=\"rows\"><values>8</values></param>\n"
       "  <param name=\"rows\"><values>16</values></param>\n</space>\n",
       "given twice", 3},
      {"nobase.xml",
       "<space base=\"no-such-preset\">\n  <param name=\"rows\"><values>8</values></param>\n"
       "</space>\n",
       "neither an accelerator file nor a preset", 1},
      {"factor1.xml",
       "<space base=\"tpu-like\">\n  <param name=\"cols\"><range start=\"8\" stop=\"64\" "
       "factor=\"1\"/></param>\n</space>\n",
       "factor must be greater than 1", 2},
      {"bothstep.xml",
       "<space base=\"tpu-like\">\n  <param name=\"cols\"><range start=\"8\" stop=\"64\" "
       "factor=\"2\" step=\"8\"/></param>\n</space>\n",
       "exactly one of step and factor", 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    XdlStatus st = load_space_text(cases[i].name, cases[i].text, s, &d);
    CU_ASSERT_EQUAL(st, XDL_ERR_INPUT);
    CU_ASSERT_TRUE(at_line(&d, cases[i].name, cases[i].line));
    bool found = strstr(d.msg, cases[i].needle) != NULL;
    if (!found)
      fprintf(stderr, "\n  %s: want '%s' in '%s'\n", cases[i].name, cases[i].needle, d.msg);
    CU_ASSERT_TRUE(found);
    CU_ASSERT_PTR_NULL(strchr(d.msg, '\n'));
  }
  diag_init(&d);
  char missing[600];
  snprintf(missing, sizeof missing, "%s/none.xml", tmp_root());
  CU_ASSERT_EQUAL(space_load_xml(missing, s, &d), XDL_ERR_INPUT);
  free(s);
}

static void test_space_default(void) {
  DesignSpace *s = malloc(sizeof *s);
  space_default(s);
  CU_ASSERT_TRUE(s->n_points >= 2000);
  int64_t n = 1;
  for (int p = 0; p < s->n_params; p++)
    n *= s->params[p].n_values;
  CU_ASSERT_EQUAL(n, s->n_points);
  int count = 0;
  const char *const *names = space_param_names(&count);
  for (int p = 0; p < s->n_params; p++) {
    bool known = false;
    for (int k = 0; k < count; k++)
      known = known || strcmp(names[k], s->params[p].name) == 0;
    CU_ASSERT_TRUE(known);
  }
  Diag d;
  diag_init(&d);
  Accel a;
  for (int64_t i = 0; i < s->n_points; i += 97) {
    space_point(s, i, &a);
    CU_ASSERT_EQUAL(arch_check(&a, "default", &d), XDL_OK);
  }
  Accel b = s->base;
  CU_ASSERT_FALSE(space_apply(&b, "frobs", 1));
  free(s);
}

/* ---- sweeps ------------------------------------------------------------------------------- */

/* A small space over array and non-array parameters, with an area limit some points break. */
static const char *small_space = "<space base=\"edge-16x16\">\n"
                                 "  <param name=\"rows\"><values>8 16 64</values></param>\n"
                                 "  <param name=\"cols\"><values>8 32</values></param>\n"
                                 "  <param name=\"dataflow\"><values>os ws is</values></param>\n"
                                 "  <param name=\"clock_mhz\"><values>400 1000</values></param>\n"
                                 "  <param name=\"mac_bits\"><values>8 16</values></param>\n"
                                 "  <param name=\"vec_lanes\"><values>8 32</values></param>\n"
                                 "  <param name=\"dram_bw_words\"><values>4 64</values></param>\n"
                                 "  <param name=\"dram_pj_per_bit\"><values>8 70</values></param>\n"
                                 "  <constraints max_area_mm2=\"0.9\"/>\n"
                                 "</space>\n";

static bool same_estimate(const Estimate *a, const Estimate *b) {
  return memcmp(a, b, sizeof *a) == 0;
}

static void test_sweep_equivalence(void) {
  Schedule s;
  Graph *g = load_lenet(&s);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  DesignSpace *space = malloc(sizeof *space);
  Diag d;
  CU_ASSERT_EQUAL_FATAL(load_space_text("small.xml", small_space, space, &d), XDL_OK);
  DseOptions opt;
  dse_options_default(&opt);
  DseResult r1, r2, rp;
  opt.jobs = 1;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r1, &d), XDL_OK);
  opt.jobs = 2;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r2, &d), XDL_OK);
  opt.per_point_cost = true;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &rp, &d), XDL_OK);
  CU_ASSERT_EQUAL(r1.n_points, space->n_points);
  /* Clock, MAC width (with the same SRAM words only when sizes allow), lanes and DRAM energy
   * do not change the array model: fewer systolic configurations than points. */
  CU_ASSERT_TRUE(r1.n_array_configs < r1.n_points);
  CU_ASSERT_TRUE(r1.n_feasible > 0 && r1.n_feasible < r1.n_points);
  int64_t diff12 = 0, diffp = 0, diffc = 0;
  Accel a;
  for (int64_t i = 0; i < r1.n_points; i++) {
    CU_ASSERT_EQUAL(r1.points[i].index, i);
    diff12 += !same_estimate(&r1.points[i].est, &r2.points[i].est) ||
              r1.points[i].feasible != r2.points[i].feasible ||
              r1.points[i].pareto != r2.points[i].pareto;
    diffp += !same_estimate(&r1.points[i].est, &rp.points[i].est);
    Estimate e;
    space_point(space, i, &a);
    CU_ASSERT_EQUAL(cost_estimate(&s, &a, false, &e, NULL, &d), XDL_OK);
    diffc += !same_estimate(&r1.points[i].est, &e);
  }
  CU_ASSERT_EQUAL(diff12, 0);
  CU_ASSERT_EQUAL(diffp, 0);
  CU_ASSERT_EQUAL(diffc, 0);

  /* A shard of the space equals the same slice of the whole sweep (before Pareto marks). */
  DseResult rs;
  opt.per_point_cost = false;
  opt.first = 17;
  opt.count = 100;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &rs, &d), XDL_OK);
  CU_ASSERT_EQUAL(rs.n_points, 100);
  int64_t diffs = 0;
  for (int64_t i = 0; i < rs.n_points; i++)
    diffs +=
        rs.points[i].index != 17 + i || !same_estimate(&rs.points[i].est, &r1.points[17 + i].est);
  CU_ASSERT_EQUAL(diffs, 0);
  dse_result_free(&rs);
  opt.first = space->n_points;
  CU_ASSERT_EQUAL(dse_sweep(&s, space, &opt, &rs, &d), XDL_ERR_INPUT);
  dse_result_free(&rs);

  dse_result_free(&r1);
  dse_result_free(&r2);
  dse_result_free(&rp);
  free(space);
  schedule_free(&s);
  ir_graph_free(g);
}

/* The cached path on the default space against cost_estimate, every point. */
static void test_sweep_default_exact(void) {
  Schedule s;
  Graph *g = load_lenet(&s);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  DesignSpace *space = malloc(sizeof *space);
  space_default(space);
  DseOptions opt;
  dse_options_default(&opt);
  DseResult r;
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r, &d), XDL_OK);
  int64_t diff = 0;
  Accel a;
  for (int64_t i = 0; i < r.n_points; i++) {
    Estimate e;
    space_point(space, i, &a);
    CU_ASSERT_EQUAL(cost_estimate(&s, &a, false, &e, NULL, &d), XDL_OK);
    diff += !same_estimate(&r.points[i].est, &e);
  }
  CU_ASSERT_EQUAL(diff, 0);
  CU_ASSERT_TRUE(r.n_pareto > 0);
  dse_result_free(&r);
  free(space);
  schedule_free(&s);
  ir_graph_free(g);
}

/* Parses one CSV line of numbers (the parameters first) into v; returns the field count. */
static int split_csv(char *line, char **fields, int max) {
  int n = 0;
  for (char *save = NULL, *tok = strtok_r(line, ",\n", &save); tok && n < max;
       tok = strtok_r(NULL, ",\n", &save))
    fields[n++] = tok;
  return n;
}

static bool close_rel(double a, double b) {
  return fabs(a - b) <= 1e-6 * fmax(fabs(a), fabs(b)) || (a == 0 && b == 0);
}

static void test_points_csv(void) {
  Schedule s;
  Graph *g = load_lenet(&s);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  DesignSpace *space = malloc(sizeof *space);
  Diag d;
  CU_ASSERT_EQUAL_FATAL(load_space_text("small.xml", small_space, space, &d), XDL_OK);
  DseOptions opt;
  dse_options_default(&opt);
  DseResult r;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r, &d), XDL_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  report_dse_csv(f, space, &r, false);
  fclose(f);
  char *save = NULL;
  char *line = strtok_r(buf, "\n", &save);
  CU_ASSERT_STRING_EQUAL(line, "rows,cols,dataflow,clock_mhz,mac_bits,vec_lanes,dram_bw_words,"
                               "dram_pj_per_bit,cycles,latency_s,energy_j,power_w,area_mm2,"
                               "tops,tops_per_mm2,fj_per_op,feasible,pareto");
  double macs = (double)s.total_macs;
  int64_t rows = 0, bad = 0, pareto = 0;
  for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *fld[32];
    int n = split_csv(line, fld, 32);
    CU_ASSERT_EQUAL_FATAL(n, 8 + 10);
    double lat = atof(fld[9]), en = atof(fld[10]), pw = atof(fld[11]), tops = atof(fld[13]);
    double fj = atof(fld[15]);
    int feasible = atoi(fld[16]), par = atoi(fld[17]);
    bad += !close_rel(pw, en / lat);
    bad += !close_rel(tops, 2 * macs / lat / 1e12);
    bad += !close_rel(fj, en / (2 * macs) * 1e15);
    bad += !feasible && par;
    bad += strcmp(fld[2], "os") && strcmp(fld[2], "ws") && strcmp(fld[2], "is");
    pareto += par;
    rows++;
  }
  CU_ASSERT_EQUAL(rows, r.n_points);
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT_EQUAL(pareto, r.n_pareto);
  CU_ASSERT_TRUE(pareto > 0);
  free(buf);

  /* The six files land together; an unwritable directory leaves none and names it. */
  char dir[600], file[700];
  snprintf(dir, sizeof dir, "%s/out/a", tmp_root());
  diag_init(&d);
  CU_ASSERT_EQUAL(report_dse_write(dir, &s, space, &r, &d), XDL_OK);
  const char *names[] = {"points.csv", "pareto.csv",        "pareto.json",
                         "phases.csv", "capsule_roles.csv", "pareto.svg"};
  for (int i = 0; i < 6; i++) {
    snprintf(file, sizeof file, "%s/%s", dir, names[i]);
    CU_ASSERT_EQUAL(access(file, R_OK), 0);
  }
  snprintf(file, sizeof file, "%s/blocker", tmp_root());
  write_tmp("blocker", "a file, not a folder\n");
  snprintf(dir, sizeof dir, "%s/blocker/sub", tmp_root());
  diag_init(&d);
  CU_ASSERT_EQUAL(report_dse_write(dir, &s, space, &r, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, dir));

  /* Constraints nothing meets: no feasible point, no front. */
  space->limits.max_area_mm2 = 1e-9;
  DseResult r0;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r0, &d), XDL_OK);
  CU_ASSERT_EQUAL(r0.n_feasible, 0);
  CU_ASSERT_EQUAL(r0.n_pareto, 0);
  dse_result_free(&r0);

  dse_result_free(&r);
  free(space);
  schedule_free(&s);
  ir_graph_free(g);
}

/* The workload's memory footprint as a constraint and an objective, the SRAM cap under its
 * own name, and per-phase totals through the sweep and its files. */
static void test_memory_and_phases(void) {
  Schedule s;
  Graph *g = load_lenet(&s);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  DesignSpace *space = malloc(sizeof *space);
  Diag d;
  CU_ASSERT_EQUAL_FATAL(load_space_text("small.xml", small_space, space, &d), XDL_OK);
  space->limits.max_area_mm2 = 0;
  MemoryFootprint mem;
  CU_ASSERT_EQUAL_FATAL(training_memory(g, &mem, &d), XDL_OK);
  CU_ASSERT_TRUE(mem.total_bytes > 0);
  DseOptions opt;
  dse_options_default(&opt);
  DseResult r;

  /* Without a footprint, asking for the memory limit or objective is bad input. */
  space->limits.max_memory_bytes = (double)mem.total_bytes;
  diag_init(&d);
  CU_ASSERT_EQUAL(dse_sweep(&s, space, &opt, &r, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "memory"));
  space->limits.max_memory_bytes = 0;
  opt.objs[0] = OBJ_MEMORY;
  opt.n_objs = 1;
  diag_init(&d);
  CU_ASSERT_EQUAL(dse_sweep(&s, space, &opt, &r, &d), XDL_ERR_INPUT);

  /* The limit admits every point or none: the footprint is the model's. */
  dse_options_default(&opt);
  opt.memory = &mem;
  space->limits.max_memory_bytes = (double)mem.total_bytes;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r, &d), XDL_OK);
  CU_ASSERT_EQUAL(r.n_feasible, r.n_points);
  CU_ASSERT_TRUE(r.has_memory);
  CU_ASSERT_EQUAL(r.memory.total_bytes, mem.total_bytes);
  int64_t bad = 0;
  for (int64_t i = 0; i < r.n_points; i++) {
    const Estimate *e = &r.points[i].est;
    int64_t cycles = 0, macs = 0;
    double pj = 0;
    for (int ph = 0; ph < N_PHASES; ph++) {
      cycles += e->phase_cycles[ph];
      macs += e->phase_macs[ph];
      pj += e->phase_energy_pj[ph];
    }
    bad += e->memory_bytes != mem.total_bytes || cycles != e->cycles || macs != e->macs ||
           fabs(pj * 1e-12 - e->energy_j) > 1e-9 * e->energy_j ||
           e->phase_cycles[PHASE_FORWARD] != e->cycles;
  }
  CU_ASSERT_EQUAL(bad, 0);
  dse_result_free(&r);
  space->limits.max_memory_bytes = (double)mem.total_bytes - 1;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r, &d), XDL_OK);
  CU_ASSERT_EQUAL(r.n_feasible, 0);
  dse_result_free(&r);
  space->limits.max_memory_bytes = 0;

  /* Memory as an objective beside latency: a tie everywhere, so the front is latency's. */
  DseResult rl;
  opt.objs[0] = OBJ_LATENCY;
  opt.n_objs = 1;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &rl, &d), XDL_OK);
  opt.objs[1] = OBJ_MEMORY;
  opt.n_objs = 2;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r, &d), XDL_OK);
  CU_ASSERT_STRING_EQUAL(pareto_objective_name(OBJ_MEMORY), "memory");
  CU_ASSERT_EQUAL(pareto_objective(&r.points[0].est, OBJ_MEMORY), (double)mem.total_bytes);
  CU_ASSERT_EQUAL(r.n_pareto, rl.n_pareto);
  for (int64_t i = 0; i < r.n_points; i++)
    CU_ASSERT_EQUAL(r.points[i].pareto, rl.points[i].pareto);
  dse_result_free(&rl);
  dse_result_free(&r);

  /* max_sram_bytes caps the three SRAMs; it is read from the space file. */
  dse_options_default(&opt);
  Accel a;
  space_point(space, 0, &a);
  space->limits.max_sram_bytes = dse_sram_bytes(&a);
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r, &d), XDL_OK);
  for (int64_t i = 0; i < r.n_points; i++) {
    space_point(space, r.points[i].index, &a);
    CU_ASSERT_EQUAL(r.points[i].feasible, dse_sram_bytes(&a) <= space->limits.max_sram_bytes);
  }
  CU_ASSERT_FALSE(r.has_memory);
  dse_result_free(&r);
  DesignSpace *s2 = malloc(sizeof *s2);
  CU_ASSERT_EQUAL_FATAL(load_space_text("limits.xml",
                                        "<space base=\"edge-16x16\">\n"
                                        "  <param name=\"rows\"><values>8 16</values></param>\n"
                                        "  <constraints max_memory_bytes=\"1e6\" "
                                        "max_sram_bytes=\"65536\"/>\n"
                                        "</space>\n",
                                        s2, &d),
                        XDL_OK);
  CU_ASSERT_EQUAL(s2->limits.max_memory_bytes, 1e6);
  CU_ASSERT_EQUAL(s2->limits.max_sram_bytes, 65536);
  free(s2);

  /* A training-like schedule (phases spread by task): phases.csv and pareto.json carry them. */
  space->limits.max_sram_bytes = 0;
  for (uint32_t i = 0; i < s.n_tasks; i++) s.tasks[i].phase = (Phase)(i % N_PHASES);
  opt.memory = &mem;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s, space, &opt, &r, &d), XDL_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  report_dse_phases_csv(f, space, &r);
  fclose(f);
  const char *want = "rows,cols,dataflow,clock_mhz,mac_bits,vec_lanes,dram_bw_words,"
                     "dram_pj_per_bit,forward_cycles,forward_latency_s,forward_energy_j,"
                     "forward_macs,loss_cycles,";
  CU_ASSERT_EQUAL(strncmp(buf, want, strlen(want)), 0);
  int64_t lines = 0;
  for (char *c = buf; *c; c++) lines += *c == '\n';
  CU_ASSERT_EQUAL(lines, 1 + r.n_pareto);
  free(buf);
  f = open_memstream(&buf, &len);
  CU_ASSERT_EQUAL(report_dse_json(f, &s, space, &r, false, &d), XDL_OK);
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"backward_weight\":{\"cycles\":"));
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"memory\":{\"total_bytes\":"));
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"phase\":\"update\""));
  free(buf);
  f = open_memstream(&buf, &len);
  CU_ASSERT_TRUE(report_dse_svg(f, "lenet5", &r));
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "energy of the training step by phase"));
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "backward_data</text>"));
  free(buf);
  f = open_memstream(&buf, &len);
  report_dse_table(f, space, &r);
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "E_bwd_w%"));
  free(buf);
  dse_result_free(&r);

  free(space);
  schedule_free(&s);
  ir_graph_free(g);
}

/* Every allocation of a sweep and of the report writer failing in turn: a clean error (or
 * success once past the last allocation), nothing leaked (ASan build). */
static void test_alloc_failures(void) {
  Schedule s;
  Graph *g = load_lenet(&s);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  DesignSpace *space = malloc(sizeof *space);
  Diag d;
  CU_ASSERT_EQUAL_FATAL(load_space_text("small.xml", small_space, space, &d), XDL_OK);
  DseOptions opt;
  dse_options_default(&opt);
  opt.jobs = 2;
  bool reached_success = false;
  for (uint64_t k = 1; k < 200 && !reached_success; k++) {
    DseResult r;
    diag_init(&d);
    xdl_alloc_fail_after(k);
    XdlStatus st = dse_sweep(&s, space, &opt, &r, &d);
    xdl_alloc_fail_after(0);
    if (st == XDL_OK) {
      reached_success = true;
      char dir[600];
      snprintf(dir, sizeof dir, "%s/oom", tmp_root());
      for (uint64_t j = 1; j < 50; j++) {
        diag_init(&d);
        xdl_alloc_fail_after(j);
        XdlStatus ws = report_dse_write(dir, &s, space, &r, &d);
        xdl_alloc_fail_after(0);
        CU_ASSERT_TRUE(ws == XDL_OK || ws == XDL_ERR_INTERNAL);
        if (ws == XDL_OK) break;
      }
      int entries = 0; /* the six files and no temporary left behind */
      DIR *dp = opendir(dir);
      for (struct dirent *e; dp && (e = readdir(dp));)
        entries += e->d_name[0] != '.';
      if (dp) closedir(dp);
      CU_ASSERT_EQUAL(entries, 6);
      dp = opendir(dir);
      for (struct dirent *e; dp && (e = readdir(dp));)
        CU_ASSERT_TRUE(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                       e->d_name[0] != '.');
      if (dp) closedir(dp);
      dse_result_free(&r);
    } else {
      CU_ASSERT_EQUAL(st, XDL_ERR_INTERNAL);
      CU_ASSERT_PTR_NULL(r.points);
    }
  }
  CU_ASSERT_TRUE(reached_success);
  free(space);
  schedule_free(&s);
  ir_graph_free(g);
}

/* ---- routing_iterations, a workload parameter ------------------------------------------- */

static const char routing_space[] =
    "<space base=\"capsacc-like\">\n"
    "  <param name=\"routing_iterations\"><range start=\"1\" stop=\"3\" step=\"1\"/></param>\n"
    "  <param name=\"rows\"><values>16 32</values></param>\n"
    "</space>\n";

/* One CapsNet per routing_iterations value: every (iterations, accelerator) point costed on
 * its own schedule, equal to cost_estimate; more iterations cost more at every accelerator;
 * points.csv names the parameter; the sweep refuses to run without the workloads; the space
 * rejects 0 and values above CAPS_MAX_ITERS with file:line. */
static void test_routing_space(void) {
  DesignSpace *space = malloc(sizeof *space);
  Diag d;
  CU_ASSERT_EQUAL_FATAL(load_space_text("routing.xml", routing_space, space, &d), XDL_OK);
  CU_ASSERT_EQUAL(space->n_points, 6);
  CU_ASSERT_EQUAL(space_workload_param(space), 0);
  CU_ASSERT_EQUAL(space_point_workload(space, 5), 2);
  enum { NW = 3 };
  Graph *g[NW];
  Schedule s[NW];
  DseWorkload ws[NW];
  char *path = tu_source("models/nets/capsnet_compact.onnx");
  for (int k = 0; k < NW; k++) {
    diag_init(&d);
    g[k] = onnx_load(path, NULL, &d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g[k]);
    PassOptions po = {.routing_iterations = k + 1};
    memset(&s[k], 0, sizeof s[k]);
    CU_ASSERT_EQUAL_FATAL(passes_run(g[k], &po, &d), XDL_OK);
    CU_ASSERT_EQUAL_FATAL(schedule_build(g[k], &s[k], &d), XDL_OK);
    ws[k] = (DseWorkload){&s[k], NULL};
  }
  free(path);
  DseOptions opt;
  dse_options_default(&opt);
  DseResult r, rp;
  diag_init(&d);
  CU_ASSERT_EQUAL(dse_sweep(&s[0], space, &opt, &r, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "routing_iterations"));
  opt.workloads = ws;
  opt.n_workloads = NW;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s[0], space, &opt, &r, &d), XDL_OK);
  opt.per_point_cost = true;
  opt.jobs = 1;
  CU_ASSERT_EQUAL_FATAL(dse_sweep(&s[0], space, &opt, &rp, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(r.n_points, 6);
  Accel a;
  for (int64_t i = 0; i < r.n_points; i++) {
    int k = space_point_workload(space, r.points[i].index);
    CU_ASSERT_PTR_EQUAL(dse_point_schedule(&r, space, &s[0], r.points[i].index), &s[k]);
    space_point(space, r.points[i].index, &a);
    Estimate e;
    CU_ASSERT_EQUAL_FATAL(cost_estimate(&s[k], &a, false, &e, NULL, &d), XDL_OK);
    CU_ASSERT_EQUAL(e.cycles, r.points[i].est.cycles);
    CU_ASSERT_EQUAL(e.cycles, rp.points[i].est.cycles);
    CU_ASSERT_EQUAL(e.energy_j, r.points[i].est.energy_j);
    CU_ASSERT_EQUAL(r.points[i].est.n_iters, k + 1);
  }
  /* Point i = iterations index x 2 + rows index. */
  for (int64_t i = 2; i < 6; i++) {
    CU_ASSERT_TRUE(r.points[i].est.cycles > r.points[i - 2].est.cycles);
    CU_ASSERT_TRUE(r.points[i].est.energy_j > r.points[i - 2].est.energy_j);
  }
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  report_dse_csv(f, space, &r, false);
  report_dse_roles_csv(f, space, &r);
  fclose(f);
  CU_ASSERT_EQUAL(strncmp(buf, "routing_iterations,rows,cycles,", 31), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\n3,32,"));
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "routing_iterations,rows,untagged_cycles,"));
  free(buf);
  char dir[600];
  snprintf(dir, sizeof dir, "%s/routing-out", tmp_root());
  CU_ASSERT_EQUAL(report_dse_write(dir, &s[0], space, &r, &d), XDL_OK);
  dse_result_free(&rp);
  dse_result_free(&r);
  for (int k = 0; k < NW; k++) {
    schedule_free(&s[k]);
    ir_graph_free(g[k]);
  }
  const char *bad[] = {"<space base=\"capsacc-like\">\n"
                       "  <param name=\"routing_iterations\"><values>0 2</values></param>\n"
                       "</space>\n",
                       "<space base=\"capsacc-like\">\n"
                       "  <param name=\"routing_iterations\"><values>2 17</values></param>\n"
                       "</space>\n"};
  for (int i = 0; i < 2; i++) {
    CU_ASSERT_EQUAL(load_space_text("routing-bad.xml", bad[i], space, &d), XDL_ERR_INPUT);
    CU_ASSERT_TRUE(at_line(&d, "routing-bad.xml", 2));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "routing_iterations"));
  }
  free(space);
}

int main(void) {
  CU_TestInfo tests[] = {
      {"pareto filter = brute force on random points", test_pareto_random},
      {"pareto edge cases", test_pareto_edges},
      {"space XML: valid", test_space_valid},
      {"space XML: errors with file:line", test_space_errors},
      {"default space", test_space_default},
      {"sweep: jobs 1 = jobs 2 = cost_estimate per point", test_sweep_equivalence},
      {"sweep: default space, shared results exact", test_sweep_default_exact},
      {"points.csv invariants and atomic files", test_points_csv},
      {"memory limit and objective, SRAM limit, phases", test_memory_and_phases},
      {"allocation failures", test_alloc_failures},
      {"routing_iterations as a workload parameter", test_routing_space},
      CU_TEST_INFO_NULL,
  };
  int code = tu_run_suite("dse", tests);
  if (tmp_dir[0]) remove_tree(tmp_dir);
  return code;
}
