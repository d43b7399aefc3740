/* cost.c — whole-network latency, energy, power and area of a Schedule on one Accel. GEMM
 * tasks go through the systolic-array model (SCALE-Sim semantics), vector tasks through the
 * vector unit's per-class throughput; energy and area come from the Accel's technology. Tasks
 * run one after another (no overlap between the PE array and the vector unit). */
#include <math.h>
#include <string.h>

#include "backend/backend.h"

static const char *const energy_part_names[EN_N] = {
    [EN_MAC] = "mac",       [EN_SRAM_IFMAP] = "sram_ifmap", [EN_SRAM_FILTER] = "sram_filter",
    [EN_SRAM_OFMAP] = "sram_ofmap", [EN_DRAM] = "dram", [EN_VECTOR] = "vector",
    [EN_LEAKAGE] = "leakage",
};

const char *cost_energy_part_name(EnergyPart p) {
  return (unsigned)p < EN_N ? energy_part_names[p] : "unknown";
}

const char *cost_role_name(CapsRole r) {
  return r == CAPS_NONE ? "untagged" : ir_caps_role_name(r);
}

bool cost_role_parse(const char *name, CapsRole *out, bool *all_routing) {
  *all_routing = strcmp(name, "routing") == 0;
  if (*all_routing) {
    *out = CAPS_ROUTING_SOFTMAX;
    return true;
  }
  for (int r = 0; r < N_CAPS_ROLES; r++)
    if (strcmp(name, cost_role_name((CapsRole)r)) == 0) {
      *out = (CapsRole)r;
      return true;
    }
  return false;
}

bool cost_role_is_routing(CapsRole r) {
  return r == CAPS_ROUTING_SOFTMAX || r == CAPS_ROUTING_SUM || r == CAPS_ROUTING_SQUASH ||
         r == CAPS_ROUTING_AGREE;
}

/* Accumulator memory cells at the array's edge, in units of the technology's cell: one per
 * column, scaled linearly from the cell's width to the accelerator's accumulator width. 0 when
 * the technology does not model them (its PE figures then include the accumulator). */
static double acc_cells(const Accel *a) {
  const Tech *t = &a->tech;
  if (t->acc_cell_bits <= 0) return 0;
  double width = a->acc_bits > 0 ? (double)a->acc_bits / t->acc_cell_bits : 1.0;
  return (double)a->cols * width;
}

/* Area = PEs * A_pe(mac_bits) (+ the edge accumulator cells, counted in pe_mm2) + one SRAM
 * macro per operand + lanes * A_lane. The technology gives PE, accumulator-cell and lane areas
 * in um^2 (x 1e-6 = mm^2) and SRAM areas in mm^2. */
AreaBreakdown cost_area(const Accel *a) {
  const Tech *t = &a->tech;
  AreaBreakdown ar;
  memset(&ar, 0, sizeof ar);
  ar.pe_mm2 = ((double)a->rows * (double)a->cols * tech_pe_area_um2(t, a->mac_bits) +
               acc_cells(a) * t->acc_cell_area_um2) * 1e-6;
  ar.sram_ifmap_mm2 = tech_sram_area_mm2(t, a->ifmap_sram_kib);
  ar.sram_filter_mm2 = tech_sram_area_mm2(t, a->filter_sram_kib);
  ar.sram_ofmap_mm2 = tech_sram_area_mm2(t, a->ofmap_sram_kib);
  ar.vector_mm2 = (double)a->vec.lanes * t->vec_lane_area_um2 * 1e-6;
  ar.total_mm2 = ar.pe_mm2 + ar.sram_ifmap_mm2 + ar.sram_filter_mm2 + ar.sram_ofmap_mm2 +
                 ar.vector_mm2;
  return ar;
}

/* Per-accelerator figures every task uses, looked up once per cost_estimate call. */
typedef struct CostCtx {
  const Accel *a;
  SystolicConfig cfg;
  double mac_pj;                      /* one MAC at mac_bits */
  double acc_pj_per_cycle;            /* every edge accumulator cell, one array cycle */
  double read_pj[SYS_N_OPERANDS];     /* one word_bits access of that operand's SRAM */
  double write_pj[SYS_N_OPERANDS];
  double dram_pj_per_word;            /* word_bits x pJ/bit */
  double leakage_mw;                  /* logic leakage + every SRAM macro's leakage */
  double clock_hz;
} CostCtx;

static void ctx_init(CostCtx *c, const Accel *a) {
  const Tech *t = &a->tech;
  c->a = a;
  c->cfg = arch_systolic_config(a);
  c->mac_pj = tech_mac_pj(t, a->mac_bits);
  c->acc_pj_per_cycle = acc_cells(a) * t->acc_cell_pj;
  const double kib[SYS_N_OPERANDS] = {a->ifmap_sram_kib, a->filter_sram_kib, a->ofmap_sram_kib};
  double sram_leak_mw = 0;
  for (int o = 0; o < SYS_N_OPERANDS; o++) {
    c->read_pj[o] = tech_sram_read_pj(t, kib[o], a->word_bits);
    c->write_pj[o] = tech_sram_write_pj(t, kib[o], a->word_bits);
    sram_leak_mw += tech_sram_leakage_mw(t, kib[o]);
  }
  double pj_per_bit = a->dram_pj_per_bit >= 0 ? a->dram_pj_per_bit : t->dram_pj_per_bit;
  c->dram_pj_per_word = (double)a->word_bits * pj_per_bit;
  AreaBreakdown ar = cost_area(a);
  c->leakage_mw = t->leakage_mw_per_mm2 * (ar.pe_mm2 + ar.vector_mm2) + sram_leak_mw;
  c->clock_hz = a->clock_mhz * 1e6;
}

/* Leakage energy (pJ) over `cycles`: mW x s = 1e-3 J, and 1 J = 1e12 pJ. */
static double leakage_pj(const CostCtx *c, int64_t cycles) {
  return c->leakage_mw * 1e-3 * ((double)cycles / c->clock_hz) * 1e12;
}

/* A GEMM task on the PE array. Modelling choices:
 * - cycles = SCALE-Sim's Total Cycles + 1: the report gives the index (from 0) of the last
 *   cycle, the task occupies one more cycle than that;
 * - utilization = MACs / (cycles x rows x cols), over the same cycles (SCALE-Sim's Overall Util
 *   divides by the index instead, and is undefined for a one-cycle task);
 * - SRAM energy per operand: the ifmap and filter SRAMs are read by the array (SCALE-Sim's SRAM
 *   reads) and written once per word fetched from DRAM (fill); the ofmap SRAM is written by the
 *   array (SCALE-Sim's SRAM writes) and read once per word drained to DRAM;
 * - SCALE-Sim's os ofmap SRAM writes include F*(R+C) phantom words per copy (a counting slip,
 *   refdata/scalesim/README.md section 5, "not simulated traffic"); they are taken out here;
 * - DRAM energy: every word moved (ifmap and filter reads, ofmap writes) x word_bits x pJ/bit;
 * - edge accumulator cells (where the technology models them) are active on every cycle of
 *   the task, stalls included; their energy is counted in the MAC part (the datapath);
 * - a GEMM with an empty dimension does no work and costs nothing. */
bool cost_task_layer(const Task *t, SysLayer *out) {
  const GemmView *v = &t->gemm;
  if (t->unit != UNIT_ARRAY || v->g <= 0 || v->m <= 0 || v->n <= 0 || v->k <= 0) return false;
  if (t->conv.kernel_h > 0) /* a 2-D conv: SCALE-Sim's conv-layer addresses, once per group */
    *out = (SysLayer){t->conv.in_h,     t->conv.in_w,    t->conv.kernel_h, t->conv.kernel_w,
                      t->conv.channels, t->conv.filters, t->conv.stride_h, t->conv.stride_w,
                      v->g};
  else
    *out = systolic_layer_from_gemm(v->g, v->m, v->n, v->k);
  return true;
}

static void cost_array_task(const CostCtx *c, const Task *t, const SystolicResult *r,
                            TaskCost *tc) {
  tc->cycles = r->total_cycles + 1;
  tc->stall_cycles = r->stall_cycles;
  double pes = (double)c->cfg.rows * (double)c->cfg.cols;
  tc->util = (double)t->macs / ((double)tc->cycles * pes);

  int64_t ofmap_writes = r->sram_words[SYS_OFMAP];
  if (c->cfg.df == DF_OS) {
    int64_t phantom = t->gemm.g * r->row_folds * r->col_folds * (c->cfg.rows + c->cfg.cols);
    ofmap_writes = ofmap_writes > phantom ? ofmap_writes - phantom : 0;
  }
  tc->energy_pj[EN_MAC] = (double)t->macs * c->mac_pj + (double)tc->cycles * c->acc_pj_per_cycle;
  tc->energy_pj[EN_SRAM_IFMAP] = (double)r->sram_words[SYS_IFMAP] * c->read_pj[SYS_IFMAP] +
                                 (double)r->dram_words[SYS_IFMAP] * c->write_pj[SYS_IFMAP];
  tc->energy_pj[EN_SRAM_FILTER] = (double)r->sram_words[SYS_FILTER] * c->read_pj[SYS_FILTER] +
                                  (double)r->dram_words[SYS_FILTER] * c->write_pj[SYS_FILTER];
  tc->energy_pj[EN_SRAM_OFMAP] = (double)ofmap_writes * c->write_pj[SYS_OFMAP] +
                                 (double)r->dram_words[SYS_OFMAP] * c->read_pj[SYS_OFMAP];
  tc->dram_words =
      r->dram_words[SYS_IFMAP] + r->dram_words[SYS_FILTER] + r->dram_words[SYS_OFMAP];
  tc->energy_pj[EN_DRAM] = (double)tc->dram_words * c->dram_pj_per_word;
}

/* A task on the vector unit. cycles = ceil(ops x cycles_per_op[class] / lanes) (a relative
 * 1e-12 slack keeps products such as 10 x 1.1 from rounding up a whole cycle). Its operands are
 * assumed to stay on chip: in_elems reads and out_elems writes of one word each, charged at the
 * ofmap SRAM's energy (the buffer activations live in), and no DRAM traffic. */
static XdlStatus cost_vector_task(const CostCtx *c, const Task *t, TaskCost *tc, Diag *d) {
  const VectorUnit *vu = &c->a->vec;
  int cls = (int)t->vec_class;
  if (cls < 0 || cls >= N_VEC_CLASSES)
    return diag_error(d, XDL_ERR_INTERNAL, "task '%s': bad vector class %d", t->name, cls);
  if (vu->lanes <= 0)
    return diag_error(d, XDL_ERR_INPUT, "accelerator '%s': vector unit has no lanes",
                      c->a->name);
  double x = (double)t->vec_ops * vu->cycles_per_op[cls] / (double)vu->lanes;
  double cyc = ceil(x * (1 - 1e-12));
  if (!(cyc >= 0 && cyc < 9.0e18))
    return diag_error(d, XDL_ERR_INPUT, "task '%s': vector cycle count out of range", t->name);
  tc->cycles = (int64_t)cyc;
  tc->energy_pj[EN_VECTOR] = (double)t->vec_ops * c->a->tech.vec_pj[cls];
  tc->energy_pj[EN_SRAM_OFMAP] = (double)t->in_elems * c->read_pj[SYS_OFMAP] +
                                 (double)t->out_elems * c->write_pj[SYS_OFMAP];
  return XDL_OK;
}

/* Contract: s was built by schedule_build; a passes arch_check; results[task_result[i]] is
 * array task i's systolic result on arch_systolic_config(a) (task_result[i] < 0: no array
 * work). Fills *out (and per_task[i] for each task when per_task is not NULL). Tasks run back
 * to back, so cycles add up; leakage burns for the whole latency. Per-phase totals group the
 * tasks by Task.phase (a phase's leakage from its own cycles), per-role ones by
 * Task.caps_role and per-iteration ones the routing tasks by Task.caps_iter, alike. Figures
 * that would divide by zero (power, TOPS, TOPS/mm^2 with zero latency; fJ/op and utilization
 * with zero MACs; TOPS/mm^2 with zero area) are reported as 0. Errors: XDL_ERR_INPUT for an
 * unusable accelerator or a task the systolic model rejects, XDL_ERR_INTERNAL from its exact
 * path's allocations or a task phase or capsule role outside its enum. */
XdlStatus cost_estimate_shared(const Schedule *s, const Accel *a, const SystolicResult *results,
                               const int32_t *task_result, Estimate *out, TaskCost *per_task,
                               Diag *d) {
  memset(out, 0, sizeof *out);
  if (!(a->clock_mhz > 0) || a->rows <= 0 || a->cols <= 0 || a->word_bits <= 0)
    return diag_error(d, XDL_ERR_INPUT,
                      "accelerator '%s': clock, array size and word size must be positive",
                      a->name);
  CostCtx c;
  ctx_init(&c, a);
  out->area = cost_area(a);
  out->area_mm2 = out->area.total_mm2;
  double util_macs = 0; /* sum of util x MACs over array tasks */
  for (uint32_t i = 0; i < s->n_tasks; i++) {
    const Task *t = &s->tasks[i];
    TaskCost tc;
    memset(&tc, 0, sizeof tc);
    if (t->unit == UNIT_ARRAY) {
      if (task_result[i] >= 0) cost_array_task(&c, t, &results[task_result[i]], &tc);
    } else {
      XdlStatus st = cost_vector_task(&c, t, &tc, d);
      if (st != XDL_OK) return st;
    }
    tc.energy_pj[EN_LEAKAGE] = leakage_pj(&c, tc.cycles);
    if (!ir_add_ok(out->cycles, tc.cycles, &out->cycles) ||
        !ir_add_ok(out->macs, t->macs, &out->macs) ||
        !ir_add_ok(out->vec_ops, t->vec_ops, &out->vec_ops) ||
        !ir_add_ok(out->dram_words, tc.dram_words, &out->dram_words))
      return diag_error(d, XDL_ERR_INPUT, "task '%s': total cycle or operation count overflows",
                        t->name);
    out->stall_cycles += tc.stall_cycles;
    unsigned ph = (unsigned)t->phase;
    if (ph >= N_PHASES)
      return diag_error(d, XDL_ERR_INTERNAL, "task '%s': bad phase %u", t->name, ph);
    double task_pj = 0; /* leakage apart: added per phase from the phase's cycles below */
    for (int p = 0; p < EN_LEAKAGE; p++) {
      out->energy_pj[p] += tc.energy_pj[p];
      task_pj += tc.energy_pj[p];
    }
    out->phase_cycles[ph] += tc.cycles; /* no overflow: at most the checked total */
    out->phase_macs[ph] += t->macs;
    out->phase_energy_pj[ph] += task_pj;
    unsigned role = (unsigned)t->caps_role;
    if (role >= N_CAPS_ROLES)
      return diag_error(d, XDL_ERR_INTERNAL, "task '%s': bad capsule role %u", t->name, role);
    out->role_cycles[role] += tc.cycles;
    out->role_macs[role] += t->macs;
    out->role_energy_pj[role] += task_pj;
    if (cost_role_is_routing(t->caps_role) && t->caps_iter >= 0) {
      int k = t->caps_iter < CAPS_MAX_ITERS ? t->caps_iter : CAPS_MAX_ITERS - 1;
      out->iter_cycles[k] += tc.cycles;
      out->iter_energy_pj[k] += task_pj;
      if (k + 1 > out->n_iters) out->n_iters = k + 1;
    }
    util_macs += tc.util * (double)t->macs;
    if (per_task) per_task[i] = tc;
  }
  out->latency_s = (double)out->cycles / c.clock_hz;
  /* Total leakage from the total latency, so it is exactly leakage power x latency (the
   * per-task figures add up to it up to rounding). */
  out->energy_pj[EN_LEAKAGE] = leakage_pj(&c, out->cycles);
  for (int ph = 0; ph < N_PHASES; ph++)
    out->phase_energy_pj[ph] += leakage_pj(&c, out->phase_cycles[ph]);
  for (int r = 0; r < N_CAPS_ROLES; r++)
    out->role_energy_pj[r] += leakage_pj(&c, out->role_cycles[r]);
  for (int k = 0; k < out->n_iters; k++)
    out->iter_energy_pj[k] += leakage_pj(&c, out->iter_cycles[k]);
  double energy_pj = 0;
  for (int p = 0; p < EN_N; p++) energy_pj += out->energy_pj[p];
  out->energy_j = energy_pj * 1e-12;
  double ops = 2.0 * (double)out->macs;
  if (out->latency_s > 0) {
    out->power_w = out->energy_j / out->latency_s;
    out->tops = ops / out->latency_s / 1e12;
  }
  if (out->area_mm2 > 0) out->tops_per_mm2 = out->tops / out->area_mm2;
  if (out->macs > 0) {
    out->fj_per_op = out->energy_j * 1e15 / ops;
    out->util = util_macs / (double)out->macs;
  }
  return XDL_OK;
}

XdlStatus cost_estimate(const Schedule *s, const Accel *a, bool exact, Estimate *out,
                        TaskCost *per_task, Diag *d) {
  memset(out, 0, sizeof *out);
  size_t n = s->n_tasks ? s->n_tasks : 1;
  SystolicResult *results = xdl_malloc(n * sizeof *results);
  int32_t *task_result = xdl_malloc(n * sizeof *task_result);
  XdlStatus st = XDL_OK;
  if (!results || !task_result) {
    st = diag_error(d, XDL_ERR_INTERNAL, "out of memory costing '%s'", s->model);
    goto done;
  }
  SystolicConfig cfg = arch_systolic_config(a);
  for (uint32_t i = 0; i < s->n_tasks; i++) {
    SysLayer layer;
    task_result[i] = -1;
    if (!cost_task_layer(&s->tasks[i], &layer)) continue;
    st = exact ? systolic_eval_exact(&cfg, &layer, &results[i], d)
               : systolic_eval_fast(&cfg, &layer, &results[i], d);
    if (st != XDL_OK) goto done;
    task_result[i] = (int32_t)i;
  }
  st = cost_estimate_shared(s, a, results, task_result, out, per_task, d);
done:
  xdl_free(results);
  xdl_free(task_result);
  return st;
}
