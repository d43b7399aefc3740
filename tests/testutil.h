/* testutil.h — shared helpers for the CUnit suites: running a suite, locating reference data
 * (../shared/refdata, read in place) and the ONNX conformance tests, reading whole files. */
#ifndef XDL_TESTUTIL_H
#define XDL_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

/* Registers the given tests as one suite, runs them, and returns the process exit code
 * (0 when every assertion passed). */
int tu_run_suite(const char *suite_name, CU_TestInfo *tests);

/* Path of a file under refdata (static buffer per call site is not needed: result is malloc'd
 * and must be freed). */
char *tu_refdata(const char *rel);
char *tu_source(const char *rel);   /* path under the source tree */
/* Reads a whole file; returns malloc'd bytes (NUL-terminated) or NULL. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* The PyTorch module path of an exported node's scope, as the refdata oracles name layers:
 * "/features/features.1/conv/conv.0/conv.0.0/Conv" → "features.1.conv.0.0" (a component that
 * extends the previous one, "conv" → "conv.0", replaces it; others append). */
void tu_module_path(const char *node_name, char *out, size_t size);

#endif
