/* make_caps.c — writes compact capsule networks in XploreDL's ONNX domain ai.xploredl with
 * onnx_save: CapsNet (Sabour et al. 2017: MNIST 28×28, Conv 9×9 256, PrimaryCaps 32×8D 9×9
 * stride 2, ClassCaps 10×16D with 3 routing iterations, optionally the 512-1024-784 decoder) and
 * a reduced DeepCaps (Rajasegaran et al. 2019: three CapsCells of 2-D ConvCaps with skip
 * branches, the last skip a ConvCaps with 3-D routing, then ClassCaps). Opset 13, input "input"
 * with a symbolic "batch" dim, weights as external data that is never written. Each model is
 * re-imported and lowered (capsule_lower); both MAC totals must equal the count this program
 * derives by formula while building. Usage: make_caps [--decoder] OUTDIR */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend.h"
#include "passes/passes.h"

/* A model under construction; IR_NONE propagates, the first error stays in d. */
typedef struct Net {
  Graph *g;
  Diag d;
  int64_t macs;      /* batch-1 MACs counted by formula (the cross-check) */
  uint32_t node;     /* the node the last helper added, for its attributes */
} Net;

static uint32_t weight(Net *b, const char *path, const char *suffix, int rank,
                       const int64_t *dims) {
  char name[256];
  snprintf(name, sizeof name, "%s.%s", path, suffix);
  return ir_add_tensor(b->g, name, DT_FLOAT, ROLE_WEIGHT, rank, dims, &b->d);
}

static uint32_t ints_const(Net *b, const char *name, const int64_t *v, int n, int rank) {
  int64_t dim = n;
  uint32_t t = ir_add_tensor(b->g, name, DT_INT64, ROLE_CONST, rank, &dim, &b->d);
  if (t != IR_NONE && !ir_set_ivals(b->g, t, v, n)) {
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
    return IR_NONE;
  }
  return t;
}

/* Node "<path>/<Op>" reading ins, one float output (named out_name, or after the node). The
 * attributes are set by the caller through b->node, then done() infers the output shape. */
static uint32_t op(Net *b, OpKind kind, const char *path, const uint32_t *ins, int n_in,
                   const char *out_name) {
  for (int i = 0; i < n_in; i++)
    if (ins[i] == IR_NONE) return b->node = IR_NONE;
  char name[320], oname[340];
  snprintf(name, sizeof name, "/%s/%s", path, ir_ops[kind].name);
  for (int k = 1; ir_find_node(b->g, name) != IR_NONE; k++)
    snprintf(name, sizeof name, "/%s/%s_%d", path, ir_ops[kind].name, k);
  snprintf(oname, sizeof oname, "%s_output_0", name);
  uint32_t y = ir_add_tensor(b->g, out_name ? out_name : oname, DT_FLOAT, ROLE_ACTIVATION, -1,
                             NULL, &b->d);
  if (y == IR_NONE) return b->node = IR_NONE;
  b->node = ir_add_node(b->g, kind, name, ins, n_in, &y, 1, &b->d);
  return b->node == IR_NONE ? IR_NONE : y;
}

static uint32_t done(Net *b, uint32_t y) {
  if (y == IR_NONE || !diag_ok(&b->d)) return IR_NONE;
  return ir_infer_node(b->g, b->node, &b->d) == XDL_OK ? y : IR_NONE;
}

static void attr_int(Net *b, const char *name, int64_t v) {
  if (b->node != IR_NONE && !ir_set_attr_int(b->g, b->node, name, v))
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
}

static void attr_ints(Net *b, const char *name, const int64_t *v, int n) {
  if (b->node != IR_NONE && !ir_set_attr_ints(b->g, b->node, name, v, n))
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
}

static void attr_string(Net *b, const char *name, const char *v) {
  if (b->node != IR_NONE && !ir_set_attr_string(b->g, b->node, name, v))
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
}

static const int64_t *dims_of(Net *b, uint32_t t) { return b->g->tensors[t].dims; }

/* Window attributes of a square k×k window, stride s, padding p. */
static void window(Net *b, int64_t k, int64_t s, int64_t p) {
  attr_ints(b, "kernel_shape", (int64_t[]){k, k}, 2);
  attr_ints(b, "strides", (int64_t[]){s, s}, 2);
  attr_ints(b, "pads", (int64_t[]){p, p, p, p}, 4);
}

static int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t p) {
  return (in + 2 * p - k) / s + 1;
}

/* Conv k×k, stride s, padding p, with bias, then Relu. */
static uint32_t conv_relu(Net *b, const char *path, uint32_t x, int64_t cout, int64_t k,
                          int64_t s, int64_t p) {
  if (x == IR_NONE) return IR_NONE;
  int64_t cin = dims_of(b, x)[1], h = dims_of(b, x)[2], w = dims_of(b, x)[3];
  uint32_t ins[3] = {x, weight(b, path, "weight", 4, (int64_t[]){cout, cin, k, k}),
                     weight(b, path, "bias", 1, (int64_t[]){cout})};
  uint32_t y = op(b, OP_CONV, path, ins, 3, NULL);
  attr_ints(b, "dilations", (int64_t[]){1, 1}, 2);
  attr_int(b, "group", 1);
  window(b, k, s, p);
  b->macs += cout * out_extent(h, k, s, p) * out_extent(w, k, s, p) * cin * k * k;
  y = done(b, y);
  return done(b, op(b, OP_RELU, path, &y, 1, NULL));
}

static uint32_t primary_caps(Net *b, const char *path, uint32_t x, int64_t caps, int64_t dim,
                             int64_t k, int64_t s) {
  if (x == IR_NONE) return IR_NONE;
  int64_t cin = dims_of(b, x)[1], h = dims_of(b, x)[2], w = dims_of(b, x)[3];
  uint32_t ins[3] = {x, weight(b, path, "weight", 4, (int64_t[]){caps * dim, cin, k, k}),
                     weight(b, path, "bias", 1, (int64_t[]){caps * dim})};
  uint32_t y = op(b, OP_PRIMARY_CAPS, path, ins, 3, NULL);
  window(b, k, s, 0);
  attr_int(b, "num_capsules", caps);
  attr_int(b, "capsule_dim", dim);
  attr_int(b, "squash", 1);
  b->macs += caps * dim * out_extent(h, k, s, 0) * out_extent(w, k, s, 0) * cin * k * k;
  return done(b, y);
}

/* ConvCaps k×k, stride s, padding p; routing "2d" (no routing) or "3d" with iters. */
static uint32_t conv_caps(Net *b, const char *path, uint32_t x, int64_t caps, int64_t dim,
                          int64_t k, int64_t s, int64_t p, bool r3d, int64_t iters) {
  if (x == IR_NONE) return IR_NONE;
  const int64_t *xd = dims_of(b, x);
  int64_t cin = xd[1], din = xd[2];
  int64_t oh = out_extent(xd[3], k, s, p), ow = out_extent(xd[4], k, s, p);
  uint32_t w = r3d ? weight(b, path, "weight", 5, (int64_t[]){caps * dim, 1, din, k, k})
                   : weight(b, path, "weight", 4, (int64_t[]){caps * dim, cin * din, k, k});
  uint32_t ins[3] = {x, w, weight(b, path, "bias", 1, (int64_t[]){caps * dim})};
  uint32_t y = op(b, OP_CONV_CAPS, path, ins, 3, NULL);
  window(b, k, s, p);
  attr_int(b, "num_capsules", caps);
  attr_int(b, "capsule_dim", dim);
  attr_string(b, "routing", r3d ? "3d" : "2d");
  attr_int(b, "routing_iterations", iters);
  /* 2-D: one convolution over Cin*Din channels. 3-D: the vote convolution (depth Din, stride
   * Din: Cin output depths) then 2*iters - 1 contractions over the votes. */
  int64_t votes = caps * dim * oh * ow * cin;
  b->macs += r3d ? votes * din * k * k + (2 * iters - 1) * votes
                 : caps * dim * oh * ow * cin * din * k * k;
  return done(b, y);
}

static uint32_t class_caps(Net *b, const char *path, uint32_t u, int64_t caps, int64_t dim,
                           int64_t iters) {
  if (u == IR_NONE) return IR_NONE;
  int64_t nin = dims_of(b, u)[1], din = dims_of(b, u)[2];
  uint32_t ins[2] = {u, weight(b, path, "weight", 4, (int64_t[]){nin, caps, dim, din})};
  uint32_t y = op(b, OP_CLASS_CAPS, path, ins, 2, NULL);
  attr_int(b, "num_capsules", caps);
  attr_int(b, "capsule_dim", dim);
  attr_int(b, "routing_iterations", iters);
  b->macs += nin * caps * dim * din + (2 * iters - 1) * nin * caps * dim;
  return done(b, y);
}

/* Capsule lengths ||v|| over the last axis: the class scores. */
static uint32_t lengths(Net *b, uint32_t v, const char *out_name) {
  uint32_t y = op(b, OP_REDUCE_L2, "lengths", &v, 1, out_name);
  attr_ints(b, "axes", (int64_t[]){-1}, 1);
  attr_int(b, "keepdims", 0);
  return done(b, y);
}

/* Masks every class capsule but the longest (ArgMax → OneHot), flattens, and reconstructs the
 * image with the fully connected decoder 512-1024-784 (ReLU, ReLU, Sigmoid). */
static uint32_t decoder(Net *b, uint32_t v, uint32_t len) {
  if (v == IR_NONE || len == IR_NONE) return IR_NONE;
  int64_t ncls = dims_of(b, v)[1], dim = dims_of(b, v)[2];
  uint32_t am = op(b, OP_ARG_MAX, "mask", &len, 1, NULL);
  attr_int(b, "axis", 1);
  attr_int(b, "keepdims", 0);
  am = done(b, am);
  uint32_t depth = ints_const(b, "mask.depth", (int64_t[]){ncls}, 1, 0);
  uint32_t vals = ints_const(b, "mask.values", (int64_t[]){0, 1}, 2, 1);
  uint32_t oh = op(b, OP_ONE_HOT, "mask", (uint32_t[]){am, depth, vals}, 3, NULL);
  attr_int(b, "axis", -1);
  oh = done(b, oh);
  uint32_t cast = op(b, OP_CAST, "mask", &oh, 1, NULL);
  attr_int(b, "to", DT_FLOAT);
  cast = done(b, cast);
  uint32_t ax = ints_const(b, "mask.axes", (int64_t[]){2}, 1, 1);
  uint32_t un = done(b, op(b, OP_UNSQUEEZE, "mask", (uint32_t[]){cast, ax}, 2, NULL));
  uint32_t masked = done(b, op(b, OP_MUL, "mask", (uint32_t[]){v, un}, 2, NULL));
  uint32_t x = op(b, OP_FLATTEN, "decoder", &masked, 1, NULL);
  attr_int(b, "axis", 1);
  x = done(b, x);
  static const int64_t widths[3] = {512, 1024, 784};
  int64_t in = ncls * dim;
  for (int i = 0; i < 3; i++) {
    char path[64];
    snprintf(path, sizeof path, "decoder.%d", 2 * i);
    uint32_t ins[3] = {x, weight(b, path, "weight", 2, (int64_t[]){widths[i], in}),
                       weight(b, path, "bias", 1, (int64_t[]){widths[i]})};
    uint32_t y = op(b, OP_GEMM, path, ins, 3, NULL);
    attr_int(b, "transB", 1);
    y = done(b, y);
    x = done(b, op(b, i < 2 ? OP_RELU : OP_SIGMOID, path, &y, 1, NULL));
    b->macs += in * widths[i];
    in = widths[i];
  }
  uint32_t shape = ints_const(b, "reconstruction.shape", (int64_t[]){-1, 1, 28, 28}, 4, 1);
  return done(b, op(b, OP_RESHAPE, "decoder", (uint32_t[]){x, shape}, 2, "reconstruction"));
}

static uint32_t input(Net *b, int64_t c, int64_t h, int64_t w) {
  uint32_t x = ir_add_tensor(b->g, "input", DT_FLOAT, ROLE_INPUT, 4, (int64_t[]){1, c, h, w},
                             &b->d);
  if (x != IR_NONE && !ir_graph_add_input(b->g, x)) {
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
    return IR_NONE;
  }
  return x;
}

static void output(Net *b, uint32_t y) {
  if (y != IR_NONE && !ir_graph_add_output(b->g, y))
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
}

/* Sabour et al. 2017 on MNIST; the decoder variant has outputs "lengths" and "reconstruction"
 * like ../shared/refdata/onnx/capsnet_with_decoder. */
static void build_capsnet(Net *b, bool with_decoder) {
  uint32_t x = conv_relu(b, "conv1", input(b, 1, 28, 28), 256, 9, 1, 0);
  uint32_t u = primary_caps(b, "primary", x, 32, 8, 9, 2);
  uint32_t v = class_caps(b, "digits", u, 10, 16, 3);
  uint32_t len = lengths(b, v, with_decoder ? "lengths" : "output");
  output(b, len);
  if (with_decoder) output(b, decoder(b, v, len));
}

static void build_capsnet_plain(Net *b) { build_capsnet(b, false); }
static void build_capsnet_decoder(Net *b) { build_capsnet(b, true); }

/* A DeepCaps CapsCell: l1 (stride s) → l2 → l3, plus a skip branch from l1 (a ConvCaps with
 * 3-D routing in the last cell), summed. */
static uint32_t caps_cell(Net *b, const char *name, uint32_t x, int64_t caps, int64_t dim,
                          int64_t s, bool skip_3d) {
  char p[4][64];
  for (int i = 0; i < 4; i++) snprintf(p[i], sizeof p[i], "%s.l%d", name, i + 1);
  uint32_t l1 = conv_caps(b, p[0], x, caps, dim, 3, s, 1, false, 1);
  uint32_t l2 = conv_caps(b, p[1], l1, caps, dim, 3, 1, 1, false, 1);
  uint32_t l3 = conv_caps(b, p[2], l2, caps, dim, 3, 1, 1, false, 1);
  uint32_t l4 = conv_caps(b, p[3], l1, caps, dim, 3, 1, 1, skip_3d, skip_3d ? 3 : 1);
  return done(b, op(b, OP_ADD, name, (uint32_t[]){l3, l4}, 2, NULL));
}

/* DeepCaps (Rajasegaran et al. 2019), reduced to three CapsCells for 28×28 MNIST: Conv 3×3 128
 * (BatchNorm folded) → 32×4D capsules → cells 32×4D (28→14), 32×8D (→7), 32×8D (→4, 3-D routing
 * skip) → ClassCaps 10×16D, 3 iterations → lengths. */
static void build_deepcaps(Net *b) {
  uint32_t x = conv_relu(b, "conv1", input(b, 1, 28, 28), 128, 3, 1, 1);
  uint32_t shape = ints_const(b, "capsules.shape", (int64_t[]){0, 32, 4, 28, 28}, 5, 1);
  uint32_t c = done(b, op(b, OP_RESHAPE, "capsules", (uint32_t[]){x, shape}, 2, NULL));
  c = caps_cell(b, "cell1", c, 32, 4, 2, false);
  c = caps_cell(b, "cell2", c, 32, 8, 2, false);
  c = caps_cell(b, "cell3", c, 32, 8, 2, true);
  /* [N, 32, 8, 4, 4] → [N, 32, 4, 4, 8] → [N, 512, 8]: one capsule per type and location. */
  uint32_t t = op(b, OP_TRANSPOSE, "flatten_caps", &c, 1, NULL);
  attr_ints(b, "perm", (int64_t[]){0, 1, 3, 4, 2}, 5);
  t = done(b, t);
  uint32_t fs = ints_const(b, "flatten_caps.shape", (int64_t[]){0, -1, 8}, 3, 1);
  uint32_t u = done(b, op(b, OP_RESHAPE, "flatten_caps", (uint32_t[]){t, fs}, 2, NULL));
  output(b, lengths(b, class_caps(b, "digits", u, 10, 16, 3), "output"));
}

typedef struct NetSpec {
  const char *name;
  void (*build)(Net *b);
  bool optional; /* written only with --decoder */
} NetSpec;

static const NetSpec nets[] = {
    {"capsnet_compact", build_capsnet_plain, false},
    {"deepcaps_compact", build_deepcaps, false},
    {"capsnet_decoder_compact", build_capsnet_decoder, true},
};

static int64_t total_macs(const Graph *g) {
  int64_t macs = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++) macs += ir_node_work(g, n).macs;
  return macs;
}

/* Builds, writes, re-imports and lowers one model; prints its figures. Returns 0 or 1. */
static int make_one(const NetSpec *spec, const char *dir) {
  Net b = {.node = IR_NONE};
  Graph *back = NULL;
  char path[4096];
  int rc = 1;
  diag_init(&b.d);
  snprintf(path, sizeof path, "%s/%s.onnx", dir, spec->name);
  if (!(b.g = ir_graph_new())) {
    fprintf(stderr, "make_caps: out of memory\n");
    return 1;
  }
  b.g->name = spec->name;
  b.g->opset = 13;
  b.g->opset_xploredl = 1;
  spec->build(&b);
  if (diag_ok(&b.d)) ir_verify(b.g, &b.d);
  if (!diag_ok(&b.d)) {
    fprintf(stderr, "make_caps: building %s: %s\n", spec->name, b.d.msg);
    goto fail;
  }
  ExportOptions eo = {.batch_param = "batch"};
  if (onnx_save(b.g, path, &eo, &b.d) != XDL_OK) {
    fprintf(stderr, "make_caps: %s\n", b.d.msg);
    goto fail;
  }
  if (!(back = onnx_load(path, NULL, &b.d))) {
    fprintf(stderr, "make_caps: re-import failed: %s\n", b.d.msg);
    goto fail;
  }
  int64_t compact = total_macs(back);
  uint32_t compact_nodes = back->n_nodes;
  if (passes_run(back, NULL, &b.d) != XDL_OK) {
    fprintf(stderr, "make_caps: lowering %s: %s\n", path, b.d.msg);
    goto fail;
  }
  int64_t lowered = total_macs(back);
  printf("%-24s %3u nodes (%4u lowered) %13lld MACs\n", spec->name, compact_nodes,
         back->n_nodes, (long long)lowered);
  if (compact != b.macs || lowered != b.macs) {
    fprintf(stderr, "make_caps: %s: %lld MACs compact, %lld lowered, %lld by formula\n", path,
            (long long)compact, (long long)lowered, (long long)b.macs);
    goto fail;
  }
  rc = 0;
fail:
  ir_graph_free(back);
  ir_graph_free(b.g);
  return rc;
}

int main(int argc, char **argv) {
  bool decoder = argc == 3 && strcmp(argv[1], "--decoder") == 0;
  const char *dir = argv[argc - 1];
  if ((argc != 2 && !decoder) || dir[0] == '-') {
    fprintf(stderr, "usage: make_caps [--decoder] OUTDIR   (writes capsnet_compact.onnx and "
                    "deepcaps_compact.onnx;\n"
                    "       --decoder also capsnet_decoder_compact.onnx)\n");
    return 2;
  }
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "make_caps: %s: %s\n", dir, strerror(errno));
    return 2;
  }
  int rc = 0;
  for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
    if (!nets[i].optional || decoder) rc |= make_one(&nets[i], dir);
  return rc;
}
