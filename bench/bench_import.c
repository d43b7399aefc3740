/* bench_import.c — time import + shape inference + the inspect report of one ONNX model,
 * repeated, and print per-run milliseconds (min and median). Driven by bench_import.sh, which
 * also measures the process's peak RSS on a single run. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend/backend.h"
#include "frontend/frontend.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_import MODEL.onnx [REPEATS]\n");
    return 2;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 20;
  if (reps < 1) reps = 1;
  double *t = calloc((size_t)reps, sizeof *t);
  FILE *sink = fopen("/dev/null", "w");
  if (!t || !sink) return 1;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ms();
    Diag d;
    diag_init(&d);
    Graph *g = onnx_load(argv[1], NULL, &d);
    if (!g) {
      fprintf(stderr, "bench_import: %s\n", d.msg);
      return 2;
    }
    report_inspect_json(g, sink);
    ir_graph_free(g);
    t[r] = now_ms() - t0;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  printf("%.3f %.3f\n", t[0], t[reps / 2]);
  fclose(sink);
  free(t);
  return 0;
}
