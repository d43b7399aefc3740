/* graph.c — the Graph container: tensors and nodes in growable arrays referenced by uint32_t
 * ids, names interned in the graph's arena and looked up through open-addressing hash maps,
 * typed attributes, and checked dimension arithmetic. */
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

/* ---- name map ---- */
static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static uint32_t map_get(const NameMap *m, const char *key) {
  if (!m->cap) return IR_NONE;
  uint32_t mask = m->cap - 1;
  for (uint32_t i = (uint32_t)hash_str(key) & mask;; i = (i + 1) & mask) {
    if (!m->keys[i]) return IR_NONE;
    if (strcmp(m->keys[i], key) == 0) return m->vals[i];
  }
}

static bool map_put(NameMap *m, const char *key, uint32_t val) {
  if ((m->count + 1) * 2 > m->cap) { /* keep load <= 1/2 */
    uint32_t ncap = m->cap ? m->cap * 2 : 64;
    const char **nkeys = xdl_calloc(ncap, sizeof *nkeys);
    uint32_t *nvals = xdl_calloc(ncap, sizeof *nvals);
    if (!nkeys || !nvals) {
      xdl_free(nkeys);
      xdl_free(nvals);
      return false;
    }
    for (uint32_t i = 0; i < m->cap; i++) {
      if (!m->keys[i]) continue;
      uint32_t j = (uint32_t)hash_str(m->keys[i]) & (ncap - 1);
      while (nkeys[j]) j = (j + 1) & (ncap - 1);
      nkeys[j] = m->keys[i];
      nvals[j] = m->vals[i];
    }
    xdl_free(m->keys);
    xdl_free(m->vals);
    m->keys = nkeys;
    m->vals = nvals;
    m->cap = ncap;
  }
  uint32_t mask = m->cap - 1;
  uint32_t i = (uint32_t)hash_str(key) & mask;
  while (m->keys[i]) i = (i + 1) & mask;
  m->keys[i] = key;
  m->vals[i] = val;
  m->count++;
  return true;
}

static void map_free(NameMap *m) {
  xdl_free(m->keys);
  xdl_free(m->vals);
  memset(m, 0, sizeof *m);
}

/* ---- graph ---- */
Graph *ir_graph_new(void) {
  Graph *g = xdl_calloc(1, sizeof *g);
  if (!g) return NULL;
  arena_init(&g->arena);
  g->name = "";
  g->path = "";
  return g;
}

void ir_graph_free(Graph *g) {
  if (!g) return;
  xdl_free(g->tensors);
  xdl_free(g->nodes);
  xdl_free(g->inputs);
  xdl_free(g->outputs);
  map_free(&g->tensor_names);
  map_free(&g->node_names);
  arena_free(&g->arena);
  xdl_free(g);
}

uint32_t ir_find_tensor(const Graph *g, const char *name) {
  return map_get(&g->tensor_names, name);
}

uint32_t ir_find_node(const Graph *g, const char *name) { return map_get(&g->node_names, name); }

uint32_t ir_add_tensor(Graph *g, const char *name, DataType dt, TensorRole role, int rank,
                       const int64_t *dims, Diag *d) {
  if (map_get(&g->tensor_names, name) != IR_NONE) {
    diag_error(d, XDL_ERR_INPUT, "tensor '%s' is defined twice", name);
    return IR_NONE;
  }
  if (rank > IR_MAX_RANK) {
    diag_error(d, XDL_ERR_INPUT, "tensor '%s' has rank %d, more than the supported %d", name,
               rank, IR_MAX_RANK);
    return IR_NONE;
  }
  if (g->n_tensors == IR_NONE - 1 ||
      !xdl_grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof(Tensor)))
    goto oom;
  const char *iname = arena_strdup(&g->arena, name);
  if (!iname || !map_put(&g->tensor_names, iname, g->n_tensors)) goto oom;
  Tensor *t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof *t);
  t->name = iname;
  t->dtype = dt;
  t->role = role;
  t->rank = rank;
  if (rank > 0 && dims) memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
  t->producer = IR_NONE;
  t->data.ext_offset = t->data.ext_length = -1;
  return g->n_tensors++;
oom:
  diag_error(d, XDL_ERR_INTERNAL, "out of memory adding tensor '%s'", name);
  return IR_NONE;
}

uint32_t ir_add_tensor_unique(Graph *g, const char *base, DataType dt, TensorRole role,
                              int rank, const int64_t *dims, Diag *d) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", base);
  while (map_get(&g->tensor_names, buf) != IR_NONE) /* the serial keeps repeats O(1) */
    snprintf(buf, sizeof buf, "%.480s_%u", base, ++g->name_serial);
  return ir_add_tensor(g, buf, dt, role, rank, dims, d);
}

uint32_t ir_add_node(Graph *g, OpKind op, const char *name, const uint32_t *inputs,
                     int n_inputs, const uint32_t *outputs, int n_outputs, Diag *d) {
  char buf[512];
  if (!name || !*name) {
    snprintf(buf, sizeof buf, "%s_%u", ir_ops[op].name, g->n_nodes);
    name = buf;
  }
  if (map_get(&g->node_names, name) != IR_NONE) {
    /* ONNX does not require unique node names; keep ours unique for lookups and reports. A
     * graph-wide serial keeps this O(1) however often a name repeats. */
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", name);
    do
      snprintf(buf, sizeof buf, "%.480s#%u", tmp, ++g->name_serial);
    while (map_get(&g->node_names, buf) != IR_NONE);
    name = buf;
  }
  if (g->n_nodes == IR_NONE - 1 ||
      !xdl_grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(Node)))
    goto oom;
  Node *nd = &g->nodes[g->n_nodes];
  memset(nd, 0, sizeof *nd);
  nd->op = op;
  nd->name = arena_strdup(&g->arena, name);
  nd->inputs = arena_memdup(&g->arena, inputs, (size_t)n_inputs * sizeof *inputs);
  nd->outputs = arena_memdup(&g->arena, outputs, (size_t)n_outputs * sizeof *outputs);
  if (!nd->name || !nd->inputs || !nd->outputs) goto oom;
  if (!map_put(&g->node_names, nd->name, g->n_nodes)) goto oom;
  nd->origin = nd->name;
  nd->n_inputs = n_inputs;
  nd->n_outputs = n_outputs;
  nd->phase = PHASE_FORWARD;
  nd->caps_role = CAPS_NONE;
  nd->caps_iter = -1;
  nd->fwd_node = IR_NONE;
  for (int i = 0; i < n_outputs; i++)
    if (outputs[i] != IR_NONE) g->tensors[outputs[i]].producer = g->n_nodes;
  return g->n_nodes++;
oom:
  diag_error(d, XDL_ERR_INTERNAL, "out of memory adding node '%s'", name);
  return IR_NONE;
}

bool ir_graph_add_input(Graph *g, uint32_t t) {
  if (!xdl_grow((void **)&g->inputs, &g->cap_inputs, g->n_inputs + 1, sizeof(uint32_t)))
    return false;
  g->inputs[g->n_inputs++] = t;
  return true;
}

bool ir_graph_add_output(Graph *g, uint32_t t) {
  if (!xdl_grow((void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof(uint32_t)))
    return false;
  g->outputs[g->n_outputs++] = t;
  g->tensors[t].is_graph_output = true;
  return true;
}

void ir_remove_nodes(Graph *g, const bool *remove) {
  uint32_t w = 0;
  for (uint32_t r = 0; r < g->n_nodes; r++) {
    if (remove[r]) continue;
    g->nodes[w] = g->nodes[r];
    w++;
  }
  g->n_nodes = w;
  /* Rebuild producer links and the node-name map, which hold node ids. */
  for (uint32_t t = 0; t < g->n_tensors; t++) g->tensors[t].producer = IR_NONE;
  for (uint32_t n = 0; n < g->n_nodes; n++)
    for (int i = 0; i < g->nodes[n].n_outputs; i++)
      if (g->nodes[n].outputs[i] != IR_NONE) g->tensors[g->nodes[n].outputs[i]].producer = n;
  NameMap *m = &g->node_names;
  for (uint32_t i = 0; i < m->cap; i++) m->keys[i] = NULL;
  m->count = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++) map_put(m, g->nodes[n].name, n); /* no growth */
}

/* ---- attributes ---- */
Attr *ir_node_attr(const Graph *g, uint32_t n, const char *name) {
  const Node *nd = &g->nodes[n];
  for (int i = 0; i < nd->n_attrs; i++)
    if (strcmp(nd->attrs[i].name, name) == 0) return &nd->attrs[i];
  return NULL;
}

/* Returns the attribute slot for name on node n, adding one if absent (attrs live in the
 * arena; the array is copied on growth, which is rare and small). */
static Attr *attr_slot(Graph *g, uint32_t n, const char *name, AttrKind kind) {
  Attr *a = ir_node_attr(g, n, name);
  if (!a) {
    Node *nd = &g->nodes[n];
    Attr *na = arena_alloc(&g->arena, (size_t)(nd->n_attrs + 1) * sizeof *na);
    const char *iname = arena_strdup(&g->arena, name);
    if (!na || !iname) return NULL;
    if (nd->n_attrs) memcpy(na, nd->attrs, (size_t)nd->n_attrs * sizeof *na);
    nd->attrs = na;
    a = &na[nd->n_attrs++];
    a->name = iname;
  }
  const char *keep = a->name;
  memset(a, 0, sizeof *a);
  a->name = keep;
  a->kind = kind;
  a->tensor = IR_NONE;
  return a;
}

bool ir_set_attr_int(Graph *g, uint32_t n, const char *name, int64_t v) {
  Attr *a = attr_slot(g, n, name, ATTR_INT);
  if (a) a->i = v;
  return a != NULL;
}

bool ir_set_attr_float(Graph *g, uint32_t n, const char *name, double v) {
  Attr *a = attr_slot(g, n, name, ATTR_FLOAT);
  if (a) a->f = v;
  return a != NULL;
}

bool ir_set_attr_string(Graph *g, uint32_t n, const char *name, const char *v) {
  Attr *a = attr_slot(g, n, name, ATTR_STRING);
  if (!a) return false;
  a->s = arena_strdup(&g->arena, v);
  return a->s != NULL;
}

bool ir_set_attr_ints(Graph *g, uint32_t n, const char *name, const int64_t *v, int count) {
  Attr *a = attr_slot(g, n, name, ATTR_INTS);
  if (!a) return false;
  a->n = count;
  a->ints = arena_memdup(&g->arena, v, (size_t)count * sizeof *v);
  return a->ints != NULL;
}

bool ir_set_attr_floats(Graph *g, uint32_t n, const char *name, const double *v, int count) {
  Attr *a = attr_slot(g, n, name, ATTR_FLOATS);
  if (!a) return false;
  a->n = count;
  a->floats = arena_memdup(&g->arena, v, (size_t)count * sizeof *v);
  return a->floats != NULL;
}

int64_t ir_attr_int(const Graph *g, uint32_t n, const char *name, int64_t fallback) {
  const Attr *a = ir_node_attr(g, n, name);
  return a && a->kind == ATTR_INT ? a->i : fallback;
}

double ir_attr_float(const Graph *g, uint32_t n, const char *name, double fallback) {
  const Attr *a = ir_node_attr(g, n, name);
  if (!a) return fallback;
  if (a->kind == ATTR_FLOAT) return a->f;
  if (a->kind == ATTR_INT) return (double)a->i;
  return fallback;
}

const char *ir_attr_string(const Graph *g, uint32_t n, const char *name, const char *fallback) {
  const Attr *a = ir_node_attr(g, n, name);
  return a && a->kind == ATTR_STRING ? a->s : fallback;
}

/* ---- values and arithmetic ---- */

int64_t ir_numel(const Tensor *t) {
  if (t->rank < 0) return -1;
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 0 || !ir_mul_ok(n, t->dims[i], &n)) return -1;
  return n;
}

bool ir_set_ivals(Graph *g, uint32_t t, const int64_t *vals, int64_t n) {
  int64_t *p = arena_memdup(&g->arena, vals, (size_t)n * sizeof *vals);
  if (!p) return false;
  g->tensors[t].ivals = p;
  return true;
}

bool ir_set_fvals(Graph *g, uint32_t t, const double *vals, int64_t n) {
  double *p = arena_memdup(&g->arena, vals, (size_t)n * sizeof *vals);
  if (!p) return false;
  g->tensors[t].fvals = p;
  return true;
}

/* ---- names of enums ---- */
const char *ir_dtype_name(DataType t) {
  static const char *names[] = {"undef", "f32", "u8",  "i8",  "u16", "i16", "i32", "i64", "str",
                                "bool",  "f16", "f64", "u32", "u64", "c64", "c128", "bf16"};
  return (unsigned)t <= DT_MAX ? names[t] : "?";
}

int ir_dtype_bytes(DataType t) {
  static const int bytes[] = {0, 4, 1, 1, 2, 2, 4, 8, 0, 1, 2, 8, 4, 8, 8, 16, 2};
  return (unsigned)t <= DT_MAX ? bytes[t] : 0;
}

bool ir_dtype_is_int(DataType t) {
  switch (t) {
  case DT_UINT8: case DT_INT8: case DT_UINT16: case DT_INT16: case DT_INT32: case DT_INT64:
  case DT_BOOL: case DT_UINT32: case DT_UINT64:
    return true;
  default:
    return false;
  }
}

const char *ir_phase_name(Phase p) {
  static const char *names[] = {"forward", "loss", "backward_data", "backward_weight", "update"};
  return (unsigned)p < sizeof names / sizeof *names ? names[p] : "?";
}

const char *ir_caps_role_name(CapsRole r) {
  static const char *names[] = {"",        "primary", "votes",  "routing.softmax", "routing.sum",
                                "routing.squash", "routing.agree", "class", "decoder"};
  return (unsigned)r < sizeof names / sizeof *names ? names[r] : "?";
}
