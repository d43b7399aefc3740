/* test_cost.c — the scheduler and the whole-network cost model: a hand-computed two-task case on
 * a tiny accelerator built in C (every energy and area part, latency, power, TOPS, fJ/op),
 * the task list of a small conv → relu → reshape → gemm graph, error and allocation-failure
 * paths, and invariants over a whole model (AlexNet) on every preset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

/* |got - want| within a relative 1e-9 (figures pass through log-log interpolation). */
static int close_rel(double got, double want) {
  return fabs(got - want) <= 1e-9 * fmax(fabs(want), 1e-300);
}
#define ASSERT_CLOSE(got, want) CU_ASSERT(close_rel((got), (want)))

/* A tiny technology: one 8-bit MAC row, SRAM rows at 1 and 4 KiB (lookups below hit rows
 * exactly), 10 pJ/bit DRAM. */
static Tech tiny_tech(void) {
  return (Tech){
      .name = "tiny",
      .node = "test",
      .macs = {{.bits = 8, .energy_pj = 0.2, .pe_area_um2 = 300}},
      .n_macs = 1,
      .srams = {{.kib = 1, .read_pj = 1.0, .write_pj = 1.5, .area_mm2 = 0.01, .leakage_mw = 0.1},
                {.kib = 4, .read_pj = 2.0, .write_pj = 3.0, .area_mm2 = 0.04, .leakage_mw = 0.4}},
      .n_srams = 2,
      .sram_word_bits = 8,
      .dram_pj_per_bit = 10.0,
      .vec_pj = {[VEC_ELEMWISE] = 0.5, [VEC_SPECIAL] = 2.0},
      .vec_lane_area_um2 = 1000,
      .leakage_mw_per_mm2 = 2.0,
  };
}

/* 4x4 weight-stationary array at 100 MHz, 8-bit words, SRAMs of 1 (ifmap), 4 (filter) and
 * 1 (ofmap) KiB, CALC bandwidth mode, a 4-lane vector unit at 1 cycle per elementwise op. */
static Accel tiny_accel(void) {
  return (Accel){
      .name = "tiny",
      .rows = 4,
      .cols = 4,
      .df = DF_WS,
      .mac_bits = 8,
      .acc_bits = 32,
      .clock_mhz = 100,
      .ifmap_sram_kib = 1,
      .filter_sram_kib = 4,
      .ofmap_sram_kib = 1,
      .word_bits = 8,
      .bw_mode_user = 0,
      .dram_bw_words = 10,
      .dram_pj_per_bit = -1,
      .vec = {.lanes = 4, .cycles_per_op = {[VEC_ELEMWISE] = 1.0, [VEC_SPECIAL] = 4.0}},
      .tech_ref = "tiny",
      .tech = tiny_tech(),
  };
}

/* Two tasks: a GEMM 1 x (M=8, N=4, K=4) and a Relu over 30 elements. */
static void tiny_schedule(Schedule *s, Task tasks[2]) {
  tasks[0] = (Task){.node = 0, .name = "gemm", .op = OP_GEMM, .unit = UNIT_ARRAY,
                    .gemm = {1, 8, 4, 4}, .macs = 128, .in_elems = 48, .out_elems = 32,
                    .caps_iter = -1};
  tasks[1] = (Task){.node = 1, .name = "relu", .op = OP_RELU, .unit = UNIT_VECTOR,
                    .vec_class = VEC_ELEMWISE, .vec_ops = 30, .in_elems = 30, .out_elems = 30,
                    .caps_iter = -1};
  *s = (Schedule){.tasks = tasks, .n_tasks = 2, .cap_tasks = 2, .model = "tiny",
                  .total_macs = 128};
}

/* The hand computation (pJ unless stated):
 * GEMM on 4x4 ws (refdata/scalesim/README.md): P = M = 8, K = 4, N = 4; Sr = K = 4, Sc = N = 4,
 *   T = P = 8; Fr = Fc = 1; L = 2R + C + T - 2 = 8 + 4 + 8 - 2 = 18; Total = Fr*Fc*L - 1 = 17,
 *   so 18 cycles. util = 128 / (18 * 16) = 0.4444.
 *   SRAM (section 5, ws): ifmap reads Fc*P*K = 32, filter reads K*N = 16, ofmap writes
 *   Fr*P*N = 32. DRAM (section 6): every footprint is below Q = 50*floor(1024/100) = 500, so
 *   ifmap reads 32, filter reads 16; 32 ofmap words never exceed the drain half (512) and fill
 *   whole 4-word lines, so ofmap writes 32.
 *   MAC       128 * 0.2                        =   25.6
 *   ifmap     32 reads * 1.0 + 32 fills * 1.5  =   80
 *   filter    16 reads * 2.0 + 16 fills * 3.0  =   80   (4 KiB row)
 *   ofmap     32 writes * 1.5 + 32 drains * 1.0 =  80
 *   DRAM      (32 + 16 + 32) words * 8 bit * 10 = 6400
 * Relu: ceil(30 * 1 / 4) = 8 cycles; vector 30 * 0.5 = 15; ofmap SRAM 30 * 1.0 + 30 * 1.5 = 75.
 * Cycles 18 + 8 = 26 at 100 MHz: latency 2.6e-7 s.
 * Area (mm^2): PE 16 * 300e-6 = 0.0048; SRAM 0.01 + 0.04 + 0.01; vector 4 * 1000e-6 = 0.004;
 *   total 0.0688.
 * Leakage: 2 mW/mm^2 * (0.0048 + 0.004) + (0.1 + 0.4 + 0.1) mW = 0.6176 mW;
 *   x 2.6e-7 s = 1.60576e-10 J = 160.576.
 * Energy: 25.6 + 80 + 80 + (80 + 75) + 6400 + 15 + 160.576 = 6916.176 pJ = 6.916176e-9 J.
 * Power 6.916176e-9 / 2.6e-7 = 0.026600677 W. TOPS = 2 * 128 / 2.6e-7 / 1e12 = 9.84615e-4;
 * TOPS/mm^2 = 9.84615e-4 / 0.0688; fJ/op = 6.916176e-9 * 1e15 / 256 = 27016.3125. */
static void check_tiny(bool exact) {
  Accel a = tiny_accel();
  Task tasks[2];
  Schedule s;
  tiny_schedule(&s, tasks);
  Estimate e;
  TaskCost tc[2];
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, exact, &e, tc, &d), XDL_OK);

  CU_ASSERT_EQUAL(tc[0].cycles, 18);
  CU_ASSERT_EQUAL(tc[0].stall_cycles, 0);
  CU_ASSERT_EQUAL(tc[0].dram_words, 80);
  ASSERT_CLOSE(tc[0].util, 128.0 / 288.0);
  ASSERT_CLOSE(tc[0].energy_pj[EN_MAC], 25.6);
  ASSERT_CLOSE(tc[0].energy_pj[EN_SRAM_IFMAP], 80);
  ASSERT_CLOSE(tc[0].energy_pj[EN_SRAM_FILTER], 80);
  ASSERT_CLOSE(tc[0].energy_pj[EN_SRAM_OFMAP], 80);
  ASSERT_CLOSE(tc[0].energy_pj[EN_DRAM], 6400);
  CU_ASSERT_EQUAL(tc[0].energy_pj[EN_VECTOR], 0);
  ASSERT_CLOSE(tc[0].energy_pj[EN_LEAKAGE], 0.6176e-3 * 18e-8 * 1e12);

  CU_ASSERT_EQUAL(tc[1].cycles, 8);
  CU_ASSERT_EQUAL(tc[1].dram_words, 0);
  ASSERT_CLOSE(tc[1].energy_pj[EN_VECTOR], 15);
  ASSERT_CLOSE(tc[1].energy_pj[EN_SRAM_OFMAP], 75);
  CU_ASSERT_EQUAL(tc[1].energy_pj[EN_MAC], 0);
  CU_ASSERT_EQUAL(tc[1].energy_pj[EN_DRAM], 0);

  CU_ASSERT_EQUAL(e.macs, 128);
  CU_ASSERT_EQUAL(e.vec_ops, 30);
  CU_ASSERT_EQUAL(e.cycles, 26);
  CU_ASSERT_EQUAL(e.stall_cycles, 0);
  CU_ASSERT_EQUAL(e.dram_words, 80);
  ASSERT_CLOSE(e.latency_s, 2.6e-7);
  ASSERT_CLOSE(e.energy_pj[EN_MAC], 25.6);
  ASSERT_CLOSE(e.energy_pj[EN_SRAM_IFMAP], 80);
  ASSERT_CLOSE(e.energy_pj[EN_SRAM_FILTER], 80);
  ASSERT_CLOSE(e.energy_pj[EN_SRAM_OFMAP], 155);
  ASSERT_CLOSE(e.energy_pj[EN_DRAM], 6400);
  ASSERT_CLOSE(e.energy_pj[EN_VECTOR], 15);
  ASSERT_CLOSE(e.energy_pj[EN_LEAKAGE], 160.576);
  ASSERT_CLOSE(e.energy_j, 6.916176e-9);
  ASSERT_CLOSE(e.power_w, 6.916176e-9 / 2.6e-7);
  ASSERT_CLOSE(e.power_w, e.energy_j / e.latency_s);
  ASSERT_CLOSE(e.area.pe_mm2, 0.0048);
  ASSERT_CLOSE(e.area.sram_ifmap_mm2, 0.01);
  ASSERT_CLOSE(e.area.sram_filter_mm2, 0.04);
  ASSERT_CLOSE(e.area.sram_ofmap_mm2, 0.01);
  ASSERT_CLOSE(e.area.vector_mm2, 0.004);
  ASSERT_CLOSE(e.area.total_mm2, 0.0688);
  ASSERT_CLOSE(e.area_mm2, 0.0688);
  ASSERT_CLOSE(e.tops, 256 / 2.6e-7 / 1e12);
  ASSERT_CLOSE(e.tops_per_mm2, 256 / 2.6e-7 / 1e12 / 0.0688);
  ASSERT_CLOSE(e.fj_per_op, 27016.3125);
  ASSERT_CLOSE(e.util, 128.0 / 288.0);
}

static void test_tiny_fast(void) { check_tiny(false); }
static void test_tiny_exact(void) { check_tiny(true); }

/* Variations of the tiny case, each changing one thing against the hand numbers above. */
static void test_tiny_variants(void) {
  Task tasks[2];
  Schedule s;
  tiny_schedule(&s, tasks);
  Estimate e;
  TaskCost tc[2];
  Diag d;
  diag_init(&d);

  /* The accelerator's DRAM figure overrides the technology's: 80 words * 8 bit * 2.5 pJ. */
  Accel a = tiny_accel();
  a.dram_pj_per_bit = 2.5;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, tc, &d), XDL_OK);
  ASSERT_CLOSE(e.energy_pj[EN_DRAM], 1600);

  /* Edge accumulator cells: 16-bit cells for a 32-bit accumulator = 2 per column, 8 in all;
   * area 8 * 100 um^2 = 0.0008 mm^2 joins the PE area (0.0056); energy 8 * 0.5 pJ on each of
   * the GEMM's 18 cycles = 72 joins the MAC part (25.6 + 72 = 97.6); logic leakage
   * 2 * (0.0056 + 0.004) + 0.6 = 0.6192 mW over 26 cycles of 10 ns. */
  a = tiny_accel();
  a.tech.acc_cell_bits = 16;
  a.tech.acc_cell_pj = 0.5;
  a.tech.acc_cell_area_um2 = 100;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, tc, &d), XDL_OK);
  ASSERT_CLOSE(e.area.pe_mm2, 0.0056);
  ASSERT_CLOSE(e.area_mm2, 0.0696);
  ASSERT_CLOSE(e.energy_pj[EN_MAC], 97.6);
  ASSERT_CLOSE(e.energy_pj[EN_LEAKAGE], 0.6192e-3 * 2.6e-7 * 1e12);

  /* os: Sr = P = 8, Sc = N = 4, T = K = 4; Fr = 2, Fc = 1; L = T + R + C - 2 = 10;
   * Total = 2 * 10 - 1 = 19, so 20 cycles. SRAM: ifmap Fc*P*K = 32, filter Fr*K*N = 32,
   * ofmap P*N = 32 once SCALE-Sim's F*(R+C) = 16 phantom writes are taken out; DRAM as before.
   * ifmap 32 * 1.0 + 32 * 1.5 = 80; filter 32 * 2.0 + 16 * 3.0 = 112;
   * ofmap 32 * 1.5 + 32 * 1.0 = 80. */
  a = tiny_accel();
  a.df = DF_OS;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, tc, &d), XDL_OK);
  CU_ASSERT_EQUAL(tc[0].cycles, 20);
  ASSERT_CLOSE(tc[0].energy_pj[EN_SRAM_IFMAP], 80);
  ASSERT_CLOSE(tc[0].energy_pj[EN_SRAM_FILTER], 112);
  ASSERT_CLOSE(tc[0].energy_pj[EN_SRAM_OFMAP], 80);
  ASSERT_CLOSE(tc[0].util, 128.0 / (20.0 * 16));

  /* A special-function op at 4 cycles per element on 4 lanes: ceil(30 * 4 / 4) = 30 cycles,
   * 30 * 2.0 pJ; a fractional rate rounds up: 30 * 1.1 / 4 = 8.25 → 9 cycles; 40 * 1.1 / 4 is
   * 11 exactly, not 12. */
  a = tiny_accel();
  tasks[1].vec_class = VEC_SPECIAL;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, tc, &d), XDL_OK);
  CU_ASSERT_EQUAL(tc[1].cycles, 30);
  ASSERT_CLOSE(tc[1].energy_pj[EN_VECTOR], 60);
  a.vec.cycles_per_op[VEC_SPECIAL] = 1.1;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, tc, &d), XDL_OK);
  CU_ASSERT_EQUAL(tc[1].cycles, 9);
  tasks[1].vec_ops = 40;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, tc, &d), XDL_OK);
  CU_ASSERT_EQUAL(tc[1].cycles, 11);

  /* No MACs: only the vector task; efficiency figures are 0, not NaN; per_task may be NULL. */
  a = tiny_accel();
  tiny_schedule(&s, tasks);
  s.tasks = &tasks[1];
  s.n_tasks = 1;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, NULL, &d), XDL_OK);
  CU_ASSERT_EQUAL(e.cycles, 8);
  CU_ASSERT_EQUAL(e.tops, 0);
  CU_ASSERT_EQUAL(e.fj_per_op, 0);
  CU_ASSERT_EQUAL(e.util, 0);
  CU_ASSERT(e.power_w > 0);

  /* Empty schedule: zero latency, zero energy, the area still reported. */
  s.n_tasks = 0;
  CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, NULL, &d), XDL_OK);
  CU_ASSERT_EQUAL(e.cycles, 0);
  CU_ASSERT_EQUAL(e.energy_j, 0);
  CU_ASSERT_EQUAL(e.power_w, 0);
  ASSERT_CLOSE(e.area_mm2, 0.0688);

  /* A zero clock is bad input, reported by name. */
  a.clock_mhz = 0;
  CU_ASSERT_EQUAL(cost_estimate(&s, &a, false, &e, NULL, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "tiny"));
}

static void test_part_names(void) {
  CU_ASSERT_STRING_EQUAL(cost_energy_part_name(EN_MAC), "mac");
  CU_ASSERT_STRING_EQUAL(cost_energy_part_name(EN_SRAM_IFMAP), "sram_ifmap");
  CU_ASSERT_STRING_EQUAL(cost_energy_part_name(EN_SRAM_FILTER), "sram_filter");
  CU_ASSERT_STRING_EQUAL(cost_energy_part_name(EN_SRAM_OFMAP), "sram_ofmap");
  CU_ASSERT_STRING_EQUAL(cost_energy_part_name(EN_DRAM), "dram");
  CU_ASSERT_STRING_EQUAL(cost_energy_part_name(EN_VECTOR), "vector");
  CU_ASSERT_STRING_EQUAL(cost_energy_part_name(EN_LEAKAGE), "leakage");
}

/* x[1,2,6,6] → Conv(w[4,2,3,3]) → y[1,4,4,4] → Relu → r → Reshape([1,64]) → f[1,64] →
 * Gemm(b[64,10]) → z[1,10]. Returns NULL (with d set) on failure. */
static Graph *small_graph(Diag *d) {
  Graph *g = ir_graph_new();
  if (!g) return NULL;
  const int64_t xd[4] = {1, 2, 6, 6}, wd[4] = {4, 2, 3, 3}, sd[1] = {2}, bd[2] = {64, 10};
  const int64_t shape[2] = {1, 64};
  uint32_t x = ir_add_tensor(g, "x", DT_FLOAT, ROLE_INPUT, 4, xd, d);
  uint32_t w = ir_add_tensor(g, "w", DT_FLOAT, ROLE_WEIGHT, 4, wd, d);
  uint32_t y = ir_add_tensor(g, "y", DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
  uint32_t r = ir_add_tensor(g, "r", DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
  uint32_t sh = ir_add_tensor(g, "shape", DT_INT64, ROLE_CONST, 1, sd, d);
  uint32_t f = ir_add_tensor(g, "f", DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
  uint32_t b = ir_add_tensor(g, "b", DT_FLOAT, ROLE_WEIGHT, 2, bd, d);
  uint32_t z = ir_add_tensor(g, "z", DT_FLOAT, ROLE_ACTIVATION, -1, NULL, d);
  if (!diag_ok(d) || !ir_set_ivals(g, sh, shape, 2) || !ir_graph_add_input(g, x)) goto fail;
  const uint32_t conv_in[2] = {x, w}, resh_in[2] = {r, sh}, gemm_in[2] = {f, b};
  if (ir_add_node(g, OP_CONV, "conv", conv_in, 2, &y, 1, d) == IR_NONE ||
      ir_add_node(g, OP_RELU, "relu", &y, 1, &r, 1, d) == IR_NONE ||
      ir_add_node(g, OP_RESHAPE, "reshape", resh_in, 2, &f, 1, d) == IR_NONE ||
      ir_add_node(g, OP_GEMM, "fc", gemm_in, 2, &z, 1, d) == IR_NONE ||
      !ir_graph_add_output(g, z))
    goto fail;
  if (ir_infer_shapes(g, d) != XDL_OK) goto fail;
  return g;
fail:
  if (diag_ok(d)) diag_error(d, XDL_ERR_INTERNAL, "out of memory");
  ir_graph_free(g);
  return NULL;
}

static void test_schedule_small(void) {
  Diag d;
  diag_init(&d);
  Graph *g = small_graph(&d);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Schedule s;
  memset(&s, 0, sizeof s);
  CU_ASSERT_EQUAL_FATAL(schedule_build(g, &s, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(s.n_tasks, 3); /* the Reshape is a view: no task */
  const Task *t = s.tasks;
  /* Conv: im2col M = 1*4*4 = 16 output pixels, N = 4 filters, K = 2*3*3 = 18. */
  CU_ASSERT_STRING_EQUAL(t[0].name, "conv");
  CU_ASSERT_EQUAL(t[0].unit, UNIT_ARRAY);
  CU_ASSERT_EQUAL(t[0].op, OP_CONV);
  CU_ASSERT_EQUAL(t[0].gemm.g, 1);
  CU_ASSERT_EQUAL(t[0].gemm.m, 16);
  CU_ASSERT_EQUAL(t[0].gemm.n, 4);
  CU_ASSERT_EQUAL(t[0].gemm.k, 18);
  CU_ASSERT_EQUAL(t[0].macs, 16 * 4 * 18);
  CU_ASSERT_EQUAL(t[0].in_elems, 72 + 72); /* x and w */
  CU_ASSERT_EQUAL(t[0].out_elems, 64);
  CU_ASSERT_EQUAL(t[0].phase, PHASE_FORWARD);
  /* Relu: 64 elementwise ops on the vector unit. */
  CU_ASSERT_STRING_EQUAL(t[1].name, "relu");
  CU_ASSERT_EQUAL(t[1].unit, UNIT_VECTOR);
  CU_ASSERT_EQUAL(t[1].vec_class, VEC_ELEMWISE);
  CU_ASSERT_EQUAL(t[1].vec_ops, 64);
  CU_ASSERT_EQUAL(t[1].in_elems, 64);
  CU_ASSERT_EQUAL(t[1].out_elems, 64);
  CU_ASSERT_EQUAL(t[1].macs, 0);
  /* Gemm: M = 1, N = 10, K = 64. */
  CU_ASSERT_STRING_EQUAL(t[2].name, "fc");
  CU_ASSERT_EQUAL(t[2].unit, UNIT_ARRAY);
  CU_ASSERT_EQUAL(t[2].gemm.g, 1);
  CU_ASSERT_EQUAL(t[2].gemm.m, 1);
  CU_ASSERT_EQUAL(t[2].gemm.n, 10);
  CU_ASSERT_EQUAL(t[2].gemm.k, 64);
  CU_ASSERT_EQUAL(t[2].macs, 640);
  CU_ASSERT_EQUAL(s.total_macs, 1152 + 640);

  /* The schedule costs on the tiny accelerator; MACs carry through. */
  Accel a = tiny_accel();
  Estimate e;
  CU_ASSERT_EQUAL(cost_estimate(&s, &a, false, &e, NULL, &d), XDL_OK);
  CU_ASSERT_EQUAL(e.macs, 1792);
  CU_ASSERT_EQUAL(e.vec_ops, 64);
  schedule_free(&s);
  CU_ASSERT_PTR_NULL(s.tasks);
  CU_ASSERT_EQUAL(s.n_tasks, 0);

  /* Every allocation the scheduler makes can fail cleanly. */
  for (uint64_t n = 1; n < 8; n++) {
    Diag d2;
    diag_init(&d2);
    memset(&s, 0, sizeof s);
    xdl_alloc_fail_after(n);
    XdlStatus st = schedule_build(g, &s, &d2);
    xdl_alloc_fail_after(0);
    CU_ASSERT(st == XDL_OK || st == XDL_ERR_INTERNAL);
    schedule_free(&s);
  }

  /* An unknown shape is bad input naming the node. */
  g->tensors[ir_find_tensor(g, "r")].rank = -1;
  diag_init(&d);
  memset(&s, 0, sizeof s);
  CU_ASSERT_EQUAL(schedule_build(g, &s, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "'relu'"));
  schedule_free(&s);
  ir_graph_free(g);
}

/* Whole-model invariants: AlexNet (5 Conv + 3 Gemm on the array) on a preset. */
static void test_alexnet_preset(void) {
  char *path = tu_refdata("onnx/alexnet.nodata.onnx");
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, NULL, &d);
  free(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Schedule s;
  memset(&s, 0, sizeof s);
  CU_ASSERT_EQUAL_FATAL(schedule_build(g, &s, &d), XDL_OK);
  CU_ASSERT_EQUAL(s.total_macs, 714188480);
  int n_array = 0;
  for (uint32_t i = 0; i < s.n_tasks; i++) n_array += s.tasks[i].unit == UNIT_ARRAY;
  CU_ASSERT_EQUAL(n_array, 8);

  int n_presets = 0;
  const char *const *names = arch_preset_names(&n_presets);
  CU_ASSERT_FATAL(n_presets > 0);
  for (int p = 0; p < n_presets; p++) {
    Accel a;
    CU_ASSERT_FATAL(arch_preset(names[p], &a));
    TaskCost *tc = calloc(s.n_tasks, sizeof *tc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tc);
    Estimate e;
    CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, tc, &d), XDL_OK);
    CU_ASSERT_EQUAL(e.macs, 714188480);
    int64_t cycles = 0;
    double parts = 0, task_energy = 0;
    for (int k = 0; k < EN_N; k++) {
      CU_ASSERT(e.energy_pj[k] >= 0);
      parts += e.energy_pj[k];
    }
    for (uint32_t i = 0; i < s.n_tasks; i++) {
      cycles += tc[i].cycles;
      for (int k = 0; k < EN_N; k++) task_energy += tc[i].energy_pj[k];
      CU_ASSERT(tc[i].util >= 0 && tc[i].util <= 1);
    }
    CU_ASSERT_EQUAL(e.cycles, cycles);
    ASSERT_CLOSE(e.energy_j, parts * 1e-12);
    CU_ASSERT(fabs(task_energy * 1e-12 - e.energy_j) <= 1e-9 * e.energy_j);
    CU_ASSERT(e.energy_pj[EN_MAC] > 0 && e.energy_pj[EN_DRAM] > 0 && e.energy_pj[EN_VECTOR] > 0);
    ASSERT_CLOSE(e.latency_s, (double)e.cycles / (a.clock_mhz * 1e6));
    ASSERT_CLOSE(e.power_w, e.energy_j / e.latency_s);
    ASSERT_CLOSE(e.tops, 2.0 * 714188480 / e.latency_s / 1e12);
    ASSERT_CLOSE(e.tops_per_mm2, e.tops / e.area_mm2);
    ASSERT_CLOSE(e.fj_per_op, e.energy_j * 1e15 / (2.0 * 714188480));
    AreaBreakdown ar = cost_area(&a);
    ASSERT_CLOSE(e.area_mm2, ar.pe_mm2 + ar.sram_ifmap_mm2 + ar.sram_filter_mm2 +
                                 ar.sram_ofmap_mm2 + ar.vector_mm2);
    CU_ASSERT(e.util > 0 && e.util <= 1);
    free(tc);
  }
  schedule_free(&s);
  ir_graph_free(g);
}

/* Per-phase totals add up to the whole: AlexNet's tasks spread over the five phases of a
 * training step by hand (the cost model reads only Task.phase), on every preset. Cycles and
 * MACs add up exactly; energy (leakage per phase from the phase's cycles) to rounding. */
static void test_phase_totals(void) {
  char *path = tu_refdata("onnx/alexnet.nodata.onnx");
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, NULL, &d);
  free(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Schedule s;
  memset(&s, 0, sizeof s);
  CU_ASSERT_EQUAL_FATAL(schedule_build(g, &s, &d), XDL_OK);
  int n_presets = 0;
  const char *const *names = arch_preset_names(&n_presets);
  for (int round = 0; round < 2; round++) {
    /* Round 0: the inference schedule, all forward. Round 1: phases spread by task. */
    for (uint32_t i = 0; round == 1 && i < s.n_tasks; i++)
      s.tasks[i].phase = (Phase)(i % N_PHASES);
    for (int p = 0; p < n_presets; p++) {
      Accel a;
      CU_ASSERT_FATAL(arch_preset(names[p], &a));
      TaskCost *tc = calloc(s.n_tasks, sizeof *tc);
      CU_ASSERT_PTR_NOT_NULL_FATAL(tc);
      Estimate e;
      CU_ASSERT_EQUAL_FATAL(cost_estimate(&s, &a, false, &e, tc, &d), XDL_OK);
      int64_t cycles = 0, macs = 0, want_cycles[N_PHASES] = {0};
      double energy = 0;
      for (uint32_t i = 0; i < s.n_tasks; i++) want_cycles[s.tasks[i].phase] += tc[i].cycles;
      for (int ph = 0; ph < N_PHASES; ph++) {
        cycles += e.phase_cycles[ph];
        macs += e.phase_macs[ph];
        energy += e.phase_energy_pj[ph];
        CU_ASSERT_EQUAL(e.phase_cycles[ph], want_cycles[ph]);
        CU_ASSERT(e.phase_energy_pj[ph] >= 0);
        if (round == 0 && ph != PHASE_FORWARD)
          CU_ASSERT(e.phase_cycles[ph] == 0 && e.phase_macs[ph] == 0 &&
                    e.phase_energy_pj[ph] == 0);
        if (round == 1) CU_ASSERT(e.phase_cycles[ph] > 0);
      }
      CU_ASSERT_EQUAL(cycles, e.cycles);
      CU_ASSERT_EQUAL(macs, e.macs);
      CU_ASSERT(fabs(energy * 1e-12 - e.energy_j) <= 1e-9 * e.energy_j);
      CU_ASSERT_EQUAL(e.memory_bytes, 0);
      free(tc);
    }
  }
  /* A phase outside the enum is an internal error naming the task. */
  s.tasks[0].phase = (Phase)N_PHASES;
  Accel a;
  CU_ASSERT_FATAL(arch_preset(names[0], &a));
  Estimate e;
  diag_init(&d);
  CU_ASSERT_EQUAL(cost_estimate(&s, &a, false, &e, NULL, &d), XDL_ERR_INTERNAL);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, s.tasks[0].name));
  schedule_free(&s);
  ir_graph_free(g);
}

int main(void) {
  CU_TestInfo tests[] = {
      {"hand-computed tiny case, fast path", test_tiny_fast},
      {"hand-computed tiny case, exact path", test_tiny_exact},
      {"variants of the tiny case", test_tiny_variants},
      {"energy part names", test_part_names},
      {"schedule of conv-relu-reshape-gemm", test_schedule_small},
      {"alexnet on every preset: invariants", test_alexnet_preset},
      {"per-phase totals add up to the whole", test_phase_totals},
      CU_TEST_INFO_NULL,
  };
  return tu_run_suite("cost", tests);
}
