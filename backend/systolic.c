/* systolic.c — systolic-array cost model, cycle-faithful to SCALE-Sim v2.
 *
 * One layer (a conv as SCALE-Sim maps it, or a GEMM view) on an R x C array with dataflow os, ws
 * or is. The fast path gives every closed-form figure in O(1), FILTER and OFMAP DRAM traffic in
 * O(column folds) at most, and IFMAP DRAM reads from deterministic epoch models replayed at the
 * granularity of kernel positions (cost O(Fh*Fw*Fw/Sw)) or pixel blocks (capped at a fixed
 * budget), falling back on a reuse-distance model (O(Fh/Sh + Fw/Sw)); never with the number of
 * MACs, cycles or addresses. The exact path replays the three operand streams fold by fold
 * through models of SCALE-Sim's buffers. Semantics: ../shared/refdata/scalesim/README.md. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

/* ------------------------------------------------------------------------------------------
 * Geometry: im2col sizes, folds, fold length.
 * ------------------------------------------------------------------------------------------ */
typedef struct Geom {
  int64_t H, W, Fh, Fw, Ch, N, Sh, Sw;
  int64_t Eh, Ew, P, K;    /* output rows/cols, pixels, window length */
  int64_t R, C;            /* array rows, columns */
  int64_t Sr, Sc, T;       /* spread over rows, over columns, streamed in time */
  int64_t Fr, Fc, F;       /* row folds, column folds, folds */
  int64_t L;               /* cycles per fold */
  int64_t ru_last, cu_last; /* rows / columns used by the last row / column fold */
  bool overhang;           /* some window reaches past the IFMAP edge (README §1) */
  Dataflow df;
  int64_t off[SYS_N_OPERANDS];
} Geom;

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

const char *systolic_dataflow_name(Dataflow df) {
  return df == DF_OS ? "os" : df == DF_WS ? "ws" : "is";
}

SysLayer systolic_layer_from_gemm(int64_t g, int64_t m, int64_t n, int64_t k) {
  SysLayer l = {.ifmap_h = m, .ifmap_w = k, .filter_h = 1, .filter_w = k, .channels = 1,
                .num_filters = n, .stride_h = 1, .stride_w = 1, .repeat = g};
  return l;
}

/* Products that the model forms, checked once so that nothing below can overflow. */
static bool geom_fits(const Geom *g) {
  int64_t a, b;
  return ir_mul_ok(g->P, g->K, &a) && ir_mul_ok(a, g->N, &b) && ir_mul_ok(b, 100, &b) &&
         ir_mul_ok(g->F, g->L, &a) && ir_mul_ok(a, 4, &a) && ir_mul_ok(g->Fc * g->Fr, a, &b) &&
         ir_mul_ok(g->Fr, g->P * g->N + g->R + g->C, &a) && ir_mul_ok(g->Fc, g->P * g->K, &a) &&
         ir_mul_ok(g->Fr * g->Fc, g->K * g->N, &a) && ir_mul_ok(g->R * g->C, g->L, &a);
}

XdlStatus systolic_check(const SystolicConfig *cfg, const SysLayer *l, Diag *d) {
  if (cfg->rows <= 0 || cfg->cols <= 0 || cfg->rows > (1 << 20) || cfg->cols > (1 << 20))
    return diag_error(d, XDL_ERR_INPUT, "array size %lldx%lld must be positive",
                      (long long)cfg->rows, (long long)cfg->cols);
  if (cfg->ifmap_sram_words < 100 || cfg->filter_sram_words < 100 ||
      cfg->ofmap_sram_words < 2)
    return diag_error(d, XDL_ERR_INPUT, "SRAM sizes must be at least 100 words");
  if (cfg->ifmap_sram_words > ((int64_t)1 << 40) || cfg->filter_sram_words > ((int64_t)1 << 40) ||
      cfg->ofmap_sram_words > ((int64_t)1 << 40))
    return diag_error(d, XDL_ERR_INPUT, "SRAM sizes too large");
  if (cfg->bw_mode_user && (cfg->dram_bw_words <= 0 || cfg->dram_bw_words > (1 << 20)))
    return diag_error(d, XDL_ERR_INPUT, "USER-mode DRAM bandwidth must be positive");
  if (cfg->df != DF_OS && cfg->df != DF_WS && cfg->df != DF_IS)
    return diag_error(d, XDL_ERR_INPUT, "unknown dataflow");
  const int64_t lim = (int64_t)1 << 31;
  int64_t v[] = {l->ifmap_h, l->ifmap_w, l->filter_h, l->filter_w, l->channels,
                 l->num_filters, l->stride_h, l->stride_w, l->repeat};
  for (size_t i = 0; i < sizeof v / sizeof *v; i++)
    if (v[i] <= 0 || v[i] > lim)
      return diag_error(d, XDL_ERR_INPUT, "layer sizes, strides and repeat must be positive");
  if (l->filter_h > l->ifmap_h || l->filter_w > l->ifmap_w)
    return diag_error(d, XDL_ERR_INPUT, "filter %lldx%lld larger than input %lldx%lld",
                      (long long)l->filter_h, (long long)l->filter_w, (long long)l->ifmap_h,
                      (long long)l->ifmap_w);
  return XDL_OK;
}

/* Fills g from a checked config and layer. False if a product would overflow. */
static bool geom_init(Geom *g, const SystolicConfig *cfg, const SysLayer *l) {
  memset(g, 0, sizeof *g);
  g->H = l->ifmap_h, g->W = l->ifmap_w, g->Fh = l->filter_h, g->Fw = l->filter_w;
  g->Ch = l->channels, g->N = l->num_filters, g->Sh = l->stride_h, g->Sw = l->stride_w;
  /* SCALE-Sim oddity: ceil, not floor+1, so overhanging windows are simulated (README §1). */
  g->Eh = cdiv(g->H - g->Fh + g->Sh, g->Sh);
  g->Ew = cdiv(g->W - g->Fw + g->Sw, g->Sw);
  g->overhang = (g->Eh - 1) * g->Sh + g->Fh > g->H || (g->Ew - 1) * g->Sw + g->Fw > g->W;
  int64_t t;
  if (!ir_mul_ok(g->Eh, g->Ew, &g->P) || !ir_mul_ok(g->Fh, g->Fw, &t) ||
      !ir_mul_ok(t, g->Ch, &g->K))
    return false;
  g->R = cfg->rows, g->C = cfg->cols, g->df = cfg->df;
  switch (cfg->df) {
  case DF_OS: g->Sr = g->P, g->Sc = g->N, g->T = g->K; break;
  case DF_WS: g->Sr = g->K, g->Sc = g->N, g->T = g->P; break;
  case DF_IS: g->Sr = g->K, g->Sc = g->P, g->T = g->N; break;
  }
  g->Fr = cdiv(g->Sr, g->R), g->Fc = cdiv(g->Sc, g->C);
  if (!ir_mul_ok(g->Fr, g->Fc, &g->F)) return false;
  g->L = cfg->df == DF_OS ? g->T + g->R + g->C - 2 : 2 * g->R + g->C + g->T - 2;
  g->ru_last = g->Sr - (g->Fr - 1) * g->R;
  g->cu_last = g->Sc - (g->Fc - 1) * g->C;
  g->off[SYS_IFMAP] = cfg->ifmap_offset, g->off[SYS_FILTER] = cfg->filter_offset;
  g->off[SYS_OFMAP] = cfg->ofmap_offset;
  return geom_fits(g);
}

/* ------------------------------------------------------------------------------------------
 * im2col validity. Window position k = (fr*Fw + fc)*Ch + ch of output pixel p = r*Ew + c reads
 * IFMAP (r*Sh + fr, c*Sw + fc, ch); out of range = no request. Only the last output row and
 * column can overhang (the overhang is < stride), so pixels fall into four classes.
 * ------------------------------------------------------------------------------------------ */
/* Largest valid filter row / column for pixel p (negative = none). */
static void pixel_limits(const Geom *g, int64_t p, int64_t *frmax, int64_t *fcmax) {
  int64_t r = p / g->Ew, c = p % g->Ew;
  *frmax = min64(g->Fh - 1, g->H - 1 - r * g->Sh);
  *fcmax = min64(g->Fw - 1, g->W - 1 - c * g->Sw);
}

/* Largest valid k <= kk for pixel p, or -1. */
static int64_t last_valid_k(const Geom *g, int64_t p, int64_t kk) {
  int64_t frmax, fcmax;
  pixel_limits(g, p, &frmax, &fcmax);
  if (frmax < 0 || fcmax < 0 || kk < 0) return -1;
  int64_t a = kk / (g->Fw * g->Ch), b = (kk / g->Ch) % g->Fw;
  if (a > frmax) return (frmax * g->Fw + fcmax) * g->Ch + g->Ch - 1;
  if (b > fcmax) return (a * g->Fw + fcmax) * g->Ch + g->Ch - 1;
  return kk;
}

/* Smallest valid k >= kk for pixel p, or INT64_MAX. */
static int64_t first_valid_k(const Geom *g, int64_t p, int64_t kk) {
  int64_t frmax, fcmax;
  pixel_limits(g, p, &frmax, &fcmax);
  if (frmax < 0 || fcmax < 0) return INT64_MAX;
  int64_t a = kk / (g->Fw * g->Ch), b = (kk / g->Ch) % g->Fw;
  if (a > frmax) return INT64_MAX;
  if (b > fcmax) return a + 1 > frmax ? INT64_MAX : (a + 1) * g->Fw * g->Ch;
  return kk;
}

/* Largest p + k over valid pairs with p in [plo, phi) and k in [klo, khi), or -1. Within a
 * validity class the largest valid k <= khi-1 is the same for every pixel, so the last pixel of
 * each class in the range is enough: candidates hi-1, hi-2, the last pixel of the last column
 * before hi and its left neighbour, and the two last pixels before the last output row. */
static int64_t max_valid_pk(const Geom *g, int64_t plo, int64_t phi, int64_t klo, int64_t khi) {
  if (!g->overhang) return phi > plo && khi > klo ? phi - 1 + khi - 1 : -1; /* all valid */
  int64_t q = (phi - 1) - ((phi - 1) % g->Ew) - 1;
  if ((phi - 1) % g->Ew == g->Ew - 1) q = phi - 1;
  int64_t c[6] = {phi - 1, phi - 2, q, q - 1, g->Ew * (g->Eh - 1) - 1, g->Ew * (g->Eh - 1) - 2};
  int64_t best = -1;
  for (int i = 0; i < 6; i++) {
    if (c[i] < plo || c[i] >= phi) continue;
    int64_t k = last_valid_k(g, c[i], khi - 1);
    if (k >= klo) best = max64(best, c[i] + k);
  }
  return best;
}

/* The first pixel of each class among pixels [lo, hi). */
static int first_pixel_candidates(const Geom *g, int64_t lo, int64_t hi, int64_t out[5]) {
  int64_t lastcol = lo + (g->Ew - 1 - lo % g->Ew);
  int64_t c[5] = {lo, lo + 1, lastcol, max64(lo, g->Ew * (g->Eh - 1)), g->P - 1};
  int n = 0;
  for (int i = 0; i < 5; i++)
    if (c[i] >= lo && c[i] < hi) out[n++] = c[i];
  return n;
}

/* ------------------------------------------------------------------------------------------
 * Closed-form figures (both paths).
 * ------------------------------------------------------------------------------------------ */
/* Rows (or columns) used by fold index i of n folds over extent s on an array side of a. */
static int64_t used(int64_t i, int64_t n, int64_t s, int64_t a) {
  return i == n - 1 ? s - (n - 1) * a : a;
}

/* SRAM counts, SCALE-Sim's way (README §5). os OFMAP writes include F*(R+C) phantom writes: a
 * counting slip in SCALE-Sim that adds the padded tile's height plus width once per fold. */
static void closed_sram_counts(const Geom *g, SystolicResult *r) {
  switch (g->df) {
  case DF_OS:
    r->sram_words[SYS_IFMAP] = g->Fc * g->P * g->K;
    r->sram_words[SYS_FILTER] = g->Fr * g->K * g->N;
    r->sram_words[SYS_OFMAP] = g->P * g->N + g->F * (g->R + g->C);
    break;
  case DF_WS:
    r->sram_words[SYS_IFMAP] = g->Fc * g->P * g->K;
    r->sram_words[SYS_FILTER] = g->K * g->N;
    r->sram_words[SYS_OFMAP] = g->Fr * g->P * g->N;
    break;
  case DF_IS:
    r->sram_words[SYS_IFMAP] = g->P * g->K;
    r->sram_words[SYS_FILTER] = g->Fc * g->K * g->N;
    r->sram_words[SYS_OFMAP] = g->Fr * g->P * g->N;
    break;
  }
}

/* Mapping efficiency and compute utilisation in closed form. SCALE-Sim averages per-fold
 * values; the closed form equals that average up to floating-point summation order (exact
 * when R*C is a power of two for the mapping efficiency). ws/is oddity: the per-fold compute
 * utilisation divides by 2R + 2C + T - 3, C - 1 cycles more than the fold lasts (README §4). */
static void closed_utils(const Geom *g, SystolicResult *r) {
  int64_t lu = g->df == DF_OS ? g->T + g->R + g->C - 2 : 2 * g->R + 2 * g->C + g->T - 3;
  double area = (double)(g->Fr * g->R) * (double)(g->Fc * g->C);
  r->mapping_efficiency_pct = (double)(g->Sr * g->Sc) / area * 100;
  r->compute_util_pct = (double)g->Sr * (double)g->Sc * (double)g->T /
                        ((double)(g->R * g->C) * (double)lu * (double)g->F) * 100;
}

/* The same two averages summed fold by fold in SCALE-Sim's order (column fold outer), so the
 * last digits agree with its reports. */
static void summed_utils(const Geom *g, SystolicResult *r) {
  int64_t lu = g->df == DF_OS ? g->T + g->R + g->C - 2 : 2 * g->R + 2 * g->C + g->T - 3;
  double map_sum = 0, util_sum = 0;
  for (int64_t fc = 0; fc < g->Fc; fc++)
    for (int64_t fr = 0; fr < g->Fr; fr++) {
      int64_t mac_used = used(fr, g->Fr, g->Sr, g->R) * used(fc, g->Fc, g->Sc, g->C);
      map_sum += (double)mac_used / (double)(g->R * g->C);
      util_sum += (double)(mac_used * g->T) / (double)(g->R * g->C * lu);
    }
  r->mapping_efficiency_pct = map_sum / (double)g->F * 100;
  r->compute_util_pct = util_sum / (double)g->F * 100;
}

/* SRAM start/stop cycles of the stall-free schedule (README §3, §5): first and last cycle with
 * a valid request, +1 for the two read operands (hit latency). */
static void closed_sram_cycles(const Geom *g, SystolicResult *r) {
  int64_t last = (g->F - 1) * g->L, ru0 = min64(g->R, g->Sr);
  int64_t cand[5], n, best = -1;
  switch (g->df) {
  case DF_OS: {
    /* Latest IFMAP read: lane j = p - p0 reads window position k at t = k + j. A fold whose
     * pixels are all out of range (filter smaller than stride) has none: walk back. */
    for (int64_t f = g->F - 1; f >= 0 && best < 0; f--) {
      int64_t fr = f % g->Fr, p0 = fr * g->R;
      int64_t pk = max_valid_pk(g, p0, p0 + used(fr, g->Fr, g->Sr, g->R), 0, g->K);
      if (pk >= 0) best = f * g->L + pk - p0;
    }
    r->sram_start_cycle[SYS_IFMAP] = 1;
    r->sram_stop_cycle[SYS_IFMAP] = best + 1;
    r->sram_start_cycle[SYS_FILTER] = 1;
    r->sram_stop_cycle[SYS_FILTER] = last + g->T - 1 + g->cu_last - 1 + 1;
    r->sram_start_cycle[SYS_OFMAP] = g->T - 1 + g->R - ru0;
    r->sram_stop_cycle[SYS_OFMAP] = last + g->T - 1 + g->R - 1 + g->cu_last - 1;
    break;
  }
  case DF_WS: {
    /* Latest IFMAP read: pixel p on lane j = k - k0 at t = R + p + j; walk back as for os. */
    for (int64_t f = g->F - 1; f >= 0 && best < 0; f--) {
      int64_t fr = f % g->Fr, k0 = fr * g->R;
      int64_t pk = max_valid_pk(g, 0, g->P, k0, k0 + used(fr, g->Fr, g->Sr, g->R));
      if (pk >= 0) best = f * g->L + g->R + pk - k0;
    }
    r->sram_start_cycle[SYS_IFMAP] = g->R + 1;
    r->sram_stop_cycle[SYS_IFMAP] = best + 1;
    r->sram_start_cycle[SYS_FILTER] = g->R - ru0 + 1;
    r->sram_stop_cycle[SYS_FILTER] = last + g->R;
    r->sram_start_cycle[SYS_OFMAP] = 2 * g->R - 1;
    r->sram_stop_cycle[SYS_OFMAP] = last + 2 * g->R - 1 + g->T - 1 + g->cu_last - 1;
    break;
  }
  case DF_IS: {
    /* Latest IFMAP read: smallest array row i with a valid window position for some pixel
     * of the fold; a fold whose pixels all overhang its window positions has none, so walk
     * back (rarely more than one fold). */
    int64_t stop = 0;
    for (int64_t f = g->F - 1; f >= 0; f--) {
      int64_t fc = f / g->Fr, fr = f % g->Fr, k0 = fr * g->R, p0 = fc * g->C, imin = INT64_MAX;
      int64_t ru = used(fr, g->Fr, g->Sr, g->R), cu = used(fc, g->Fc, g->Sc, g->C);
      if (!g->overhang) { /* every window position of every pixel is valid: row 0 reads */
        stop = f * g->L + g->R;
        break;
      }
      n = first_pixel_candidates(g, p0, p0 + cu, cand);
      for (int i = 0; i < n; i++) {
        int64_t k = first_valid_k(g, cand[i], k0);
        if (k != INT64_MAX) imin = min64(imin, k - k0);
      }
      if (imin < ru) {
        stop = f * g->L + g->R - 1 - imin + 1;
        break;
      }
    }
    r->sram_start_cycle[SYS_IFMAP] = g->R - ru0 + 1;
    r->sram_stop_cycle[SYS_IFMAP] = stop;
    r->sram_start_cycle[SYS_FILTER] = g->R + 1;
    r->sram_stop_cycle[SYS_FILTER] = last + g->R + g->T - 1 + g->ru_last - 1 + 1;
    r->sram_start_cycle[SYS_OFMAP] = 2 * g->R - 1;
    r->sram_stop_cycle[SYS_OFMAP] = last + 2 * g->R - 1 + g->T - 1 + g->cu_last - 1;
    break;
  }
  }
}

static void fill_common(const Geom *g, SystolicResult *r) {
  memset(r, 0, sizeof *r);
  r->row_folds = g->Fr, r->col_folds = g->Fc, r->fold_cycles = g->L;
  r->macs = g->P * g->N * g->K;
  r->total_cycles = g->F * g->L - 1;
  closed_sram_counts(g, r);
}

/* Derived ratios, computed as SCALE-Sim does (Python true division of integers). */
static void finish_ratios(const Geom *g, SystolicResult *r) {
  r->overall_util_pct =
      (double)(r->macs * 100) / (double)(r->total_cycles * g->R * g->C);
  for (int o = 0; o < SYS_N_OPERANDS; o++) {
    r->avg_sram_bw[o] = (double)r->sram_words[o] / (double)r->total_cycles;
    int64_t span = r->dram_stop_cycle[o] - r->dram_start_cycle[o] + 1;
    r->avg_dram_bw[o] = span > 0 ? (double)r->dram_words[o] / (double)span : 0;
  }
}

/* Scales one copy's result to G back-to-back copies. */
static void apply_repeat(SystolicResult *r, int64_t reps) {
  if (reps <= 1) return;
  int64_t span = r->total_cycles + 1;
  r->total_cycles = reps * span - 1;
  r->stall_cycles *= reps;
  r->macs *= reps;
  for (int o = 0; o < SYS_N_OPERANDS; o++) {
    r->sram_words[o] *= reps;
    r->dram_words[o] *= reps;
    r->sram_stop_cycle[o] += (reps - 1) * span;
    r->dram_stop_cycle[o] += (reps - 1) * span;
  }
}

/* ------------------------------------------------------------------------------------------
 * Buffer models for the exact path.
 * ------------------------------------------------------------------------------------------ */
static uint64_t hash64(int64_t a) {
  uint64_t x = (uint64_t)a * 0x9E3779B97F4A7C15ull;
  return x ^ (x >> 29);
}

static uint64_t pow2_at_least(uint64_t n) {
  uint64_t c = 16;
  while (c < n) c <<= 1;
  return c;
}

/* CALC-mode read buffer (README §6). Addresses fetched in the current epoch live in an open-
 * addressing set whose slots are stamped with the epoch, so forgetting the whole epoch at once
 * (SCALE-Sim's all-or-nothing buffer, not LRU) is one increment. Key and stamp share a slot (one
 * cache line per probe); slots are picked by Fibonacci hashing (the top bits of addr * 2^64/phi),
 * which spreads the streams' regular address patterns with short probe runs. */
typedef struct EpochSlot {
  int64_t key;
  uint32_t stamp; /* epoch that inserted key; 0 = never used */
} EpochSlot;

typedef struct EpochBuf {
  EpochSlot *slots;
  uint64_t mask;
  int shift; /* 64 - log2(slots): Fibonacci hashing keeps the top bits of addr * golden */
  uint32_t epoch;
  int64_t set_words;   /* s = floor(B/100) */
  int64_t epoch_words; /* Q = 50 s */
  int64_t fill, adds;
  bool seen;
  int64_t first_cycle, last_trigger, n_triggers;
} EpochBuf;

static bool epoch_init(EpochBuf *b, int64_t sram_words) {
  memset(b, 0, sizeof *b);
  b->set_words = sram_words / 100;
  b->epoch_words = 50 * b->set_words;
  uint64_t cap = pow2_at_least((uint64_t)b->epoch_words * 2);
  b->shift = 64;
  for (uint64_t c = cap; c > 1; c >>= 1) b->shift--;
  b->slots = xdl_calloc(cap, sizeof *b->slots);
  b->mask = cap - 1;
  b->epoch = 1;
  return b->slots != NULL;
}

static void epoch_free(EpochBuf *b) { xdl_free(b->slots); }

static void epoch_access(EpochBuf *b, int64_t cycle, int64_t addr) {
  uint64_t h = ((uint64_t)addr * 0x9E3779B97F4A7C15ull) >> b->shift;
  while (b->slots[h].stamp == b->epoch) {
    if (b->slots[h].key == addr) return;
    h = (h + 1) & b->mask;
  }
  b->slots[h].key = addr;
  b->slots[h].stamp = b->epoch;
  b->adds++;
  if (++b->fill == b->epoch_words) {
    b->fill = 0;
    b->epoch++;
    b->n_triggers++;
    b->last_trigger = cycle;
  }
}

/* DRAM reads and start/stop of a CALC read buffer: the first epoch is assumed fetched at 10
 * words/cycle ending just before the first request, each later one during the previous
 * epoch's compute time (README §6). */
static void epoch_report(const EpochBuf *b, int64_t *words, int64_t *start, int64_t *stop) {
  *words = b->adds;
  if (b->n_triggers > 0) {
    *start = b->first_cycle - cdiv(b->epoch_words, 10);
    *stop = b->last_trigger + 1;
  } else {
    *start = -cdiv(cdiv(b->adds, b->set_words) * b->set_words, 10);
    *stop = -1;
  }
}

/* Open-addressing multiset of addresses (count per address) with backward-shift deletion. */
typedef struct AddrCount {
  int64_t *keys;
  int32_t *counts; /* 0 = empty slot */
  uint64_t mask;
} AddrCount;

static bool addrcount_init(AddrCount *m, uint64_t max_entries) {
  uint64_t cap = pow2_at_least(max_entries * 2 + 2);
  m->keys = xdl_malloc(cap * sizeof *m->keys);
  m->counts = xdl_calloc(cap, sizeof *m->counts);
  m->mask = cap - 1;
  return m->keys && m->counts;
}

static void addrcount_free(AddrCount *m) {
  xdl_free(m->keys);
  xdl_free(m->counts);
}

static bool addrcount_has(const AddrCount *m, int64_t a) {
  for (uint64_t h = hash64(a) & m->mask; m->counts[h]; h = (h + 1) & m->mask)
    if (m->keys[h] == a) return true;
  return false;
}

static void addrcount_add(AddrCount *m, int64_t a) {
  uint64_t h = hash64(a) & m->mask;
  for (; m->counts[h]; h = (h + 1) & m->mask)
    if (m->keys[h] == a) {
      m->counts[h]++;
      return;
    }
  m->keys[h] = a;
  m->counts[h] = 1;
}

static void addrcount_remove(AddrCount *m, int64_t a) {
  uint64_t h = hash64(a) & m->mask;
  while (m->counts[h] && m->keys[h] != a) h = (h + 1) & m->mask;
  if (!m->counts[h] || --m->counts[h] > 0) return;
  /* Backward-shift deletion keeps probe chains intact without tombstones. */
  uint64_t hole = h;
  for (uint64_t j = (h + 1) & m->mask; m->counts[j]; j = (j + 1) & m->mask) {
    uint64_t home = hash64(m->keys[j]) & m->mask;
    bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      m->keys[hole] = m->keys[j];
      m->counts[hole] = m->counts[j];
      m->counts[j] = 0;
      hole = j;
    }
  }
}

/* USER-mode fetch stream (README §7): the operand matrix cut into the strips the array
 * consumes, each strip once, stacked (M x NC), read along anti-diagonals (row+col ascending,
 * row descending) for operands that enter the array skewed, row by row otherwise. */
typedef struct FetchStream {
  const Geom *g;
  SysOperand op;
  int64_t M, NC, block_rows;
  int64_t used_last; /* columns used by the last strip; the rest of its columns are padding */
  bool diagonal;
  int64_t pos_d, pos_row; /* diagonal cursor (diag id, row) or linear index in pos_d */
  int64_t memo_d, memo_before; /* stream_pos: last diagonal, cells before it (-1: none) */
} FetchStream;

static void stream_init(FetchStream *s, const Geom *g, SysOperand op) {
  memset(s, 0, sizeof *s);
  s->g = g, s->op = op;
  bool ifm = op == SYS_IFMAP;
  switch (g->df) {
  case DF_OS: /* ifmap: K x R per row fold; filter: K x C per column fold; both skewed */
    s->block_rows = g->K, s->NC = ifm ? g->R : g->C, s->M = (ifm ? g->Fr : g->Fc) * g->K;
    s->diagonal = true;
    s->used_last = ifm ? g->ru_last : g->cu_last;
    break;
  case DF_WS: /* ifmap: P x R per row fold, skewed; filter: K x C per column fold */
    s->block_rows = ifm ? g->P : g->K, s->NC = ifm ? g->R : g->C;
    s->M = ifm ? g->Fr * g->P : g->Fc * g->K;
    s->diagonal = ifm;
    s->used_last = ifm ? g->ru_last : g->cu_last;
    break;
  case DF_IS: /* ifmap: K x C per column fold; filter: N x R per row fold, skewed */
    s->block_rows = ifm ? g->K : g->N, s->NC = ifm ? g->C : g->R;
    s->M = ifm ? g->Fc * g->K : g->Fr * g->N;
    s->diagonal = !ifm;
    s->used_last = ifm ? g->cu_last : g->ru_last;
    break;
  }
  s->pos_d = 0;
  s->pos_row = 0;
  s->memo_d = -1;
}

static int64_t ifmap_addr(const Geom *g, int64_t p, int64_t k) {
  int64_t r = p / g->Ew, c = p % g->Ew;
  int64_t fr = k / (g->Fw * g->Ch), rem = k % (g->Fw * g->Ch);
  int64_t y = r * g->Sh + fr, x = c * g->Sw + rem / g->Ch;
  if (y >= g->H || x >= g->W) return -1;
  return g->off[SYS_IFMAP] + (y * g->W + x) * g->Ch + rem % g->Ch;
}

/* Address of stacked-matrix element (row, col), or -1 for padding / no request. */
static int64_t stream_elem(const FetchStream *s, int64_t row, int64_t col) {
  const Geom *g = s->g;
  int64_t blk = row / s->block_rows, rr = row % s->block_rows;
  switch (g->df) {
  case DF_OS:
    if (s->op == SYS_IFMAP)
      return col < used(blk, g->Fr, g->Sr, g->R) ? ifmap_addr(g, blk * g->R + col, rr) : -1;
    return col < used(blk, g->Fc, g->Sc, g->C)
               ? g->off[SYS_FILTER] + (blk * g->C + col) * g->K + rr : -1;
  case DF_WS:
    if (s->op == SYS_IFMAP)
      return col < used(blk, g->Fr, g->Sr, g->R) ? ifmap_addr(g, rr, blk * g->R + col) : -1;
    return col < used(blk, g->Fc, g->Sc, g->C)
               ? g->off[SYS_FILTER] + (blk * g->C + col) * g->K + rr : -1;
  case DF_IS:
    if (s->op == SYS_IFMAP)
      return col < used(blk, g->Fc, g->Sc, g->C) ? ifmap_addr(g, blk * g->C + col, rr) : -1;
    return col < used(blk, g->Fr, g->Sr, g->R)
               ? g->off[SYS_FILTER] + rr * g->K + blk * g->R + col : -1;
  }
  return -1;
}

/* Next element of the stream (may be -1); false at the end. */
static bool stream_next(FetchStream *s, int64_t *addr) {
  if (!s->diagonal) {
    if (s->pos_d >= s->M * s->NC) return false;
    *addr = stream_elem(s, s->pos_d / s->NC, s->pos_d % s->NC);
    s->pos_d++;
    return true;
  }
  if (s->pos_d > s->M + s->NC - 2) return false;
  int64_t d = s->pos_d, row = s->pos_row;
  *addr = stream_elem(s, row, d - row);
  if (row - 1 >= max64(0, d - s->NC + 1)) {
    s->pos_row = row - 1;
  } else {
    s->pos_d = d + 1;
    s->pos_row = min64(d + 1, s->M - 1);
  }
  return true;
}

static void stream_rewind(FetchStream *s) {
  s->pos_d = 0;
  s->pos_row = 0;
}

/* Next valid address, wrapping around at the end (the stream has at least one). */
static int64_t stream_next_valid(FetchStream *s) {
  int64_t a;
  for (;;) {
    if (!stream_next(s, &a)) {
      stream_rewind(s);
      continue;
    }
    if (a != -1) return a;
  }
}

/* Cells of an m x nc matrix on anti-diagonals 0 .. d-1 (diagonal e holds min(e+1, a, m+nc-1-e)
 * cells, a = min(m, nc)), for 0 <= d <= m + nc - 1. */
static int64_t diag_cells_before(int64_t d, int64_t m, int64_t nc) {
  int64_t a = min64(m, nc), b = max64(m, nc);
  if (d <= a) return d * (d + 1) / 2;
  if (d <= b) return a * (a + 1) / 2 + (d - a) * a;
  int64_t lo = m + nc - d; /* length of diagonal d-1 */
  return a * (a + 1) / 2 + (b - a) * a + a * (a - 1) / 2 - lo * (lo - 1) / 2;
}

/* True if every address occurs at most once in the operand's fetch stream. Filter strips are
 * disjoint; IFMAP im2col windows overlap (the same pixel twice) unless the filter is no taller /
 * wider than the stride or there is a single output row / column. */
static bool stream_injective(const FetchStream *s) {
  const Geom *g = s->g;
  if (s->op == SYS_FILTER) return true;
  return (g->Fh <= g->Sh || g->Eh == 1) && (g->Fw <= g->Sw || g->Ew == 1);
}

/* Position (counting padding) in the fetch stream of stacked-matrix element (row, col). The
 * replay knows the element of every request it generates: row = (the operand's fold index) *
 * block_rows + (row within the strip), col = the array lane (see replay_put). */
static inline int64_t stream_pos(FetchStream *s, int64_t row, int64_t col) {
  if (!s->diagonal) return row * s->NC + col;
  int64_t d = row + col; /* rows run from min(d, M-1) down within a diagonal */
  if (d != s->memo_d) /* one demand row mostly reads one diagonal */
    s->memo_d = d, s->memo_before = diag_cells_before(d, s->M, s->NC);
  return s->memo_before + min64(d, s->M - 1) - row;
}

/* USER-mode read buffer: a window of n_active sets of the fetch stream is resident; a miss
 * moves it forward (circularly) by n_prefetch sets and costs one prefetch on the DRAM
 * timeline. SCALE-Sim oddity kept: the window only moves forward, so data that has left it is
 * found again only after a full lap of the stream (README §7).
 *
 * Two representations of the window, same answers. Ranged (the stream is injective): set i
 * covers stream positions [bound(i), bound(i+1)) (bound(i) = position of the valid word of
 * rank i*set_words, the stream's length past the last valid word), so the window is one
 * circular range of positions [lo, hi), a request is a hit iff the stream position of the
 * element it reads falls in it (the element is unique: the stream is injective), and a hit
 * test is O(1). Only the boundaries of the window's own sets are ever known: when the only
 * padding is the last strip's (stream_padding_only), lo and hi are recomputed in closed form
 * at each prefetch (O(log(M + NC))); otherwise a cursor walks the stream once per lap, ahead
 * of the window, and a ring keeps the boundaries of sets tail_set .. tail_set + n_active.
 * Otherwise the resident addresses live in a hash multiset that two cursors walk set by set.
 * Memory is O(sets in the window) = O(1) (n_active <= 50: a set holds ceil(B/100) words, the
 * active half ceil(B/2) <= 50 * ceil(B/100)) or, hashed, O(active SRAM words), whatever the
 * operand's size. */
enum { WINDOW_RING = 64 }; /* > n_active + 1 (n_active <= 50, see above) */

typedef struct WindowBuf {
  FetchStream tail, head; /* hashed: cursors at the first set in / first set after the window;
                           * ranged: tail for stream_pos, head the boundary walk's cursor */
  int64_t tail_set, head_set;
  int64_t set_words, n_sets, n_active, n_prefetch, n_valid, n_elems;
  bool ranged, closed;      /* ranged window; its boundaries in closed form (else walked) */
  int64_t lo, hi;           /* ranged: resident positions [lo, hi), or [lo, end) + [0, hi) */
  bool wrap;                /* ... when the window wraps past the stream's end */
  int64_t k_tail;           /* ranged: sets the window's tail has moved (tail_set = mod n_sets) */
  int64_t walk_set, walk_pos, walk_rank; /* walk: next set to bound, head's position / rank */
  int64_t ring[WINDOW_RING]; /* walk: bound of absolute set k (k_tail .. k_tail + n_active) */
  AddrCount win;  /* not ranged: resident addresses */
  int64_t bw, pf_lines, init_lines;
  int64_t dram_words, last_pf_cycle, n_prefetches;
} WindowBuf;

/* Adds (dir = +1) or removes (-1) set number `set` read from cursor s. */
static void window_walk_set(WindowBuf *b, FetchStream *s, int64_t set, int dir) {
  int64_t n = set == b->n_sets - 1 ? b->n_valid - set * b->set_words : b->set_words;
  if (set == 0) stream_rewind(s);
  for (int64_t i = 0; i < n; i++) {
    int64_t a = stream_next_valid(s);
    if (dir > 0) addrcount_add(&b->win, a);
    else addrcount_remove(&b->win, a);
  }
}

/* Counts the stream's elements and valid words in one pass (no storage). */
static void window_scan(WindowBuf *b) {
  int64_t a, pos = 0;
  stream_rewind(&b->tail);
  for (; stream_next(&b->tail, &a); pos++)
    if (a != -1) b->n_valid++;
  stream_rewind(&b->tail);
  b->n_elems = pos;
}

/* True if the only -1 elements of the stream are the padding columns [used_last, NC) of the
 * last strip: always for FILTER, for IFMAP unless the last output row / column overhangs. */
static bool stream_padding_only(const FetchStream *s) {
  const Geom *g = s->g;
  return s->op == SYS_FILTER || ((g->H - g->Fh) % g->Sh == 0 && (g->W - g->Fw) % g->Sw == 0);
}

/* window_scan in closed form for a stream_padding_only stream, whose only padding is the last
 * strip's rectangle rows [M - block_rows, M) x cols [used_last, NC). */
static void window_scan_fast(WindowBuf *b) {
  const FetchStream *s = &b->tail;
  b->n_elems = s->M * s->NC;
  b->n_valid = s->M * s->NC - s->block_rows * (s->NC - s->used_last);
}

/* Valid words on anti-diagonals 0 .. d-1 of a stream_padding_only diagonal stream: all cells
 * minus those of the padding rectangle, itself an (M - r0) x (NC - u) matrix whose diagonal 0
 * is the stream's diagonal r0 + u. */
static int64_t diag_valid_before(const FetchStream *s, int64_t d) {
  int64_t r0 = s->M - s->block_rows, u = s->used_last, mr = s->M - r0, nr = s->NC - u;
  int64_t all = diag_cells_before(d, s->M, s->NC);
  if (nr == 0) return all;
  int64_t e = min64(max64(d - r0 - u, 0), mr + nr - 1);
  return all - diag_cells_before(e, mr, nr);
}

/* Stream position of the valid word of rank v (0 <= v < n_valid) of a stream_padding_only
 * stream. Row-major: valid words run straight up to the last strip, whose rows hold used_last
 * each. Diagonal: the diagonal holding rank v is found by bisection on the closed-form count of
 * valid words before a diagonal; within it the valid words are a run (the rows above the
 * padding rectangle's columns), the padding run, and a valid run. */
static int64_t stream_valid_pos(const FetchStream *s, int64_t v) {
  int64_t M = s->M, NC = s->NC, u = s->used_last, r0 = M - s->block_rows;
  if (!s->diagonal) {
    int64_t top = r0 * NC; /* valid words before the last strip */
    return v < top ? v : top + (v - top) / u * NC + (v - top) % u;
  }
  int64_t dlo = 0, dhi = M + NC - 2; /* largest d with diag_valid_before(d) <= v */
  while (dlo < dhi) {
    int64_t mid = dlo + (dhi - dlo + 1) / 2;
    if (diag_valid_before(s, mid) <= v) dlo = mid;
    else dhi = mid - 1;
  }
  int64_t d = dlo, o = v - diag_valid_before(s, d); /* rank within the diagonal's valid words */
  int64_t hi = min64(d, M - 1), lo = max64(0, d - NC + 1), len = hi - lo + 1;
  int64_t pad_hi = min64(hi, d - u), pad_lo = max64(r0, lo); /* padding rows, descending */
  int64_t above = hi - max64(pad_hi, pad_lo - 1), npad = max64(0, pad_hi - pad_lo + 1);
  if (npad == 0) above = len;
  return diag_cells_before(d, M, NC) + (o < above ? o : o + npad);
}

/* bound(set) in closed form (b->closed). */
static int64_t window_bound_closed(const WindowBuf *b, int64_t set) {
  int64_t v = set * b->set_words;
  return v < b->n_valid ? stream_valid_pos(&b->tail, v) : b->n_elems;
}

/* bound(walk_set) by walking the head cursor on to the set's first valid word; walk_set then
 * moves on, circularly (set 0 rewinds the cursor). Called for consecutive sets only. */
static int64_t window_bound_walk(WindowBuf *b) {
  int64_t set = b->walk_set, v = set * b->set_words, a;
  b->walk_set = (set + 1) % b->n_sets;
  if (set == 0) stream_rewind(&b->head), b->walk_pos = 0, b->walk_rank = 0;
  if (v >= b->n_valid) return b->n_elems;
  for (;; b->walk_pos++) {
    if (!stream_next(&b->head, &a)) return b->n_elems; /* unreachable: v < n_valid */
    if (a != -1 && b->walk_rank++ == v) return b->walk_pos++;
  }
}

/* Sets [lo, hi) from tail_set (the window holds sets tail_set .. tail_set + n_active - 1). */
static void window_set_range(WindowBuf *b) {
  int64_t end = b->tail_set + b->n_active;
  b->wrap = end > b->n_sets;
  if (b->closed) {
    b->lo = window_bound_closed(b, b->tail_set);
    b->hi = end == b->n_sets ? b->n_elems : window_bound_closed(b, end % b->n_sets);
  } else {
    b->lo = b->ring[b->k_tail % WINDOW_RING];
    b->hi = end == b->n_sets ? b->n_elems : b->ring[(b->k_tail + b->n_active) % WINDOW_RING];
  }
}

static bool window_init(WindowBuf *b, const Geom *g, SysOperand op, int64_t sram_words,
                        int64_t bw, bool allow_ranged) {
  memset(b, 0, sizeof *b);
  stream_init(&b->tail, g, op);
  b->set_words = cdiv(sram_words, 100);
  bool ranged = allow_ranged && stream_injective(&b->tail);
  b->closed = ranged && stream_padding_only(&b->tail);
  if (b->closed) window_scan_fast(b);
  else window_scan(b);
  b->head = b->tail;
  int64_t active = cdiv(sram_words, 2), prefetch = sram_words - active;
  b->n_sets = b->n_valid / b->set_words + 1;
  b->n_active = min64(cdiv(active, b->set_words), b->n_sets);
  b->n_prefetch = min64(cdiv(prefetch, b->set_words), b->n_sets - b->n_active);
  b->bw = bw;
  b->pf_lines = cdiv(prefetch, bw);
  b->init_lines = min64(cdiv(active, bw), cdiv(b->n_elems, bw));
  b->dram_words = b->init_lines * bw;
  b->last_pf_cycle = -1;
  b->tail_set = 0;
  b->head_set = b->n_active % b->n_sets;
  b->ranged = ranged && b->n_active + 1 <= WINDOW_RING; /* always (n_active <= 50) */
  if (b->ranged) {
    if (!b->closed) /* the boundaries of sets 0 .. n_active */
      for (int64_t k = 0; k <= b->n_active; k++) b->ring[k] = window_bound_walk(b);
    window_set_range(b);
    return true;
  }
  b->closed = false;
  b->head = b->tail;
  if (!addrcount_init(&b->win, (uint64_t)(b->n_active * b->set_words))) return false;
  for (int64_t s = 0; s < b->n_active; s++) window_walk_set(b, &b->head, s, +1);
  return true;
}

static void window_free(WindowBuf *b) {
  if (!b->ranged) addrcount_free(&b->win);
}

static void window_prefetch(WindowBuf *b) {
  if (b->ranged) {
    if (!b->closed) /* the walk bounds the sets entering the window; the ring drops those left */
      for (int64_t j = 1; j <= b->n_prefetch; j++)
        b->ring[(b->k_tail + b->n_active + j) % WINDOW_RING] = window_bound_walk(b);
    b->k_tail += b->n_prefetch;
    b->tail_set = (b->tail_set + b->n_prefetch) % b->n_sets;
    b->head_set = (b->head_set + b->n_prefetch) % b->n_sets;
    window_set_range(b);
  } else {
    for (int64_t i = 0; i < b->n_prefetch; i++) {
      window_walk_set(b, &b->tail, b->tail_set, -1);
      b->tail_set = (b->tail_set + 1) % b->n_sets;
      window_walk_set(b, &b->head, b->head_set, +1);
      b->head_set = (b->head_set + 1) % b->n_sets;
    }
  }
  b->dram_words += b->pf_lines * b->bw;
  b->last_pf_cycle += b->pf_lines + 1; /* back-to-back on the DRAM timeline, 1-cycle latency */
  b->n_prefetches++;
}

/* Is address a (at stream position pos) resident? Ranged: pos lies in the window's circular
 * range of positions. */
static bool window_has(const WindowBuf *b, int64_t a, int64_t pos) {
  if (!b->ranged) return addrcount_has(&b->win, a);
  if (!b->wrap) return pos >= b->lo && pos < b->hi;
  return pos >= b->lo || pos < b->hi;
}

/* Serves one demand row issued at cycle; returns the stall cycles it causes. */
static int64_t window_service(WindowBuf *b, int64_t cycle, const int64_t *addrs,
                              const int64_t *pos, int n) {
  int64_t offset = 1; /* hit latency */
  for (int i = 0; i < n; i++) {
    int64_t laps = 0;
    while (!window_has(b, addrs[i], pos[i])) {
      if (b->n_prefetch == 0 || laps++ > b->n_sets / b->n_prefetch + 2) break;
      window_prefetch(b);
      int64_t pot = b->last_pf_cycle - (cycle + offset);
      if (pot > 0) offset += pot;
    }
  }
  return offset - 1;
}

/* OFMAP write buffer (README §6): lines of w words; a drain of ceil(D/w) lines starts when a
 * word is written with no drain running and fewer than A words free. SCALE-Sim oddity kept: a
 * drain counts lines*w minus the empty slots of its last line only, so a partial line closed
 * by a trigger and drained mid-way counts its padding as written. */
typedef struct WriteBuf {
  int64_t total, active, drain_words, w;
  int64_t free, line_fill;
  int32_t *lines; /* ring of closed lines' valid-word counts */
  int64_t cap, head, count;
  int64_t drain_end, writes, first_start, last_end;
  bool any_drain;
} WriteBuf;

static bool writebuf_init(WriteBuf *b, int64_t sram_words, int64_t w) {
  memset(b, 0, sizeof *b);
  b->total = sram_words;
  b->active = cdiv(sram_words, 2);
  b->drain_words = sram_words - b->active;
  b->w = w;
  b->free = sram_words;
  b->cap = sram_words + 2 * w + 8;
  b->lines = xdl_malloc((size_t)b->cap * sizeof *b->lines);
  return b->lines != NULL;
}

static void writebuf_push(WriteBuf *b, int64_t n) {
  if (b->count == b->cap) return; /* cannot happen: lines <= words held + 2 */
  b->lines[(b->head + b->count) % b->cap] = (int32_t)n;
  b->count++;
}

static void writebuf_drain(WriteBuf *b, int64_t start) {
  int64_t n = min64(cdiv(b->drain_words, b->w), b->count);
  if (n == 0) return;
  int64_t last = b->lines[(b->head + n - 1) % b->cap];
  int64_t words = n * b->w - (b->w - last);
  b->head = (b->head + n) % b->cap;
  b->count -= n;
  b->free += words;
  b->writes += words;
  if (!b->any_drain) b->first_start = start;
  b->any_drain = true;
  b->drain_end = start + n - 1;
  b->last_end = b->drain_end; /* SCALE-Sim reports the last drained line, not the max */
}

static void writebuf_close_line(WriteBuf *b) {
  if (b->line_fill > 0) writebuf_push(b, b->line_fill);
  b->line_fill = 0;
}

/* Appends m words to the open line, closing every line that fills. */
static void writebuf_append(WriteBuf *b, int64_t m) {
  b->free -= m;
  b->line_fill += m;
  while (b->line_fill >= b->w) {
    writebuf_push(b, b->w);
    b->line_fill -= b->w;
  }
}

/* Writes n words issued at cycle; returns the stall cycles. Word by word, a word written while
 * a drain runs stalls the row to the drain's end if it leaves no free space; one written with
 * no drain running starts a drain if fewer than A words are free. Words between two such events
 * only fill lines, so they are appended in one step. */
static int64_t writebuf_service(WriteBuf *b, int64_t cycle, int64_t n) {
  int64_t cc = cycle;
  while (n > 0) {
    bool draining = cc < b->drain_end;
    int64_t to_event = draining ? b->free : b->free - b->active + 1; /* words up to the event */
    int64_t m = min64(n, max64(to_event, 1));
    writebuf_append(b, m);
    n -= m;
    if (draining) {
      if (b->free <= 0) cc = b->drain_end;
    } else if (b->free < b->active) {
      writebuf_close_line(b);
      writebuf_drain(b, cc);
    }
  }
  return cc - cycle;
}

/* After the last cycle every remaining line is drained back to back. */
static void writebuf_flush(WriteBuf *b, int64_t cycle) {
  writebuf_close_line(b);
  while (b->count > 0) {
    writebuf_drain(b, cycle);
    cycle = b->drain_end + 1;
  }
}

/* ------------------------------------------------------------------------------------------
 * Exact path: demand rows (README §3) fed through the buffers cycle by cycle.
 * ------------------------------------------------------------------------------------------ */
typedef struct Replay {
  Geom g;
  bool user;
  int64_t *k_dy, *k_dx, *k_off; /* per window position: filter row, column, address delta */
  int64_t *lane_y, *lane_x, *lane_base; /* per array lane: pixel origin of the fold */
  int64_t *addrs, *pos; /* one demand row: addresses, their fetch-stream positions */
  bool ranged[2];       /* USER mode with a ranged window: pos[] is needed */
  EpochBuf eb[2];
  WindowBuf wb[2];
  WriteBuf ob;
} Replay;

/* Sets the pixel origins of lanes [0, n) to pixels p0, p0+1, ... */
static void replay_set_lanes(Replay *rp, int64_t p0, int64_t n) {
  const Geom *g = &rp->g;
  int64_t r = p0 / g->Ew, c = p0 % g->Ew;
  for (int64_t j = 0; j < n; j++) {
    rp->lane_y[j] = r * g->Sh, rp->lane_x[j] = c * g->Sw;
    rp->lane_base[j] = (rp->lane_y[j] * g->W + rp->lane_x[j]) * g->Ch;
    if (++c == g->Ew) c = 0, r++;
  }
}

/* Records request n of operand o: address a, stacked-matrix element (row, col) of the fetch
 * stream (README §7 strips: row = fold index * strip rows + row in the strip, col = lane). */
static inline void replay_put(Replay *rp, int o, int n, int64_t a, int64_t row, int64_t col) {
  rp->addrs[n] = a;
  if (rp->ranged[o]) rp->pos[n] = stream_pos(&rp->wb[o].tail, row, col);
}

static inline int64_t replay_ifmap(const Replay *rp, int64_t y0, int64_t x0, int64_t base,
                                   int64_t k) {
  if (y0 + rp->k_dy[k] >= rp->g.H || x0 + rp->k_dx[k] >= rp->g.W) return -1;
  return rp->g.off[SYS_IFMAP] + base + rp->k_off[k];
}

/* Valid IFMAP addresses requested at local cycle t of fold (fc, fr), in lane order. */
static int replay_gen_ifmap(Replay *rp, int64_t fc, int64_t fr, int64_t t) {
  const Geom *g = &rp->g;
  const int o = SYS_IFMAP;
  int n = 0;
  int64_t ru = used(fr, g->Fr, g->Sr, g->R), cu = used(fc, g->Fc, g->Sc, g->C), a;
  switch (g->df) {
  case DF_OS: /* lane j: pixel fr*R + j, window position t - j */
    for (int64_t j = max64(0, t - g->K + 1); j <= min64(ru - 1, t); j++)
      if ((a = replay_ifmap(rp, rp->lane_y[j], rp->lane_x[j], rp->lane_base[j], t - j)) >= 0)
        replay_put(rp, o, n++, a, fr * g->K + t - j, j);
    break;
  case DF_WS: { /* lane j: window position fr*R + j, pixel t - R - j */
    int64_t jlo = max64(0, t - g->R - g->P + 1), jhi = min64(ru - 1, t - g->R);
    if (jlo > jhi) break;
    int64_t p = t - g->R - jlo, r = p / g->Ew, c = p % g->Ew;
    for (int64_t j = jlo; j <= jhi; j++, p--) {
      int64_t y = r * g->Sh, x = c * g->Sw;
      if ((a = replay_ifmap(rp, y, x, (y * g->W + x) * g->Ch, fr * g->R + j)) >= 0)
        replay_put(rp, o, n++, a, fr * g->P + p, j);
      if (--c < 0) c = g->Ew - 1, r--;
    }
    break;
  }
  case DF_IS: { /* lane j: pixel fc*C + j, window position fr*R + i */
    int64_t i = g->R - 1 - t;
    if (t >= g->R || i >= ru) break;
    for (int64_t j = 0; j < cu; j++)
      if ((a = replay_ifmap(rp, rp->lane_y[j], rp->lane_x[j], rp->lane_base[j],
                            fr * g->R + i)) >= 0)
        replay_put(rp, o, n++, a, fc * g->K + fr * g->R + i, j);
    break;
  }
  }
  return n;
}

/* Filter addresses requested at local cycle t of fold (fc, fr), in lane order (all valid). */
static int replay_gen_filter(Replay *rp, int64_t fc, int64_t fr, int64_t t) {
  const Geom *g = &rp->g;
  const int o = SYS_FILTER;
  int n = 0;
  int64_t ru = used(fr, g->Fr, g->Sr, g->R), cu = used(fc, g->Fc, g->Sc, g->C);
  int64_t base = g->off[SYS_FILTER];
  switch (g->df) {
  case DF_OS: /* lane j: filter fc*C + j, window position t - j */
    for (int64_t j = max64(0, t - g->K + 1); j <= min64(cu - 1, t); j++)
      replay_put(rp, o, n++, base + (fc * g->C + j) * g->K + (t - j), fc * g->K + t - j, j);
    break;
  case DF_WS: { /* lane j: filter fc*C + j, window position fr*R + i */
    int64_t i = g->R - 1 - t, k = fr * g->R + i;
    if (t >= g->R || i >= ru) break;
    for (int64_t j = 0; j < cu; j++)
      replay_put(rp, o, n++, base + (fc * g->C + j) * g->K + k, fc * g->K + k, j);
    break;
  }
  case DF_IS: /* lane j: window position fr*R + j, filter t - R - j */
    for (int64_t j = max64(0, t - g->R - g->N + 1); j <= min64(ru - 1, t - g->R); j++)
      replay_put(rp, o, n++, base + (t - g->R - j) * g->K + fr * g->R + j,
                 fr * g->N + t - g->R - j, j);
    break;
  }
  return n;
}

/* Number of OFMAP words written at local cycle t of fold (fc, fr). */
static int64_t replay_count_ofmap(const Replay *rp, int64_t fc, int64_t fr, int64_t t) {
  const Geom *g = &rp->g;
  int64_t ru = used(fr, g->Fr, g->Sr, g->R), cu = used(fc, g->Fc, g->Sc, g->C), lo, hi;
  if (g->df == DF_OS) {
    int64_t to = t - (g->T - 1); /* PE (i, j) writes at (T-1) + (R-1-i) + j */
    lo = max64(0, to - g->R + 1), hi = min64(cu - 1, to - g->R + ru);
  } else { /* output (t', j) written at 2R-1 + t' + j */
    lo = max64(0, t - (2 * g->R - 1) - g->T + 1), hi = min64(cu - 1, t - (2 * g->R - 1));
  }
  return hi >= lo ? hi - lo + 1 : 0;
}

static void replay_free(Replay *rp) {
  xdl_free(rp->k_dy), xdl_free(rp->k_dx), xdl_free(rp->k_off);
  xdl_free(rp->lane_y), xdl_free(rp->lane_x), xdl_free(rp->lane_base), xdl_free(rp->addrs);
  xdl_free(rp->pos);
  for (int o = 0; o < 2; o++) {
    if (rp->user) window_free(&rp->wb[o]);
    else epoch_free(&rp->eb[o]);
  }
  xdl_free(rp->ob.lines);
}

static int64_t read_service(Replay *rp, int o, int64_t cycle, int n) {
  if (rp->user) return window_service(&rp->wb[o], cycle, rp->addrs, rp->pos, n);
  EpochBuf *b = &rp->eb[o];
  if (n > 0 && !b->seen) b->seen = true, b->first_cycle = cycle;
  for (int i = 0; i < n; i++) epoch_access(b, cycle, rp->addrs[i]);
  return 0;
}

/* The exact replay; ranged = false forces the hash-set USER window everywhere. */
static XdlStatus eval_exact(const SystolicConfig *cfg, const SysLayer *layer, bool ranged,
                            SystolicResult *out, Diag *d) {
  XdlStatus st = systolic_check(cfg, layer, d);
  if (st != XDL_OK) return st;
  Replay rp;
  memset(&rp, 0, sizeof rp);
  Geom *g = &rp.g;
  if (!geom_init(g, cfg, layer))
    return diag_error(d, XDL_ERR_INPUT, "layer too large (counts overflow 64 bits)");
  rp.user = cfg->bw_mode_user != 0;
  int64_t lanes = max64(g->R, g->C) + 1;
  rp.k_dy = xdl_malloc((size_t)g->K * sizeof(int64_t));
  rp.k_dx = xdl_malloc((size_t)g->K * sizeof(int64_t));
  rp.k_off = xdl_malloc((size_t)g->K * sizeof(int64_t));
  rp.lane_y = xdl_malloc((size_t)lanes * sizeof(int64_t));
  rp.lane_x = xdl_malloc((size_t)lanes * sizeof(int64_t));
  rp.lane_base = xdl_malloc((size_t)lanes * sizeof(int64_t));
  rp.addrs = xdl_malloc((size_t)lanes * sizeof(int64_t));
  rp.pos = xdl_malloc((size_t)lanes * sizeof(int64_t));
  bool ok = rp.k_dy && rp.k_dx && rp.k_off && rp.lane_y && rp.lane_x && rp.lane_base &&
            rp.addrs && rp.pos;
  int64_t words[2] = {cfg->ifmap_sram_words, cfg->filter_sram_words};
  for (int o = 0; o < 2 && ok; o++)
    ok = rp.user ? window_init(&rp.wb[o], g, (SysOperand)o, words[o], cfg->dram_bw_words,
                                   ranged)
                 : epoch_init(&rp.eb[o], words[o]);
  for (int o = 0; o < 2 && ok; o++) rp.ranged[o] = rp.user && rp.wb[o].ranged;
  ok = ok && writebuf_init(&rp.ob, cfg->ofmap_sram_words, rp.user ? cfg->dram_bw_words : g->C);
  if (!ok) {
    st = diag_error(d, XDL_ERR_INTERNAL, "out of memory in the systolic replay");
    goto fail;
  }
  for (int64_t k = 0; k < g->K; k++) {
    int64_t fr = k / (g->Fw * g->Ch), fcol = (k / g->Ch) % g->Fw;
    rp.k_dy[k] = fr, rp.k_dx[k] = fcol;
    rp.k_off[k] = (fr * g->W + fcol) * g->Ch + k % g->Ch;
  }

  SystolicResult *r = out;
  fill_common(g, r);
  summed_utils(g, r);
  int64_t first[3] = {-1, -1, -1}, last[3] = {0, 0, 0}, stalls = 0, row = 0, of_out = 0;
  for (int64_t fc = 0; fc < g->Fc; fc++)
    for (int64_t fr = 0; fr < g->Fr; fr++) {
      if (g->df == DF_OS) replay_set_lanes(&rp, fr * g->R, used(fr, g->Fr, g->Sr, g->R));
      if (g->df == DF_IS) replay_set_lanes(&rp, fc * g->C, used(fc, g->Fc, g->Sc, g->C));
      for (int64_t t = 0; t < g->L; t++, row++) {
        int64_t cycle = row + stalls, s[3], o_cyc[3];
        int n = replay_gen_ifmap(&rp, fc, fr, t);
        s[SYS_IFMAP] = read_service(&rp, SYS_IFMAP, cycle, n);
        o_cyc[SYS_IFMAP] = n > 0 ? cycle + 1 + s[SYS_IFMAP] : -1;
        n = replay_gen_filter(&rp, fc, fr, t);
        s[SYS_FILTER] = read_service(&rp, SYS_FILTER, cycle, n);
        o_cyc[SYS_FILTER] = n > 0 ? cycle + 1 + s[SYS_FILTER] : -1;
        int64_t nw = replay_count_ofmap(&rp, fc, fr, t);
        s[SYS_OFMAP] = writebuf_service(&rp.ob, cycle, nw);
        of_out = cycle + s[SYS_OFMAP];
        o_cyc[SYS_OFMAP] = nw > 0 ? of_out : -1;
        for (int o = 0; o < 3; o++)
          if (o_cyc[o] >= 0) {
            if (first[o] < 0) first[o] = o_cyc[o];
            last[o] = o_cyc[o];
          }
        stalls += max64(s[0], max64(s[1], s[2]));
      }
    }
  r->stall_cycles = stalls;
  r->total_cycles = of_out; /* the cycle the last OFMAP row was served */
  for (int o = 0; o < 3; o++) {
    r->sram_start_cycle[o] = first[o] < 0 ? 0 : first[o];
    r->sram_stop_cycle[o] = last[o];
  }
  for (int o = 0; o < 2; o++) {
    if (rp.user) {
      r->dram_words[o] = rp.wb[o].dram_words;
      r->dram_start_cycle[o] = -rp.wb[o].init_lines;
      r->dram_stop_cycle[o] = rp.wb[o].last_pf_cycle;
    } else {
      epoch_report(&rp.eb[o], &r->dram_words[o], &r->dram_start_cycle[o],
                   &r->dram_stop_cycle[o]);
    }
  }
  writebuf_flush(&rp.ob, r->total_cycles);
  r->dram_words[SYS_OFMAP] = rp.ob.writes;
  r->dram_start_cycle[SYS_OFMAP] = rp.ob.first_start;
  r->dram_stop_cycle[SYS_OFMAP] = rp.ob.last_end;
  apply_repeat(r, layer->repeat);
  finish_ratios(g, r);
  st = XDL_OK;
fail:
  replay_free(&rp);
  return st;
}

XdlStatus systolic_eval_exact(const SystolicConfig *cfg, const SysLayer *layer,
                              SystolicResult *out, Diag *d) {
  return eval_exact(cfg, layer, true, out, d);
}

XdlStatus systolic_eval_exact_hashed(const SystolicConfig *cfg, const SysLayer *layer,
                                     SystolicResult *out, Diag *d) {
  return eval_exact(cfg, layer, false, out, d);
}

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
static void fast_filter_dram(const Geom *g, int64_t q, SystolicResult *r) {
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
  bool overlap = (g->Fh > g->Sh && g->Eh > 1) || (g->Fw > g->Sw && g->Ew > 1);
  if (g->df == DF_WS || nfold <= 1 || nsteps > 1024 || !overlap)
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
 * forgotten: reads = footprint, exactly. Otherwise, in CALC mode: the kernel-position-major
 * step model where the stream has that shape (ws, single-fold os), else the reuse-distance
 * model, replaced by the pixel-block replay (os, is) when a noticeable share of its reuse is
 * ambiguous. USER mode, whose DRAM traffic follows the prefetch window rather than the epoch
 * buffer, takes the reuse-distance model alone (it is only a proxy there, and stays cheap for
 * design-space sweeps). */
static int64_t fast_ifmap_adds(const Geom *g, int64_t q, bool user) {
  int64_t foot = axis_footprint(g->H, g->Fh, g->Sh, g->Eh) *
                 axis_footprint(g->W, g->Fw, g->Sw, g->Ew) * g->Ch;
  if (foot < q) return foot;
  bool overlap = (g->Fh > g->Sh && g->Eh > 1) || (g->Fw > g->Sw && g->Ew > 1);
  if (!overlap) {
    /* Every word is read once per sweep (GEMMs among others), and a sweep requests all foot
     * >= Q distinct words between two reads of one word, so an epoch boundary always falls
     * in between: every request misses, exactly. */
    return foot * (g->df == DF_IS ? 1 : g->Fc);
  }
  double adds, ambiguous;
  if (!user && step_ifmap_reads(g, q, &adds)) return (int64_t)(adds + 0.5);
  int64_t reuse = fast_ifmap_reads(g, q, &ambiguous);
  double requests = (double)axis_requests(g->H, g->Fh, g->Sh, g->Eh) *
                    (double)axis_requests(g->W, g->Fw, g->Sw, g->Ew) * (double)g->Ch *
                    (double)(g->df == DF_OS ? g->Fc : 1);
  if (!user && ambiguous > OSF_AMBIGUOUS * (double)reuse &&
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
static void fast_ifmap_dram(const Geom *g, int64_t q, bool user, SystolicResult *r) {
  int64_t adds = fast_ifmap_adds(g, q, user);
  r->dram_words[SYS_IFMAP] = adds;
  int64_t s = q / 50;
  if (adds >= q) {
    int64_t first = r->sram_start_cycle[SYS_IFMAP] - 1, last = r->sram_stop_cycle[SYS_IFMAP] - 1;
    int64_t bound = adds - adds % q; /* the last epoch ends with this DRAM read */
    bool overlap = (g->Fh > g->Sh && g->Eh > 1) || (g->Fw > g->Sw && g->Ew > 1);
    r->dram_start_cycle[SYS_IFMAP] = first - cdiv(q, 10);
    if (!overlap && !g->overhang) /* every request is valid and misses: read = request */
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
static void fast_ofmap_dram(const Geom *g, int64_t ofmap_words, int64_t w, SystolicResult *r) {
  int64_t words = g->df == DF_OS ? g->P * g->N : g->Fr * g->P * g->N;
  int64_t d = ofmap_words - cdiv(ofmap_words, 2);
  r->dram_words[SYS_OFMAP] = words;
  int64_t total = r->total_cycles;
  r->dram_start_cycle[SYS_OFMAP] = words <= d ? total : ofmap_write_cycle(g, d);
  int64_t left = words % (d > 0 ? d : 1);
  r->dram_stop_cycle[SYS_OFMAP] = total + cdiv(left > 0 ? left : d, w) - 1;
}

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
  stream_init(&w->s, g, op);
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
  if (w->closed) return stream_valid_pos(&w->s, v);
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
static int64_t user_eval(const Geom *g, const SystolicConfig *cfg, SystolicResult *r) {
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

XdlStatus systolic_eval_fast(const SystolicConfig *cfg, const SysLayer *layer,
                             SystolicResult *out, Diag *d) {
  XdlStatus st = systolic_check(cfg, layer, d);
  if (st != XDL_OK) return st;
  Geom g;
  if (!geom_init(&g, cfg, layer))
    return diag_error(d, XDL_ERR_INPUT, "layer too large (counts overflow 64 bits)");
  fill_common(&g, out);
  closed_utils(&g, out);
  closed_sram_cycles(&g, out);
  fast_ifmap_dram(&g, 50 * (cfg->ifmap_sram_words / 100), cfg->bw_mode_user, out);
  fast_filter_dram(&g, 50 * (cfg->filter_sram_words / 100), out);
  fast_ofmap_dram(&g, cfg->ofmap_sram_words, cfg->bw_mode_user ? cfg->dram_bw_words : g.C, out);
  if (cfg->bw_mode_user) {
    /* USER mode: the prefetch windows' fold-level model (README §7). */
    out->stall_cycles = user_eval(&g, cfg, out);
    out->total_cycles += out->stall_cycles;
    /* the last requests come after the stalls; the final drains follow the last cycle */
    for (int o = 0; o < SYS_N_OPERANDS; o++) out->sram_stop_cycle[o] += out->stall_cycles;
    fast_ofmap_dram(&g, cfg->ofmap_sram_words, cfg->dram_bw_words, out);
  }
  apply_repeat(out, layer->repeat);
  finish_ratios(&g, out);
  return XDL_OK;
}

XdlStatus systolic_eval_gemm(const SystolicConfig *cfg, const GemmView *gemm, bool exact,
                             SystolicResult *out, Diag *d) {
  SysLayer l = systolic_layer_from_gemm(gemm->g > 0 ? gemm->g : 1, gemm->m, gemm->n, gemm->k);
  return exact ? systolic_eval_exact(cfg, &l, out, d) : systolic_eval_fast(cfg, &l, out, d);
}
