/* test_capsules.c — the capsule ops of domain ai.xploredl and the capsule_lower pass: unrolled
 * PyTorch CapsNets (../shared/refdata/onnx) after the pass match the MAC oracle in total and per
 * votes / weighted-sum / agreement layer (MACs and GEMM view, by role and iteration) with every
 * capsule node tagged; the shipped compact CapsNet lowers to the same per-role MACs and output
 * shape as the unrolled export; the compact DeepCaps lowers and verifies; bad capsule nodes give
 * one-line errors naming the node; a tiny ClassCaps lowering matches a golden IR printout.
 * Costs by capsule role: the per-role and per-iteration totals add up to the whole, more routing
 * iterations (PassOptions.routing_iterations) cost more routing cycles and energy, the
 * capsacc-like preset's cheap squash/softmax classes show in the routing roles, and the
 * override is rejected in one line on a model without compact routing ops. */
#include <math.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "testutil.h"

enum { N_ROLES = CAPS_DECODER + 1, N_ITERS = 8 };

static Graph *load(const char *path, int64_t batch, bool lower) {
  Diag d;
  diag_init(&d);
  ImportOptions io = {.batch = batch};
  Graph *g = onnx_load(path, &io, &d);
  if (!g) printf("\n  %s: %s", path, d.msg);
  if (g && lower && passes_run(g, NULL, &d) != XDL_OK) {
    printf("\n  %s: %s", path, d.msg);
    ir_graph_free(g);
    return NULL;
  }
  return g;
}

static int64_t total_macs(const Graph *g) {
  int64_t m = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++) m += ir_node_work(g, n).macs;
  return m;
}

/* MACs per (role, iteration); iteration -1 is stored at index 0 with the roles that have none. */
static void role_macs(const Graph *g, int64_t out[N_ROLES][N_ITERS]) {
  memset(out, 0, sizeof(int64_t) * N_ROLES * N_ITERS);
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    int it = nd->caps_iter < 0 ? 0 : nd->caps_iter;
    if (it < N_ITERS) out[nd->caps_role][it] += ir_node_work(g, n).macs;
  }
}

/* The GEMM-like node with role r and iteration it; IR_NONE if none, or if more than one. */
static uint32_t gemm_node(const Graph *g, CapsRole r, int it) {
  uint32_t found = IR_NONE;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    if (nd->caps_role != r || nd->caps_iter != it || ir_ops[nd->op].category != CAT_GEMM)
      continue;
    if (found != IR_NONE) return IR_NONE;
    found = n;
  }
  return found;
}

/* The k-th GEMM-like node (in node order) with role r. */
static uint32_t nth_gemm(const Graph *g, CapsRole r, int k) {
  for (uint32_t n = 0; n < g->n_nodes; n++)
    if (g->nodes[n].caps_role == r && ir_ops[g->nodes[n].op].category == CAT_GEMM && k-- == 0)
      return n;
  return IR_NONE;
}

static int64_t jint(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static bool shape_is(const Tensor *t, const cJSON *arr) {
  if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != t->rank) return false;
  for (int i = 0; i < t->rank; i++)
    if ((int64_t)cJSON_GetArrayItem(arr, i)->valuedouble != t->dims[i]) return false;
  return true;
}

static cJSON *load_oracle(const char *rel) {
  char *p = tu_refdata(rel);
  char *text = (char *)tu_read_file(p, NULL);
  free(p);
  cJSON *root = text ? cJSON_Parse(text) : NULL;
  free(text);
  return root;
}

/* Unrolled export + oracle: totals, and each capsule layer by role and iteration. */
static void check_unrolled(const char *model, const char *oracle, bool decoder) {
  char *p = tu_refdata(model);
  Graph *g = load(p, 1, true);
  free(p);
  cJSON *root = load_oracle(oracle);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_PTR_NOT_NULL_FATAL(root);
  const cJSON *totals = cJSON_GetObjectItemCaseSensitive(root, "totals");
  CU_ASSERT_EQUAL(total_macs(g), jint(totals, "forward_macs"));
  printf("\n    %-36s %lld MACs after capsule_lower (oracle %lld)", model,
         (long long)total_macs(g), (long long)jint(totals, "forward_macs"));
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  int checked = 0, dec_seen = 0;
  for (int i = 0; i < cJSON_GetArraySize(layers); i++) {
    const cJSON *ly = cJSON_GetArrayItem(layers, i);
    const char *kind = cJSON_GetObjectItemCaseSensitive(ly, "kind")->valuestring;
    const cJSON *rj = cJSON_GetObjectItemCaseSensitive(ly, "role");
    const char *role = cJSON_IsString(rj) ? rj->valuestring : "";
    const char *name = cJSON_GetObjectItemCaseSensitive(ly, "name")->valuestring;
    CapsRole r = CAPS_NONE;
    int it = -1;
    if (strcmp(kind, "caps_votes") == 0) {
      r = CAPS_VOTES;
    } else if (strncmp(role, "routing_weighted_sum[", 21) == 0) {
      r = CAPS_ROUTING_SUM;
      it = atoi(role + 21) - 1; /* the oracle counts iterations from 1 */
    } else if (strncmp(role, "routing_agreement[", 18) == 0) {
      r = CAPS_ROUTING_AGREE;
      it = atoi(role + 18) - 1;
    } else if (strcmp(name, "primary.conv") == 0) {
      r = CAPS_PRIMARY;
    } else if (strncmp(name, "decoder.", 8) == 0) {
      r = CAPS_DECODER;
    } else {
      continue;
    }
    /* The decoder has several layers: the k-th decoder GEMM node is the k-th oracle one. */
    uint32_t n = r == CAPS_DECODER ? nth_gemm(g, r, dec_seen++) : gemm_node(g, r, it);
    CU_ASSERT_NOT_EQUAL(n, IR_NONE);
    if (n == IR_NONE) {
      printf("\n  no %s[%d] node for oracle '%s'", ir_caps_role_name(r), it, name);
      continue;
    }
    NodeWork w = ir_node_work(g, n);
    const cJSON *gm = cJSON_GetObjectItemCaseSensitive(ly, "gemm");
    bool ok = w.macs == jint(ly, "macs") && w.gemm.g == jint(gm, "G") &&
              w.gemm.m == jint(gm, "M") && w.gemm.n == jint(gm, "N") && w.gemm.k == jint(gm, "K");
    if (r == CAPS_ROUTING_SUM || r == CAPS_ROUTING_AGREE)
      ok = ok && g->nodes[n].op == OP_EINSUM &&
           shape_is(&g->tensors[g->nodes[n].outputs[0]],
                    cJSON_GetObjectItemCaseSensitive(ly, "output_shape"));
    CU_ASSERT(ok);
    if (!ok)
      printf("\n  %s vs oracle '%s': %lld MACs, %lld x (%lld,%lld,%lld)", g->nodes[n].name, name,
             (long long)w.macs, (long long)w.gemm.g, (long long)w.gemm.m, (long long)w.gemm.n,
             (long long)w.gemm.k);
    checked++;
  }
  CU_ASSERT_EQUAL(checked, decoder ? 10 : 7); /* primary, votes, 3 sums, 2 agreements (+3) */
  int dec_gemms = 0, softmax = 0, untagged_after_primary = 0, mul_reduce = 0;
  bool after = false;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    if (nd->caps_role == CAPS_DECODER && nd->op == OP_GEMM) dec_gemms++;
    if (nd->op == OP_SOFTMAX) {
      softmax++;
      CU_ASSERT_EQUAL(nd->caps_role, CAPS_ROUTING_SOFTMAX);
    }
    if (nd->op == OP_REDUCE_SUM && g->tensors[nd->inputs[0]].producer != IR_NONE &&
        g->nodes[g->tensors[nd->inputs[0]].producer].op == OP_MUL)
      mul_reduce++;
    after = after || nd->caps_role == CAPS_PRIMARY;
    if (after && nd->caps_role == CAPS_NONE) {
      untagged_after_primary++;
      printf("\n  untagged: %s", nd->name);
    }
  }
  CU_ASSERT_EQUAL(dec_gemms, decoder ? 3 : 0);
  CU_ASSERT_EQUAL(softmax, 3);
  CU_ASSERT_EQUAL(mul_reduce, 0);
  CU_ASSERT_EQUAL(untagged_after_primary, 0);
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(ir_verify(g, &d), XDL_OK);
  cJSON_Delete(root);
  ir_graph_free(g);
}

static void test_unrolled_capsnet(void) {
  check_unrolled("onnx/capsnet.onnx", "onnx/capsnet.layers.json", false);
}

static void test_unrolled_capsnet_decoder(void) {
  check_unrolled("onnx/capsnet_with_decoder.nodata.onnx",
                 "onnx/capsnet_with_decoder.layers.json", true);
}

/* Batch 4 (the compact model's batch is symbolic; the fixtures' is fixed at 1): every count
 * scales and the batch joins the G of each contraction. */
static void test_compact_batch(void) {
  char *p = tu_source("models/nets/capsnet_compact.onnx");
  Graph *g = load(p, 4, true);
  free(p);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(total_macs(g), 4 * 201793536LL);
  uint32_t n = gemm_node(g, CAPS_ROUTING_SUM, 2);
  CU_ASSERT_NOT_EQUAL_FATAL(n, IR_NONE);
  NodeWork w = ir_node_work(g, n);
  CU_ASSERT(w.gemm.g == 40 && w.gemm.m == 1 && w.gemm.n == 16 && w.gemm.k == 1152);
  ir_graph_free(g);
}

/* The shipped compact CapsNet lowered = the unrolled export, role by role. */
static void test_compact_equals_unrolled(void) {
  char *pc = tu_source("models/nets/capsnet_compact.onnx");
  char *pu = tu_refdata("onnx/capsnet.onnx");
  Graph *raw = load(pc, 1, false), *gc = load(pc, 1, true), *gu = load(pu, 1, true);
  free(pc);
  free(pu);
  CU_ASSERT_FATAL(raw && gc && gu);
  CU_ASSERT_EQUAL(raw->opset_xploredl, 1);
  CU_ASSERT_EQUAL(total_macs(raw), total_macs(gc)); /* compact work rules = the lowering */
  int64_t mc[N_ROLES][N_ITERS], mu[N_ROLES][N_ITERS];
  role_macs(gc, mc);
  role_macs(gu, mu);
  for (int r = 0; r < N_ROLES; r++)
    for (int k = 0; k < N_ITERS; k++) {
      CU_ASSERT_EQUAL(mc[r][k], mu[r][k]);
      if (mc[r][k] != mu[r][k])
        printf("\n  %s[%d]: compact %lld, unrolled %lld", ir_caps_role_name((CapsRole)r), k,
               (long long)mc[r][k], (long long)mu[r][k]);
    }
  CU_ASSERT_EQUAL(total_macs(gc), 201793536LL);
  CU_ASSERT_EQUAL_FATAL(gc->n_outputs, 1);
  const Tensor *oc = &gc->tensors[gc->outputs[0]], *ou = &gu->tensors[gu->outputs[0]];
  CU_ASSERT(oc->rank == ou->rank && memcmp(oc->dims, ou->dims, sizeof oc->dims[0] * 2) == 0);
  /* Same GEMM views for the votes and every contraction. */
  const CapsRole rs[3] = {CAPS_VOTES, CAPS_ROUTING_SUM, CAPS_ROUTING_AGREE};
  for (int i = 0; i < 3; i++)
    for (int k = rs[i] == CAPS_VOTES ? -1 : 0; k < (rs[i] == CAPS_VOTES ? 0 : 3); k++) {
      if (rs[i] == CAPS_ROUTING_AGREE && k == 2) {
        CU_ASSERT_EQUAL(gemm_node(gc, rs[i], k), IR_NONE); /* never computed */
        continue;
      }
      uint32_t a = gemm_node(gc, rs[i], k), b = gemm_node(gu, rs[i], k);
      CU_ASSERT_FATAL(a != IR_NONE && b != IR_NONE);
      NodeWork wa = ir_node_work(gc, a), wb = ir_node_work(gu, b);
      CU_ASSERT(memcmp(&wa.gemm, &wb.gemm, sizeof wa.gemm) == 0);
    }
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(ir_verify(gc, &d), XDL_OK);
  ir_graph_free(raw);
  ir_graph_free(gc);
  ir_graph_free(gu);
}

/* Compact DeepCaps: lowers, verifies, its 3-D routing has 3 iterations, work = lowering. */
static void test_deepcaps(void) {
  char *p = tu_source("models/nets/deepcaps_compact.onnx");
  Graph *raw = load(p, 1, false), *g = load(p, 1, true), *g2 = load(p, 2, true);
  free(p);
  CU_ASSERT_FATAL(raw && g && g2);
  int conv_caps = 0, compact_left = 0, sums = 0, agrees = 0;
  for (uint32_t n = 0; n < raw->n_nodes; n++) conv_caps += raw->nodes[n].op == OP_CONV_CAPS;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    compact_left += ir_ops[nd->op].domain == DOM_XPLOREDL;
    sums += nd->caps_role == CAPS_ROUTING_SUM;
    agrees += nd->caps_role == CAPS_ROUTING_AGREE && nd->op == OP_EINSUM;
  }
  CU_ASSERT_EQUAL(conv_caps, 12);
  CU_ASSERT_EQUAL(compact_left, 0);
  CU_ASSERT_EQUAL(sums, 6);   /* 3 in the 3-D routing layer, 3 in ClassCaps */
  CU_ASSERT_EQUAL(agrees, 4); /* 2 + 2 */
  CU_ASSERT_EQUAL(total_macs(raw), total_macs(g));
  CU_ASSERT_EQUAL(total_macs(g2), 2 * total_macs(g));
  printf("\n    deepcaps_compact: %u compact nodes -> %u, %lld MACs", raw->n_nodes, g->n_nodes,
         (long long)total_macs(g));
  const Tensor *o = &g->tensors[g->outputs[0]];
  CU_ASSERT(o->rank == 2 && o->dims[0] == 1 && o->dims[1] == 10);
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(ir_verify(g, &d), XDL_OK);
  ir_graph_free(raw);
  ir_graph_free(g);
  ir_graph_free(g2);
}

/* The decoder variant written by make_caps (when built) = capsnet_with_decoder's 203,202,560. */
static void test_compact_decoder(void) {
  char tool[4096], dir[] = "/tmp/xdl_caps_XXXXXX", cmd[8300], path[4200];
  snprintf(tool, sizeof tool, "%s/make_caps", XDL_BINARY_DIR);
  if (access(tool, X_OK) != 0 || !mkdtemp(dir)) {
    printf("\n    (make_caps not built: decoder variant not checked)");
    return;
  }
  snprintf(cmd, sizeof cmd, "%s --decoder %s > /dev/null", tool, dir);
  CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
  snprintf(path, sizeof path, "%s/capsnet_decoder_compact.onnx", dir);
  Graph *g = load(path, 1, true);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(total_macs(g), 203202560LL);
  int dec = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++)
    dec += g->nodes[n].caps_role == CAPS_DECODER && g->nodes[n].op == OP_GEMM;
  CU_ASSERT_EQUAL(dec, 3);
  ir_graph_free(g);
  const char *files[] = {"capsnet_compact.onnx", "deepcaps_compact.onnx",
                         "capsnet_decoder_compact.onnx"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* The interpreter (ir/interp.c) runs the lowered compact CapsNet with the unrolled export's
 * weights and gives the export's capsule lengths for the same input (the export run as
 * imported). */
static void test_interp_same_outputs(void) {
  static const char *const pairs[][2] = {
      {"conv1.weight", "conv1.weight"},       {"conv1.bias", "conv1.bias"},
      {"primary.conv.weight", "primary.weight"}, {"primary.conv.bias", "primary.bias"},
      {"digits.votes.weight", "digits.weight"}};
  char *pu = tu_refdata("onnx/capsnet.onnx"), *pc = tu_source("models/nets/capsnet_compact.onnx");
  Diag d;
  diag_init(&d);
  ImportOptions io = {.keep_weight_bytes = true};
  Graph *gu = onnx_load(pu, &io, &d), *gc = load(pc, 1, true);
  free(pu);
  free(pc);
  CU_ASSERT_FATAL(gu && gc); /* the export as imported (its Constant nodes keep their data) */
  for (uint32_t n = 0; n < gc->n_nodes; n++)
    if (!interp_supports(gc->nodes[n].op)) {
      printf("\n    (interpreter lacks %s: outputs not compared)", ir_ops[gc->nodes[n].op].name);
      ir_graph_free(gu);
      ir_graph_free(gc);
      return;
    }
  InterpOptions opts = {.use_double = true};
  Interp *iu = interp_new(gu, &opts, &d), *ic = interp_new(gc, &opts, &d);
  CU_ASSERT_FATAL(iu && ic);
  int64_t n_in = 28 * 28;
  double *x = malloc((size_t)n_in * sizeof *x);
  uint64_t seed = 12345;
  for (int64_t i = 0; i < n_in; i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    x[i] = (double)(seed >> 11) / (double)(1ULL << 53);
  }
  CU_ASSERT_EQUAL(interp_set(iu, gu->inputs[0], x, NULL, n_in, &d), XDL_OK);
  CU_ASSERT_EQUAL(interp_set(ic, gc->inputs[0], x, NULL, n_in, &d), XDL_OK);
  for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
    uint32_t tu = ir_find_tensor(gu, pairs[k][0]), tc = ir_find_tensor(gc, pairs[k][1]);
    CU_ASSERT_FATAL(tu != IR_NONE && tc != IR_NONE);
    InterpValue v;
    CU_ASSERT_EQUAL_FATAL(interp_get(iu, tu, &v, &d), XDL_OK);
    CU_ASSERT_EQUAL_FATAL(v.n, ir_numel(&gc->tensors[tc]));
    CU_ASSERT_EQUAL_FATAL(interp_set(ic, tc, v.f, NULL, v.n, &d), XDL_OK);
  }
  XdlStatus su = interp_run(iu, &d), sc = su == XDL_OK ? interp_run(ic, &d) : su;
  if (sc != XDL_OK) printf("\n  interpreter: %s", d.msg);
  CU_ASSERT_EQUAL_FATAL(sc, XDL_OK);
  InterpValue yu, yc;
  CU_ASSERT_EQUAL_FATAL(interp_get(iu, gu->outputs[0], &yu, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(interp_get(ic, gc->outputs[0], &yc, &d), XDL_OK);
  CU_ASSERT_EQUAL_FATAL(yu.n, 10);
  CU_ASSERT_EQUAL_FATAL(yc.n, 10);
  double worst = 0;
  for (int i = 0; i < 10; i++) {
    double e = (yu.f[i] - yc.f[i]) / (yu.f[i] != 0 ? yu.f[i] : 1);
    if (e < 0) e = -e;
    if (e > worst) worst = e;
  }
  printf("\n    lengths[0] %.6g (export) vs %.6g (compact), max relative diff %.2g", yu.f[0],
         yc.f[0], worst);
  CU_ASSERT(worst < 1e-9);
  free(x);
  interp_free(iu);
  interp_free(ic);
  ir_graph_free(gu);
  ir_graph_free(gc);
}

/* ---- small graphs built in C ---- */

static uint32_t tensor(Graph *g, const char *name, TensorRole role, int rank,
                       const int64_t *dims, Diag *d) {
  return ir_add_tensor(g, name, DT_FLOAT, role, rank, dims, d);
}

/* U [1, 4, 2] → ClassCaps(W [4, 3, 2, 2]) {3 capsules of 2, iters} → y. */
static Graph *tiny_class_caps(int64_t caps, int64_t dim, int64_t iters, const char *extra,
                              Diag *d) {
  Graph *g = ir_graph_new();
  g->opset = 13;
  g->name = "tiny";
  uint32_t u = tensor(g, "u", ROLE_INPUT, 3, (int64_t[]){1, 4, 2}, d);
  uint32_t w = tensor(g, "w", ROLE_WEIGHT, 4, (int64_t[]){4, 3, 2, 2}, d);
  uint32_t y = tensor(g, "y", ROLE_ACTIVATION, -1, NULL, d);
  ir_graph_add_input(g, u);
  uint32_t n = ir_add_node(g, OP_CLASS_CAPS, "digits", (uint32_t[]){u, w}, 2, &y, 1, d);
  ir_set_attr_int(g, n, "num_capsules", caps);
  ir_set_attr_int(g, n, "capsule_dim", dim);
  ir_set_attr_int(g, n, "routing_iterations", iters);
  if (extra) ir_set_attr_int(g, n, extra, 1);
  ir_graph_add_output(g, y);
  return g;
}

static char *print_graph(const Graph *g) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ir_print(g, f);
  fclose(f);
  return buf;
}

static void test_golden_class_caps(void) {
  Diag d;
  diag_init(&d);
  Graph *g = tiny_class_caps(3, 2, 2, NULL, &d);
  CU_ASSERT_EQUAL_FATAL(ir_infer_shapes(g, &d), XDL_OK);
  CU_ASSERT_EQUAL(total_macs(g), 4 * 3 * 2 * 2 + 3 * (4 * 3 * 2));
  int64_t before = total_macs(g);
  CU_ASSERT_EQUAL_FATAL(passes_run(g, NULL, &d), XDL_OK);
  CU_ASSERT_EQUAL(total_macs(g), before);
  char *got = print_graph(g);
  char *path = tu_source("tests/golden/capsule_lower_small.expect");
  char *want = (char *)tu_read_file(path, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(want);
  CU_ASSERT_STRING_EQUAL(got, want);
  if (strcmp(got, want) != 0) printf("\n--- got ---\n%s--- want ---\n%s", got, want);
  free(got);
  free(want);
  free(path);
  ir_graph_free(g);
}

/* A bad capsule node: shape inference fails with XDL_ERR_INPUT and one line naming it. */
static void expect_error(Graph *g, const char *needle) {
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL(ir_infer_shapes(g, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NULL(strchr(d.msg, '\n'));
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "node 'digits'"));
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, needle));
  if (!strstr(d.msg, needle)) printf("\n  message: %s", d.msg);
  ir_graph_free(g);
}

static void test_bad_inputs(void) {
  Diag d;
  diag_init(&d);
  expect_error(tiny_class_caps(3, 2, 0, NULL, &d), "'routing_iterations' = 0 must be at least 1");
  expect_error(tiny_class_caps(5, 2, 3, NULL, &d), "weight is [4, 3, 2, 2]");
  expect_error(tiny_class_caps(3, 2, 3, "colour", &d), "unknown attribute 'colour'");
  /* PrimaryCaps whose weight is not num_capsules x capsule_dim filters. */
  Graph *g = ir_graph_new();
  g->opset = 13;
  uint32_t x = tensor(g, "x", ROLE_INPUT, 4, (int64_t[]){1, 8, 10, 10}, &d);
  uint32_t w = tensor(g, "w", ROLE_WEIGHT, 4, (int64_t[]){30, 8, 3, 3}, &d);
  uint32_t y = tensor(g, "y", ROLE_ACTIVATION, -1, NULL, &d);
  uint32_t n = ir_add_node(g, OP_PRIMARY_CAPS, "digits", (uint32_t[]){x, w}, 2, &y, 1, &d);
  ir_set_attr_int(g, n, "num_capsules", 4);
  ir_set_attr_int(g, n, "capsule_dim", 8);
  expect_error(g, "num_capsules x capsule_dim");
  /* ConvCaps with 2-D routing cannot iterate. */
  g = ir_graph_new();
  x = tensor(g, "x", ROLE_INPUT, 5, (int64_t[]){1, 2, 4, 6, 6}, &d);
  w = tensor(g, "w", ROLE_WEIGHT, 4, (int64_t[]){8, 8, 3, 3}, &d);
  y = tensor(g, "y", ROLE_ACTIVATION, -1, NULL, &d);
  n = ir_add_node(g, OP_CONV_CAPS, "digits", (uint32_t[]){x, w}, 2, &y, 1, &d);
  ir_set_attr_int(g, n, "num_capsules", 2);
  ir_set_attr_int(g, n, "capsule_dim", 4);
  ir_set_attr_int(g, n, "routing_iterations", 3);
  expect_error(g, "routing_iterations must be 1");
}

/* Through the importer: a written model with a bad ClassCaps fails to load with the node named
 * and a bad-input status (the CLI's exit 2). */
static void test_bad_input_import(void) {
  Diag d;
  diag_init(&d);
  Graph *g = tiny_class_caps(3, 2, 0, NULL, &d);
  g->opset_xploredl = 1;
  char dir[] = "/tmp/xdl_capsbad_XXXXXX", path[256];
  CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/bad.onnx", dir);
  /* The writer needs shapes: give y one by hand (the rule would reject the node). */
  Tensor *y = &g->tensors[g->outputs[0]];
  y->rank = 3, y->dims[0] = 1, y->dims[1] = 3, y->dims[2] = 2;
  CU_ASSERT_EQUAL_FATAL(onnx_save(g, path, NULL, &d), XDL_OK);
  ir_graph_free(g);
  Graph *back = onnx_load(path, NULL, &d);
  CU_ASSERT_PTR_NULL(back);
  CU_ASSERT_EQUAL(d.status, XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "node 'digits' (ClassCaps)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "routing_iterations"));
  ir_graph_free(back);
  unlink(path);
  rmdir(dir);
}

/* Graphs without capsules are left exactly as they were. */
static void test_no_capsules_untouched(void) {
  char *p = tu_refdata("onnx/resnet18.nodata.onnx");
  Graph *g = load(p, 1, false);
  free(p);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Diag d;
  diag_init(&d);
  CU_ASSERT_EQUAL_FATAL(pass_canonicalize(g, NULL, &d), XDL_OK);
  char *before = print_graph(g);
  CU_ASSERT_EQUAL(pass_capsule_lower(g, NULL, &d), XDL_OK);
  char *after = print_graph(g);
  CU_ASSERT_STRING_EQUAL(before, after);
  free(before);
  free(after);
  ir_graph_free(g);
}

/* ---- costs by capsule role ---------------------------------------------------------------- */

/* Imports path, runs the inference passes with `iters` routing iterations (0: as given) and
 * costs it on a; false (with the message printed) on any error. */
static bool cost_caps(const char *rel, int64_t iters, bool train, const Accel *a, Estimate *e) {
  char *p = tu_source(rel);
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(p, NULL, &d);
  free(p);
  PassOptions po = {.routing_iterations = iters, .train = train};
  Schedule s;
  memset(&s, 0, sizeof s);
  bool ok = g && passes_run(g, &po, &d) == XDL_OK && schedule_build(g, &s, &d) == XDL_OK &&
            cost_estimate(&s, a, false, e, NULL, &d) == XDL_OK;
  if (!ok) printf("\n  %s: %s", rel, d.msg);
  schedule_free(&s);
  if (g) ir_graph_free(g);
  return ok;
}

static int64_t routing_cycles(const Estimate *e) {
  int64_t c = 0;
  for (int r = 0; r < N_CAPS_ROLES; r++)
    if (cost_role_is_routing((CapsRole)r)) c += e->role_cycles[r];
  return c;
}

static double routing_pj(const Estimate *e) {
  double pj = 0;
  for (int r = 0; r < N_CAPS_ROLES; r++)
    if (cost_role_is_routing((CapsRole)r)) pj += e->role_energy_pj[r];
  return pj;
}

/* Per-role cycles and MACs add up exactly, energy up to rounding; the routing iterations add
 * up to the routing roles; inference and training, CapsNet and DeepCaps. */
static void test_role_totals(void) {
  const char *models[] = {"models/nets/capsnet_compact.onnx", "models/nets/deepcaps_compact.onnx"};
  Accel a;
  CU_ASSERT_TRUE_FATAL(arch_preset("capsacc-like", &a));
  for (int m = 0; m < 2; m++) {
    for (int train = 0; train < 2; train++) {
      Estimate e;
      CU_ASSERT_TRUE_FATAL(cost_caps(models[m], 0, train, &a, &e));
      int64_t cyc = 0, macs = 0, icyc = 0;
      double pj = 0, ipj = 0;
      for (int r = 0; r < N_CAPS_ROLES; r++) {
        cyc += e.role_cycles[r];
        macs += e.role_macs[r];
        pj += e.role_energy_pj[r];
      }
      for (int k = 0; k < e.n_iters; k++) {
        icyc += e.iter_cycles[k];
        ipj += e.iter_energy_pj[k];
      }
      CU_ASSERT_EQUAL(cyc, e.cycles);
      CU_ASSERT_EQUAL(macs, e.macs);
      CU_ASSERT_TRUE(fabs(pj * 1e-12 - e.energy_j) <= 1e-9 * e.energy_j);
      CU_ASSERT_EQUAL(icyc, routing_cycles(&e));
      CU_ASSERT_TRUE(fabs(ipj - routing_pj(&e)) <= 1e-9 * routing_pj(&e));
      CU_ASSERT_EQUAL(e.n_iters, 3);
      CU_ASSERT_TRUE(e.role_cycles[CAPS_PRIMARY] > 0 || m == 1);
      CU_ASSERT_TRUE(e.role_cycles[CAPS_VOTES] > 0);
      CU_ASSERT_TRUE(e.role_cycles[CAPS_ROUTING_SOFTMAX] > 0);
      CU_ASSERT_TRUE(e.role_cycles[CAPS_ROUTING_SQUASH] > 0);
      CU_ASSERT_TRUE(e.role_energy_pj[CAPS_ROUTING_SUM] > 0);
    }
  }
}

/* More routing iterations: strictly more routing cycles and energy, the same votes and
 * primary capsules, one more iteration entry each time. */
static void test_routing_monotonic(void) {
  const char *models[] = {"models/nets/capsnet_compact.onnx", "models/nets/deepcaps_compact.onnx"};
  Accel a;
  CU_ASSERT_TRUE_FATAL(arch_preset("capsacc-like", &a));
  for (int m = 0; m < 2; m++) {
    Estimate prev;
    for (int64_t it = 1; it <= 6; it++) {
      Estimate e;
      CU_ASSERT_TRUE_FATAL(cost_caps(models[m], it, false, &a, &e));
      CU_ASSERT_EQUAL(e.n_iters, it);
      if (it > 1) {
        CU_ASSERT_TRUE(routing_cycles(&e) > routing_cycles(&prev));
        CU_ASSERT_TRUE(routing_pj(&e) > routing_pj(&prev));
        CU_ASSERT_TRUE(e.cycles > prev.cycles);
        CU_ASSERT_TRUE(e.energy_j > prev.energy_j);
        CU_ASSERT_EQUAL(e.role_cycles[CAPS_VOTES], prev.role_cycles[CAPS_VOTES]);
        CU_ASSERT_EQUAL(e.role_macs[CAPS_PRIMARY], prev.role_macs[CAPS_PRIMARY]);
      }
      prev = e;
    }
  }
}

/* Squash and softmax run on the vector unit at the description's per-class cycles: the
 * capsacc-like preset (special 1, softmax 2 cycles per element per lane) against the same
 * accelerator with generic special (16) and softmax (24) costs. Only routing squash/softmax
 * (and other special/softmax work) change; energy per op comes from the technology. */
static void test_capsacc_vector_classes(void) {
  Accel fast, slow;
  CU_ASSERT_TRUE_FATAL(arch_preset("capsacc-like", &fast));
  slow = fast;
  slow.vec.cycles_per_op[VEC_SPECIAL] = 16;
  slow.vec.cycles_per_op[VEC_SOFTMAX] = 24;
  Estimate ef, es;
  CU_ASSERT_TRUE_FATAL(cost_caps("models/nets/capsnet_compact.onnx", 0, false, &fast, &ef));
  CU_ASSERT_TRUE_FATAL(cost_caps("models/nets/capsnet_compact.onnx", 0, false, &slow, &es));
  CU_ASSERT_TRUE(es.role_cycles[CAPS_ROUTING_SOFTMAX] >= 10 * ef.role_cycles[CAPS_ROUTING_SOFTMAX]);
  CU_ASSERT_TRUE(es.role_cycles[CAPS_ROUTING_SQUASH] > 2 * ef.role_cycles[CAPS_ROUTING_SQUASH]);
  CU_ASSERT_EQUAL(es.role_cycles[CAPS_VOTES], ef.role_cycles[CAPS_VOTES]);
  CU_ASSERT_EQUAL(es.role_cycles[CAPS_ROUTING_SUM], ef.role_cycles[CAPS_ROUTING_SUM]);
  /* Vector energy per op is the technology's: unchanged by the cycle counts. */
  CU_ASSERT_TRUE(fabs(es.energy_pj[EN_VECTOR] - ef.energy_pj[EN_VECTOR]) <=
                 1e-9 * ef.energy_pj[EN_VECTOR]);
  /* A cheaper softmax class in the technology lowers the routing softmax energy. */
  Accel cheap = fast;
  cheap.tech.vec_pj[VEC_SOFTMAX] /= 4;
  Estimate ec;
  CU_ASSERT_TRUE_FATAL(cost_caps("models/nets/capsnet_compact.onnx", 0, false, &cheap, &ec));
  CU_ASSERT_TRUE(ec.role_energy_pj[CAPS_ROUTING_SOFTMAX] <
                 ef.role_energy_pj[CAPS_ROUTING_SOFTMAX]);
  CU_ASSERT_EQUAL(ec.role_cycles[CAPS_ROUTING_SOFTMAX], ef.role_cycles[CAPS_ROUTING_SOFTMAX]);
}

/* routing_iterations on a model without a compact routing op, or below 1: one-line error. */
static void test_routing_override_errors(void) {
  const char *rels[] = {"models/nets/lenet5.onnx", "models/nets/capsnet_compact.onnx"};
  const int64_t iters[] = {2, -1};
  for (int i = 0; i < 2; i++) {
    char *p = tu_source(rels[i]);
    Diag d;
    diag_init(&d);
    Graph *g = onnx_load(p, NULL, &d);
    free(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    PassOptions po = {.routing_iterations = iters[i]};
    CU_ASSERT_EQUAL(passes_run(g, &po, &d), XDL_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "routing_iterations"));
    CU_ASSERT_PTR_NULL(strchr(d.msg, '\n'));
    ir_graph_free(g);
  }
  /* The unrolled export has routing but no compact op to set it on. */
  char *p = tu_refdata("onnx/capsnet.onnx");
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(p, NULL, &d);
  free(p);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  PassOptions po = {.routing_iterations = 3};
  CU_ASSERT_EQUAL(passes_run(g, &po, &d), XDL_ERR_INPUT);
  CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "no compact capsule op"));
  ir_graph_free(g);
}

int main(void) {
  CU_TestInfo tests[] = {{"unrolled_capsnet", test_unrolled_capsnet},
                         {"unrolled_capsnet_decoder", test_unrolled_capsnet_decoder},
                         {"compact_batch4", test_compact_batch},
                         {"compact_equals_unrolled", test_compact_equals_unrolled},
                         {"deepcaps", test_deepcaps},
                         {"compact_decoder", test_compact_decoder},
                         {"interp_same_outputs", test_interp_same_outputs},
                         {"golden_class_caps", test_golden_class_caps},
                         {"bad_inputs", test_bad_inputs},
                         {"bad_input_import", test_bad_input_import},
                         {"no_capsules_untouched", test_no_capsules_untouched},
                         {"role_totals", test_role_totals},
                         {"routing_monotonic", test_routing_monotonic},
                         {"capsacc_vector_classes", test_capsacc_vector_classes},
                         {"routing_override_errors", test_routing_override_errors},
                         CU_TEST_INFO_NULL};
  return tu_run_suite("capsules", tests);
}
