/* cmd_estimate.c — `xploredl estimate MODEL.onnx --arch ARCH`: import a model, schedule it onto
 * one accelerator (an XML description or a built-in preset) and print per-layer and total
 * latency, energy (by part, by phase of a training step, by capsule role), power, area (by part)
 * and efficiency, as a table or as JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "tools/commands.h"

static void estimate_usage(FILE *out) {
  int n = 0;
  const char *const *presets = arch_preset_names(&n);
  fprintf(out,
          "usage: %s estimate MODEL.onnx --arch ARCH.xml|PRESET [--batch N]\n"
          "                          [--dim NAME=VALUE]... [--json] [--exact]\n"
          "                          [--train [--loss KIND] [--optimizer KIND]]\n"
          "                          [--routing-iterations N] [--role ROLE]\n"
          "\n"
          "Imports an ONNX model, maps every GEMM-like node (Conv, Gemm, MatMul, ...) onto the\n"
          "PE array and every other compute node onto the vector unit (layout ops are free),\n"
          "and prints one row per task (name, unit, cycles, latency, energy, PE utilization),\n"
          "then totals: cycles, latency, energy by part (MAC, SRAM per operand, DRAM, vector\n"
          "unit, leakage), average power, area by part, TOPS, TOPS/mm^2, fJ/op (op = 2 x MAC)\n"
          "and MAC-weighted utilization. Tasks run one after another. For a capsule network\n"
          "also cycles, latency, energy and MACs by capsule role (primary, votes,\n"
          "routing.softmax|sum|squash|agree, class, decoder, untagged) and by routing\n"
          "iteration. Then the model's memory footprint: weights, optimizer state and\n"
          "constants, plus the saved activations, gradients and other activations live at the\n"
          "peak step of the node order.\n"
          "\n"
          "  --arch ARCH         accelerator: an XML file (models/accel/*.xml) or a preset:\n"
          "                     ",
          xdl_prog);
  for (int i = 0; i < n; i++) fprintf(out, " %s", presets[i]);
  fprintf(out,
          "\n"
          "  --batch N           bind the leading symbolic dim of every input (default 1)\n"
          "  --dim NAME=VALUE    bind the symbolic dim NAME (repeatable)\n"
          "  --train             cost the whole training step: forward, loss, backward (data\n"
          "                      and weight gradients, on the same array model) and the\n"
          "                      optimizer update, with totals by phase\n"
          "  --loss KIND         auto (default), softmax_ce, margin or mse\n"
          "  --optimizer KIND    sgd (default), momentum or adam\n"
          "  --detach-routing    capsules: no gradient through routing iterations before the\n"
          "                      last\n"
          "  --routing-iterations N  capsules: set the routing iterations (1..16) of every\n"
          "                      compact ClassCaps / 3-D ConvCaps (an error without one)\n"
          "  --role ROLE         list only the tasks of one capsule role: untagged, primary,\n"
          "                      votes, routing (all four), routing.softmax, routing.sum,\n"
          "                      routing.squash, routing.agree, class, decoder (totals stay\n"
          "                      the whole network's)\n"
          "  --exact             cost GEMMs with the systolic model's exact replay (slower)\n"
          "                      instead of its closed form\n"
          "  --json              print one JSON object instead of the table:\n"
          "                      {model, accel:{...}, exact, layers:[{name, op, unit, phase,\n"
          "                       capsule_role, routing_iteration (routing roles only),\n"
          "                       cycles, stall_cycles, latency_s, energy_pj, util, macs,\n"
          "                       vec_ops, dram_words, gemm:{g,m,n,k}|null}], totals:{macs,\n"
          "                       vec_ops, cycles, stall_cycles, latency_s, energy_j,\n"
          "                       energy_pj:{mac, sram_ifmap, ...}, power_w, area_mm2:{pe,\n"
          "                       sram_ifmap, sram_filter, sram_ofmap, vector, total}, tops,\n"
          "                       tops_per_mm2, fj_per_op, util, dram_words, phases:{forward:\n"
          "                       {cycles, latency_s, energy_j, macs}, loss, backward_data,\n"
          "                       backward_weight, update}, capsule_roles:{untagged:{cycles,\n"
          "                       latency_s, energy_j, macs}, primary, votes, ...,\n"
          "                       decoder}, routing_by_iteration:[{iteration, cycles,\n"
          "                       latency_s, energy_j}]}, train, memory:{total_bytes,\n"
          "                       peak_node, weights_bytes, opt_state_bytes, const_bytes,\n"
          "                       saved_bytes, gradients_bytes, activations_bytes, at_peak:\n"
          "                       {saved_bytes, gradients_bytes, activations_bytes}}}\n"
          "  -h, --help          show this help\n");
}

/* Resolves --arch: an existing file is read as XML, otherwise a preset name; a name that is
 * neither is reported (one line) with exit code 2. */
static int load_arch(const char *arch, Accel *a) {
  struct stat sb;
  Diag d;
  diag_init(&d);
  if (stat(arch, &sb) == 0 || strchr(arch, '/') || strstr(arch, ".xml")) {
    if (arch_load_xml(arch, a, &d) == XDL_OK) return 0;
    fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
    return args_exit_code(d.status == XDL_OK ? XDL_ERR_INTERNAL : d.status);
  }
  if (arch_preset(arch, a)) return 0;
  int n = 0;
  const char *const *presets = arch_preset_names(&n);
  fprintf(stderr, "%s estimate: --arch '%s' is neither a file nor a preset (presets:", xdl_prog,
          arch);
  for (int i = 0; i < n; i++) fprintf(stderr, " %s", presets[i]);
  fprintf(stderr, ")\n");
  return 2;
}

static const char *unit_name(TaskUnit u) { return u == UNIT_ARRAY ? "array" : "vector"; }

static double sum_energy_pj(const double *parts) {
  double e = 0;
  for (int p = 0; p < EN_N; p++) e += parts[p];
  return e;
}

/* The per-phase totals of a training step: cycles, latency, energy, MACs and shares. */
static void print_phases(FILE *out, const Estimate *e, double clock_hz) {
  fprintf(out, "\nby phase of the training step\n");
  fprintf(out, "  %-16s %14s %12s %12s %16s %7s %7s\n", "phase", "cycles", "latency_ms",
          "energy_mJ", "MACs", "time%", "energy%");
  double e_pj = e->energy_j * 1e12;
  for (int p = 0; p < N_PHASES; p++) {
    double cyc = (double)e->phase_cycles[p];
    fprintf(out, "  %-16s %14" PRId64 " %12.6g %12.6g %16" PRId64 " %7.1f %7.1f\n",
            ir_phase_name((Phase)p), e->phase_cycles[p], cyc / clock_hz * 1e3,
            e->phase_energy_pj[p] * 1e-9, e->phase_macs[p],
            e->cycles ? 100.0 * cyc / (double)e->cycles : 0.0,
            e_pj > 0 ? 100 * e->phase_energy_pj[p] / e_pj : 0.0);
  }
}

/* Which tasks the listing shows: all, or those of one capsule role (or all four routing
 * roles). */
typedef struct RoleFilter {
  bool on, all_routing;
  CapsRole role;
} RoleFilter;

static bool role_shown(const RoleFilter *f, const Task *t) {
  if (!f->on) return true;
  return f->all_routing ? cost_role_is_routing(t->caps_role) : t->caps_role == f->role;
}

/* "routing.sum[1]", "primary", "untagged": a task's role with its routing iteration. */
static const char *task_role(const Task *t, char *buf, size_t size) {
  if (cost_role_is_routing(t->caps_role) && t->caps_iter >= 0)
    snprintf(buf, size, "%s[%d]", cost_role_name(t->caps_role), t->caps_iter);
  else
    snprintf(buf, size, "%s", cost_role_name(t->caps_role));
  return buf;
}

static bool has_roles(const Schedule *s) {
  for (uint32_t i = 0; i < s->n_tasks; i++)
    if (s->tasks[i].caps_role != CAPS_NONE) return true;
  return false;
}

/* The per-role totals of a capsule network, the routing roles summed, and each routing
 * iteration. */
static void print_roles(FILE *out, const Estimate *e, double clock_hz) {
  fprintf(out, "\nby capsule role\n");
  fprintf(out, "  %-16s %14s %12s %12s %16s %7s %7s\n", "role", "cycles", "latency_ms",
          "energy_mJ", "MACs", "time%", "energy%");
  double e_pj = e->energy_j * 1e12;
  int64_t rc = 0, rm = 0;
  double re = 0;
  for (int k = 0; k <= N_CAPS_ROLES + CAPS_MAX_ITERS; k++) {
    const char *name;
    char buf[32];
    int64_t cyc, macs = -1;
    double pj;
    if (k < N_CAPS_ROLES) { /* the roles, the untagged last */
      CapsRole r = (CapsRole)((k + 1) % N_CAPS_ROLES);
      name = cost_role_name(r);
      cyc = e->role_cycles[r];
      macs = e->role_macs[r];
      pj = e->role_energy_pj[r];
      if (cost_role_is_routing(r)) rc += cyc, rm += macs, re += pj;
    } else if (k == N_CAPS_ROLES) {
      name = "routing (all)";
      cyc = rc, macs = rm, pj = re;
    } else {
      int it = k - N_CAPS_ROLES - 1;
      if (it >= e->n_iters) break;
      snprintf(buf, sizeof buf, "  routing[%d]%s", it, it == CAPS_MAX_ITERS - 1 ? "+" : "");
      name = buf;
      cyc = e->iter_cycles[it];
      pj = e->iter_energy_pj[it];
    }
    fprintf(out, "  %-16s %14" PRId64 " %12.6g %12.6g ", name, cyc,
            (double)cyc / clock_hz * 1e3, pj * 1e-9);
    if (macs >= 0) fprintf(out, "%16" PRId64, macs);
    else fprintf(out, "%16s", "");
    fprintf(out, " %7.1f %7.1f\n", e->cycles ? 100.0 * (double)cyc / (double)e->cycles : 0.0,
            e_pj > 0 ? 100 * pj / e_pj : 0.0);
  }
}

static void print_text(FILE *out, const Schedule *s, const Accel *a, const Estimate *e,
                       const TaskCost *tc, const MemoryFootprint *mem, bool train,
                       const RoleFilter *rf) {
  bool roles = has_roles(s);
  fprintf(out, "model %s on %s (%" PRId64 "x%" PRId64 " %s, %d-bit, %g MHz, tech %s)%s\n",
          s->model ? s->model : "", a->name, a->rows, a->cols, systolic_dataflow_name(a->df),
          a->mac_bits, a->clock_mhz, a->tech.name, train ? ", training step" : "");
  fprintf(out, "%-40s %-6s %14s %12s %12s %7s", "layer", "unit", "cycles", "latency_us",
          "energy_uj", "util%");
  if (train) fprintf(out, "  %-15s", "phase");
  fprintf(out, roles ? "  role\n" : "\n");
  double clock_hz = a->clock_mhz * 1e6;
  for (uint32_t i = 0; i < s->n_tasks; i++) {
    const Task *t = &s->tasks[i];
    if (!role_shown(rf, t)) continue;
    double util = t->unit == UNIT_ARRAY ? tc[i].util * 100 : 0;
    char buf[48];
    fprintf(out, "%-40s %-6s %14" PRId64 " %12.3f %12.4f %7.2f", t->name, unit_name(t->unit),
            tc[i].cycles, (double)tc[i].cycles / clock_hz * 1e6,
            sum_energy_pj(tc[i].energy_pj) * 1e-6, util);
    if (train) fprintf(out, "  %-15s", ir_phase_name(t->phase));
    if (roles) fprintf(out, "  %s", task_role(t, buf, sizeof buf));
    fputc('\n', out);
  }
  double e_pj = e->energy_j * 1e12;
  fprintf(out, "\ntotals (%u tasks)\n", s->n_tasks);
  fprintf(out, "  %-18s %" PRId64 " (%" PRId64 " stall)\n", "cycles", e->cycles,
          e->stall_cycles);
  fprintf(out, "  %-18s %.6g ms\n", "latency", e->latency_s * 1e3);
  fprintf(out, "  %-18s %.6g mJ\n", "energy", e->energy_j * 1e3);
  for (int p = 0; p < EN_N; p++)
    fprintf(out, "    %-16s %.6g mJ (%.1f%%)\n", cost_energy_part_name((EnergyPart)p),
            e->energy_pj[p] * 1e-9, e_pj > 0 ? 100 * e->energy_pj[p] / e_pj : 0.0);
  fprintf(out, "  %-18s %.6g W\n", "average power", e->power_w);
  fprintf(out, "  %-18s %.6g mm^2\n", "area", e->area_mm2);
  const struct {
    const char *name;
    double mm2;
  } area[] = {{"pe", e->area.pe_mm2},
              {"sram_ifmap", e->area.sram_ifmap_mm2},
              {"sram_filter", e->area.sram_filter_mm2},
              {"sram_ofmap", e->area.sram_ofmap_mm2},
              {"vector", e->area.vector_mm2}};
  for (size_t i = 0; i < sizeof area / sizeof *area; i++)
    fprintf(out, "    %-16s %.6g mm^2\n", area[i].name, area[i].mm2);
  fprintf(out, "  %-18s %" PRId64 "\n", "MACs", e->macs);
  fprintf(out, "  %-18s %" PRId64 "\n", "vector ops", e->vec_ops);
  fprintf(out, "  %-18s %" PRId64 "\n", "DRAM words", e->dram_words);
  fprintf(out, "  %-18s %.6g\n", "TOPS", e->tops);
  fprintf(out, "  %-18s %.6g\n", "TOPS/mm^2", e->tops_per_mm2);
  fprintf(out, "  %-18s %.6g\n", "fJ/op", e->fj_per_op);
  fprintf(out, "  %-18s %.2f%%\n", "PE utilization", e->util * 100);
  if (train) print_phases(out, e, clock_hz);
  if (roles) print_roles(out, e, clock_hz);
  fputc('\n', out);
  report_memory_text(out, mem, train);
}

static void json_energy(JsonWriter *j, const char *key, const double *parts) {
  json_open_object(j, key);
  for (int p = 0; p < EN_N; p++) json_num(j, cost_energy_part_name((EnergyPart)p), parts[p]);
  json_close_object(j);
}

static void print_json(FILE *out, const Schedule *s, const Accel *a, bool exact,
                       const Estimate *e, const TaskCost *tc, const MemoryFootprint *mem,
                       bool train, const RoleFilter *rf) {
  JsonWriter j;
  json_init(&j, out, false);
  json_open_object(&j, NULL);
  json_str(&j, "model", s->model ? s->model : "");
  json_open_object(&j, "accel");
  json_str(&j, "name", a->name);
  json_int(&j, "rows", a->rows);
  json_int(&j, "cols", a->cols);
  json_str(&j, "dataflow", systolic_dataflow_name(a->df));
  json_int(&j, "mac_bits", a->mac_bits);
  json_num(&j, "clock_mhz", a->clock_mhz);
  json_str(&j, "tech", a->tech.name);
  json_close_object(&j);
  json_bool(&j, "exact", exact);
  json_bool(&j, "train", train);
  double clock_hz = a->clock_mhz * 1e6;
  json_open_array(&j, "layers");
  for (uint32_t i = 0; i < s->n_tasks; i++) {
    const Task *t = &s->tasks[i];
    if (!role_shown(rf, t)) continue;
    json_open_object(&j, NULL);
    json_str(&j, "name", t->name);
    json_str(&j, "op", ir_ops[t->op].name);
    json_str(&j, "unit", unit_name(t->unit));
    json_str(&j, "phase", ir_phase_name(t->phase));
    json_str(&j, "capsule_role", cost_role_name(t->caps_role));
    if (cost_role_is_routing(t->caps_role)) json_int(&j, "routing_iteration", t->caps_iter);
    json_int(&j, "cycles", tc[i].cycles);
    json_int(&j, "stall_cycles", tc[i].stall_cycles);
    json_num(&j, "latency_s", (double)tc[i].cycles / clock_hz);
    json_energy(&j, "energy_pj", tc[i].energy_pj);
    json_num(&j, "util", tc[i].util);
    json_int(&j, "macs", t->macs);
    json_int(&j, "vec_ops", t->vec_ops);
    json_int(&j, "dram_words", tc[i].dram_words);
    if (t->unit == UNIT_ARRAY) {
      json_open_object(&j, "gemm");
      json_int(&j, "g", t->gemm.g);
      json_int(&j, "m", t->gemm.m);
      json_int(&j, "n", t->gemm.n);
      json_int(&j, "k", t->gemm.k);
      json_close_object(&j);
    } else {
      json_null(&j, "gemm");
    }
    json_close_object(&j);
  }
  json_close_array(&j);
  json_open_object(&j, "totals");
  json_int(&j, "macs", e->macs);
  json_int(&j, "vec_ops", e->vec_ops);
  json_int(&j, "cycles", e->cycles);
  json_int(&j, "stall_cycles", e->stall_cycles);
  json_num(&j, "latency_s", e->latency_s);
  json_num(&j, "energy_j", e->energy_j);
  json_energy(&j, "energy_pj", e->energy_pj);
  json_num(&j, "power_w", e->power_w);
  json_open_object(&j, "area_mm2");
  json_num(&j, "pe", e->area.pe_mm2);
  json_num(&j, "sram_ifmap", e->area.sram_ifmap_mm2);
  json_num(&j, "sram_filter", e->area.sram_filter_mm2);
  json_num(&j, "sram_ofmap", e->area.sram_ofmap_mm2);
  json_num(&j, "vector", e->area.vector_mm2);
  json_num(&j, "total", e->area.total_mm2);
  json_close_object(&j);
  json_num(&j, "tops", e->tops);
  json_num(&j, "tops_per_mm2", e->tops_per_mm2);
  json_num(&j, "fj_per_op", e->fj_per_op);
  json_num(&j, "util", e->util);
  json_int(&j, "dram_words", e->dram_words);
  json_open_object(&j, "phases");
  for (int p = 0; p < N_PHASES; p++) {
    json_open_object(&j, ir_phase_name((Phase)p));
    json_int(&j, "cycles", e->phase_cycles[p]);
    json_num(&j, "latency_s", (double)e->phase_cycles[p] / clock_hz);
    json_num(&j, "energy_j", e->phase_energy_pj[p] * 1e-12);
    json_int(&j, "macs", e->phase_macs[p]);
    json_close_object(&j);
  }
  json_close_object(&j);
  report_roles_json(&j, e);
  json_close_object(&j);
  report_memory_json(&j, "memory", mem);
  json_close_object(&j);
  fputc('\n', out);
}

int cmd_estimate(int argc, char **argv) {
  ModelArgs m;
  memset(&m, 0, sizeof m);
  const char *path = NULL, *arch = NULL;
  bool json = false, exact = false;
  RoleFilter rf = {false, false, CAPS_NONE};
  for (int i = 1; i < argc; i++) {
    int r = args_model_option(&m, argc, argv, &i);
    if (r < 0) return 2;
    if (r > 0) continue;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      estimate_usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--arch") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: --arch needs a value\n", xdl_prog);
        return 2;
      }
      arch = argv[++i];
    } else if (strcmp(argv[i], "--role") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: --role needs a value\n", xdl_prog);
        return 2;
      }
      const char *v = argv[++i];
      if (!cost_role_parse(v, &rf.role, &rf.all_routing)) {
        fprintf(stderr,
                "%s estimate: --role: unknown capsule role '%s' (untagged, primary, votes, "
                "routing, routing.softmax, routing.sum, routing.squash, routing.agree, class, "
                "decoder)\n",
                xdl_prog, v);
        return 2;
      }
      rf.on = true;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (strcmp(argv[i], "--exact") == 0) {
      exact = true;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "%s estimate: unknown option '%s' (see --help)\n", xdl_prog, argv[i]);
      return 2;
    } else if (path) {
      fprintf(stderr, "%s estimate: more than one model given ('%s' and '%s')\n", xdl_prog,
              path, argv[i]);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (!path || !arch) {
    fprintf(stderr, "%s estimate: %s (see --help)\n", xdl_prog,
            path ? "--arch ARCH is required" : "no model given");
    return 2;
  }
  Accel a;
  int code = load_arch(arch, &a);
  if (code) return code;
  Graph *g = args_load_model(&m, path, &code);
  if (!g) return code;

  Diag d;
  diag_init(&d);
  Schedule s;
  memset(&s, 0, sizeof s);
  TaskCost *tc = NULL;
  Estimate e;
  MemoryFootprint mem;
  if (schedule_build(g, &s, &d) != XDL_OK || training_memory(g, &mem, &d) != XDL_OK) goto fail;
  tc = xdl_calloc(s.n_tasks ? s.n_tasks : 1, sizeof *tc);
  if (!tc) {
    diag_error(&d, XDL_ERR_INTERNAL, "out of memory");
    goto fail;
  }
  if (cost_estimate(&s, &a, exact, &e, tc, &d) != XDL_OK) goto fail;
  if (json) print_json(stdout, &s, &a, exact, &e, tc, &mem, m.pass.train, &rf);
  else print_text(stdout, &s, &a, &e, tc, &mem, m.pass.train, &rf);
  code = fflush(stdout) == 0 ? 0 : 1;
  goto done;
fail:
  fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
  code = args_exit_code(d.status == XDL_OK ? XDL_ERR_INTERNAL : d.status);
done:
  xdl_free(tc);
  schedule_free(&s);
  ir_graph_free(g);
  return code;
}
