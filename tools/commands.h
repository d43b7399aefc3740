/* commands.h — the xploredl subcommands and the argument helpers they share. Each command
 * takes the arguments from its own name on and returns the process exit code: 0 ok,
 * 1 internal error, 2 bad input or usage. tools/ parses arguments and wires library calls;
 * the logic lives in the library. */
#ifndef XDL_COMMANDS_H
#define XDL_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/frontend.h"
#include "passes/passes.h"

/* main.c */
extern const char *xdl_prog; /* "xploredl", the prefix of every message */

/* args.c */
enum { MODEL_ARGS_MAX_DIMS = 32 };
typedef struct ModelArgs {
  ImportOptions opts;
  const char *dim_names[MODEL_ARGS_MAX_DIMS];
  int64_t dim_values[MODEL_ARGS_MAX_DIMS];
  char dim_name_buf[MODEL_ARGS_MAX_DIMS][128];
  int n_dims;
  PassOptions pass; /* --train, --loss, --optimizer, --detach-routing, --routing-iterations */
} ModelArgs;

/* Parses an integer in [min, max]; prints "xploredl: OPT expects ..." and returns false. */
bool args_int64(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out);
/* Consumes --batch N / --dim NAME=VALUE / --train / --loss KIND / --optimizer KIND /
 * --detach-routing / --routing-iterations N at argv[*i] (advancing *i past the value).
 * Returns 1 if consumed, 0 if argv[*i] is not a model option, -1 on a bad value (printed). */
int args_model_option(ModelArgs *m, int argc, char **argv, int *i);
/* Loads and shape-infers a model and runs the passes (training ones with --train); on failure
 * prints the one-line error, sets *exit_code
 * (2 bad input, 1 internal) and returns NULL. */
Graph *args_load_model(const ModelArgs *m, const char *path, int *exit_code);
int args_exit_code(XdlStatus st);

/* cmd_inspect.c */
int cmd_inspect(int argc, char **argv);
/* cmd_scalesim.c */
int cmd_scalesim(int argc, char **argv);
/* cmd_estimate.c */
int cmd_estimate(int argc, char **argv);

/* cmd_explore.c (the helpers are shared with cmd_zoo.c) */
int cmd_explore(int argc, char **argv);
struct DesignSpace;
struct DseOptions;
/* The state of the stderr progress bar explore_progress draws (a DseProgress callback). */
typedef struct ExploreBar {
  const char *label;
  double last_s; /* when it was last drawn (monotonic seconds) */
  bool erased;   /* finished: the bar has been erased */
} ExploreBar;
void explore_progress(int64_t done, int64_t total, void *ud);
/* Parses --objectives' comma list into o; prints the error and returns false when bad. */
bool explore_parse_objectives(const char *text, struct DseOptions *o);
/* Consumes a sweep option shared by explore and zoo at argv[*i]: --space FILE, --out DIR,
 * --jobs N, --objectives LIST (into *space_path, *out_dir, o). Returns 1 if consumed, 0 if
 * argv[*i] is none of them, -1 on a bad or missing value (printed). */
int explore_sweep_option(int argc, char **argv, int *i, const char **space_path,
                         const char **out_dir, struct DseOptions *o);
/* Loads --space PATH (NULL = the default space) into a new xdl_malloc'd space; on failure
 * prints the one-line error, sets *exit_code and returns NULL. */
struct DesignSpace *explore_load_space(const char *path, int *exit_code);
/* Whether dir is, or can be created as, a writable directory (no side effects); prints the
 * error naming dir when not. */
bool explore_check_out_dir(const char *dir);
/* The workloads one sweep costs: the model once, or once per value of the space's workload
 * parameter (routing_iterations), each with its passes run, its schedule and its memory
 * footprint. ws[k] borrows scheds[k] and mems[k]; s and mem are the ones the reports name
 * (the first schedule, the largest footprint). */
struct DseWorkload;
typedef struct ExploreWorkloads {
  int n;
  Graph **graphs;
  Schedule *scheds;
  MemoryFootprint *mems;
  struct DseWorkload *ws;
  const Schedule *s;
  const MemoryFootprint *mem;
} ExploreWorkloads;
/* Loads path per workload into *w (zeroed first; free with explore_workloads_free even on
 * failure). On failure d holds the one-line error (a model without a compact capsule op that
 * routes, for a space sweeping routing_iterations, is XDL_ERR_INPUT). */
XdlStatus explore_load_workloads(const ModelArgs *m, const char *path,
                                 const struct DesignSpace *space, ExploreWorkloads *w, Diag *d);
void explore_workloads_free(ExploreWorkloads *w);
/* cmd_zoo.c */
int cmd_zoo(int argc, char **argv);

#endif
