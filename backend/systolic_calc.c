/* systolic_calc.c — the fast path's CALC-mode DRAM models (entry points and closed forms in
 * systolic.c): FILTER reads by a fold-level strip model, IFMAP reads by deterministic epoch
 * models (kernel-position steps, pixel-block fold replay) or a reuse-distance model, OFMAP
 * writes and their start/stop cycles in closed form. */
#include <math.h>

#include "backend/backend.h"
#include "backend/systolic_impl.h"

/* ------------------------------------------------------------------------------------------
 * Fast path: closed forms plus a fold-level reuse model of the CALC buffers.
 * ------------------------------------------------------------------------------------------ */
/* Largest t with t(t+1)/2 <= x (x >= 0): the square root, corrected for rounding. */
static int64_t tri_root(int64_t x) {
  int64_t t = (int64_t)((sqrt(8.0 * (double)x + 1) - 1) / 2);
  while (t > 0 && t * (t + 1) / 2 > x) t--;
  while ((t + 1) * (t + 2) / 2 <= x) t++;
  return t;
}

/* Local cycle of request number pos (0-based, cycle then lane order) of a skewed stream (README
 * §3): n lanes each issue len requests on consecutive cycles, lane j from cycle shift + j on.
 * Requests per cycle rise 1, 2, .., m - 1 (m = min(n, len)), stay at m, then fall back to 1:
 * invert the ramps by triangular roots, the plateau by a division. */
static int64_t skewed_cycle(int64_t pos, int64_t n, int64_t len, int64_t shift) {
  int64_t m = min64(n, len), ramp = m * (m - 1) / 2, flat = (n + len - 1 - 2 * (m - 1)) * m;
  if (pos < ramp) return shift + tri_root(pos);
  if (pos < ramp + flat) return shift + m - 1 + (pos - ramp) / m;
  return shift + n + len - 2 - tri_root(n * len - 1 - pos); /* the falling ramp, mirrored */
}

/* Fold-level model of a CALC read buffer fed with a sequence of strips: each strip is an
 * ordered list of d distinct addresses, read whole by a fold, disjoint from other strips, read
 * in the same order every time. Under those conditions the epoch replay collapses to O(1) per
 * fold: within the current epoch only a suffix [x, d) of the strip being re-read can still be
 * resident. */
typedef struct StripModel {
  int64_t q;           /* epoch size Q */
  int64_t fill;        /* adds in the current epoch */
  int64_t adds;        /* DRAM reads so far */
  int64_t strip;       /* id of the strip resident in the current epoch, -1 none */
  int64_t x;           /* resident suffix of that strip starts at x */
  int64_t n_triggers;
  int64_t last_trigger_fold, last_trigger_pos, last_trigger_len;
} StripModel;

/* Reads strip `id` of d addresses during fold f. */
static void strip_read(StripModel *m, int64_t id, int64_t d, int64_t f) {
  int64_t miss = m->strip == id ? m->x : d; /* misses come first, in strip order */
  if (m->fill + miss < m->q) {
    m->fill += miss, m->adds += miss;
    m->strip = id, m->x = 0;
    return;
  }
  /* The epoch fills at position z of the strip; everything after z misses again. */
  int64_t z = m->q - m->fill - 1, rem = d - z - 1;
  m->adds += m->q - m->fill + rem;
  m->n_triggers += 1 + (rem > 0 ? (rem - 1) / m->q : 0);
  int64_t tail = rem % m->q;
  int64_t zlast = rem >= m->q ? d - tail - 1 : z; /* position of the last trigger */
  if (rem > 0 && tail == 0) zlast = d - 1;
  m->last_trigger_fold = f, m->last_trigger_pos = zlast, m->last_trigger_len = d;
  m->fill = tail;
  m->strip = tail > 0 ? id : -1;
  m->x = d - tail;
}

/* Cycle of position pos of a filter strip of len addresses read during fold f: os feeds K
 * window positions to each of len/K columns from cycle j on, is N filters to each of len/N
 * rows from cycle R + j on (README §3). */
static int64_t strip_cycle(const Geom *g, int64_t f, int64_t pos, int64_t len) {
  int64_t per_lane = g->df == DF_OS ? g->K : g->N;
  return f * g->L + skewed_cycle(pos, len / per_lane, per_lane, g->df == DF_OS ? 0 : g->R);
}

/* Cycle of request number t of the operand a ws or is fold loads into the array before it
 * streams (ws filter, is IFMAP: K rows spread over array rows, Sc columns over array columns):
 * every element once per fold, fold by fold (column folds outer), each fold its ru x cu block
 * bottom row first, one row per cycle from R - ru (README §3). */
static int64_t preload_cycle(const Geom *g, int64_t t) {
  int64_t fc = min64(g->Fc - 1, t / (g->K * g->C)), cu = used(fc, g->Fc, g->Sc, g->C);
  int64_t rem = t - fc * g->K * g->C, fr = min64(g->Fr - 1, rem / (g->R * cu));
  int64_t ru = used(fr, g->Fr, g->Sr, g->R);
  return (fc * g->Fr + fr) * g->L + g->R - ru + (rem - fr * g->R * cu) / cu;
}

/* k consecutive reads of strip id (d >= Q words) in folds f0 .. f0+k-1, in O(1): each misses
 * all d words (the strip is longer than an epoch), so the fill advances by d mod Q per read;
 * the state after the last read is what strip_read would leave. */
static void strip_repeat(StripModel *m, int64_t id, int64_t d, int64_t f0, int64_t k) {
  int64_t q = m->q, fb = (m->fill + ((k - 1) % q) * (d % q)) % q; /* fill before the last */
  m->adds += k * d;
  m->n_triggers += k;
  int64_t z = q - fb - 1, rem = d - z - 1, tail = rem % q;
  int64_t zlast = rem >= q ? d - tail - 1 : z;
  if (rem > 0 && tail == 0) zlast = d - 1;
  m->last_trigger_fold = f0 + k - 1, m->last_trigger_pos = zlast, m->last_trigger_len = d;
  m->fill = tail;
  m->strip = tail > 0 ? id : -1;
  m->x = d - tail;
}

/* FILTER DRAM reads (README §6) with the strip model, O(Fc) for os, O(1) otherwise.
 * os: column fold fc re-reads its strip (K x cu) once per row fold; a strip shorter than Q is
 * resident after at most two reads, a longer one misses whole every time (strip_repeat).
 * ws: every word once. is: each column fold sweeps the Fr strips (ru x N) of the K x N filter;
 * with K*N < Q all stay after the first sweep, otherwise (and Fr > 1) every read misses whole,
 * so the adds and the position of the last epoch boundary follow from the running total. */
void sys_fast_filter_dram(const Geom *g, int64_t q, SystolicResult *r) {
  StripModel m = {.q = q, .strip = -1};
  int64_t kn = g->K * g->N;
  if (g->df == DF_WS) { /* every filter word is read exactly once */
    m.adds = kn;
    m.n_triggers = m.adds / q; /* the last boundary's cycle: preload_cycle */
  } else if (g->df == DF_OS || g->Fr == 1) {
    /* One strip per column fold (os), or the single strip of all of K x N (is, Fr = 1). */
    int64_t n_strips = g->df == DF_OS ? g->Fc : 1, reads = g->df == DF_OS ? g->Fr : g->Fc, i0 = 0;
    if (n_strips > 1 && g->K * g->C >= q) {
      /* The full column folds' strips all miss whole, whatever their id: one batch. */
      strip_repeat(&m, n_strips - 2, g->K * g->C, 0, (n_strips - 1) * reads);
      i0 = n_strips - 1;
    }
    for (int64_t i = i0; i < n_strips; i++) {
      int64_t d = g->df == DF_OS ? g->K * used(i, g->Fc, g->Sc, g->C) : kn;
      if (d >= q) {
        strip_repeat(&m, i, d, i * reads, reads);
        continue;
      }
      for (int64_t k = 0; k < reads && !(m.strip == i && m.x == 0); k++)
        strip_read(&m, i, d, i * reads + k);
    }
  } else {
    int64_t total = kn < q ? kn : g->Fc * kn;
    m.adds = total;
    m.n_triggers = total / q;
    if (m.n_triggers > 0) {
      int64_t t = m.n_triggers * q - 1, sweep = t / kn, off = t % kn, fr = off / (g->R * g->N);
      m.last_trigger_fold = sweep * g->Fr + fr;
      m.last_trigger_pos = off - fr * g->R * g->N;
      m.last_trigger_len = used(fr, g->Fr, g->Sr, g->R) * g->N;
    }
  }
  r->dram_words[SYS_FILTER] = m.adds;
  int64_t s = q / 50;
  if (m.n_triggers > 0) {
    r->dram_start_cycle[SYS_FILTER] = r->sram_start_cycle[SYS_FILTER] - 1 - cdiv(q, 10);
    r->dram_stop_cycle[SYS_FILTER] =
        (g->df == DF_WS ? preload_cycle(g, m.n_triggers * q - 1)
                        : strip_cycle(g, m.last_trigger_fold, m.last_trigger_pos,
                                      m.last_trigger_len)) + 1;
  } else {
    r->dram_start_cycle[SYS_FILTER] = -cdiv(cdiv(m.adds, s) * s, 10);
    r->dram_stop_cycle[SYS_FILTER] = -1;
  }
}

/* Histogram of the read count n(y) = #{r < E : 0 <= y - r*S < F} of IFMAP rows y in [0, H)
 * (or columns, with W, Fw, Sw, Ew): how many output rows (columns) read input row y. Only the
 * first F and the last rows are irregular; in between n depends on y mod S alone, so the cost
 * is O(F), independent of H. Classes with n = 0 (never read) are dropped. */
enum { NHIST_MAX = 64 };
typedef struct NHist {
  int n_classes;
  int64_t n[NHIST_MAX];
  double count[NHIST_MAX];
} NHist;

static int64_t reads_of_row(int64_t y, int64_t f, int64_t s, int64_t e) {
  int64_t hi = min64(y / s, e - 1), lo = y - f + 1 <= 0 ? 0 : (y - f + s) / s;
  return hi - lo + 1;
}

static void nhist_add(NHist *h, int64_t n, double count) {
  if (n <= 0 || count <= 0) return;
  int i = 0;
  while (i < h->n_classes && h->n[i] != n) i++;
  if (i == h->n_classes) {
    if (i == NHIST_MAX) i = NHIST_MAX - 1; /* more classes than slots: merge into the last */
    else h->n[h->n_classes++] = n, h->count[i] = 0;
  }
  h->count[i] += count;
}

static void nhist_build(NHist *h, int64_t len, int64_t f, int64_t s, int64_t e) {
  h->n_classes = 0;
  if (s >= f) { /* windows never overlap: every covered row is read once */
    nhist_add(h, 1, (double)((e - 1) * f + max64(0, min64(f, len - (e - 1) * s))));
    return;
  }
  /* Rows y < f: no window starts before 0, n = min(y/s, e-1) + 1, constant on blocks of s. */
  int64_t head = min64(len, f);
  for (int64_t v = 0; v * s < head; v++) {
    if (v >= e - 1) {
      nhist_add(h, e, (double)(head - v * s));
      break;
    }
    nhist_add(h, v + 1, (double)(min64((v + 1) * s, head) - v * s));
  }
  /* Rows y >= f below (e-1)*s: n depends on y mod s alone. */
  int64_t mid_hi = (e - 1) * s;
  for (int64_t y = f; y < f + s && y < mid_hi; y++)
    nhist_add(h, reads_of_row(y, f, s, e), (double)((mid_hi - 1 - y) / s + 1));
  /* Rows y >= max(f, (e-1)*s): the last window is the latest reader, n falls every s rows. */
  for (int64_t y0 = max64(f, mid_hi); y0 < len;) {
    int64_t lo = (y0 - f + s) / s, y1 = min64(len, lo * s + f); /* lo changes at y = lo*s + f */
    nhist_add(h, e - lo, (double)(y1 - y0));
    y0 = y1;
  }
}


/* IFMAP DRAM reads of a CALC epoch buffer (README §6), by a reuse-distance model.
 *
 * Every IFMAP word (y, x, ch) is read by the n_r(y) x n_c(x) output pixels whose windows hold
 * it, once per sweep (Fc sweeps for os and ws, which re-stream the whole IFMAP per column fold;
 * one for is). The buffer forgets everything every Q additions (README §6: the whole set is
 * cleared when |S| reaches Q), so a read misses iff an epoch boundary fell since the previous
 * read of the same word. With boundaries every Q adds at an unknown phase, a reuse whose two
 * reads are A adds apart misses with probability min(1, A/Q); A = nu x (requests between them),
 * nu = adds / requests over the layer, solved as a fixed point (largest solution). So
 *   adds = footprint + sum over reuse pairs of min(1, nu * gap / Q).
 * Reuse pairs and their gaps (in requests) follow the stream order of README §3:
 *   horizontal neighbours (same output row, window columns Sw apart, window positions Sw*Ch
 *   apart), vertical neighbours (next output row, Sh*Fw*Ch positions and Ew pixels apart),
 *   either inside one fold (os: pixels over rows, position k in time with a one-cycle skew per
 *   lane; ws: positions over rows, pixels in time; is: pixels over columns, positions over
 *   time in each row fold) or across folds (a fold's worth of requests apart), and one reuse
 *   per sweep change (a whole sweep apart).
 * If the whole footprint fits in one epoch (< Q) nothing is ever forgotten: reads = footprint,
 * exactly. The fixed point is solved directly (adds is piecewise linear in nu). *ambiguous
 * receives the weight of the pairs whose miss probability is neither near 0 nor near 1, where
 * the random-phase assumption decides the answer. Cost: O(min(E, F/S) + S) per axis for the
 * read-count histograms plus O(classes) for the terms; independent of channels, K, N, the
 * array size and the image size. */
static int64_t fast_ifmap_reads(const Geom *g, int64_t q, double *ambiguous) {
  NHist hr, hc;
  nhist_build(&hr, g->H, g->Fh, g->Sh, g->Eh);
  nhist_build(&hc, g->W, g->Fw, g->Sw, g->Ew);
  double ch = (double)g->Ch, foot = 0, per_sweep = 0;
  for (int i = 0; i < hr.n_classes; i++)
    for (int j = 0; j < hc.n_classes; j++) {
      double w = hr.count[i] * hc.count[j] * ch;
      foot += w;
      per_sweep += w * (double)(hr.n[i] * hc.n[j]);
    }
  *ambiguous = 0;
  if (foot < (double)q) return (int64_t)foot;
  double sweeps = g->df == DF_IS ? 1 : (double)g->Fc, requests = per_sweep * sweeps;
  double dk_h = (double)(g->Sw * g->Ch), dk_v = (double)(g->Sh * g->Fw) * ch;
  double ew = (double)g->Ew, kk = (double)g->K, p = (double)g->P;
  /* same_*: probability that both reads of a pair fall in one fold; gap_*_in / gap_*_x: requests
   * between them inside one fold / across folds. */
  double lanes, same_h, same_v, gap_h_in, gap_v_in, gap_h_x, gap_v_x;
  switch (g->df) {
  case DF_OS: /* lanes = pixels; a lane lags one cycle per index */
    lanes = (double)min64(g->R, g->P);
    same_h = g->Fr == 1 ? 1 : 1 - 1 / lanes;
    same_v = g->Fr == 1 ? 1 : ew < lanes ? 1 - ew / lanes : 0;
    gap_h_in = fabs(dk_h - 1) * lanes, gap_h_x = lanes * kk;
    gap_v_in = fabs(dk_v - ew) * lanes, gap_v_x = ew * kk;
    break;
  case DF_IS: /* lanes = pixels, window positions stream one per cycle */
    lanes = (double)min64(g->C, g->P);
    same_h = g->Fc == 1 ? 1 : 1 - 1 / lanes;
    same_v = g->Fc == 1 ? 1 : ew < lanes ? 1 - ew / lanes : 0;
    gap_h_in = dk_h * lanes, gap_h_x = lanes * kk;
    gap_v_in = dk_v * lanes, gap_v_x = ew * kk;
    break;
  default: /* DF_WS: lanes = window positions, pixels stream one per cycle */
    lanes = (double)min64(g->R, g->K);
    same_h = g->Fr == 1 ? 1 : dk_h < lanes ? 1 - dk_h / lanes : 0;
    same_v = g->Fr == 1 ? 1 : dk_v < lanes ? 1 - dk_v / lanes : 0;
    gap_h_in = fabs(dk_h - 1) * lanes, gap_h_x = dk_h * p;
    gap_v_in = fabs(dk_v - ew) * lanes, gap_v_x = dk_v * p;
    break;
  }
  /* A word's reads, sorted, cross at most Fr - 1 fold boundaries in ws (folds are ranges of
   * window positions): scale the cross-fold share of its pairs down to that. */
  double cross_cap = g->df == DF_WS ? (double)(g->Fr - 1) : INFINITY;
  /* adds(nu) = foot + sum of coef * min(1, nu * gap / Q) over a few (coef, gap) terms: the
   * four gaps shared by every class, then one row-change gap per column class. */
  double coef[4 + NHIST_MAX] = {0}, gap[4 + NHIST_MAX] = {gap_h_in, gap_h_x, gap_v_x, per_sweep};
  int nt = 4 + hc.n_classes;
  for (int j = 0; j < hc.n_classes; j++) {
    double b = (double)hc.n[j];
    /* The row change follows the previous row's b reads: its gap shrinks by their span. */
    gap[4 + j] = fmax(gap_v_in - (b - 1) * gap_h_in, gap_h_in);
    for (int i = 0; i < hr.n_classes; i++) {
      double w = hr.count[i] * hc.count[j] * ch, a = (double)hr.n[i];
      double nh = a * (b - 1), nv = a - 1, sh = same_h, sv = same_v;
      double cross = nh * (1 - sh) + nv * (1 - sv);
      if (cross > cross_cap) {
        double f = cross_cap / cross;
        sh = 1 - (1 - sh) * f, sv = 1 - (1 - sv) * f;
      }
      coef[0] += sweeps * w * nh * sh;
      coef[1] += sweeps * w * nh * (1 - sh);
      coef[2] += sweeps * w * nv * (1 - sv);
      coef[3] += w * (sweeps - 1);
      coef[4 + j] += sweeps * w * nv * sv;
    }
  }
  double qq = (double)q, sat = 0, lin = 0; /* saturated coefficients, slope of the rest */
  for (int t = 1; t < nt; t++) /* by gap, smallest first (= by kink Q/gap, highest first) */
    for (int u = t; u > 0 && gap[u] < gap[u - 1]; u--) {
      double x = gap[u]; gap[u] = gap[u - 1], gap[u - 1] = x;
      x = coef[u], coef[u] = coef[u - 1], coef[u - 1] = x;
    }
  int k = 0; /* terms [0, k) are linear at nu = 1, [k, nt) saturated */
  while (k < nt && gap[k] < qq) lin += coef[k] * gap[k] / qq, k++;
  for (int t = k; t < nt; t++) sat += coef[t];
  double hi = 1, nu = 0;
  for (int t = k;; t++) {
    /* Segment [lo, hi]: terms [0, t) linear, [t, nt) saturated. */
    double lo = t < nt ? qq / gap[t] : 0;
    double alpha = (foot + sat) / requests, beta = lin / requests;
    double fp = beta < 1 ? alpha / (1 - beta) : INFINITY;
    if (fp >= hi) { /* f(hi) >= hi: the fixed point is hi (adds capped at the requests) */
      nu = hi;
      break;
    }
    if (fp >= lo || t >= nt) {
      nu = fp;
      break;
    }
    sat -= coef[t], lin += coef[t] * gap[t] / qq; /* below its kink, term t turns linear */
    hi = lo;
  }
  double adds = nu * requests;
  /* Pairs whose miss probability is neither near 0 nor near 1 are where the random epoch
   * phase is an assumption rather than a certainty: their share bounds this model's error. */
  *ambiguous = 0;
  for (int t = 0; t < nt; t++) {
    double pm = nu * gap[t] / qq;
    if (pm > 0.05 && pm < 0.95) *ambiguous += coef[t] * fmin(pm, 1 - pm);
  }
  return (int64_t)(adds + 0.5);
}

/* The CALC epoch buffer replayed over a stream described step by step (README §6). A step
 * lasts dur requests starting at base; inside it `first` requests miss whatever happens and
 * class i (cnt[i] requests) re-reads a word dist[i] requests after its previous read, so it
 * misses iff the current epoch began after that read (tau < t0 + dist). Requests of each class
 * are spread evenly over the step, so the miss rate is piecewise constant and the epoch ends
 * exactly where the misses reach Q. Returns the misses (= DRAM reads) of the step. */
typedef struct EpochSim {
  double q;    /* epoch size Q, words */
  double fill; /* misses in the current epoch */
  double t0;   /* request time at which the current epoch began */
  int64_t n_bounds;            /* epoch boundaries so far */
  double first_bound, last_bound; /* request times of the first and the last one */
} EpochSim;

static double epoch_sim_step(EpochSim *e, double base, double dur, double first, double *cnt,
                             double *dist, int nc) {
  for (int i = 1; i < nc; i++) /* by distance (insertion sort: a handful of classes) */
    for (int j = i; j > 0 && dist[j] < dist[j - 1]; j--) {
      double t = dist[j]; dist[j] = dist[j - 1], dist[j - 1] = t;
      t = cnt[j], cnt[j] = cnt[j - 1], cnt[j - 1] = t;
    }
  double total = first, per_req = 1 / dur;
  for (int i = 0; i < nc; i++) total += cnt[i];
  double u = base, end = base + dur, adds = 0, active = total;
  int i = 0; /* classes [0, i) re-read words of the current epoch: they hit */
  for (;;) {
    while (i < nc && e->t0 + dist[i] <= u) active -= cnt[i++];
    double v = i < nc && e->t0 + dist[i] < end ? e->t0 + dist[i] : end;
    double rate = active * per_req, need = e->q - e->fill;
    if (rate > 0 && rate * (v - u) >= need) {
      u += need / rate;
      adds += need;
      e->fill = 0;
      e->t0 = u;
      if (e->n_bounds++ == 0) e->first_bound = u;
      e->last_bound = u;
      i = 0, active = total; /* everything before the boundary is forgotten */
      continue;
    }
    e->fill += rate * (v - u);
    adds += rate * (v - u);
    if (v >= end) break;
    u = v;
  }
  return adds;
}

/* Deterministic epoch model of a kernel-position-major IFMAP stream (README §6).
 *
 * In ws and in is with a single column fold (when no two reads of one word fall into the same
 * row fold: Sw*Ch >= R), and in os with a single row fold, the IFMAP stream visits window
 * positions k = (a*Fw + b)*Ch + ch in order (at row-fold granularity for ws and is),
 * each reading the valid pixels of its shifted output grid: kernel position (a, b) is a "step"
 * of ny(a)*nx(b)*Ch requests, channel-major inside. A word (y, x, ch) read at step (a, b) was
 * last read at (a, b - Sw) if that step reads it (Sw steps earlier), else at (a - Sh, bmax(x))
 * (Sh*Fw - (bmax - b) steps earlier), else never in this sweep. Rows and columns separate, so
 * each step's requests split into O(Fw/Sw) classes (count, reuse distance in requests). The
 * buffer is then replayed at step granularity: inside a step the classes are spread uniformly
 * (every channel repeats the same pattern), a reuse misses iff the epoch began after its
 * previous read, and the epoch ends exactly where the cumulative misses reach Q. Every sweep
 * (column fold) re-reads the same stream; its first reads always miss (a whole sweep adds more
 * than Q). Cost: O(Fh * Fw * (Fw/Sw + epochs per step)) for two sweeps; later sweeps repeat the
 * second. Returns false when the stream is not kernel-position-major. */
enum { STEP_CLASSES_MAX = 40 };

/* Adds a reuse class of `count` requests whose previous read lies `back` steps (dist requests)
 * earlier. In ws the array reads a row fold of R window positions pixel by pixel, so times are
 * fold-granular (so in is with one column fold, which loads R window positions per row fold):
 * a reuse dk = back*Ch positions later lies floor(dk/R) or ceil(dk/R) folds later, the latter
 * for a share (dk mod R)/R of the window positions. */
static void step_add_class(const Geom *g, double *cnt, double *dist, int *nc, double count,
                           double d, int64_t back) {
  int64_t dk = back * g->Ch;
  if (g->df == DF_OS || dk % g->R == 0) {
    cnt[*nc] = count, dist[(*nc)++] = d;
    return;
  }
  double per_fold = d / (double)dk * (double)g->R, frac = (double)(dk % g->R) / (double)g->R;
  cnt[*nc] = count * (1 - frac), dist[(*nc)++] = (double)(dk / g->R) * per_fold;
  cnt[*nc] = count * frac, dist[(*nc)++] = (double)(dk / g->R + 1) * per_fold;
}

static bool step_ifmap_reads(const Geom *g, int64_t q, double *adds_out) {
  bool kmajor = (g->df == DF_WS && g->Sw * g->Ch >= g->R) || (g->df == DF_OS && g->Fr == 1) ||
                (g->df == DF_IS && g->Fc == 1 && g->Sw * g->Ch >= g->R);
  if (!kmajor || g->Fh * g->Fw > 1024 || 2 * ((g->Fw - 1) / g->Sw + 3) > STEP_CLASSES_MAX)
    return false;
  double ch = (double)g->Ch, Q = (double)q;
  int64_t nsteps = g->Fh * g->Fw;
  double sweep_len = 0;
  /* Step start times of one sweep, in requests: needed for reuse distances. */
  double starts[1025];
  for (int64_t a = 0, s = 0; a < g->Fh; a++) {
    int64_t ny = min64(g->Eh, (g->H - 1 - a) / g->Sh + 1);
    for (int64_t b = 0; b < g->Fw; b++, s++) {
      int64_t nx = min64(g->Ew, (g->W - 1 - b) / g->Sw + 1);
      starts[s] = sweep_len;
      sweep_len += (double)(ny * nx) * ch;
    }
  }
  starts[nsteps] = sweep_len;
  /* os: lane j (pixel j) reads window position k at cycle k + j, so a word re-read by a pixel
   * d lanes lower comes d cycles (skew requests each) sooner than the position order says. */
  double skew = g->df == DF_OS ? sweep_len / (double)g->K : 0;
  int nsw = g->Fc > 1 ? 2 : 1;
  double adds_sw[2] = {0, 0};
  EpochSim es = {.q = Q};
  for (int w = 0; w < nsw; w++) {
    double base_sw = (double)w * sweep_len;
    for (int64_t a = 0, s = 0; a < g->Fh; a++) {
      int64_t ny = min64(g->Eh, (g->H - 1 - a) / g->Sh + 1);
      int64_t yrep = a >= g->Sh ? min64(ny, g->Eh - 1) : 0, yfirst = ny - yrep;
      for (int64_t b = 0; b < g->Fw; b++, s++) {
        int64_t nx = min64(g->Ew, (g->W - 1 - b) / g->Sw + 1);
        int64_t xrep = b >= g->Sw ? min64(nx, g->Ew - 1) : 0;
        double dur = (double)(ny * nx) * ch, base = base_sw + starts[s];
        if (dur <= 0) continue;
        double cnt[STEP_CLASSES_MAX], dist[STEP_CLASSES_MAX], first = 0;
        int nc = 0;
        /* Columns that b does not open: previous read Sw steps earlier, same kernel row. */
        if (xrep > 0) step_add_class(g, cnt, dist, &nc, (double)(xrep * ny) * ch,
                                     starts[s] - starts[s - g->Sw] - skew, g->Sw);
        /* Columns that b opens (b is the first kernel column reading them): x = c*Sw + b, the
         * last kernel column reading x is b + m*Sw, m = min(c, (Fw-1-b)/Sw). */
        int64_t mb = (g->Fw - 1 - b) / g->Sw;
        int64_t c_lo = b >= g->Sw ? g->Ew - 1 : 0, c_hi = nx; /* opened columns c in [c_lo, c_hi) */
        for (int64_t m = 0; m <= mb && c_lo < c_hi; m++) {
          int64_t n_m = m < mb ? (m >= c_lo && m < c_hi ? 1 : 0) : c_hi - max64(c_lo, mb);
          if (m == mb && n_m < 0) n_m = 0;
          if (n_m <= 0) continue;
          first += (double)(n_m * yfirst) * ch;
          if (yrep > 0) {
            int64_t back = g->Sh * g->Fw - m * g->Sw; /* steps back to the previous read */
            double d = s - back >= 0 ? starts[s] - starts[s - back] : sweep_len;
            step_add_class(g, cnt, dist, &nc, (double)(n_m * yrep) * ch,
                           fmax(d - (double)(g->Ew - m) * skew, skew), back);
          }
        }
        adds_sw[w] += epoch_sim_step(&es, base, dur, first, cnt, dist, nc);
      }
    }
  }
  *adds_out = adds_sw[0] + (nsw > 1 ? (double)(g->Fc - 1) * adds_sw[1] : 0);
  return true;
}

/* Deterministic epoch model of a pixel-block-major IFMAP stream: os with several row folds
 * (fold f reads pixels [f*R, f*R + R), window position by window position) and is (column
 * fold f reads pixels [f*C, f*C + C), its window positions row fold by row fold). Inside a
 * block the stream is kernel-position-major, so a word read by pixel p at kernel position s
 * was last read, inside the block, by the next pixel after p (in raster order) that also reads
 * it (later pixels reach it at earlier kernel positions); if that pixel is outside the block,
 * by the earliest-raster reader of the latest earlier block holding one; otherwise never in
 * this sweep (a previous sweep is always more than Q additions ago). Each (block, kernel
 * position) step becomes a list of reuse classes for epoch_sim_step, counted by runs of
 * pixels that share a class (a few per output row of the block, see osf_row), so a step costs
 * O(rows of the block + Fw/Sw) rather than O(block). The replay is capped at OSF_BUDGET
 * pixel-steps: short sweeps are replayed whole (up to two; later sweeps repeat the second),
 * long ones as their first blocks plus a window in the middle whose epoch length gives the
 * steady miss rate of the rest. The cost is bounded by the cap, independent of the layer
 * size. */
enum { OSF_CLASSES_MAX = 64, OSF_BUDGET = 32768, OSF_FOLDS_MAX = 256 };
#define OSF_AMBIGUOUS 0.02 /* share of uncertain reuse above which the fold replay runs */

static void osf_add(double *cnt, double *dist, int *nc, double c, double d, double tol) {
  for (int i = 0; i < *nc; i++)
    if (fabs(dist[i] - d) <= tol) {
      cnt[i] += c;
      return;
    }
  if (*nc < OSF_CLASSES_MAX) {
    cnt[*nc] = c, dist[(*nc)++] = d;
    return;
  }
  int best = 0; /* full: merge into the nearest distance */
  for (int i = 1; i < *nc; i++)
    if (fabs(dist[i] - d) < fabs(dist[best] - d)) best = i;
  cnt[best] += c;
}

/* Valid IFMAP requests of the pixels before p (raster order), per channel: the valid window
 * rows and columns of a pixel multiply, so full output rows and the partial row add up from
 * the two axes' prefix sums, each O(F/S) (only the last output rows and columns clip). */
static int64_t axis_prefix(int64_t len, int64_t f, int64_t s, int64_t e, int64_t n) {
  int64_t v = n * f;
  for (int64_t i = e - 1; i >= 0 && len - i * s < f; i--)
    if (i < n) v -= f - max64(0, len - i * s); /* a window wholly past the edge reads none */
  return v;
}

static int64_t os_requests_before(const Geom *g, int64_t p) {
  int64_t r = p / g->Ew, c = p % g->Ew;
  int64_t rows = axis_prefix(g->H, g->Fh, g->Sh, g->Eh, r);
  int64_t cols_all = axis_prefix(g->W, g->Fw, g->Sw, g->Ew, g->Ew);
  int64_t vr = r < g->Eh ? min64(g->Fh, g->H - r * g->Sh) : 0;
  return rows * cols_all + vr * axis_prefix(g->W, g->Fw, g->Sw, g->Ew, c);
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* One (block, kernel position) step of the replay: the block's pixels [p0, p1) (rows r0 to
 * the row of p1 - 1, which ends at column c_last), the reader offsets of kernel position
 * (a, b), and the reuse classes collected so far. Folds before lo count as never read. */
typedef struct OsfStep {
  const Geom *g;
  int64_t blk, lo, p0, p1, r0, c0, c_last, a, b, a_lo, a_hi, b_lo, b_hi, nsteps;
  const double *base;
  double now, per_step, tol, ch;
  double cnt[OSF_CLASSES_MAX], dist[OSF_CLASSES_MAX], first;
  int nc;
} OsfStep;

/* Classifies pixel c of output row r at kernel position (a, b) and the pixels after it up to
 * cv that share its class (a reuse inside the block, a reuse of an earlier block at one
 * distance, or a first read); adds them and returns the last one. */
static int64_t osf_pixels(OsfStep *st, int64_t r, int64_t c, int64_t cv) {
  const Geom *g = st->g;
  int64_t Ew = g->Ew, p = r * Ew + c, p0 = st->p0, lo = st->lo, blk = st->blk;
  /* Readers of the word (y, x): output rows [rlo, rhi] x columns [clo, chi]. */
  int64_t rhi = min64(g->Eh - 1, r + st->a_hi), rlo = max64(0, r + st->a_lo);
  int64_t chi = min64(Ew - 1, c + st->b_hi), clo = max64(0, c + st->b_lo);
  int64_t np = -1, back = 0;
  if (c < chi) np = p + 1, back = g->Sw;
  else if (r < rhi) np = (r + 1) * Ew + clo, back = g->Sh * g->Fw - (c - clo) * g->Sw;
  if (np >= 0 && np < st->p1) {
    osf_add(st->cnt, st->dist, &st->nc, st->ch, (double)back * st->per_step, st->tol);
    return c;
  }
  /* From here on, with b < Sw (chi = c) and an unclipped window column (clo = c + b_lo), the
   * pixels to the right share this one's class while the reader row rr, the reader fold ff
   * and its first reader row pr stay: each moves monotonically with c, so the run ends where
   * the first of them changes. */
  bool runs = st->b_hi == 0 && c + st->b_lo >= 0;
  int64_t e = runs ? cv : c;
  /* Latest earlier fold holding a reader: the one of the largest reader before p0 (row r0 if
   * column clo of row r0 precedes p0, else row r0 - 1). */
  int64_t rr = min64(rhi, clo < st->c0 ? st->r0 : st->r0 - 1);
  if (rr < rlo) { /* rr only falls as c grows */
    st->first += st->ch * (double)(e - c + 1);
    return e;
  }
  int64_t pp = min64(rr * Ew + chi, p0 - 1), ff = pp / blk;
  if (runs) {
    e = min64(e, p0 - 1 - rr * Ew - st->b_lo); /* rr stays */
    if ((ff + 1) * blk <= p0 - 1) e = min64(e, (ff + 1) * blk - 1 - rr * Ew); /* ff stays */
  }
  if (ff < lo) {
    st->first += st->ch * (double)(e - c + 1);
    return e;
  }
  /* Its last read of the word: the fold's earliest-raster reader. */
  int64_t flo = ff * blk, m = cdiv(max64(0, flo - chi), Ew), pr = max64(rlo, m);
  int64_t cc = max64(clo, flo - pr * Ew);
  if (cc > clo) e = c; /* the reader column depends on c */
  else if (m > rlo) e = min64(e, flo - (m - 1) * Ew - 1); /* pr stays */
  int64_t y = r * g->Sh + st->a, x = c * g->Sw + st->b;
  int64_t sidx = (y - pr * g->Sh) * g->Fw + (x - cc * g->Sw);
  const double *base = st->base;
  double fl = base[ff + 1 - lo] - base[ff - lo];
  osf_add(st->cnt, st->dist, &st->nc, st->ch * (double)(e - c + 1),
          st->now - (base[ff - lo] + (double)sidx * fl / (double)st->nsteps), st->tol);
  return e;
}

/* Pixels [ca, cv] of output row r at the current kernel position. Runs whose class is known
 * without looking at each pixel are counted at once: the right neighbour's read Sw positions
 * earlier (same block, same row), the next row's read (same block, window column unclipped),
 * and first reads of rows too far below the block start for any earlier block to read the
 * word. The rest (block edges, row starts) go pixel by pixel. */
static void osf_row(OsfStep *st, int64_t r, int64_t ca, int64_t cv, bool last_row) {
  const Geom *g = st->g;
  int64_t Ew = g->Ew;
  if (st->b_hi >= 1) { /* right neighbour in the block: c < Ew - 1 and p + 1 < p1 */
    int64_t h_end = min64(min64(cv, Ew - 2), last_row ? st->c_last - 1 : Ew - 2);
    if (h_end >= ca) {
      osf_add(st->cnt, st->dist, &st->nc, st->ch * (double)(h_end - ca + 1),
              (double)g->Sw * st->per_step, st->tol);
      ca = h_end + 1;
    }
    for (int64_t c = ca; c <= cv; c++) c = osf_pixels(st, r, c, cv);
    return;
  }
  /* No right neighbour reads the word before: the next row's reader, if in the block. */
  int64_t v_lo = ca, v_hi = ca - 1;
  if (st->a_hi >= 1 && r < g->Eh - 1) {
    v_lo = max64(ca, -st->b_lo);
    v_hi = min64(cv, st->p1 - 1 - (r + 1) * Ew - st->b_lo);
    if (v_hi >= v_lo)
      osf_add(st->cnt, st->dist, &st->nc, st->ch * (double)(v_hi - v_lo + 1),
              (double)(g->Sh * g->Fw + st->b_lo * g->Sw) * st->per_step, st->tol);
  }
  /* Rows below r0 - a_lo: every earlier block lies above the word's first reader row. */
  bool deep = r + st->a_lo > st->r0;
  for (int64_t c = ca; c <= cv; c++) {
    if (c >= v_lo && c <= v_hi) {
      c = v_hi;
      continue;
    }
    if (deep && c >= v_lo) { /* the rest of the row misses its in-block reader */
      int64_t n = cv - c + 1 - (v_hi >= c ? v_hi - c + 1 : 0);
      st->first += st->ch * (double)n;
      break;
    }
    c = osf_pixels(st, r, c, c < v_lo ? v_lo - 1 : cv);
  }
}

/* Replays folds [fa, fb) of one sweep through e and returns their misses; base[f - lo] holds
 * fold f's start time (requests) for folds [lo, fb]. Reads whose previous read lies before
 * fold lo count as first reads. */
static double osf_window(const Geom *g, int64_t blk, EpochSim *e, int64_t lo, int64_t fa,
                         int64_t fb, const double *base) {
  int64_t Ew = g->Ew;
  OsfStep st = {.g = g, .blk = blk, .lo = lo, .base = base, .nsteps = g->Fh * g->Fw,
                .tol = e->q / 512, .ch = (double)g->Ch}; /* distances closer than tol merge */
  double all = 0;
  for (int64_t f = fa; f < fb; f++) {
    st.p0 = f * blk, st.p1 = min64(g->P, st.p0 + blk);
    st.r0 = st.p0 / Ew, st.c0 = st.p0 % Ew, st.c_last = (st.p1 - 1) % Ew;
    int64_t r0 = st.r0, rl = (st.p1 - 1) / Ew;
    double fbase = base[f - lo], tt = fbase;
    st.per_step = (base[f + 1 - lo] - fbase) / (double)st.nsteps;
    for (int64_t a = 0, s = 0; a < g->Fh; a++) {
      /* Word rows y = r*Sh + a: readers are output rows [r + a_lo, r + a_hi], clipped. */
      st.a = a, st.a_hi = a / g->Sh, st.a_lo = floor_div(a - g->Fh + g->Sh, g->Sh);
      int64_t rmax = (g->H - 1 - a) / g->Sh; /* last output row whose row a is inside */
      for (int64_t b = 0; b < g->Fw; b++, s++) {
        st.b = b, st.b_hi = b / g->Sw, st.b_lo = floor_div(b - g->Fw + g->Sw, g->Sw);
        int64_t cmax = (g->W - 1 - b) / g->Sw;
        st.now = fbase + (double)s * st.per_step, st.first = 0, st.nc = 0;
        double nval = 0;
        for (int64_t r = r0; r <= rl && r <= rmax; r++) {
          int64_t ca = r == r0 ? st.c0 : 0, cv = min64(r == rl ? st.c_last : Ew - 1, cmax);
          if (cv < ca) continue;
          nval += (double)(cv - ca + 1);
          osf_row(&st, r, ca, cv, r == rl);
        }
        double dur = nval * st.ch;
        if (dur <= 0) continue;
        all += epoch_sim_step(e, tt, dur, st.first, st.cnt, st.dist, st.nc);
        tt += dur;
      }
    }
  }
  return all;
}

static bool osfold_ifmap_reads(const Geom *g, int64_t q, double miss_rate, double *adds_out) {
  /* os: blocks of R pixels (row folds), the sweep repeated for every column fold; is: blocks
   * of C pixels (column folds), each reading its window positions once, a single sweep. */
  int64_t nsteps = g->Fh * g->Fw, blk = g->df == DF_OS ? g->R : g->C;
  int64_t nfold = g->df == DF_OS ? g->Fr : g->Fc, nsweep = g->df == DF_OS ? g->Fc : 1;
  if (g->df == DF_WS || nfold <= 1 || nsteps > 1024 || !g->overlap)
    return false; /* no window overlap: no reuse inside a sweep, the reuse model is exact */
  int64_t per_fold = min64(blk, g->P) * nsteps;
  double ch = (double)g->Ch, base[OSF_FOLDS_MAX + 1];
  double sweep_len = (double)os_requests_before(g, g->P) * ch;
  EpochSim es = {.q = (double)q};
  if (nfold * per_fold <= OSF_BUDGET && nfold <= OSF_FOLDS_MAX) {
    /* Whole sweeps: replay up to two (as the budget allows), later sweeps like the second. */
    for (int64_t f = 0; f <= nfold; f++) base[f] = (double)os_requests_before(g, f * blk) * ch;
    int64_t nsw = min64(min64(nsweep, 2), max64(1, OSF_BUDGET / (nfold * per_fold)));
    double first = 0, later = 0;
    for (int64_t w = 0; w < nsw; w++) {
      es.t0 -= sweep_len; /* the clock restarts with every sweep */
      double a = osf_window(g, blk, &es, 0, 0, nfold, base);
      if (w == 0) first = a;
      else later += a;
    }
    *adds_out = first + (double)(nsweep - 1) * (nsw > 1 ? later / (double)(nsw - 1) : first);
    return true;
  }
  /* Long sweeps: the first folds (top border, cold start), then a window in the middle of the
   * sweep started cold. Every epoch adds exactly Q, so the steady miss rate of the rest of
   * the sweep is Q per epoch length, measured between the window's first boundary (the end
   * of its cold start) and its last. */
  int64_t look = cdiv((g->Fh / g->Sh + 1) * g->Ew, blk) + 1; /* folds back to a word's reader */
  int64_t nsim = OSF_BUDGET / per_fold;
  int64_t w1 = min64(nsim / 6, OSF_FOLDS_MAX), w2 = min64(nsim - w1, OSF_FOLDS_MAX - look);
  if (w1 < 1 || w2 < 4 || nfold < w1 + look + w2) return false;
  /* The window must see two boundaries after its cold start: judge by the reuse model's miss
   * rate before paying for the replay. */
  if (miss_rate * sweep_len * (double)w2 / (double)nfold < 3 * (double)q) return false;
  for (int64_t f = 0; f <= w1; f++) base[f] = (double)os_requests_before(g, f * blk) * ch;
  double head = osf_window(g, blk, &es, 0, 0, w1, base);
  int64_t lo = max64(w1, nfold / 2 - w2 / 2 - look), fa = lo + look, fb = fa + w2;
  for (int64_t f = lo; f <= fb; f++) base[f - lo] = (double)os_requests_before(g, f * blk) * ch;
  EpochSim mid = {.q = (double)q, .t0 = base[fa - lo]};
  osf_window(g, blk, &mid, lo, fa, fb, base);
  if (mid.n_bounds < 2) return false;
  double rate = (double)q * (double)(mid.n_bounds - 1) / (mid.last_bound - mid.first_bound);
  double head_len = (double)os_requests_before(g, w1 * blk) * ch;
  *adds_out = (head + rate * (sweep_len - head_len)) * (double)nsweep;
  return true;
}

/* Valid (output row, filter row) pairs along one axis. */
static int64_t axis_requests(int64_t len, int64_t f, int64_t s, int64_t e) {
  return axis_prefix(len, f, s, e, e);
}

/* Distinct IFMAP rows (or columns) any window touches. */
static int64_t axis_footprint(int64_t len, int64_t f, int64_t s, int64_t e) {
  if (s >= f) return (e - 1) * f + max64(0, min64(f, len - (e - 1) * s));
  return min64(len, (e - 1) * s + f);
}

/* IFMAP DRAM reads of a CALC epoch buffer (README §6). A footprint below Q is never
 * forgotten: reads = footprint, exactly. Otherwise: the kernel-position-major step model where
 * the stream has that shape (ws, single-fold os), else the reuse-distance model, replaced by
 * the pixel-block replay (os, is) when a noticeable share of its reuse is ambiguous. */
static int64_t fast_ifmap_adds(const Geom *g, int64_t q) {
  int64_t foot = axis_footprint(g->H, g->Fh, g->Sh, g->Eh) *
                 axis_footprint(g->W, g->Fw, g->Sw, g->Ew) * g->Ch;
  if (foot < q) return foot;
  if (!g->overlap) {
    /* Every word is read once per sweep (GEMMs among others), and a sweep requests all foot
     * >= Q distinct words between two reads of one word, so an epoch boundary always falls
     * in between: every request misses, exactly. */
    return foot * (g->df == DF_IS ? 1 : g->Fc);
  }
  double adds, ambiguous;
  if (step_ifmap_reads(g, q, &adds)) return (int64_t)(adds + 0.5);
  int64_t reuse = fast_ifmap_reads(g, q, &ambiguous);
  double requests = (double)axis_requests(g->H, g->Fh, g->Sh, g->Eh) *
                    (double)axis_requests(g->W, g->Fw, g->Sw, g->Ew) * (double)g->Ch *
                    (double)(g->df == DF_OS ? g->Fc : 1);
  if (ambiguous > OSF_AMBIGUOUS * (double)reuse &&
      osfold_ifmap_reads(g, q, (double)reuse / requests, &adds))
    return (int64_t)(adds + 0.5);
  return reuse;
}

/* Cycle of IFMAP request number t (0-based, schedule order) when every request is valid (no
 * overhanging window): folds in order (column folds outer); os feeds K window positions to each
 * of ru rows from cycle j on, ws P pixels to each of ru rows from cycle R + j on, is preloads
 * its block (README §3). */
static int64_t ifmap_request_cycle(const Geom *g, int64_t t) {
  if (g->df == DF_IS) return preload_cycle(g, t);
  int64_t per_sweep = g->P * g->K, fc = min64(g->Fc - 1, t / per_sweep), rem = t - fc * per_sweep;
  int64_t fr = min64(g->Fr - 1, rem / (g->R * g->T)), ru = used(fr, g->Fr, g->Sr, g->R);
  return (fc * g->Fr + fr) * g->L +
         skewed_cycle(rem - fr * g->R * g->T, ru, g->T, g->df == DF_OS ? 0 : g->R);
}

/* IFMAP DRAM reads and start/stop cycles (README §6). */
void sys_fast_ifmap_dram(const Geom *g, int64_t q, SystolicResult *r) {
  int64_t adds = fast_ifmap_adds(g, q);
  r->dram_words[SYS_IFMAP] = adds;
  int64_t s = q / 50;
  if (adds >= q) {
    int64_t first = r->sram_start_cycle[SYS_IFMAP] - 1, last = r->sram_stop_cycle[SYS_IFMAP] - 1;
    int64_t bound = adds - adds % q; /* the last epoch ends with this DRAM read */
    r->dram_start_cycle[SYS_IFMAP] = first - cdiv(q, 10);
    if (!g->overlap && !g->overhang) /* every request is valid and misses: read = request */
      r->dram_stop_cycle[SYS_IFMAP] = ifmap_request_cycle(g, bound - 1) + 1;
    else /* reads spread evenly over the IFMAP requests' span */
      r->dram_stop_cycle[SYS_IFMAP] =
          first + (int64_t)((double)bound / (double)adds * (double)(last - first)) + 1;
  } else {
    r->dram_start_cycle[SYS_IFMAP] = -cdiv(cdiv(adds, s) * s, 10);
    r->dram_stop_cycle[SYS_IFMAP] = -1;
  }
}

/* Cycle of OFMAP write number w (0-based) of the stall-free schedule: the fold holding it
 * (column folds outer, each writing its outputs once per row fold), then the local cycle:
 * lane j (array column) writes its len words from cycle shift + j on. */
static int64_t ofmap_write_cycle(const Geom *g, int64_t w) {
  int64_t per_col = g->df == DF_OS ? g->P : g->Fr * g->T; /* words per column of a column fold */
  int64_t fc = min64(g->Fc - 1, w / (per_col * g->C)), cu = used(fc, g->Fc, g->Sc, g->C);
  int64_t rem = w - fc * per_col * g->C, fr, len, shift;
  if (g->df == DF_OS) {
    fr = min64(g->Fr - 1, rem / (g->R * cu));
    len = used(fr, g->Fr, g->Sr, g->R), shift = g->T - 1 + g->R - len;
    rem -= fr * g->R * cu;
  } else {
    fr = min64(g->Fr - 1, rem / (g->T * cu));
    len = g->T, shift = 2 * g->R - 1;
    rem -= fr * g->T * cu;
  }
  return (fc * g->Fr + fr) * g->L + skewed_cycle(rem, cu, len, shift);
}

/* OFMAP: every valid output word once per row fold (ws/is re-write partial sums); the first
 * drain starts with the write that leaves more than D words waiting, the rest end after the
 * layer. */
void sys_fast_ofmap_dram(const Geom *g, int64_t ofmap_words, int64_t w, SystolicResult *r) {
  int64_t words = g->df == DF_OS ? g->P * g->N : g->Fr * g->P * g->N;
  int64_t d = ofmap_words - cdiv(ofmap_words, 2);
  r->dram_words[SYS_OFMAP] = words;
  int64_t total = r->total_cycles;
  r->dram_start_cycle[SYS_OFMAP] = words <= d ? total : ofmap_write_cycle(g, d);
  int64_t left = words % (d > 0 ? d : 1);
  r->dram_stop_cycle[SYS_OFMAP] = total + cdiv(left > 0 ? left : d, w) - 1;
}
