/* print.c — the stable text form of a Graph, one line per node, used by golden tests and by
 * `--dump-ir`:   %y = Conv(%x, %w) {group=1, strides=[1,1]} : f32[1,6,28,28]
 * Attributes print in the order they were set; floats with %g; tensors by name; then " view"
 * for layout-only nodes, the phase (if not forward) and the capsule role. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

char *ir_format_type(const Tensor *t, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "%s", ir_dtype_name(t->dtype));
  if (t->rank < 0) {
    snprintf(buf + used, used < size ? size - used : 0, "[?]");
    return buf;
  }
  for (int i = 0; i <= t->rank && used < size; i++) {
    const char *sep = i == 0 ? "[" : ",";
    if (i == t->rank)
      used += (size_t)snprintf(buf + used, size - used, "%s]", t->rank ? "" : "[");
    else
      used += (size_t)snprintf(buf + used, size - used, "%s%" PRId64, sep, t->dims[i]);
  }
  return buf;
}

static void print_attr(const Graph *g, const Attr *a, FILE *out) {
  fprintf(out, "%s=", a->name);
  switch (a->kind) {
  case ATTR_INT: fprintf(out, "%" PRId64, a->i); break;
  case ATTR_FLOAT: fprintf(out, "%g", a->f); break;
  case ATTR_STRING: fprintf(out, "\"%s\"", a->s); break;
  case ATTR_INTS:
    fputc('[', out);
    for (int i = 0; i < a->n; i++) fprintf(out, "%s%" PRId64, i ? "," : "", a->ints[i]);
    fputc(']', out);
    break;
  case ATTR_FLOATS:
    fputc('[', out);
    for (int i = 0; i < a->n; i++) fprintf(out, "%s%g", i ? "," : "", a->floats[i]);
    fputc(']', out);
    break;
  case ATTR_STRINGS:
    fputc('[', out);
    for (int i = 0; i < a->n; i++) fprintf(out, "%s\"%s\"", i ? "," : "", a->strs[i]);
    fputc(']', out);
    break;
  case ATTR_TENSOR: {
    char buf[160];
    fprintf(out, "%%%s:%s", g->tensors[a->tensor].name,
            ir_format_type(&g->tensors[a->tensor], buf, sizeof buf));
    break;
  }
  case ATTR_GRAPH: fputs("<graph>", out); break;
  }
}

void ir_print(const Graph *g, FILE *out) {
  char buf[160];
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    const Tensor *t = &g->tensors[g->inputs[i]];
    fprintf(out, "input %%%s : %s\n", t->name, ir_format_type(t, buf, sizeof buf));
  }
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const Node *nd = &g->nodes[n];
    for (int i = 0; i < nd->n_outputs; i++)
      fprintf(out, "%s%%%s", i ? ", " : "",
              nd->outputs[i] == IR_NONE ? "_" : g->tensors[nd->outputs[i]].name);
    fprintf(out, " = %s(", ir_ops[nd->op].name);
    for (int i = 0; i < nd->n_inputs; i++)
      fprintf(out, "%s%%%s", i ? ", " : "",
              nd->inputs[i] == IR_NONE ? "_" : g->tensors[nd->inputs[i]].name);
    fputc(')', out);
    if (nd->n_attrs) {
      fputs(" {", out);
      for (int i = 0; i < nd->n_attrs; i++) {
        if (i) fputs(", ", out);
        print_attr(g, &nd->attrs[i], out);
      }
      fputc('}', out);
    }
    if (nd->layout_only) fputs(" view", out);
    if (nd->phase != PHASE_FORWARD) fprintf(out, " phase=%s", ir_phase_name(nd->phase));
    if (nd->caps_role != CAPS_NONE) {
      fprintf(out, " caps=%s", ir_caps_role_name(nd->caps_role));
      if (nd->caps_iter >= 0) fprintf(out, "[%d]", nd->caps_iter);
    }
    fputs(" :", out);
    for (int i = 0; i < nd->n_outputs; i++) {
      if (nd->outputs[i] == IR_NONE) continue;
      fprintf(out, " %s", ir_format_type(&g->tensors[nd->outputs[i]], buf, sizeof buf));
    }
    fputc('\n', out);
  }
  for (uint32_t i = 0; i < g->n_outputs; i++)
    fprintf(out, "output %%%s\n", g->tensors[g->outputs[i]].name);
}
