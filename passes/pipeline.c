/* pipeline.c — the pass manager: one short table of passes run in order, the graph verified
 * after each and optionally printed after the one named in PassOptions.dump_after. Capsule
 * lowering runs before autodiff (DESIGN.md lists it after) so that autodiff only needs the
 * primitives' backward rules and derived nodes inherit capsule roles. */
#include <stdio.h>
#include <string.h>

#include "passes/passes.h"

typedef struct PassEntry {
  const char *name;
  XdlStatus (*run)(Graph *g, const PassOptions *o, Diag *d);
  bool train_only; /* runs only when o->train */
} PassEntry;

static const PassEntry pipeline[] = {
    {"canonicalize", pass_canonicalize, false},
    {"capsule_lower", pass_capsule_lower, false},
    {"autodiff", pass_autodiff, false}, /* expands Gradient nodes always; trains with o->train */
};
enum { N_PASSES = sizeof pipeline / sizeof *pipeline };

const char *const *passes_names(int *count) {
  static const char *names[N_PASSES];
  for (int i = 0; i < N_PASSES; i++) names[i] = pipeline[i].name;
  *count = N_PASSES;
  return names;
}

XdlStatus passes_run(Graph *g, const PassOptions *o, Diag *d) {
  PassOptions none;
  if (!o) {
    memset(&none, 0, sizeof none);
    o = &none;
  }
  for (int i = 0; i < N_PASSES; i++) {
    const PassEntry *p = &pipeline[i];
    if (p->train_only && !o->train) continue;
    XdlStatus st = p->run(g, o, d);
    if (st != XDL_OK) return st;
    if (!o->no_verify) {
      Diag vd;
      diag_init(&vd);
      if (ir_verify(g, &vd) != XDL_OK)
        return diag_error(d, XDL_ERR_INTERNAL, "after pass %s: %s", p->name, vd.msg);
    }
    if (o->dump_after && strcmp(o->dump_after, p->name) == 0) {
      fprintf(stderr, "# IR after %s\n", p->name);
      ir_print(g, stderr);
    }
  }
  return XDL_OK;
}
