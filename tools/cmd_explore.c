/* cmd_explore.c — `xploredl explore MODEL.onnx`: import a model (once per routing_iterations
 * value when the space sweeps it), schedule it, sweep a design space (a space XML file or the
 * embedded default) in threads, keep the Pareto-optimal accelerators, write points.csv,
 * pareto.csv, pareto.json, phases.csv, capsule_roles.csv and pareto.svg into the output
 * directory and print the Pareto table. Also the helpers `zoo` shares. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "tools/commands.h"

static void explore_usage(FILE *out) {
  fprintf(out,
          "usage: %s explore MODEL.onnx [--space SPACE.xml] [--out DIR] [--jobs N]\n"
          "                         [--objectives LIST] [--batch N] [--dim NAME=VALUE]...\n"
          "                         [--json] [--train [--loss KIND] [--optimizer KIND]]\n"
          "\n"
          "Imports an ONNX model, schedules it onto an accelerator template and costs every\n"
          "point of a design space (latency, energy, power, area; systolic-array results are\n"
          "shared between points with the same array configuration), marks the points that\n"
          "violate the space's constraints as infeasible, and keeps the Pareto-optimal ones:\n"
          "the feasible points no other feasible point beats in every objective (each\n"
          "minimized). Prints the model's memory footprint and the Pareto table (swept\n"
          "parameters, latency, energy, area, TOPS/mm^2, fJ/op; op = 2 x MAC; with --train\n"
          "also each phase's share of the energy, for a capsule network each capsule role's)\n"
          "and writes into DIR:\n"
          "  points.csv    every point: the swept parameters, then cycles,latency_s,energy_j,\n"
          "                power_w,area_mm2,tops,tops_per_mm2,fj_per_op,feasible,pareto\n"
          "  pareto.csv    the Pareto rows only\n"
          "  pareto.json   the Pareto designs with accelerator, energy and area breakdown,\n"
          "                totals by phase and capsule role, per-layer costs, and the\n"
          "                memory footprint\n"
          "  phases.csv    the Pareto rows by phase of the step: the swept parameters, then\n"
          "                <phase>_cycles,<phase>_latency_s,<phase>_energy_j,<phase>_macs for\n"
          "                forward, loss, backward_data, backward_weight, update\n"
          "  capsule_roles.csv  the Pareto rows by capsule role: the swept parameters, then\n"
          "                <role>_cycles,<role>_latency_s,<role>_energy_j,<role>_macs for\n"
          "                untagged, primary, votes, routing.softmax, routing.sum,\n"
          "                routing.squash, routing.agree, class, decoder, then\n"
          "                routing[k]_cycles,routing[k]_latency_s,routing[k]_energy_j per\n"
          "                routing iteration k (a model without capsules: all untagged)\n"
          "  pareto.svg    energy vs latency and area vs latency, log axes, front highlighted;\n"
          "                with --train also each Pareto design's energy stacked by phase,\n"
          "                for a capsule network by capsule role\n"
          "The files appear together or not at all.\n"
          "\n"
          "  --space SPACE.xml   design space; default: the embedded space on the tpu-like\n"
          "                      preset (rows and cols 8..256, os/ws/is, 32..2048 KiB SRAMs,\n"
          "                      DRAM 8/32/128 words/cycle, 16/64/256 vector lanes: 3888\n"
          "                      points)\n"
          "  --out DIR           output directory (created if missing; default xploredl-out)\n"
          "  --jobs N            worker threads (default 0 = one per online CPU)\n"
          "  --objectives LIST   comma-separated, from latency, energy, area, power, memory\n"
          "                      (default latency,energy,area). memory is the model's memory\n"
          "                      footprint (training step with --train): a property of the\n"
          "                      model and batch, the same for every accelerator, so within\n"
          "                      one sweep it never changes the front; it matters when\n"
          "                      fronts of batch sizes or model variants are compared\n"
          "  --batch N           bind the leading symbolic dim of every input (default 1)\n"
          "  --dim NAME=VALUE    bind the symbolic dim NAME (repeatable)\n"
          "  --train             cost the whole training step: forward, loss, backward (data\n"
          "                      and weight gradients, on the same array model) and the\n"
          "                      optimizer update, with totals by phase\n"
          "  --loss KIND         auto (default), softmax_ce, margin or mse\n"
          "  --optimizer KIND    sgd (default), momentum or adam\n"
          "  --detach-routing    capsules: no gradient through routing iterations before the\n"
          "                      last\n"
          "  --json              print pareto.json's content instead of the table\n"
          "  -h, --help          show this help\n",
          xdl_prog);
  fputs("\n"
        "A space file (schema models/accel/space.xsd) names a base accelerator (a preset or\n"
        "an accelerator XML file relative to it), then values or a range per parameter,\n"
        "then optional constraints:\n"
        "  <space base=\"edge-16x16\">\n"
        "    <param name=\"rows\"><values>8 16 32</values></param>\n"
        "    <param name=\"cols\"><range start=\"8\" stop=\"256\" factor=\"2\"/></param>\n"
        "    <param name=\"clock_mhz\"><range start=\"200\" stop=\"800\" step=\"200\"/></param>\n"
        "    <param name=\"dataflow\"><values>os ws is</values></param>\n"
        "    <constraints max_area_mm2=\"20\" max_power_w=\"5\" max_latency_s=\"0.01\"\n"
        "                 max_memory_bytes=\"1e9\" max_sram_bytes=\"4194304\"/>\n"
        "  </space>\n"
        "Parameters: rows, cols, dataflow, ifmap_sram_kib, filter_sram_kib, ofmap_sram_kib,\n"
        "sram_kib (all three SRAMs), dram_bw_words (also selects the USER bandwidth mode),\n"
        "dram_pj_per_bit, clock_mhz, mac_bits (also the SRAM word width), acc_bits,\n"
        "word_bits, vec_lanes, and routing_iterations (1..16): a workload parameter that\n"
        "sets the routing iterations of the model's compact ClassCaps / 3-D ConvCaps ops\n"
        "and re-lowers the model for each value (an error for a model without them).\n"
        "max_memory_bytes caps the model's memory footprint (weights,\n"
        "optimizer state, and the peak of live activations and gradients over the step: the\n"
        "training step with --train, else one inference), so it admits all points or none;\n"
        "max_sram_bytes caps the on-chip SRAM (all three buffers).\n"
        "\n"
        "A progress bar is drawn on stderr when it is a terminal. Exit status: 0 success,\n"
        "1 internal error, 2 bad input (model, space, no feasible point, unwritable DIR).\n",
        out);
}

void explore_workloads_free(ExploreWorkloads *w) {
  for (int k = 0; k < w->n; k++) {
    if (w->scheds) schedule_free(&w->scheds[k]);
    if (w->graphs && w->graphs[k]) ir_graph_free(w->graphs[k]);
  }
  xdl_free(w->graphs);
  xdl_free(w->scheds);
  xdl_free(w->mems);
  xdl_free(w->ws);
  memset(w, 0, sizeof *w);
}

XdlStatus explore_load_workloads(const ModelArgs *m, const char *path, const DesignSpace *space,
                                 ExploreWorkloads *w, Diag *d) {
  memset(w, 0, sizeof *w);
  int wp = space_workload_param(space);
  int n = wp >= 0 ? space->params[wp].n_values : 1;
  w->graphs = xdl_calloc((size_t)n, sizeof *w->graphs);
  w->scheds = xdl_calloc((size_t)n, sizeof *w->scheds);
  w->mems = xdl_calloc((size_t)n, sizeof *w->mems);
  w->ws = xdl_calloc((size_t)n, sizeof *w->ws);
  if (!w->graphs || !w->scheds || !w->mems || !w->ws)
    return diag_error(d, XDL_ERR_INTERNAL, "out of memory");
  w->n = n;
  for (int k = 0; k < n; k++) {
    PassOptions po = m->pass;
    if (wp >= 0) po.routing_iterations = (int64_t)space->params[wp].values[k];
    Graph *g = w->graphs[k] = onnx_load(path, &m->opts, d);
    if (!g) return d->status;
    XdlStatus st = passes_run(g, &po, d);
    if (st == XDL_OK) st = schedule_build(g, &w->scheds[k], d);
    if (st == XDL_OK) st = training_memory(g, &w->mems[k], d);
    if (st != XDL_OK) return st;
    w->ws[k] = (DseWorkload){&w->scheds[k], &w->mems[k]};
    if (!w->mem || w->mems[k].total_bytes > w->mem->total_bytes) w->mem = &w->mems[k];
  }
  w->s = &w->scheds[0];
  return XDL_OK;
}

int explore_sweep_option(int argc, char **argv, int *i, const char **space_path,
                         const char **out_dir, DseOptions *o) {
  const char *a = argv[*i];
  bool space = strcmp(a, "--space") == 0, out = strcmp(a, "--out") == 0;
  bool jobs = strcmp(a, "--jobs") == 0, objectives = strcmp(a, "--objectives") == 0;
  if (!space && !out && !jobs && !objectives) return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "%s: %s needs a value\n", xdl_prog, a);
    return -1;
  }
  const char *v = argv[++*i];
  if (space) *space_path = v;
  else if (out) *out_dir = v;
  else if (objectives) return explore_parse_objectives(v, o) ? 1 : -1;
  else {
    int64_t n;
    if (!args_int64("--jobs", v, 0, DSE_MAX_JOBS, &n)) return -1;
    o->jobs = (int)n;
  }
  return 1;
}

bool explore_parse_objectives(const char *text, DseOptions *o) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", text);
  o->n_objs = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int k = 0;
    while (k < OBJ_N && strcmp(pareto_objective_name((Objective)k), tok) != 0)
      k++;
    if (k == OBJ_N) {
      fprintf(stderr,
              "%s: --objectives: unknown objective '%s' (latency, energy, area, power, memory)\n",
              xdl_prog, tok);
      return false;
    }
    for (int i = 0; i < o->n_objs; i++)
      if (o->objs[i] == (Objective)k) {
        fprintf(stderr, "%s: --objectives: '%s' given twice\n", xdl_prog, tok);
        return false;
      }
    o->objs[o->n_objs++] = (Objective)k;
  }
  if (o->n_objs == 0) {
    fprintf(stderr,
            "%s: --objectives needs at least one of latency, energy, area, power, memory\n",
            xdl_prog);
    return false;
  }
  return true;
}

DesignSpace *explore_load_space(const char *path, int *exit_code) {
  DesignSpace *space = xdl_malloc(sizeof *space);
  if (!space) {
    fprintf(stderr, "%s: out of memory\n", xdl_prog);
    *exit_code = 1;
    return NULL;
  }
  if (!path) {
    space_default(space);
    return space;
  }
  Diag d;
  diag_init(&d);
  if (space_load_xml(path, space, &d) == XDL_OK) return space;
  fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
  *exit_code = args_exit_code(d.status == XDL_OK ? XDL_ERR_INTERNAL : d.status);
  xdl_free(space);
  return NULL;
}

/* Whether dir exists as a writable directory, or could be created: the nearest existing
 * ancestor is a writable directory. Prints the error naming dir. No side effects. */
bool explore_check_out_dir(const char *dir) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", dir);
  struct stat sb;
  for (;;) {
    if (stat(buf, &sb) == 0) {
      if (S_ISDIR(sb.st_mode) && access(buf, W_OK | X_OK) == 0) return true;
      break;
    }
    char *slash = strrchr(buf, '/');
    if (!slash) {
      snprintf(buf, sizeof buf, ".");
    } else if (slash == buf) {
      buf[1] = '\0';
    } else {
      *slash = '\0';
    }
  }
  fprintf(stderr, "%s: output directory '%s' cannot be written ('%s' is %s)\n", xdl_prog, dir, buf,
          S_ISDIR(sb.st_mode) ? "not writable" : "not a directory");
  return false;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The progress bar: redrawn at most every 50 ms, erased when done. */
void explore_progress(int64_t done, int64_t total, void *ud) {
  ExploreBar *bar = ud;
  double t = now_s();
  if (bar->erased || (done < total && t - bar->last_s < 0.05)) return;
  bar->last_s = t;
  enum { WIDTH = 40 };
  int filled = total > 0 ? (int)(WIDTH * done / total) : WIDTH;
  fprintf(stderr, "\r%s [", bar->label);
  for (int i = 0; i < WIDTH; i++)
    fputc(i < filled ? '#' : '.', stderr);
  fprintf(stderr, "] %3d%% %" PRId64 "/%" PRId64 " points", total ? (int)(100 * done / total) : 100,
          done, total);
  if (done >= total) {
    fputs("\r\033[K", stderr);
    bar->erased = true;
  }
  fflush(stderr);
}

/* Says why nothing is feasible: each limit no point meets on its own, with the smallest value
 * in the space ("max_area_mm2 5 (smallest in the space 37.1)"), or that the limits only
 * conflict together. */
static void explain_infeasible(const DesignSpace *space, const DseResult *r, char *buf,
                               size_t size) {
  const SpaceConstraints *l = &space->limits;
  enum { N_LIMITS = 5 };
  double best[N_LIMITS] = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
  Accel *a = xdl_malloc(sizeof *a);
  for (int64_t i = 0; i < r->n_points; i++) {
    const Estimate *e = &r->points[i].est;
    if (e->area_mm2 < best[0]) best[0] = e->area_mm2;
    if (e->power_w < best[1]) best[1] = e->power_w;
    if (e->latency_s < best[2]) best[2] = e->latency_s;
    if ((double)e->memory_bytes < best[3]) best[3] = (double)e->memory_bytes;
    if (a) {
      space_point(space, r->points[i].index, a);
      if (dse_sram_bytes(a) < best[4]) best[4] = dse_sram_bytes(a);
    }
  }
  xdl_free(a);
  const char *names[N_LIMITS] = {"max_area_mm2", "max_power_w", "max_latency_s",
                                 "max_memory_bytes", "max_sram_bytes"};
  const double lim[N_LIMITS] = {l->max_area_mm2, l->max_power_w, l->max_latency_s,
                                l->max_memory_bytes, l->max_sram_bytes};
  size_t len = 0;
  buf[0] = '\0';
  for (int k = 0; k < N_LIMITS; k++) {
    if (!(lim[k] > 0) || best[k] <= lim[k] || len >= size) continue;
    len += (size_t)snprintf(buf + len, size - len, "%s%s %.6g (smallest in the space %.6g)",
                            len ? ", " : "", names[k], lim[k], best[k]);
  }
  if (len == 0) snprintf(buf, size, "each limit is met by some point, but none meets them all");
}

int cmd_explore(int argc, char **argv) {
  ModelArgs m;
  memset(&m, 0, sizeof m);
  const char *path = NULL, *space_path = NULL, *out_dir = "xploredl-out";
  bool json = false;
  DseOptions opt;
  dse_options_default(&opt);
  for (int i = 1; i < argc; i++) {
    int r = args_model_option(&m, argc, argv, &i);
    if (r < 0) return 2;
    if (r > 0) continue;
    r = explore_sweep_option(argc, argv, &i, &space_path, &out_dir, &opt);
    if (r < 0) return 2;
    if (r > 0) continue;
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      explore_usage(stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "%s explore: unknown option '%s' (see --help)\n", xdl_prog, a);
      return 2;
    } else if (path) {
      fprintf(stderr, "%s explore: more than one model given ('%s' and '%s')\n", xdl_prog, path, a);
      return 2;
    } else {
      path = a;
    }
  }
  if (!path) {
    fprintf(stderr, "%s explore: no model given (see --help)\n", xdl_prog);
    return 2;
  }
  if (!*out_dir) {
    fprintf(stderr, "%s: --out needs a directory name\n", xdl_prog);
    return 2;
  }
  int code = 0;
  DesignSpace *space = explore_load_space(space_path, &code);
  if (!space) return code;
  ExploreWorkloads wl;
  memset(&wl, 0, sizeof wl);
  DseResult r;
  memset(&r, 0, sizeof r);
  Diag d;
  diag_init(&d);
  if (!explore_check_out_dir(out_dir)) {
    code = 2;
    goto done;
  }
  if (explore_load_workloads(&m, path, space, &wl, &d) != XDL_OK) goto fail;
  const Schedule *s = wl.s;
  opt.memory = wl.mem;
  if (space_workload_param(space) >= 0) {
    opt.workloads = wl.ws;
    opt.n_workloads = wl.n;
  }
  ExploreBar bar = {.label = "sweep", .last_s = 0, .erased = false};
  if (isatty(STDERR_FILENO)) {
    opt.progress = explore_progress;
    opt.ud = &bar;
  }
  if (dse_sweep(s, space, &opt, &r, &d) != XDL_OK) goto fail;
  if (r.n_feasible == 0) {
    char why[512];
    explain_infeasible(space, &r, why, sizeof why);
    diag_error(&d, XDL_ERR_INPUT, "%s:%d: no design point meets the constraints: %s",
               space->path[0] ? space->path : space->name, space->limits_line, why);
    goto fail;
  }
  if (report_dse_write(out_dir, s, space, &r, &d) != XDL_OK) goto fail;
  if (json) {
    if (report_dse_json(stdout, s, space, &r, true, &d) != XDL_OK) goto fail;
  } else {
    printf("%s: %" PRId64 " MACs, %u tasks; space %s: %" PRId64 " points (%" PRId64
           " array configurations), %" PRId64 " feasible, %" PRId64 " Pareto-optimal over ",
           s->model ? s->model : path, s->total_macs, s->n_tasks,
           space->path[0] ? space->path : space->name, r.n_points, r.n_array_configs, r.n_feasible,
           r.n_pareto);
    for (int k = 0; k < r.n_objs; k++)
      printf("%s%s", k ? ", " : "", pareto_objective_name(r.objs[k]));
    printf("\n");
    report_memory_text(stdout, wl.mem, m.pass.train);
    printf("\n");
    report_dse_table(stdout, space, &r);
    printf("\nwrote %s/points.csv, %s/pareto.csv, %s/pareto.json, %s/phases.csv, "
           "%s/capsule_roles.csv, %s/pareto.svg\n",
           out_dir, out_dir, out_dir, out_dir, out_dir, out_dir);
  }
  code = fflush(stdout) == 0 ? 0 : 1;
  goto done;
fail:
  fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
  code = args_exit_code(d.status == XDL_OK ? XDL_ERR_INTERNAL : d.status);
done:
  dse_result_free(&r);
  explore_workloads_free(&wl);
  xdl_free(space);
  return code;
}
