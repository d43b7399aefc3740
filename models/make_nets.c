/* make_nets.c — builds the models XploreDL ships in models/nets in C with the IR builder API
 * and writes them with onnx_save: opset 13, input "input" with a symbolic leading "batch" dim,
 * output "output", weights as external data that is never written (a few KB per file). Each
 * model is re-imported with onnx_load and its MACs and parameters are checked against the
 * counts the builder derives by formula while it builds. Usage: make_nets OUTDIR */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend.h"
#include "ir/ir.h"

/* A model under construction. Helpers take and return tensor ids; IR_NONE propagates, so a
 * build function checks only once, at the end (the first error is in d). */
typedef struct Net {
  Graph *g;
  Diag d;
  int64_t macs;         /* batch-1 MACs counted by formula while building (the cross-check) */
  int64_t params;       /* weight elements created */
  const char *out_name; /* name for the next node's output (the graph output), or NULL */
  uint32_t last_node;   /* node the last helper added, for its attributes */
  uint32_t relu6_min, relu6_max; /* shared Clip bounds, created on first use */
} Net;

/* ---- naming: PyTorch-style module scopes ---- */

/* Module path → ONNX scope as torch.onnx.export writes it: a numeric segment joins its parent
 * ("features.1.conv.0" → "/features/features.1/conv/conv.0"); "" is the root scope "". */
static void scope_of(const char *path, char *out, size_t size) {
  char prev[256] = "", seg[128];
  size_t len = 0;
  out[0] = '\0';
  while (*path) {
    size_t n = strcspn(path, ".");
    snprintf(seg, sizeof seg, "%.*s", (int)n, path);
    char comp[256];
    if (seg[0] >= '0' && seg[0] <= '9')
      snprintf(comp, sizeof comp, "%.120s.%s", prev, seg);
    else
      snprintf(comp, sizeof comp, "%s", seg);
    snprintf(prev, sizeof prev, "%s", comp);
    len += (size_t)snprintf(out + len, len < size ? size - len : 0, "/%s", comp);
    path += n;
    if (*path == '.') path++;
  }
}

/* ---- builder helpers ---- */

static uint32_t net_input(Net *b, int rank, const int64_t *dims) {
  uint32_t x = ir_add_tensor(b->g, "input", DT_FLOAT, ROLE_INPUT, rank, dims, &b->d);
  if (x != IR_NONE && !ir_graph_add_input(b->g, x)) {
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
    return IR_NONE;
  }
  return x;
}

static void net_output(Net *b, uint32_t y) {
  if (y != IR_NONE && !ir_graph_add_output(b->g, y))
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
}

/* Adds weight "<path>.<suffix>" (float, no bytes: it is exported as external data). */
static uint32_t weight(Net *b, const char *path, const char *suffix, int rank,
                       const int64_t *dims) {
  char name[256];
  snprintf(name, sizeof name, "%s.%s", path, suffix);
  uint32_t w = ir_add_tensor(b->g, name, DT_FLOAT, ROLE_WEIGHT, rank, dims, &b->d);
  if (w != IR_NONE) b->params += ir_numel(&b->g->tensors[w]);
  return w;
}

/* Adds node "<scope>/<Op>" (or "<Op>_k" when taken) reading ins, with one float output of the
 * given shape named "<node>_output_0" (or b->out_name). Returns the output or IR_NONE. */
static uint32_t add_op(Net *b, OpKind op, const char *path, const uint32_t *ins, int n_in,
                       int rank, const int64_t *dims) {
  const char *out_name = b->out_name;
  b->out_name = NULL;
  for (int i = 0; i < n_in; i++)
    if (ins[i] == IR_NONE) return IR_NONE;
  char sc[256], name[320], oname[340];
  scope_of(path, sc, sizeof sc);
  snprintf(name, sizeof name, "%s/%s", sc, ir_ops[op].name);
  for (int k = 1; ir_find_node(b->g, name) != IR_NONE; k++)
    snprintf(name, sizeof name, "%s/%s_%d", sc, ir_ops[op].name, k);
  snprintf(oname, sizeof oname, "%s_output_0", name);
  uint32_t y = ir_add_tensor(b->g, out_name ? out_name : oname, DT_FLOAT, ROLE_ACTIVATION, rank,
                             dims, &b->d);
  if (y == IR_NONE) return IR_NONE;
  b->last_node = ir_add_node(b->g, op, name, ins, n_in, &y, 1, &b->d);
  return b->last_node == IR_NONE ? IR_NONE : y;
}

static void attr_ints(Net *b, const char *name, const int64_t *v, int n) {
  if (!ir_set_attr_ints(b->g, b->last_node, name, v, n))
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
}

static void attr_int(Net *b, const char *name, int64_t v) {
  if (!ir_set_attr_int(b->g, b->last_node, name, v))
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
}

static void attr_float(Net *b, const char *name, double v) {
  if (!ir_set_attr_float(b->g, b->last_node, name, v))
    diag_error(&b->d, XDL_ERR_INTERNAL, "out of memory");
}

/* Square k×k Conv with bias (eval-mode exports fold BatchNorm into it), stride s, padding p on
 * every side, groups g: MACs = out elems · Cin/g · k². */
static uint32_t conv(Net *b, const char *path, uint32_t x, int64_t cout, int64_t k, int64_t s,
                     int64_t p, int64_t groups) {
  if (x == IR_NONE) return IR_NONE;
  const Tensor *t = &b->g->tensors[x];
  int64_t n = t->dims[0], cin = t->dims[1];
  int64_t oh = (t->dims[2] + 2 * p - k) / s + 1, ow = (t->dims[3] + 2 * p - k) / s + 1;
  int64_t wdims[4] = {cout, cin / groups, k, k}, bdims[1] = {cout}, odims[4] = {n, cout, oh, ow};
  uint32_t ins[3] = {x, weight(b, path, "weight", 4, wdims), weight(b, path, "bias", 1, bdims)};
  uint32_t y = add_op(b, OP_CONV, path, ins, 3, 4, odims);
  if (y == IR_NONE) return IR_NONE;
  attr_ints(b, "dilations", (int64_t[]){1, 1}, 2);
  attr_int(b, "group", groups);
  attr_ints(b, "kernel_shape", (int64_t[]){k, k}, 2);
  attr_ints(b, "pads", (int64_t[]){p, p, p, p}, 4);
  attr_ints(b, "strides", (int64_t[]){s, s}, 2);
  b->macs += n * cout * oh * ow * (cin / groups) * k * k;
  return y;
}

/* MaxPool or AveragePool, k×k window, stride s, padding p, floor rounding. */
static uint32_t pool(Net *b, OpKind op, const char *path, uint32_t x, int64_t k, int64_t s,
                     int64_t p) {
  if (x == IR_NONE) return IR_NONE;
  const Tensor *t = &b->g->tensors[x];
  int64_t odims[4] = {t->dims[0], t->dims[1], (t->dims[2] + 2 * p - k) / s + 1,
                      (t->dims[3] + 2 * p - k) / s + 1};
  uint32_t y = add_op(b, op, path, &x, 1, 4, odims);
  if (y == IR_NONE) return IR_NONE;
  attr_int(b, "ceil_mode", 0);
  attr_ints(b, "kernel_shape", (int64_t[]){k, k}, 2);
  attr_ints(b, "pads", (int64_t[]){p, p, p, p}, 4);
  attr_ints(b, "strides", (int64_t[]){s, s}, 2);
  return y;
}

/* A shape-preserving one-input op: Relu, Tanh. */
static uint32_t unary(Net *b, OpKind op, const char *path, uint32_t x) {
  if (x == IR_NONE) return IR_NONE;
  const Tensor *t = &b->g->tensors[x];
  int64_t dims[IR_MAX_RANK];
  int rank = t->rank;
  memcpy(dims, t->dims, sizeof dims);
  return add_op(b, op, path, &x, 1, rank, dims);
}

/* ReLU6 as opset-13 Clip with constant min/max inputs (scalar initializers, values known). */
static uint32_t relu6(Net *b, const char *path, uint32_t x) {
  if (b->relu6_min == IR_NONE) {
    double lo = 0.0, hi = 6.0;
    b->relu6_min = ir_add_tensor(b->g, "relu6_min", DT_FLOAT, ROLE_CONST, 0, NULL, &b->d);
    b->relu6_max = ir_add_tensor(b->g, "relu6_max", DT_FLOAT, ROLE_CONST, 0, NULL, &b->d);
    if (b->relu6_min == IR_NONE || b->relu6_max == IR_NONE ||
        !ir_set_fvals(b->g, b->relu6_min, &lo, 1) || !ir_set_fvals(b->g, b->relu6_max, &hi, 1))
      return IR_NONE;
  }
  if (x == IR_NONE) return IR_NONE;
  const Tensor *t = &b->g->tensors[x];
  int64_t dims[IR_MAX_RANK];
  int rank = t->rank;
  memcpy(dims, t->dims, sizeof dims);
  uint32_t ins[3] = {x, b->relu6_min, b->relu6_max};
  return add_op(b, OP_CLIP, path, ins, 3, rank, dims);
}

static uint32_t add(Net *b, const char *path, uint32_t x, uint32_t r) {
  if (x == IR_NONE) return IR_NONE;
  const Tensor *t = &b->g->tensors[x];
  int64_t dims[IR_MAX_RANK];
  int rank = t->rank;
  memcpy(dims, t->dims, sizeof dims);
  return add_op(b, OP_ADD, path, (uint32_t[]){x, r}, 2, rank, dims);
}

static uint32_t global_avg_pool(Net *b, const char *path, uint32_t x) {
  if (x == IR_NONE) return IR_NONE;
  const Tensor *t = &b->g->tensors[x];
  int64_t odims[4] = {t->dims[0], t->dims[1], 1, 1};
  return add_op(b, OP_GLOBAL_AVERAGE_POOL, path, &x, 1, 4, odims);
}

static uint32_t flatten(Net *b, const char *path, uint32_t x) {
  if (x == IR_NONE) return IR_NONE;
  const Tensor *t = &b->g->tensors[x];
  int64_t odims[2] = {t->dims[0], 1};
  for (int i = 1; i < t->rank; i++) odims[1] *= t->dims[i];
  uint32_t y = add_op(b, OP_FLATTEN, path, &x, 1, 2, odims);
  if (y != IR_NONE) attr_int(b, "axis", 1);
  return y;
}

/* nn.Linear on a 2-D input as PyTorch exports it: Gemm(x, W[out,in], B) with transB = 1. */
static uint32_t gemm(Net *b, const char *path, uint32_t x, int64_t out) {
  if (x == IR_NONE) return IR_NONE;
  int64_t n = b->g->tensors[x].dims[0], in = b->g->tensors[x].dims[1];
  int64_t wdims[2] = {out, in}, bdims[1] = {out}, odims[2] = {n, out};
  uint32_t ins[3] = {x, weight(b, path, "weight", 2, wdims), weight(b, path, "bias", 1, bdims)};
  uint32_t y = add_op(b, OP_GEMM, path, ins, 3, 2, odims);
  if (y == IR_NONE) return IR_NONE;
  attr_float(b, "alpha", 1.0);
  attr_float(b, "beta", 1.0);
  attr_int(b, "transB", 1);
  b->macs += n * in * out;
  return y;
}

/* A linear layer as MatMul(x, W[in,out]) followed by Add(·, B). */
static uint32_t matmul_add(Net *b, const char *path, uint32_t x, int64_t out) {
  if (x == IR_NONE) return IR_NONE;
  const char *out_name = b->out_name;
  b->out_name = NULL;
  int64_t n = b->g->tensors[x].dims[0], in = b->g->tensors[x].dims[1];
  int64_t wdims[2] = {in, out}, bdims[1] = {out}, odims[2] = {n, out};
  uint32_t w = weight(b, path, "weight", 2, wdims), bias = weight(b, path, "bias", 1, bdims);
  uint32_t y = add_op(b, OP_MATMUL, path, (uint32_t[]){x, w}, 2, 2, odims);
  b->out_name = out_name;
  y = add_op(b, OP_ADD, path, (uint32_t[]){y, bias}, 2, 2, odims);
  b->macs += n * in * out;
  return y;
}

/* ---- the models ---- */

/* LeNet-5 (tanh, average pooling) on 1×28×28; conv1 padded so its output stays 28×28. */
static void build_lenet5(Net *b) {
  uint32_t x = net_input(b, 4, (int64_t[]){1, 1, 28, 28});
  x = unary(b, OP_TANH, "act1", conv(b, "conv1", x, 6, 5, 1, 2, 1));
  x = pool(b, OP_AVERAGE_POOL, "pool1", x, 2, 2, 0);
  x = unary(b, OP_TANH, "act2", conv(b, "conv2", x, 16, 5, 1, 0, 1));
  x = pool(b, OP_AVERAGE_POOL, "pool2", x, 2, 2, 0);
  x = flatten(b, "", x);
  x = unary(b, OP_TANH, "act3", gemm(b, "fc1", x, 120));
  x = unary(b, OP_TANH, "act4", gemm(b, "fc2", x, 84));
  b->out_name = "output";
  net_output(b, gemm(b, "fc3", x, 10));
}

/* torchvision alexnet: the 6×6 adaptive average pool is an identity-sized 1×1 AveragePool. */
static void build_alexnet(Net *b) {
  uint32_t x = net_input(b, 4, (int64_t[]){1, 3, 224, 224});
  x = unary(b, OP_RELU, "features.1", conv(b, "features.0", x, 64, 11, 4, 2, 1));
  x = pool(b, OP_MAX_POOL, "features.2", x, 3, 2, 0);
  x = unary(b, OP_RELU, "features.4", conv(b, "features.3", x, 192, 5, 1, 2, 1));
  x = pool(b, OP_MAX_POOL, "features.5", x, 3, 2, 0);
  x = unary(b, OP_RELU, "features.7", conv(b, "features.6", x, 384, 3, 1, 1, 1));
  x = unary(b, OP_RELU, "features.9", conv(b, "features.8", x, 256, 3, 1, 1, 1));
  x = unary(b, OP_RELU, "features.11", conv(b, "features.10", x, 256, 3, 1, 1, 1));
  x = pool(b, OP_MAX_POOL, "features.12", x, 3, 2, 0);
  x = pool(b, OP_AVERAGE_POOL, "avgpool", x, 1, 1, 0);
  x = flatten(b, "", x);
  x = unary(b, OP_RELU, "classifier.2", gemm(b, "classifier.1", x, 4096));
  x = unary(b, OP_RELU, "classifier.5", gemm(b, "classifier.4", x, 4096));
  b->out_name = "output";
  net_output(b, gemm(b, "classifier.6", x, 1000));
}

/* torchvision vgg16 (configuration D, no batch norm). */
static void build_vgg16(Net *b) {
  static const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0,
                            512, 512, 512, 0, 512, 512, 512, 0}; /* 0 = max pool */
  uint32_t x = net_input(b, 4, (int64_t[]){1, 3, 224, 224});
  int idx = 0;
  char p1[32], p2[32];
  for (size_t i = 0; i < sizeof cfg / sizeof *cfg; i++) {
    snprintf(p1, sizeof p1, "features.%d", idx);
    if (cfg[i] == 0) {
      x = pool(b, OP_MAX_POOL, p1, x, 2, 2, 0);
      idx += 1;
      continue;
    }
    snprintf(p2, sizeof p2, "features.%d", idx + 1);
    x = unary(b, OP_RELU, p2, conv(b, p1, x, cfg[i], 3, 1, 1, 1));
    idx += 2;
  }
  x = pool(b, OP_AVERAGE_POOL, "avgpool", x, 1, 1, 0);
  x = flatten(b, "", x);
  x = unary(b, OP_RELU, "classifier.1", gemm(b, "classifier.0", x, 4096));
  x = unary(b, OP_RELU, "classifier.4", gemm(b, "classifier.3", x, 4096));
  b->out_name = "output";
  net_output(b, gemm(b, "classifier.6", x, 1000));
}

/* One torchvision BasicBlock (BatchNorm folded into the convs' biases). */
static uint32_t basic_block(Net *b, const char *path, uint32_t x, int64_t planes, int64_t s) {
  char p[96], q[96];
  if (x == IR_NONE) return IR_NONE;
  bool down = s != 1 || b->g->tensors[x].dims[1] != planes;
  snprintf(p, sizeof p, "%s.conv1", path);
  snprintf(q, sizeof q, "%s.relu", path);
  uint32_t y = unary(b, OP_RELU, q, conv(b, p, x, planes, 3, s, 1, 1));
  snprintf(p, sizeof p, "%s.conv2", path);
  y = conv(b, p, y, planes, 3, 1, 1, 1);
  uint32_t skip = x;
  if (down) {
    snprintf(p, sizeof p, "%s.downsample.0", path);
    skip = conv(b, p, x, planes, 1, s, 0, 1);
  }
  snprintf(q, sizeof q, "%s.relu_1", path);
  return unary(b, OP_RELU, q, add(b, path, y, skip));
}

/* torchvision resnet18. */
static void build_resnet18(Net *b) {
  uint32_t x = net_input(b, 4, (int64_t[]){1, 3, 224, 224});
  x = unary(b, OP_RELU, "relu", conv(b, "conv1", x, 64, 7, 2, 3, 1));
  x = pool(b, OP_MAX_POOL, "maxpool", x, 3, 2, 1);
  static const int64_t planes[4] = {64, 128, 256, 512};
  char path[32];
  for (int l = 0; l < 4; l++)
    for (int k = 0; k < 2; k++) {
      snprintf(path, sizeof path, "layer%d.%d", l + 1, k);
      x = basic_block(b, path, x, planes[l], l > 0 && k == 0 ? 2 : 1);
    }
  x = flatten(b, "", global_avg_pool(b, "avgpool", x));
  b->out_name = "output";
  net_output(b, gemm(b, "fc", x, 1000));
}

/* One torchvision Bottleneck (ResNet v1.5: the stride sits on the 3×3 conv), BatchNorm folded:
 * 1×1 to planes, 3×3 stride s, 1×1 to 4·planes, a 1×1 downsample when the shape changes. */
static uint32_t bottleneck(Net *b, const char *path, uint32_t x, int64_t planes, int64_t s) {
  char p[96], q[96];
  if (x == IR_NONE) return IR_NONE;
  bool down = s != 1 || b->g->tensors[x].dims[1] != 4 * planes;
  snprintf(p, sizeof p, "%s.conv1", path);
  snprintf(q, sizeof q, "%s.relu", path);
  uint32_t y = unary(b, OP_RELU, q, conv(b, p, x, planes, 1, 1, 0, 1));
  snprintf(p, sizeof p, "%s.conv2", path);
  snprintf(q, sizeof q, "%s.relu_1", path);
  y = unary(b, OP_RELU, q, conv(b, p, y, planes, 3, s, 1, 1));
  snprintf(p, sizeof p, "%s.conv3", path);
  y = conv(b, p, y, 4 * planes, 1, 1, 0, 1);
  uint32_t skip = x;
  if (down) {
    snprintf(p, sizeof p, "%s.downsample.0", path);
    skip = conv(b, p, x, 4 * planes, 1, s, 0, 1);
  }
  snprintf(q, sizeof q, "%s.relu_2", path);
  return unary(b, OP_RELU, q, add(b, path, y, skip));
}

/* torchvision resnet50: stages of 3, 4, 6 and 3 bottleneck blocks. */
static void build_resnet50(Net *b) {
  uint32_t x = net_input(b, 4, (int64_t[]){1, 3, 224, 224});
  x = unary(b, OP_RELU, "relu", conv(b, "conv1", x, 64, 7, 2, 3, 1));
  x = pool(b, OP_MAX_POOL, "maxpool", x, 3, 2, 1);
  static const int64_t planes[4] = {64, 128, 256, 512};
  static const int blocks[4] = {3, 4, 6, 3};
  char path[32];
  for (int l = 0; l < 4; l++)
    for (int k = 0; k < blocks[l]; k++) {
      snprintf(path, sizeof path, "layer%d.%d", l + 1, k);
      x = bottleneck(b, path, x, planes[l], l > 0 && k == 0 ? 2 : 1);
    }
  x = flatten(b, "", global_avg_pool(b, "avgpool", x));
  b->out_name = "output";
  net_output(b, gemm(b, "fc", x, 1000));
}

/* Conv2dNormActivation: conv at "<path>.0" (BatchNorm folded), ReLU6 at "<path>.2". */
static uint32_t conv_relu6(Net *b, const char *path, uint32_t x, int64_t cout, int64_t k,
                           int64_t s, int64_t groups) {
  char p[128], q[128]; /* path comes from a 96-byte buffer */
  snprintf(p, sizeof p, "%s.0", path);
  snprintf(q, sizeof q, "%s.2", path);
  return relu6(b, q, conv(b, p, x, cout, k, s, (k - 1) / 2, groups));
}

/* torchvision mobilenet_v2 (width 1.0): inverted residual blocks, depthwise grouped convs. */
static void build_mobilenet_v2(Net *b) {
  static const int64_t setting[7][4] = {/* expansion t, channels c, repeats n, stride s */
                                        {1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2},
                                        {6, 64, 4, 2},  {6, 96, 3, 1},  {6, 160, 3, 2},
                                        {6, 320, 1, 1}};
  uint32_t x = net_input(b, 4, (int64_t[]){1, 3, 224, 224});
  x = conv_relu6(b, "features.0", x, 32, 3, 2, 1);
  int64_t cin = 32;
  int idx = 1;
  char path[64], p[96];
  for (int i = 0; i < 7; i++)
    for (int64_t r = 0; r < setting[i][2]; r++, idx++) {
      int64_t t = setting[i][0], cout = setting[i][1], s = r == 0 ? setting[i][3] : 1;
      int64_t hidden = cin * t;
      int c = 0; /* index inside the block's "conv" Sequential */
      snprintf(path, sizeof path, "features.%d", idx);
      uint32_t y = x;
      if (t != 1) {
        snprintf(p, sizeof p, "%s.conv.%d", path, c++);
        y = conv_relu6(b, p, y, hidden, 1, 1, 1);
      }
      snprintf(p, sizeof p, "%s.conv.%d", path, c++);
      y = conv_relu6(b, p, y, hidden, 3, s, hidden);
      snprintf(p, sizeof p, "%s.conv.%d", path, c++);
      y = conv(b, p, y, cout, 1, 1, 0, 1);
      x = s == 1 && cin == cout ? add(b, path, x, y) : y;
      cin = cout;
    }
  x = conv_relu6(b, "features.18", x, 1280, 1, 1, 1);
  x = flatten(b, "", global_avg_pool(b, "", x));
  b->out_name = "output";
  net_output(b, gemm(b, "classifier.1", x, 1000));
}

/* A 3-layer perceptron on flattened 28×28 images: MatMul + Add per layer, ReLU between. */
static void build_tiny_mlp(Net *b) {
  uint32_t x = net_input(b, 2, (int64_t[]){1, 784});
  x = unary(b, OP_RELU, "act1", matmul_add(b, "fc1", x, 256));
  x = unary(b, OP_RELU, "act2", matmul_add(b, "fc2", x, 128));
  b->out_name = "output";
  net_output(b, matmul_add(b, "fc3", x, 10));
}

typedef struct NetSpec {
  const char *name;
  void (*build)(Net *b);
} NetSpec;

static const NetSpec nets[] = {
    {"lenet5", build_lenet5},     {"alexnet", build_alexnet},
    {"resnet18", build_resnet18}, {"mobilenet_v2", build_mobilenet_v2},
    {"vgg16", build_vgg16},       {"tiny_mlp", build_tiny_mlp},
    {"resnet50", build_resnet50},
};

/* Builds, writes and re-imports one model; prints its figures. Returns 0 or 1. */
static int make_one(const NetSpec *spec, const char *dir) {
  Net b = {.relu6_min = IR_NONE, .relu6_max = IR_NONE, .last_node = IR_NONE};
  Graph *back = NULL;
  char path[4096];
  int rc = 1;
  diag_init(&b.d);
  snprintf(path, sizeof path, "%s/%s.onnx", dir, spec->name);
  b.g = ir_graph_new();
  if (!b.g) {
    fprintf(stderr, "make_nets: out of memory\n");
    goto fail;
  }
  b.g->name = spec->name;
  b.g->opset = 13;
  spec->build(&b);
  if (diag_ok(&b.d)) ir_verify(b.g, &b.d);
  if (!diag_ok(&b.d)) {
    fprintf(stderr, "make_nets: building %s: %s\n", spec->name, b.d.msg);
    goto fail;
  }
  ExportOptions eo = {.batch_param = "batch"};
  if (onnx_save(b.g, path, &eo, &b.d) != XDL_OK) {
    fprintf(stderr, "make_nets: %s\n", b.d.msg);
    goto fail;
  }
  back = onnx_load(path, NULL, &b.d);
  if (!back) {
    fprintf(stderr, "make_nets: re-import failed: %s\n", b.d.msg);
    goto fail;
  }
  int64_t macs = 0, params = 0;
  for (uint32_t n = 0; n < back->n_nodes; n++) {
    NodeWork w = ir_node_work(back, n);
    macs += w.macs;
    params += w.params;
  }
  printf("%-13s %4u nodes %15lld MACs %11lld params\n", spec->name, back->n_nodes,
         (long long)macs, (long long)params);
  if (macs != b.macs || params != b.params) {
    fprintf(stderr, "make_nets: %s: imported %lld MACs / %lld params, built %lld / %lld\n",
            path, (long long)macs, (long long)params, (long long)b.macs, (long long)b.params);
    goto fail;
  }
  rc = 0;
fail:
  ir_graph_free(back);
  ir_graph_free(b.g);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: make_nets OUTDIR   (writes the shipped models into OUTDIR)\n");
    return 2;
  }
  if (mkdir(argv[1], 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "make_nets: %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  int rc = 0;
  for (size_t i = 0; i < sizeof nets / sizeof *nets; i++) rc |= make_one(&nets[i], argv[1]);
  return rc;
}
