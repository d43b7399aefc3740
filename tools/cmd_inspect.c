/* cmd_inspect.c — `xploredl inspect MODEL.onnx`: import a model and print one row per node
 * (output shapes, MACs, vector ops, parameters, GEMM view) with totals, or the same as JSON. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "tools/commands.h"

static void inspect_usage(FILE *out) {
  fprintf(out,
          "usage: %s inspect MODEL.onnx [--batch N] [--dim NAME=VALUE]... [--json] [--dump-ir]\n"
          "                [--train [--loss KIND] [--optimizer KIND] [--detach-routing]]\n"
          "                [--raw]\n"
          "\n"
          "Imports an ONNX model (weights are never read; external-data files may be absent),\n"
          "infers every tensor shape and prints one row per node: name, op, output shape(s),\n"
          "MACs, vector ops, parameters and the GEMM view g x (m,n,k), then totals.\n"
          "The inference passes run first (canonicalize, capsule_lower): compact capsule ops\n"
          "are expanded, unrolled capsule routing becomes one contraction per weighted sum and\n"
          "agreement, and capsule nodes carry their role (\"capsule_role\" in JSON).\n"
          "\n"
          "  --batch N           bind the leading symbolic dim of every input (default 1)\n"
          "  --dim NAME=VALUE    bind the symbolic dim NAME (repeatable)\n"
          "  --json              print JSON instead of the table:\n"
          "                      {model, opset, outputs:[{name,shape}], nodes:[{name, op,\n"
          "                       inputs:[[dims]], outputs:[[dims]], macs, ops, params,\n"
          "                       gemm:{g,m,n,k}|null}], totals:{macs, params}}\n"
          "  --dump-ir           print the IR in its text form instead\n"
          "  --train             the training step: loss, backward graph and optimizer update;\n"
          "                      every node gets a phase (forward, loss, backward_data,\n"
          "                      backward_weight, update), JSON totals add macs_by_phase\n"
          "  --loss KIND         auto (default: softmax_ce for a [batch, classes] output, margin\n"
          "                      for capsule lengths, + mse for a reconstruction), softmax_ce,\n"
          "                      margin or mse; new graph inputs carry labels / targets\n"
          "  --optimizer KIND    sgd (default), momentum or adam (state tensors per weight)\n"
          "  --detach-routing    capsules: prediction vectors get no gradient from the routing\n"
          "                      iterations before the last\n"
          "  --raw               show the graph as imported, before any pass\n"
          "  -h, --help          show this help\n",
          xdl_prog);
}

int cmd_inspect(int argc, char **argv) {
  ModelArgs m;
  memset(&m, 0, sizeof m);
  const char *path = NULL;
  bool json = false, dump = false, raw = false;
  for (int i = 1; i < argc; i++) {
    int r = args_model_option(&m, argc, argv, &i);
    if (r < 0) return 2;
    if (r > 0) continue;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      inspect_usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (strcmp(argv[i], "--dump-ir") == 0) {
      dump = true;
    } else if (strcmp(argv[i], "--raw") == 0) {
      raw = true;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "%s inspect: unknown option '%s' (see --help)\n", xdl_prog, argv[i]);
      return 2;
    } else if (path) {
      fprintf(stderr, "%s inspect: more than one model given ('%s' and '%s')\n", xdl_prog, path,
              argv[i]);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    inspect_usage(stderr);
    return 2;
  }
  int code = 0;
  Graph *g;
  if (raw) { /* the import alone: args_load_model also runs the passes */
    Diag d;
    diag_init(&d);
    if (!(g = onnx_load(path, &m.opts, &d))) {
      fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
      return args_exit_code(d.status == XDL_OK ? XDL_ERR_INTERNAL : d.status);
    }
  } else if (!(g = args_load_model(&m, path, &code))) {
    return code;
  }
  if (dump) ir_print(g, stdout);
  else if (json) report_inspect_json(g, stdout);
  else report_inspect_text(g, stdout);
  ir_graph_free(g);
  return fflush(stdout) == 0 ? 0 : 1;
}
