/* ops.c — the operator table expanded from ops.def, and lookup by ONNX (domain, op_type). */
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

OpKind ir_op_lookup(const char *domain, const char *op_type) {
  OpDomain dom = domain_of(domain);
  if (dom == DOM_INTERNAL) return OP_COUNT;
  for (int k = 0; k < OP_COUNT; k++) /* ~90 entries, called once per imported node */
    if (ir_ops[k].domain == dom && strcmp(ir_ops[k].name, op_type) == 0) return (OpKind)k;
  return OP_COUNT;
}
