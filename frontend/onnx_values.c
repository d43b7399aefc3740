/* onnx_values.c — reads a serialized TensorProto file together with its values, for tests that
 * feed the interpreter a conformance test's input_N.pb and compare with its output_N.pb. The
 * TensorProto is decoded by onnx_tensor.c (into a scratch graph tensor with its bytes kept) and
 * the bytes by interp_decode, so there is one decoder of each kind. */
#include <stdio.h>
#include <string.h>

#include "frontend/frontend.h"
#include "onnx/onnx.pb-c.h"

void onnx_tensor_values_free(TensorValues *v) {
  if (!v) return;
  xdl_free(v->fvals);
  xdl_free(v->ivals);
  v->fvals = NULL;
  v->ivals = NULL;
}

XdlStatus onnx_read_tensor_values(const char *path, TensorValues *out, Diag *d) {
  memset(out, 0, sizeof *out);
  size_t len = 0;
  Onnx__TensorProto *tp = NULL;
  Graph *g = NULL;
  XdlStatus st = XDL_ERR_INPUT;
  uint8_t *buf = onnx_read_file(path, &len, d);
  if (!buf) return d->status;
  OnnxPbError err;
  tp = onnx_pb_unpack(&onnx__tensor_proto__descriptor, buf, len, &err);
  if (!tp) {
    st = onnx_pb_error(err, path, "ONNX TensorProto", d);
    goto fail;
  }
  st = onnx_tensor_header(tp, path, "tensor", &out->dtype, &out->rank, out->dims, d);
  if (st != XDL_OK) goto fail;
  if (out->dtype == DT_STRING || out->dtype == DT_COMPLEX64 || out->dtype == DT_COMPLEX128) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: tensor of type %s has no numeric values", path,
                    ir_dtype_name(out->dtype));
    goto fail;
  }
  g = ir_graph_new();
  if (!g) {
    st = diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory", path);
    goto fail;
  }
  g->path = path; /* borrowed for error messages during this call */
  Diag ld;
  diag_init(&ld);
  uint32_t t = ir_add_tensor(g, "value", out->dtype, ROLE_CONST, out->rank, out->dims, &ld);
  if (t == IR_NONE) {
    st = diag_error(d, ld.status, "%s: %s", path, ld.msg);
    goto fail;
  }
  st = onnx_tensor_fill(g, t, tp, "tensor", true, d);
  if (st != XDL_OK) goto fail;
  const Tensor *ts = &g->tensors[t];
  out->n = ir_numel(ts);
  out->is_int = ir_dtype_is_int(out->dtype);
  if (out->n > 0 && !ts->data.bytes) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: tensor stores no values%s", path,
                    ts->data.external ? " (external data is not read here)" : "");
    goto fail;
  }
  size_t count = (size_t)(out->n ? out->n : 1);
  if (out->is_int) out->ivals = xdl_malloc(count * sizeof *out->ivals);
  else out->fvals = xdl_malloc(count * sizeof *out->fvals);
  if (out->is_int ? !out->ivals : !out->fvals) {
    st = diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory", path);
    goto fail;
  }
  if (out->n > 0 && !interp_decode(out->dtype, ts->data.bytes, out->n, out->fvals, out->ivals)) {
    st = diag_error(d, XDL_ERR_INPUT, "%s: tensor of type %s has no numeric values", path,
                    ir_dtype_name(out->dtype));
    goto fail;
  }
  st = XDL_OK;
fail:
  if (st != XDL_OK) onnx_tensor_values_free(out);
  if (g) g->path = "";
  ir_graph_free(g);
  onnx_pb_free(tp);
  xdl_free(buf);
  return st;
}
