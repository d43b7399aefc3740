/* alloc.c — the single allocation hook every part of the library goes through, and the arena
 * that graphs and accelerator descriptions allocate from (freed in one call). Tests can make
 * the Nth allocation fail to exercise every error path. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static void *default_realloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

static XdlAllocator g_alloc = {default_realloc, NULL};
/* Failure injection: counts allocations; fails the one numbered g_fail_at (1-based). */
static _Thread_local uint64_t g_count, g_fail_at;

void xdl_set_allocator(const XdlAllocator *a) {
  g_alloc = a ? *a : (XdlAllocator){default_realloc, NULL};
}

void xdl_alloc_fail_after(uint64_t n) {
  g_count = 0;
  g_fail_at = n;
}

uint64_t xdl_alloc_count(void) { return g_count; }

void *xdl_realloc(void *ptr, size_t size) {
  if (size == 0) {
    g_alloc.realloc_fn(g_alloc.ud, ptr, 0);
    return NULL;
  }
  g_count++;
  if (g_fail_at && g_count == g_fail_at) return NULL;
  return g_alloc.realloc_fn(g_alloc.ud, ptr, size);
}

void *xdl_malloc(size_t size) { return xdl_realloc(NULL, size ? size : 1); }

void *xdl_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = xdl_malloc(n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void xdl_free(void *ptr) {
  if (ptr) g_alloc.realloc_fn(g_alloc.ud, ptr, 0);
}

char *xdl_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = xdl_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

bool xdl_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem) {
  if (need <= *cap) return true;
  uint64_t ncap = *cap ? *cap : 8;
  while (ncap < need) ncap *= 2;
  if (ncap > UINT32_MAX) ncap = UINT32_MAX;
  if (ncap < need || ncap > SIZE_MAX / elem) return false;
  void *p = xdl_realloc(*arr, (size_t)ncap * elem);
  if (!p) return false;
  *arr = p;
  *cap = (uint32_t)ncap;
  return true;
}

/* ---- arena ---- */
struct ArenaBlock {
  ArenaBlock *next;
  size_t used, size;
  alignas(16) unsigned char data[];
};

enum { ARENA_BLOCK = 64 * 1024 };

void arena_init(Arena *a) {
  a->head = NULL;
  a->used_bytes = 0;
}

void arena_free(Arena *a) {
  ArenaBlock *b = a->head;
  while (b) {
    ArenaBlock *next = b->next;
    xdl_free(b);
    b = next;
  }
  a->head = NULL;
  a->used_bytes = 0;
}

void *arena_alloc(Arena *a, size_t size) {
  size_t need = (size + 15) & ~(size_t)15;
  if (need < size) return NULL;
  ArenaBlock *b = a->head;
  if (!b || b->size - b->used < need) {
    size_t bsize = need > ARENA_BLOCK / 4 ? need : ARENA_BLOCK;
    if (bsize > SIZE_MAX - sizeof(ArenaBlock)) return NULL;
    ArenaBlock *nb = xdl_malloc(sizeof(ArenaBlock) + bsize);
    if (!nb) return NULL;
    nb->used = 0;
    nb->size = bsize;
    if (b && bsize != ARENA_BLOCK) {
      /* A big one-off block goes behind the current one so the current one keeps filling. */
      nb->next = b->next;
      b->next = nb;
    } else {
      nb->next = b;
      a->head = nb;
    }
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += need;
  a->used_bytes += need;
  memset(p, 0, need);
  return p;
}

void *arena_memdup(Arena *a, const void *p, size_t size) {
  void *q = arena_alloc(a, size ? size : 1);
  if (q && size) memcpy(q, p, size);
  return q;
}

char *arena_strdup(Arena *a, const char *s) { return arena_memdup(a, s, strlen(s) + 1); }
