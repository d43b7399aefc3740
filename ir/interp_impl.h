/* interp_impl.h — private to the reference interpreter (interp.c and its kernel files
 * interp_nn.c, interp_elem.c, interp_data.c, interp_train.c): the per-tensor value store and
 * the helpers every kernel uses. Nothing outside ir/interp*.c includes it; the public API is
 * the interp.c section of ir.h. */
#ifndef XDL_INTERP_IMPL_H
#define XDL_INTERP_IMPL_H

#include "ir/ir.h"

/* The value of one tensor: doubles for floating element types, int64 for integer and bool
 * types (is_int says which buffer is live). */
typedef struct Value {
  bool set;      /* holds a value (computed, fed or loaded) */
  bool is_int;
  int64_t n;     /* element count (the tensor's numel) */
  double *f;     /* n values when !is_int */
  int64_t *i;    /* n values when is_int */
} Value;

struct Interp {
  const Graph *g;       /* borrowed */
  InterpOptions opts;
  Value *vals;          /* one per tensor */
  bool *produced;       /* tensor is an output of some node of g */
};

/* A kernel computes node n's outputs from its inputs. Before the call every present input has
 * a value and every present output a buffer of its tensor's numel; after it, float outputs are
 * rounded to their element type (unless use_double) and integer ones wrapped. */
typedef XdlStatus (*InterpKernel)(Interp *ip, uint32_t n, Diag *d);

/* ---- helpers (interp.c) ---- */
/* Records "PATH: node 'NAME' (Op): msg" and returns XDL_ERR_INPUT. */
XdlStatus ik_fail(const Interp *ip, uint32_t n, Diag *d, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
XdlStatus ik_oom(Diag *d);
const Tensor *ik_tin(const Interp *ip, uint32_t n, int i);   /* NULL when omitted */
const Tensor *ik_tout(const Interp *ip, uint32_t n, int i);  /* NULL when omitted */
Value *ik_in(const Interp *ip, uint32_t n, int i);           /* NULL when omitted */
Value *ik_out(const Interp *ip, uint32_t n, int i);          /* NULL when omitted */
/* Element k of a value as a double / as an integer (floats truncated toward zero). */
static inline double vf(const Value *v, int64_t k) { return v->is_int ? (double)v->i[k] : v->f[k]; }
int64_t vi(const Value *v, int64_t k);
/* dst[dk] = src[sk] for values of the same kind (data movement). */
static inline void vcopy(Value *dst, int64_t dk, const Value *src, int64_t sk) {
  if (dst->is_int) dst->i[dk] = src->is_int ? src->i[sk] : (int64_t)src->f[sk];
  else dst->f[dk] = src->is_int ? (double)src->i[sk] : src->f[sk];
}
static inline void vset(Value *dst, int64_t dk, double v) {
  if (dst->is_int) dst->i[dk] = (int64_t)v;
  else dst->f[dk] = v;
}
/* Pad's source index on an axis of size dim for i = output index - pads before: inside
 * [0, dim) i itself; outside, mode 0 (constant) gives -1 (the fill), 1 (reflect) mirrors about
 * the end elements, 2 (edge) clamps, 3 (wrap) takes i mod dim. Shared by Pad and PadGrad. */
static inline int64_t ik_pad_source(int mode, int64_t i, int64_t dim) {
  if (i >= 0 && i < dim) return i;
  if (mode == 0) return -1;
  if (mode == 2) return i < 0 ? 0 : dim - 1;
  if (mode == 3) return ((i % dim) + dim) % dim;
  if (dim == 1) return 0;
  int64_t period = 2 * (dim - 1);
  i = ((i % period) + period) % period;
  return i >= dim ? period - i : i;
}
/* Integer-list attribute: its entries in out (at most max), the count, or -1 when absent. */
int ik_attr_ints(const Interp *ip, uint32_t n, const char *name, int64_t *out, int max);
/* An integer list given as attribute attr (older opsets) or as the values of input idx:
 * count, or -1 when neither is given, or -2 when longer than max (error recorded). */
int ik_int_list(const Interp *ip, uint32_t n, const char *attr, int idx, int64_t *out, int max,
                Diag *d);
/* The default-domain opset, or the newest (INT64_MAX) for graphs built in C. */
int64_t ik_opset(const Interp *ip);
/* Row-major strides of a shape (elements). */
void ik_strides(int rank, const int64_t *dims, int64_t *strides);

/* ---- kernels by file ---- */
#define IK(name) XdlStatus name(Interp *ip, uint32_t n, Diag *d);
/* interp_nn.c */
IK(ik_conv) IK(ik_conv_transpose) IK(ik_gemm) IK(ik_matmul) IK(ik_einsum)
IK(ik_batch_norm) IK(ik_instance_norm) IK(ik_layer_norm) IK(ik_lrn)
IK(ik_pool) IK(ik_global_pool) IK(ik_softmax) IK(ik_reduce) IK(ik_arg_reduce)
IK(ik_conv_grad_weight) IK(ik_pool_grad)
/* interp_elem.c */
IK(ik_unary) IK(ik_cast) IK(ik_binary) IK(ik_compare) IK(ik_where)
/* interp_data.c */
IK(ik_copy) IK(ik_transpose) IK(ik_concat) IK(ik_split) IK(ik_slice) IK(ik_gather)
IK(ik_gather_elements) IK(ik_expand) IK(ik_tile) IK(ik_pad) IK(ik_dropout)
IK(ik_depth_to_space) IK(ik_space_to_depth) IK(ik_one_hot) IK(ik_shape) IK(ik_size)
IK(ik_constant) IK(ik_constant_of_shape) IK(ik_range) IK(ik_resize)
/* interp_train.c */
IK(ik_sce_loss) IK(ik_sce_loss_grad) IK(ik_optimizer) IK(ik_reduce_to_shape) IK(ik_unary_grad)
IK(ik_softmax_grad) IK(ik_norm_grad) IK(ik_norm_scale_grad) IK(ik_dropout_grad)
IK(ik_gather_grad) IK(ik_slice_grad) IK(ik_pad_grad) IK(ik_squash)
#undef IK

/* Loads the value of a tensor no node produces (ROLE_CONST/WEIGHT data, known values, external
 * data, pseudo-random fill) into v; errors name the tensor. */
XdlStatus ik_load_const(Interp *ip, uint32_t t, Value *v, Diag *d);

#endif
