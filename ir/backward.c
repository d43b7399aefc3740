/* backward.c — backward rules named in ops.def: each appends, after the forward graph, the
 * nodes that turn the gradients of a node's outputs into the gradients of its differentiable
 * inputs. The autodiff pass (passes/autodiff.c) walks the graph in reverse and calls them. */
#include "ir/ir.h"

/* The rule of ops that have none: asking for a gradient through them is an error. */
XdlStatus bwd_none(Graph *g, uint32_t n, const uint32_t *grad_out, const bool *need_in,
                   uint32_t *grad_in, Diag *d) {
  (void)grad_out;
  (void)need_in;
  (void)grad_in;
  return sh_fail(g, n, d, "no backward rule for this operator (training needs a gradient "
                          "through it)");
}
