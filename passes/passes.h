/* passes.h — graph → graph transformations, the pass manager, and the scheduler that turns a
 * graph into the flat task list the backend costs. Sections are grouped by implementing file. */
#ifndef XDL_PASSES_H
#define XDL_PASSES_H

#include "ir/ir.h"

/* Options every pass may read. */
typedef struct PassOptions {
  bool verify;          /* run ir_verify after each pass (always on in debug builds) */
  const char *dump_after; /* pass name after which to print the IR to stderr, or NULL */
} PassOptions;

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

#endif
