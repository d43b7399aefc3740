/* tech.c — technology descriptions: the energy and area figures of one process node, from a
 * built-in preset or from XML validated against models/accel/tech.xsd, and the lookups the cost
 * model uses (MAC by width, SRAM by capacity, interpolated log-log). XML reading and schema
 * validation are in xml.c; nothing past this stage sees XML. */
#include "backend/backend.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------
 * Built-in presets. Sources (as collected in ../shared/refdata/tech/README.md):
 * [H] Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm: int8/int16/int32 add 0.03 /
 *     0.05 / 0.1 pJ, int8/int32 mult 0.2 / 3.1 pJ, fp16 add/mult 0.4 / 1.1 pJ, fp32 add/mult
 *     0.9 / 3.7 pJ.
 * [A] Accelergy exercises, 45 nm primitive table: 16-bit int MAC 1240 um^2; Accelergy's CACTI
 *     plug-in default DRAM energy: LPDDR4 8 pJ/bit, DDR3 70 pJ/bit.
 * [C] CACTI 7, 40 nm, single bank, 64-bit port: 8 KB read/write 5.26 / 6.43 pJ, leakage
 *     3.91 mW, 0.0427 mm^2; 100 KB 32.1 / 22.1 pJ, 40.3 mW, 0.507 mm^2; area about 5.2 mm^2
 *     per MB; read energy grows as capacity^0.72..0.78.
 * [N] NASCaps synthesis tables (ehw-fit/nascaps data/pe.json.gz, data/mem.json.gz), 45 nm.
 * models/accel/45nm-*.xml carry the same numbers; tests/test_arch.c checks they agree.
 * ------------------------------------------------------------------------------------------ */

/* SRAM table per 64-bit access [C], 4 significant digits, C = capacity in KiB:
 * read = 5.26 pJ (C/8)^0.75 (8 KB point, middle of the trend); write = 6.43 pJ (C/8)^0.4888
 * and leakage = 3.91 mW (C/8)^0.9236 (power laws through both CACTI points); area =
 * 5.2 mm^2/MB x C/1024. */
#define SRAM_ROWS_45NM                                                                             \
  {                                                                                                \
    {1, 1.106, 2.327, 0.005078, 0.5729}, {2, 1.86, 3.265, 0.01016, 1.087},                         \
        {4, 3.128, 4.582, 0.02031, 2.061}, {8, 5.26, 6.43, 0.04063, 3.91},                         \
        {16, 8.846, 9.023, 0.08125, 7.417}, {32, 14.88, 12.66, 0.1625, 14.07},                     \
        {64, 25.02, 17.77, 0.325, 26.69}, {128, 42.08, 24.93, 0.65, 50.62},                        \
        {256, 70.77, 34.99, 1.3, 96.02}, {512, 119, 49.1, 2.6, 182.1},                             \
        {1024, 200.2, 68.9, 5.2, 345.5}, {2048, 336.6, 96.69, 10.4, 655.4},                        \
  }

/* Vector unit in fp16 [H], pJ per element op: elementwise = one fp16 mult (bounds add/mult);
 * special = 4 fp16 multiply-adds (iterative exp/sqrt/div), 4 x 1.5; reduce = one multiply-add;
 * softmax = exp 6.0 + sum add 0.4 + normalizing mult 1.1; pool = one add/compare 0.4. */
#define VEC_PJ_45NM                                                                                \
  {                                                                                                \
    [VEC_NONE] = 0, [VEC_ELEMWISE] = 1.1, [VEC_SPECIAL] = 6, [VEC_REDUCE] = 1.5,                   \
    [VEC_SOFTMAX] = 7.5, [VEC_POOL] = 0.4,                                                         \
  }

static const Tech k_horowitz = {
    .name = "45nm-horowitz",
    .node = "45nm",
    /* MAC = mult + add [H]; int16 mult 0.8 pJ = int8's 0.2 scaled by width^2 (not in [H]).
     * PE area: 16-bit from [A], 8/32-bit scaled by width^2, fp = int area x energy ratio. */
    .macs =
        {
            {.bits = 8, .energy_pj = 0.23, .pe_area_um2 = 310},                    /* 0.2 + 0.03 */
            {.bits = 16, .energy_pj = 0.85, .pe_area_um2 = 1240},                  /* 0.8 + 0.05 */
            {.bits = 32, .energy_pj = 3.2, .pe_area_um2 = 4960},                   /* 3.1 + 0.1 */
            {.bits = 16, .is_float = true, .energy_pj = 1.5, .pe_area_um2 = 2188}, /* 1.1 + 0.4 */
            {.bits = 32, .is_float = true, .energy_pj = 4.6, .pe_area_um2 = 7130}, /* 3.7 + 0.9 */
        },
    .n_macs = 5,
    .srams = SRAM_ROWS_45NM,
    .n_srams = 12,
    .sram_word_bits = 64,
    .dram_pj_per_bit = 8, /* LPDDR4 [A] */
    .vec_pj = VEC_PJ_45NM,
    .vec_lane_area_um2 = 2480,   /* estimate: a 16-bit MAC [A] plus as much for special logic */
    .leakage_mw_per_mm2 = 79.49, /* CACTI 100 KB macro [C]: 40.3 mW / 0.507 mm^2 */
};

static const Tech k_nascaps = {
    .name = "45nm-nascaps",
    .node = "45nm",
    /* [N] p00002_gen_PE_8_25_1_1_nms: 8-bit, 1 input, 25-bit accumulator, 1 stage, 2 ns:
     * 1656.16 um^2, 0.7754 mW -> 0.7754 mW x 2 ns = 1.5508 pJ per MAC. */
    .macs = {{.bits = 8, .energy_pj = 1.5508, .pe_area_um2 = 1656.16}},
    .n_macs = 1,
    .srams = SRAM_ROWS_45NM,
    .n_srams = 12,
    .sram_word_bits = 64,
    .dram_pj_per_bit = 8,
    .vec_pj = VEC_PJ_45NM,
    .vec_lane_area_um2 = 2480,
    .leakage_mw_per_mm2 = 79.49,
    /* [N] p02_b25: accumulator memory cell at 2 ns: 494.1729 um^2, 0.3434 mW -> 0.6868 pJ. */
    .acc_cell_bits = 25,
    .acc_cell_pj = 0.6868,
    .acc_cell_area_um2 = 494.1729,
};

static const char *const k_preset_names[] = {"45nm-horowitz", "45nm-nascaps"};
static const Tech *const k_presets[] = {&k_horowitz, &k_nascaps};

const char *const *tech_preset_names(int *count) {
  if (count) *count = (int)(sizeof k_presets / sizeof k_presets[0]);
  return k_preset_names;
}

/* Contract: name non-NULL; on true *out is a full copy of the preset. */
bool tech_preset(const char *name, Tech *out) {
  for (size_t i = 0; i < sizeof k_presets / sizeof k_presets[0]; i++) {
    if (strcmp(name, k_preset_names[i]) == 0) {
      *out = *k_presets[i];
      return true;
    }
  }
  return false;
}

/* ------------------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------------------ */
/* Which element of the XML a problem belongs to, so the loader can report its line. */
typedef enum TechPart {
  TP_NONE,
  TP_ROOT,
  TP_MAC,
  TP_ACC,
  TP_SRAMS,
  TP_SRAM,
  TP_DRAM,
  TP_VECTOR,
  TP_LEAKAGE,
  TP_N
} TechPart;

static bool positive(double v) {
  return v > 0 && isfinite(v);
}

/* Returns TP_NONE if t is sound; otherwise the part at fault (and the row, for TP_MAC and
 * TP_SRAM) with a message in msg. */
static TechPart tech_problem(const Tech *t, int *row, char *msg, size_t size) {
  *row = 0;
  if (t->n_macs < 1 || t->n_macs > TECH_MAX_MAC) {
    snprintf(msg, size, "technology needs 1 to %d MAC rows, has %d", TECH_MAX_MAC, t->n_macs);
    return TP_ROOT;
  }
  bool any_int = false;
  for (int i = 0; i < t->n_macs; i++) {
    const TechMac *m = &t->macs[i];
    *row = i;
    if (m->bits < 1 || m->bits > 64) {
      snprintf(msg, size, "MAC bits %d out of range 1..64", m->bits);
      return TP_MAC;
    }
    if (!positive(m->energy_pj) || !positive(m->pe_area_um2)) {
      snprintf(msg, size, "MAC energy_pj and pe_area_um2 must be positive");
      return TP_MAC;
    }
    for (int j = 0; j < i; j++) {
      if (t->macs[j].bits == m->bits && t->macs[j].is_float == m->is_float) {
        snprintf(msg, size, "duplicate %s MAC row for %d bits", m->is_float ? "fp" : "int",
                 m->bits);
        return TP_MAC;
      }
    }
    any_int |= !m->is_float;
  }
  if (!any_int) {
    *row = 0;
    snprintf(msg, size, "technology needs at least one integer MAC row (type=\"int\")");
    return TP_MAC;
  }
  bool acc_any = t->acc_cell_bits || t->acc_cell_pj || t->acc_cell_area_um2;
  if (acc_any &&
      (t->acc_cell_bits < 1 || !positive(t->acc_cell_pj) || !positive(t->acc_cell_area_um2))) {
    snprintf(msg, size, "accumulator cell needs positive bits, energy_pj and area_um2");
    return TP_ACC;
  }
  if (t->n_srams < 1 || t->n_srams > TECH_MAX_SRAM) {
    snprintf(msg, size, "technology needs 1 to %d SRAM rows, has %d", TECH_MAX_SRAM, t->n_srams);
    return TP_SRAMS;
  }
  if (t->sram_word_bits < 1 || t->sram_word_bits > 1024) {
    snprintf(msg, size, "SRAM word_bits %d out of range 1..1024", t->sram_word_bits);
    return TP_SRAMS;
  }
  for (int i = 0; i < t->n_srams; i++) {
    const TechSram *s = &t->srams[i];
    *row = i;
    if (!positive(s->kib) || !positive(s->read_pj) || !positive(s->write_pj) ||
        !positive(s->area_mm2) || !positive(s->leakage_mw)) {
      snprintf(msg, size, "SRAM row figures must be positive");
      return TP_SRAM;
    }
    if (i > 0 && !(s->kib > t->srams[i - 1].kib)) {
      snprintf(msg, size, "SRAM rows must be in ascending capacity: %g KiB after %g KiB", s->kib,
               t->srams[i - 1].kib);
      return TP_SRAM;
    }
  }
  *row = 0;
  if (!positive(t->dram_pj_per_bit)) {
    snprintf(msg, size, "DRAM pj_per_bit must be positive");
    return TP_DRAM;
  }
  for (int c = VEC_ELEMWISE; c < N_VEC_CLASSES; c++) {
    if (!positive(t->vec_pj[c])) {
      snprintf(msg, size, "vector energies must be positive");
      return TP_VECTOR;
    }
  }
  if (!positive(t->vec_lane_area_um2)) {
    snprintf(msg, size, "vector lane_area_um2 must be positive");
    return TP_VECTOR;
  }
  if (!(t->leakage_mw_per_mm2 >= 0) || !isfinite(t->leakage_mw_per_mm2)) {
    snprintf(msg, size, "leakage mw_per_mm2 must be non-negative");
    return TP_LEAKAGE;
  }
  return TP_NONE;
}

XdlStatus tech_check(const Tech *t, const char *where, Diag *d) {
  char msg[256];
  int row;
  if (tech_problem(t, &row, msg, sizeof msg) == TP_NONE) return XDL_OK;
  return diag_error(d, XDL_ERR_INPUT, "%s: %s", where, msg);
}

/* ------------------------------------------------------------------------------------------
 * Lookups
 * ------------------------------------------------------------------------------------------ */
/* The integer row for an operand width (nearest width at or above bits) and the quadratic
 * scale factor when bits is wider than every row; NULL if there is no integer row. */
static const TechMac *mac_row(const Tech *t, int bits, double *scale) {
  const TechMac *best = NULL, *widest = NULL;
  for (int i = 0; i < t->n_macs; i++) {
    const TechMac *m = &t->macs[i];
    if (m->is_float) continue;
    if (m->bits >= bits && (!best || m->bits < best->bits)) best = m;
    if (!widest || m->bits > widest->bits) widest = m;
  }
  *scale = 1;
  if (best) return best;
  if (widest) {
    double r = (double)bits / widest->bits;
    *scale = r * r;
  }
  return widest;
}

double tech_mac_pj(const Tech *t, int bits) {
  double scale;
  const TechMac *m = mac_row(t, bits, &scale);
  return m ? m->energy_pj * scale : 0;
}

double tech_pe_area_um2(const Tech *t, int bits) {
  double scale;
  const TechMac *m = mac_row(t, bits, &scale);
  return m ? m->pe_area_um2 * scale : 0;
}

typedef enum SramField { SF_READ, SF_WRITE, SF_AREA, SF_LEAK } SramField;

static double sram_field(const TechSram *s, SramField f) {
  switch (f) {
  case SF_READ: return s->read_pj;
  case SF_WRITE: return s->write_pj;
  case SF_AREA: return s->area_mm2;
  case SF_LEAK: return s->leakage_mw;
  }
  return 0;
}

/* Log-log interpolation over capacity: exact at the rows, a power law between two rows, and
 * the power law of the first (last) two rows below (above) the table. A one-row table scales
 * in proportion to capacity. Capacities <= 0 cost nothing. */
static double sram_lookup(const Tech *t, double kib, SramField f) {
  const TechSram *s = t->srams;
  int n = t->n_srams;
  if (n < 1 || !(kib > 0)) return 0;
  if (n == 1) return sram_field(&s[0], f) * kib / s[0].kib;
  int i = 0; /* segment [i, i+1] */
  while (i < n - 2 && kib > s[i + 1].kib)
    i++;
  if (kib == s[i].kib) return sram_field(&s[i], f);
  if (kib == s[i + 1].kib) return sram_field(&s[i + 1], f);
  double x0 = log(s[i].kib), x1 = log(s[i + 1].kib);
  double y0 = log(sram_field(&s[i], f)), y1 = log(sram_field(&s[i + 1], f));
  return exp(y0 + (y1 - y0) * (log(kib) - x0) / (x1 - x0));
}

double tech_sram_read_pj(const Tech *t, double kib, int word_bits) {
  return sram_lookup(t, kib, SF_READ) * word_bits / t->sram_word_bits;
}

double tech_sram_write_pj(const Tech *t, double kib, int word_bits) {
  return sram_lookup(t, kib, SF_WRITE) * word_bits / t->sram_word_bits;
}

double tech_sram_area_mm2(const Tech *t, double kib) {
  return sram_lookup(t, kib, SF_AREA);
}

double tech_sram_leakage_mw(const Tech *t, double kib) {
  return sram_lookup(t, kib, SF_LEAK);
}

/* ------------------------------------------------------------------------------------------
 * Technology XML
 * ------------------------------------------------------------------------------------------ */
/* Contract: on XDL_OK *out is filled and passes tech_check; on error *out is unspecified and
 * d holds "FILE:LINE: message" (the line of the offending element where there is one). */
XdlStatus tech_load_xml(const char *path, Tech *out, Diag *d) {
  xmlDoc *doc = NULL;
  XdlStatus st = xml_read_validated(path, "tech.xsd", &doc, d);
  if (st != XDL_OK) goto fail;

  long lines[TP_N] = {0}, mac_lines[TECH_MAX_MAC] = {0}, sram_lines[TECH_MAX_SRAM] = {0};
  Tech t = {0};
  xmlNode *root = xmlDocGetRootElement(doc);
  lines[TP_ROOT] = xmlGetLineNo(root);
  xml_str_attr(root, "name", t.name, sizeof t.name);
  xml_str_attr(root, "node", t.node, sizeof t.node);
  for (xmlNode *c = root->children; c; c = c->next) {
    if (xml_is_elem(c, "mac") && t.n_macs < TECH_MAX_MAC) {
      TechMac *m = &t.macs[t.n_macs];
      mac_lines[t.n_macs++] = xmlGetLineNo(c);
      char type[8];
      xml_str_attr(c, "type", type, sizeof type);
      m->bits = (int)xml_num_attr_or(c, "bits", 0);
      m->is_float = strcmp(type, "fp") == 0;
      m->energy_pj = xml_num_attr_or(c, "energy_pj", 0);
      m->pe_area_um2 = xml_num_attr_or(c, "pe_area_um2", 0);
    } else if (xml_is_elem(c, "accumulator")) {
      lines[TP_ACC] = xmlGetLineNo(c);
      t.acc_cell_bits = (int)xml_num_attr_or(c, "bits", 0);
      t.acc_cell_pj = xml_num_attr_or(c, "energy_pj", 0);
      t.acc_cell_area_um2 = xml_num_attr_or(c, "area_um2", 0);
    } else if (xml_is_elem(c, "srams")) {
      lines[TP_SRAMS] = xmlGetLineNo(c);
      t.sram_word_bits = (int)xml_num_attr_or(c, "word_bits", 0);
      for (xmlNode *r = c->children; r; r = r->next) {
        if (!xml_is_elem(r, "sram") || t.n_srams >= TECH_MAX_SRAM) continue;
        TechSram *s = &t.srams[t.n_srams];
        sram_lines[t.n_srams++] = xmlGetLineNo(r);
        s->kib = xml_num_attr_or(r, "kib", 0);
        s->read_pj = xml_num_attr_or(r, "read_pj", 0);
        s->write_pj = xml_num_attr_or(r, "write_pj", 0);
        s->area_mm2 = xml_num_attr_or(r, "area_mm2", 0);
        s->leakage_mw = xml_num_attr_or(r, "leakage_mw", 0);
      }
    } else if (xml_is_elem(c, "dram")) {
      lines[TP_DRAM] = xmlGetLineNo(c);
      t.dram_pj_per_bit = xml_num_attr_or(c, "pj_per_bit", 0);
    } else if (xml_is_elem(c, "vector")) {
      lines[TP_VECTOR] = xmlGetLineNo(c);
      t.vec_pj[VEC_ELEMWISE] = xml_num_attr_or(c, "elementwise_pj", 0);
      t.vec_pj[VEC_SPECIAL] = xml_num_attr_or(c, "special_pj", 0);
      t.vec_pj[VEC_REDUCE] = xml_num_attr_or(c, "reduce_pj", 0);
      t.vec_pj[VEC_SOFTMAX] = xml_num_attr_or(c, "softmax_pj", 0);
      t.vec_pj[VEC_POOL] = xml_num_attr_or(c, "pool_pj", 0);
      t.vec_lane_area_um2 = xml_num_attr_or(c, "lane_area_um2", 0);
    } else if (xml_is_elem(c, "leakage")) {
      lines[TP_LEAKAGE] = xmlGetLineNo(c);
      t.leakage_mw_per_mm2 = xml_num_attr_or(c, "mw_per_mm2", 0);
    }
  }

  char msg[256];
  int row;
  TechPart part = tech_problem(&t, &row, msg, sizeof msg);
  if (part != TP_NONE) {
    long line = part == TP_MAC ? mac_lines[row] : part == TP_SRAM ? sram_lines[row] : lines[part];
    if (line <= 0) line = lines[TP_ROOT];
    st = diag_error(d, XDL_ERR_INPUT, "%s:%ld: %s", path, line, msg);
    goto fail;
  }
  *out = t;

fail:
  if (doc) xmlFreeDoc(doc);
  return st;
}
