/* space.c — design spaces: a base accelerator plus, for any accelerator parameter, a list or a
 * range of values, and constraints that make a point infeasible. Read from XML validated
 * against models/accel/space.xsd (through tech.c's shared reader) or built in (the default
 * space). A point is an index, decoded mixed-radix into one Accel; dse.c sweeps them. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "backend/backend.h"

/* ------------------------------------------------------------------------------------------
 * The parameters a space may sweep
 * ------------------------------------------------------------------------------------------ */
typedef enum ParamKind {
  PK_INT,      /* positive integer in [min, max] */
  PK_POSITIVE, /* real > 0, at most max */
  PK_DATAFLOW, /* os / ws / is, stored as 0 / 1 / 2 */
} ParamKind;

typedef struct ParamInfo {
  const char *name;
  ParamKind kind;
  double max;
  const char *doc;
  bool workload; /* changes the model, not the accelerator (see space_workload_param) */
} ParamInfo;

/* The switch in space_apply_id follows this order. */
static const ParamInfo param_table[] = {
    {"rows", PK_INT, 65536, "PE array rows", false},
    {"cols", PK_INT, 65536, "PE array columns", false},
    {"dataflow", PK_DATAFLOW, 2, "os, ws or is", false},
    {"ifmap_sram_kib", PK_POSITIVE, 16777216, "ifmap SRAM KiB", false},
    {"filter_sram_kib", PK_POSITIVE, 16777216, "filter SRAM KiB", false},
    {"ofmap_sram_kib", PK_POSITIVE, 16777216, "ofmap SRAM KiB", false},
    {"sram_kib", PK_POSITIVE, 16777216, "all three SRAMs, KiB each", false},
    {"dram_bw_words", PK_POSITIVE, 1e6, "DRAM words per cycle (selects USER bandwidth mode)",
     false},
    {"dram_pj_per_bit", PK_POSITIVE, 1e6, "DRAM energy per bit", false},
    {"clock_mhz", PK_POSITIVE, 100000, "clock in MHz", false},
    {"mac_bits", PK_INT, 64, "MAC operand width (also the SRAM word width)", false},
    {"acc_bits", PK_INT, 128, "accumulator width", false},
    {"word_bits", PK_INT, 1024, "SRAM/DRAM word width", false},
    {"vec_lanes", PK_INT, 65536, "vector-unit lanes", false},
    {"routing_iterations", PK_INT, CAPS_MAX_ITERS,
     "capsule routing iterations of the model's compact ClassCaps / 3-D ConvCaps", true},
};
enum { N_PARAM_INFO = sizeof param_table / sizeof *param_table };

static const ParamInfo *param_info(const char *name) {
  int id = space_param_id(name);
  return id < 0 ? NULL : &param_table[id];
}

const char *const *space_param_names(int *count) {
  static const char *names[N_PARAM_INFO];
  for (int i = 0; i < N_PARAM_INFO; i++)
    names[i] = param_table[i].name;
  *count = N_PARAM_INFO;
  return names;
}

int space_param_id(const char *name) {
  for (int i = 0; i < N_PARAM_INFO; i++)
    if (strcmp(param_table[i].name, name) == 0) return i;
  return -1;
}

/* Contract: id indexes param_table and value is valid for it (space_load_xml checks values).
 * The cases follow param_table's order. */
void space_apply_id(Accel *a, int id, double value) {
  int64_t iv = (int64_t)llround(value);
  switch (id) {
  case 0: a->rows = iv; break;
  case 1: a->cols = iv; break;
  case 2: a->df = iv == 0 ? DF_OS : iv == 1 ? DF_WS : DF_IS; break;
  case 3: a->ifmap_sram_kib = value; break;
  case 4: a->filter_sram_kib = value; break;
  case 5: a->ofmap_sram_kib = value; break;
  case 6: a->ifmap_sram_kib = a->filter_sram_kib = a->ofmap_sram_kib = value; break;
  case 7:
    a->dram_bw_words = value;
    a->bw_mode_user = 1;
    break;
  case 8: a->dram_pj_per_bit = value; break;
  case 9: a->clock_mhz = value; break;
  case 10:
    a->mac_bits = a->word_bits = (int)iv;
    if (a->acc_bits < a->mac_bits) a->acc_bits = a->mac_bits;
    break;
  case 11: a->acc_bits = (int)iv; break;
  case 12: a->word_bits = (int)iv; break;
  case 13: a->vec.lanes = iv; break;
  case 14: break; /* routing_iterations: a workload parameter, the Accel is unchanged */
  default: assert(!"unknown space parameter id");
  }
}

bool space_apply(Accel *a, const char *param, double value) {
  int id = space_param_id(param);
  if (id < 0) return false;
  space_apply_id(a, id, value);
  return true;
}

/* Point i's index along each param: mixed radix, the last param varying fastest. */
static void point_digits(const DesignSpace *s, int64_t i, int *digits) {
  for (int p = s->n_params - 1; p >= 0; p--) {
    int n = s->params[p].n_values;
    digits[p] = (int)(i % n);
    i /= n;
  }
}

int space_workload_param(const DesignSpace *s) {
  for (int p = 0; p < s->n_params; p++) {
    int id = space_param_id(s->params[p].name);
    if (id >= 0 && param_table[id].workload) return p;
  }
  return -1;
}

int space_point_workload(const DesignSpace *s, int64_t i) {
  int w = space_workload_param(s);
  if (w < 0) return 0;
  int digits[SPACE_MAX_PARAMS];
  point_digits(s, i, digits);
  return digits[w];
}

void space_point_values(const DesignSpace *s, int64_t i, double *values) {
  int digits[SPACE_MAX_PARAMS];
  point_digits(s, i, digits);
  for (int p = 0; p < s->n_params; p++)
    values[p] = s->params[p].values[digits[p]];
}

void space_point(const DesignSpace *s, int64_t i, Accel *out) {
  int ids[SPACE_MAX_PARAMS];
  for (int p = 0; p < s->n_params; p++)
    ids[p] = space_param_id(s->params[p].name);
  space_point_ids(s, ids, i, out);
}

void space_point_ids(const DesignSpace *s, const int *ids, int64_t i, Accel *out) {
  double values[SPACE_MAX_PARAMS];
  space_point_values(s, i, values);
  *out = s->base;
  for (int p = 0; p < s->n_params; p++)
    space_apply_id(out, ids[p], values[p]);
}

char *space_format_value(const SpaceParam *p, double v, char *buf, size_t size) {
  if (strcmp(p->name, "dataflow") == 0)
    snprintf(buf, size, "%s", systolic_dataflow_name(v == 0 ? DF_OS : v == 1 ? DF_WS : DF_IS));
  else
    snprintf(buf, size, "%.9g", v);
  return buf;
}

/* ------------------------------------------------------------------------------------------
 * The embedded default space
 * ------------------------------------------------------------------------------------------ */
/* On the "tpu-like" preset (8-bit MACs, 700 MHz, 45 nm): square and non-square arrays from 8
 * to 256 on a side, every dataflow, four SRAM sizes (all three buffers), three DRAM
 * bandwidths (USER mode, so a narrow port stalls) and three vector widths:
 * 6 x 6 x 3 x 4 x 3 x 3 = 3888 points over 1296 systolic configurations. No constraints. */
void space_default(DesignSpace *out) {
  static const struct {
    const char *name;
    double values[8];
    int n;
  } defaults[] = {
      {"rows", {8, 16, 32, 64, 128, 256}, 6},
      {"cols", {8, 16, 32, 64, 128, 256}, 6},
      {"dataflow", {0, 1, 2}, 3},
      {"sram_kib", {32, 128, 512, 2048}, 4},
      {"dram_bw_words", {8, 32, 128}, 3},
      {"vec_lanes", {16, 64, 256}, 3},
  };
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "default");
  bool ok = arch_preset("tpu-like", &out->base);
  assert(ok);
  (void)ok;
  out->n_points = 1;
  for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
    SpaceParam *p = &out->params[out->n_params++];
    snprintf(p->name, sizeof p->name, "%s", defaults[i].name);
    p->n_values = defaults[i].n;
    memcpy(p->values, defaults[i].values, (size_t)p->n_values * sizeof *p->values);
    out->n_points *= p->n_values;
  }
}

/* ------------------------------------------------------------------------------------------
 * Reading a space file
 * ------------------------------------------------------------------------------------------ */
enum { SPACE_MAX_POINTS = 1 << 24 };

/* Where errors point: the file and the line of the element at hand. */
typedef struct Where {
  const char *path;
  long line;
} Where;

/* Checks value *v for param pi (rounding integers that are within 1e-9 of one) and writes the
 * reason into why when it is not acceptable. */
static bool value_ok(const ParamInfo *pi, double *v, char *why, size_t size) {
  if (!isfinite(*v) || *v <= 0) {
    snprintf(why, size, "must be a positive number");
    return false;
  }
  if (*v > pi->max) {
    snprintf(why, size, "exceeds %.9g", pi->max);
    return false;
  }
  if (pi->kind == PK_INT) {
    double r = round(*v);
    if (fabs(*v - r) > 1e-9 * fmax(1, r)) {
      snprintf(why, size, "must be an integer");
      return false;
    }
    *v = r;
  }
  return true;
}

/* Appends value v to p, rejecting bad values, repeats and overflow of SPACE_MAX_VALUES. */
static XdlStatus add_value(const Where *w, const ParamInfo *pi, SpaceParam *p, double v,
                           const char *text, Diag *d) {
  char why[96];
  if (pi->kind != PK_DATAFLOW && !value_ok(pi, &v, why, sizeof why))
    return diag_error(d, XDL_ERR_INPUT, "%s:%ld: param '%s': value %s %s", w->path, w->line,
                      pi->name, text, why);
  for (int i = 0; i < p->n_values; i++)
    if (p->values[i] == v)
      return diag_error(d, XDL_ERR_INPUT, "%s:%ld: param '%s': value %s given twice", w->path,
                        w->line, pi->name, text);
  if (p->n_values >= SPACE_MAX_VALUES)
    return diag_error(d, XDL_ERR_INPUT, "%s:%ld: param '%s': more than %d values", w->path, w->line,
                      pi->name, SPACE_MAX_VALUES);
  p->values[p->n_values++] = v;
  return XDL_OK;
}

/* <values>a b c</values>: numbers, or os/ws/is for the dataflow. */
static XdlStatus read_values(const Where *w, xmlNode *n, const ParamInfo *pi, SpaceParam *p,
                             Diag *d) {
  xmlChar *text = xmlNodeGetContent(n);
  XdlStatus st = XDL_OK;
  char *save = NULL;
  for (char *tok = text ? strtok_r((char *)text, " \t\r\n", &save) : NULL; tok;
       tok = strtok_r(NULL, " \t\r\n", &save)) {
    double v;
    if (pi->kind == PK_DATAFLOW) {
      v = strcmp(tok, "os") == 0 ? 0 : strcmp(tok, "ws") == 0 ? 1 : strcmp(tok, "is") == 0 ? 2 : -1;
      if (v < 0) {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%ld: param 'dataflow': '%s' is not os, ws or is",
                        w->path, w->line, tok);
        goto fail;
      }
    } else {
      char *end;
      errno = 0;
      v = strtod(tok, &end);
      if (*end || errno) {
        st = diag_error(d, XDL_ERR_INPUT, "%s:%ld: param '%s': '%s' is not a number", w->path,
                        w->line, pi->name, tok);
        goto fail;
      }
    }
    if ((st = add_value(w, pi, p, v, tok, d)) != XDL_OK) goto fail;
  }
  if (p->n_values == 0)
    st = diag_error(d, XDL_ERR_INPUT, "%s:%ld: param '%s' has no values (a space with 0 points)",
                    w->path, w->line, pi->name);
fail:
  xmlFree(text);
  return st;
}

/* <range start stop step|factor/>: start, start + step, ... or start, start x factor, ... up to
 * stop (inclusive, with a relative slack of 1e-9 for rounding). */
static XdlStatus read_range(const Where *w, xmlNode *n, const ParamInfo *pi, SpaceParam *p,
                            Diag *d) {
  double start = 0, stop = 0, step = 0, factor = 0;
  xml_num_attr(n, "start", &start);
  xml_num_attr(n, "stop", &stop);
  bool has_step = xml_num_attr(n, "step", &step), has_factor = xml_num_attr(n, "factor", &factor);
  const char *what = NULL;
  if (pi->kind == PK_DATAFLOW)
    what = "takes a list of values (os ws is), not a range";
  else if (has_step == has_factor)
    what = "a range needs exactly one of step and factor";
  else if (has_step && step == 0)
    what = "step 0 never reaches stop";
  else if (has_step && !(step > 0))
    what = "step must be positive";
  else if (has_factor && !(factor > 1))
    what = "factor must be greater than 1";
  else if (!(start <= stop))
    what = "empty range (start > stop)";
  if (what)
    return diag_error(d, XDL_ERR_INPUT, "%s:%ld: param '%s': %s", w->path, w->line, pi->name, what);
  double limit = stop + 1e-9 * fabs(stop);
  for (int k = 0;; k++) {
    double v = has_step ? start + (double)k * step : start * pow(factor, k);
    if (!(v <= limit)) break;
    if (k >= SPACE_MAX_VALUES)
      return diag_error(d, XDL_ERR_INPUT, "%s:%ld: param '%s': the range has more than %d values",
                        w->path, w->line, pi->name, SPACE_MAX_VALUES);
    char text[64];
    snprintf(text, sizeof text, "%.9g", v);
    XdlStatus st = add_value(w, pi, p, v, text, d);
    if (st != XDL_OK) return st;
  }
  return XDL_OK;
}

/* One <param name=...> with its values or range. */
static XdlStatus read_param(const char *path, xmlNode *n, DesignSpace *s, Diag *d) {
  Where w = {path, xmlGetLineNo(n)};
  char name[64];
  xml_str_attr(n, "name", name, sizeof name);
  const ParamInfo *pi = param_info(name);
  if (!pi) {
    char known[512] = "";
    for (int i = 0; i < N_PARAM_INFO; i++) {
      size_t len = strlen(known);
      snprintf(known + len, sizeof known - len, "%s%s", i ? " " : "", param_table[i].name);
    }
    return diag_error(d, XDL_ERR_INPUT, "%s:%ld: unknown parameter '%s' (known: %s)", path, w.line,
                      name, known);
  }
  for (int i = 0; i < s->n_params; i++)
    if (strcmp(s->params[i].name, name) == 0)
      return diag_error(d, XDL_ERR_INPUT, "%s:%ld: parameter '%s' given twice", path, w.line, name);
  if (s->n_params >= SPACE_MAX_PARAMS)
    return diag_error(d, XDL_ERR_INPUT, "%s:%ld: more than %d parameters", path, w.line,
                      SPACE_MAX_PARAMS);
  SpaceParam *p = &s->params[s->n_params++];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", pi->name);
  for (xmlNode *c = n->children; c; c = c->next) {
    w.line = xmlGetLineNo(c);
    if (xml_is_elem(c, "values")) return read_values(&w, c, pi, p, d);
    if (xml_is_elem(c, "range")) return read_range(&w, c, pi, p, d);
  }
  return diag_error(d, XDL_ERR_INPUT, "%s:%ld: param '%s' has no values", path, w.line, name);
}

/* base="...": an accelerator file (relative to the space file) when it names one, else a
 * preset. */
static XdlStatus read_base(const Where *w, const char *ref, Accel *out, Diag *d) {
  char file[1024];
  const char *slash = strrchr(w->path, '/');
  if (ref[0] == '/' || !slash)
    snprintf(file, sizeof file, "%s", ref);
  else
    snprintf(file, sizeof file, "%.*s/%s", (int)(slash - w->path), w->path, ref);
  struct stat sb;
  bool is_file = stat(file, &sb) == 0 && S_ISREG(sb.st_mode);
  if (is_file || strchr(ref, '/') || strstr(ref, ".xml")) {
    if (!is_file)
      return diag_error(d, XDL_ERR_INPUT, "%s:%ld: base accelerator '%s' not found", w->path,
                        w->line, file);
    return arch_load_xml(file, out, d);
  }
  if (arch_preset(ref, out)) return XDL_OK;
  int n = 0;
  const char *const *names = arch_preset_names(&n);
  char known[256] = "";
  for (int i = 0; i < n; i++) {
    size_t len = strlen(known);
    snprintf(known + len, sizeof known - len, "%s%s", i ? " " : "", names[i]);
  }
  return diag_error(d, XDL_ERR_INPUT,
                    "%s:%ld: base '%s' is neither an accelerator file nor a preset (%s)", w->path,
                    w->line, ref, known);
}

/* Every value of every param must make a valid accelerator on the base. */
static XdlStatus check_values(const DesignSpace *s, const long *lines, Diag *d) {
  Accel *a = xdl_malloc(sizeof *a);
  if (!a) return diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory", s->path);
  XdlStatus st = XDL_OK;
  for (int p = 0; p < s->n_params && st == XDL_OK; p++) {
    for (int v = 0; v < s->params[p].n_values && st == XDL_OK; v++) {
      char where[700], val[32];
      *a = s->base;
      space_apply(a, s->params[p].name, s->params[p].values[v]);
      snprintf(where, sizeof where, "%s:%ld: param '%s' = %s", s->path, lines[p], s->params[p].name,
               space_format_value(&s->params[p], s->params[p].values[v], val, sizeof val));
      st = arch_check(a, where, d);
    }
  }
  xdl_free(a);
  return st;
}

/* Contract: on XDL_OK *out holds the space (n_points >= 1, every value valid on the base); on
 * error *out is unspecified and d holds "FILE:LINE: message". */
XdlStatus space_load_xml(const char *path, DesignSpace *out, Diag *d) {
  xmlDoc *doc = NULL;
  long lines[SPACE_MAX_PARAMS] = {0};
  memset(out, 0, sizeof *out);
  XdlStatus st = xml_read_validated(path, "space.xsd", &doc, d);
  if (st != XDL_OK) goto fail;
  snprintf(out->path, sizeof out->path, "%s", path);
  xmlNode *root = xmlDocGetRootElement(doc);
  Where w = {path, xmlGetLineNo(root)};
  char base[256];
  xml_str_attr(root, "base", base, sizeof base);
  if (!xml_str_attr(root, "name", out->name, sizeof out->name)) {
    const char *stem = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    snprintf(out->name, sizeof out->name, "%.*s", (int)strcspn(stem, "."), stem);
  }
  if ((st = read_base(&w, base, &out->base, d)) != XDL_OK) goto fail;
  for (xmlNode *c = root->children; c; c = c->next) {
    if (xml_is_elem(c, "param")) {
      lines[out->n_params < SPACE_MAX_PARAMS ? out->n_params : 0] = xmlGetLineNo(c);
      if ((st = read_param(path, c, out, d)) != XDL_OK) goto fail;
    } else if (xml_is_elem(c, "constraints")) {
      SpaceConstraints *l = &out->limits;
      out->limits_line = (int)xmlGetLineNo(c);
      xml_num_attr(c, "max_area_mm2", &l->max_area_mm2);
      xml_num_attr(c, "max_power_w", &l->max_power_w);
      xml_num_attr(c, "max_latency_s", &l->max_latency_s);
      xml_num_attr(c, "max_memory_bytes", &l->max_memory_bytes);
      xml_num_attr(c, "max_sram_bytes", &l->max_sram_bytes);
    }
  }
  out->n_points = 1;
  for (int p = 0; p < out->n_params; p++) {
    out->n_points *= out->params[p].n_values;
    if (out->n_points > SPACE_MAX_POINTS) {
      st = diag_error(d, XDL_ERR_INPUT, "%s:%ld: the space has more than %d points", path, lines[p],
                      SPACE_MAX_POINTS);
      goto fail;
    }
  }
  st = check_values(out, lines, d);

fail:
  if (doc) xmlFreeDoc(doc);
  return st;
}
