/* test_oracle.c — the fixtures in ../shared/refdata/onnx against their independent oracle
 * (<model>.layers.json, computed from the PyTorch modules): every Conv / ConvTranspose / Gemm /
 * MatMul node's input and output shapes, MACs and GEMM view equal the oracle layer it maps to
 * (by PyTorch module scope), no GEMM-like node is left unmatched, and parameter totals agree. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "testutil.h"

static bool shape_equals(const Tensor *t, const cJSON *arr) {
  if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != t->rank) return false;
  for (int i = 0; i < t->rank; i++)
    if ((int64_t)cJSON_GetArrayItem(arr, i)->valuedouble != t->dims[i]) return false;
  return true;
}

/* The same shape once every unit dim is dropped: the capsule votes' MatMul carries the
 * module's tensors with broadcast unit axes ([1,1152,1,8,1] for the module input [1,1152,8]). */
static bool shape_equals_squeezed(const Tensor *t, const cJSON *arr) {
  if (!cJSON_IsArray(arr)) return false;
  int i = 0, j = 0, n = cJSON_GetArraySize(arr);
  for (;;) {
    while (i < t->rank && t->dims[i] == 1) i++;
    while (j < n && (int64_t)cJSON_GetArrayItem(arr, j)->valuedouble == 1) j++;
    if (i == t->rank || j == n) return i == t->rank && j == n;
    if (t->dims[i++] != (int64_t)cJSON_GetArrayItem(arr, j++)->valuedouble) return false;
  }
}

static int64_t jint(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static void check_model(const char *onnx_file, const char *oracle_file) {
  char *op = tu_refdata(onnx_file), *jp = tu_refdata(oracle_file);
  size_t len;
  char *text = (char *)tu_read_file(jp, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  cJSON *root = cJSON_Parse(text);
  CU_ASSERT_PTR_NOT_NULL_FATAL(root);
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(op, NULL, &d);
  if (!g) printf("\n  %s: %s\n", onnx_file, d.msg);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);

  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  int n_layers = cJSON_GetArraySize(layers);
  bool *used = calloc((size_t)n_layers + 1, 1);
  int matched = 0, mismatched = 0, unmatched_nodes = 0, gemm_nodes = 0;
  int64_t folded_bias = 0, node_macs = 0, oracle_macs = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    if (ir_ops[nd->op].category != CAT_GEMM) continue;
    gemm_nodes++;
    char path[512];
    tu_module_path(nd->name, path, sizeof path);
    const cJSON *ly = NULL;
    int li = 0;
    for (; li < n_layers; li++) {
      const cJSON *c = cJSON_GetArrayItem(layers, li);
      const cJSON *nm = cJSON_GetObjectItemCaseSensitive(c, "name");
      if (!used[li] && cJSON_IsString(nm) && strcmp(nm->valuestring, path) == 0) {
        ly = c;
        break;
      }
    }
    if (!ly) {
      printf("\n  %s: node '%s' (module '%s') has no oracle layer", onnx_file, nd->name, path);
      unmatched_nodes++;
      continue;
    }
    used[li] = true;
    NodeWork w = ir_node_work(g, n);
    node_macs += w.macs;
    const cJSON *gm = cJSON_GetObjectItemCaseSensitive(ly, "gemm");
    const Tensor *in = &g->tensors[nd->inputs[0]];
    const Tensor *out = &g->tensors[nd->outputs[0]];
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ly, "kind");
    const cJSON *oin = cJSON_GetObjectItemCaseSensitive(ly, "input_shape");
    const cJSON *oout = cJSON_GetObjectItemCaseSensitive(ly, "output_shape");
    bool ok = w.macs == jint(ly, "macs") && w.gemm.g == jint(gm, "G") &&
              w.gemm.m == jint(gm, "M") && w.gemm.n == jint(gm, "N") &&
              w.gemm.k == jint(gm, "K");
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "caps_votes") == 0) {
      /* Votes u_hat = W u: the weight is the left operand, exactly the oracle's weight shape;
       * the activation operand and the output carry extra broadcast unit axes. */
      ok = ok && nd->n_inputs == 2 &&
           shape_equals(in, cJSON_GetObjectItemCaseSensitive(ly, "weight_shape")) &&
           shape_equals_squeezed(&g->tensors[nd->inputs[1]], oin) &&
           shape_equals_squeezed(out, oout);
    } else {
      ok = ok && shape_equals(in, oin) && shape_equals(out, oout);
    }
    /* Eval-mode exports fold BatchNorm into the conv, adding a bias of Cout the module lacks. */
    int64_t extra = w.params - jint(ly, "params");
    if (extra != 0) {
      if (nd->op == OP_CONV && extra == out->dims[1]) folded_bias += extra;
      else ok = false;
    }
    if (ok) {
      matched++;
    } else {
      mismatched++;
      printf("\n  %s: node '%s' vs oracle '%s': macs %lld/%lld gemm %lld,%lld,%lld,%lld "
             "params %lld/%lld", onnx_file, nd->name, path, (long long)w.macs,
             (long long)jint(ly, "macs"), (long long)w.gemm.g, (long long)w.gemm.m,
             (long long)w.gemm.n, (long long)w.gemm.k, (long long)w.params,
             (long long)jint(ly, "params"));
    }
  }
  /* Oracle layers that are not single ONNX nodes (capsule Mul+ReduceSum contractions) are
   * matched by the capsule pass, not here. */
  int oracle_nodes = 0;
  for (int li = 0; li < n_layers; li++) {
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(layers, li), "kind");
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "mulsum") == 0) continue;
    oracle_nodes++;
    oracle_macs += jint(cJSON_GetArrayItem(layers, li), "macs");
    if (!used[li])
      printf("\n  %s: oracle layer %d has no matching node", onnx_file, li);
  }
  const cJSON *totals = cJSON_GetObjectItemCaseSensitive(root, "totals");
  int64_t params = 0;
  for (uint32_t i = 0; i < g->n_tensors; i++)
    if (g->tensors[i].role == ROLE_WEIGHT) params += ir_numel(&g->tensors[i]);
  printf("\n  %-34s %3d GEMM-like nodes, %3d matched the oracle, params %lld (+%lld folded BN "
         "bias) vs %lld", onnx_file, gemm_nodes, matched, (long long)params,
         (long long)folded_bias, (long long)jint(totals, "params"));
  CU_ASSERT_EQUAL(node_macs, oracle_macs);
  CU_ASSERT_EQUAL(mismatched, 0);
  CU_ASSERT_EQUAL(unmatched_nodes, 0);
  CU_ASSERT_EQUAL(matched, oracle_nodes);
  /* Folding replaced each BatchNorm's 2*C parameters by a C-element conv bias. */
  CU_ASSERT_EQUAL(params + folded_bias, jint(totals, "params"));
  free(used);
  ir_graph_free(g);
  cJSON_Delete(root);
  free(text);
  free(op);
  free(jp);
}

static void test_lenet5(void) { check_model("onnx/lenet5.onnx", "onnx/lenet5.layers.json"); }
static void test_alexnet(void) { check_model("onnx/alexnet.nodata.onnx", "onnx/alexnet.layers.json"); }
static void test_resnet18(void) { check_model("onnx/resnet18.nodata.onnx", "onnx/resnet18.layers.json"); }
static void test_mobilenet_v2(void) {
  check_model("onnx/mobilenet_v2.onnx", "onnx/mobilenet_v2.layers.json");
}
static void test_mobilenet_v2_train(void) {
  check_model("onnx/mobilenet_v2_train.nodata.onnx", "onnx/mobilenet_v2_train.layers.json");
}
static void test_squeezenet(void) {
  check_model("onnx/squeezenet1_0.onnx", "onnx/squeezenet1_0.layers.json");
}
static void test_capsnet(void) { check_model("onnx/capsnet.onnx", "onnx/capsnet.layers.json"); }
static void test_capsnet_decoder(void) {
  check_model("onnx/capsnet_with_decoder.nodata.onnx", "onnx/capsnet_with_decoder.layers.json");
}

static void test_module_path(void) {
  char p[256];
  tu_module_path("/features/features.1/conv/conv.0/conv.0.0/Conv", p, sizeof p);
  CU_ASSERT_STRING_EQUAL(p, "features.1.conv.0.0");
  tu_module_path("/layer1/layer1.0/conv1/Conv", p, sizeof p);
  CU_ASSERT_STRING_EQUAL(p, "layer1.0.conv1");
  tu_module_path("/fc/Gemm", p, sizeof p);
  CU_ASSERT_STRING_EQUAL(p, "fc");
}

int main(void) {
  CU_TestInfo tests[] = {
      {"module_path", test_module_path},     {"lenet5", test_lenet5},
      {"alexnet", test_alexnet},             {"resnet18", test_resnet18},
      {"mobilenet_v2", test_mobilenet_v2},   {"mobilenet_v2_train", test_mobilenet_v2_train},
      {"squeezenet1_0", test_squeezenet},    {"capsnet", test_capsnet},
      {"capsnet_with_decoder", test_capsnet_decoder}, CU_TEST_INFO_NULL};
  return tu_run_suite("oracle", tests);
}
