/* args.c — strict parsing of numeric option values and the model-loading options shared by
 * every subcommand that reads an ONNX model (--batch, --dim NAME=VALUE, the training options
 * --train, --loss, --optimizer, --detach-routing, and --routing-iterations). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "tools/commands.h"

bool args_int64(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (!*text || *end || errno || v < min || v > max) {
    fprintf(stderr, "%s: %s expects an integer from %lld to %lld, got '%s'\n", xdl_prog, opt,
            (long long)min, (long long)max, text);
    return false;
  }
  *out = v;
  return true;
}

int args_model_option(ModelArgs *m, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (strcmp(a, "--batch") == 0) {
    if (*i + 1 >= argc) goto missing;
    if (!args_int64("--batch", argv[++*i], 1, INT32_MAX, &m->opts.batch)) return -1;
    return 1;
  }
  if (strcmp(a, "--dim") == 0) {
    if (*i + 1 >= argc) goto missing;
    const char *kv = argv[++*i];
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
      fprintf(stderr, "%s: --dim expects NAME=VALUE, got '%s'\n", xdl_prog, kv);
      return -1;
    }
    if (m->n_dims >= MODEL_ARGS_MAX_DIMS) {
      fprintf(stderr, "%s: at most %d --dim options\n", xdl_prog, MODEL_ARGS_MAX_DIMS);
      return -1;
    }
    size_t len = (size_t)(eq - kv);
    if (len >= sizeof m->dim_name_buf[0]) {
      fprintf(stderr, "%s: --dim name too long in '%s'\n", xdl_prog, kv);
      return -1;
    }
    memcpy(m->dim_name_buf[m->n_dims], kv, len);
    m->dim_name_buf[m->n_dims][len] = '\0';
    if (!args_int64("--dim", eq + 1, 0, INT32_MAX, &m->dim_values[m->n_dims])) return -1;
    m->dim_names[m->n_dims] = m->dim_name_buf[m->n_dims];
    m->n_dims++;
    m->opts.dim_names = m->dim_names;
    m->opts.dim_values = m->dim_values;
    m->opts.n_dims = m->n_dims;
    return 1;
  }
  if (strcmp(a, "--train") == 0) {
    m->pass.train = true;
    return 1;
  }
  if (strcmp(a, "--detach-routing") == 0) {
    m->pass.detach_routing = true;
    return 1;
  }
  if (strcmp(a, "--routing-iterations") == 0) {
    if (*i + 1 >= argc) goto missing;
    if (!args_int64(a, argv[++*i], 1, CAPS_MAX_ITERS, &m->pass.routing_iterations))
      return -1;
    return 1;
  }
  if (strcmp(a, "--loss") == 0 || strcmp(a, "--optimizer") == 0) {
    if (*i + 1 >= argc) goto missing;
    const char *v = argv[++*i];
    bool loss = a[2] == 'l';
    static const char *losses[] = {"auto", "softmax_ce", "margin", "mse"};
    static const char *opts[] = {"sgd", "momentum", "adam"};
    int n = loss ? 4 : 3;
    for (int k = 0; k < n; k++)
      if (strcmp(v, loss ? losses[k] : opts[k]) == 0) {
        if (loss) m->pass.loss = (LossKind)k;
        else m->pass.optimizer = (OptimizerKind)k;
        return 1;
      }
    fprintf(stderr, "%s: %s expects %s, got '%s'\n", xdl_prog, a,
            loss ? "auto, softmax_ce, margin or mse" : "sgd, momentum or adam", v);
    return -1;
  }
  return 0;
missing:
  fprintf(stderr, "%s: %s needs a value\n", xdl_prog, a);
  return -1;
}

Graph *args_load_model(const ModelArgs *m, const char *path, int *exit_code) {
  Diag d;
  diag_init(&d);
  Graph *g = onnx_load(path, &m->opts, &d);
  if (g && passes_run(g, &m->pass, &d) != XDL_OK) {
    ir_graph_free(g);
    g = NULL;
  }
  if (!g) {
    fprintf(stderr, "%s: %s\n", xdl_prog, d.msg);
    *exit_code = args_exit_code(d.status == XDL_OK ? XDL_ERR_INTERNAL : d.status);
  }
  return g;
}

int args_exit_code(XdlStatus st) { return st == XDL_OK ? 0 : st == XDL_ERR_INPUT ? 2 : 1; }
