/* frontend.h — readers that turn foreign input files into XploreDL's own structs: ONNX models
 * into the graph IR and back (protobuf-c stays inside onnx_import.c, onnx_tensor.c and
 * onnx_export.c), and SCALE-Sim's config/topology files into plain layer lists. Nothing here
 * knows about cost models. */
#ifndef XDL_FRONTEND_H
#define XDL_FRONTEND_H

#include "ir/ir.h"

/* ------------------------------------------------------------------------------------------
 * onnx_import.c — ModelProto → Graph, then shape inference.
 * onnx_tensor.c — file reading, protobuf-c's allocation hook, TensorProto decoding.
 * ------------------------------------------------------------------------------------------ */
/* How to import: symbolic-dimension bindings (--batch, --dim NAME=VALUE) and, optionally,
 * serialized TensorProto files whose dims (and small integer/float values) replace those of
 * the graph inputs in order (ONNX conformance tests feed shapes this way).
 * A symbolic dim is bound by name from dim_names first; otherwise the leading dim of an input,
 * or a dim named "batch", "batch_size" or "N", takes batch; any other one is an error. */
typedef struct ImportOptions {
  int64_t batch;                 /* binds the leading symbolic dim of graph inputs; 0 = 1 */
  const char *const *dim_names;  /* borrowed */
  const int64_t *dim_values;
  int n_dims;
  const char *const *input_pb_paths; /* borrowed; a NULL entry keeps the declared type */
  int n_input_pb;
  bool keep_weight_bytes;        /* keep inline initializer bytes (for the interpreter) */
} ImportOptions;

/* Reads an ONNX file, imports it and infers every shape. Returns NULL with the first error
 * (naming the file and, where it applies, the node) in d; d->unsupported is set when that
 * error is a feature XploreDL lacks (operators, non-tensor graph inputs) rather than a broken
 * file. opts may be NULL. */
Graph *onnx_load(const char *path, const ImportOptions *opts, Diag *d);
/* The same from bytes already in memory (path is used in messages only). */
Graph *onnx_load_buffer(const uint8_t *buf, size_t len, const char *path,
                        const ImportOptions *opts, Diag *d);

/* Reads a serialized TensorProto file (e.g. a conformance test's output_0.pb): its data type
 * and dims. Returns XDL_OK or an error naming the file. */
XdlStatus onnx_read_tensor_dims(const char *path, DataType *dt, int *rank, int64_t *dims,
                                Diag *d);

/* Shared by onnx_import.c and onnx_tensor.c only, the two files that see protobuf-c types
 * (declared here opaquely so no other file needs protobuf-c headers). */
struct ProtobufCMessageDescriptor;
struct Onnx__TensorProto;
/* Reads a whole file into xdl_malloc'd memory (free with xdl_free). NULL with a one-line error
 * naming path for a missing, unreadable or empty file or a directory. */
uint8_t *onnx_read_file(const char *path, size_t *len, Diag *d);
typedef enum OnnxPbError { PB_OK, PB_CORRUPT, PB_NO_MEMORY, PB_TOO_DEEP } OnnxPbError;
/* Unpacks a message with every allocation going through xdl_malloc, after checking that its
 * messages nest at most 64 deep (protobuf-c recurses without a limit). NULL with the reason in
 * *err on failure; free the result with onnx_pb_free. */
void *onnx_pb_unpack(const struct ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                     size_t len, OnnxPbError *err);
void onnx_pb_free(void *msg);
/* Records the one-line error for a failed unpack of path (what: "ONNX model", ...). */
XdlStatus onnx_pb_error(OnnxPbError err, const char *path, const char *what, Diag *d);
/* Validates a TensorProto's data type, rank and dims; what names it in errors (e.g.
 * "initializer 'w'"), path prefixes them. */
XdlStatus onnx_tensor_header(const struct Onnx__TensorProto *tp, const char *path,
                             const char *what, DataType *dt, int *rank, int64_t *dims, Diag *d);
/* Fills tensor t (dtype and dims already set from tp) from tp's data: small values into
 * ivals/fvals, external-data location into data, and with keep_bytes the inline bytes.
 * Checks the stored data's size against the dims. Errors are prefixed with g->path. */
XdlStatus onnx_tensor_fill(Graph *g, uint32_t t, const struct Onnx__TensorProto *tp,
                           const char *what, bool keep_bytes, Diag *d);

/* ------------------------------------------------------------------------------------------
 * onnx_values.c — a serialized TensorProto's values (conformance tests' input_N.pb and
 * output_N.pb), decoded with onnx_tensor.c's helpers and ir's interp_decode.
 * ------------------------------------------------------------------------------------------ */
typedef struct TensorValues {
  DataType dtype;
  int rank;
  int64_t dims[IR_MAX_RANK];
  int64_t n;         /* element count */
  bool is_int;       /* integer and bool types: ivals; floating types: fvals */
  double *fvals;     /* xdl_malloc'd, or NULL */
  int64_t *ivals;    /* xdl_malloc'd, or NULL */
} TensorValues;

/* Reads the TensorProto file at path with its values into out (free with
 * onnx_tensor_values_free). String and complex tensors, and files without stored values, are
 * errors naming the file. */
XdlStatus onnx_read_tensor_values(const char *path, TensorValues *out, Diag *d);
void onnx_tensor_values_free(TensorValues *v);

/* ------------------------------------------------------------------------------------------
 * onnx_export.c — Graph → ModelProto, the writer behind the shipped models.
 * ------------------------------------------------------------------------------------------ */
/* How to write: every field may be left zero. */
typedef struct ExportOptions {
  const char *batch_param; /* non-NULL: the leading dim of graph inputs and outputs is written
                              as this symbolic name (e.g. "batch") instead of its value */
  int64_t ir_version;      /* 0 = 7 for default-domain opset <= 13, else 8 */
  const char *doc_string;  /* model doc_string, or NULL */
} ExportOptions;

/* Writes g as an ONNX model at path (atomically: a temporary file in the same directory, then
 * rename; nothing is left behind on error). Initializers without bytes or known values are
 * written as external data in "<stem>.weights", which is never created. Same graph and options
 * give the same bytes. Errors name the path (and the node or tensor). opts may be NULL. */
XdlStatus onnx_save(const Graph *g, const char *path, const ExportOptions *opts, Diag *d);

/* ------------------------------------------------------------------------------------------
 * scalesim_read.c — SCALE-Sim v2's config (.cfg) and topology (.csv) files as plain structs.
 * ------------------------------------------------------------------------------------------ */
typedef struct ScaleSimConfig {
  char run_name[256];
  int64_t array_h, array_w;                /* ArrayHeight (rows), ArrayWidth (columns) */
  int64_t ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb;
  int64_t ifmap_offset, filter_offset, ofmap_offset; /* words; defaults 0, 1e7, 2e7 */
  char dataflow[4];                        /* "os", "ws" or "is" */
  bool bw_user;                            /* InterfaceBandwidth: USER (else CALC) */
  int64_t bandwidth;                       /* first value of Bandwidth; 0 if absent */
} ScaleSimConfig;

typedef struct ScaleSimLayer {
  char name[128];                          /* trimmed layer name */
  int64_t ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride_h, stride_w;
  int64_t gemm_m, gemm_n, gemm_k;          /* GEMM rows only (else 0) */
  int line;                                /* 1-based line in the topology file */
} ScaleSimLayer;

typedef struct ScaleSimTopology {
  ScaleSimLayer *layers;                   /* owned; free with scalesim_topology_free */
  int n_layers, cap_layers;
} ScaleSimTopology;

/* Reads a SCALE-Sim config. Errors (unreadable file, missing key, non-numeric or non-positive
 * value, unknown dataflow or bandwidth mode, USER mode without Bandwidth) name file:line. */
XdlStatus scalesim_read_config(const char *path, ScaleSimConfig *out, Diag *d);
/* Reads a topology: the header line is skipped, a trailing comma ends each row. Conv rows:
 * name, H, W, Fh, Fw, channels, filters, stride[, stride_w]; GEMM rows (gemm = true): name, M,
 * N, K, stored as SCALE-Sim's conv translation too (H = M, W = K, Fh = 1, Fw = K, Ch = 1).
 * Rejects missing/non-numeric fields, sizes or strides <= 0, filters larger than the input and
 * files without layers, naming file:line. */
XdlStatus scalesim_read_topology(const char *path, bool gemm, ScaleSimTopology *out, Diag *d);
void scalesim_topology_free(ScaleSimTopology *t);

#endif
