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

#endif
