/* ops.c — the operator table expanded from ops.def, and lookup by ONNX (domain, op_type). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

const OpInfo ir_ops[OP_COUNT] = {
#define OP(id, onnx_name, domain, category, vec_class, nodiff, shape_fn, work_fn, backward_fn) \
  [OP_##id] = {onnx_name, domain, category, vec_class, nodiff, shape_fn, work_fn, backward_fn},
#include "ops.def"
#undef OP
};

const char *ir_domain_name(OpDomain dom) {
  switch (dom) {
  case DOM_ONNX: return "ai.onnx";
  case DOM_TRAINING: return "ai.onnx.preview.training";
  case DOM_XPLOREDL: return "ai.xploredl";
  case DOM_INTERNAL: return "xploredl.internal";
  }
  return "?";
}

static OpDomain domain_of(const char *domain) {
  if (!domain || !*domain || strcmp(domain, "ai.onnx") == 0) return DOM_ONNX;
  if (strcmp(domain, "ai.onnx.preview.training") == 0) return DOM_TRAINING;
  if (strcmp(domain, "ai.xploredl") == 0) return DOM_XPLOREDL;
  return DOM_INTERNAL; /* unknown domains match nothing importable */
}

/* Ops sorted by (domain, name), built once, so a lookup is a binary search rather than a scan
 * of the table with strcmp. */
static OpKind sorted_ops[OP_COUNT];
static pthread_once_t sorted_once = PTHREAD_ONCE_INIT;

static int cmp_op(OpDomain da, const char *na, OpDomain db, const char *nb) {
  if (da != db) return da < db ? -1 : 1;
  return strcmp(na, nb);
}

static int cmp_sorted(const void *a, const void *b) {
  const OpInfo *x = &ir_ops[*(const OpKind *)a], *y = &ir_ops[*(const OpKind *)b];
  return cmp_op(x->domain, x->name, y->domain, y->name);
}

static void sort_ops(void) {
  for (int k = 0; k < OP_COUNT; k++) sorted_ops[k] = (OpKind)k;
  qsort(sorted_ops, OP_COUNT, sizeof *sorted_ops, cmp_sorted);
}

OpKind ir_op_lookup(const char *domain, const char *op_type) {
  OpDomain dom = domain_of(domain);
  if (dom == DOM_INTERNAL) return OP_COUNT;
  pthread_once(&sorted_once, sort_ops);
  int lo = 0, hi = OP_COUNT - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    const OpInfo *m = &ir_ops[sorted_ops[mid]];
    int c = cmp_op(dom, op_type, m->domain, m->name);
    if (c == 0) return sorted_ops[mid];
    if (c < 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return OP_COUNT;
}
