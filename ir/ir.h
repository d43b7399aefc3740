/* ir.h — XploreDL's graph IR and the services every stage shares.
 *
 * A Graph owns one arena; tensors and nodes live in growable arrays and refer to each other by
 * uint32_t ids (IR_NONE = absent). Nothing here knows about ONNX files, XML or hardware: the
 * frontend fills a Graph, passes rewrite it, the scheduler reads it. Sections are grouped by the
 * file that implements them. */
#ifndef XDL_IR_H
#define XDL_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xploredl.h"

#define IR_NONE UINT32_MAX
#define IR_MAX_RANK 8
/* Integer and float tensors up to this many elements keep their values when known (shape
 * arithmetic, axes, scalars); larger ones keep dims only. */
#define IR_MAX_FOLD_ELEMS 4096

/* ------------------------------------------------------------------------------------------
 * diag.c — first-error reporting. Every fallible function returns a status and records the
 * first message (with file, node or line) here; later errors only bump the count.
 * ------------------------------------------------------------------------------------------ */
typedef struct Diag {
  XdlStatus status;  /* XDL_OK until the first error */
  int n_errors;
  bool unsupported;  /* the first error is "this model uses operators we do not have" */
  char msg[1024];    /* one line, no trailing newline */
} Diag;

void diag_init(Diag *d);
/* Records an error (if it is the first) and returns status, so callers can
 * `return diag_error(d, XDL_ERR_INPUT, "...")`. */
XdlStatus diag_error(Diag *d, XdlStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline bool diag_ok(const Diag *d) { return d->status == XDL_OK; }

/* ------------------------------------------------------------------------------------------
 * alloc.c — the one allocation hook and the arena built on it.
 * ------------------------------------------------------------------------------------------ */
void *xdl_malloc(size_t size);             /* NULL on failure (or injected failure) */
void *xdl_calloc(size_t n, size_t size);   /* zeroed; NULL on overflow or failure */
void *xdl_realloc(void *ptr, size_t size); /* size 0 frees */
void xdl_free(void *ptr);
char *xdl_strdup(const char *s);
/* Grows *arr (element size elem) so that it holds at least need elements; doubles capacity.
 * Returns false on overflow or out of memory (the array is left as it was). */
bool xdl_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);

/* Test hook: make the Nth allocation from now fail (0 = never). Returns allocations so far. */
void xdl_alloc_fail_after(uint64_t n);
uint64_t xdl_alloc_count(void);

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
  ArenaBlock *head;
  size_t used_bytes; /* total handed out, for reports */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t size); /* zeroed, 16-byte aligned; NULL on failure */
char *arena_strdup(Arena *a, const char *s);
void *arena_memdup(Arena *a, const void *p, size_t size);

/* ------------------------------------------------------------------------------------------
 * The operator table (ops.def). Each op is listed once; everything else about it is derived.
 * ------------------------------------------------------------------------------------------ */
typedef enum OpCategory {
  CAT_GEMM,   /* runs on the PE array as one or more GEMMs */
  CAT_VECTOR, /* runs on the vector unit: element/reduction work */
  CAT_MOVE,   /* data movement or layout change: costs no compute (may cost memory traffic) */
  CAT_META,   /* shape/constant computation folded at import; never scheduled */
} OpCategory;

/* Cost class of vector-unit work; the accelerator gives cycles and energy per class. */
typedef enum VecClass {
  VEC_NONE,
  VEC_ELEMWISE,   /* add, mul, relu, compare, ... */
  VEC_SPECIAL,    /* exp, log, sqrt, div, tanh, erf, sigmoid, pow */
  VEC_REDUCE,     /* reductions, normalizations */
  VEC_SOFTMAX,    /* softmax, log-softmax */
  VEC_POOL,       /* pooling windows */
} VecClass;

typedef enum OpDomain {
  DOM_ONNX,      /* "" or "ai.onnx" */
  DOM_TRAINING,  /* "ai.onnx.preview.training" */
  DOM_XPLOREDL,  /* "ai.xploredl": compact capsule ops */
  DOM_INTERNAL,  /* ops only passes create (no ONNX counterpart) */
} OpDomain;

typedef struct Graph Graph;
typedef struct Node Node;
typedef struct GemmView GemmView;

/* Shape rule: sets rank/dims/dtype of every output of node n (and their values when all
 * inputs' values are known and the op is cheap to fold). Errors name the node. */
typedef XdlStatus (*ShapeFn)(Graph *g, uint32_t n, Diag *d);
/* Work rule: MACs (GEMM-like ops, with the GEMM view) or vector ops (others). */
typedef void (*WorkFn)(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm);
/* Backward rule: given forward node n and the gradients of its outputs (grad_out[i], IR_NONE
 * where an output gets no gradient), appends nodes computing the gradients of its inputs into
 * grad_in[i] (left IR_NONE for inputs in the op's nodiff mask or not needing one; need_in[i]
 * says which are wanted). Errors name the node. */
typedef XdlStatus (*BackwardFn)(Graph *g, uint32_t n, const uint32_t *grad_out,
                                const bool *need_in, uint32_t *grad_in, Diag *d);

typedef enum OpKind {
#define OP(id, onnx_name, domain, category, vec_class, nodiff, shape_fn, work_fn, backward_fn) \
  OP_##id,
#include "ops.def"
#undef OP
  OP_COUNT
} OpKind;

typedef struct OpInfo {
  const char *name;      /* ONNX op_type (or internal name) */
  OpDomain domain;
  OpCategory category;
  VecClass vec_class;
  uint32_t nodiff;       /* bit i: input i never carries a gradient */
  ShapeFn shape;
  WorkFn work;
  BackwardFn backward;   /* bwd_none when the op has no backward rule */
} OpInfo;

/* Prototypes of every rule the table names (defined in shape_*.c and work.c). */
#define OP(id, onnx_name, domain, category, vec_class, nodiff, shape_fn, work_fn, backward_fn) \
  XdlStatus shape_fn(Graph *g, uint32_t n, Diag *d);                                         \
  void work_fn(const Graph *g, uint32_t n, int64_t *macs, int64_t *ops, GemmView *gemm);     \
  XdlStatus backward_fn(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,  \
                        uint32_t *grad_in, Diag *d);
#include "ops.def"
#undef OP

extern const OpInfo ir_ops[OP_COUNT];
/* Finds the op for an ONNX (domain, op_type); OP_COUNT if there is none. */
OpKind ir_op_lookup(const char *domain, const char *op_type);
const char *ir_domain_name(OpDomain dom);

/* ------------------------------------------------------------------------------------------
 * graph.c — tensors, nodes, attributes, name map.
 * ------------------------------------------------------------------------------------------ */
/* Element types use ONNX's TensorProto.DataType numbering. */
typedef enum DataType {
  DT_UNDEFINED = 0, DT_FLOAT = 1, DT_UINT8 = 2, DT_INT8 = 3, DT_UINT16 = 4, DT_INT16 = 5,
  DT_INT32 = 6, DT_INT64 = 7, DT_STRING = 8, DT_BOOL = 9, DT_FLOAT16 = 10, DT_DOUBLE = 11,
  DT_UINT32 = 12, DT_UINT64 = 13, DT_COMPLEX64 = 14, DT_COMPLEX128 = 15, DT_BFLOAT16 = 16,
  DT_MAX = 16
} DataType;

const char *ir_dtype_name(DataType t);   /* "f32", "i64", ... */
int ir_dtype_bytes(DataType t);          /* 0 for string/undefined */
bool ir_dtype_is_int(DataType t);        /* integer or bool */

typedef enum TensorRole {
  ROLE_ACTIVATION, /* produced by a node */
  ROLE_INPUT,      /* graph input fed at run time */
  ROLE_WEIGHT,     /* trainable initializer */
  ROLE_CONST,      /* constant (Constant node output, non-float initializer, folded value) */
  ROLE_GRADIENT,   /* created by autodiff */
  ROLE_OPT_STATE,  /* optimizer state (momentum, Adam moments) */
  ROLE_LOSS,       /* the training loss */
} TensorRole;

/* Where a tensor's bytes are, for the reference interpreter; shape-only users ignore it. */
typedef struct TensorData {
  const void *bytes;       /* raw little-endian data owned by the graph arena, or NULL */
  size_t n_bytes;
  const char *external;    /* external-data file path (relative to the model), or NULL */
  int64_t ext_offset, ext_length; /* -1 when not given */
} TensorData;

typedef struct Tensor {
  const char *name;     /* interned in the graph arena; unique */
  DataType dtype;
  TensorRole role;
  int rank;             /* -1 until shape inference has run */
  int64_t dims[IR_MAX_RANK];
  uint32_t producer;    /* node id, or IR_NONE for inputs/initializers */
  /* Known values (only when numel <= IR_MAX_FOLD_ELEMS): integers exactly, floats as double. */
  int64_t *ivals;
  double *fvals;
  TensorData data;
  bool is_graph_output;
} Tensor;

typedef enum AttrKind {
  ATTR_INT, ATTR_FLOAT, ATTR_STRING, ATTR_INTS, ATTR_FLOATS, ATTR_STRINGS, ATTR_TENSOR,
  ATTR_GRAPH, /* subgraph: kept only by name so the importer can reject it */
} AttrKind;

typedef struct Attr {
  const char *name;
  AttrKind kind;
  int64_t i;
  double f;
  const char *s;
  int64_t *ints;      /* ATTR_INTS */
  double *floats;     /* ATTR_FLOATS */
  const char **strs;  /* ATTR_STRINGS */
  int n;              /* element count of the list kinds */
  uint32_t tensor;    /* ATTR_TENSOR: a tensor id (ROLE_CONST) */
} Attr;

typedef enum Phase {
  PHASE_FORWARD, PHASE_LOSS, PHASE_BACKWARD_DATA, PHASE_BACKWARD_WEIGHT, PHASE_UPDATE,
} Phase;
const char *ir_phase_name(Phase p);

typedef enum CapsRole {
  CAPS_NONE, CAPS_PRIMARY, CAPS_VOTES, CAPS_ROUTING_SOFTMAX, CAPS_ROUTING_SUM,
  CAPS_ROUTING_SQUASH, CAPS_ROUTING_AGREE, CAPS_CLASS, CAPS_DECODER,
} CapsRole;
const char *ir_caps_role_name(CapsRole r);

struct Node {
  OpKind op;
  const char *name;      /* ONNX node name, or a generated unique name */
  const char *origin;    /* ONNX node this came from (itself on import; the forward node for
                            derived nodes) */
  uint32_t *inputs;      /* tensor ids; IR_NONE for an omitted optional input */
  uint32_t *outputs;     /* tensor ids; IR_NONE for an omitted optional output */
  Attr *attrs;
  int n_inputs, n_outputs, n_attrs;
  Phase phase;
  CapsRole caps_role;
  int caps_iter;         /* routing iteration (0-based) for CAPS_ROUTING_*, else -1 */
  uint32_t fwd_node;     /* forward node a derived node belongs to, or IR_NONE */
  bool layout_only;      /* a view: no data movement on the target */
};

/* Open-addressing hash map from interned name to id. */
typedef struct NameMap {
  const char **keys;
  uint32_t *vals;
  uint32_t cap, count;
} NameMap;

struct Graph {
  Arena arena;
  Tensor *tensors;
  Node *nodes;           /* always in topological order */
  uint32_t n_tensors, cap_tensors;
  uint32_t n_nodes, cap_nodes;
  NameMap tensor_names;
  NameMap node_names;
  uint32_t name_serial;  /* suffix source for generated and de-duplicated names */
  uint32_t *inputs, *outputs; /* graph inputs (not initializers) and outputs */
  uint32_t n_inputs, n_outputs, cap_inputs, cap_outputs;
  const char *name;      /* model name (file stem) */
  const char *path;      /* file it was loaded from, or "" */
  int64_t opset;         /* default-domain opset version */
  int64_t opset_training, opset_xploredl; /* 0 when not imported */
};

Graph *ir_graph_new(void);
void ir_graph_free(Graph *g);

/* Adds a tensor named name (copied) and returns its id, or IR_NONE on duplicate name (error in
 * d) or out of memory. rank -1 = unknown. */
uint32_t ir_add_tensor(Graph *g, const char *name, DataType dt, TensorRole role, int rank,
                       const int64_t *dims, Diag *d);
/* Adds a tensor with a fresh unique name derived from base ("base", "base_1", ...). */
uint32_t ir_add_tensor_unique(Graph *g, const char *base, DataType dt, TensorRole role,
                              int rank, const int64_t *dims, Diag *d);
uint32_t ir_find_tensor(const Graph *g, const char *name); /* IR_NONE if absent */

/* Appends a node (inputs/outputs copied; outputs' producer set). The caller keeps
 * topological order. Returns the node id or IR_NONE. name NULL = generated. */
uint32_t ir_add_node(Graph *g, OpKind op, const char *name, const uint32_t *inputs,
                     int n_inputs, const uint32_t *outputs, int n_outputs, Diag *d);
uint32_t ir_find_node(const Graph *g, const char *name);

/* Attribute helpers: setters copy into the arena; getters return fallback when absent. */
Attr *ir_node_attr(const Graph *g, uint32_t n, const char *name); /* NULL if absent */
bool ir_set_attr_int(Graph *g, uint32_t n, const char *name, int64_t v);
bool ir_set_attr_float(Graph *g, uint32_t n, const char *name, double v);
bool ir_set_attr_string(Graph *g, uint32_t n, const char *name, const char *v);
bool ir_set_attr_ints(Graph *g, uint32_t n, const char *name, const int64_t *v, int count);
bool ir_set_attr_floats(Graph *g, uint32_t n, const char *name, const double *v, int count);
int64_t ir_attr_int(const Graph *g, uint32_t n, const char *name, int64_t fallback);
double ir_attr_float(const Graph *g, uint32_t n, const char *name, double fallback);
const char *ir_attr_string(const Graph *g, uint32_t n, const char *name, const char *fallback);

bool ir_graph_add_input(Graph *g, uint32_t t);
bool ir_graph_add_output(Graph *g, uint32_t t);

/* Element count of a tensor with known shape; -1 if unknown or it would overflow int64. */
int64_t ir_numel(const Tensor *t);
/* Checked arithmetic for dims and counts: false on overflow (inline: the sweep's hot path). */
static inline bool ir_mul_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool ir_add_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}
/* Saturating forms for work counts: a * b of non-negative counts (a non-positive factor gives
 * 0) and a + b, clamped to INT64_MAX instead of overflowing. */
static inline int64_t ir_sat_mul(int64_t a, int64_t b) {
  int64_t r;
  if (a <= 0 || b <= 0) return 0;
  return ir_mul_ok(a, b, &r) ? r : INT64_MAX;
}
static inline int64_t ir_sat_add(int64_t a, int64_t b) {
  int64_t r;
  return ir_add_ok(a, b, &r) ? r : INT64_MAX;
}

/* Stores known values of tensor t (copied into the arena); n must equal its numel. */
bool ir_set_ivals(Graph *g, uint32_t t, const int64_t *vals, int64_t n);
bool ir_set_fvals(Graph *g, uint32_t t, const double *vals, int64_t n);

/* Removes nodes whose mark is true, keeping order; tensors stay (unreferenced ones are
 * harmless). Remaps nothing else: node ids after the first removed one change. */
void ir_remove_nodes(Graph *g, const bool *remove);

/* ------------------------------------------------------------------------------------------
 * shape.c and shape_*.c — per-op shape rules (listed in ops.def) and the driver.
 * ------------------------------------------------------------------------------------------ */
/* Runs every node's shape rule in order. Errors name the file, node and op. */
XdlStatus ir_infer_shapes(Graph *g, Diag *d);
XdlStatus ir_infer_node(Graph *g, uint32_t n, Diag *d);

/* Helpers for the rules. Input i of node n, or NULL when omitted or out of range. */
Tensor *sh_in(Graph *g, uint32_t n, int i);
/* Sets output i's type and shape; rejects negative dims and element counts that overflow
 * int64. An omitted output (IR_NONE) is accepted and ignored. */
XdlStatus sh_set_out(Graph *g, uint32_t n, int i, DataType dt, int rank, const int64_t *dims,
                     Diag *d);
/* Records an error naming the file, the node and its op: "FILE: node 'NAME' (Op): msg". */
XdlStatus sh_fail(Graph *g, uint32_t n, Diag *d, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads an integer list given either as attribute attr (older opsets) or as the known values of
 * input input_idx (newer opsets). Returns 1 if found, 0 if absent (neither given), -1 if the
 * input exists but its values are not known at import time (error recorded), -2 if longer than
 * max (error recorded). */
int sh_int_list(Graph *g, uint32_t n, const char *attr, int input_idx, int64_t *out, int *count,
                int max, Diag *d);
/* Normalizes a possibly negative axis against rank; false if out of range. */
bool sh_axis(int64_t axis, int rank, int *out);
/* Numpy-style broadcast of two shapes into out; false if incompatible. */
bool sh_broadcast(int ra, const int64_t *a, int rb, const int64_t *b, int *rout, int64_t *out);

/* ------------------------------------------------------------------------------------------
 * shape_nn.c — the Einsum equation parser, shared by the shape rule and work.c's MAC counter.
 * ------------------------------------------------------------------------------------------ */
#define EIN_MAX_OPS 2
/* Label ids: 0..25 = 'a'..'z', 26..51 = 'A'..'Z', 52.. = the broadcast dims an ellipsis stands
 * for, aligned from the right as numpy aligns broadcast shapes. */
#define EIN_LETTERS 52
#define EIN_LABELS  (EIN_LETTERS + IR_MAX_RANK)

typedef struct EinsumSpec {
  int n_ops;
  int ell_rank;                             /* broadcast dims covered by "..." */
  bool used[EIN_LABELS];                    /* label appears in some operand */
  int64_t size[EIN_LABELS];                 /* broadcast size of each used label */
  bool in_op[EIN_MAX_OPS][EIN_LABELS];      /* label appears in operand k */
  int64_t op_size[EIN_MAX_OPS][EIN_LABELS]; /* its size there (1 where absent) */
  bool in_out[EIN_LABELS];                  /* kept in the output; the rest are summed */
  int out_rank;
  int out_labels[IR_MAX_RANK];
} EinsumSpec;

/* Parses equation eq for n_ops operands of the given ranks and dims (explicit "->" output or
 * numpy's implicit one, "..." broadcasting, repeated labels as diagonals). Returns false with a
 * one-line reason in err when the equation does not fit the operands. */
bool einsum_parse(const char *eq, int n_ops, const int *ranks, const int64_t *const *dims,
                  EinsumSpec *s, char *err, size_t err_size);


/* ------------------------------------------------------------------------------------------
 * shape_caps.c — the compact capsule ops of domain ai.xploredl (PrimaryCaps, ConvCaps,
 * ClassCaps, Squash): validated parameters shared by their shape rules and the lowering pass.
 * ------------------------------------------------------------------------------------------ */
typedef struct CapsParams {
  int64_t kernel[2], strides[2], pads[4]; /* PrimaryCaps, ConvCaps: 2-D window (ONNX pads) */
  int64_t out_hw[2];       /* PrimaryCaps, ConvCaps: output spatial extents */
  int64_t num_caps;        /* output capsules (ClassCaps) or capsule types (the others) */
  int64_t caps_dim;        /* output capsule dimension (Squash: size of its axis) */
  int64_t in_caps, in_dim; /* input capsules (types) and their dimension (PrimaryCaps: C, 1) */
  int64_t iters;           /* routing iterations, >= 1 (1 where there is no routing) */
  bool squash;             /* PrimaryCaps: squash the capsules */
  bool routing_3d;         /* ConvCaps: routing "3d" (else "2d") */
  int axis;                /* Squash: the capsule axis, normalized */
} CapsParams;
/* Reads and validates capsule node n's attributes against its operands' shapes (which must be
 * known). Errors name the node: unknown attributes, inconsistent dimensions, zero iterations. */
XdlStatus caps_params(Graph *g, uint32_t n, CapsParams *p, Diag *d);

/* ------------------------------------------------------------------------------------------
 * shape_elem.c — the unary functions, shared by value folding and the interpreter.
 * ------------------------------------------------------------------------------------------ */
typedef struct UnaryParams {
  double alpha, beta, gamma; /* LeakyRelu/Elu/Selu/HardSigmoid attributes */
  bool has_lo, has_hi;       /* Clip bounds (given as inputs or attributes) */
  double lo_f, hi_f;
  int64_t lo_i, hi_i;
} UnaryParams;
/* Reads node n's unary attributes with the ONNX spec's defaults (Clip bounds are not read). */
void ir_unary_attrs(const Graph *g, uint32_t n, UnaryParams *p);
/* f(x) of a unary elementwise op (Relu ... Reciprocal); x itself for ops without a function. */
double ir_unary_eval(OpKind op, double x, const UnaryParams *p);

/* ------------------------------------------------------------------------------------------
 * work.c — MACs, vector ops and GEMM views (definitions in ../shared/refdata/onnx/README.md).
 * ------------------------------------------------------------------------------------------ */
struct GemmView {
  int64_t g, m, n, k; /* all 0 when the op is not GEMM-like */
};

typedef struct NodeWork {
  int64_t macs;    /* multiply-accumulates (GEMM-like ops) */
  int64_t ops;     /* element/reduction operations of non-GEMM ops */
  int64_t params;  /* elements of ROLE_WEIGHT inputs */
  GemmView gemm;
} NodeWork;

NodeWork ir_node_work(const Graph *g, uint32_t n);

/* ------------------------------------------------------------------------------------------
 * verify.c — structural checks run after import and after every pass.
 * print.c — the stable text form used by golden tests.
 * ------------------------------------------------------------------------------------------ */
XdlStatus ir_verify(const Graph *g, Diag *d);
/* Writes one line per node:  %y = Conv(%x, %w) {strides=[1,1]} : f32[1,6,28,28]  */
#include <stdio.h>
void ir_print(const Graph *g, FILE *out);
/* Formats a shape as "f32[1,6,28,28]" into buf; returns buf. */
char *ir_format_type(const Tensor *t, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------
 * fold.c — known values for the shape rules. A tensor's values are known when it has ivals
 * (integer/bool element types) or fvals (floating types) and at most IR_MAX_FOLD_ELEMS
 * elements; an empty tensor is always known.
 * ------------------------------------------------------------------------------------------ */
bool fold_is_float(DataType dt);        /* f16, bf16, f32, f64: values kept as fvals */
bool fold_known(const Tensor *t);       /* NULL or unknown shape: false */
int64_t fold_i(const Tensor *t, int64_t k); /* element k as an integer (floats truncated) */
double fold_f(const Tensor *t, int64_t k);  /* element k as a double */
bool fold_f2i(double v, int64_t *out);  /* truncating conversion; false for NaN/out of range */
bool fold_int_fits(DataType dt, int64_t v);     /* v representable in integer type dt */
int64_t fold_int_wrap(DataType dt, int64_t v);  /* two's-complement wrap into dt (bool: != 0) */
double fold_float_round(DataType dt, double v); /* rounds to f32 precision when dt is f32 */
/* Output i of node n when its values can be kept (shape set, small, numeric), else NULL. */
Tensor *fold_out(Graph *g, uint32_t n, int i);
/* Arena buffers for the numel(o) values of o; NULL when out of memory. */
int64_t *fold_ibuf(Graph *g, const Tensor *o);
double *fold_fbuf(Graph *g, const Tensor *o);
XdlStatus fold_oom(Diag *d);            /* records out of memory; returns XDL_ERR_INTERNAL */
/* Advances multi-index idx over dims in row-major order; false after the last element. */
bool fold_next(int rank, const int64_t *dims, int64_t *idx);
int64_t fold_flat(const Tensor *t, const int64_t *idx); /* row-major offset of idx in t */
/* Offset in t of output index idx (rank out_rank) under numpy broadcasting. */
int64_t fold_bcast_flat(const Tensor *t, int out_rank, const int64_t *idx);
/* Maps an output multi-index to a flat offset in srcs[*src]; negative = the fill value. */
typedef int64_t (*FoldIndexFn)(const int64_t *idx, const void *ctx, int *src);
/* Sets output out's values element by element through fn when every source is known and the
 * output can keep values; otherwise does nothing. Fails only when out of memory. */
XdlStatus fold_map(Graph *g, uint32_t n, int out, const Tensor *const *srcs, int n_srcs,
                   FoldIndexFn fn, const void *ctx, double fill, Diag *d);
/* Output out takes src's values in the same row-major order (reshapes, identity). */
XdlStatus fold_copy(Graph *g, uint32_t n, int out, const Tensor *src, Diag *d);

/* ------------------------------------------------------------------------------------------
 * interp.c (kernels in interp_nn.c, interp_elem.c, interp_data.c, interp_train.c) — the
 * reference interpreter: plain loops over a graph's nodes in order, for proving passes and
 * shape rules numerically (conformance outputs, finite-difference gradient checks). Float
 * values are held as double and, unless use_double, rounded to their tensor's element type
 * after every node (float32 semantics); integer and bool values as int64.
 * ------------------------------------------------------------------------------------------ */
typedef struct InterpOptions {
  bool use_double;     /* no rounding to f32/f16: cleaner finite differences */
  bool random_weights; /* a constant without stored values gets deterministic pseudo-random
                          ones (seeded by seed and its name) instead of an error */
  uint64_t seed;
} InterpOptions;

typedef struct Interp Interp;

/* A tensor's values (borrowed from the interpreter; valid until the next run or set). */
typedef struct InterpValue {
  bool is_int;
  int64_t n;
  const double *f;     /* !is_int */
  const int64_t *i;    /* is_int */
} InterpValue;

/* Creates an interpreter over g (borrowed; its shapes must be inferred). opts may be NULL. */
Interp *interp_new(const Graph *g, const InterpOptions *opts, Diag *d);
void interp_free(Interp *ip);
/* Sets tensor t's n values (its numel) from f or, if f is NULL, from i; converted to the
 * tensor's kind. A set value overrides stored weights until set again. */
XdlStatus interp_set(Interp *ip, uint32_t t, const double *f, const int64_t *i, int64_t n,
                     Diag *d);
/* Runs nodes [first, end) in order; every input must be set, loadable, or computed earlier.
 * An op without a kernel fails naming the op. */
XdlStatus interp_run_nodes(Interp *ip, uint32_t first, uint32_t end, Diag *d);
XdlStatus interp_run(Interp *ip, Diag *d); /* every node */
/* Tensor t's values: computed, set, or loaded on demand (constants and weights). */
XdlStatus interp_get(Interp *ip, uint32_t t, InterpValue *out, Diag *d);
/* True when the interpreter has a kernel for op. */
bool interp_supports(OpKind op);
/* Decodes n little-endian elements of type dt into f (floating types) or i (integer and bool
 * types); false for string and complex types. */
bool interp_decode(DataType dt, const void *bytes, int64_t n, double *f, int64_t *i);
/* Rounds v to the precision of floating type dt (f32, f16, bf16; f64 unchanged). */
double interp_round(DataType dt, double v);

#endif
