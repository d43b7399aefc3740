/* systolic_impl.h — private to the systolic-array model (backend/systolic*.c: systolic.c, the
 * entry points and closed forms; systolic_exact.c, the exact path; systolic_calc.c and
 * systolic_user.c, the fast path's CALC and USER DRAM models): the layer geometry, the small
 * helpers every part uses, the USER-mode fetch stream (shared by the exact path's window and the
 * fast path's USER model) and the functions one part calls in another. Nothing outside
 * backend/systolic*.c includes it; the public API is the systolic.c section of backend.h. */
#ifndef XDL_SYSTOLIC_IMPL_H
#define XDL_SYSTOLIC_IMPL_H

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
  bool overlap;            /* neighbouring windows share IFMAP words along some axis */
  Dataflow df;
  int64_t off[SYS_N_OPERANDS];
} Geom;

/* ------------------------------------------------------------------------------------------
 * Helpers every part uses.
 * ------------------------------------------------------------------------------------------ */
static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Rows (or columns) used by fold index i of n folds over extent s on an array side of a. */
static inline int64_t used(int64_t i, int64_t n, int64_t s, int64_t a) {
  return i == n - 1 ? s - (n - 1) * a : a;
}

/* ------------------------------------------------------------------------------------------
 * The fetch stream: read by the exact path's USER window (systolic_exact.c) and walked in
 * closed form by the fast path's USER model (systolic_user.c).
 * ------------------------------------------------------------------------------------------ */
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

/* Cells of an m x nc matrix on anti-diagonals 0 .. d-1 (diagonal e holds min(e+1, a, m+nc-1-e)
 * cells, a = min(m, nc)), for 0 <= d <= m + nc - 1. */
static inline int64_t diag_cells_before(int64_t d, int64_t m, int64_t nc) {
  int64_t a = min64(m, nc), b = max64(m, nc);
  if (d <= a) return d * (d + 1) / 2;
  if (d <= b) return a * (a + 1) / 2 + (d - a) * a;
  int64_t lo = m + nc - d; /* length of diagonal d-1 */
  return a * (a + 1) / 2 + (b - a) * a + a * (a - 1) / 2 - lo * (lo - 1) / 2;
}

/* True if every address occurs at most once in the operand's fetch stream. Filter strips are
 * disjoint; IFMAP im2col windows overlap (the same pixel twice) unless the filter is no taller /
 * wider than the stride or there is a single output row / column. */
static inline bool stream_injective(const FetchStream *s) {
  const Geom *g = s->g;
  if (s->op == SYS_FILTER) return true;
  return (g->Fh <= g->Sh || g->Eh == 1) && (g->Fw <= g->Sw || g->Ew == 1);
}

/* True if the only -1 elements of the stream are the padding columns [used_last, NC) of the
 * last strip: always for FILTER, for IFMAP unless the last output row / column overhangs. */
static inline bool stream_padding_only(const FetchStream *s) {
  const Geom *g = s->g;
  return s->op == SYS_FILTER || ((g->H - g->Fh) % g->Sh == 0 && (g->W - g->Fw) % g->Sw == 0);
}

/* Valid words on anti-diagonals 0 .. d-1 of a stream_padding_only diagonal stream: all cells
 * minus those of the padding rectangle, itself an (M - r0) x (NC - u) matrix whose diagonal 0
 * is the stream's diagonal r0 + u. */
static inline int64_t diag_valid_before(const FetchStream *s, int64_t d) {
  int64_t r0 = s->M - s->block_rows, u = s->used_last, mr = s->M - r0, nr = s->NC - u;
  int64_t all = diag_cells_before(d, s->M, s->NC);
  if (nr == 0) return all;
  int64_t e = min64(max64(d - r0 - u, 0), mr + nr - 1);
  return all - diag_cells_before(e, mr, nr);
}

/* ------------------------------------------------------------------------------------------
 * Functions one part calls in another.
 * ------------------------------------------------------------------------------------------ */
/* systolic.c: geometry and the closed-form figures the exact path shares. */
bool sys_geom_init(Geom *g, const SystolicConfig *cfg, const SysLayer *l);
void sys_fill_common(const Geom *g, SystolicResult *r);
void sys_summed_utils(const Geom *g, SystolicResult *r);
void sys_finish_ratios(const Geom *g, SystolicResult *r);
void sys_apply_repeat(SystolicResult *r, int64_t reps);

/* systolic_exact.c: the fetch stream's set-up and closed-form positions, the exact replay
 * (ranged = false forces the hash-set USER window everywhere). */
void sys_stream_init(FetchStream *s, const Geom *g, SysOperand op);
int64_t sys_stream_valid_pos(const FetchStream *s, int64_t v);
XdlStatus sys_eval_exact(const SystolicConfig *cfg, const SysLayer *layer, bool ranged,
                         SystolicResult *out, Diag *d);

/* systolic_calc.c: DRAM reads / writes and their start/stop cycles of the fast path. */
void sys_fast_filter_dram(const Geom *g, int64_t q, SystolicResult *r);
void sys_fast_ifmap_dram(const Geom *g, int64_t q, SystolicResult *r);
void sys_fast_ofmap_dram(const Geom *g, int64_t ofmap_words, int64_t w, SystolicResult *r);

/* systolic_user.c: USER-mode DRAM reads, their start/stop cycles, and the stall cycles. */
int64_t sys_user_eval(const Geom *g, const SystolicConfig *cfg, SystolicResult *r);

#endif
