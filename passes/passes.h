/* passes.h — graph → graph transformations, the pass manager, and the scheduler that turns a
 * graph into the flat task list the backend costs. Sections are grouped by implementing file. */
#ifndef XDL_PASSES_H
#define XDL_PASSES_H

#include "ir/ir.h"

typedef enum LossKind {
  LOSS_AUTO,           /* softmax cross-entropy for classifiers; margin (+ MSE reconstruction)
                          for capsule networks */
  LOSS_SOFTMAX_CE,     /* softmax cross-entropy over the first output */
  LOSS_MARGIN,         /* capsule margin loss over capsule lengths */
  LOSS_MSE,            /* mean-squared error (reconstructions) */
} LossKind;

typedef enum OptimizerKind { OPT_SGD, OPT_MOMENTUM, OPT_ADAM } OptimizerKind;

/* Options every pass may read. Zero-initialized = inference, no dump, verify on. */
typedef struct PassOptions {
  bool no_verify;         /* skip ir_verify after each pass */
  const char *dump_after; /* pass name after which to print the IR to stderr, or NULL */
  bool train;             /* append loss, backward graph and optimizer update (autodiff) */
  LossKind loss;
  OptimizerKind optimizer;
  bool detach_routing;    /* capsules: prediction vectors detached in all but the last
                             routing iteration (as common PyTorch CapsNet code does) */
  int64_t routing_iterations; /* capsules: > 0 sets routing_iterations of every compact op
                                 that routes (ClassCaps, ConvCaps with routing "3d") before
                                 lowering; an error when the graph has none. 0: as given */
} PassOptions;

/* ------------------------------------------------------------------------------------------
 * pipeline.c — the pass manager: runs the passes the options ask for, in order
 * (canonicalize → capsule_lower → [autodiff]), verifying the graph after each and dumping it
 * after the one named in dump_after. Each pass is `XdlStatus pass_<name>(Graph *, const
 * PassOptions *, Diag *)` in passes/<name>.c with a head comment saying what it requires and
 * what it invalidates.
 * ------------------------------------------------------------------------------------------ */
XdlStatus passes_run(Graph *g, const PassOptions *o, Diag *d);
/* Names of the passes, in pipeline order, for --dump-after. */
const char *const *passes_names(int *count);

/* canonicalize.c — drops Identity and inference-mode Dropout (rewiring their consumers),
 * removes shape/constant nodes whose outputs were folded at import, marks Reshape, Flatten,
 * Squeeze and Unsqueeze as layout-only views. */
XdlStatus pass_canonicalize(Graph *g, const PassOptions *o, Diag *d);

/* autodiff.c — expands ONNX Gradient nodes; with o->train appends the loss, the backward graph
 * (each op's rule from ops.def, phases backward_data / backward_weight) and the optimizer
 * updates. Errors: a loss that does not fit the outputs, no trainable weight, no rule. */
XdlStatus pass_autodiff(Graph *g, const PassOptions *o, Diag *d);

/* capsule_lower.c — expands the compact capsule ops of domain ai.xploredl (PrimaryCaps, ConvCaps,
 * ClassCaps, Squash) into primitives; in capsule networks exported already unrolled, finds the
 * votes product and the routing iterations by structure and rewrites each routing Mul →
 * ReduceSum into one Einsum contraction; tags every capsule node with its role (primary, votes,
 * routing[k].softmax|sum|squash|agree, class, decoder). Graphs without capsules are unchanged.
 * With o->routing_iterations > 0 the compact ops that route take that iteration count first
 * (XDL_ERR_INPUT when there is none to take it, e.g. an unrolled export or a CNN). */
XdlStatus pass_capsule_lower(Graph *g, const PassOptions *o, Diag *d);

/* ------------------------------------------------------------------------------------------
 * schedule.c — maps every compute node to an accelerator unit. GEMM-like ops become PE-array
 * tasks with their GEMM view (convolution through im2col, once per group); vector ops become
 * vector-unit tasks with element-operation counts by cost class; layout-only and shape ops
 * become nothing. The backend costs the Schedule without looking at the graph again.
 * ------------------------------------------------------------------------------------------ */
typedef enum TaskUnit { UNIT_ARRAY, UNIT_VECTOR } TaskUnit;

typedef struct Task {
  uint32_t node;        /* graph node it came from */
  const char *name;     /* node name (borrowed from the graph arena) */
  OpKind op;
  TaskUnit unit;
  GemmView gemm;        /* UNIT_ARRAY: g x (m, n, k) */
  /* A 2-D convolution at batch 1 as SCALE-Sim sees a conv layer, per group: the input rows and
   * columns its windows actually read (padding included), kernel, channels, filters, strides.
   * With it the array model sees the im2col addresses (overlapping windows reuse DRAM data)
   * exactly as for a SCALE-Sim topology row; all zero for other tasks (GEMM view only). */
  struct {
    int64_t in_h, in_w, kernel_h, kernel_w, channels, filters, stride_h, stride_w;
  } conv;
  int64_t macs;         /* UNIT_ARRAY: g*m*n*k */
  VecClass vec_class;   /* UNIT_VECTOR */
  int64_t vec_ops;      /* UNIT_VECTOR: element operations */
  int64_t in_elems, out_elems; /* activation elements read / written (for memory traffic) */
  Phase phase;
  CapsRole caps_role;
  int caps_iter;
} Task;

typedef struct Schedule {
  Task *tasks;
  uint32_t n_tasks, cap_tasks;
  const char *model;    /* graph name (borrowed) */
  int64_t total_macs;
} Schedule;

/* Builds the task list of g (which must be shape-inferred) into s (zero-initialized by the
 * caller, freed with schedule_free). Borrowed names stay valid while g lives. */
XdlStatus schedule_build(const Graph *g, Schedule *s, Diag *d);
void schedule_free(Schedule *s);

/* ------------------------------------------------------------------------------------------
 * liveness.c — the memory footprint of one step of a graph (a training step after autodiff,
 * else one inference), by a liveness analysis over the node order (the order the schedule runs
 * tasks in). Bytes = elements x element size. Weights, optimizer state and constants stay for
 * the whole step; every other tensor lives from the step of its producer (graph inputs: step
 * 0) to its last reader (graph outputs: the last step). Views (Reshape, Flatten, Squeeze,
 * Unsqueeze, Identity, layout-only nodes) share their input's bytes; an optimizer update writes
 * each new weight and state value in place of the old one (an update-phase output of a state
 * input's type and size, or any produced tensor with role weight or optimizer state), adding
 * nothing.
 * ------------------------------------------------------------------------------------------ */
typedef struct MemoryFootprint {
  /* Resident for the whole step. */
  int64_t weights_bytes;      /* trainable weights (initializers with role weight) */
  int64_t opt_state_bytes;    /* optimizer state (momentum, Adam moments) */
  int64_t const_bytes;        /* constants nodes read (shape arguments, non-float tables) */
  /* Peaks of the transient classes, each at its own step. */
  int64_t saved_bytes;        /* saved activations: forward tensors (and graph inputs) that a
                                 loss, backward or update node reads, live from production to
                                 their last such use */
  int64_t gradients_bytes;    /* tensors with role gradient */
  int64_t activations_bytes;  /* every other transient tensor (forward temporaries, backward
                                 intermediates, the loss) */
  /* The peak of everything live at one step, and that step's split. */
  int64_t total_bytes;
  uint32_t peak_node;         /* node index at the peak; IR_NONE for a graph without nodes */
  const char *peak_name;      /* that node's name (borrowed from the graph), or NULL */
  int64_t peak_saved_bytes, peak_gradients_bytes, peak_activations_bytes;
} MemoryFootprint;

/* Contract: g is shape-inferred and in topological order. Fills *out. Errors: XDL_ERR_INPUT
 * naming the tensor when a live tensor's shape is unknown or its byte count overflows int64;
 * XDL_ERR_INTERNAL when out of memory. */
XdlStatus training_memory(const Graph *g, MemoryFootprint *out, Diag *d);

#endif
