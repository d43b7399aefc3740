/* bench_train.c — the cost of a training step's compilation and of exploring it, on one model:
 * the pass pipeline in training mode (canonicalize, autodiff with loss and optimizer update),
 * the schedule and the memory footprint of the training graph in milliseconds (best of REPEATS,
 * the model re-imported before each), then the sweep of the default space (or a space file) over
 * the training schedule in (task x design point) pairs per second per core. Driven by
 * bench_train.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fail(const Diag *d) {
  fprintf(stderr, "bench_train: %s\n", d->msg);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_train MODEL.onnx JOBS [REPEATS] [--batch N] "
                    "[--optimizer sgd|momentum|adam] [--space SPACE.xml]\n");
    return 2;
  }
  int jobs = atoi(argv[2]), reps = 5;
  const char *space_path = NULL;
  ImportOptions io;
  memset(&io, 0, sizeof io);
  PassOptions po;
  memset(&po, 0, sizeof po);
  po.train = true;
  po.optimizer = OPT_SGD;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--space") == 0 && i + 1 < argc) {
      space_path = argv[++i];
    } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      io.batch = atoll(argv[++i]);
    } else if (strcmp(argv[i], "--optimizer") == 0 && i + 1 < argc) {
      const char *o = argv[++i];
      po.optimizer = strcmp(o, "adam") == 0       ? OPT_ADAM
                     : strcmp(o, "momentum") == 0 ? OPT_MOMENTUM
                                                  : OPT_SGD;
    } else {
      reps = atoi(argv[i]);
    }
  }
  if (reps < 1) reps = 1;
  Diag d;
  diag_init(&d);
  double best_passes = 1e300, best_sched = 1e300, best_mem = 1e300;
  uint32_t fwd_nodes = 0;
  Graph *g = NULL;
  Schedule s;
  memset(&s, 0, sizeof s);
  MemoryFootprint mem;
  for (int k = 0; k < reps; k++) {
    if (g) ir_graph_free(g);
    schedule_free(&s);
    if (!(g = onnx_load(argv[1], &io, &d))) return fail(&d);
    fwd_nodes = g->n_nodes;
    double t0 = now_s();
    if (passes_run(g, &po, &d) != XDL_OK) return fail(&d);
    double t1 = now_s();
    if (schedule_build(g, &s, &d) != XDL_OK) return fail(&d);
    double t2 = now_s();
    if (training_memory(g, &mem, &d) != XDL_OK) return fail(&d);
    double t3 = now_s();
    if (t1 - t0 < best_passes) best_passes = t1 - t0;
    if (t2 - t1 < best_sched) best_sched = t2 - t1;
    if (t3 - t2 < best_mem) best_mem = t3 - t2;
  }
  uint32_t backward_tasks = 0;
  for (uint32_t i = 0; i < s.n_tasks; i++)
    backward_tasks += s.tasks[i].phase != PHASE_FORWARD;
  if (backward_tasks == 0) {
    fprintf(stderr,
            "bench_train: %s: the training pipeline added no backward task (is the "
            "autodiff pass in passes_run?)\n",
            argv[1]);
    return 1;
  }

  DesignSpace *space = malloc(sizeof *space);
  if (!space) return 1;
  if (space_path) {
    if (space_load_xml(space_path, space, &d) != XDL_OK) return fail(&d);
  } else {
    space_default(space);
  }
  DseOptions opt;
  dse_options_default(&opt);
  opt.jobs = jobs;
  opt.memory = &mem;
  double best_sweep = 1e300;
  DseResult r;
  memset(&r, 0, sizeof r);
  for (int k = 0; k < reps; k++) {
    dse_result_free(&r);
    double t0 = now_s();
    if (dse_sweep(&s, space, &opt, &r, &d) != XDL_OK) return fail(&d);
    double t = now_s() - t0;
    if (t < best_sweep) best_sweep = t;
  }
  int cores = jobs > 0 ? jobs : dse_default_jobs();
  double pairs = (double)s.n_tasks * (double)r.n_points;
  /* fwd_nodes train_nodes tasks backward_tasks train_macs passes_ms schedule_ms memory_ms
   * memory_bytes points layers sweep_s pairs_per_s_per_core */
  printf("%u %u %u %u %lld %.3f %.3f %.3f %lld %lld %d %.6f %.0f\n", fwd_nodes, g->n_nodes,
         s.n_tasks, backward_tasks, (long long)s.total_macs, best_passes * 1e3, best_sched * 1e3,
         best_mem * 1e3, (long long)mem.total_bytes, (long long)r.n_points, r.n_layers, best_sweep,
         pairs / best_sweep / cores);
  dse_result_free(&r);
  free(space);
  schedule_free(&s);
  ir_graph_free(g);
  return 0;
}
