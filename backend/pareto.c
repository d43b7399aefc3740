/* pareto.c — the Pareto filter of a design-space sweep: marks the feasible points that no other
 * feasible point dominates over the chosen objectives (each minimized). Two objectives take one
 * sort and a sweep (O(n log n)); more take a lexicographic sort and a skyline scan against the
 * front found so far. Points with a non-finite objective never make the front. */
#include <math.h>
#include <stdlib.h>

#include "backend/backend.h"

/* One candidate: its objective values (unused slots 0) and its position in the point array. */
typedef struct Cand {
  double key[OBJ_N];
  int64_t at;
} Cand;

double pareto_objective(const Estimate *e, Objective o) {
  switch (o) {
  case OBJ_LATENCY: return e->latency_s;
  case OBJ_ENERGY: return e->energy_j;
  case OBJ_AREA: return e->area_mm2;
  case OBJ_POWER: return e->power_w;
  case OBJ_MEMORY: return (double)e->memory_bytes;
  case OBJ_N: break;
  }
  return NAN;
}

const char *pareto_objective_name(Objective o) {
  static const char *const names[OBJ_N] = {"latency", "energy", "area", "power", "memory"};
  return (unsigned)o < OBJ_N ? names[o] : "unknown";
}

/* Lexicographic order over every key slot, then position (so the order is total and the
 * result does not depend on qsort's stability). */
static int cand_cmp(const void *pa, const void *pb) {
  const Cand *a = pa, *b = pb;
  for (int i = 0; i < OBJ_N; i++) {
    if (a->key[i] < b->key[i]) return -1;
    if (a->key[i] > b->key[i]) return 1;
  }
  return (a->at > b->at) - (a->at < b->at);
}

/* a dominates b: no worse in every objective and better in at least one. */
static bool dominates(const Cand *a, const Cand *b, int n_objs) {
  bool better = false;
  for (int i = 0; i < n_objs; i++) {
    if (a->key[i] > b->key[i]) return false;
    if (a->key[i] < b->key[i]) better = true;
  }
  return better;
}

/* Two objectives, candidates sorted by (key0, key1). Within a run of equal key0 only the
 * entries with the run's smallest key1 can survive (the others are dominated by them), and they
 * survive iff that key1 is strictly below every key1 seen in earlier runs (an earlier entry
 * with an equal key1 has a smaller key0 and dominates). Equal vectors all survive. */
static void front_2d(DsePoint *pts, const Cand *c, int64_t n) {
  double best = INFINITY;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && c[j].key[0] == c[i].key[0])
      j++;
    double run_min = c[i].key[1];
    if (run_min < best) {
      for (int64_t k = i; k < j && c[k].key[1] == run_min; k++)
        pts[c[k].at].pareto = true;
      best = run_min;
    }
    i = j;
  }
}

/* Any number of objectives, candidates in lexicographic order: a dominator always sorts
 * before the point it dominates, and a dominated point is dominated by some front member
 * (dominance is transitive), so comparing against the front so far suffices. front has room
 * for n entries. */
static void front_skyline(DsePoint *pts, const Cand *c, int64_t n, int n_objs, int64_t *front) {
  int64_t n_front = 0;
  for (int64_t i = 0; i < n; i++) {
    bool dominated = false;
    for (int64_t f = 0; f < n_front && !dominated; f++)
      dominated = dominates(&c[front[f]], &c[i], n_objs);
    if (dominated) continue;
    front[n_front++] = i;
    pts[c[i].at].pareto = true;
  }
}

/* Contract: objs holds n_objs distinct objectives (1 <= n_objs <= OBJ_N). Clears every pareto
 * flag, then sets it on the feasible points no other feasible point dominates. Returns false
 * only when out of memory (every flag is then left clear). */
bool pareto_mark(DsePoint *pts, int64_t n, const Objective *objs, int n_objs) {
  for (int64_t i = 0; i < n; i++)
    pts[i].pareto = false;
  if (n_objs <= 0) return true;
  int64_t n_cand = 0;
  for (int64_t i = 0; i < n; i++)
    n_cand += pts[i].feasible;
  if (n_cand == 0) return true;
  Cand *c = xdl_malloc((size_t)n_cand * sizeof *c);
  int64_t *front = n_objs > 2 ? xdl_malloc((size_t)n_cand * sizeof *front) : NULL;
  if (!c || (n_objs > 2 && !front)) goto fail;
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!pts[i].feasible) continue;
    Cand *x = &c[m];
    bool finite = true;
    for (int k = 0; k < OBJ_N; k++)
      x->key[k] = 0;
    for (int k = 0; k < n_objs; k++) {
      x->key[k] = pareto_objective(&pts[i].est, objs[k]);
      finite = finite && isfinite(x->key[k]);
    }
    x->at = i;
    if (finite) m++;
  }
  qsort(c, (size_t)m, sizeof *c, cand_cmp);
  if (n_objs == 1) {
    for (int64_t k = 0; k < m && c[k].key[0] == c[0].key[0]; k++)
      pts[c[k].at].pareto = true;
  } else if (n_objs == 2) {
    front_2d(pts, c, m);
  } else {
    front_skyline(pts, c, m, n_objs, front);
  }
  xdl_free(front);
  xdl_free(c);
  return true;
fail:
  xdl_free(front);
  xdl_free(c);
  return false;
}
