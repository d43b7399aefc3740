/* dse.c — the design-space sweep: every point of a DesignSpace costed on one Schedule, in POSIX
 * threads, then the constraints and the Pareto filter (pareto.c). Points are grouped by the
 * systolic-array configuration they induce (rows, cols, dataflow, SRAM words, bandwidth mode
 * and bandwidth): each group evaluates the systolic model once per distinct layer (GEMM view
 * or convolution) of the schedule, and every point of the group (differing only in clock, bit
 * widths, vector lanes or energy figures) is costed from those shared results by
 * cost_estimate_shared, the same arithmetic cost_estimate uses. A space that sweeps a workload
 * parameter (routing_iterations) has one schedule per value of it: groups then also split by
 * that value, and each group is costed on its own schedule's distinct layers. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"

/* ---- distinct array layers of a schedule -------------------------------------------------- */

/* The distinct systolic-model layers of the array tasks, and for every task its layer's index
 * (DSE_NO_LAYER for vector tasks and empty GEMMs, which cost nothing on the array). */
enum { DSE_NO_LAYER = -1 };

typedef struct LayerSet {
  SysLayer *layers;
  int32_t *task_layer; /* n_tasks entries */
  int32_t n_layers;
} LayerSet;

static bool layer_same(const SysLayer *a, const SysLayer *b) {
  return a->ifmap_h == b->ifmap_h && a->ifmap_w == b->ifmap_w && a->filter_h == b->filter_h &&
         a->filter_w == b->filter_w && a->channels == b->channels &&
         a->num_filters == b->num_filters && a->stride_h == b->stride_h &&
         a->stride_w == b->stride_w && a->repeat == b->repeat;
}

/* Schedules hold at most a few thousand tasks, and distinct layers are fewer: a linear search
 * per task is cheap next to one systolic evaluation per (group, layer). */
static bool layerset_build(LayerSet *ls, const Schedule *s) {
  memset(ls, 0, sizeof *ls);
  size_t n = s->n_tasks ? s->n_tasks : 1;
  ls->layers = xdl_malloc(n * sizeof *ls->layers);
  ls->task_layer = xdl_malloc(n * sizeof *ls->task_layer);
  if (!ls->layers || !ls->task_layer) return false;
  for (uint32_t i = 0; i < s->n_tasks; i++) {
    SysLayer l;
    ls->task_layer[i] = DSE_NO_LAYER;
    if (!cost_task_layer(&s->tasks[i], &l)) continue;
    int32_t k = 0;
    while (k < ls->n_layers && !layer_same(&ls->layers[k], &l))
      k++;
    if (k == ls->n_layers) ls->layers[ls->n_layers++] = l;
    ls->task_layer[i] = k;
  }
  return true;
}

static void layerset_free(LayerSet *ls) {
  xdl_free(ls->layers);
  xdl_free(ls->task_layer);
}

/* ---- grouping points by systolic configuration -------------------------------------------- */

static bool syscfg_same(const SystolicConfig *a, const SystolicConfig *b) {
  return a->rows == b->rows && a->cols == b->cols && a->df == b->df &&
         a->ifmap_sram_words == b->ifmap_sram_words &&
         a->filter_sram_words == b->filter_sram_words &&
         a->ofmap_sram_words == b->ofmap_sram_words && a->bw_mode_user == b->bw_mode_user &&
         a->dram_bw_words == b->dram_bw_words && a->word_bytes == b->word_bytes &&
         a->ifmap_offset == b->ifmap_offset && a->filter_offset == b->filter_offset &&
         a->ofmap_offset == b->ofmap_offset;
}

static uint64_t mix64(uint64_t h, int64_t v) {
  h ^= (uint64_t)v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 29);
}

static uint64_t syscfg_hash(const SystolicConfig *c) {
  const int64_t f[] = {c->rows,
                       c->cols,
                       c->df,
                       c->ifmap_sram_words,
                       c->filter_sram_words,
                       c->ofmap_sram_words,
                       c->bw_mode_user,
                       c->dram_bw_words,
                       c->word_bytes,
                       c->ifmap_offset,
                       c->filter_offset,
                       c->ofmap_offset};
  uint64_t h = 0x243f6a8885a308d3ull;
  for (size_t i = 0; i < sizeof f / sizeof *f; i++)
    h = mix64(h, f[i]);
  return h;
}

/* Points [first, first + n) of a space partitioned by systolic configuration and workload:
 * group gi holds the point offsets members[start[gi] .. start[gi + 1]) (ascending), its
 * configuration and its workload (value index of the workload parameter, 0 without one). */
typedef struct Groups {
  SystolicConfig *cfgs;
  int *workload;
  int64_t *start;   /* n_groups + 1 */
  int64_t *members; /* n point offsets */
  int64_t n_groups;
} Groups;

static void groups_free(Groups *g) {
  xdl_free(g->cfgs);
  xdl_free(g->workload);
  xdl_free(g->start);
  xdl_free(g->members);
  memset(g, 0, sizeof *g);
}

/* Builds the groups with an open-addressing table from configuration to group. Returns false
 * when out of memory. */
static bool groups_build(Groups *g, const DesignSpace *space, const int *ids, int64_t first,
                         int64_t n) {
  memset(g, 0, sizeof *g);
  uint64_t cap = 16;
  while (cap < (uint64_t)n * 2)
    cap <<= 1;
  int64_t *slot = xdl_malloc(cap * sizeof *slot); /* group id or -1 */
  int64_t *of_point = xdl_malloc((size_t)n * sizeof *of_point);
  g->cfgs = xdl_malloc((size_t)n * sizeof *g->cfgs);
  g->workload = xdl_malloc((size_t)n * sizeof *g->workload);
  g->members = xdl_malloc((size_t)n * sizeof *g->members);
  g->start = xdl_calloc((size_t)n + 1, sizeof *g->start);
  Accel *a = xdl_malloc(sizeof *a);
  if (!slot || !of_point || !g->cfgs || !g->workload || !g->members || !g->start || !a)
    goto fail;
  for (uint64_t i = 0; i < cap; i++)
    slot[i] = -1;
  for (int64_t p = 0; p < n; p++) {
    space_point_ids(space, ids, first + p, a);
    SystolicConfig c = arch_systolic_config(a);
    int wk = space_point_workload(space, first + p);
    uint64_t h = mix64(syscfg_hash(&c), wk) & (cap - 1);
    while (slot[h] >= 0 &&
           !(syscfg_same(&g->cfgs[slot[h]], &c) && g->workload[slot[h]] == wk))
      h = (h + 1) & (cap - 1);
    if (slot[h] < 0) {
      slot[h] = g->n_groups;
      g->workload[g->n_groups] = wk;
      g->cfgs[g->n_groups++] = c;
    }
    of_point[p] = slot[h];
    g->start[slot[h] + 1]++;
  }
  for (int64_t gi = 0; gi < g->n_groups; gi++)
    g->start[gi + 1] += g->start[gi];
  /* Counting sort by group: fill cursors start from each group's first slot. */
  int64_t *cursor = slot; /* reuse: cap >= n_groups */
  for (int64_t gi = 0; gi < g->n_groups; gi++)
    cursor[gi] = g->start[gi];
  for (int64_t p = 0; p < n; p++)
    g->members[cursor[of_point[p]]++] = p;
  xdl_free(a);
  xdl_free(of_point);
  xdl_free(slot);
  return true;
fail:
  xdl_free(a);
  xdl_free(of_point);
  xdl_free(slot);
  groups_free(g);
  return false;
}

/* ---- the worker pool ---------------------------------------------------------------------- */

typedef struct Sweep {
  const DseWorkload *ws;     /* n_ws workloads (one: the sweep's schedule) */
  int n_ws;
  const DesignSpace *space;
  const DseOptions *opt;
  const LayerSet *gs;        /* one per workload */
  const Groups *groups;
  int ids[SPACE_MAX_PARAMS]; /* space_param_id of every param */
  int64_t first;             /* space index of point offset 0 */
  DsePoint *points;
  int64_t n_points;
  atomic_llong next_group; /* next group to claim */
  atomic_llong done;       /* points finished */
  atomic_bool stop;        /* set on the first error */
  pthread_mutex_t lock;    /* guards diag */
  Diag diag;
} Sweep;

/* One worker's scratch, allocated by the calling thread before the workers start (so the
 * workers never allocate). */
typedef struct Worker {
  Sweep *w;
  SystolicResult *figs; /* the most distinct layers of any workload: the group's results */
  Accel *a;
  bool report;      /* the calling thread: reports progress */
} Worker;

/* Records a worker's error at space point `point` (the first error wins, naming the point's
 * parameters) and stops the others. */
static void sweep_fail(Sweep *w, const Diag *wd, int64_t point) {
  char params[512] = "";
  double values[SPACE_MAX_PARAMS];
  space_point_values(w->space, point, values);
  size_t len = 0;
  for (int p = 0; p < w->space->n_params && len < sizeof params; p++) {
    char v[32];
    len += (size_t)snprintf(params + len, sizeof params - len, "%s%s=%s", p ? " " : "",
                            w->space->params[p].name,
                            space_format_value(&w->space->params[p], values[p], v, sizeof v));
  }
  pthread_mutex_lock(&w->lock);
  if (w->diag.status == XDL_OK)
    diag_error(&w->diag, wd->status, "design point %lld (%s): %s", (long long)point, params,
               wd->msg);
  pthread_mutex_unlock(&w->lock);
  atomic_store(&w->stop, true);
}

/* Costs every point of group gi into w->points from the group's shared systolic results. On
 * failure *bad is the space index of the point that failed (the group's first for a systolic
 * error). */
static XdlStatus sweep_group(Worker *k, int64_t gi, int64_t *bad, Diag *d) {
  Sweep *w = k->w;
  const Groups *g = w->groups;
  const SystolicConfig *cfg = &g->cfgs[gi];
  const DseWorkload *wl = &w->ws[g->workload[gi]];
  const LayerSet *ls = &w->gs[g->workload[gi]];
  *bad = w->first + g->members[g->start[gi]];
  /* The reference path (per_point_cost) shares nothing: cost_estimate per point below. */
  int32_t n_shared = w->opt->per_point_cost ? 0 : ls->n_layers;
  for (int32_t v = 0; v < n_shared; v++) {
    XdlStatus st = systolic_eval_fast(cfg, &ls->layers[v], &k->figs[v], d);
    if (st != XDL_OK) return st;
  }
  const MemoryFootprint *mem = wl->memory ? wl->memory : w->opt->memory;
  for (int64_t m = g->start[gi]; m < g->start[gi + 1]; m++) {
    DsePoint *pt = &w->points[g->members[m]];
    pt->index = *bad = w->first + g->members[m];
    space_point_ids(w->space, w->ids, pt->index, k->a);
    XdlStatus st = w->opt->per_point_cost
                       ? cost_estimate(wl->s, k->a, false, &pt->est, NULL, d)
                       : cost_estimate_shared(wl->s, k->a, k->figs, ls->task_layer, &pt->est,
                                              NULL, d);
    if (st != XDL_OK) return st;
    pt->est.memory_bytes = mem ? mem->total_bytes : 0;
    pt->feasible = dse_feasible(&w->space->limits, k->a, &pt->est);
  }
  return XDL_OK;
}

/* Claims groups until none is left or another worker failed; the calling thread's worker also
 * reports progress after each of its groups. */
static void *sweep_work(void *arg) {
  Worker *k = arg;
  Sweep *w = k->w;
  Diag d;
  diag_init(&d);
  for (;;) {
    if (atomic_load(&w->stop)) break;
    int64_t gi = atomic_fetch_add(&w->next_group, 1);
    if (gi >= w->groups->n_groups) break;
    int64_t bad = 0;
    if (sweep_group(k, gi, &bad, &d) != XDL_OK) {
      sweep_fail(w, &d, bad);
      break;
    }
    int64_t n = w->groups->start[gi + 1] - w->groups->start[gi];
    int64_t done = atomic_fetch_add(&w->done, n) + n;
    if (k->report && w->opt->progress) w->opt->progress(done, w->n_points, w->opt->ud);
  }
  return NULL;
}

/* ---- constraints and the public entry points ---------------------------------------------- */

int dse_default_jobs(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > DSE_MAX_JOBS ? DSE_MAX_JOBS : (int)n;
}

double dse_sram_bytes(const Accel *a) {
  return (a->ifmap_sram_kib + a->filter_sram_kib + a->ofmap_sram_kib) * 1024.0;
}

bool dse_feasible(const SpaceConstraints *lim, const Accel *a, const Estimate *e) {
  if (lim->max_area_mm2 > 0 && !(e->area_mm2 <= lim->max_area_mm2)) return false;
  if (lim->max_power_w > 0 && !(e->power_w <= lim->max_power_w)) return false;
  if (lim->max_latency_s > 0 && !(e->latency_s <= lim->max_latency_s)) return false;
  if (lim->max_memory_bytes > 0 && !((double)e->memory_bytes <= lim->max_memory_bytes))
    return false;
  if (lim->max_sram_bytes > 0 && !(dse_sram_bytes(a) <= lim->max_sram_bytes)) return false;
  return true;
}

void dse_options_default(DseOptions *o) {
  memset(o, 0, sizeof *o);
  o->objs[0] = OBJ_LATENCY;
  o->objs[1] = OBJ_ENERGY;
  o->objs[2] = OBJ_AREA;
  o->n_objs = 3;
}

/* Contract: s is a built schedule, space has n_points >= 1, opt valid (objectives distinct).
 * On success out owns points [first, first + count) of the space (all when count is 0), each
 * with its Estimate, feasibility and Pareto mark; free with dse_result_free. On failure out is
 * empty and d names the design point (XDL_ERR_INPUT) or reports out of memory. */
XdlStatus dse_sweep(const Schedule *s, const DesignSpace *space, const DseOptions *opt,
                    DseResult *out, Diag *d) {
  memset(out, 0, sizeof *out);
  LayerSet *gs = NULL;
  Groups groups;
  memset(&groups, 0, sizeof groups);
  pthread_t threads[DSE_MAX_JOBS];
  Worker workers[DSE_MAX_JOBS];
  int n_threads = 0;
  Sweep *w = NULL;
  SystolicResult *figs = NULL;
  Accel *accels = NULL;
  int64_t first = opt->first, n = opt->count ? opt->count : space->n_points - opt->first;
  if (first < 0 || n <= 0 || first + n > space->n_points)
    return diag_error(d, XDL_ERR_INPUT,
                      "design points [%lld, %lld) are not in the space (%lld points)",
                      (long long)first, (long long)(first + n), (long long)space->n_points);
  if (opt->n_objs < 1 || opt->n_objs > OBJ_N)
    return diag_error(d, XDL_ERR_INPUT, "between 1 and %d objectives are needed", OBJ_N);
  bool wants_memory = space->limits.max_memory_bytes > 0;
  for (int k = 0; k < opt->n_objs; k++)
    wants_memory = wants_memory || opt->objs[k] == OBJ_MEMORY;
  if (wants_memory && !opt->memory)
    return diag_error(d, XDL_ERR_INPUT, "the memory objective or max_memory_bytes constraint "
                      "needs the workload's memory footprint, which was not computed");
  int ids[SPACE_MAX_PARAMS];
  for (int p = 0; p < space->n_params; p++)
    if ((ids[p] = space_param_id(space->params[p].name)) < 0)
      return diag_error(d, XDL_ERR_INPUT, "unknown design-space parameter '%s'",
                        space->params[p].name);
  /* One workload per value of the workload parameter, or the one schedule s. */
  int wp = space_workload_param(space);
  DseWorkload single = {s, NULL};
  const DseWorkload *ws = &single;
  int n_ws = 1;
  if (wp >= 0) {
    if (!opt->workloads || opt->n_workloads != space->params[wp].n_values)
      return diag_error(d, XDL_ERR_INPUT,
                        "the space sweeps '%s' over %d values but %d workloads were given",
                        space->params[wp].name, space->params[wp].n_values, opt->n_workloads);
    ws = opt->workloads;
    n_ws = opt->n_workloads;
  }
  gs = xdl_calloc((size_t)n_ws, sizeof *gs);
  if (!gs) goto oom;
  int32_t max_layers = 1;
  for (int k = 0; k < n_ws; k++) {
    if (!layerset_build(&gs[k], ws[k].s)) goto oom;
    if (gs[k].n_layers > max_layers) max_layers = gs[k].n_layers;
  }
  if (!groups_build(&groups, space, ids, first, n)) goto oom;
  int jobs = opt->jobs > 0 ? opt->jobs : dse_default_jobs();
  if (jobs > DSE_MAX_JOBS) jobs = DSE_MAX_JOBS;
  if (jobs > groups.n_groups) jobs = (int)groups.n_groups;
  out->points = xdl_calloc((size_t)n, sizeof *out->points);
  w = xdl_calloc(1, sizeof *w);
  figs = xdl_malloc((size_t)jobs * (size_t)max_layers * sizeof *figs);
  accels = xdl_malloc((size_t)jobs * sizeof *accels);
  if (!out->points || !w || !figs || !accels) goto oom;
  out->n_points = n;
  *w = (Sweep){.ws = ws, .n_ws = n_ws, .space = space, .opt = opt, .gs = gs,
               .groups = &groups, .first = first, .points = out->points, .n_points = n};
  memcpy(w->ids, ids, sizeof ids);
  atomic_init(&w->next_group, 0);
  atomic_init(&w->done, 0);
  atomic_init(&w->stop, false);
  diag_init(&w->diag);
  pthread_mutex_init(&w->lock, NULL);
  for (int t = 0; t < jobs; t++)
    workers[t] = (Worker){w, figs + (size_t)t * (size_t)max_layers, &accels[t], t == 0};
  /* Worker 0 is the calling thread; a thread that cannot be started leaves its share to the
   * others (groups are claimed dynamically). */
  for (int t = 1; t < jobs; t++)
    if (pthread_create(&threads[n_threads], NULL, sweep_work, &workers[t]) == 0) n_threads++;
  sweep_work(&workers[0]);
  for (int t = 0; t < n_threads; t++)
    pthread_join(threads[t], NULL);
  pthread_mutex_destroy(&w->lock);
  if (w->diag.status != XDL_OK) {
    diag_error(d, w->diag.status, "%s", w->diag.msg);
    goto fail;
  }
  out->n_array_configs = groups.n_groups;
  for (int k = 0; k < n_ws; k++)
    out->n_layers += gs[k].n_layers;
  if (wp >= 0) {
    out->workloads = ws;
    out->n_workloads = n_ws;
  }
  out->has_memory = opt->memory != NULL;
  if (opt->memory) out->memory = *opt->memory;
  for (int64_t p = 0; p < n; p++)
    out->n_feasible += out->points[p].feasible;
  if (!pareto_mark(out->points, n, opt->objs, opt->n_objs)) goto oom;
  for (int64_t p = 0; p < n; p++)
    out->n_pareto += out->points[p].pareto;
  for (int k = 0; k < opt->n_objs; k++)
    out->objs[k] = opt->objs[k];
  out->n_objs = opt->n_objs;
  if (opt->progress) opt->progress(n, n, opt->ud);
  xdl_free(accels);
  xdl_free(figs);
  xdl_free(w);
  groups_free(&groups);
  for (int k = 0; k < n_ws; k++)
    layerset_free(&gs[k]);
  xdl_free(gs);
  return XDL_OK;
oom:
  diag_error(d, XDL_ERR_INTERNAL, "out of memory while sweeping %lld design points", (long long)n);
fail:
  xdl_free(accels);
  xdl_free(figs);
  xdl_free(w);
  groups_free(&groups);
  for (int k = 0; gs && k < n_ws; k++)
    layerset_free(&gs[k]);
  xdl_free(gs);
  dse_result_free(out);
  return d->status;
}

void dse_result_free(DseResult *r) {
  xdl_free(r->points);
  memset(r, 0, sizeof *r);
}

const Schedule *dse_point_schedule(const DseResult *r, const DesignSpace *space,
                                   const Schedule *s, int64_t index) {
  if (!r->workloads) return s;
  int k = space_point_workload(space, index);
  return k < r->n_workloads ? r->workloads[k].s : s;
}
