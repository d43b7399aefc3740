/* arch.c — accelerator descriptions: a PE array with three operand SRAMs, a DRAM port and a
 * vector unit, from a built-in preset or from XML validated against models/accel/accel.xsd
 * (with the technology it references), the range checks the schema cannot express, and the
 * SCALE-Sim-style config the systolic model takes. */
#include "backend/backend.h"

#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------
 * Built-in presets; models/accel/<name>.xml carry the same figures (tests/test_arch.c checks
 * they agree). tech_ref names a technology preset here, a file in the XML.
 * ------------------------------------------------------------------------------------------ */
/* After Google's TPU v1 (Jouppi et al., ISCA 2017: 256x256 int8 at 700 MHz, 32-bit
 * accumulators, 24 MiB unified buffer, 4 MiB accumulators, 4 x 64 KiB weight FIFO, DDR3 at
 * 34 GB/s), at a quarter of the array and buffers. DDR3 70 pJ/bit (Accelergy CACTI plug-in). */
static const Accel k_tpu = {
    .name = "tpu-like",
    .rows = 128,
    .cols = 128,
    .df = DF_WS,
    .mac_bits = 8,
    .acc_bits = 32,
    .clock_mhz = 700,
    .ifmap_sram_kib = 6144, /* unified buffer / 4 */
    .filter_sram_kib = 64,  /* weight FIFO / 4 */
    .ofmap_sram_kib = 1024, /* accumulators / 4 */
    .word_bits = 8,
    .bw_mode_user = 0,
    .dram_bw_words = 48, /* 34 GB/s at 700 MHz */
    .dram_pj_per_bit = 70,
    .vec = {.lanes = 128,
            .cycles_per_op = {[VEC_ELEMWISE] = 1,
                              [VEC_SPECIAL] = 4,
                              [VEC_REDUCE] = 1,
                              [VEC_SOFTMAX] = 8,
                              [VEC_POOL] = 1}},
    .tech_ref = "45nm-horowitz",
};

/* After Eyeriss (Chen et al., ISSCC/ISCA 2016: 12 x 14 PEs, 16-bit, 108 KB global buffer,
 * 100-250 MHz). Eyeriss is row-stationary, which the systolic model lacks: it is mapped to
 * weight-stationary (filter rows stay in the PEs), and the per-PE scratchpads are not modelled.
 * The global buffer is split in three; a 64-bit DRAM bus moves four 16-bit words per cycle. */
static const Accel k_eyeriss = {
    .name = "eyeriss-like",
    .rows = 12,
    .cols = 14,
    .df = DF_WS,
    .mac_bits = 16,
    .acc_bits = 32,
    .clock_mhz = 200,
    .ifmap_sram_kib = 36,
    .filter_sram_kib = 36,
    .ofmap_sram_kib = 36,
    .word_bits = 16,
    .bw_mode_user = 0,
    .dram_bw_words = 4,
    .dram_pj_per_bit = -1,
    .vec = {.lanes = 4,
            .cycles_per_op = {[VEC_ELEMWISE] = 1,
                              [VEC_SPECIAL] = 16,
                              [VEC_REDUCE] = 1,
                              [VEC_SOFTMAX] = 24,
                              [VEC_POOL] = 1}},
    .tech_ref = "45nm-horowitz",
};

/* A small output-stationary edge array: small SRAMs, a DRAM port that stalls (USER mode). */
static const Accel k_edge = {
    .name = "edge-16x16",
    .rows = 16,
    .cols = 16,
    .df = DF_OS,
    .mac_bits = 8,
    .acc_bits = 32,
    .clock_mhz = 500,
    .ifmap_sram_kib = 32,
    .filter_sram_kib = 32,
    .ofmap_sram_kib = 16,
    .word_bits = 8,
    .bw_mode_user = 1,
    .dram_bw_words = 8,
    .dram_pj_per_bit = -1,
    .vec = {.lanes = 8,
            .cycles_per_op = {[VEC_ELEMWISE] = 1,
                              [VEC_SPECIAL] = 16,
                              [VEC_REDUCE] = 1,
                              [VEC_SOFTMAX] = 20,
                              [VEC_POOL] = 1}},
    .tech_ref = "45nm-horowitz",
};

/* After CapsAcc (Marchisio et al., DATE 2019): 16 x 16 ws array of 8-bit PEs with 25-bit
 * accumulators and a per-column activation unit computing squash and softmax in a cycle or
 * two. NASCaps PE figures at 2 ns, hence 500 MHz. */
static const Accel k_capsacc = {
    .name = "capsacc-like",
    .rows = 16,
    .cols = 16,
    .df = DF_WS,
    .mac_bits = 8,
    .acc_bits = 25,
    .clock_mhz = 500,
    .ifmap_sram_kib = 64,
    .filter_sram_kib = 128,
    .ofmap_sram_kib = 64,
    .word_bits = 8,
    .bw_mode_user = 0,
    .dram_bw_words = 16,
    .dram_pj_per_bit = -1,
    .vec = {.lanes = 16,
            .cycles_per_op = {[VEC_ELEMWISE] = 1,
                              [VEC_SPECIAL] = 1,
                              [VEC_REDUCE] = 1,
                              [VEC_SOFTMAX] = 2,
                              [VEC_POOL] = 1}},
    .tech_ref = "45nm-nascaps",
};

static const char *const k_preset_names[] = {"tpu-like", "eyeriss-like", "edge-16x16",
                                             "capsacc-like"};
static const Accel *const k_presets[] = {&k_tpu, &k_eyeriss, &k_edge, &k_capsacc};

const char *const *arch_preset_names(int *count) {
  if (count) *count = (int)(sizeof k_presets / sizeof k_presets[0]);
  return k_preset_names;
}

/* Contract: name non-NULL; on true *out is the preset with its technology resolved. */
bool arch_preset(const char *name, Accel *out) {
  for (size_t i = 0; i < sizeof k_presets / sizeof k_presets[0]; i++) {
    if (strcmp(name, k_preset_names[i]) == 0) {
      *out = *k_presets[i];
      return tech_preset(out->tech_ref, &out->tech);
    }
  }
  return false;
}

/* ------------------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------------------ */
/* The XML element a problem belongs to, so the loader can report its line. */
typedef enum AccelPart {
  AP_NONE,
  AP_ROOT,
  AP_ARRAY,
  AP_MAC,
  AP_CLOCK,
  AP_SRAM,
  AP_DRAM,
  AP_VECTOR,
  AP_TECH,
  AP_N
} AccelPart;

static bool positive(double v) {
  return v > 0 && isfinite(v);
}

/* Returns AP_NONE if a is sound (technology excluded); otherwise the part at fault with a
 * message naming the field. Limits match accel.xsd. */
static AccelPart accel_problem(const Accel *a, char *msg, size_t size) {
  if (a->rows < 1 || a->rows > 65536 || a->cols < 1 || a->cols > 65536) {
    snprintf(msg, size, "array rows x cols %" PRId64 " x %" PRId64 " out of range 1..65536",
             a->rows, a->cols);
    return AP_ARRAY;
  }
  if (a->df != DF_OS && a->df != DF_WS && a->df != DF_IS) {
    snprintf(msg, size, "array dataflow %d is not os, ws or is", (int)a->df);
    return AP_ARRAY;
  }
  if (a->mac_bits < 1 || a->mac_bits > 64) {
    snprintf(msg, size, "mac operand_bits %d out of range 1..64", a->mac_bits);
    return AP_MAC;
  }
  if (a->acc_bits < a->mac_bits || a->acc_bits > 128) {
    snprintf(msg, size, "mac accumulator_bits %d out of range %d (operand_bits)..128", a->acc_bits,
             a->mac_bits);
    return AP_MAC;
  }
  if (!positive(a->clock_mhz) || a->clock_mhz > 100000) {
    snprintf(msg, size, "clock mhz %g out of range (0, 100000]", a->clock_mhz);
    return AP_CLOCK;
  }
  if (a->word_bits < 1 || a->word_bits > 1024) {
    snprintf(msg, size, "sram word_bits %d out of range 1..1024", a->word_bits);
    return AP_SRAM;
  }
  const double kib[3] = {a->ifmap_sram_kib, a->filter_sram_kib, a->ofmap_sram_kib};
  static const char *const which[3] = {"ifmap_kib", "filter_kib", "ofmap_kib"};
  for (int i = 0; i < 3; i++) {
    if (!positive(kib[i]) || kib[i] > 16777216) {
      snprintf(msg, size, "sram %s %g out of range (0, 16777216]", which[i], kib[i]);
      return AP_SRAM;
    }
    if (kib[i] * 8192 < a->word_bits) {
      snprintf(msg, size, "sram %s %g holds less than one %d-bit word", which[i], kib[i],
               a->word_bits);
      return AP_SRAM;
    }
  }
  if (a->bw_mode_user != 0 && a->bw_mode_user != 1) {
    snprintf(msg, size, "dram mode %d is not calc (0) or user (1)", a->bw_mode_user);
    return AP_DRAM;
  }
  if (!positive(a->dram_bw_words)) {
    snprintf(msg, size, "dram bandwidth_words_per_cycle %g must be positive", a->dram_bw_words);
    return AP_DRAM;
  }
  if (isnan(a->dram_pj_per_bit) || isinf(a->dram_pj_per_bit)) {
    snprintf(msg, size, "dram pj_per_bit must be a number");
    return AP_DRAM;
  }
  if (a->vec.lanes < 1 || a->vec.lanes > 65536) {
    snprintf(msg, size, "vector lanes %" PRId64 " out of range 1..65536", a->vec.lanes);
    return AP_VECTOR;
  }
  for (int c = VEC_ELEMWISE; c < N_VEC_CLASSES; c++) {
    if (!positive(a->vec.cycles_per_op[c])) {
      snprintf(msg, size, "vector cycles per op must be positive (class %d)", c);
      return AP_VECTOR;
    }
  }
  return AP_NONE;
}

XdlStatus arch_check(const Accel *a, const char *where, Diag *d) {
  char msg[256];
  if (accel_problem(a, msg, sizeof msg) != AP_NONE)
    return diag_error(d, XDL_ERR_INPUT, "%s: %s", where, msg);
  char tech_where[512];
  snprintf(tech_where, sizeof tech_where, "%s: technology '%s'", where, a->tech.name);
  return tech_check(&a->tech, tech_where, d);
}

/* Contract: a passes arch_check. SRAM words = KiB x 8192 / word_bits (rounded down); a word of
 * word_bits occupies ceil(word_bits / 8) bytes; USER bandwidth rounds to the nearest whole
 * word per cycle (at least 1). Offsets are SCALE-Sim's defaults. */
SystolicConfig arch_systolic_config(const Accel *a) {
  SystolicConfig c = {
      .rows = a->rows,
      .cols = a->cols,
      .df = a->df,
      .ifmap_sram_words = (int64_t)(a->ifmap_sram_kib * 8192 / a->word_bits),
      .filter_sram_words = (int64_t)(a->filter_sram_kib * 8192 / a->word_bits),
      .ofmap_sram_words = (int64_t)(a->ofmap_sram_kib * 8192 / a->word_bits),
      .bw_mode_user = a->bw_mode_user,
      .dram_bw_words = (int64_t)llround(a->dram_bw_words),
      .word_bytes = (a->word_bits + 7) / 8,
      .ifmap_offset = 0,
      .filter_offset = 10000000,
      .ofmap_offset = 20000000,
  };
  if (c.dram_bw_words < 1) c.dram_bw_words = 1;
  return c;
}

/* ------------------------------------------------------------------------------------------
 * Accelerator XML
 * ------------------------------------------------------------------------------------------ */
/* Resolves a technology reference made at path:line: a file relative to path's directory (or
 * absolute) if one exists, else a built-in preset. */
static XdlStatus resolve_tech(const char *path, long line, const char *ref, Tech *out, Diag *d) {
  char file[1536];
  const char *slash = strrchr(path, '/');
  if (ref[0] == '/' || !slash)
    snprintf(file, sizeof file, "%s", ref);
  else
    snprintf(file, sizeof file, "%.*s/%s", (int)(slash - path), path, ref);
  if (access(file, F_OK) == 0) return tech_load_xml(file, out, d);
  if (tech_preset(ref, out)) return XDL_OK;
  int n;
  const char *const *names = tech_preset_names(&n);
  char list[256] = "";
  for (int i = 0; i < n; i++) {
    size_t used = strlen(list);
    snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
  }
  return diag_error(d, XDL_ERR_INPUT,
                    "%s:%ld: technology '%s' is neither a file (%s) nor a built-in preset (%s)",
                    path, line, ref, file, list);
}

static void read_vector(xmlNode *v, VectorUnit *vec) {
  static const struct {
    const char *name;
    VecClass cls;
  } k_classes[] = {
      {"elementwise", VEC_ELEMWISE}, {"special", VEC_SPECIAL}, {"reduce", VEC_REDUCE},
      {"softmax", VEC_SOFTMAX},      {"pool", VEC_POOL},
  };
  vec->lanes = (int64_t)xml_num_attr_or(v, "lanes", 0);
  for (xmlNode *c = v->children; c; c = c->next) {
    for (size_t i = 0; i < sizeof k_classes / sizeof k_classes[0]; i++)
      if (xml_is_elem(c, k_classes[i].name))
        vec->cycles_per_op[k_classes[i].cls] = xml_num_attr_or(c, "cycles", 0);
  }
}

/* Contract: on XDL_OK *out is filled, its technology resolved, and it passes arch_check; on
 * error *out is unspecified and d holds "FILE:LINE: message" (FILE may be the technology
 * file when the error is there). */
XdlStatus arch_load_xml(const char *path, Accel *out, Diag *d) {
  xmlDoc *doc = NULL;
  XdlStatus st = xml_read_validated(path, "accel.xsd", &doc, d);
  if (st != XDL_OK) goto fail;

  Accel a = {0};
  long lines[AP_N] = {0};
  a.dram_pj_per_bit = -1;
  xmlNode *root = xmlDocGetRootElement(doc);
  lines[AP_ROOT] = xmlGetLineNo(root);
  xml_str_attr(root, "name", a.name, sizeof a.name);
  for (xmlNode *c = root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    long line = xmlGetLineNo(c);
    if (xml_is_elem(c, "array")) {
      lines[AP_ARRAY] = line;
      char df[8];
      xml_str_attr(c, "dataflow", df, sizeof df);
      a.rows = (int64_t)xml_num_attr_or(c, "rows", 0);
      a.cols = (int64_t)xml_num_attr_or(c, "cols", 0);
      a.df = strcmp(df, "os") == 0 ? DF_OS : strcmp(df, "is") == 0 ? DF_IS : DF_WS;
    } else if (xml_is_elem(c, "mac")) {
      lines[AP_MAC] = line;
      a.mac_bits = (int)xml_num_attr_or(c, "operand_bits", 0);
      a.acc_bits = (int)xml_num_attr_or(c, "accumulator_bits", 0);
    } else if (xml_is_elem(c, "clock")) {
      lines[AP_CLOCK] = line;
      a.clock_mhz = xml_num_attr_or(c, "mhz", 0);
    } else if (xml_is_elem(c, "sram")) {
      lines[AP_SRAM] = line;
      a.ifmap_sram_kib = xml_num_attr_or(c, "ifmap_kib", 0);
      a.filter_sram_kib = xml_num_attr_or(c, "filter_kib", 0);
      a.ofmap_sram_kib = xml_num_attr_or(c, "ofmap_kib", 0);
      a.word_bits = (int)xml_num_attr_or(c, "word_bits", 0);
    } else if (xml_is_elem(c, "dram")) {
      lines[AP_DRAM] = line;
      char mode[8];
      xml_str_attr(c, "mode", mode, sizeof mode);
      a.bw_mode_user = strcmp(mode, "user") == 0;
      a.dram_bw_words = xml_num_attr_or(c, "bandwidth_words_per_cycle", 0);
      a.dram_pj_per_bit = xml_num_attr_or(c, "pj_per_bit", -1);
    } else if (xml_is_elem(c, "vector")) {
      lines[AP_VECTOR] = line;
      read_vector(c, &a.vec);
    } else if (xml_is_elem(c, "technology")) {
      lines[AP_TECH] = line;
      xml_str_attr(c, "ref", a.tech_ref, sizeof a.tech_ref);
    }
  }

  char msg[256];
  AccelPart part = accel_problem(&a, msg, sizeof msg);
  if (part != AP_NONE) {
    long line = lines[part] > 0 ? lines[part] : lines[AP_ROOT];
    st = diag_error(d, XDL_ERR_INPUT, "%s:%ld: %s", path, line, msg);
    goto fail;
  }
  st = resolve_tech(path, lines[AP_TECH], a.tech_ref, &a.tech, d);
  if (st != XDL_OK) goto fail;
  *out = a;

fail:
  if (doc) xmlFreeDoc(doc);
  return st;
}
