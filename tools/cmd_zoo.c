/* cmd_zoo.c — `xploredl zoo DIR`: every .onnx model in a folder (sorted by name) explored over
 * one design space, or estimated on one accelerator with --arch (a one-point space), and one
 * summary table (model, MACs, best latency, energy, TOPS/mm^2, fJ/op) on the terminal and in
 * OUT/zoo.csv. A model that fails keeps its one-line error in the table; the rest still run. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "tools/commands.h"

static void zoo_usage(FILE *out) {
  fprintf(out,
          "usage: %s zoo DIR [--arch ARCH.xml|PRESET | --space SPACE.xml] [--out OUT]\n"
          "                     [--jobs N] [--objectives LIST] [--batch N] [--dim NAME=VALUE]...\n"
          "                     [--train [--loss KIND] [--optimizer KIND]]\n"
          "\n"
          "Runs `explore` on every .onnx file in DIR (sorted by name) over one design space\n"
          "(--space, default the embedded space), or `estimate` on one accelerator with\n"
          "--arch, and prints one summary row per model: MACs, the best latency, energy,\n"
          "TOPS/mm^2 and fJ/op among its feasible designs, and the number of Pareto-optimal\n"
          "designs, and the model's memory footprint (weights, optimizer state and the peak\n"
          "of live activations and gradients). The table also goes to OUT/zoo.csv (model,\n"
          "macs,points,feasible,pareto,best_latency_s,best_energy_j,best_tops_per_mm2,\n"
          "best_fj_per_op,memory_bytes,error); when exploring, each model's points.csv,\n"
          "pareto.csv, pareto.json, phases.csv, capsule_roles.csv and pareto.svg go to\n"
          "OUT/<model>/. A space sweeping routing_iterations fails on models without compact\n"
          "routing capsule ops (listed with the error). A model\n"
          "that cannot be imported or costed is listed with its one-line error and the others\n"
          "still run; the exit status is then 2. With --train every figure is the whole\n"
          "training step's (MACs: forward, backward and update).\n"
          "\n"
          "  --arch ARCH         estimate on this accelerator (XML file or preset) instead\n"
          "  --space SPACE.xml   design space to explore (see `explore --help`)\n"
          "  --out OUT           output directory (created if missing; default xploredl-zoo)\n"
          "  --jobs N            worker threads (default 0 = one per online CPU)\n"
          "  --objectives LIST   Pareto objectives from latency, energy, area, power, memory\n"
          "                      (default latency,energy,area)\n"
          "  --batch N           bind the leading symbolic dim of every input (default 1)\n"
          "  --dim NAME=VALUE    bind the symbolic dim NAME (repeatable)\n"
          "  --train             cost the whole training step: forward, loss, backward (data\n"
          "                      and weight gradients, on the same array model) and the\n"
          "                      optimizer update, with totals by phase\n"
          "  --loss KIND         auto (default), softmax_ce, margin or mse\n"
          "  --optimizer KIND    sgd (default), momentum or adam\n"
          "  --detach-routing    capsules: no gradient through routing iterations before the\n"
          "                      last\n"
          "  -h, --help          show this help\n",
          xdl_prog);
}

/* One model's line of the summary. */
typedef struct ZooRow {
  char model[256];
  int64_t macs, points, feasible, pareto;
  int64_t memory_bytes; /* the model's memory footprint (training step with --train) */
  double latency_s, energy_j, tops_per_mm2, fj_per_op; /* best among feasible points */
  XdlStatus status;
  char error[1024];
} ZooRow;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .onnx files of dir, sorted, as malloc'd names; NULL with *n = -1 when dir cannot be
 * read (errno set). */
static char **list_models(const char *dir, int *n) {
  DIR *dp = opendir(dir);
  *n = -1;
  if (!dp) return NULL;
  char **names = NULL;
  int count = 0, cap = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    size_t len = strlen(e->d_name);
    if (len <= 5 || strcmp(e->d_name + len - 5, ".onnx") != 0) continue;
    if (count == cap) {
      cap = cap ? 2 * cap : 16;
      char **grown = realloc(names, (size_t)cap * sizeof *names);
      if (!grown) break;
      names = grown;
    }
    if (!(names[count] = strdup(e->d_name))) break;
    count++;
  }
  closedir(dp);
  qsort(names, (size_t)count, sizeof *names, cmp_str);
  *n = count;
  return names;
}

/* Resolves --arch into a one-point space on that accelerator; prints the error when bad. */
static DesignSpace *arch_space(const char *arch, int *exit_code) {
  DesignSpace *space = xdl_calloc(1, sizeof *space);
  if (!space) {
    fprintf(stderr, "%s: out of memory\n", xdl_prog);
    *exit_code = 1;
    return NULL;
  }
  space->n_points = 1;
  snprintf(space->name, sizeof space->name, "%s", arch);
  struct stat sb;
  if (stat(arch, &sb) == 0 || strchr(arch, '/') || strstr(arch, ".xml")) {
    Diag d;
    diag_init(&d);
    if (arch_load_xml(arch, &space->base, &d) == XDL_OK) return space;
    fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
    *exit_code = args_exit_code(d.status == XDL_OK ? XDL_ERR_INTERNAL : d.status);
  } else if (arch_preset(arch, &space->base)) {
    return space;
  } else {
    fprintf(stderr, "%s zoo: --arch '%s' is neither a file nor a preset\n", xdl_prog, arch);
    *exit_code = 2;
  }
  xdl_free(space);
  return NULL;
}

/* Imports, schedules and sweeps one model into row; writes its files under out_dir/<stem>
 * when write_files. Failures land in row->status and row->error. */
static void zoo_model(const ModelArgs *m, const char *path, const char *stem,
                      const DesignSpace *space, const DseOptions *opt, const char *out_dir,
                      bool write_files, ZooRow *row) {
  Diag d;
  diag_init(&d);
  ExploreWorkloads wl;
  memset(&wl, 0, sizeof wl);
  DseResult r;
  memset(&r, 0, sizeof r);
  if (explore_load_workloads(m, path, space, &wl, &d) != XDL_OK) goto fail;
  const Schedule *s = wl.s;
  row->macs = s->total_macs;
  row->memory_bytes = wl.mem->total_bytes;
  ExploreBar bar = {.label = stem, .last_s = 0, .erased = false};
  DseOptions o = *opt;
  o.memory = wl.mem;
  if (space_workload_param(space) >= 0) {
    o.workloads = wl.ws;
    o.n_workloads = wl.n;
  }
  if (isatty(STDERR_FILENO)) {
    o.progress = explore_progress;
    o.ud = &bar;
  }
  if (dse_sweep(s, space, &o, &r, &d) != XDL_OK) goto fail;
  row->points = r.n_points;
  row->feasible = r.n_feasible;
  row->pareto = r.n_pareto;
  row->latency_s = row->energy_j = row->fj_per_op = INFINITY;
  row->tops_per_mm2 = 0;
  for (int64_t i = 0; i < r.n_points; i++) {
    const Estimate *e = &r.points[i].est;
    if (!r.points[i].feasible) continue;
    row->latency_s = fmin(row->latency_s, e->latency_s);
    row->energy_j = fmin(row->energy_j, e->energy_j);
    row->fj_per_op = fmin(row->fj_per_op, e->fj_per_op);
    row->tops_per_mm2 = fmax(row->tops_per_mm2, e->tops_per_mm2);
  }
  if (r.n_feasible == 0) {
    diag_error(&d, XDL_ERR_INPUT, "no design point meets the constraints of %s",
               space->path[0] ? space->path : space->name);
    goto fail;
  }
  if (write_files) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", out_dir, stem);
    if (report_dse_write(dir, s, space, &r, &d) != XDL_OK) goto fail;
  }
  goto done;
fail:
  row->status = d.status == XDL_OK ? XDL_ERR_INTERNAL : d.status;
  snprintf(row->error, sizeof row->error, "%s", d.msg);
done:
  dse_result_free(&r);
  explore_workloads_free(&wl);
}

static void print_table(FILE *out, const ZooRow *rows, int n) {
  fprintf(out, "%-32s %14s %12s %12s %10s %9s %7s %11s\n", "model", "MACs", "best_lat_ms",
          "best_en_mJ", "TOPS/mm2", "fJ/op", "pareto", "memory_MiB");
  for (int i = 0; i < n; i++) {
    const ZooRow *r = &rows[i];
    if (r->status != XDL_OK) {
      fprintf(out, "%-32s error: %s\n", r->model, r->error);
      continue;
    }
    fprintf(out, "%-32s %14" PRId64 " %12.5g %12.5g %10.4g %9.4g %7" PRId64 " %11.2f\n", r->model,
            r->macs, r->latency_s * 1e3, r->energy_j * 1e3, r->tops_per_mm2, r->fj_per_op,
            r->pareto, (double)r->memory_bytes / (1024.0 * 1024.0));
  }
}

/* A CSV field: quoted, with quotes doubled, when it holds a comma, quote or newline. */
static void csv_field(FILE *out, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

/* OUT/zoo.csv through a temporary file and a rename. Prints the error; false on failure. */
static bool write_csv(const char *out_dir, const ZooRow *rows, int n) {
  char tmp[1100], final[1100];
  snprintf(final, sizeof final, "%s/zoo.csv", out_dir);
  snprintf(tmp, sizeof tmp, "%s/.zoo.csv.XXXXXX", out_dir);
  Diag d;
  diag_init(&d);
  if (report_dse_prepare_dir(out_dir, &d) != XDL_OK) {
    fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
    return false;
  }
  int fd = mkstemp(tmp);
  FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!out) {
    fprintf(stderr, "%s: output directory '%s': cannot write zoo.csv: %s\n", xdl_prog, out_dir,
            strerror(errno));
    if (fd >= 0) close(fd), unlink(tmp);
    return false;
  }
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  fputs("model,macs,points,feasible,pareto,best_latency_s,best_energy_j,best_tops_per_mm2,"
        "best_fj_per_op,memory_bytes,error\n",
        out);
  for (int i = 0; i < n; i++) {
    const ZooRow *r = &rows[i];
    csv_field(out, r->model);
    if (r->status == XDL_OK)
      fprintf(out,
              ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%.9g,%.9g,%.9g,%.9g,%" PRId64
              ",\n",
              r->macs, r->points, r->feasible, r->pareto, r->latency_s, r->energy_j,
              r->tops_per_mm2, r->fj_per_op, r->memory_bytes);
    else {
      fputs(",,,,,,,,,,", out);
      csv_field(out, r->error);
      fputc('\n', out);
    }
  }
  bool ok = !ferror(out);
  ok = fclose(out) == 0 && ok;
  if (!ok || rename(tmp, final) != 0) {
    fprintf(stderr, "%s: output directory '%s': writing zoo.csv failed\n", xdl_prog, out_dir);
    unlink(tmp);
    return false;
  }
  return true;
}

int cmd_zoo(int argc, char **argv) {
  ModelArgs m;
  memset(&m, 0, sizeof m);
  const char *dir = NULL, *arch = NULL, *space_path = NULL, *out_dir = "xploredl-zoo";
  DseOptions opt;
  dse_options_default(&opt);
  for (int i = 1; i < argc; i++) {
    int r = args_model_option(&m, argc, argv, &i);
    if (r < 0) return 2;
    if (r > 0) continue;
    r = explore_sweep_option(argc, argv, &i, &space_path, &out_dir, &opt);
    if (r < 0) return 2;
    if (r > 0) continue;
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      zoo_usage(stdout);
      return 0;
    } else if (strcmp(a, "--arch") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: --arch needs a value\n", xdl_prog);
        return 2;
      }
      arch = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "%s zoo: unknown option '%s' (see --help)\n", xdl_prog, a);
      return 2;
    } else if (dir) {
      fprintf(stderr, "%s zoo: more than one folder given ('%s' and '%s')\n", xdl_prog, dir, a);
      return 2;
    } else {
      dir = a;
    }
  }
  if (!dir) {
    fprintf(stderr, "%s zoo: no model folder given (see --help)\n", xdl_prog);
    return 2;
  }
  if (arch && space_path) {
    fprintf(stderr, "%s zoo: --arch and --space exclude each other\n", xdl_prog);
    return 2;
  }
  if (!*out_dir) {
    fprintf(stderr, "%s: --out needs a directory name\n", xdl_prog);
    return 2;
  }
  int n = 0, code = 0;
  char **names = list_models(dir, &n);
  if (n < 0) {
    fprintf(stderr, "%s zoo: cannot read folder '%s': %s\n", xdl_prog, dir, strerror(errno));
    return 2;
  }
  ZooRow *rows = NULL;
  DesignSpace *space = NULL;
  if (n == 0) {
    fprintf(stderr, "%s zoo: no .onnx file in '%s'\n", xdl_prog, dir);
    code = 2;
    goto done;
  }
  space = arch ? arch_space(arch, &code) : explore_load_space(space_path, &code);
  if (!space) goto done;
  if (!explore_check_out_dir(out_dir)) {
    code = 2;
    goto done;
  }
  rows = calloc((size_t)n, sizeof *rows);
  if (!rows) {
    fprintf(stderr, "%s: out of memory\n", xdl_prog);
    code = 1;
    goto done;
  }
  for (int i = 0; i < n; i++) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    snprintf(rows[i].model, sizeof rows[i].model, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
    zoo_model(&m, path, rows[i].model, space, &opt, out_dir, arch == NULL, &rows[i]);
    if (rows[i].status != XDL_OK && code != 1) code = args_exit_code(rows[i].status);
  }
  print_table(stdout, rows, n);
  if (!write_csv(out_dir, rows, n)) {
    code = 2;
    goto done;
  }
  printf("\nwrote %s/zoo.csv%s\n", out_dir, arch ? "" : " and one folder of reports per model");
  if (fflush(stdout) != 0 && code == 0) code = 1;
done:
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
  free(rows);
  xdl_free(space);
  return code;
}
