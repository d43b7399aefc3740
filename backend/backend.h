/* backend.h — the backend stage's internal header: accelerator, technology and design-space
 * descriptions, the cost models (systolic array, vector unit, memory), the sweep and Pareto
 * filter, and the report writers. Sections are grouped by the file that implements them.
 * Nothing here sees ONNX; the systolic-array model takes layers and GEMM views as numbers. */
#ifndef XDL_BACKEND_H
#define XDL_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"
#include "passes/passes.h"

/* ------------------------------------------------------------------------------------------
 * systolic.c — systolic-array cost model, cycle-faithful to SCALE-Sim v2 (see
 * ../shared/refdata/scalesim/README.md). A fast path (closed form; DRAM by a fold-level reuse
 * model) and an exact path (replays the operand streams fold by fold, memory bounded by the
 * SRAM sizes) with one set of semantics.
 * ------------------------------------------------------------------------------------------ */
typedef enum Dataflow { DF_OS, DF_WS, DF_IS } Dataflow;

/* Operand index of the per-operand arrays in SystolicResult. */
typedef enum SysOperand { SYS_IFMAP, SYS_FILTER, SYS_OFMAP, SYS_N_OPERANDS } SysOperand;

typedef struct SystolicConfig {
  int64_t rows, cols;        /* PE array: rows R (ArrayHeight) x columns C (ArrayWidth) */
  Dataflow df;
  int64_t ifmap_sram_words;  /* per-operand SRAM capacity in words (SCALE-Sim: kB x 1024) */
  int64_t filter_sram_words;
  int64_t ofmap_sram_words;
  int bw_mode_user;          /* 0 = CALC (estimate bandwidth, never stall), 1 = USER */
  int64_t dram_bw_words;     /* USER mode: DRAM words per cycle (ignored in CALC mode) */
  int64_t word_bytes;        /* bytes per word; SCALE-Sim hard-wires 1 */
  int64_t ifmap_offset, filter_offset, ofmap_offset; /* base addresses (words) */
} SystolicConfig;

/* One layer as SCALE-Sim sees it (no padding; output size uses a ceiling), repeated `repeat`
 * times back to back (grouped convolution = G independent copies of the same GEMM). */
typedef struct SysLayer {
  int64_t ifmap_h, ifmap_w;   /* H, W */
  int64_t filter_h, filter_w; /* Fh, Fw */
  int64_t channels;           /* Ch (input channels per group) */
  int64_t num_filters;        /* N (output channels per group) */
  int64_t stride_h, stride_w; /* Sh, Sw */
  int64_t repeat;             /* G >= 1 */
} SysLayer;

/* Every figure SCALE-Sim reports for one layer. Cycles are cycle indices (from 0); DRAM start
 * cycles may be negative (prefetch before compute starts). Counts are words. For repeat G > 1
 * cycles and counts are G times one copy's, starts are the first copy's and stops the last's. */
typedef struct SystolicResult {
  int64_t total_cycles;        /* index of the last cycle, stalls included */
  int64_t stall_cycles;
  int64_t macs;                /* P * N * K * G (overhanging windows included) */
  int64_t row_folds, col_folds, fold_cycles; /* Fr, Fc and L of one copy */
  double overall_util_pct, mapping_efficiency_pct, compute_util_pct;
  /* SRAM side: reads (ifmap, filter) or writes (ofmap) requested by the array. */
  int64_t sram_words[SYS_N_OPERANDS];
  int64_t sram_start_cycle[SYS_N_OPERANDS], sram_stop_cycle[SYS_N_OPERANDS];
  /* DRAM side: words fetched into (ifmap, filter) or drained from (ofmap) the SRAMs. */
  int64_t dram_words[SYS_N_OPERANDS];
  int64_t dram_start_cycle[SYS_N_OPERANDS], dram_stop_cycle[SYS_N_OPERANDS];
  double avg_sram_bw[SYS_N_OPERANDS]; /* words/cycle = sram_words / total_cycles */
  double avg_dram_bw[SYS_N_OPERANDS]; /* words/cycle = dram_words / (stop - start + 1) */
} SystolicResult;

/* Checks a config (positive array and SRAM sizes, USER bandwidth > 0) and a layer (positive
 * sizes and strides, filter no larger than the input, repeat >= 1, products fit in int64).
 * Records a message without location in d and returns XDL_ERR_INPUT on failure. */
XdlStatus systolic_check(const SystolicConfig *cfg, const SysLayer *layer, Diag *d);

/* SCALE-Sim's GEMM topology row as a layer: H = M, W = K, Fh = 1, Fw = K, Ch = 1, N filters,
 * stride 1 (so P = M, window = K), repeated g times. */
SysLayer systolic_layer_from_gemm(int64_t g, int64_t m, int64_t n, int64_t k);

/* Fast path: compute cycles, utilizations, mapping efficiency, SRAM counts and SRAM start/stop
 * in closed form (O(1)); DRAM traffic, DRAM start/stop and stalls by deterministic epoch models
 * (cost grows with Fh*Fw and, capped, with the folds) and a reuse-distance model; never with
 * the MACs, cycles or addresses. Never allocates. Inputs must pass systolic_check (checked
 * again; XDL_ERR_INPUT otherwise). */
XdlStatus systolic_eval_fast(const SystolicConfig *cfg, const SysLayer *layer,
                             SystolicResult *out, Diag *d);

/* Exact path: replays the operand demand streams fold by fold (CALC epoch buffers, USER
 * prefetch windows, the OFMAP write buffer), reproducing every SCALE-Sim figure. Memory is
 * bounded by the SRAM sizes and the array/window dimensions, never by the operand or layer
 * size: a USER window over an operand whose fetch stream holds each address once keeps only
 * the stream positions bounding its own sets (at most 51, in a fixed ring; the next ones are
 * computed in closed form or by a walk of the stream as the window advances), any other USER
 * window a hash set of its resident addresses (O(active SRAM words)). XDL_ERR_INTERNAL on OOM. */
XdlStatus systolic_eval_exact(const SystolicConfig *cfg, const SysLayer *layer,
                              SystolicResult *out, Diag *d);
/* The same replay with the USER-mode window always kept as a hash set of resident addresses
 * (the reference the position-range window is tested against). */
XdlStatus systolic_eval_exact_hashed(const SystolicConfig *cfg, const SysLayer *layer,
                                     SystolicResult *out, Diag *d);

/* Costs one GEMM view {G, M, N, K} (Conv via im2col, Gemm, MatMul) exactly as SCALE-Sim costs
 * the equivalent GEMM topology row; exact selects the exact path. */
XdlStatus systolic_eval_gemm(const SystolicConfig *cfg, const GemmView *gemm, bool exact,
                             SystolicResult *out, Diag *d);

const char *systolic_dataflow_name(Dataflow df); /* "os", "ws", "is" */

/* ------------------------------------------------------------------------------------------
 * scalesim_report.c — SCALE-Sim v2's report files, byte-compatible, and the same numbers as
 * JSON.
 * ------------------------------------------------------------------------------------------ */
/* Writes OUTDIR/<run_name>/COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and
 * DETAILED_ACCESS_REPORT.csv for n layers (LayerID = index). Each file goes to a temporary name
 * first and is renamed when complete; on error no report file is left behind. Creates the
 * directories as needed. XDL_ERR_INTERNAL on I/O failure. */
XdlStatus scalesim_write_reports(const char *outdir, const char *run_name,
                                 const SystolicResult *results, int n, Diag *d);

/* Writes the same numbers as one JSON object {run_name, layers: [...]} to out. names may be
 * NULL (layer names omitted). */
void scalesim_write_json(FILE *out, const char *run_name, const char *const *names,
                         const SystolicResult *results, int n);

/* Formats v as Python's repr(float) does (shortest round-trip digits, "33.0", "1e-05",
 * "inf"). Returns buf. size >= 32. */
char *scalesim_format_float(double v, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------
 * xml.c — what the XML loaders (tech.c, arch.c, space.c) share: parsing and XSD validation
 * with libxml2's first error captured as "FILE:LINE: message", and attribute helpers (values
 * whose syntax the schema has already checked).
 * ------------------------------------------------------------------------------------------ */
struct _xmlDoc;
struct _xmlNode;
/* Parses path (no network), validates it against models/accel/<xsd_name> (searched in
 * $XDL_ACCEL_SCHEMA_DIR, the source tree compiled in, ./models/accel, then path's directory)
 * and returns the document, to be freed with xmlFreeDoc. */
XdlStatus xml_read_validated(const char *path, const char *xsd_name, struct _xmlDoc **out,
                             Diag *d);
bool xml_is_elem(const struct _xmlNode *n, const char *name);
/* Copies attribute name into buf ("" when absent); returns whether it was present. */
bool xml_str_attr(struct _xmlNode *n, const char *name, char *buf, size_t size);
bool xml_num_attr(struct _xmlNode *n, const char *name, double *out); /* false when absent */
double xml_num_attr_or(struct _xmlNode *n, const char *name, double dflt);

/* ------------------------------------------------------------------------------------------
 * tech.c — technology description: energy and area figures of one process node, read from
 * XML (validated against models/accel/tech.xsd) or a built-in preset. Every figure is plain
 * data; the cost model never sees XML.
 * ------------------------------------------------------------------------------------------ */
enum { TECH_MAX_MAC = 8, TECH_MAX_SRAM = 16, N_VEC_CLASSES = VEC_POOL + 1 };

typedef struct TechMac {
  int bits;              /* operand bit width */
  bool is_float;         /* floating-point row; the integer datapath looks up integer rows only */
  double energy_pj;      /* one multiply-accumulate, including the accumulator add */
  double pe_area_um2;    /* one PE (multiplier, accumulator, pipeline registers) */
} TechMac;

typedef struct TechSram {
  double kib;            /* capacity of one SRAM macro */
  double read_pj, write_pj; /* per word access of word_bits */
  double area_mm2;
  double leakage_mw;
} TechSram;

typedef struct Tech {
  char name[64];         /* e.g. "45nm-horowitz" */
  char node[32];         /* e.g. "45nm" */
  TechMac macs[TECH_MAX_MAC];
  int n_macs;
  TechSram srams[TECH_MAX_SRAM]; /* ascending kib; interpolated log-log between rows */
  int n_srams;
  int sram_word_bits;    /* width the SRAM access energies refer to */
  double dram_pj_per_bit;
  double vec_pj[N_VEC_CLASSES];  /* energy per element operation, by VecClass */
  double vec_lane_area_um2;      /* one vector-unit lane */
  double leakage_mw_per_mm2;     /* logic leakage (PEs, vector unit); SRAM leakage is in srams */
  /* One accumulator memory cell (one per array column, at the array's edge), where the
   * technology gives it; all 0 = not modelled (PE figures include the accumulator). */
  int acc_cell_bits;
  double acc_cell_pj;            /* energy per active cycle */
  double acc_cell_area_um2;
} Tech;

/* Loads and validates a technology XML file; errors carry file:line. */
XdlStatus tech_load_xml(const char *path, Tech *out, Diag *d);
/* Built-in presets by name ("45nm-horowitz", "45nm-nascaps"); false if unknown. */
bool tech_preset(const char *name, Tech *out);
const char *const *tech_preset_names(int *count);
/* Checks what the schema cannot (at least one integer MAC row, SRAM rows ascending, positive
 * finite figures); errors are prefixed with where. XDL_ERR_INPUT on failure. */
XdlStatus tech_check(const Tech *t, const char *where, Diag *d);
/* MAC energy (pJ) and PE area (um^2) for an operand width: the row with the nearest width at or
 * above bits, scaled quadratically (multiplier cost) when bits exceeds every row. */
double tech_mac_pj(const Tech *t, int bits);
double tech_pe_area_um2(const Tech *t, int bits);
/* SRAM figures for a capacity, interpolated log-log between table rows (extrapolated from the
 * nearest two beyond the ends); per access of `word_bits` bits (scaled linearly). */
double tech_sram_read_pj(const Tech *t, double kib, int word_bits);
double tech_sram_write_pj(const Tech *t, double kib, int word_bits);
double tech_sram_area_mm2(const Tech *t, double kib);
double tech_sram_leakage_mw(const Tech *t, double kib);

/* ------------------------------------------------------------------------------------------
 * arch.c — accelerator description: a PE array with three operand SRAMs and a DRAM port, and
 * a vector unit for everything that is not a GEMM. Read from XML (models/accel/accel.xsd) or a
 * built-in preset.
 * ------------------------------------------------------------------------------------------ */
typedef struct VectorUnit {
  int64_t lanes;                          /* element operations per cycle at 1 cycle/op */
  double cycles_per_op[N_VEC_CLASSES];    /* per element, per lane, by VecClass */
} VectorUnit;

typedef struct Accel {
  char name[64];
  int64_t rows, cols;          /* PE array */
  Dataflow df;
  int mac_bits, acc_bits;      /* operand and accumulator widths */
  double clock_mhz;
  double ifmap_sram_kib, filter_sram_kib, ofmap_sram_kib;
  int word_bits;               /* SRAM/DRAM word = one operand (usually mac_bits) */
  int bw_mode_user;            /* 0: CALC (bandwidth as needed, no stalls); 1: USER */
  double dram_bw_words;        /* words per cycle (USER mode; also used for DRAM time) */
  double dram_pj_per_bit;      /* < 0: take the technology's figure */
  VectorUnit vec;
  char tech_ref[256];          /* technology file (relative to the accel file) or preset name */
  Tech tech;                   /* resolved technology */
} Accel;

/* Loads and validates an accelerator XML file and the technology it references; errors carry
 * file:line. */
XdlStatus arch_load_xml(const char *path, Accel *out, Diag *d);
/* Built-in presets: "tpu-like" (128x128 ws), "eyeriss-like" (12x14 rs→ws), "edge-16x16",
 * "capsacc-like" (16x16 ws with a squash/softmax-capable vector unit). */
bool arch_preset(const char *name, Accel *out);
const char *const *arch_preset_names(int *count);
/* Checks ranges (positive sizes, known dataflow, clock > 0, accumulator at least as wide as the
 * operands, each SRAM at least one word, ...) and then the technology (tech_check); errors are
 * "where: message" and name the field. XDL_ERR_INPUT on failure. */
XdlStatus arch_check(const Accel *a, const char *where, Diag *d);
/* The SCALE-Sim-style config the systolic model takes: SRAM words = KiB x 8192 / word_bits,
 * word_bytes = ceil(word_bits / 8), USER bandwidth rounded to whole words (>= 1), SCALE-Sim's
 * default offsets. */
SystolicConfig arch_systolic_config(const Accel *a);

/* ------------------------------------------------------------------------------------------
 * cost.c — whole-network latency, energy, power and area of a Schedule on one Accel:
 * GEMM tasks through the systolic model, vector tasks through the vector unit, energy =
 * MACs*E_mac + SRAM accesses*E_sram(size) + DRAM bits*E_dram + vector ops*E_vec +
 * leakage*time; area = PEs*A_pe + sum A_sram(size) + A_vector.
 * ------------------------------------------------------------------------------------------ */

typedef enum EnergyPart {
  EN_MAC, EN_SRAM_IFMAP, EN_SRAM_FILTER, EN_SRAM_OFMAP, EN_DRAM, EN_VECTOR, EN_LEAKAGE, EN_N
} EnergyPart;
const char *cost_energy_part_name(EnergyPart p); /* "mac", "sram_ifmap", ... */
/* A capsule role's report name: "untagged" for CAPS_NONE, else ir_caps_role_name. */
const char *cost_role_name(CapsRole r);
/* Parses a report name (or "routing", any of the four routing roles: *all_routing set);
 * false for an unknown name. */
bool cost_role_parse(const char *name, CapsRole *out, bool *all_routing);
bool cost_role_is_routing(CapsRole r); /* routing.softmax, .sum, .squash or .agree */

typedef struct AreaBreakdown {
  double pe_mm2; /* PEs, plus the edge accumulator cells when the technology models them */
  double sram_ifmap_mm2, sram_filter_mm2, sram_ofmap_mm2, vector_mm2, total_mm2;
} AreaBreakdown;

typedef struct TaskCost {
  int64_t cycles;          /* including stalls */
  int64_t stall_cycles;
  double energy_pj[EN_N];
  double util;             /* PE utilization over the task's cycles (array tasks), 0..1 */
  int64_t dram_words;      /* words moved to/from DRAM */
} TaskCost;

/* Phases of a training step (ir.h's Phase), for per-phase totals. Capsule roles (ir.h's
 * CapsRole, CAPS_NONE = untagged), for per-role totals; routing iterations kept apart up to
 * CAPS_MAX_ITERS (later iterations add to the last entry). */
enum { N_PHASES = PHASE_UPDATE + 1, N_CAPS_ROLES = CAPS_DECODER + 1, CAPS_MAX_ITERS = 16 };

typedef struct Estimate {
  int64_t macs, vec_ops;
  int64_t cycles, stall_cycles;
  double latency_s, energy_j, power_w, area_mm2;
  double tops, tops_per_mm2, fj_per_op; /* op = 2 x MAC */
  double util;                          /* MAC-weighted PE utilization */
  double energy_pj[EN_N];
  AreaBreakdown area;
  int64_t dram_words;
  /* By the phase of each task (Task.phase): cycles and MACs add up exactly to the totals;
   * energy (all parts, leakage from the phase's cycles) up to rounding. */
  int64_t phase_cycles[N_PHASES];
  int64_t phase_macs[N_PHASES];
  double phase_energy_pj[N_PHASES];
  /* By the capsule role of each task (Task.caps_role; index CAPS_NONE = untagged), the same
   * way: cycles and MACs add up exactly to the totals, energy (leakage from the role's cycles)
   * up to rounding. A training step's backward and update tasks carry their forward node's
   * role. */
  int64_t role_cycles[N_CAPS_ROLES];
  int64_t role_macs[N_CAPS_ROLES];
  double role_energy_pj[N_CAPS_ROLES];
  /* Routing iteration k (the four routing roles of every routing layer with caps_iter k,
   * k >= CAPS_MAX_ITERS counted at CAPS_MAX_ITERS - 1): they add up to the routing roles'. */
  int64_t iter_cycles[CAPS_MAX_ITERS];
  double iter_energy_pj[CAPS_MAX_ITERS];
  int n_iters;                 /* 1 + the highest iteration seen (capped), 0 without routing */
  /* The workload's memory footprint (MemoryFootprint.total_bytes) when the caller knows it
   * (dse_sweep copies DseOptions.memory), else 0; cost_estimate leaves it 0. */
  int64_t memory_bytes;
} Estimate;

/* Area of an accelerator (independent of the workload). */
AreaBreakdown cost_area(const Accel *a);
/* The layer the systolic model costs for an array task: a 2-D convolution's SCALE-Sim conv
 * layer (once per group), otherwise its GEMM view's topology row. False for vector tasks and
 * GEMMs with an empty dimension (they cost nothing on the array). */
bool cost_task_layer(const Task *t, SysLayer *out);
/* Whole-schedule figures from systolic results computed elsewhere (the sweep shares them
 * between design points): results[task_result[i]] is array task i's result on
 * arch_systolic_config(a), task_result[i] < 0 for no array work. cost_estimate is this after
 * evaluating every task's layer itself. */
XdlStatus cost_estimate_shared(const Schedule *s, const Accel *a, const SystolicResult *results,
                               const int32_t *task_result, Estimate *out, TaskCost *per_task,
                               Diag *d);
/* Costs every task of s on a; per_task (n_tasks entries) may be NULL. exact selects the
 * systolic model's exact path. Tasks run back to back; a figure that would divide by zero
 * (power, TOPS with zero latency; fJ/op, util with zero MACs) is 0. Modelling choices are
 * documented in cost.c. */
XdlStatus cost_estimate(const Schedule *s, const Accel *a, bool exact, Estimate *out,
                        TaskCost *per_task, Diag *d);

/* ------------------------------------------------------------------------------------------
 * space.c — a design space: for any accelerator parameter a list or a range (start, stop,
 * step or xfactor) of values, plus constraints; read from XML (models/accel/space.xsd) or the
 * embedded default space.
 * ------------------------------------------------------------------------------------------ */
enum { SPACE_MAX_PARAMS = 24, SPACE_MAX_VALUES = 256 };

typedef struct SpaceParam {
  char name[32];                   /* accelerator parameter, e.g. "rows", "dataflow" */
  double values[SPACE_MAX_VALUES]; /* dataflow: 0 = os, 1 = ws, 2 = is */
  int n_values;
} SpaceParam;

typedef struct SpaceConstraints {
  double max_area_mm2, max_power_w, max_latency_s; /* <= 0: unconstrained */
  /* The workload's memory footprint (liveness.c's MemoryFootprint.total_bytes: the training
   * step's with --train, else one inference's), the same at every point of a sweep. */
  double max_memory_bytes;  /* <= 0: none */
  double max_sram_bytes;    /* on-chip SRAM (ifmap + filter + ofmap) bytes; <= 0: none */
} SpaceConstraints;

typedef struct DesignSpace {
  char name[64];
  char path[512];                  /* file it was read from; "" for the default space */
  int limits_line;                 /* line of <constraints> (0 if absent or default) */
  Accel base;                      /* parameters not swept */
  SpaceParam params[SPACE_MAX_PARAMS];
  int n_params;
  SpaceConstraints limits;
  int64_t n_points;                /* product of n_values */
} DesignSpace;

/* Loads and validates (models/accel/space.xsd) a space file; base is a preset name or an
 * accelerator XML file relative to the space file. Errors carry file:line: malformed XML, schema
 * violations, unknown or repeated parameter names, bad values, step 0, factor <= 1, empty
 * ranges, too many values or points. */
XdlStatus space_load_xml(const char *path, DesignSpace *out, Diag *d);
/* The embedded default space on the "tpu-like" preset (see space.c for its parameters). */
void space_default(DesignSpace *out);
/* Names of the parameters a space may sweep; sets one on an Accel (false if unknown name).
 * mac_bits also sets word_bits (operands are words); dram_bw_words also selects USER bandwidth
 * mode (a bandwidth only matters when it limits); sram_kib sets all three SRAMs. */
bool space_apply(Accel *a, const char *param, double value);
const char *const *space_param_names(int *count);
/* A name's index in space_param_names (-1 if unknown), and space_apply by that index. */
int space_param_id(const char *name);
void space_apply_id(Accel *a, int id, double value);
/* Workload parameters (routing_iterations: the routing iterations of the model's compact
 * capsule ops) change the model, not the accelerator: space_apply leaves the Accel as it is,
 * and the sweep costs each value on its own schedule (DseOptions.workloads). The index in
 * s->params of the space's workload parameter, or -1 when it has none; and point i's value
 * index along it (0 when there is none). */
int space_workload_param(const DesignSpace *s);
int space_point_workload(const DesignSpace *s, int64_t i);
/* The accelerator of point index i (mixed-radix over the params, first param slowest); every
 * param name must be known. space_point_ids takes the params' ids precomputed (sweeps). */
void space_point(const DesignSpace *s, int64_t i, Accel *out);
void space_point_ids(const DesignSpace *s, const int *ids, int64_t i, Accel *out);
/* The value of every param at point i into values[0..n_params). */
void space_point_values(const DesignSpace *s, int64_t i, double *values);
/* Formats a param's value: os/ws/is for the dataflow, %.9g otherwise. Returns buf. */
char *space_format_value(const SpaceParam *p, double v, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------
 * dse.c — the sweep: every point of a space costed on a Schedule, in parallel threads, with
 * per-(task, array configuration) systolic results computed once; then the Pareto filter.
 * pareto.c — non-dominated points over chosen objectives (minimize each).
 * ------------------------------------------------------------------------------------------ */
/* OBJ_MEMORY is the workload's memory footprint (Estimate.memory_bytes): a property of the
 * model and batch, equal at every point of one sweep. */
typedef enum Objective {
  OBJ_LATENCY, OBJ_ENERGY, OBJ_AREA, OBJ_POWER, OBJ_MEMORY, OBJ_N
} Objective;
enum { DSE_MAX_JOBS = 256 };

typedef struct DsePoint {
  int64_t index;          /* point index in the space */
  Estimate est;
  bool feasible, pareto;
} DsePoint;

/* A sweep over a workload parameter costs each of its values on its own schedule: one
 * DseWorkload per value, in the parameter's value order. Both pointers are borrowed; memory
 * may be NULL (then DseOptions.memory applies). */
typedef struct DseWorkload {
  const Schedule *s;
  const MemoryFootprint *memory;
} DseWorkload;

typedef struct DseResult {
  DsePoint *points;       /* in space order */
  int64_t n_points, n_feasible, n_pareto;
  Objective objs[OBJ_N];  /* the objectives the Pareto marks refer to */
  int n_objs;
  int64_t n_array_configs; /* distinct systolic configurations (groups) */
  int32_t n_layers;        /* distinct systolic-model layers (GEMMs, convs) of the schedule */
  bool has_memory;         /* memory holds the workload's footprint (DseOptions.memory; its
                              peak_name is borrowed from the graph) */
  MemoryFootprint memory;
  const DseWorkload *workloads; /* DseOptions.workloads (borrowed), NULL for one schedule */
  int n_workloads;
} DseResult;

/* Called from the calling thread while the sweep runs (done points of total), last with
 * done == total. */
typedef void (*DseProgress)(int64_t done, int64_t total, void *ud);

typedef struct DseOptions {
  int jobs;               /* worker threads including the caller; 0 = online CPUs */
  Objective objs[OBJ_N];  /* Pareto objectives, distinct, minimized */
  int n_objs;
  DseProgress progress;   /* may be NULL */
  void *ud;
  int64_t first, count;   /* a shard: points [first, first + count); count 0 = to the end */
  bool per_point_cost;    /* reference path: cost_estimate per point, nothing shared */
  /* The workload's memory footprint (training_memory), borrowed; NULL = not known, which the
   * max_memory_bytes constraint and the memory objective need (XDL_ERR_INPUT without it). */
  const MemoryFootprint *memory;
  /* Required when the space has a workload parameter (space_workload_param): one workload per
   * value of it, and dse_sweep's s is then not used; NULL / 0 otherwise. Borrowed. */
  const DseWorkload *workloads;
  int n_workloads;
} DseOptions;

/* jobs 0, objectives latency, energy, area, the whole space, shared systolic results. */
void dse_options_default(DseOptions *o);
int dse_default_jobs(void); /* online CPUs, at least 1, at most DSE_MAX_JOBS */
/* Costs every point of the shard, marks feasibility against space->limits and the Pareto
 * front. Results do not depend on jobs and equal cost_estimate's per point bit for bit (plus
 * memory_bytes from opt->memory). */
XdlStatus dse_sweep(const Schedule *s, const DesignSpace *space, const DseOptions *opt,
                    DseResult *out, Diag *d);
void dse_result_free(DseResult *r);
/* The schedule point `index` of space was costed on: its workload's in a sweep over a
 * workload parameter, else s. */
const Schedule *dse_point_schedule(const DseResult *r, const DesignSpace *space,
                                   const Schedule *s, int64_t index);
double dse_sram_bytes(const Accel *a); /* ifmap + filter + ofmap SRAM bytes */
bool dse_feasible(const SpaceConstraints *lim, const Accel *a, const Estimate *e);

/* Marks pareto on the feasible points non-dominated over objs[0..n_objs) (pareto flags of
 * the others cleared). False only when out of memory. */
bool pareto_mark(DsePoint *pts, int64_t n, const Objective *objs, int n_objs);
double pareto_objective(const Estimate *e, Objective o); /* latency_s, energy_j, ... */
const char *pareto_objective_name(Objective o);          /* "latency", "energy", ... */

/* ------------------------------------------------------------------------------------------
 * report_dse.c — the files a sweep leaves in its output directory (points.csv, pareto.csv,
 * pareto.json, phases.csv, capsule_roles.csv, pareto.svg), written atomically, and the Pareto
 * table on the terminal.
 * ------------------------------------------------------------------------------------------ */
/* Creates dir (and its parents) if needed and checks it is a writable directory;
 * XDL_ERR_INPUT naming it otherwise. */
XdlStatus report_dse_prepare_dir(const char *dir, Diag *d);
/* Writes the six files of a sweep r of space on s into dir: each to a temporary name first,
 * all renamed once complete; on error none is left behind. */
XdlStatus report_dse_write(const char *dir, const Schedule *s, const DesignSpace *space,
                           const DseResult *r, Diag *d);
/* Header = swept parameter names, then cycles,latency_s,energy_j,power_w,area_mm2,tops,
 * tops_per_mm2,fj_per_op,feasible,pareto; one row per point (Pareto points only if asked). */
void report_dse_csv(FILE *out, const DesignSpace *space, const DseResult *r, bool pareto_only);
/* phases.csv: the Pareto rows of pareto.csv by phase of the step: header = swept parameter
 * names, then for each phase (forward, loss, backward_data, backward_weight, update)
 * <phase>_cycles,<phase>_latency_s,<phase>_energy_j,<phase>_macs. */
void report_dse_phases_csv(FILE *out, const DesignSpace *space, const DseResult *r);
/* capsule_roles.csv: the Pareto rows by capsule role: header = swept parameter names, then for
 * each role (untagged, primary, votes, routing.softmax, routing.sum, routing.squash,
 * routing.agree, class, decoder) <role>_cycles,<role>_latency_s,<role>_energy_j,<role>_macs,
 * then for each routing iteration k (as many as the Pareto point with the most has)
 * routing[k]_cycles,routing[k]_latency_s,routing[k]_energy_j (0 where a point has fewer). A
 * model without capsules has everything in untagged. */
void report_dse_roles_csv(FILE *out, const DesignSpace *space, const DseResult *r);
/* {model, macs, space, base, n_points, n_feasible, n_pareto, objectives, constraints,
 *  memory:{...} (when known), params, pareto:[{index, params, accel, macs, cycles, ...,
 *  energy_pj:{...}, phases:{forward:{cycles, latency_s, energy_j, macs}, loss, backward_data,
 *  backward_weight, update}, capsule_roles:{untagged:{cycles, latency_s, energy_j, macs},
 *  primary, votes, routing.softmax, routing.sum, routing.squash, routing.agree, class,
 *  decoder}, routing_by_iteration:[{iteration, cycles, latency_s, energy_j}],
 *  area_parts_mm2:{...}, layers:[{name, op, unit, phase, capsule_role, routing_iteration (routing
 *  roles only), cycles, stall_cycles, latency_s, energy_j, energy_pj, util, dram_words}]}]};
 *  per-layer costs are recomputed with cost_estimate on the design's own schedule (its
 *  workload's in a sweep over routing_iterations). */
XdlStatus report_dse_json(FILE *out, const Schedule *s, const DesignSpace *space,
                          const DseResult *r, bool pretty, Diag *d);
/* Energy vs latency and area vs latency on log axes; for a training step a panel with one bar
 * per Pareto design (fastest first) of its energy stacked by phase, and for a capsule network
 * one stacked by capsule role, each with a legend; false only when out of memory. */
bool report_dse_svg(FILE *out, const char *model, const DseResult *r);
/* The Pareto designs by ascending latency: parameters, latency, energy, area, TOPS/mm^2,
 * fJ/op, for a training step the share of energy by phase and for a capsule network by role
 * (primary, votes, routing, class, decoder, untagged). */
void report_dse_table(FILE *out, const DesignSpace *space, const DseResult *r);

/* ------------------------------------------------------------------------------------------
 * json.c — streaming JSON writer: commas and escaping are handled here, nesting by the caller.
 * ------------------------------------------------------------------------------------------ */
typedef struct JsonWriter {
  FILE *out;
  int depth;
  bool need_comma[64]; /* per nesting level */
  bool pretty;
} JsonWriter;

void json_init(JsonWriter *j, FILE *out, bool pretty);
/* key may be NULL inside arrays (and at top level). */
void json_open_object(JsonWriter *j, const char *key);
void json_open_array(JsonWriter *j, const char *key);
void json_close_object(JsonWriter *j);
void json_close_array(JsonWriter *j);
void json_int(JsonWriter *j, const char *key, int64_t v);
void json_num(JsonWriter *j, const char *key, double v); /* non-finite → null */
void json_str(JsonWriter *j, const char *key, const char *v);
void json_bool(JsonWriter *j, const char *key, bool v);
void json_null(JsonWriter *j, const char *key);
void json_shape(JsonWriter *j, const char *key, const Tensor *t); /* [d0,d1,...] */

/* ------------------------------------------------------------------------------------------
 * report_inspect.c — `xploredl inspect`: one row per node (name, op, output shapes, MACs,
 * params, GEMM view) and totals; JSON in the documented schema.
 * ------------------------------------------------------------------------------------------ */
typedef struct GraphTotals {
  int64_t macs, ops;
  int64_t params; /* distinct trainable weights, each counted once */
} GraphTotals;

GraphTotals report_graph_totals(const Graph *g);
void report_inspect_text(const Graph *g, FILE *out);
void report_inspect_json(const Graph *g, FILE *out);

/* ------------------------------------------------------------------------------------------
 * report_memory.c — a memory footprint (passes/liveness.c) as one line of text and as a JSON
 * object, the same in inspect, estimate and explore.
 * ------------------------------------------------------------------------------------------ */

/* "memory (training step): 1.23 MiB at peak (node 'x'): weights ..., optimizer state ...,
 * constants ..., saved activations ..., gradients ..., other activations ..." + newline; the
 * parts are those live at the peak step, so they add up to it. train selects the label. */
void report_memory_text(FILE *out, const MemoryFootprint *m, bool train);
/* {total_bytes, peak_node, weights_bytes, opt_state_bytes, const_bytes, saved_bytes,
 *  gradients_bytes, activations_bytes, at_peak:{saved_bytes, gradients_bytes,
 *  activations_bytes}}: the *_bytes of the transient classes are each one's own peak. */
void report_memory_json(JsonWriter *j, const char *key, const MemoryFootprint *m);
/* Bytes for people: "512 B", "1.50 KiB", "23.4 MiB", "1.20 GiB". Returns buf. */
char *report_format_bytes(int64_t bytes, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------
 * report_dse.c (shared with estimate) — an Estimate's totals by capsule role as JSON members:
 * capsule_roles: {untagged|primary|votes|routing.softmax|routing.sum|routing.squash|
 * routing.agree|class|decoder: {cycles, latency_s, energy_j, macs}} and routing_by_iteration:
 * [{iteration, cycles, latency_s, energy_j}] (latency = the role's share of the cycles).
 * ------------------------------------------------------------------------------------------ */
struct Estimate;
void report_roles_json(JsonWriter *j, const struct Estimate *e);

#endif
