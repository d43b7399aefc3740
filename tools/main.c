/* main.c — the xploredl command: dispatches to one subcommand per pipeline use
 * (inspect, scalesim, ...). Exit codes: 0 ok, 1 internal error, 2 bad input or usage. */
#include <stdio.h>
#include <string.h>

#include "tools/commands.h"

const char *xdl_prog = "xploredl";

typedef struct Command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
    {"inspect", cmd_inspect, "import an ONNX model; print per-node shapes, MACs and GEMM views"},
    {"scalesim", cmd_scalesim, "run a SCALE-Sim config and topology; write SCALE-Sim's reports"},
    {"estimate", cmd_estimate, "latency, energy, power and area of a model on one accelerator"},
    {"explore", cmd_explore, "sweep a design space for a model; write the Pareto-optimal designs"},
    {"zoo", cmd_zoo, "explore (or estimate) every model in a folder; one summary table"},
};
enum { N_COMMANDS = sizeof commands / sizeof *commands };

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s COMMAND [OPTIONS]\n"
          "\n"
          "Estimates how fast and how efficiently a neural network runs on a parameterized\n"
          "accelerator. Commands:\n",
          xdl_prog);
  for (int i = 0; i < N_COMMANDS; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out,
          "\n"
          "Run '%s COMMAND --help' for a command's options.\n"
          "Exit status: 0 success, 1 internal error, 2 bad input or usage.\n",
          xdl_prog);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  for (int i = 0; i < N_COMMANDS; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "%s: unknown command '%s' (run '%s --help' for the list)\n", xdl_prog, argv[1],
          xdl_prog);
  return 2;
}
