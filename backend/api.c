/* api.c — the public API of include/xploredl.h: thin wrappers that run the pipeline stages
 * (import, passes, schedule, cost model) for toolchains that call XploreDL as a library, and
 * turn each stage's Diag into a status and a caller-owned message. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "frontend/frontend.h"

/* Copies d's message into the caller's buffer and returns its status. */
static XdlStatus report(const Diag *d, char *err, int err_size) {
  if (err && err_size > 0) snprintf(err, (size_t)err_size, "%s", d->status ? d->msg : "");
  return d->status;
}

XdlStatus xdl_graph_load_onnx(const char *path, const XdlLoadOptions *opts, XdlGraph **out,
                              char *err, int err_size) {
  Diag d;
  diag_init(&d);
  ImportOptions io;
  memset(&io, 0, sizeof io);
  if (opts) {
    io.batch = opts->batch;
    io.dim_names = opts->dim_names;
    io.dim_values = opts->dim_values;
    io.n_dims = opts->n_dims;
  }
  *out = onnx_load(path, &io, &d);
  if (!*out && d.status == XDL_OK) diag_error(&d, XDL_ERR_INTERNAL, "%s: import failed", path);
  return report(&d, err, err_size);
}

void xdl_graph_free(XdlGraph *g) { ir_graph_free(g); }

XdlStatus xdl_graph_run_passes(XdlGraph *g, const XdlPassOptions *opts, char *err,
                               int err_size) {
  Diag d;
  diag_init(&d);
  PassOptions po;
  memset(&po, 0, sizeof po);
  if (opts) {
    static const LossKind losses[] = {LOSS_AUTO, LOSS_SOFTMAX_CE, LOSS_MARGIN, LOSS_MSE};
    static const OptimizerKind opts_k[] = {OPT_SGD, OPT_MOMENTUM, OPT_ADAM};
    if (opts->loss < 0 || opts->loss > 3 || opts->optimizer < 0 || opts->optimizer > 2) {
      diag_error(&d, XDL_ERR_INPUT, "pass options: loss must be 0..3 and optimizer 0..2");
      return report(&d, err, err_size);
    }
    po.train = opts->train != 0;
    po.loss = losses[opts->loss];
    po.optimizer = opts_k[opts->optimizer];
    po.detach_routing = opts->detach_routing != 0;
  }
  passes_run(g, &po, &d);
  return report(&d, err, err_size);
}

int64_t xdl_graph_macs(const XdlGraph *g) { return report_graph_totals(g).macs; }
int64_t xdl_graph_params(const XdlGraph *g) { return report_graph_totals(g).params; }

XdlStatus xdl_accel_load(const char *xml_path_or_preset, XdlAccel **out, char *err,
                         int err_size) {
  Diag d;
  diag_init(&d);
  *out = xdl_calloc(1, sizeof **out);
  if (!*out) {
    diag_error(&d, XDL_ERR_INTERNAL, "out of memory");
    return report(&d, err, err_size);
  }
  if (!arch_preset(xml_path_or_preset, *out) &&
      arch_load_xml(xml_path_or_preset, *out, &d) != XDL_OK) {
    xdl_free(*out);
    *out = NULL;
  }
  return report(&d, err, err_size);
}

void xdl_accel_free(XdlAccel *a) { xdl_free(a); }

XdlStatus xdl_estimate(const XdlGraph *g, const XdlAccel *a, XdlEstimate *out, char *err,
                       int err_size) {
  Diag d;
  diag_init(&d);
  memset(out, 0, sizeof *out);
  Schedule s;
  memset(&s, 0, sizeof s);
  Estimate e;
  if (schedule_build(g, &s, &d) == XDL_OK && cost_estimate(&s, a, false, &e, NULL, &d) == XDL_OK)
    *out = (XdlEstimate){e.macs,     e.cycles, e.latency_s, e.energy_j,     e.power_w,
                         e.area_mm2, e.tops,   e.tops_per_mm2, e.fj_per_op, e.util};
  schedule_free(&s);
  return report(&d, err, err_size);
}
