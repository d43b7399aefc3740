/* bench_dse.c — the sweep's speed on one model: the default space (or a space file) swept with
 * a given thread count, best of REPEATS runs, reported as seconds per sweep and (task x design
 * point) pairs per second per core; with --plain the reference path (cost_estimate per point,
 * nothing shared) for comparison. Driven by bench_dse.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "frontend/frontend.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_dse MODEL.onnx JOBS [REPEATS] [--plain] [--space SPACE.xml]\n");
    return 2;
  }
  int jobs = atoi(argv[2]), reps = 5;
  bool plain = false;
  const char *space_path = NULL;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--plain") == 0)
      plain = true;
    else if (strcmp(argv[i], "--space") == 0 && i + 1 < argc)
      space_path = argv[++i];
    else
      reps = atoi(argv[i]);
  }
  if (reps < 1) reps = 1;
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(argv[1], NULL, &d);
  Schedule s;
  memset(&s, 0, sizeof s);
  DesignSpace *space = malloc(sizeof *space);
  /* The inference pipeline, as explore runs it (compact capsule ops are lowered here). */
  if (!g || !space || passes_run(g, NULL, &d) != XDL_OK || schedule_build(g, &s, &d) != XDL_OK) {
    fprintf(stderr, "bench_dse: %s\n", d.msg);
    return 2;
  }
  if (space_path) {
    if (space_load_xml(space_path, space, &d) != XDL_OK) {
      fprintf(stderr, "bench_dse: %s\n", d.msg);
      return 2;
    }
  } else {
    space_default(space);
  }
  DseOptions opt;
  dse_options_default(&opt);
  opt.jobs = jobs;
  opt.per_point_cost = plain;
  double best = 1e300;
  DseResult r;
  memset(&r, 0, sizeof r);
  for (int k = 0; k < reps; k++) {
    dse_result_free(&r);
    double t0 = now_s();
    if (dse_sweep(&s, space, &opt, &r, &d) != XDL_OK) {
      fprintf(stderr, "bench_dse: %s\n", d.msg);
      return 1;
    }
    double t = now_s() - t0;
    if (t < best) best = t;
  }
  int cores = jobs > 0 ? jobs : dse_default_jobs();
  double pairs = (double)s.n_tasks * (double)r.n_points;
  /* tasks points configs layers seconds pairs_per_s_per_core */
  printf("%u %lld %lld %d %.6f %.0f\n", s.n_tasks, (long long)r.n_points,
         (long long)r.n_array_configs, r.n_layers, best, pairs / best / cores);
  dse_result_free(&r);
  free(space);
  schedule_free(&s);
  ir_graph_free(g);
  return 0;
}
