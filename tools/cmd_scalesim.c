/* cmd_scalesim.c — `xploredl scalesim`: SCALE-Sim compatibility mode. Reads SCALE-Sim's own
 * config and topology, costs every layer with the systolic model (fast path, or the exact replay
 * with --exact) and writes SCALE-Sim v2's three report files; --json prints the same numbers. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "tools/commands.h"

static void scalesim_usage(FILE *out) {
  fprintf(out,
          "usage: %s scalesim -c CONFIG.cfg -t TOPOLOGY.csv [-p OUTDIR] [-i conv|gemm]\n"
          "                         [--exact] [--json]\n"
          "\n"
          "Runs a SCALE-Sim v2 config and topology through XploreDL's systolic-array model and\n"
          "writes OUTDIR/<run_name>/COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and\n"
          "DETAILED_ACCESS_REPORT.csv in SCALE-Sim v2's format.\n"
          "\n"
          "  -c FILE      SCALE-Sim config ([general] run_name, [architecture_presets],\n"
          "               [run_presets] InterfaceBandwidth CALC|USER)\n"
          "  -t FILE      topology CSV: conv rows (name, H, W, Fh, Fw, channels, filters,\n"
          "               stride[, column stride]) or, with -i gemm, rows name, M, N, K\n"
          "  -p OUTDIR    directory for the reports (default: current directory)\n"
          "  -i conv|gemm topology type (default: conv)\n"
          "  --exact      replay the operand streams (every figure as SCALE-Sim reports it);\n"
          "               default: fast path (closed forms, DRAM traffic and stalls estimated)\n"
          "  --json       also print the numbers as JSON on standard output\n"
          "  --help       show this help\n"
          "\n"
          "Exit status: 0 success, 1 internal error, 2 bad input or usage.\n",
          xdl_prog);
}

static int exit_code(XdlStatus st) { return st == XDL_OK ? 0 : st == XDL_ERR_INPUT ? 2 : 1; }

int cmd_scalesim(int argc, char **argv) {
  const char *cfg_path = NULL, *topo_path = NULL, *outdir = ".";
  bool gemm = false, exact = false, json = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      scalesim_usage(stdout);
      return 0;
    } else if (strcmp(a, "--exact") == 0) {
      exact = true;
    } else if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (!strcmp(a, "-c") || !strcmp(a, "-t") || !strcmp(a, "-p") || !strcmp(a, "-i")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: scalesim: %s needs a value\n", xdl_prog, a);
        return 2;
      }
      const char *v = argv[++i];
      if (a[1] == 'c') cfg_path = v;
      else if (a[1] == 't') topo_path = v;
      else if (a[1] == 'p') outdir = v;
      else if (strcmp(v, "conv") == 0) gemm = false;
      else if (strcmp(v, "gemm") == 0) gemm = true;
      else {
        fprintf(stderr, "%s: scalesim: -i expects conv or gemm, got '%s'\n", xdl_prog, v);
        return 2;
      }
    } else {
      fprintf(stderr, "%s: scalesim: unknown option '%s' (see --help)\n", xdl_prog, a);
      return 2;
    }
  }
  if (!cfg_path || !topo_path) {
    fprintf(stderr, "%s: scalesim: -c CONFIG and -t TOPOLOGY are required (see --help)\n",
            xdl_prog);
    return 2;
  }

  Diag d;
  diag_init(&d);
  ScaleSimConfig sc;
  ScaleSimTopology topo = {0};
  SystolicResult *res = NULL;
  const char **names = NULL;
  XdlStatus st = scalesim_read_config(cfg_path, &sc, &d);
  if (st == XDL_OK) st = scalesim_read_topology(topo_path, gemm, &topo, &d);
  if (st != XDL_OK) goto fail;
  SystolicConfig cfg = {
      .rows = sc.array_h, .cols = sc.array_w,
      .df = sc.dataflow[0] == 'o' ? DF_OS : sc.dataflow[0] == 'w' ? DF_WS : DF_IS,
      .ifmap_sram_words = sc.ifmap_sram_kb * 1024, .filter_sram_words = sc.filter_sram_kb * 1024,
      .ofmap_sram_words = sc.ofmap_sram_kb * 1024, .bw_mode_user = sc.bw_user,
      .dram_bw_words = sc.bw_user ? sc.bandwidth : 10, .word_bytes = 1,
      .ifmap_offset = sc.ifmap_offset, .filter_offset = sc.filter_offset,
      .ofmap_offset = sc.ofmap_offset};
  res = xdl_calloc((size_t)topo.n_layers, sizeof *res);
  names = xdl_calloc((size_t)topo.n_layers, sizeof *names);
  if (!res || !names) {
    st = diag_error(&d, XDL_ERR_INTERNAL, "out of memory");
    goto fail;
  }
  for (int i = 0; i < topo.n_layers; i++) {
    const ScaleSimLayer *l = &topo.layers[i];
    SysLayer sl = {l->ifmap_h, l->ifmap_w, l->filter_h, l->filter_w, l->channels,
                   l->num_filters, l->stride_h, l->stride_w, 1};
    Diag ld;
    diag_init(&ld);
    st = exact ? systolic_eval_exact(&cfg, &sl, &res[i], &ld)
               : systolic_eval_fast(&cfg, &sl, &res[i], &ld);
    if (st != XDL_OK) {
      diag_error(&d, st, "%s:%d: layer %s: %s", topo_path, l->line, l->name, ld.msg);
      goto fail;
    }
    names[i] = l->name;
  }
  st = scalesim_write_reports(outdir, sc.run_name, res, topo.n_layers, &d);
  if (st != XDL_OK) goto fail;
  if (json) {
    scalesim_write_json(stdout, sc.run_name, names, res, topo.n_layers);
  } else {
    printf("%s: %d layers, %s/%s/{COMPUTE,BANDWIDTH,DETAILED_ACCESS}_REPORT.csv (%s path)\n",
           sc.run_name, topo.n_layers, outdir, sc.run_name, exact ? "exact" : "fast");
    for (int i = 0; i < topo.n_layers; i++)
      printf("  %-12s cycles %12lld  stalls %10lld  util %6.2f%%  DRAM words %12lld\n",
             names[i], (long long)res[i].total_cycles, (long long)res[i].stall_cycles,
             res[i].overall_util_pct,
             (long long)(res[i].dram_words[0] + res[i].dram_words[1] + res[i].dram_words[2]));
  }
fail:
  if (st != XDL_OK) fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
  xdl_free(res);
  xdl_free(names);
  scalesim_topology_free(&topo);
  return exit_code(st);
}
