/* xploredl.h — the public API of libxploredl, for toolchains that call XploreDL as a pass.
 *
 * Load an ONNX model into XploreDL's graph IR, run the pass pipeline, and query it. Every
 * fallible call returns an XdlStatus; the first error's message (naming the file, node or line)
 * is kept in the handle that failed and can be read with xdl_last_error(). */
#ifndef XPLOREDL_H
#define XPLOREDL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes at the API boundary; the CLI maps them to exit codes (0, 2, 1). */
typedef enum XdlStatus {
  XDL_OK = 0,
  XDL_ERR_INPUT = 2,    /* bad input: missing/corrupt file, unsupported op, nonsense value */
  XDL_ERR_INTERNAL = 1, /* out of memory, I/O failure on output, broken invariant */
} XdlStatus;

/* Options for loading a model: the batch size binds the first symbolic dim of every graph
 * input (and any dim named "batch"/"N"); dim_bindings binds others by name. */
typedef struct XdlLoadOptions {
  int64_t batch;                /* >= 1; 0 means the default, 1 */
  const char *const *dim_names; /* n_dims names, borrowed */
  const int64_t *dim_values;    /* n_dims values, borrowed */
  int n_dims;
} XdlLoadOptions;

typedef struct Graph XdlGraph; /* opaque */

/* Loads and shape-infers an ONNX model (weights are never read). On failure *out is NULL and err
 * holds the message. */
XdlStatus xdl_graph_load_onnx(const char *path, const XdlLoadOptions *opts, XdlGraph **out,
                              char *err, int err_size);
void xdl_graph_free(XdlGraph *g);

/* Runs the pass pipeline: canonicalize, capsule lowering and, with train != 0, the loss, the
 * backward graph and the optimizer update. loss: 0 auto, 1 softmax cross-entropy, 2 capsule
 * margin, 3 mean-squared error; optimizer: 0 SGD, 1 momentum, 2 Adam. */
typedef struct XdlPassOptions {
  int train;
  int loss;
  int optimizer;
  int detach_routing; /* capsules: prediction vectors detached in all but the last iteration */
} XdlPassOptions;
XdlStatus xdl_graph_run_passes(XdlGraph *g, const XdlPassOptions *opts, char *err, int err_size);

/* Total MACs (every phase present in the graph) and trainable parameter count. */
int64_t xdl_graph_macs(const XdlGraph *g);
int64_t xdl_graph_params(const XdlGraph *g);

/* An accelerator: an XML description (models/accel/accel.xsd) or a preset name ("tpu-like",
 * "eyeriss-like", "edge-16x16", "capsacc-like"). */
typedef struct Accel XdlAccel; /* opaque */
XdlStatus xdl_accel_load(const char *xml_path_or_preset, XdlAccel **out, char *err,
                         int err_size);
void xdl_accel_free(XdlAccel *a);

/* Whole-graph figures on one accelerator (op = 2 x MAC). */
typedef struct XdlEstimate {
  int64_t macs, cycles;
  double latency_s, energy_j, power_w, area_mm2;
  double tops, tops_per_mm2, fj_per_op, utilization;
} XdlEstimate;
XdlStatus xdl_estimate(const XdlGraph *g, const XdlAccel *a, XdlEstimate *out, char *err,
                       int err_size);

/* Replaces the allocator every part of the library uses (NULL restores malloc/realloc/free).
 * Lets embedders account memory and tests fail the Nth allocation. */
typedef struct XdlAllocator {
  void *(*realloc_fn)(void *ud, void *ptr, size_t size); /* size 0 = free, returns NULL */
  void *ud;
} XdlAllocator;
void xdl_set_allocator(const XdlAllocator *a);

#ifdef __cplusplus
}
#endif
#endif
