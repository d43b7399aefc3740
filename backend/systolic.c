/* systolic.c — systolic-array cost model, cycle-faithful to SCALE-Sim v2.
 *
 * One layer (a conv as SCALE-Sim maps it, or a GEMM view) on an R x C array with dataflow os, ws
 * or is. The fast path gives every closed-form figure in O(1), FILTER and OFMAP DRAM traffic in
 * O(column folds) at most, and IFMAP DRAM reads from deterministic epoch models replayed at the
 * granularity of kernel positions (cost O(Fh*Fw*Fw/Sw)) or pixel blocks (capped at a fixed
 * budget), falling back on a reuse-distance model (O(Fh/Sh + Fw/Sw)); never with the number of
 * MACs, cycles or addresses. The exact path replays the three operand streams fold by fold
 * through models of SCALE-Sim's buffers. Semantics: ../shared/refdata/scalesim/README.md.
 *
 * This file: geometry, the closed-form figures and the public entry points. The exact path is
 * in systolic_exact.c, the fast path's CALC-mode DRAM models in systolic_calc.c, its USER-mode
 * model in systolic_user.c; the types and helpers they share in systolic_impl.h. */
#include <limits.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/systolic_impl.h"

/* ------------------------------------------------------------------------------------------
 * Geometry: im2col sizes, folds, fold length (the Geom type is in systolic_impl.h).
 * ------------------------------------------------------------------------------------------ */
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
bool sys_geom_init(Geom *g, const SystolicConfig *cfg, const SysLayer *l) {
  memset(g, 0, sizeof *g);
  g->H = l->ifmap_h, g->W = l->ifmap_w, g->Fh = l->filter_h, g->Fw = l->filter_w;
  g->Ch = l->channels, g->N = l->num_filters, g->Sh = l->stride_h, g->Sw = l->stride_w;
  /* SCALE-Sim oddity: ceil, not floor+1, so overhanging windows are simulated (README §1). */
  g->Eh = cdiv(g->H - g->Fh + g->Sh, g->Sh);
  g->Ew = cdiv(g->W - g->Fw + g->Sw, g->Sw);
  g->overhang = (g->Eh - 1) * g->Sh + g->Fh > g->H || (g->Ew - 1) * g->Sw + g->Fw > g->W;
  g->overlap = (g->Fh > g->Sh && g->Eh > 1) || (g->Fw > g->Sw && g->Ew > 1);
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
void sys_summed_utils(const Geom *g, SystolicResult *r) {
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

void sys_fill_common(const Geom *g, SystolicResult *r) {
  memset(r, 0, sizeof *r);
  r->row_folds = g->Fr, r->col_folds = g->Fc, r->fold_cycles = g->L;
  r->macs = g->P * g->N * g->K;
  r->total_cycles = g->F * g->L - 1;
  closed_sram_counts(g, r);
}

/* Derived ratios, computed as SCALE-Sim does (Python true division of integers). */
void sys_finish_ratios(const Geom *g, SystolicResult *r) {
  r->overall_util_pct =
      (double)(r->macs * 100) / (double)(r->total_cycles * g->R * g->C);
  for (int o = 0; o < SYS_N_OPERANDS; o++) {
    r->avg_sram_bw[o] = (double)r->sram_words[o] / (double)r->total_cycles;
    int64_t span = r->dram_stop_cycle[o] - r->dram_start_cycle[o] + 1;
    r->avg_dram_bw[o] = span > 0 ? (double)r->dram_words[o] / (double)span : 0;
  }
}

/* Scales one copy's result to G back-to-back copies. */
void sys_apply_repeat(SystolicResult *r, int64_t reps) {
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
 * Entry points. The exact path is in systolic_exact.c; the fast path is the closed forms above
 * plus the DRAM models of systolic_calc.c (CALC) and systolic_user.c (USER stalls).
 * ------------------------------------------------------------------------------------------ */
XdlStatus systolic_eval_exact(const SystolicConfig *cfg, const SysLayer *layer,
                              SystolicResult *out, Diag *d) {
  return sys_eval_exact(cfg, layer, true, out, d);
}

XdlStatus systolic_eval_exact_hashed(const SystolicConfig *cfg, const SysLayer *layer,
                                     SystolicResult *out, Diag *d) {
  return sys_eval_exact(cfg, layer, false, out, d);
}

XdlStatus systolic_eval_fast(const SystolicConfig *cfg, const SysLayer *layer,
                             SystolicResult *out, Diag *d) {
  XdlStatus st = systolic_check(cfg, layer, d);
  if (st != XDL_OK) return st;
  Geom g;
  if (!sys_geom_init(&g, cfg, layer))
    return diag_error(d, XDL_ERR_INPUT, "layer too large (counts overflow 64 bits)");
  sys_fill_common(&g, out);
  closed_utils(&g, out);
  closed_sram_cycles(&g, out);
  if (cfg->bw_mode_user) {
    /* USER mode: the prefetch windows' fold-level model gives the read operands' DRAM figures
     * and the stalls (README §7). */
    out->stall_cycles = sys_user_eval(&g, cfg, out);
    out->total_cycles += out->stall_cycles;
    /* the last requests come after the stalls; the final drains follow the last cycle */
    for (int o = 0; o < SYS_N_OPERANDS; o++) out->sram_stop_cycle[o] += out->stall_cycles;
  } else { /* CALC mode: the epoch buffers never stall (README §6) */
    sys_fast_ifmap_dram(&g, 50 * (cfg->ifmap_sram_words / 100), out);
    sys_fast_filter_dram(&g, 50 * (cfg->filter_sram_words / 100), out);
  }
  sys_fast_ofmap_dram(&g, cfg->ofmap_sram_words, cfg->bw_mode_user ? cfg->dram_bw_words : g.C, out);
  sys_apply_repeat(out, layer->repeat);
  sys_finish_ratios(&g, out);
  return XDL_OK;
}

XdlStatus systolic_eval_gemm(const SystolicConfig *cfg, const GemmView *gemm, bool exact,
                             SystolicResult *out, Diag *d) {
  SysLayer l = systolic_layer_from_gemm(gemm->g > 0 ? gemm->g : 1, gemm->m, gemm->n, gemm->k);
  return exact ? systolic_eval_exact(cfg, &l, out, d) : systolic_eval_fast(cfg, &l, out, d);
}
