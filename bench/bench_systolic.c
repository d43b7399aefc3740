/* bench_systolic.c — times the systolic-array model on every SCALE-Sim v2 run of the public
 * reference set (AlexNet 32x32 os/ws/is among them) and compares with SCALE-Sim's recorded wall
 * time and peak memory (runs.csv): per-layer time (fast path: each layer timed on its own),
 * per-run time and ratio, the model's heap peak per run (counted through the allocation hook)
 * and this process's peak RSS. Usage: bench_systolic REFDATA_DIR [fast|exact]. Driven by
 * bench_systolic.sh, which also times the CLI one process per run; asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend/backend.h"
#include "xploredl.h"

enum { MAX_COLS = 64, MAX_LAYERS = 16, MAX_RUNS = 64 };

typedef struct Run {
  char id[96];
  double wall_s;
  int64_t rss_kb;
  SystolicConfig cfg;
  SysLayer layers[MAX_LAYERS];
  char names[MAX_LAYERS][32];
  int n_layers;
} Run;

static Run runs[MAX_RUNS];
static int n_runs;

/* The model's own heap: every allocation goes through xdl_set_allocator's hook, which keeps
 * each block's size in a header so that the live and the peak byte counts are exact. */
static size_t heap_live, heap_peak;

static void *counting_realloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  size_t *h = ptr ? (size_t *)ptr - 2 : NULL; /* two words keep the payload 16-byte aligned */
  if (h) heap_live -= h[0];
  if (size == 0) {
    free(h);
    return NULL;
  }
  size_t *n = realloc(h, size + 2 * sizeof(size_t));
  if (!n) {
    if (h) heap_live += h[0];
    return NULL;
  }
  n[0] = size;
  heap_live += size;
  if (heap_live > heap_peak) heap_peak = heap_live;
  return n + 2;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int split(char *s, char **cols) {
  int n = 0;
  s[strcspn(s, "\r\n")] = '\0';
  cols[n++] = s;
  for (; *s && n < MAX_COLS; s++) {
    if (*s == '"') { /* quoted note field: skip to the closing quote */
      char *e = strchr(s + 1, '"');
      if (!e) break;
      s = e;
      continue;
    }
    if (*s == ',') *s = '\0', cols[n++] = s + 1;
  }
  return n;
}

static int find(char **hdr, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(hdr[i], name) == 0) return i;
  return -1;
}

static Run *run_by_id(const char *id) {
  for (int i = 0; i < n_runs; i++)
    if (strcmp(runs[i].id, id) == 0) return &runs[i];
  return NULL;
}

/* Loads runs.csv (v2 rows) and the layers of each run from reference.csv. */
static bool load(const char *refdir) {
  char path[1024], line[8192], hline[8192], *hdr[MAX_COLS], *c[MAX_COLS];
  snprintf(path, sizeof path, "%s/scalesim/public/runs.csv", refdir);
  FILE *f = fopen(path, "r");
  if (!f || !fgets(hline, sizeof hline, f)) return false;
  int nh = split(hline, hdr);
  int i_ver = find(hdr, nh, "version"), i_id = find(hdr, nh, "run_id");
  int i_wall = find(hdr, nh, "wall_s"), i_rss = find(hdr, nh, "max_rss_kb");
  while (fgets(line, sizeof line, f) && n_runs < MAX_RUNS) {
    if (split(line, c) < nh || strcmp(c[i_ver], "v2") != 0) continue;
    Run *r = &runs[n_runs++];
    snprintf(r->id, sizeof r->id, "%s", c[i_id]);
    r->wall_s = atof(c[i_wall]);
    r->rss_kb = atoll(c[i_rss]);
  }
  fclose(f);
  snprintf(path, sizeof path, "%s/scalesim/public/reference.csv", refdir);
  f = fopen(path, "r");
  if (!f || !fgets(hline, sizeof hline, f)) return false;
  nh = split(hline, hdr);
#define COL(name) c[find(hdr, nh, name)]
  while (fgets(line, sizeof line, f)) {
    if (split(line, c) < nh) continue;
    Run *r = run_by_id(COL("run_id"));
    if (!r || r->n_layers == MAX_LAYERS) continue;
    SystolicConfig *g = &r->cfg;
    g->rows = atoll(COL("array_h")), g->cols = atoll(COL("array_w"));
    const char *df = COL("dataflow");
    g->df = strcmp(df, "os") == 0 ? DF_OS : strcmp(df, "ws") == 0 ? DF_WS : DF_IS;
    g->ifmap_sram_words = atoll(COL("ifmap_sram_kb")) * 1024;
    g->filter_sram_words = atoll(COL("filter_sram_kb")) * 1024;
    g->ofmap_sram_words = atoll(COL("ofmap_sram_kb")) * 1024;
    g->bw_mode_user = strcmp(COL("bw_mode"), "USER") == 0;
    g->dram_bw_words = g->bw_mode_user ? atoll(COL("dram_bw_words_per_cycle")) : 10;
    g->word_bytes = 1, g->filter_offset = 10000000, g->ofmap_offset = 20000000;
    SysLayer l = {atoll(COL("ifmap_h")),  atoll(COL("ifmap_w")),     atoll(COL("filter_h")),
                  atoll(COL("filter_w")), atoll(COL("channels")),    atoll(COL("num_filters")),
                  atoll(COL("stride_h")), atoll(COL("stride_w")),    1};
    snprintf(r->names[r->n_layers], sizeof r->names[0], "%s", COL("layer_name"));
    r->layers[r->n_layers++] = l;
  }
#undef COL
  fclose(f);
  return n_runs > 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_systolic REFDATA_DIR [fast|exact]\n");
    return 2;
  }
  bool exact = argc > 2 && strcmp(argv[2], "exact") == 0;
  if (!load(argv[1])) {
    fprintf(stderr, "bench_systolic: cannot read %s/scalesim/public/{runs,reference}.csv\n",
            argv[1]);
    return 2;
  }
  xdl_set_allocator(&(XdlAllocator){counting_realloc, NULL});
  printf("%s path, %d SCALE-Sim v2 runs\n", exact ? "exact" : "fast", n_runs);
  printf("%-44s %6s %12s %12s %10s %12s %12s\n", "run", "layers", "ns/layer", "run time s",
         "scalesim s", "speed ratio", "heap peak kB");
  double worst_ratio = 1e300, total_s = 0, total_ref_s = 0, worst_ns = 0, worst_layer_s = 0;
  int n_layers = 0, layers_fast = 0;
  int64_t max_ref_rss = 0, min_ref_rss = INT64_MAX;
  SystolicResult res;
  Diag d;
  for (int i = 0; i < n_runs; i++) {
    Run *r = &runs[i];
    heap_peak = heap_live;
    double t0 = now_s(), run_s;
    if (exact) {
      for (int k = 0; k < r->n_layers; k++) {
        diag_init(&d);
        if (systolic_eval_exact(&r->cfg, &r->layers[k], &res, &d) != XDL_OK) {
          fprintf(stderr, "bench_systolic: %s: %s\n", r->id, d.msg);
          return 1;
        }
      }
      run_s = now_s() - t0;
    } else { /* each layer repeated for 5 ms: a stable per-layer figure */
      run_s = 0;
      for (int k = 0; k < r->n_layers; k++) {
        double tk = now_s(), layer_s;
        long n = 0;
        do {
          for (int j = 0; j < 64; j++) {
            diag_init(&d);
            systolic_eval_fast(&r->cfg, &r->layers[k], &res, &d);
          }
          n += 64;
        } while ((layer_s = now_s() - tk) < 0.005);
        layer_s /= (double)n;
        run_s += layer_s;
        n_layers++;
        layers_fast += layer_s <= 200e-9;
        if (layer_s > worst_layer_s) worst_layer_s = layer_s;
      }
    }
    double ns = run_s / r->n_layers * 1e9, ratio = r->wall_s / run_s;
    if (ratio < worst_ratio) worst_ratio = ratio;
    if (ns > worst_ns) worst_ns = ns;
    total_s += run_s, total_ref_s += r->wall_s;
    if (r->rss_kb > max_ref_rss) max_ref_rss = r->rss_kb;
    if (r->rss_kb < min_ref_rss) min_ref_rss = r->rss_kb;
    printf("%-44s %6d %12.0f %12.3g %10.2f %12.3g %12.1f\n", r->id, r->n_layers, ns, run_s,
           r->wall_s, ratio, (double)heap_peak / 1024);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("\nall runs: %.3g s (SCALE-Sim %.0f s), ratio %.3g; worst run ratio %.3g;"
         " worst mean ns/layer %.0f\n",
         total_s, total_ref_s, total_ref_s / total_s, worst_ratio, worst_ns);
  if (!exact)
    printf("layers evaluated in <= 200 ns: %d/%d; slowest layer %.0f ns\n", layers_fast,
           n_layers, worst_layer_s * 1e9);
  printf("peak RSS of this process over all runs: %ld kB; SCALE-Sim per run %lld..%lld kB:"
         " %.0fx (smallest run) .. %.0fx (largest)\n",
         ru.ru_maxrss, (long long)min_ref_rss, (long long)max_ref_rss,
         (double)min_ref_rss / (double)ru.ru_maxrss, (double)max_ref_rss / (double)ru.ru_maxrss);
  return 0;
}
