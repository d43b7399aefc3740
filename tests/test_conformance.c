/* test_conformance.c — ONNX's own conformance suite (Debian's libonnx-testdata): for every test
 * whose operators XploreDL supports, import model.onnx with the inputs of test_data_set_0 and
 * check that every graph output's inferred shape equals the dims of output_N.pb. Prints
 * "considered / passed" and fails below 100 % of the considered tests. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend.h"
#include "testutil.h"

enum { MAX_IO = 64 };

typedef struct Tally {
  int total, considered, passed, unsupported;
} Tally;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Runs one test directory; returns true if considered and passed (prints why not). */
static void run_test(const char *dir, Tally *t) {
  char model[1300], path[1300]; /* dir is at most 1199 bytes (see run_collection) */
  snprintf(model, sizeof model, "%s/model.onnx", dir);
  if (!exists(model)) return;
  t->total++;
  char *inputs[MAX_IO];
  int n_in = 0;
  for (; n_in < MAX_IO; n_in++) {
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, n_in);
    if (!exists(path)) break;
    inputs[n_in] = strdup(path);
  }
  ImportOptions opts = {.batch = 1, .input_pb_paths = (const char *const *)inputs,
                        .n_input_pb = n_in};
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(model, &opts, &d);
  if (!g && d.unsupported) {
    t->unsupported++;
    goto done;
  }
  t->considered++;
  if (!g) {
    printf("  FAIL %s: %s\n", dir, d.msg);
    goto done;
  }
  bool ok = true;
  uint32_t i = 0;
  for (; i < g->n_outputs; i++) {
    snprintf(path, sizeof path, "%s/test_data_set_0/output_%u.pb", dir, i);
    if (!exists(path)) break;
    DataType dt;
    int rank;
    int64_t dims[IR_MAX_RANK + 8];
    Diag d2;
    diag_init(&d2);
    if (onnx_read_tensor_dims(path, &dt, &rank, dims, &d2) != XDL_OK) {
      printf("  FAIL %s: cannot read expected output: %s\n", dir, d2.msg);
      ok = false;
      break;
    }
    const Tensor *ts = &g->tensors[g->outputs[i]];
    bool same = ts->rank == rank;
    for (int k = 0; same && k < rank; k++) same = ts->dims[k] == dims[k];
    if (!same) {
      char got[200];
      printf("  FAIL %s: output %u '%s' inferred %s, expected rank %d [", dir, i, ts->name,
             ir_format_type(ts, got, sizeof got), rank);
      for (int k = 0; k < rank && k < IR_MAX_RANK; k++) printf("%s%lld", k ? "," : "", (long long)dims[k]);
      printf("]\n");
      ok = false;
    }
  }
  if (ok && i == 0 && g->n_outputs > 0) {
    printf("  FAIL %s: no output_0.pb to compare with\n", dir);
    ok = false;
  }
  if (ok) t->passed++;
  ir_graph_free(g);
done:
  for (int k = 0; k < n_in; k++) free(inputs[k]);
}

static void run_collection(const char *name, Tally *t) {
  char root[1024];
  snprintf(root, sizeof root, "%s/%s", XDL_ONNX_TESTDATA, name);
  DIR *dir = opendir(root);
  CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
  char *names[4096];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) && n < 4096)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  closedir(dir);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  Tally before = *t;
  for (int i = 0; i < n; i++) {
    char sub[1200];
    snprintf(sub, sizeof sub, "%s/%s", root, names[i]);
    run_test(sub, t);
    free(names[i]);
  }
  printf("  %-18s %4d tests, %4d considered, %4d passed, %4d use unsupported ops\n", name,
         t->total - before.total, t->considered - before.considered,
         t->passed - before.passed, t->unsupported - before.unsupported);
}

static void test_conformance_shapes(void) {
  Tally t = {0, 0, 0, 0};
  printf("\n");
  run_collection("node", &t);
  run_collection("pytorch-converted", &t);
  run_collection("pytorch-operator", &t);
  run_collection("simple", &t);
  printf("  conformance: %d tests, considered / passed = %d / %d\n", t.total, t.considered,
         t.passed);
  CU_ASSERT(t.total > 1000);     /* the suite is installed and complete */
  CU_ASSERT(t.considered > 600); /* the operator table covers what the issue lists */
  CU_ASSERT_EQUAL(t.passed, t.considered);
}

int main(void) {
  CU_TestInfo tests[] = {{"conformance_output_shapes", test_conformance_shapes}, CU_TEST_INFO_NULL};
  return tu_run_suite("conformance", tests);
}
