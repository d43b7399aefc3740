/* test_pipeline.c — one model for both paths: the conv layers of the ONNX AlexNet fixture,
 * costed through import → schedule → cost model, give exactly the cycles, SRAM and DRAM counts
 * that the systolic model gives for a SCALE-Sim topology file with the same shapes
 * (tests/fixtures/alexnet_torchvision.csv: each padded input cut to the rows and columns the
 * windows read), on a 32x32 array in all three dataflows, by the fast and the exact path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "testutil.h"

static void check_dataflow(Dataflow df, bool exact) {
  char *model = tu_refdata("onnx/alexnet.nodata.onnx");
  char *topo = tu_source("tests/fixtures/alexnet_torchvision.csv");
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(model, NULL, &d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Schedule s;
  memset(&s, 0, sizeof s);
  CU_ASSERT_EQUAL_FATAL(schedule_build(g, &s, &d), XDL_OK);

  Accel a;
  CU_ASSERT_TRUE_FATAL(arch_preset("edge-16x16", &a));
  a.rows = a.cols = 32;
  a.df = df;
  a.word_bits = 8;
  a.ifmap_sram_kib = a.filter_sram_kib = a.ofmap_sram_kib = 64;
  a.bw_mode_user = 0; /* SCALE-Sim's default CALC mode */
  SystolicConfig cfg = arch_systolic_config(&a);
  TaskCost *tc = calloc(s.n_tasks, sizeof *tc);
  Estimate est;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, exact, &est, tc, &d), XDL_OK);

  ScaleSimTopology topo_rows;
  memset(&topo_rows, 0, sizeof topo_rows);
  CU_ASSERT_EQUAL_FATAL(scalesim_read_topology(topo, false, &topo_rows, &d), XDL_OK);
  int row = 0;
  for (uint32_t i = 0; i < s.n_tasks; i++) {
    const Task *t = &s.tasks[i];
    if (t->op != OP_CONV) continue;
    CU_ASSERT_FATAL(row < topo_rows.n_layers);
    const ScaleSimLayer *L = &topo_rows.layers[row++];
    SysLayer layer = {L->ifmap_h,  L->ifmap_w,     L->filter_h, L->filter_w, L->channels,
                      L->num_filters, L->stride_h, L->stride_w, 1};
    SystolicResult r;
    CU_ASSERT_EQUAL_FATAL(exact ? systolic_eval_exact(&cfg, &layer, &r, &d)
                                : systolic_eval_fast(&cfg, &layer, &r, &d),
                          XDL_OK);
    int64_t dram = r.dram_words[SYS_IFMAP] + r.dram_words[SYS_FILTER] + r.dram_words[SYS_OFMAP];
    CU_ASSERT_EQUAL(t->macs, r.macs);
    CU_ASSERT_EQUAL(tc[i].cycles, r.total_cycles + 1);
    CU_ASSERT_EQUAL(tc[i].dram_words, dram);
    /* The GEMM view alone gives the same compute cycles (same P, K, N); only the addresses,
     * and so the DRAM reuse, differ. */
    SystolicResult rg;
    CU_ASSERT_EQUAL_FATAL(systolic_eval_gemm(&cfg, &t->gemm, false, &rg, &d), XDL_OK);
    CU_ASSERT_EQUAL(rg.total_cycles - rg.stall_cycles, r.total_cycles - r.stall_cycles);
    CU_ASSERT_EQUAL(rg.sram_words[SYS_IFMAP], r.sram_words[SYS_IFMAP]);
    printf("\n    %-3s %-5s %-26s cycles %9lld  dram words %9lld", systolic_dataflow_name(df),
           exact ? "exact" : "fast", t->name, (long long)tc[i].cycles, (long long)dram);
  }
  CU_ASSERT_EQUAL(row, topo_rows.n_layers);
  scalesim_topology_free(&topo_rows);
  free(tc);
  schedule_free(&s);
  ir_graph_free(g);
  free(model);
  free(topo);
}

static void test_os_fast(void) { check_dataflow(DF_OS, false); }
static void test_ws_fast(void) { check_dataflow(DF_WS, false); }
static void test_is_fast(void) { check_dataflow(DF_IS, false); }
static void test_os_exact(void) { check_dataflow(DF_OS, true); }
static void test_ws_exact(void) { check_dataflow(DF_WS, true); }
static void test_is_exact(void) { check_dataflow(DF_IS, true); }

int main(void) {
  CU_TestInfo tests[] = {{"alexnet_os_fast", test_os_fast},   {"alexnet_ws_fast", test_ws_fast},
                         {"alexnet_is_fast", test_is_fast},   {"alexnet_os_exact", test_os_exact},
                         {"alexnet_ws_exact", test_ws_exact}, {"alexnet_is_exact", test_is_exact},
                         CU_TEST_INFO_NULL};
  return tu_run_suite("pipeline", tests);
}
