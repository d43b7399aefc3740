/* systolic_exact.c — the exact path of the systolic-array model (entry points in systolic.c):
 * models of SCALE-Sim's buffers (CALC epoch buffer, USER prefetch window over the operand's
 * fetch stream, OFMAP write buffer) and the replay of the demand rows through them, cycle by
 * cycle. The fetch stream's set-up and closed-form positions are shared with the fast path's
 * USER model (systolic_user.c). */
#include <string.h>

#include "backend/backend.h"
#include "backend/systolic_impl.h"

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

/* The fetch stream of operand op (type in systolic_impl.h), its cursor at the start. */
void sys_stream_init(FetchStream *s, const Geom *g, SysOperand op) {
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

/* window_scan in closed form for a stream_padding_only stream, whose only padding is the last
 * strip's rectangle rows [M - block_rows, M) x cols [used_last, NC). */
static void window_scan_fast(WindowBuf *b) {
  const FetchStream *s = &b->tail;
  b->n_elems = s->M * s->NC;
  b->n_valid = s->M * s->NC - s->block_rows * (s->NC - s->used_last);
}

/* Stream position of the valid word of rank v (0 <= v < n_valid) of a stream_padding_only
 * stream. Row-major: valid words run straight up to the last strip, whose rows hold used_last
 * each. Diagonal: the diagonal holding rank v is found by bisection on the closed-form count of
 * valid words before a diagonal; within it the valid words are a run (the rows above the
 * padding rectangle's columns), the padding run, and a valid run. */
int64_t sys_stream_valid_pos(const FetchStream *s, int64_t v) {
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
  return v < b->n_valid ? sys_stream_valid_pos(&b->tail, v) : b->n_elems;
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
  sys_stream_init(&b->tail, g, op);
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
XdlStatus sys_eval_exact(const SystolicConfig *cfg, const SysLayer *layer, bool ranged,
                         SystolicResult *out, Diag *d) {
  XdlStatus st = systolic_check(cfg, layer, d);
  if (st != XDL_OK) return st;
  Replay rp;
  memset(&rp, 0, sizeof rp);
  Geom *g = &rp.g;
  if (!sys_geom_init(g, cfg, layer))
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
  sys_fill_common(g, r);
  sys_summed_utils(g, r);
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
  sys_apply_repeat(r, layer->repeat);
  sys_finish_ratios(g, r);
  st = XDL_OK;
fail:
  replay_free(&rp);
  return st;
}
