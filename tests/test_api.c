/* test_api.c — the public API (include/xploredl.h) as an embedding toolchain uses it: load a
 * model, run the passes, cost it on a preset and on an XML accelerator; errors come back as a
 * status and a one-line message, never a crash. Only xploredl.h is used for the calls. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xploredl.h"

static void test_load_estimate(void) {
  char *path = tu_refdata("onnx/alexnet.nodata.onnx");
  char err[512];
  XdlGraph *g = NULL;
  CU_ASSERT_EQUAL_FATAL(xdl_graph_load_onnx(path, NULL, &g, err, sizeof err), XDL_OK);
  CU_ASSERT_EQUAL(xdl_graph_macs(g), 714188480);
  CU_ASSERT_EQUAL(xdl_graph_params(g), 61100840);
  XdlPassOptions po = {0, 0, 0, 0};
  CU_ASSERT_EQUAL(xdl_graph_run_passes(g, &po, err, sizeof err), XDL_OK);
  CU_ASSERT_EQUAL(xdl_graph_macs(g), 714188480); /* canonicalize keeps every MAC */

  XdlAccel *a = NULL;
  CU_ASSERT_EQUAL_FATAL(xdl_accel_load("edge-16x16", &a, err, sizeof err), XDL_OK);
  XdlEstimate e;
  CU_ASSERT_EQUAL(xdl_estimate(g, a, &e, err, sizeof err), XDL_OK);
  CU_ASSERT_EQUAL(e.macs, 714188480);
  CU_ASSERT(e.cycles > 714188480 / 256); /* cannot beat a perfectly used 16x16 array */
  CU_ASSERT_DOUBLE_EQUAL(e.power_w, e.energy_j / e.latency_s, 1e-9 * e.power_w);
  CU_ASSERT_DOUBLE_EQUAL(e.fj_per_op, e.energy_j * 1e15 / (2.0 * 714188480), 1e-9 * e.fj_per_op);
  xdl_accel_free(a);

  char *xml = tu_source("models/accel/tpu-like.xml");
  CU_ASSERT_EQUAL_FATAL(xdl_accel_load(xml, &a, err, sizeof err), XDL_OK);
  XdlEstimate e2;
  CU_ASSERT_EQUAL(xdl_estimate(g, a, &e2, err, sizeof err), XDL_OK);
  CU_ASSERT(e2.latency_s < e.latency_s); /* 128x128 beats 16x16 */
  xdl_accel_free(a);
  free(xml);
  xdl_graph_free(g);
  free(path);
}

static void test_errors(void) {
  char err[512];
  XdlGraph *g = (XdlGraph *)1;
  CU_ASSERT_EQUAL(xdl_graph_load_onnx("/nonexistent/m.onnx", NULL, &g, err, sizeof err),
                  XDL_ERR_INPUT);
  CU_ASSERT_PTR_NULL(g);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/m.onnx"));
  XdlAccel *a = (XdlAccel *)1;
  CU_ASSERT_EQUAL(xdl_accel_load("no-such-preset", &a, err, sizeof err), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NULL(a);
  CU_ASSERT(strlen(err) > 0);
  CU_ASSERT_EQUAL(xdl_accel_load("no-such-preset", &a, NULL, 0), XDL_ERR_INPUT); /* no buffer */
}

int main(void) {
  CU_TestInfo tests[] = {{"load_passes_estimate", test_load_estimate},
                         {"errors", test_errors},
                         CU_TEST_INFO_NULL};
  return tu_run_suite("api", tests);
}
