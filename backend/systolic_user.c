/* systolic_user.c — the fast path's USER-mode model (entry points in systolic.c): a fold-level
 * model of each read operand's prefetch window and a queue model of the OFMAP drains, giving
 * DRAM reads, their start/stop cycles and the stall cycles (README §7). */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/systolic_impl.h"

/* ------------------------------------------------------------------------------------------
 * Fast path, USER mode: fold-level model of the prefetch window (README §7).
 *
 * The window holds n_active consecutive sets of the operand's fetch stream from `tail`; a
 * request outside it moves tail forward by n_prefetch sets (mod n_sets) until the request is
 * inside, one prefetch per move. Prefetches complete back to back, prefetch n at
 * n*(pf_lines + 1) - 1 whatever the request time, so a prefetch triggered at stall-free row i
 * holds the array until then: stalls >= n*(pf_lines + 1) - 2 - i, and the layer's stalls are
 * the largest such bound (rows only ever wait for the latest event).
 * In a fold an operand is consumed either along the anti-diagonals of one strip (os IFMAP and
 * FILTER, ws IFMAP, is FILTER: stream positions only increase) or as a block of rows of one
 * strip, bottom row first (ws FILTER, is IFMAP: a row increases, rows step back). A forward run
 * over sets a..z moves the window exactly as a request for z alone would, so a fold costs a few
 * requests (diagonal) or one per distinct set its row block starts in (rows). Set boundaries
 * are ranks of valid words: exact where the only padding is the last strip's (closed forms)
 * and for row-major IFMAP (is) with overhanging windows (counted by pixel and window-position
 * classes, uw_rank_pk), scaled by the stream's density of valid words otherwise (diagonal
 * IFMAP streams with overhang, an approximation). SCALE-Sim finds a word in the window by
 * address: with overlapping conv windows one IFMAP word (y, x, ch) sits at many stream
 * positions, one per output pixel whose window holds it, and a request hits if any of them is
 * resident, else the window moves on to the first copy it reaches. There (by_addr) a request
 * is served from that copy (uw_target: the word's at most ceil(Fh/Sh)*ceil(Fw/Sw) copies are
 * placed in the stacked matrix from the im2col structure), and since positions no longer tell
 * hits, a fold is modelled by a fixed number of requests: a diagonal run by samples, a row
 * block by sampled rows, each row by the lanes where its words' copies change strip or output
 * row. Where every word is
 * once in the stream (FILTER always, IFMAP of GEMMs and of convs without overlap) requests
 * stay positional and exact. The OFMAP side is a queue of drains fed fold piece by fold piece
 * (approximate within a few per cent), which takes the read stalls at their rows; without it
 * the read operands are walked on their own, skipping repeated stretches of folds. Cost:
 * O(folds), a few requests per fold and operand; by address at most USER_DIAG_SAMPLES + 1 or
 * USER_ROW_SAMPLES * USER_LANES copy searches per fold, each over the word's copies.
 * ------------------------------------------------------------------------------------------ */
/* Requests modelled per fold where words repeat: samples of a diagonal run, rows of a row
 * block, lanes of a row (see uw_diag_addr, uw_next_row, uw_row_lanes); copy shifts tried
 * first (uw_target). */
enum { USER_DIAG_SAMPLES = 32, USER_ROW_SAMPLES = 8, USER_LANES = 8, USER_HIT_CACHE = 4 };

/* Read stall bounds of one fold, (row, bound) in row order per operand: the OFMAP model takes
 * them at their rows. */
enum { USER_EVENTS = 64 };
typedef struct UserEvents {
  int n;
  int64_t row[USER_EVENTS], bound[USER_EVENTS];
} UserEvents;

typedef struct UserWin {
  FetchStream s; /* geometry only */
  UserEvents *ev; /* where the fold's bounds go (NULL: only their maximum is kept) */
  int64_t n_strips, set_words, n_sets, n_active, n_prefetch, n_valid, n_elems;
  int64_t pf_lines, init_lines;
  bool closed;   /* padding only in the last strip: ranks in closed form */
  bool by_addr;  /* one word at many stream positions: requests hit on any copy */
  int64_t hr, wc; /* filter rows / columns inside the IFMAP for the last output row / column */
  int64_t hit_dr[USER_HIT_CACHE], hit_dc[USER_HIT_CACHE]; /* shifts of the latest hits */
  double density; /* valid words per stream element (ranks when not closed) */
  double inv_set, inv_pf; /* 1/set_words, 1/n_prefetch: divisions dominate the fold loop */
  int64_t tail, n_pf, stall;
  int64_t local; /* largest bound since the caller last reset it */
} UserWin;

/* v / d for 0 <= v < 2^52 from a precomputed 1/d, corrected to the exact quotient. */
static int64_t uw_div(int64_t v, int64_t d, double inv) {
  int64_t q = (int64_t)((double)v * inv);
  if (q * d > v) return q - 1;
  return (q + 1) * d <= v ? q + 1 : q;
}

static void uw_init(UserWin *w, const Geom *g, SysOperand op, int64_t sram, int64_t bw) {
  memset(w, 0, sizeof *w);
  sys_stream_init(&w->s, g, op);
  w->n_strips = w->s.M / w->s.block_rows;
  w->n_elems = w->s.M * w->s.NC;
  w->closed = stream_padding_only(&w->s);
  w->by_addr = !stream_injective(&w->s);
  w->hr = max64(0, min64(g->Fh, g->H - (g->Eh - 1) * g->Sh)); /* 0: the row is all outside */
  w->wc = max64(0, min64(g->Fw, g->W - (g->Ew - 1) * g->Sw));
  if (w->closed)
    w->n_valid = w->n_elems - w->s.block_rows * (w->s.NC - w->s.used_last);
  else /* every valid (pixel, window position) pair once; only the last output row / column
        * clips (to hr / wc, possibly 0) */
    w->n_valid = ((g->Eh - 1) * g->Fh + w->hr) * ((g->Ew - 1) * g->Fw + w->wc) * g->Ch;
  w->density = (double)w->n_valid / (double)w->n_elems;
  int64_t active = cdiv(sram, 2), prefetch = sram - active;
  w->set_words = cdiv(sram, 100);
  w->n_sets = w->n_valid / w->set_words + 1;
  w->n_active = min64(cdiv(active, w->set_words), w->n_sets);
  w->n_prefetch = min64(cdiv(prefetch, w->set_words), w->n_sets - w->n_active);
  w->pf_lines = cdiv(prefetch, bw);
  w->inv_set = 1 / (double)w->set_words;
  w->inv_pf = 1 / (double)max64(w->n_prefetch, 1);
  w->init_lines = min64(cdiv(active, bw), cdiv(w->n_elems, bw));
}

/* Window positions before k by class, [all, filter row < hr, filter column < wc, both]: an
 * overhanging window loses the rows / columns past hr / wc for the last output row / column. */
static void uw_kcounts(const UserWin *w, int64_t k, int64_t n[4]) {
  const Geom *g = w->s.g;
  int64_t q = k / g->Ch, rem = k - q * g->Ch, fr = q / g->Fw, fc = q - fr * g->Fw;
  int64_t rl[4] = {g->Fh, w->hr, g->Fh, w->hr}, cl[4] = {g->Fw, g->Fw, w->wc, w->wc};
  for (int i = 0; i < 4; i++) {
    bool in = fr < rl[i] && fc < cl[i];
    n[i] = (min64(fr, rl[i]) * cl[i] + (fr < rl[i] ? min64(fc, cl[i]) : 0)) * g->Ch +
           (in ? rem : 0);
  }
}

/* Valid words of pixels [p0, p1) at the positions counted in n (uw_kcounts): all pairs minus
 * those of the last output row / column past the edge, the corner pixel added back once. */
static int64_t uw_valid_pixels(const UserWin *w, int64_t p0, int64_t p1, const int64_t n[4]) {
  const Geom *g = w->s.g;
  int64_t last_row = (g->Eh - 1) * g->Ew;
  int64_t n_lr = max64(0, p1 - max64(p0, last_row)), n_lc = p1 / g->Ew - p0 / g->Ew;
  int64_t n_both = p0 <= g->P - 1 && g->P - 1 < p1;
  return n[0] * (p1 - p0) - (n[0] - n[1]) * n_lr - (n[0] - n[2]) * n_lc +
         (n[0] - n[1] - n[2] + n[3]) * n_both;
}

/* uw_rank of an is IFMAP stream with overhang: strips before b whole, the strip's rows before
 * k, then the lanes before col in row k. */
static int64_t uw_rank_pk(const UserWin *w, int64_t row, int64_t col) {
  const Geom *g = w->s.g;
  int64_t b = row / g->K, k = row - b * g->K, p0 = b * g->C, u = min64(g->C, g->P - p0);
  int64_t nk[4], nk1[4], all[4] = {g->K, w->hr * g->Fw * g->Ch, g->Fh * w->wc * g->Ch,
                                   w->hr * w->wc * g->Ch};
  uw_kcounts(w, k, nk);
  uw_kcounts(w, k + 1, nk1);
  return uw_valid_pixels(w, 0, p0, all) + uw_valid_pixels(w, p0, p0 + u, nk) +
         uw_valid_pixels(w, p0, p0 + col, nk1) - uw_valid_pixels(w, p0, p0 + col, nk);
}

/* Rank among valid words of stacked-matrix element (row, col) (valid words before it). */
static int64_t uw_rank(const UserWin *w, int64_t row, int64_t col) {
  const FetchStream *s = &w->s;
  int64_t r0 = s->M - s->block_rows, u = s->used_last;
  if (!s->diagonal) {
    if (w->closed) return row < r0 ? row * s->NC + col : r0 * s->NC + (row - r0) * u + col;
    return uw_rank_pk(w, row, col);
  }
  int64_t d = row + col, hi = min64(d, s->M - 1);
  if (!w->closed)
    return (int64_t)((double)(diag_cells_before(d, s->M, s->NC) + hi - row) * w->density);
  /* valid words of the diagonal above row: rows row+1 .. hi minus the padding among them */
  int64_t pad_hi = min64(hi, d - u), pad_lo = max64(max64(r0, row + 1), d - s->NC + 1);
  return diag_valid_before(s, d) + (hi - row) - max64(0, pad_hi - pad_lo + 1);
}

/* Stream position of the valid word of rank v. */
static int64_t uw_pos(const UserWin *w, int64_t v) {
  if (w->closed) return sys_stream_valid_pos(&w->s, v);
  return min64(w->n_elems - 1, (int64_t)((double)v / w->density));
}

/* a mod n, cheap for the usual a in [-n, 2n) (divisions dominate the fold loop otherwise). */
static int64_t uw_mod(int64_t a, int64_t n) {
  if (a >= 0) return a < n ? a : a < 2 * n ? a - n : a % n;
  return a >= -n ? a + n : ((a % n) + n) % n;
}

/* Prefetch number n, triggered at stall-free row `row`, completes at n*(pf+1) - 1. */
static void uw_bound(UserWin *w, int64_t n, int64_t row) {
  int64_t b = n * (w->pf_lines + 1) - 2 - row;
  w->stall = max64(w->stall, b);
  w->local = max64(w->local, b);
  UserEvents *e = w->ev;
  if (!e || b <= 0) return;
  if (e->n == USER_EVENTS) { /* full (never in practice): fold into the last */
    e->bound[e->n - 1] = max64(e->bound[e->n - 1], b);
    return;
  }
  e->row[e->n] = row, e->bound[e->n++] = b;
}

static void uw_note(UserWin *w, int64_t row) { uw_bound(w, w->n_pf, row); }

/* A request for set x at stall-free row `row`: the window moves on until it holds x (a set
 * behind the window costs a lap round the stream). */
static void uw_request(UserWin *w, int64_t x, int64_t row) {
  int64_t dist = uw_mod(x - w->tail, w->n_sets);
  if (dist < w->n_active || w->n_prefetch == 0) return;
  int64_t steps = uw_div(dist - w->n_active + w->n_prefetch, w->n_prefetch, w->inv_pf);
  w->tail = uw_mod(w->tail + steps * w->n_prefetch, w->n_sets);
  w->n_pf += steps;
  uw_note(w, row);
}

/* Are the valid words of ranks r_lo .. r_hi all in the window? In ranks, without divisions:
 * most folds need nothing more. */
static bool uw_resident(const UserWin *w, int64_t r_lo, int64_t r_hi) {
  int64_t lo = w->tail * w->set_words, hi = (w->tail + w->n_active) * w->set_words;
  int64_t end = w->n_sets * w->set_words;
  if (w->n_prefetch == 0) return true;
  if (hi <= end) return r_lo >= lo && r_hi < hi;
  return r_lo >= lo || r_hi < hi - end; /* the window wraps past the stream's end */
}

/* Is set x in the window? */
static bool uw_has(const UserWin *w, int64_t x) {
  return w->n_prefetch == 0 || uw_mod(x - w->tail, w->n_sets) < w->n_active;
}

/* Pixel p and window position k of IFMAP stacked-matrix element (row, col) (README §7 strips). */
static void uw_pk(const UserWin *w, int64_t row, int64_t col, int64_t *p, int64_t *k) {
  const Geom *g = w->s.g;
  int64_t br = w->s.block_rows, blk = row / br, rr = row - blk * br;
  if (g->df == DF_WS) *p = rr, *k = blk * g->R + col;
  else *p = blk * (g->df == DF_OS ? g->R : g->C) + col, *k = rr;
}

/* Set holding IFMAP pixel p at window position k. */
static int64_t uw_pk_set(const UserWin *w, int64_t p, int64_t k) {
  const Geom *g = w->s.g;
  int64_t row, col, br = w->s.block_rows;
  if (g->df == DF_WS) row = k / g->R * br + p, col = k % g->R;
  else {
    int64_t a = g->df == DF_OS ? g->R : g->C;
    row = p / a * br + k, col = p % a;
  }
  return uw_div(uw_rank(w, row, col), w->set_words, w->inv_set);
}

/* The set a request for element (row, col) is served from: its own if resident or if words
 * are not repeated; else, SCALE-Sim finding words by address, a resident copy of the IFMAP
 * word (pixel (r2, c2) at the window position that reads the same (y, x, ch)), or the copy the
 * window reaches first going forward. At most ceil(Fh/Sh) * ceil(Fw/Sw) copies. */
static int64_t uw_target(UserWin *w, int64_t row, int64_t col) {
  int64_t own = uw_div(uw_rank(w, row, col), w->set_words, w->inv_set);
  if (!w->by_addr || uw_has(w, own)) return own;
  const Geom *g = w->s.g;
  int64_t p, k;
  uw_pk(w, row, col, &p, &k);
  int64_t fw = k / g->Ch, ch = k - fw * g->Ch, fr = fw / g->Fw, fc = fw - fr * g->Fw;
  int64_t r = p / g->Ew, c = p - r * g->Ew, y = r * g->Sh + fr, x = c * g->Sw + fc;
  if (y >= g->H || x >= g->W) return own;
  /* neighbouring requests mostly hit on copies at the shifts of recent hits: try those first */
  for (int q = 0; q < USER_HIT_CACHE; q++) {
    int64_t r1 = r + w->hit_dr[q], c1 = c + w->hit_dc[q];
    if (r1 < 0 || r1 >= g->Eh || c1 < 0 || c1 >= g->Ew || y - r1 * g->Sh < 0 ||
        y - r1 * g->Sh >= g->Fh || x - c1 * g->Sw < 0 || x - c1 * g->Sw >= g->Fw)
      continue;
    int64_t k1 = ((y - r1 * g->Sh) * g->Fw + x - c1 * g->Sw) * g->Ch + ch;
    int64_t x1 = uw_pk_set(w, r1 * g->Ew + c1, k1);
    if (uw_has(w, x1)) return x1;
  }
  int64_t best = own, best_d = uw_mod(own - w->tail, w->n_sets);
  for (int64_t r2 = min64(g->Eh - 1, y / g->Sh); r2 >= 0 && y - r2 * g->Sh < g->Fh; r2--)
    for (int64_t c2 = min64(g->Ew - 1, x / g->Sw); c2 >= 0 && x - c2 * g->Sw < g->Fw; c2--) {
      int64_t k2 = ((y - r2 * g->Sh) * g->Fw + x - c2 * g->Sw) * g->Ch + ch;
      int64_t x2 = uw_pk_set(w, r2 * g->Ew + c2, k2), d = uw_mod(x2 - w->tail, w->n_sets);
      if (d < w->n_active) { /* a hit: the window stays */
        memmove(w->hit_dr + 1, w->hit_dr, (USER_HIT_CACHE - 1) * sizeof *w->hit_dr);
        memmove(w->hit_dc + 1, w->hit_dc, (USER_HIT_CACHE - 1) * sizeof *w->hit_dc);
        w->hit_dr[0] = r2 - r, w->hit_dc[0] = c2 - c;
        return x2;
      }
      if (d < best_d) best = x2, best_d = d;
    }
  return best;
}

/* One strip read along its diagonals (README §3): strip b, u lanes, first diagonal at
 * stall-free row row0. */
typedef struct UserRun {
  int64_t b, u, row0;
} UserRun;

/* Diagonal d and row of the valid word of rank v: one bisection on the closed-form count of
 * valid words before a diagonal (closed streams) or of cells (density-scaled ranks). */
static void uw_locate(const UserWin *w, int64_t v, int64_t *d_out, int64_t *row_out) {
  const FetchStream *s = &w->s;
  int64_t pos = w->closed ? 0 : uw_pos(w, v), lo = 0, hi = s->M + s->NC - 2;
  int64_t a = min64(s->M, s->NC), tri = a * (a + 1) / 2, key = w->closed ? v : pos;
  int64_t pad_d = s->M - s->block_rows + s->used_last; /* first diagonal with padding */
  if (key >= tri && key < tri + (max64(s->M, s->NC) - a) * a) {
    /* full-length diagonals: d in closed form where no padding lies before it */
    int64_t d = a + (key - tri) / a;
    if (!w->closed || s->used_last == s->NC || d < pad_d) lo = hi = d;
  }
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    bool before = w->closed ? diag_valid_before(s, mid) <= v
                            : diag_cells_before(mid, s->M, s->NC) <= pos;
    if (before) lo = mid;
    else hi = mid - 1;
  }
  int64_t d = lo, top = min64(d, s->M - 1);
  *d_out = d;
  if (!w->closed) {
    *row_out = top - (pos - diag_cells_before(d, s->M, s->NC));
    return;
  }
  /* within the diagonal: the valid run above the padding rows, the padding, a valid run */
  int64_t o = v - diag_valid_before(s, d), r0 = s->M - s->block_rows, u = s->used_last;
  int64_t bot = max64(0, d - s->NC + 1), pad_hi = min64(top, d - u), pad_lo = max64(r0, bot);
  int64_t npad = max64(0, pad_hi - pad_lo + 1), above = npad > 0 ? top - pad_hi : top - bot + 1;
  *row_out = top - (o < above ? o : o + npad);
}

/* Stall-free row of the run's first request at or after the word at (diagonal d, row): its
 * diagonal, or the next one when the strip has no word at or after it on that diagonal. */
static int64_t uw_run_row_at(const UserWin *w, const UserRun *run, int64_t d, int64_t row) {
  int64_t br = w->s.block_rows, d0 = run->b * br, dlast = d0 + br + run->u - 2;
  int64_t rlo = max64(d0, d - run->u + 1), rhi = min64(d0 + br - 1, d);
  if (d < d0) d = d0;
  else if (!(rlo <= rhi && row >= rlo)) d++;
  return run->row0 + min64(d, dlast) - d0;
}

/* uw_run_row_at for the valid word of rank v. */
static int64_t uw_run_row(const UserWin *w, const UserRun *run, int64_t v) {
  int64_t d, row;
  uw_locate(w, v, &d, &row);
  return uw_run_row_at(w, run, d, row);
}

/* Rank of the run's first word at rank v or later, or -1 if it has none: v itself, the strip's
 * first word further down v's diagonal, or its first word on the next diagonal. */
static int64_t uw_run_next(const UserWin *w, const UserRun *run, int64_t v) {
  int64_t br = w->s.block_rows, d0 = run->b * br, top = d0 + br - 1, d, row;
  if (v >= w->n_valid) return -1;
  uw_locate(w, v, &d, &row);
  if (d < d0) return uw_rank(w, d0, 0);
  int64_t rlo = max64(d0, d - run->u + 1), rhi = min64(top, d);
  if (rlo <= rhi && row >= rlo) return row <= rhi ? v : uw_rank(w, rhi, d - rhi);
  if (++d > d0 + br + run->u - 2) return -1;
  return uw_rank(w, min64(top, d), d - min64(top, d));
}

/* A forward run longer than the window's gap (the sets not resident): past the gap it comes
 * back round to resident sets, so which sets it touches matters (a run may step over the gap
 * when its strip has no word in those sets, as with small sets on shared diagonals). Walked
 * gap by gap: the first touched set in each gap is requested. */
static void uw_forward_walk(UserWin *w, int64_t a, int64_t z, const UserRun *run) {
  for (int64_t x = a;;) {
    int64_t gap = x - uw_mod(x - w->tail, w->n_sets) + w->n_active; /* first set not resident */
    int64_t v = gap > z ? -1 : uw_run_next(w, run, gap * w->set_words);
    if (v < 0 || uw_div(v, w->set_words, w->inv_set) > z) return;
    x = uw_div(v, w->set_words, w->inv_set);
    uw_request(w, x, uw_run_row(w, run, v));
  }
}

/* Valid words of the stream before the strip's diagonal d (d0 <= d), seen from the strip: an
 * upper bound of the ranks the run reads before diagonal d. */
static int64_t uw_rank_at_diag(const UserWin *w, int64_t d) {
  const FetchStream *s = &w->s;
  d = min64(d, s->M + s->NC - 1);
  if (w->closed) return diag_valid_before(s, d);
  return (int64_t)((double)diag_cells_before(d, s->M, s->NC) * w->density);
}

/* The window after a forward run from resident set a to set z (run NULL: all in row `row`);
 * prefetch j is triggered by the first request in set x_j and bounds the stalls by
 * (n0 + j + 1)*(pf+1) - 2 - row_j. Between events the run reads np*s words in rows that depend
 * on its diagonals' lengths: the bound grows while the run reads faster than rho = np*s/(pf+1)
 * words a cycle and falls otherwise. The run's diagonals lengthen, stay, then shorten, so the
 * largest bound is at the first event, where the shortening diagonals fall to rho, or at the
 * last event: only those are evaluated (each may cost a bisection). */
static void uw_forward(UserWin *w, int64_t a, int64_t z, const UserRun *run, int64_t row) {
  int64_t tail_u = a - uw_mod(a - w->tail, w->n_sets), over = z - tail_u - w->n_active + 1;
  if (over <= 0 || w->n_prefetch == 0) return;
  if (run && z - tail_u >= w->n_sets) {
    uw_forward_walk(w, a, z, run);
    return;
  }
  int64_t m = uw_div(over + w->n_prefetch - 1, w->n_prefetch, w->inv_pf), n0 = w->n_pf;
  w->n_pf += m;
  w->tail = uw_mod(w->tail + m * w->n_prefetch, w->n_sets);
  if (!run) { /* all in one cycle: the last prefetch decides */
    uw_note(w, row);
    return;
  }
  int64_t step = w->n_prefetch * w->set_words, x0 = (tail_u + w->n_active) * w->set_words;
  int64_t br = w->s.block_rows, dlast = run->b * br + br + run->u - 2;
  int64_t rho = cdiv(step, w->pf_lines + 1); /* diagonals at least this long keep up */
  int64_t jx = (uw_rank_at_diag(w, dlast + 2 - rho) - x0) / step;
  int64_t cand[4] = {0, jx - 1, jx, m - 1}, last = -1;
  for (int i = 1; i < 4; i++) /* in row order, once each */
    for (int k = i; k > 0 && cand[k] < cand[k - 1]; k--) {
      int64_t t = cand[k];
      cand[k] = cand[k - 1], cand[k - 1] = t;
    }
  for (int i = 0; i < 4; i++) {
    int64_t j = cand[i];
    if (j < 0 || j >= m || j == last) continue;
    last = j;
    uw_bound(w, n0 + j + 1, uw_run_row(w, run, min64(x0 + j * step, w->n_valid - 1)));
  }
}

/* A diagonal run over ranks r_lo .. r_hi of a stream with repeated words, sampled at up to
 * USER_DIAG_SAMPLES + 1 evenly spaced ranks (no more than the run has diagonals): a sample
 * whose set is resident moves nothing (the resident stretch is skipped), any other goes to its
 * nearest copy; when that is its own set and the previous sample's set is resident, the
 * forward run between them keeps its prefetch events (uw_forward). */
static void uw_diag_addr(UserWin *w, const UserRun *run, int64_t r_lo, int64_t r_hi) {
  int64_t prev = -1, ns = min64(USER_DIAG_SAMPLES, w->s.block_rows + run->u - 1);
  int64_t span = max64(r_hi - r_lo, 1);
  for (int64_t i = 0; i <= ns; i++) {
    int64_t v0 = r_lo + i * (r_hi - r_lo) / ns;
    int64_t own0 = uw_div(v0, w->set_words, w->inv_set);
    if (uw_has(w, own0)) { /* on to the last sample before the first set past the window */
      int64_t gap = own0 + w->n_active - uw_mod(own0 - w->tail, w->n_sets);
      prev = own0;
      if (w->n_prefetch > 0 && gap < w->n_sets)
        i = max64(i, min64(ns, (gap * w->set_words - r_lo) * ns / span) - 1);
      else i = ns;
      continue;
    }
    int64_t v = uw_run_next(w, run, v0), d, row;
    if (v < 0) continue;
    uw_locate(w, v, &d, &row);
    int64_t own = uw_div(v, w->set_words, w->inv_set), t = uw_target(w, row, d - row);
    if (t == own && prev >= 0 && uw_has(w, prev)) uw_forward(w, prev, own, run, run->row0);
    else uw_request(w, t, uw_run_row_at(w, run, d, row));
    prev = own;
  }
}

/* Fold reading strip b along its diagonals, diagonal 0 at stall-free row row0. */
static void uw_fold_diag(UserWin *w, int64_t b, int64_t row0) {
  const FetchStream *s = &w->s;
  int64_t br = s->block_rows, u = b == w->n_strips - 1 ? s->used_last : s->NC;
  UserRun run = {.b = b, .u = u, .row0 = row0};
  int64_t r_lo = uw_rank(w, b * br, 0), r_hi = uw_rank(w, b * br + br - 1, u - 1);
  if (uw_resident(w, r_lo, r_hi)) return;
  if (w->by_addr) {
    uw_diag_addr(w, &run, r_lo, r_hi);
    return;
  }
  int64_t a = uw_div(r_lo, w->set_words, w->inv_set);
  int64_t z = uw_div(r_hi, w->set_words, w->inv_set);
  uw_request(w, a, row0);
  uw_forward(w, a, z, &run, row0);
}

/* Largest stacked row whose first word has rank below v (row-major streams), or -1: in closed
 * form, or by bisection on uw_rank_pk. */
static int64_t uw_row_below(const UserWin *w, int64_t v) {
  const FetchStream *s = &w->s;
  int64_t r0 = s->M - s->block_rows;
  if (w->closed) {
    if (v <= r0 * s->NC) return cdiv(v, s->NC) - 1;
    return r0 + cdiv(v - r0 * s->NC, s->used_last) - 1;
  }
  int64_t lo = -1, hi = s->M - 1; /* the rank of a row's first word grows with the row */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (uw_rank(w, mid, 0) < v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* Lanes of an is IFMAP strip b (u lanes, pixels b*C ..) whose words may be served from
 * another strip than their neighbours' (sorted, distinct; returns their number): the ends
 * (copies one pixel over), the lanes where the copy one output row down or up crosses into
 * the next strip (Ew mod C), and where the strip's pixels wrap to the next output row. */
static int uw_row_lanes(const UserWin *w, int64_t b, int64_t u, int64_t lanes[USER_LANES]) {
  const Geom *g = w->s.g;
  int64_t C = w->s.NC, e = g->Ew % C, wrap = g->Ew - b * C % g->Ew;
  int64_t c[USER_LANES] = {0, (C - e) % C - 1, (C - e) % C, e - 1, e, wrap - 1, wrap, u - 1};
  int n = 0;
  for (int q = 0; q < USER_LANES; q++) {
    if (c[q] < 0 || c[q] >= u) continue;
    int k = n++;
    for (; k > 0 && lanes[k - 1] > c[q]; k--) lanes[k] = lanes[k - 1];
    lanes[k] = c[q];
  }
  int m = 0;
  for (int q = 0; q < n; q++)
    if (m == 0 || lanes[q] != lanes[m - 1]) lanes[m++] = lanes[q];
  return m;
}

/* Next row index to model above row i of a block of ru rows: all of them, or USER_ROW_SAMPLES
 * evenly spaced ones when requests hit by address (each row then costs a copy search). */
static int64_t uw_next_row(const UserWin *w, int64_t i, int64_t ru) {
  int64_t ns = USER_ROW_SAMPLES;
  if (!w->by_addr || ru <= ns) return i - 1;
  int64_t k = (ru - 1 - i) * (ns - 1) / (ru - 1) + 1;
  while (k < ns && (ru - 1) - k * (ru - 1) / (ns - 1) >= i) k++;
  return k < ns ? (ru - 1) - k * (ru - 1) / (ns - 1) : -1;
}

/* Fold reading rows top .. top+ru-1 of the stacked matrix bottom row first, row top+i at
 * stall-free row row0 + R-1-i (ws weights, is inputs). When a row starting in set a leaves a
 * resident, the rows below it that start in a too lie inside the window: only the first row
 * per set is modelled, and a block already resident costs nothing. With repeated words (is
 * IFMAP of overlapping convs) a row is its uw_row_lanes, each served from its nearest copy. */
static void uw_fold_rows(UserWin *w, int64_t b, int64_t top, int64_t ru, int64_t row0,
                         int64_t R) {
  int64_t u = b == w->n_strips - 1 ? w->s.used_last : w->s.NC, lanes[USER_LANES];
  if (uw_resident(w, uw_rank(w, top, 0), uw_rank(w, top + ru - 1, u - 1))) return;
  int n_lanes = w->by_addr ? uw_row_lanes(w, b, u, lanes) : 0;
  for (int64_t i = ru - 1; i >= 0;) {
    int64_t row = row0 + R - 1 - i;
    int64_t a = uw_div(uw_rank(w, top + i, 0), w->set_words, w->inv_set);
    if (w->by_addr) {
      for (int q = 0; q < n_lanes; q++) uw_request(w, uw_target(w, top + i, lanes[q]), row);
    } else {
      uw_request(w, a, row);
      uw_forward(w, a, uw_div(uw_rank(w, top + i, u - 1), w->set_words, w->inv_set), NULL, row);
    }
    int64_t next = uw_next_row(w, i, ru);
    i = uw_has(w, a) ? min64(next, uw_row_below(w, a * w->set_words) - top) : next;
  }
}

/* One fold (fc, fr) of a read operand. */
static void uw_fold(UserWin *w, const Geom *g, SysOperand op, int64_t fc, int64_t fr) {
  bool rows = (g->df == DF_WS && op == SYS_FILTER) || (g->df == DF_IS && op == SYS_IFMAP);
  bool by_col = (g->df == DF_OS && op == SYS_FILTER) || rows; /* strip = column fold */
  int64_t row0 = (fc * g->Fr + fr) * g->L, b = by_col ? fc : fr;
  if (rows)
    uw_fold_rows(w, b, b * w->s.block_rows + fr * g->R, used(fr, g->Fr, g->Sr, g->R), row0,
                 g->R);
  else /* skewed streams start after the weight load in ws and is */
    uw_fold_diag(w, b, row0 + (g->df == DF_OS ? 0 : g->R));
}

/* A read operand alone (no OFMAP stalls to interleave), with repeats skipped. The window's
 * behaviour over a stretch of folds depends only on its tail when the stretch starts, so once
 * the tail comes back to its value at the start of the previous stretch, every later stretch
 * repeats that one: the same prefetches, bounds higher by their count times (pf+1) and lower by
 * the stretch's rows. Stretches: a column fold for operands swept once per column fold (os and
 * ws IFMAP, is FILTER), a fold for os FILTER (one strip re-read by every row fold). */
static void uw_skip(UserWin *w, int64_t reps, int64_t dn, int64_t local, int64_t rows) {
  int64_t slope = dn * (w->pf_lines + 1) - rows;
  w->n_pf += reps * dn;
  if (slope > 0 && local > INT64_MIN) w->stall = max64(w->stall, local + reps * slope);
}

/* Beyond USER_FOLD_BUDGET folds a layer's remaining folds follow the rate measured over the
 * second half of the budget (prefetches per fold, the largest stall bound among those folds):
 * the cost stays bounded for layers with hundreds of thousands of folds (a 224 x 224 conv on
 * an 8 x 8 array), which otherwise took up to 0.2 s each in a sweep. Layers within the budget
 * (every reference and test layer) are evaluated fold by fold. */
enum { USER_FOLD_BUDGET = 4096 };

static void uw_extrapolate(UserWin *w, int64_t reps, int64_t span, int64_t dn, int64_t local,
                           int64_t rows) {
  int64_t add = llround((double)dn * (double)reps / (double)span);
  int64_t grow = add * (w->pf_lines + 1) - reps * rows; /* growth of the stall bound */
  w->n_pf += add;
  if (grow > 0 && local > INT64_MIN) w->stall = max64(w->stall, local + grow);
}

static void uw_walk(UserWin *w, const Geom *g, SysOperand op) {
  bool sweep = op == SYS_IFMAP ? g->df != DF_IS : g->df == DF_IS;
  bool reread = g->df == DF_OS && op == SYS_FILTER;
  int64_t cf_tail = -1, cf_pf = 0, cf_local = 0;
  int64_t done = 0, half = USER_FOLD_BUDGET / 2, h_pf = 0, h_local = INT64_MIN;
  for (int64_t fc = 0; fc < g->Fc; fc++) {
    if (sweep && w->tail == cf_tail) {
      uw_skip(w, g->Fc - fc, w->n_pf - cf_pf, cf_local, g->Fr * g->L);
      return;
    }
    cf_tail = w->tail, cf_pf = w->n_pf, w->local = INT64_MIN;
    int64_t f_tail = -1, f_pf = 0, f_local = 0;
    for (int64_t fr = 0; fr < g->Fr; fr++) {
      if (reread && w->tail == f_tail) {
        uw_skip(w, g->Fr - fr, w->n_pf - f_pf, f_local, g->L);
        break;
      }
      if (done == USER_FOLD_BUDGET) {
        uw_extrapolate(w, g->F - (fc * g->Fr + fr), done - half, w->n_pf - h_pf, h_local, g->L);
        return;
      }
      if (done++ == half) h_pf = w->n_pf;
      int64_t before = w->local;
      f_tail = w->tail, f_pf = w->n_pf, w->local = INT64_MIN;
      uw_fold(w, g, op, fc, fr);
      f_local = w->local, w->local = max64(before, w->local);
      if (done > half) h_local = max64(h_local, f_local);
    }
    cf_local = w->local;
  }
}

/* OFMAP side, a queue at fold-piece granularity (README §6): drains run only while more than
 * D words are pending; then one of n_l = ceil(D/b) lines starts every n_l - 1 cycles (the next
 * drain starts in the cycle the previous one ends), emptying mu = n_l*b/(n_l - 1) words a
 * cycle, and a row waits for the running drain's end once A = B - D words beyond it are
 * pending. With X(i) the stall level at stall-free row i and W(i) the words written up to row i,
 * once the first drain has started, X(i) >= X(j) + (n_l - 1)*floor((W(i) - W(j) + 1 - A)/D) -
 * (i - j) for j < i: j is taken where the fluid form X(j) + j - W(j)/mu peaks (m). Read
 * stalls raise X and give the drains time. */
typedef struct UserOut {
  bool on;     /* the buffer can hold the array up (else nothing below is used) */
  bool filled; /* more than D words written: the drains have started */
  double inv_mu, mu, d;    /* d = D/mu: t units (t = W/mu) */
  double period, dw, aw, inv_dw; /* cycles per drain, D and A in words */
  double x, m, mt, t;      /* mt: t at the row that gives m */
} UserOut;

/* Can the OFMAP buffer hold the array up at all? Not if no row writes more than mu words, nor
 * if every fold writes no more than mu*L words (the backlog cannot build up across folds) and
 * a fold's burst, at most (peak - mu) words a row over its writing rows, stays well below A
 * (a drain lasting one cycle: inv_mu = 0, never). */
static bool uo_can_stall(const Geom *g, double inv_mu, double a) {
  int64_t ru = min64(g->R, g->Sr), cu = min64(g->C, g->Sc);
  int64_t peak = g->df == DF_OS ? min64(ru, cu) : min64(g->T, cu); /* most words in a row */
  int64_t words = g->df == DF_OS ? ru * cu : g->T * cu, span = g->df == DF_OS ? ru + cu - 1
                                                                              : g->T + cu - 1;
  if ((double)peak * inv_mu <= 1) return false;
  double mu = 1 / inv_mu;
  return (double)words > mu * (double)g->L || ((double)peak - mu) * (double)span > a / 2;
}

static void uo_init(UserOut *o, const Geom *g, int64_t sram, int64_t bw) {
  memset(o, 0, sizeof *o);
  int64_t d = sram - cdiv(sram, 2), nl = cdiv(d, bw);
  o->inv_mu = nl > 1 ? (double)(nl - 1) / (double)(nl * bw) : 0;
  o->on = uo_can_stall(g, o->inv_mu, (double)(sram - d));
  o->mu = o->on ? 1 / o->inv_mu : 0;
  o->d = (double)d * o->inv_mu;
  o->period = (double)(nl - 1), o->dw = (double)d, o->aw = (double)cdiv(sram, 2);
  o->inv_dw = 1 / o->dw;
  o->m = -1e300;
}

static void uo_raise_m(UserOut *o, double y, double t) {
  if (y > o->m) o->m = y, o->mt = t;
}

static double uo_floor(double x) { /* floor() is a libm call on baseline x86-64 */
  double t = (double)(int64_t)x;
  return t > x ? t - 1 : t;
}

/* Stall level forced at row i, w words after the row that gives m: the array resumes only
 * when a drain starts, so the fluid bound is rounded down to whole drain periods (D words
 * each, the first A words absorbed). */
static double uo_bound(const UserOut *o, double i, double w) {
  return o->m + o->mt - i + o->period * uo_floor((w + 1 - o->aw) * o->inv_dw);
}

/* Largest uo_bound over rows i0 .. i1 writing rw words each, w0 words at row i0: it falls by
 * one a row between steps, so it peaks at i0 or where a step starts; the steps gain if rw > mu
 * (the last counts) and lose otherwise (the first counts). */
static double uo_piece_bound(const UserOut *o, double i0, double i1, double w0, double rw) {
  double b = uo_bound(o, i0, w0), w1 = w0 + (i1 - i0) * rw, inv_rw = 1 / rw;
  double ks[2] = {uo_floor((w0 + 1 - o->aw) * o->inv_dw) + 1,
                  uo_floor((w1 + 1 - o->aw) * o->inv_dw)};
  for (int q = 0; q < 2 && ks[1] >= ks[0]; q++) { /* no step inside: the first row decides */
    /* first row whose words reach step k: w(i) + 1 - A >= k*D */
    double i = i0 - uo_floor(-((ks[q] * o->dw + o->aw - 1 - w0) * inv_rw - 1e-9));
    if (i > i0 && i <= i1) b = fmax(b, uo_bound(o, i, w0 + rw * (i - i0)));
  }
  return b;
}

/* Rows i0 .. i0+n-1 write `rate` words each. Until the first drain only the words count. */
static void uo_piece(UserOut *o, int64_t i0, int64_t n, double rate) {
  if (n <= 0 || rate <= 0) return;
  double r = rate * o->inv_mu;
  if (!o->filled) { /* no drain before the backlog passes D: the bound counts from there */
    double k = ceil((o->d + o->inv_mu - o->t) / r - 1e-9);
    if (k > (double)n) {
      o->t += r * (double)n;
      return;
    }
    int64_t j = i0 + (int64_t)k - 1;
    o->t += r * k;
    o->mt = o->d + o->inv_mu; /* drains count from the word that starts the first one */
    o->m = o->x + (double)j - o->mt;
    o->filled = true;
    n -= (int64_t)k, i0 = j + 1;
    if (n <= 0) return;
  }
  double i1 = (double)(i0 + n - 1), t0 = o->t + r, t1 = o->t + r * (double)n;
  uo_raise_m(o, o->x + (double)(i0 - 1) - o->t, o->t);
  o->x = fmax(o->x, uo_piece_bound(o, (double)i0, i1, (t0 - o->mt) * o->mu, rate));
  uo_raise_m(o, o->x + i1 - t1, t1);
  o->t = t1;
}

/* Pending read bounds of the fold, applied at their rows: the next is ev->row[k]. */
typedef struct UserCursor {
  const UserEvents *ev;
  int k;
} UserCursor;

/* uo_piece, cut at the rows of the read bounds inside it. */
static void uo_span(UserOut *o, UserCursor *c, int64_t i0, int64_t n, double rate) {
  while (n > 0) {
    /* bounds at or before i0 apply; later ones not above x never will */
    while (c->k < c->ev->n && (c->ev->row[c->k] <= i0 || (double)c->ev->bound[c->k] <= o->x))
      o->x = fmax(o->x, (double)c->ev->bound[c->k++]);
    int64_t cut = c->k < c->ev->n ? min64(n, c->ev->row[c->k] - i0) : n;
    uo_piece(o, i0, cut, rate);
    i0 += cut, n -= cut;
  }
}

/* A ramp, a plateau and a ramp: the words a fold writes per row, as three pieces. Rows r0 ..
 * r0 + a + c - 2 write the anti-diagonals of an a x c grid of outputs. */
static void uo_grid(UserOut *o, UserCursor *cur, int64_t r0, int64_t a, int64_t c) {
  int64_t lo = min64(a, c), hi = max64(a, c);
  uo_span(o, cur, r0, lo - 1, (double)lo / 2);
  uo_span(o, cur, r0 + lo - 1, hi - lo + 1, (double)lo);
  uo_span(o, cur, r0 + hi, lo - 1, (double)lo / 2);
}

/* Both operands' bounds of a fold in one row-ordered list (each operand's are in order). */
static void uo_merge(UserEvents *e, int n_first) {
  for (int i = n_first; i < e->n; i++)
    for (int k = i; k > 0 && e->row[k] < e->row[k - 1]; k--) {
      int64_t r = e->row[k], b = e->bound[k];
      e->row[k] = e->row[k - 1], e->bound[k] = e->bound[k - 1];
      e->row[k - 1] = r, e->bound[k - 1] = b;
    }
}

/* The OFMAP words of fold (fc, fr) (README §3): os writes its ru x cu outputs at the end of
 * the fold, ws and is one row of cu outputs per streamed step. */
static void uo_fold(UserOut *o, const Geom *g, int64_t fc, int64_t fr, const UserEvents *ev) {
  int64_t row0 = (fc * g->Fr + fr) * g->L;
  int64_t ru = used(fr, g->Fr, g->Sr, g->R), cu = used(fc, g->Fc, g->Sc, g->C);
  UserCursor cur = {.ev = ev};
  if (g->df == DF_OS) uo_grid(o, &cur, row0 + g->T - 1 + g->R - ru, ru, cu);
  else uo_grid(o, &cur, row0 + 2 * g->R - 1, g->T, cu);
  for (; cur.k < ev->n; cur.k++) o->x = fmax(o->x, (double)ev->bound[cur.k]);
}

/* USER mode: DRAM reads and their start/stop cycles, and the stall cycles, fold by fold. */
int64_t sys_user_eval(const Geom *g, const SystolicConfig *cfg, SystolicResult *r) {
  UserWin w[2];
  UserOut out;
  UserEvents ev;
  int64_t sram[2] = {cfg->ifmap_sram_words, cfg->filter_sram_words};
  for (int o = 0; o < 2; o++) uw_init(&w[o], g, (SysOperand)o, sram[o], cfg->dram_bw_words);
  uo_init(&out, g, cfg->ofmap_sram_words, cfg->dram_bw_words);
  for (int o = 0; o < 2; o++) w[o].ev = out.on ? &ev : NULL;
  if (!out.on) /* the operands are independent */
    for (int o = 0; o < 2; o++)
      if (w[o].n_prefetch > 0) uw_walk(&w[o], g, (SysOperand)o);
  int64_t done = 0, half = USER_FOLD_BUDGET / 2, h_pf[2] = {0, 0};
  double h_x = 0;
  for (int64_t fc = 0; fc < g->Fc && out.on; fc++)
    for (int64_t fr = 0; fr < g->Fr; fr++) {
      if (done == USER_FOLD_BUDGET) { /* the rest at the rate of the budget's second half */
        int64_t reps = g->F - done, span = done - half;
        for (int o = 0; o < 2; o++)
          uw_extrapolate(&w[o], reps, span, w[o].n_pf - h_pf[o], w[o].local, g->L);
        out.x += (out.x - h_x) * (double)reps / (double)span;
        fc = g->Fc;
        break;
      }
      if (done++ == half) {
        for (int o = 0; o < 2; o++) h_pf[o] = w[o].n_pf, w[o].local = INT64_MIN;
        h_x = out.x;
      }
      ev.n = 0;
      int n_first = 0;
      for (int o = 0; o < 2; o++) {
        if (w[o].n_prefetch > 0) uw_fold(&w[o], g, (SysOperand)o, fc, fr);
        if (o == 0) n_first = ev.n;
      }
      uo_merge(&ev, n_first);
      uo_fold(&out, g, fc, fr, &ev);
    }
  for (int o = 0; o < 2; o++) {
    r->dram_words[o] = (w[o].init_lines + w[o].n_pf * w[o].pf_lines) * cfg->dram_bw_words;
    r->dram_start_cycle[o] = -w[o].init_lines;
    r->dram_stop_cycle[o] = w[o].n_pf * (w[o].pf_lines + 1) - 1;
  }
  return max64(max64(w[0].stall, w[1].stall), (int64_t)ceil(out.x - 1e-9));
}
