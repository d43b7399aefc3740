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

/* Loads and shape-infers an ONNX model. On failure returns NULL status and fills err (if not
 * NULL) with a one-line message of at most err_size bytes. */
XdlStatus xdl_graph_load_onnx(const char *path, const XdlLoadOptions *opts, XdlGraph **out,
                              char *err, int err_size);
void xdl_graph_free(XdlGraph *g);

/* Total forward MACs and parameter count of a loaded graph. */
int64_t xdl_graph_macs(const XdlGraph *g);
int64_t xdl_graph_params(const XdlGraph *g);

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
