/* test_arch.c — accelerator and technology descriptions: the shipped XML files against the
 * built-in presets, the MAC and SRAM lookups on hand-computed values, schema and semantic
 * errors in temporary files (each with status, file and line), and arch_check's ranges. */
#include "backend/backend.h"
#include "testutil.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_tmpdir[64];

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------ */
static bool near(double a, double b, double rel) {
  return fabs(a - b) <= rel * fmax(fabs(a), fabs(b));
}

/* Writes text to a file in the suite's temporary directory; returns its malloc'd path. */
static char *write_tmp(const char *name, const char *text) {
  size_t n = strlen(g_tmpdir) + strlen(name) + 2;
  char *path = malloc(n);
  snprintf(path, n, "%s/%s", g_tmpdir, name);
  FILE *f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* The ten lines of a valid accelerator file; line `line` (1-based) replaced by `repl` when
 * line > 0, and the technology reference set to tech_ref. */
static char *accel_text(int line, const char *repl, const char *tech_ref) {
  char tech[1024];
  snprintf(tech, sizeof tech, "  <technology ref=\"%s\"/>", tech_ref);
  const char *lines[10] = {
      "<?xml version=\"1.0\"?>",
      "<accelerator name=\"t\">",
      "  <array rows=\"16\" cols=\"8\" dataflow=\"ws\"/>",
      "  <mac operand_bits=\"8\" accumulator_bits=\"32\"/>",
      "  <clock mhz=\"500\"/>",
      "  <sram ifmap_kib=\"64\" filter_kib=\"32\" ofmap_kib=\"16\" word_bits=\"8\"/>",
      "  <dram bandwidth_words_per_cycle=\"8\" mode=\"calc\"/>",
      "  <vector lanes=\"4\"><elementwise cycles=\"1\"/><special cycles=\"4\"/><reduce "
      "cycles=\"1\"/><softmax cycles=\"8\"/><pool cycles=\"1\"/></vector>",
      tech,
      "</accelerator>",
  };
  if (line > 0) lines[line - 1] = repl;
  static char buf[4096];
  buf[0] = '\0';
  for (int i = 0; i < 10; i++) {
    strcat(buf, lines[i]);
    strcat(buf, "\n");
  }
  return buf;
}

static char *shipped(const char *name) {
  char rel[256];
  snprintf(rel, sizeof rel, "models/accel/%s", name);
  return tu_source(rel);
}

/* Expects XDL_ERR_INPUT with "path:line:" in the message. */
static void expect_error_at(XdlStatus st, const Diag *d, const char *path, int line) {
  char where[1024];
  snprintf(where, sizeof where, "%s:%d: ", path, line);
  CU_ASSERT_EQUAL(st, XDL_ERR_INPUT);
  CU_ASSERT_EQUAL(d->status, XDL_ERR_INPUT);
  if (!strstr(d->msg, where)) fprintf(stderr, "\n  expected '%s' in: %s\n", where, d->msg);
  CU_ASSERT_PTR_NOT_NULL(strstr(d->msg, where));
}

static void expect_tech_equal(const Tech *a, const Tech *b) {
  CU_ASSERT_STRING_EQUAL(a->name, b->name);
  CU_ASSERT_STRING_EQUAL(a->node, b->node);
  CU_ASSERT_EQUAL_FATAL(a->n_macs, b->n_macs);
  for (int i = 0; i < a->n_macs; i++) {
    CU_ASSERT_EQUAL(a->macs[i].bits, b->macs[i].bits);
    CU_ASSERT_EQUAL(a->macs[i].is_float, b->macs[i].is_float);
    CU_ASSERT_EQUAL(a->macs[i].energy_pj, b->macs[i].energy_pj);
    CU_ASSERT_EQUAL(a->macs[i].pe_area_um2, b->macs[i].pe_area_um2);
  }
  CU_ASSERT_EQUAL_FATAL(a->n_srams, b->n_srams);
  for (int i = 0; i < a->n_srams; i++) {
    CU_ASSERT_EQUAL(a->srams[i].kib, b->srams[i].kib);
    CU_ASSERT_EQUAL(a->srams[i].read_pj, b->srams[i].read_pj);
    CU_ASSERT_EQUAL(a->srams[i].write_pj, b->srams[i].write_pj);
    CU_ASSERT_EQUAL(a->srams[i].area_mm2, b->srams[i].area_mm2);
    CU_ASSERT_EQUAL(a->srams[i].leakage_mw, b->srams[i].leakage_mw);
  }
  CU_ASSERT_EQUAL(a->sram_word_bits, b->sram_word_bits);
  CU_ASSERT_EQUAL(a->dram_pj_per_bit, b->dram_pj_per_bit);
  for (int c = 0; c < N_VEC_CLASSES; c++)
    CU_ASSERT_EQUAL(a->vec_pj[c], b->vec_pj[c]);
  CU_ASSERT_EQUAL(a->vec_lane_area_um2, b->vec_lane_area_um2);
  CU_ASSERT_EQUAL(a->leakage_mw_per_mm2, b->leakage_mw_per_mm2);
  CU_ASSERT_EQUAL(a->acc_cell_bits, b->acc_cell_bits);
  CU_ASSERT_EQUAL(a->acc_cell_pj, b->acc_cell_pj);
  CU_ASSERT_EQUAL(a->acc_cell_area_um2, b->acc_cell_area_um2);
}

/* Every field but tech_ref (a file in the XML, a preset name in the preset). */
static void expect_accel_equal(const Accel *a, const Accel *b) {
  CU_ASSERT_STRING_EQUAL(a->name, b->name);
  CU_ASSERT_EQUAL(a->rows, b->rows);
  CU_ASSERT_EQUAL(a->cols, b->cols);
  CU_ASSERT_EQUAL(a->df, b->df);
  CU_ASSERT_EQUAL(a->mac_bits, b->mac_bits);
  CU_ASSERT_EQUAL(a->acc_bits, b->acc_bits);
  CU_ASSERT_EQUAL(a->clock_mhz, b->clock_mhz);
  CU_ASSERT_EQUAL(a->ifmap_sram_kib, b->ifmap_sram_kib);
  CU_ASSERT_EQUAL(a->filter_sram_kib, b->filter_sram_kib);
  CU_ASSERT_EQUAL(a->ofmap_sram_kib, b->ofmap_sram_kib);
  CU_ASSERT_EQUAL(a->word_bits, b->word_bits);
  CU_ASSERT_EQUAL(a->bw_mode_user, b->bw_mode_user);
  CU_ASSERT_EQUAL(a->dram_bw_words, b->dram_bw_words);
  CU_ASSERT_EQUAL(a->dram_pj_per_bit, b->dram_pj_per_bit);
  CU_ASSERT_EQUAL(a->vec.lanes, b->vec.lanes);
  for (int c = 0; c < N_VEC_CLASSES; c++)
    CU_ASSERT_EQUAL(a->vec.cycles_per_op[c], b->vec.cycles_per_op[c]);
  expect_tech_equal(&a->tech, &b->tech);
}

/* ------------------------------------------------------------------------------------------
 * Presets and shipped files
 * ------------------------------------------------------------------------------------------ */
static void test_presets(void) {
  Diag d;
  int n;
  const char *const *names = arch_preset_names(&n);
  CU_ASSERT_EQUAL(n, 4);
  for (int i = 0; i < n; i++) {
    Accel a;
    diag_init(&d);
    CU_ASSERT_TRUE_FATAL(arch_preset(names[i], &a));
    CU_ASSERT_STRING_EQUAL(a.name, names[i]);
    CU_ASSERT_EQUAL(arch_check(&a, names[i], &d), XDL_OK);
  }
  Accel a;
  CU_ASSERT_TRUE(arch_preset("eyeriss-like", &a));
  CU_ASSERT_EQUAL(a.rows, 12);
  CU_ASSERT_EQUAL(a.cols, 14);
  CU_ASSERT_EQUAL(a.df, DF_WS);
  CU_ASSERT_TRUE(arch_preset("capsacc-like", &a));
  CU_ASSERT_STRING_EQUAL(a.tech.name, "45nm-nascaps");
  CU_ASSERT_FALSE(arch_preset("no-such-accel", &a));

  const char *const *tnames = tech_preset_names(&n);
  CU_ASSERT_EQUAL(n, 2);
  for (int i = 0; i < n; i++) {
    Tech t;
    diag_init(&d);
    CU_ASSERT_TRUE_FATAL(tech_preset(tnames[i], &t));
    CU_ASSERT_EQUAL(tech_check(&t, tnames[i], &d), XDL_OK);
  }
  Tech t;
  CU_ASSERT_FALSE(tech_preset("7nm-dreams", &t));
}

static void test_shipped_equal_presets(void) {
  int n;
  const char *const *names = arch_preset_names(&n);
  for (int i = 0; i < n; i++) {
    char file[128];
    snprintf(file, sizeof file, "%s.xml", names[i]);
    char *path = shipped(file);
    Accel from_xml, preset;
    Diag d;
    diag_init(&d);
    XdlStatus st = arch_load_xml(path, &from_xml, &d);
    if (st != XDL_OK) fprintf(stderr, "\n  %s\n", d.msg);
    CU_ASSERT_EQUAL_FATAL(st, XDL_OK);
    CU_ASSERT_TRUE_FATAL(arch_preset(names[i], &preset));
    expect_accel_equal(&from_xml, &preset);
    free(path);
  }
  const char *const *tnames = tech_preset_names(&n);
  for (int i = 0; i < n; i++) {
    char file[128];
    snprintf(file, sizeof file, "%s.xml", tnames[i]);
    char *path = shipped(file);
    Tech from_xml, preset;
    Diag d;
    diag_init(&d);
    XdlStatus st = tech_load_xml(path, &from_xml, &d);
    if (st != XDL_OK) fprintf(stderr, "\n  %s\n", d.msg);
    CU_ASSERT_EQUAL_FATAL(st, XDL_OK);
    CU_ASSERT_TRUE_FATAL(tech_preset(tnames[i], &preset));
    expect_tech_equal(&from_xml, &preset);
    free(path);
  }
}

/* A technology named by preset instead of by file; the schema found through the environment
 * variable (and a wrong one falling back to the compiled-in directory). */
static void test_tech_ref_preset_and_schema_dir(void) {
  char *path = write_tmp("ref_preset.xml", accel_text(0, NULL, "45nm-nascaps"));
  Accel a;
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(arch_load_xml(path, &a, &d), XDL_OK);
  CU_ASSERT_STRING_EQUAL(a.tech.name, "45nm-nascaps");
  CU_ASSERT_STRING_EQUAL(a.tech_ref, "45nm-nascaps");
  CU_ASSERT_EQUAL(a.dram_pj_per_bit, -1);
  CU_ASSERT_EQUAL(a.rows, 16);
  CU_ASSERT_EQUAL(a.cols, 8);

  char *dir = tu_source("models/accel");
  setenv("XDL_ACCEL_SCHEMA_DIR", dir, 1);
  diag_init(&d);
  CU_ASSERT_EQUAL(arch_load_xml(path, &a, &d), XDL_OK);
  setenv("XDL_ACCEL_SCHEMA_DIR", "/nonexistent", 1);
  diag_init(&d);
  CU_ASSERT_EQUAL(arch_load_xml(path, &a, &d), XDL_OK);
  unsetenv("XDL_ACCEL_SCHEMA_DIR");
  free(dir);
  free(path);
}

/* ------------------------------------------------------------------------------------------
 * Lookups
 * ------------------------------------------------------------------------------------------ */
static void test_mac_lookup(void) {
  Tech h, nc;
  CU_ASSERT_TRUE_FATAL(tech_preset("45nm-horowitz", &h));
  CU_ASSERT_TRUE_FATAL(tech_preset("45nm-nascaps", &nc));
  CU_ASSERT_EQUAL(tech_mac_pj(&h, 8), 0.23); /* int8 mult 0.2 + add 0.03 */
  CU_ASSERT_EQUAL(tech_mac_pj(&h, 4), 0.23); /* nearest width at or above */
  CU_ASSERT_EQUAL(tech_mac_pj(&h, 12), 0.85);
  CU_ASSERT_EQUAL(tech_mac_pj(&h, 16), 0.85); /* the int row, not fp16's 1.5 */
  CU_ASSERT_EQUAL(tech_mac_pj(&h, 32), 3.2);
  CU_ASSERT_TRUE(near(tech_mac_pj(&h, 64), 12.8, 1e-12)); /* 3.2 x (64/32)^2 */
  CU_ASSERT_EQUAL(tech_pe_area_um2(&h, 16), 1240);
  CU_ASSERT_TRUE(near(tech_pe_area_um2(&h, 64), 19840, 1e-12));
  CU_ASSERT_EQUAL(tech_mac_pj(&nc, 8), 1.5508); /* 0.7754 mW x 2 ns */
  CU_ASSERT_TRUE(near(tech_mac_pj(&nc, 16), 6.2032, 1e-12));
  CU_ASSERT_EQUAL(tech_pe_area_um2(&nc, 8), 1656.16);
  CU_ASSERT_TRUE(near(tech_pe_area_um2(&nc, 16), 6624.64, 1e-12));
}

static void test_sram_lookup(void) {
  Tech h;
  CU_ASSERT_TRUE_FATAL(tech_preset("45nm-horowitz", &h));
  /* Exact at table rows, per 64-bit access. */
  CU_ASSERT_EQUAL(tech_sram_read_pj(&h, 8, 64), 5.26);
  CU_ASSERT_EQUAL(tech_sram_write_pj(&h, 16, 64), 9.023);
  CU_ASSERT_EQUAL(tech_sram_area_mm2(&h, 1024), 5.2);
  CU_ASSERT_EQUAL(tech_sram_leakage_mw(&h, 1), 0.5729);
  CU_ASSERT_EQUAL(tech_sram_leakage_mw(&h, 2048), 655.4);
  /* Word width scales linearly: an 8-bit access to the 8 KiB macro is 5.26 / 8. */
  CU_ASSERT_TRUE(near(tech_sram_read_pj(&h, 8, 8), 0.6575, 1e-12));
  /* Log-log midpoint between 8 and 16 KiB (at sqrt(128) KiB) is the geometric mean:
   * sqrt(5.26 x 8.846) = sqrt(46.52996) = 6.821287... */
  CU_ASSERT_TRUE(near(tech_sram_read_pj(&h, sqrt(128.0), 64), 6.8212870, 1e-7));
  /* Beyond the last row: the 1024-2048 power law, doubled capacity: 336.6^2 / 200.2. */
  CU_ASSERT_TRUE(near(tech_sram_read_pj(&h, 4096, 64), 565.93187, 1e-7));
  /* Below the first row: the 1-2 KiB power law, halved capacity: 1.106^2 / 1.86. */
  CU_ASSERT_TRUE(near(tech_sram_read_pj(&h, 0.5, 64), 0.65765376, 1e-7));
  CU_ASSERT_EQUAL(tech_sram_area_mm2(&h, 0), 0);

  /* A hand-made two-row table: 2 pJ at 1 KiB, 20 pJ at 100 KiB; 10 KiB is the log midpoint,
   * so read = sqrt(2 x 20) = 6.3245553; area 0.01 -> 1 mm^2 gives 0.1 at 10 KiB. */
  Tech t = {
      .srams = {{.kib = 1, .read_pj = 2, .write_pj = 2, .area_mm2 = 0.01, .leakage_mw = 1},
                {.kib = 100, .read_pj = 20, .write_pj = 2, .area_mm2 = 1, .leakage_mw = 1}},
      .n_srams = 2,
      .sram_word_bits = 32,
  };
  CU_ASSERT_TRUE(near(tech_sram_read_pj(&t, 10, 32), 6.3245553, 1e-7));
  CU_ASSERT_TRUE(near(tech_sram_read_pj(&t, 10, 16), 3.1622777, 1e-7));
  CU_ASSERT_TRUE(near(tech_sram_area_mm2(&t, 10), 0.1, 1e-12));
  CU_ASSERT_TRUE(near(tech_sram_write_pj(&t, 1000, 32), 2, 1e-12));
  CU_ASSERT_TRUE(near(tech_sram_area_mm2(&t, 1000), 10, 1e-12));
}

static void test_systolic_config(void) {
  Accel a;
  CU_ASSERT_TRUE_FATAL(arch_preset("tpu-like", &a));
  SystolicConfig c = arch_systolic_config(&a);
  CU_ASSERT_EQUAL(c.rows, 128);
  CU_ASSERT_EQUAL(c.cols, 128);
  CU_ASSERT_EQUAL(c.df, DF_WS);
  CU_ASSERT_EQUAL(c.ifmap_sram_words, 6144 * 1024);
  CU_ASSERT_EQUAL(c.filter_sram_words, 64 * 1024);
  CU_ASSERT_EQUAL(c.ofmap_sram_words, 1024 * 1024);
  CU_ASSERT_EQUAL(c.word_bytes, 1);
  CU_ASSERT_EQUAL(c.bw_mode_user, 0);
  CU_ASSERT_EQUAL(c.filter_offset, 10000000);
  CU_ASSERT_EQUAL(c.ofmap_offset, 20000000);
  CU_ASSERT_TRUE_FATAL(arch_preset("eyeriss-like", &a));
  c = arch_systolic_config(&a);
  CU_ASSERT_EQUAL(c.ifmap_sram_words, 36 * 1024 * 8 / 16);
  CU_ASSERT_EQUAL(c.word_bytes, 2);
  CU_ASSERT_TRUE_FATAL(arch_preset("edge-16x16", &a));
  c = arch_systolic_config(&a);
  CU_ASSERT_EQUAL(c.df, DF_OS);
  CU_ASSERT_EQUAL(c.bw_mode_user, 1);
  CU_ASSERT_EQUAL(c.dram_bw_words, 8);
  a.word_bits = 12;
  a.dram_bw_words = 2.6;
  c = arch_systolic_config(&a);
  CU_ASSERT_EQUAL(c.word_bytes, 2);
  CU_ASSERT_EQUAL(c.dram_bw_words, 3);
  CU_ASSERT_EQUAL(c.ifmap_sram_words, 32 * 8192 / 12);
}

/* ------------------------------------------------------------------------------------------
 * Bad input
 * ------------------------------------------------------------------------------------------ */
/* Loads an accelerator whose line `line` is replaced by repl; expects an error at err_line. */
static void expect_accel_error(const char *name, int line, const char *repl, int err_line) {
  char *tech = shipped("45nm-horowitz.xml");
  char *path = write_tmp(name, accel_text(line, repl, tech));
  Accel a;
  Diag d;
  diag_init(&d);
  expect_error_at(arch_load_xml(path, &a, &d), &d, path, err_line);
  free(path);
  free(tech);
}

static void test_schema_violations(void) {
  expect_accel_error("bad_dataflow.xml", 3, "  <array rows=\"16\" cols=\"8\" dataflow=\"rs\"/>", 3);
  expect_accel_error("negative_size.xml", 6,
                     "  <sram ifmap_kib=\"-64\" filter_kib=\"32\" ofmap_kib=\"16\" "
                     "word_bits=\"8\"/>",
                     6);
  expect_accel_error("zero_rows.xml", 3, "  <array rows=\"0\" cols=\"8\" dataflow=\"ws\"/>", 3);
  expect_accel_error("bad_number.xml", 5, "  <clock mhz=\"fast\"/>", 5);
  expect_accel_error("bad_mode.xml", 7, "  <dram bandwidth_words_per_cycle=\"8\" mode=\"x\"/>", 7);
  /* Missing <clock>: the schema complains at the element that came instead. */
  expect_accel_error("missing_elem.xml", 5, "", 6);
  expect_accel_error("missing_attr.xml", 4, "  <mac operand_bits=\"8\"/>", 4);
  expect_accel_error("unknown_elem.xml", 5, "  <clock mhz=\"500\"/><turbo/>", 5);
  expect_accel_error("unknown_attr.xml", 5, "  <clock mhz=\"500\" boost=\"1\"/>", 5);
  expect_accel_error("malformed.xml", 4, "  <mac operand_bits=8 accumulator_bits=\"32\"/>", 4);
  /* Semantic: an accumulator narrower than its operands. */
  expect_accel_error("narrow_acc.xml", 4, "  <mac operand_bits=\"16\" accumulator_bits=\"8\"/>", 4);
  /* Semantic: an SRAM smaller than one word. */
  expect_accel_error("tiny_sram.xml", 6,
                     "  <sram ifmap_kib=\"0.0001\" filter_kib=\"32\" ofmap_kib=\"16\" "
                     "word_bits=\"64\"/>",
                     6);
  /* Unclosed root: the parser notices at the end of the file. */
  expect_accel_error("unclosed.xml", 10, "", 11);

  /* A missing technology file: the line of <technology> in the accelerator file. */
  char *path = write_tmp("missing_tech.xml", accel_text(0, NULL, "no-such-tech.xml"));
  Accel a;
  Diag d;
  diag_init(&d);
  expect_error_at(arch_load_xml(path, &a, &d), &d, path, 9);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "no-such-tech.xml"));
  free(path);

  /* A missing file; a technology file given as an accelerator. */
  diag_init(&d);
  CU_ASSERT_EQUAL(arch_load_xml("/nonexistent/accel.xml", &a, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "/nonexistent/accel.xml"));
  char *tech = shipped("45nm-horowitz.xml");
  diag_init(&d);
  expect_error_at(arch_load_xml(tech, &a, &d), &d, tech, 14);
  free(tech);
}

static const char k_tech_text[] =
    "<?xml version=\"1.0\"?>\n"
    "<technology name=\"tiny\" node=\"45nm\">\n"
    "  <mac bits=\"8\" type=\"int\" energy_pj=\"0.5\" pe_area_um2=\"300\"/>\n"
    "  <srams word_bits=\"32\">\n"
    "    <sram kib=\"4\" read_pj=\"2\" write_pj=\"2\" area_mm2=\"0.02\" leakage_mw=\"1\"/>\n"
    "    <sram kib=\"%s\" read_pj=\"4\" write_pj=\"4\" area_mm2=\"0.04\" leakage_mw=\"2\"/>\n"
    "  </srams>\n"
    "  <dram pj_per_bit=\"%s\"/>\n"
    "  <vector elementwise_pj=\"1\" special_pj=\"4\" reduce_pj=\"1\" softmax_pj=\"5\"\n"
    "          pool_pj=\"1\" lane_area_um2=\"1000\"/>\n"
    "  <leakage mw_per_mm2=\"10\"/>\n"
    "</technology>\n";

static void test_tech_errors(void) {
  char text[2048];
  Tech t;
  Diag d;
  /* Valid: loads, and an accelerator can reference it by relative path. */
  snprintf(text, sizeof text, k_tech_text, "8", "8");
  char *good = write_tmp("tiny-tech.xml", text);
  diag_init(&d);
  CU_ASSERT_EQUAL(tech_load_xml(good, &t, &d), XDL_OK);
  CU_ASSERT_STRING_EQUAL(t.name, "tiny");
  CU_ASSERT_EQUAL(t.n_srams, 2);
  CU_ASSERT_EQUAL(t.acc_cell_bits, 0);
  char *apath = write_tmp("uses_tiny.xml", accel_text(0, NULL, "tiny-tech.xml"));
  Accel a;
  diag_init(&d);
  CU_ASSERT_EQUAL(arch_load_xml(apath, &a, &d), XDL_OK);
  CU_ASSERT_STRING_EQUAL(a.tech.name, "tiny");
  CU_ASSERT_EQUAL(a.tech.sram_word_bits, 32);

  /* SRAM rows out of order: the line of the offending row. */
  snprintf(text, sizeof text, k_tech_text, "2", "8");
  char *path = write_tmp("unsorted-tech.xml", text);
  diag_init(&d);
  expect_error_at(tech_load_xml(path, &t, &d), &d, path, 6);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "ascending"));
  free(path);

  /* Duplicate capacity: the schema's uniqueness constraint. */
  snprintf(text, sizeof text, k_tech_text, "4", "8");
  path = write_tmp("dup-tech.xml", text);
  diag_init(&d);
  expect_error_at(tech_load_xml(path, &t, &d), &d, path, 6);
  free(path);

  /* A negative DRAM energy, reached through an accelerator: the error names the tech file. */
  snprintf(text, sizeof text, k_tech_text, "8", "-8");
  path = write_tmp("tiny-tech.xml", text);
  diag_init(&d);
  expect_error_at(arch_load_xml(apath, &a, &d), &d, path, 8);
  free(path);
  free(apath);
  free(good);
}

/* Parse and schema errors must go to the Diag only, never to stderr. */
static void test_no_libxml_output(void) {
  char *path = write_tmp("noisy.xml", "<accelerator name=\"x\"><array/>\n<oops></accelerator>\n");
  char *log = write_tmp("stderr.log", "");
  fflush(stderr);
  int saved = dup(2);
  int fd = open(log, O_WRONLY | O_TRUNC);
  CU_ASSERT_TRUE_FATAL(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  close(fd);
  Accel a;
  Diag d;
  diag_init(&d);
  XdlStatus st = arch_load_xml(path, &a, &d);
  char *p2 = write_tmp("invalid.xml", accel_text(3, "  <array rows=\"x\"/>", "y"));
  diag_init(&d);
  XdlStatus st2 = arch_load_xml(p2, &a, &d);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  CU_ASSERT_EQUAL(st, XDL_ERR_INPUT);
  CU_ASSERT_EQUAL(st2, XDL_ERR_INPUT);
  struct stat sb;
  CU_ASSERT_EQUAL(stat(log, &sb), 0);
  CU_ASSERT_EQUAL(sb.st_size, 0);
  free(p2);
  free(log);
  free(path);
}

static void test_arch_check_ranges(void) {
  Accel base, a;
  Diag d;
  CU_ASSERT_TRUE_FATAL(arch_preset("edge-16x16", &base));
#define EXPECT_BAD(stmt, field)                                                                    \
  do {                                                                                             \
    a = base;                                                                                      \
    stmt;                                                                                          \
    diag_init(&d);                                                                                 \
    CU_ASSERT_EQUAL(arch_check(&a, "here", &d), XDL_ERR_INPUT);                                    \
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "here: "));                                               \
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, field));                                                  \
  } while (0)
  EXPECT_BAD(a.rows = 0, "rows");
  EXPECT_BAD(a.cols = 100000, "cols");
  EXPECT_BAD(a.df = (Dataflow)7, "dataflow");
  EXPECT_BAD(a.mac_bits = 0, "operand_bits");
  EXPECT_BAD(a.acc_bits = 4, "accumulator_bits");
  EXPECT_BAD(a.clock_mhz = 0, "mhz");
  EXPECT_BAD(a.clock_mhz = NAN, "mhz");
  EXPECT_BAD(a.filter_sram_kib = -1, "filter_kib");
  EXPECT_BAD(a.ofmap_sram_kib = INFINITY, "ofmap_kib");
  EXPECT_BAD(a.word_bits = 0, "word_bits");
  EXPECT_BAD(a.bw_mode_user = 3, "mode");
  EXPECT_BAD(a.dram_bw_words = 0, "bandwidth");
  EXPECT_BAD(a.dram_pj_per_bit = NAN, "pj_per_bit");
  EXPECT_BAD(a.vec.lanes = 0, "lanes");
  EXPECT_BAD(a.vec.cycles_per_op[VEC_SOFTMAX] = 0, "cycles");
  EXPECT_BAD(a.tech.n_macs = 0, "technology");
  EXPECT_BAD(a.tech.srams[3].kib = 1e9, "ascending");
  EXPECT_BAD((a.tech.n_macs = 1, a.tech.macs[0].is_float = true), "integer");
#undef EXPECT_BAD
  a = base;
  a.dram_pj_per_bit = 12; /* an override is fine */
  diag_init(&d);
  CU_ASSERT_EQUAL(arch_check(&a, "here", &d), XDL_OK);
}

int main(void) {
  snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/xdl_test_arch_XXXXXX");
  if (!mkdtemp(g_tmpdir)) return 1;
  CU_TestInfo tests[] = {
      {"presets", test_presets},
      {"shipped XML equals presets", test_shipped_equal_presets},
      {"technology by preset name; schema dir", test_tech_ref_preset_and_schema_dir},
      {"MAC lookup", test_mac_lookup},
      {"SRAM interpolation", test_sram_lookup},
      {"systolic config", test_systolic_config},
      {"schema violations", test_schema_violations},
      {"technology errors", test_tech_errors},
      {"no libxml2 output", test_no_libxml_output},
      {"arch_check ranges", test_arch_check_ranges},
      CU_TEST_INFO_NULL,
  };
  int rc = tu_run_suite("arch", tests);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmpdir);
  if (system(cmd) != 0) rc = rc ? rc : 1;
  return rc;
}
