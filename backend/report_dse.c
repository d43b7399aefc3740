/* report_dse.c — what a design-space sweep leaves behind: points.csv (every point),
 * pareto.csv and pareto.json (the front, the JSON with each design's accelerator, energy and
 * area breakdown, per-phase and per-capsule-role totals and per-layer costs), phases.csv and
 * capsule_roles.csv (the front's cycles, latency, energy and MACs by phase of the training step
 * and by capsule role and routing iteration), pareto.svg (energy and area against latency on
 * log axes, and energy stacked by phase for a training step and by capsule role for a capsule
 * network, per Pareto design), and the Pareto table on the terminal. Files are written to
 * temporary names and renamed only when all six are complete. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"

static const char *const csv_metrics =
    "cycles,latency_s,energy_j,power_w,area_mm2,tops,tops_per_mm2,fj_per_op,feasible,pareto";

/* Whether the sweep costed a training step: some task outside the forward phase (every point
 * runs the same schedule, so the first tells). */
static bool has_training_phases(const DseResult *r) {
  if (r->n_points == 0) return false;
  const Estimate *e = &r->points[0].est;
  for (int p = PHASE_FORWARD + 1; p < N_PHASES; p++)
    if (e->phase_cycles[p] > 0 || e->phase_macs[p] > 0) return true;
  return false;
}

/* Whether the sweep costed a capsule network: some work tagged with a capsule role (the
 * workloads of one sweep are one model, so the first point tells). */
static bool has_caps_roles(const DseResult *r) {
  if (r->n_points == 0) return false;
  const Estimate *e = &r->points[0].est;
  for (int k = CAPS_NONE + 1; k < N_CAPS_ROLES; k++)
    if (e->role_cycles[k] > 0 || e->role_macs[k] > 0) return true;
  return false;
}

/* The share of the latency of `cycles` of the total (0 for an empty schedule). */
static double share_latency_s(const Estimate *e, int64_t cycles) {
  return e->cycles > 0 ? e->latency_s * (double)cycles / (double)e->cycles : 0;
}

static double phase_latency_s(const Estimate *e, int p) {
  return share_latency_s(e, e->phase_cycles[p]);
}

/* The most routing iterations any Pareto point has (columns of capsule_roles.csv). */
static int pareto_max_iters(const DseResult *r) {
  int n = 0;
  for (int64_t i = 0; i < r->n_points; i++)
    if (r->points[i].pareto && r->points[i].est.n_iters > n) n = r->points[i].est.n_iters;
  return n;
}

/* ------------------------------------------------------------------------------------------
 * CSV
 * ------------------------------------------------------------------------------------------ */
void report_dse_csv(FILE *out, const DesignSpace *space, const DseResult *r, bool pareto_only) {
  for (int p = 0; p < space->n_params; p++)
    fprintf(out, "%s,", space->params[p].name);
  fprintf(out, "%s\n", csv_metrics);
  for (int64_t i = 0; i < r->n_points; i++) {
    const DsePoint *pt = &r->points[i];
    if (pareto_only && !pt->pareto) continue;
    double values[SPACE_MAX_PARAMS];
    char buf[32];
    space_point_values(space, pt->index, values);
    for (int p = 0; p < space->n_params; p++)
      fprintf(out, "%s,", space_format_value(&space->params[p], values[p], buf, sizeof buf));
    const Estimate *e = &pt->est;
    fprintf(out, "%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d,%d\n", (long long)e->cycles,
            e->latency_s, e->energy_j, e->power_w, e->area_mm2, e->tops, e->tops_per_mm2,
            e->fj_per_op, pt->feasible, pt->pareto);
  }
}

void report_dse_phases_csv(FILE *out, const DesignSpace *space, const DseResult *r) {
  for (int p = 0; p < space->n_params; p++)
    fprintf(out, "%s,", space->params[p].name);
  for (int ph = 0; ph < N_PHASES; ph++) {
    const char *n = ir_phase_name((Phase)ph);
    fprintf(out, "%s%s_cycles,%s_latency_s,%s_energy_j,%s_macs", ph ? "," : "", n, n, n, n);
  }
  fputc('\n', out);
  for (int64_t i = 0; i < r->n_points; i++) {
    const DsePoint *pt = &r->points[i];
    if (!pt->pareto) continue;
    double values[SPACE_MAX_PARAMS];
    char buf[32];
    space_point_values(space, pt->index, values);
    for (int p = 0; p < space->n_params; p++)
      fprintf(out, "%s,", space_format_value(&space->params[p], values[p], buf, sizeof buf));
    const Estimate *e = &pt->est;
    for (int ph = 0; ph < N_PHASES; ph++)
      fprintf(out, "%s%lld,%.9g,%.9g,%lld", ph ? "," : "", (long long)e->phase_cycles[ph],
              phase_latency_s(e, ph), e->phase_energy_pj[ph] * 1e-12,
              (long long)e->phase_macs[ph]);
    fputc('\n', out);
  }
}

void report_dse_roles_csv(FILE *out, const DesignSpace *space, const DseResult *r) {
  int n_iters = pareto_max_iters(r);
  for (int p = 0; p < space->n_params; p++)
    fprintf(out, "%s,", space->params[p].name);
  for (int k = 0; k < N_CAPS_ROLES; k++) {
    const char *n = cost_role_name((CapsRole)k);
    fprintf(out, "%s%s_cycles,%s_latency_s,%s_energy_j,%s_macs", k ? "," : "", n, n, n, n);
  }
  for (int k = 0; k < n_iters; k++)
    fprintf(out, ",routing[%d]_cycles,routing[%d]_latency_s,routing[%d]_energy_j", k, k, k);
  fputc('\n', out);
  for (int64_t i = 0; i < r->n_points; i++) {
    const DsePoint *pt = &r->points[i];
    if (!pt->pareto) continue;
    double values[SPACE_MAX_PARAMS];
    char buf[32];
    space_point_values(space, pt->index, values);
    for (int p = 0; p < space->n_params; p++)
      fprintf(out, "%s,", space_format_value(&space->params[p], values[p], buf, sizeof buf));
    const Estimate *e = &pt->est;
    for (int k = 0; k < N_CAPS_ROLES; k++)
      fprintf(out, "%s%lld,%.9g,%.9g,%lld", k ? "," : "", (long long)e->role_cycles[k],
              share_latency_s(e, e->role_cycles[k]), e->role_energy_pj[k] * 1e-12,
              (long long)e->role_macs[k]);
    for (int k = 0; k < n_iters; k++)
      fprintf(out, ",%lld,%.9g,%.9g", (long long)e->iter_cycles[k],
              share_latency_s(e, e->iter_cycles[k]), e->iter_energy_pj[k] * 1e-12);
    fputc('\n', out);
  }
}

/* ------------------------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------------------------ */
static void json_accel(JsonWriter *j, const Accel *a) {
  json_open_object(j, "accel");
  json_str(j, "name", a->name);
  json_int(j, "rows", a->rows);
  json_int(j, "cols", a->cols);
  json_str(j, "dataflow", systolic_dataflow_name(a->df));
  json_int(j, "mac_bits", a->mac_bits);
  json_int(j, "acc_bits", a->acc_bits);
  json_int(j, "word_bits", a->word_bits);
  json_num(j, "clock_mhz", a->clock_mhz);
  json_num(j, "ifmap_sram_kib", a->ifmap_sram_kib);
  json_num(j, "filter_sram_kib", a->filter_sram_kib);
  json_num(j, "ofmap_sram_kib", a->ofmap_sram_kib);
  json_str(j, "dram_bw_mode", a->bw_mode_user ? "user" : "calc");
  json_num(j, "dram_bw_words", a->dram_bw_words);
  json_num(j, "dram_pj_per_bit",
           a->dram_pj_per_bit >= 0 ? a->dram_pj_per_bit : a->tech.dram_pj_per_bit);
  json_int(j, "vec_lanes", a->vec.lanes);
  json_str(j, "tech", a->tech.name);
  json_close_object(j);
}

static void json_energy_parts(JsonWriter *j, const char *key, const double *pj) {
  json_open_object(j, key);
  for (int p = 0; p < EN_N; p++)
    json_num(j, cost_energy_part_name((EnergyPart)p), pj[p]);
  json_close_object(j);
}

static double sum_parts(const double *pj) {
  double e = 0;
  for (int p = 0; p < EN_N; p++)
    e += pj[p];
  return e;
}

void report_roles_json(JsonWriter *j, const Estimate *x) {
  json_open_object(j, "capsule_roles");
  for (int k = 0; k < N_CAPS_ROLES; k++) {
    json_open_object(j, cost_role_name((CapsRole)k));
    json_int(j, "cycles", x->role_cycles[k]);
    json_num(j, "latency_s", share_latency_s(x, x->role_cycles[k]));
    json_num(j, "energy_j", x->role_energy_pj[k] * 1e-12);
    json_int(j, "macs", x->role_macs[k]);
    json_close_object(j);
  }
  json_close_object(j);
  json_open_array(j, "routing_by_iteration");
  for (int k = 0; k < x->n_iters; k++) {
    json_open_object(j, NULL);
    json_int(j, "iteration", k);
    json_int(j, "cycles", x->iter_cycles[k]);
    json_num(j, "latency_s", share_latency_s(x, x->iter_cycles[k]));
    json_num(j, "energy_j", x->iter_energy_pj[k] * 1e-12);
    json_close_object(j);
  }
  json_close_array(j);
}

/* One Pareto design: parameters, accelerator, totals, breakdowns and per-layer costs
 * (recomputed with cost_estimate on the point's schedule s; tc has s->n_tasks entries). */
static XdlStatus json_design(JsonWriter *j, const Schedule *s, const DesignSpace *space,
                             const DsePoint *pt, Accel *a, TaskCost *tc, Diag *d) {
  double values[SPACE_MAX_PARAMS];
  char buf[32];
  space_point(space, pt->index, a);
  space_point_values(space, pt->index, values);
  Estimate e;
  XdlStatus st = cost_estimate(s, a, false, &e, tc, d);
  if (st != XDL_OK) return st;
  json_open_object(j, NULL);
  json_int(j, "index", pt->index);
  json_open_object(j, "params");
  for (int p = 0; p < space->n_params; p++) {
    const SpaceParam *sp = &space->params[p];
    if (strcmp(sp->name, "dataflow") == 0)
      json_str(j, sp->name, space_format_value(sp, values[p], buf, sizeof buf));
    else
      json_num(j, sp->name, values[p]);
  }
  json_close_object(j);
  json_accel(j, a);
  const Estimate *x = &pt->est;
  json_int(j, "macs", x->macs);
  json_int(j, "cycles", x->cycles);
  json_int(j, "stall_cycles", x->stall_cycles);
  json_num(j, "latency_s", x->latency_s);
  json_num(j, "energy_j", x->energy_j);
  json_num(j, "power_w", x->power_w);
  json_num(j, "area_mm2", x->area_mm2);
  json_num(j, "tops", x->tops);
  json_num(j, "tops_per_mm2", x->tops_per_mm2);
  json_num(j, "fj_per_op", x->fj_per_op);
  json_num(j, "util", x->util);
  json_int(j, "dram_words", x->dram_words);
  json_energy_parts(j, "energy_pj", x->energy_pj);
  json_open_object(j, "phases");
  for (int ph = 0; ph < N_PHASES; ph++) {
    json_open_object(j, ir_phase_name((Phase)ph));
    json_int(j, "cycles", x->phase_cycles[ph]);
    json_num(j, "latency_s", phase_latency_s(x, ph));
    json_num(j, "energy_j", x->phase_energy_pj[ph] * 1e-12);
    json_int(j, "macs", x->phase_macs[ph]);
    json_close_object(j);
  }
  json_close_object(j);
  report_roles_json(j, x);
  json_open_object(j, "area_parts_mm2");
  json_num(j, "pe", x->area.pe_mm2);
  json_num(j, "sram_ifmap", x->area.sram_ifmap_mm2);
  json_num(j, "sram_filter", x->area.sram_filter_mm2);
  json_num(j, "sram_ofmap", x->area.sram_ofmap_mm2);
  json_num(j, "vector", x->area.vector_mm2);
  json_close_object(j);
  json_open_array(j, "layers");
  for (uint32_t i = 0; i < s->n_tasks; i++) {
    const Task *t = &s->tasks[i];
    json_open_object(j, NULL);
    json_str(j, "name", t->name);
    json_str(j, "op", ir_ops[t->op].name);
    json_str(j, "unit", t->unit == UNIT_ARRAY ? "array" : "vector");
    json_str(j, "phase", ir_phase_name(t->phase));
    json_str(j, "capsule_role", cost_role_name(t->caps_role));
    if (cost_role_is_routing(t->caps_role)) json_int(j, "routing_iteration", t->caps_iter);
    json_int(j, "cycles", tc[i].cycles);
    json_int(j, "stall_cycles", tc[i].stall_cycles);
    json_num(j, "latency_s", (double)tc[i].cycles / (a->clock_mhz * 1e6));
    json_num(j, "energy_j", sum_parts(tc[i].energy_pj) * 1e-12);
    json_energy_parts(j, "energy_pj", tc[i].energy_pj);
    json_num(j, "util", tc[i].util);
    json_int(j, "dram_words", tc[i].dram_words);
    json_close_object(j);
  }
  json_close_array(j);
  json_close_object(j);
  return XDL_OK;
}

/* Contract: r came from dse_sweep(s, space, ...). Writes one JSON object: the model, space,
 * counts, objectives, constraints and one entry per Pareto design (space order). Errors only
 * from recomputing per-layer costs (then the output is incomplete). */
XdlStatus report_dse_json(FILE *out, const Schedule *s, const DesignSpace *space,
                          const DseResult *r, bool pretty, Diag *d) {
  XdlStatus st = XDL_OK;
  Accel *a = xdl_malloc(sizeof *a);
  uint32_t max_tasks = s->n_tasks;
  for (int k = 0; k < r->n_workloads; k++)
    if (r->workloads[k].s->n_tasks > max_tasks) max_tasks = r->workloads[k].s->n_tasks;
  TaskCost *tc = xdl_calloc(max_tasks ? max_tasks : 1, sizeof *tc);
  if (!a || !tc) {
    st = diag_error(d, XDL_ERR_INTERNAL, "out of memory writing the Pareto report");
    goto fail;
  }
  JsonWriter j;
  json_init(&j, out, pretty);
  json_open_object(&j, NULL);
  json_str(&j, "model", s->model ? s->model : "");
  json_int(&j, "macs", s->total_macs);
  json_str(&j, "space", space->path[0] ? space->path : space->name);
  json_str(&j, "base", space->base.name);
  json_int(&j, "n_points", r->n_points);
  json_int(&j, "n_feasible", r->n_feasible);
  json_int(&j, "n_pareto", r->n_pareto);
  json_open_array(&j, "objectives");
  for (int k = 0; k < r->n_objs; k++)
    json_str(&j, NULL, pareto_objective_name(r->objs[k]));
  json_close_array(&j);
  json_open_object(&j, "constraints");
  const SpaceConstraints *l = &space->limits;
  if (l->max_area_mm2 > 0) json_num(&j, "max_area_mm2", l->max_area_mm2);
  if (l->max_power_w > 0) json_num(&j, "max_power_w", l->max_power_w);
  if (l->max_latency_s > 0) json_num(&j, "max_latency_s", l->max_latency_s);
  if (l->max_memory_bytes > 0) json_num(&j, "max_memory_bytes", l->max_memory_bytes);
  if (l->max_sram_bytes > 0) json_num(&j, "max_sram_bytes", l->max_sram_bytes);
  json_close_object(&j);
  if (r->has_memory) report_memory_json(&j, "memory", &r->memory);
  json_open_array(&j, "params");
  for (int p = 0; p < space->n_params; p++)
    json_str(&j, NULL, space->params[p].name);
  json_close_array(&j);
  json_open_array(&j, "pareto");
  for (int64_t i = 0; i < r->n_points && st == XDL_OK; i++)
    if (r->points[i].pareto)
      st = json_design(&j, dse_point_schedule(r, space, s, r->points[i].index), space,
                       &r->points[i], a, tc, d);
  json_close_array(&j);
  json_close_object(&j);
  fputc('\n', out);
fail:
  xdl_free(tc);
  xdl_free(a);
  return st;
}

/* ------------------------------------------------------------------------------------------
 * SVG
 * ------------------------------------------------------------------------------------------ */
enum { SVG_W = 1000, SVG_H = 500, PLOT_W = 370, PLOT_H = 330, PLOT_TOP = 70 };
static const int plot_left[2] = {90, 590};

/* A log10 axis: the data's range in decades, padded by 4% (at least a factor of 2 wide). */
typedef struct LogAxis {
  double lo, hi; /* log10 of the ends */
} LogAxis;

static LogAxis log_axis(double vmin, double vmax) {
  LogAxis ax = {0, 1};
  if (!(vmin > 0) || !isfinite(vmax)) return ax;
  ax.lo = log10(vmin);
  ax.hi = log10(vmax);
  double span = ax.hi - ax.lo;
  if (span < 0.3) {
    ax.lo -= (0.3 - span) / 2;
    ax.hi += (0.3 - span) / 2;
    span = 0.3;
  }
  ax.lo -= 0.04 * span;
  ax.hi += 0.04 * span;
  return ax;
}

static double axis_frac(const LogAxis *ax, double v) {
  return (log10(v) - ax->lo) / (ax->hi - ax->lo);
}

/* "200 µs", "1 mJ": m x 10^k with an SI prefix; areas stay in mm² ("0.1 mm²"). */
static void tick_label(int m, int k, const char *unit, char *buf, size_t size) {
  static const char *const prefixes[] = {"f", "p", "n", "µ", "m", "", "k", "M", "G"};
  int e3 = (int)floor(k / 3.0);
  if (strcmp(unit, "mm²") == 0)
    snprintf(buf, size, "%g %s", m * pow(10, k), unit);
  else if (e3 < -5 || e3 > 3)
    snprintf(buf, size, "%de%d %s", m, k, unit);
  else
    snprintf(buf, size, "%g %s%s", m * pow(10, k - 3 * e3), prefixes[e3 + 5], unit);
}

/* Grid lines, ticks and labels of one axis (x along the bottom, or y along the left): every
 * decade labelled, 2..9 as light lines, and 2 and 5 labelled too when the axis spans less than
 * three decades. */
static void svg_axis(FILE *out, const LogAxis *a, bool is_x, const char *unit) {
  bool few = floor(a->hi) - ceil(a->lo) < 2;
  char label[48];
  for (int k = (int)floor(a->lo); k <= (int)ceil(a->hi); k++) {
    for (int m = 1; m <= 9; m++) {
      double t = log10(m) + k;
      if (t < a->lo || t > a->hi) continue;
      double f = (t - a->lo) / (a->hi - a->lo);
      const char *grid = m == 1 ? "#c8c8c8" : "#eeeeee";
      bool show = m == 1 || (few && (m == 2 || m == 5));
      tick_label(m, k, unit, label, sizeof label);
      if (is_x) {
        double x = f * PLOT_W;
        fprintf(out, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", x, x,
                PLOT_H, grid);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>\n", x,
                PLOT_H, x, PLOT_H + (m == 1 ? 6 : 3));
        if (show)
          fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x,
                  PLOT_H + 19, label);
      } else {
        double y = PLOT_H - f * PLOT_H;
        fprintf(out, "<line x1=\"0\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", y,
                PLOT_W, y, grid);
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"0\" y2=\"%.1f\" stroke=\"#444\"/>\n",
                m == 1 ? -6 : -3, y, y);
        if (show)
          fprintf(out,
                  "<text x=\"-9\" y=\"%.1f\" text-anchor=\"end\" "
                  "dominant-baseline=\"middle\">%s</text>\n",
                  y, label);
      }
    }
  }
}

static void svg_text_escaped(FILE *out, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '"': fputs("&quot;", out); break;
    default: fputc(*s, out);
    }
  }
}

typedef struct ViewPt {
  double x, y;
} ViewPt;

static int viewpt_cmp(const void *pa, const void *pb) {
  const ViewPt *a = pa, *b = pb;
  if (a->x != b->x) return a->x < b->x ? -1 : 1;
  return (a->y > b->y) - (a->y < b->y);
}

static double view_y(const Estimate *e, int view) {
  return view == 0 ? e->energy_j : e->area_mm2;
}

/* One panel: frame, decade grid and labels, every point in grey, Pareto points highlighted,
 * and this view's own front (the Pareto points no other beats in both of its coordinates)
 * joined as a staircase. front has room for r->n_pareto entries. */
static void svg_panel(FILE *out, const DseResult *r, int view, ViewPt *front) {
  const char *yname = view == 0 ? "energy" : "area", *yunit = view == 0 ? "J" : "mm²";
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (int64_t i = 0; i < r->n_points; i++) {
    double x = r->points[i].est.latency_s, y = view_y(&r->points[i].est, view);
    if (!(x > 0 && y > 0 && isfinite(x) && isfinite(y))) continue;
    xmin = fmin(xmin, x), xmax = fmax(xmax, x), ymin = fmin(ymin, y), ymax = fmax(ymax, y);
  }
  LogAxis ax = log_axis(xmin, xmax), ay = log_axis(ymin, ymax);
  int left = plot_left[view];
  fprintf(out, "<g transform=\"translate(%d,%d)\">\n", left, PLOT_TOP);
  svg_axis(out, &ax, true, "s");
  svg_axis(out, &ay, false, yunit);
  fprintf(out,
          "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"none\" "
          "stroke=\"#444\"/>\n",
          PLOT_W, PLOT_H);
  fprintf(out,
          "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"axis\">latency (s)"
          "</text>\n",
          PLOT_W / 2, PLOT_H + 42);
  fprintf(out,
          "<text transform=\"translate(-72,%d) rotate(-90)\" text-anchor=\"middle\" "
          "class=\"axis\">%s (%s)</text>\n",
          PLOT_H / 2, yname, yunit);
  fprintf(out,
          "<text x=\"%d\" y=\"-10\" text-anchor=\"middle\" class=\"axis\">%s vs latency"
          "</text>\n",
          PLOT_W / 2, yname);

  fputs("<g fill=\"#9a9a9a\" fill-opacity=\"0.45\">\n", out);
  for (int64_t i = 0; i < r->n_points; i++) {
    const DsePoint *pt = &r->points[i];
    double x = pt->est.latency_s, y = view_y(&pt->est, view);
    if (pt->pareto || !(x > 0 && y > 0 && isfinite(x) && isfinite(y))) continue;
    fprintf(out,
            pt->feasible ? "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\"/>\n"
                         : "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"none\" "
                           "stroke=\"#9a9a9a\"/>\n",
            axis_frac(&ax, x) * PLOT_W, PLOT_H - axis_frac(&ay, y) * PLOT_H);
  }
  fputs("</g>\n", out);

  int64_t n = 0;
  for (int64_t i = 0; i < r->n_points; i++)
    if (r->points[i].pareto)
      front[n++] = (ViewPt){r->points[i].est.latency_s, view_y(&r->points[i].est, view)};
  qsort(front, (size_t)n, sizeof *front, viewpt_cmp);
  fputs("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"", out);
  double best = INFINITY;
  for (int64_t i = 0; i < n; i++) {
    if (!(front[i].y < best)) continue;
    double px = axis_frac(&ax, front[i].x) * PLOT_W;
    if (best < INFINITY) fprintf(out, "%.1f,%.1f ", px, PLOT_H - axis_frac(&ay, best) * PLOT_H);
    fprintf(out, "%.1f,%.1f ", px, PLOT_H - axis_frac(&ay, front[i].y) * PLOT_H);
    best = front[i].y;
  }
  fputs("\"/>\n<g fill=\"#d62728\" stroke=\"#7a1010\" stroke-width=\"0.6\">\n", out);
  for (int64_t i = 0; i < n; i++)
    fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.6\"/>\n",
            axis_frac(&ax, front[i].x) * PLOT_W, PLOT_H - axis_frac(&ay, front[i].y) * PLOT_H);
  fputs("</g>\n</g>\n", out);
}

/* ---- stacked panels: energy by phase (a training step) and by capsule role, per Pareto
 * design ---- */
enum { PHASE_PANEL_H = 340, PHASE_PLOT_W = 870, PHASE_PLOT_H = 200 };
static const char *const phase_colors[N_PHASES] = {"#1f77b4", "#9467bd", "#ff7f0e", "#2ca02c",
                                                   "#8c564b"};
static const char *const role_colors[N_CAPS_ROLES] = {
    "#9a9a9a", "#1f77b4", "#17becf", "#ff7f0e", "#d62728",
    "#e377c2", "#bcbd22", "#2ca02c", "#8c564b"};

/* What one stacked panel shows: n categories of each design's energy (joules). */
typedef struct StackSpec {
  const char *title;
  int n;
  const char *const *colors;
  const char *(*name)(int k);
  double (*energy_j)(const Estimate *e, int k);
} StackSpec;

static const char *phase_cat_name(int k) { return ir_phase_name((Phase)k); }
static double phase_cat_j(const Estimate *e, int k) { return e->phase_energy_pj[k] * 1e-12; }
static const char *role_cat_name(int k) { return cost_role_name((CapsRole)k); }
static double role_cat_j(const Estimate *e, int k) { return e->role_energy_pj[k] * 1e-12; }

static const StackSpec phase_stack = {"energy of the training step by phase, per Pareto design",
                                      N_PHASES, phase_colors, phase_cat_name, phase_cat_j};
static const StackSpec role_stack = {"energy by capsule role, per Pareto design", N_CAPS_ROLES,
                                     role_colors, role_cat_name, role_cat_j};

typedef struct PhaseBar {
  double latency_s;
  int64_t at; /* position in r->points */
} PhaseBar;

static int phase_bar_cmp(const void *pa, const void *pb) {
  const PhaseBar *a = pa, *b = pb;
  if (a->latency_s != b->latency_s) return a->latency_s < b->latency_s ? -1 : 1;
  return (a->at > b->at) - (a->at < b->at);
}

/* "1.5 mJ": v in units of 10^(3 e3) with that SI prefix. */
static void svg_energy_label(double v, int e3, char *buf, size_t size) {
  static const char *const prefixes[] = {"f", "p", "n", "µ", "m", "", "k", "M", "G"};
  snprintf(buf, size, "%.3g %sJ", v / pow(10, 3 * e3), prefixes[e3 + 5]);
}

/* Draws the panel at vertical offset top: one bar per Pareto design in ascending latency, its
 * energy stacked by sp's categories (the first at the bottom), a linear energy axis from 0,
 * and a legend of the categories. bars has room for r->n_pareto entries. */
static void svg_stack_panel(FILE *out, const DseResult *r, int top, PhaseBar *bars,
                            const StackSpec *sp) {
  int64_t n = 0;
  for (int64_t i = 0; i < r->n_points; i++)
    if (r->points[i].pareto) bars[n++] = (PhaseBar){r->points[i].est.latency_s, i};
  qsort(bars, (size_t)n, sizeof *bars, phase_bar_cmp);
  double ymax = 0;
  for (int64_t k = 0; k < n; k++) {
    double e = 0;
    for (int c = 0; c < sp->n; c++)
      e += sp->energy_j(&r->points[bars[k].at].est, c);
    ymax = fmax(ymax, e);
  }
  /* Ticks at 1, 2 or 5 x 10^k, about five of them. */
  double raw = ymax > 0 && isfinite(ymax) ? ymax / 5 : 1;
  double mag = pow(10, floor(log10(raw))), frac = raw / mag;
  double step = (frac <= 1 ? 1 : frac <= 2 ? 2 : frac <= 5 ? 5 : 10) * mag;
  int n_ticks = (int)ceil(ymax / step - 1e-9);
  if (n_ticks < 1) n_ticks = 1;
  double yhi = n_ticks * step;
  int e3 = (int)floor(log10(yhi) / 3);
  e3 = e3 < -5 ? -5 : e3 > 3 ? 3 : e3;

  fprintf(out, "<g transform=\"translate(%d,%d)\">\n", plot_left[0], top + 50);
  fprintf(out, "<text x=\"%d\" y=\"-14\" text-anchor=\"middle\" class=\"axis\">%s</text>\n",
          PHASE_PLOT_W / 2, sp->title);
  char label[48];
  for (int t = 0; t <= n_ticks; t++) {
    double y = PHASE_PLOT_H - (double)t / n_ticks * PHASE_PLOT_H;
    svg_energy_label(t * step, e3, label, sizeof label);
    fprintf(out,
            "<line x1=\"0\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>"
            "<text x=\"-9\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s"
            "</text>\n",
            y, PHASE_PLOT_W, y, t ? "#eeeeee" : "#444", y, label);
  }
  fprintf(out,
          "<text transform=\"translate(-72,%d) rotate(-90)\" text-anchor=\"middle\" "
          "class=\"axis\">energy (J)</text>\n",
          PHASE_PLOT_H / 2);
  double slot = n > 0 ? (double)PHASE_PLOT_W / (double)n : PHASE_PLOT_W;
  double bw = fmin(slot * 0.8, 28);
  int64_t every = n > 30 ? (n + 29) / 30 : 1;
  for (int64_t k = 0; k < n; k++) {
    const Estimate *e = &r->points[bars[k].at].est;
    double x = (double)k * slot + (slot - bw) / 2, base = 0;
    for (int c = 0; c < sp->n; c++) {
      double ej = sp->energy_j(e, c);
      if (!(ej > 0)) continue;
      double y0 = PHASE_PLOT_H - base / yhi * PHASE_PLOT_H;
      double y1 = PHASE_PLOT_H - (base + ej) / yhi * PHASE_PLOT_H;
      svg_energy_label(ej, e3, label, sizeof label);
      fprintf(out,
              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.2f\" fill=\"%s\">"
              "<title>design %lld (point %lld), %s: %s</title></rect>\n",
              x, y1, bw, y0 - y1, sp->colors[c], (long long)(k + 1),
              (long long)r->points[bars[k].at].index, sp->name(c), label);
      base += ej;
    }
    if (k % every == 0)
      fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%lld</text>\n",
              x + bw / 2, PHASE_PLOT_H + 15, (long long)(k + 1));
  }
  fprintf(out,
          "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"axis\">Pareto designs by "
          "ascending latency (1 = fastest, the first row of the table)</text>\n",
          PHASE_PLOT_W / 2, PHASE_PLOT_H + 36);
  int step_x = PHASE_PLOT_W / sp->n < 150 ? PHASE_PLOT_W / sp->n : 150;
  for (int c = 0; c < sp->n; c++)
    fprintf(out,
            "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
            "<text x=\"%d\" y=\"%d\">%s</text>\n",
            c * step_x, PHASE_PLOT_H + 52, sp->colors[c], c * step_x + 14, PHASE_PLOT_H + 61,
            sp->name(c));
  fputs("</g>\n", out);
}

/* Contract: r came from a sweep; model names the workload in the title. Returns false only
 * when out of memory (nothing written). */
bool report_dse_svg(FILE *out, const char *model, const DseResult *r) {
  ViewPt *front = xdl_malloc((size_t)(r->n_pareto ? r->n_pareto : 1) * sizeof *front);
  PhaseBar *bars = xdl_malloc((size_t)(r->n_pareto ? r->n_pareto : 1) * sizeof *bars);
  if (!front || !bars) {
    xdl_free(front);
    xdl_free(bars);
    return false;
  }
  bool phases = has_training_phases(r), roles = has_caps_roles(r);
  int height = SVG_H + (phases ? PHASE_PANEL_H : 0) + (roles ? PHASE_PANEL_H : 0);
  fprintf(out,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
          SVG_W, height, SVG_W, height);
  fputs("<style>.axis{font-size:13px}.title{font-size:16px;font-weight:bold}</style>\n", out);
  fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", SVG_W, height);
  fprintf(out, "<text x=\"%d\" y=\"26\" text-anchor=\"middle\" class=\"title\">", SVG_W / 2);
  svg_text_escaped(out, model && *model ? model : "model");
  fprintf(out, ": %lld design points, %lld feasible, %lld Pareto-optimal (", (long long)r->n_points,
          (long long)r->n_feasible, (long long)r->n_pareto);
  for (int k = 0; k < r->n_objs; k++)
    fprintf(out, "%s%s", k ? ", " : "", pareto_objective_name(r->objs[k]));
  fputs(")</text>\n", out);
  for (int view = 0; view < 2; view++)
    svg_panel(out, r, view, front);
  int y = SVG_H - 22;
  fprintf(out, "<g transform=\"translate(%d,%d)\">\n", plot_left[0], y);
  /* Legend entries left to right; the infeasible one only when some point is. */
  fputs("<circle cx=\"0\" cy=\"0\" r=\"3\" fill=\"#9a9a9a\"/>"
        "<text x=\"8\" y=\"4\">design point</text>\n"
        "<circle cx=\"120\" cy=\"0\" r=\"3.6\" fill=\"#d62728\" stroke=\"#7a1010\"/>"
        "<text x=\"128\" y=\"4\">Pareto-optimal design</text>\n"
        "<line x1=\"280\" y1=\"0\" x2=\"304\" y2=\"0\" stroke=\"#d62728\" stroke-width=\"1.5\"/>"
        "<text x=\"310\" y=\"4\">front in this view</text>\n",
        out);
  if (r->n_feasible < r->n_points)
    fputs("<circle cx=\"440\" cy=\"0\" r=\"3\" fill=\"none\" stroke=\"#9a9a9a\"/>"
          "<text x=\"448\" y=\"4\">infeasible (violates a constraint)</text>\n",
          out);
  fputs("</g>\n", out);
  if (phases) svg_stack_panel(out, r, SVG_H, bars, &phase_stack);
  if (roles) svg_stack_panel(out, r, SVG_H + (phases ? PHASE_PANEL_H : 0), bars, &role_stack);
  fputs("</svg>\n", out);
  xdl_free(bars);
  xdl_free(front);
  return true;
}

/* ------------------------------------------------------------------------------------------
 * Terminal table
 * ------------------------------------------------------------------------------------------ */
/* "12.3 ms" with an SI prefix (ASCII u for micro, so columns align in bytes). */
static char *si(double v, const char *unit, char *buf, size_t size) {
  static const char *const prefixes[] = {"f", "p", "n", "u", "m", "", "k", "M", "G"};
  if (!(v > 0) || !isfinite(v)) {
    snprintf(buf, size, "%g %s", v, unit);
    return buf;
  }
  int e3 = (int)floor(log10(v) / 3);
  if (e3 < -5) e3 = -5;
  if (e3 > 3) e3 = 3;
  snprintf(buf, size, "%.4g %s%s", v / pow(10, 3 * e3), prefixes[e3 + 5], unit);
  return buf;
}

typedef struct Row {
  double latency_s;
  int64_t at;
} Row;

static int row_cmp(const void *pa, const void *pb) {
  const Row *a = pa, *b = pb;
  if (a->latency_s != b->latency_s) return a->latency_s < b->latency_s ? -1 : 1;
  return (a->at > b->at) - (a->at < b->at);
}

/* The capsule-role columns of the table: primary, votes, routing (its four roles), class,
 * decoder and untagged energy shares. */
enum { N_ROLE_COLS = 6 };
static double role_col_pj(const Estimate *e, int c) {
  switch (c) {
  case 0: return e->role_energy_pj[CAPS_PRIMARY];
  case 1: return e->role_energy_pj[CAPS_VOTES];
  case 2:
    return e->role_energy_pj[CAPS_ROUTING_SOFTMAX] + e->role_energy_pj[CAPS_ROUTING_SUM] +
           e->role_energy_pj[CAPS_ROUTING_SQUASH] + e->role_energy_pj[CAPS_ROUTING_AGREE];
  case 3: return e->role_energy_pj[CAPS_CLASS];
  case 4: return e->role_energy_pj[CAPS_DECODER];
  default: return e->role_energy_pj[CAPS_NONE];
  }
}

/* Contract: r came from a sweep of space. Prints the Pareto designs by ascending latency: swept
 * parameters, latency, energy, area, TOPS/mm^2, fJ/op, for a training step each phase's share
 * of the energy (E_fwd% ... E_upd%, adding up to 100), and for a capsule network each role's
 * (E_prim% E_votes% E_rout% E_class% E_dec% E_untag%, adding up to 100). */
void report_dse_table(FILE *out, const DesignSpace *space, const DseResult *r) {
  Row *rows = xdl_malloc((size_t)(r->n_pareto ? r->n_pareto : 1) * sizeof *rows);
  int64_t n = 0;
  for (int64_t i = 0; i < r->n_points && rows; i++)
    if (r->points[i].pareto) rows[n++] = (Row){r->points[i].est.latency_s, i};
  if (rows) qsort(rows, (size_t)n, sizeof *rows, row_cmp);
  int width[SPACE_MAX_PARAMS];
  for (int p = 0; p < space->n_params; p++) {
    width[p] = (int)strlen(space->params[p].name);
    if (width[p] < 5) width[p] = 5;
    fprintf(out, "%*s ", width[p], space->params[p].name);
  }
  bool phases = has_training_phases(r);
  static const char *const phase_heads[N_PHASES] = {"E_fwd%", "E_loss%", "E_bwd_d%", "E_bwd_w%",
                                                    "E_upd%"};
  bool roles = has_caps_roles(r);
  static const char *const role_heads[N_ROLE_COLS] = {"E_prim%", "E_votes%", "E_rout%",
                                                      "E_class%", "E_dec%", "E_untag%"};
  fprintf(out, "%11s %11s %11s %11s %9s", "latency", "energy", "area", "TOPS/mm2", "fJ/op");
  for (int ph = 0; phases && ph < N_PHASES; ph++)
    fprintf(out, " %8s", phase_heads[ph]);
  for (int c = 0; roles && c < N_ROLE_COLS; c++)
    fprintf(out, " %8s", role_heads[c]);
  fputc('\n', out);
  for (int64_t k = 0; k < n; k++) {
    const DsePoint *pt = &r->points[rows[k].at];
    double values[SPACE_MAX_PARAMS];
    char b1[32], b2[32];
    space_point_values(space, pt->index, values);
    for (int p = 0; p < space->n_params; p++)
      fprintf(out, "%*s ", width[p],
              space_format_value(&space->params[p], values[p], b1, sizeof b1));
    fprintf(out, "%11s %11s %7.4g mm2 %11.4g %9.4g", si(pt->est.latency_s, "s", b1, sizeof b1),
            si(pt->est.energy_j, "J", b2, sizeof b2), pt->est.area_mm2, pt->est.tops_per_mm2,
            pt->est.fj_per_op);
    double total_pj = pt->est.energy_j * 1e12;
    for (int ph = 0; phases && ph < N_PHASES; ph++)
      fprintf(out, " %8.1f", total_pj > 0 ? 100 * pt->est.phase_energy_pj[ph] / total_pj : 0.0);
    for (int c = 0; roles && c < N_ROLE_COLS; c++)
      fprintf(out, " %8.1f", total_pj > 0 ? 100 * role_col_pj(&pt->est, c) / total_pj : 0.0);
    fputc('\n', out);
  }
  xdl_free(rows);
}

/* ------------------------------------------------------------------------------------------
 * The six files, atomically
 * ------------------------------------------------------------------------------------------ */
/* mkdir -p dir; XDL_ERR_INPUT naming the directory when it cannot be made. */
static XdlStatus make_dirs(const char *dir, Diag *d) {
  char buf[1024];
  int n = snprintf(buf, sizeof buf, "%s", dir);
  if (n <= 0 || (size_t)n >= sizeof buf)
    return diag_error(d, XDL_ERR_INPUT, "output directory '%s': path too long", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return diag_error(d, XDL_ERR_INPUT, "output directory '%s': cannot create '%s': %s", dir, buf,
                        strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return diag_error(d, XDL_ERR_INPUT, "output directory '%s': cannot create: %s", dir,
                      strerror(errno));
  return XDL_OK;
}

XdlStatus report_dse_prepare_dir(const char *dir, Diag *d) {
  XdlStatus st = make_dirs(dir, d);
  if (st != XDL_OK) return st;
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return diag_error(d, XDL_ERR_INPUT, "output directory '%s' is not a directory", dir);
  if (access(dir, W_OK | X_OK) != 0)
    return diag_error(d, XDL_ERR_INPUT, "output directory '%s' is not writable: %s", dir,
                      strerror(errno));
  return XDL_OK;
}

enum {
  DSE_FILE_CSV, DSE_FILE_PARETO_CSV, DSE_FILE_JSON, DSE_FILE_PHASES, DSE_FILE_ROLES, DSE_FILE_SVG,
  DSE_N_FILES
};
static const char *const dse_file_names[DSE_N_FILES] = {
    "points.csv", "pareto.csv", "pareto.json", "phases.csv", "capsule_roles.csv", "pareto.svg"};

/* Writes file f's contents to out. */
static XdlStatus write_one(int f, FILE *out, const Schedule *s, const DesignSpace *space,
                           const DseResult *r, Diag *d) {
  switch (f) {
  case DSE_FILE_CSV: report_dse_csv(out, space, r, false); return XDL_OK;
  case DSE_FILE_PARETO_CSV: report_dse_csv(out, space, r, true); return XDL_OK;
  case DSE_FILE_JSON: return report_dse_json(out, s, space, r, true, d);
  case DSE_FILE_PHASES: report_dse_phases_csv(out, space, r); return XDL_OK;
  case DSE_FILE_ROLES: report_dse_roles_csv(out, space, r); return XDL_OK;
  default:
    if (!report_dse_svg(out, s->model, r))
      return diag_error(d, XDL_ERR_INTERNAL, "out of memory writing pareto.svg");
    return XDL_OK;
  }
}

/* Contract: r came from dse_sweep(s, space, ...). Creates dir if needed; writes every file to
 * DIR/.NAME.XXXXXX, then renames them all into place. On error no new file is left behind:
 * XDL_ERR_INPUT when dir cannot be created or written (the message names it), XDL_ERR_INTERNAL
 * on a failed write (disk full) or out of memory. */
XdlStatus report_dse_write(const char *dir, const Schedule *s, const DesignSpace *space,
                           const DseResult *r, Diag *d) {
  char tmp[DSE_N_FILES][1100], final[DSE_N_FILES][1100];
  int made = 0;
  XdlStatus st = report_dse_prepare_dir(dir, d);
  if (st != XDL_OK) return st;
  for (; made < DSE_N_FILES; made++) {
    snprintf(final[made], sizeof final[made], "%s/%s", dir, dse_file_names[made]);
    snprintf(tmp[made], sizeof tmp[made], "%s/.%s.XXXXXX", dir, dse_file_names[made]);
    int fd = mkstemp(tmp[made]);
    if (fd < 0) {
      st = diag_error(d, XDL_ERR_INPUT, "output directory '%s': cannot write %s: %s", dir,
                      dse_file_names[made], strerror(errno));
      goto fail;
    }
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    FILE *out = fdopen(fd, "w");
    if (!out) {
      close(fd);
      made++;
      st = diag_error(d, XDL_ERR_INTERNAL, "%s: %s", tmp[made - 1], strerror(errno));
      goto fail;
    }
    st = write_one(made, out, s, space, r, d);
    bool bad = ferror(out);
    if (fclose(out) != 0) bad = true;
    if (st == XDL_OK && bad)
      st = diag_error(d, XDL_ERR_INTERNAL, "output directory '%s': writing %s failed", dir,
                      dse_file_names[made]);
    if (st != XDL_OK) {
      made++;
      goto fail;
    }
  }
  for (int f = 0; f < DSE_N_FILES; f++) {
    if (rename(tmp[f], final[f]) != 0) {
      st = diag_error(d, XDL_ERR_INTERNAL, "output directory '%s': cannot rename %s: %s", dir,
                      final[f], strerror(errno));
      for (int g = 0; g < f; g++)
        unlink(final[g]);
      goto fail;
    }
  }
  return XDL_OK;
fail:
  for (int f = 0; f < made; f++)
    unlink(tmp[f]);
  return st;
}
