/* testutil.c — suite runner and path helpers shared by every test executable. */
#include "testutil.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tu_run_suite(const char *suite_name, CU_TestInfo *tests) {
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  CU_SuiteInfo suites[] = {{suite_name, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
  if (CU_register_suites(suites) != CUE_SUCCESS) {
    CU_cleanup_registry();
    return 1;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed ? 1 : 0;
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", a, b);
  return p;
}

char *tu_refdata(const char *rel) { return join(XDL_REFDATA, rel); }
char *tu_source(const char *rel) { return join(XDL_SOURCE_DIR, rel); }

uint8_t *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n + 65536 + 1 > cap) {
      cap = cap ? cap * 2 : 65536 * 2;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) { free(buf); fclose(f); return NULL; }
      buf = nb;
    }
    size_t got = fread(buf + n, 1, 65536, f);
    n += got;
    if (got < 65536) break;
  }
  fclose(f);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

/* "/features/features.1/conv/conv.0/conv.0.0/Conv" → "features.1.conv.0.0": a scope component
 * that extends the previous one ("conv" → "conv.0") replaces it, others append. */
void tu_module_path(const char *node_name, char *out, size_t size) {
  char parts[16][128];
  int n = 0;
  const char *p = node_name;
  while (*p == '/') p++;
  while (*p && n < 16) {
    const char *slash = strchr(p, '/');
    if (!slash) break; /* the last component is the op, not a module */
    size_t len = (size_t)(slash - p);
    if (len >= sizeof parts[0]) len = sizeof parts[0] - 1;
    char comp[128];
    memcpy(comp, p, len);
    comp[len] = '\0';
    size_t plen = n ? strlen(parts[n - 1]) : 0;
    if (n && strncmp(comp, parts[n - 1], plen) == 0 && comp[plen] == '.')
      snprintf(parts[n - 1], sizeof parts[0], "%s", comp);
    else
      snprintf(parts[n++], sizeof parts[0], "%s", comp);
    p = slash + 1;
  }
  out[0] = '\0';
  size_t used = 0;
  for (int i = 0; i < n && used < size; i++)
    used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "." : "", parts[i]);
}
