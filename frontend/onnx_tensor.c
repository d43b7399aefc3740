/* onnx_tensor.c — the protobuf-c side of the ONNX frontend: reading model files, routing
 * protobuf-c's allocations through xdl_malloc (so injected failures reach unpacking), and
 * decoding TensorProto (data type, dims, raw/typed/external data) into graph tensors.
 * onnx_import.c builds the graph from ModelProto with these helpers. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend.h"
#include "onnx/onnx.pb-c.h"

/* ---- files ---- */
uint8_t *onnx_read_file(const char *path, size_t *len, Diag *d) {
  uint8_t *buf = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag_error(d, XDL_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    goto fail;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    diag_error(d, XDL_ERR_INPUT, "%s: cannot stat: %s", path, strerror(errno));
    goto fail;
  }
  if (S_ISDIR(st.st_mode)) {
    diag_error(d, XDL_ERR_INPUT, "%s: is a directory, not an ONNX file", path);
    goto fail;
  }
  /* Regular files are read in one go; pipes and devices grow the buffer as they go. */
  size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
  size_t n = 0;
  buf = xdl_malloc(cap);
  if (!buf) goto oom;
  for (;;) {
    if (n == cap) {
      if (cap > SIZE_MAX / 2) goto oom;
      uint8_t *nb = xdl_realloc(buf, cap * 2);
      if (!nb) goto oom;
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    diag_error(d, XDL_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
    goto fail;
  }
  if (n == 0) {
    diag_error(d, XDL_ERR_INPUT, "%s: empty file", path);
    goto fail;
  }
  fclose(f);
  *len = n;
  return buf;
oom:
  diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory reading the file", path);
fail:
  xdl_free(buf);
  if (f) fclose(f);
  return NULL;
}

/* ---- protobuf-c allocation hook ---- */
static void *pb_alloc(void *ud, size_t size) {
  void *p = xdl_malloc(size);
  if (!p && ud) *(bool *)ud = true; /* ud: the unpack's out-of-memory flag */
  return p;
}

static void pb_free(void *ud, void *p) {
  (void)ud;
  xdl_free(p);
}

/* protobuf-c unpacks nested messages recursively without a limit, and ONNX graphs nest
 * through subgraph attributes and sequence/map types, so a crafted file could exhaust the
 * stack. This walk of the wire format, guided by the descriptors, bounds the nesting first; it
 * also rejects malformed wire data (which protobuf-c would reject as well). */
enum { PB_MAX_NESTING = 64 };

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

static OnnxPbError pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                            const uint8_t *end, int depth) {
  if (depth > PB_MAX_NESTING) return PB_TOO_DEEP;
  while (p < end) {
    uint64_t key, n;
    if (!pb_varint(&p, end, &key)) return PB_CORRUPT;
    switch (key & 7) {
    case 0: /* varint */
      if (!pb_varint(&p, end, &n)) return PB_CORRUPT;
      break;
    case 1: /* 64-bit */
      if (end - p < 8) return PB_CORRUPT;
      p += 8;
      break;
    case 5: /* 32-bit */
      if (end - p < 4) return PB_CORRUPT;
      p += 4;
      break;
    case 2: { /* length-delimited: bytes, strings, packed scalars or a submessage */
      if (!pb_varint(&p, end, &n) || n > (uint64_t)(end - p)) return PB_CORRUPT;
      const ProtobufCFieldDescriptor *f =
          key >> 3 <= UINT32_MAX
              ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3))
              : NULL;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        OnnxPbError e = pb_check(f->descriptor, p, p + n, depth + 1);
        if (e != PB_OK) return e;
      }
      p += n;
      break;
    }
    default: /* groups (3, 4) are not used by ONNX and protobuf-c rejects them */
      return PB_CORRUPT;
    }
  }
  return PB_OK;
}

void *onnx_pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                     OnnxPbError *err) {
  *err = pb_check(desc, buf, buf + len, 0);
  if (*err != PB_OK) return NULL;
  bool oom = false;
  ProtobufCAllocator a = {pb_alloc, pb_free, &oom};
  void *msg = protobuf_c_message_unpack(desc, &a, len, buf);
  if (!msg) *err = oom ? PB_NO_MEMORY : PB_CORRUPT;
  return msg;
}

void onnx_pb_free(void *msg) {
  ProtobufCAllocator a = {pb_alloc, pb_free, NULL};
  if (msg) protobuf_c_message_free_unpacked(msg, &a);
}

XdlStatus onnx_pb_error(OnnxPbError err, const char *path, const char *what, Diag *d) {
  switch (err) {
  case PB_NO_MEMORY: return diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory", path);
  case PB_TOO_DEEP:
    return diag_error(d, XDL_ERR_INPUT, "%s: not a usable %s (messages nested more than %d "
                      "deep)", path, what, PB_MAX_NESTING);
  default:
    return diag_error(d, XDL_ERR_INPUT, "%s: not an %s (corrupt or truncated protobuf)", path,
                      what);
  }
}

XdlStatus onnx_read_tensor_dims(const char *path, DataType *dt, int *rank, int64_t *dims,
                                Diag *d) {
  size_t len = 0;
  Onnx__TensorProto *tp = NULL;
  XdlStatus st = XDL_ERR_INPUT;
  uint8_t *buf = onnx_read_file(path, &len, d);
  if (!buf) return d ? d->status : XDL_ERR_INPUT;
  OnnxPbError err;
  tp = onnx_pb_unpack(&onnx__tensor_proto__descriptor, buf, len, &err);
  if (!tp) {
    st = onnx_pb_error(err, path, "ONNX TensorProto", d);
    goto fail;
  }
  st = onnx_tensor_header(tp, path, "tensor", dt, rank, dims, d);
fail:
  onnx_pb_free(tp);
  xdl_free(buf);
  return st;
}

/* ---- TensorProto decoding ---- */
XdlStatus onnx_tensor_header(const Onnx__TensorProto *tp, const char *path, const char *what,
                             DataType *dt, int *rank, int64_t *dims, Diag *d) {
  if (!tp->has_data_type || tp->data_type <= DT_UNDEFINED || tp->data_type > DT_MAX)
    return diag_error(d, XDL_ERR_INPUT, "%s: %s has unsupported data type %" PRId32, path,
                      what, tp->has_data_type ? tp->data_type : 0);
  if (tp->n_dims > IR_MAX_RANK)
    return diag_error(d, XDL_ERR_INPUT, "%s: %s has rank %zu, more than the supported %d",
                      path, what, tp->n_dims, IR_MAX_RANK);
  int64_t numel = 1;
  for (size_t k = 0; k < tp->n_dims; k++) {
    if (tp->dims[k] < 0)
      return diag_error(d, XDL_ERR_INPUT, "%s: %s has negative dimension %" PRId64 " (dim %zu)",
                        path, what, tp->dims[k], k);
    if (!ir_mul_ok(numel, tp->dims[k], &numel))
      return diag_error(d, XDL_ERR_INPUT, "%s: %s has more elements than fit in 64 bits",
                        path, what);
    dims[k] = tp->dims[k];
  }
  *dt = (DataType)tp->data_type;
  *rank = (int)tp->n_dims;
  return XDL_OK;
}

/* Where a tensor's values are stored in its TensorProto. */
typedef enum DataSource { SRC_NONE, SRC_RAW, SRC_TYPED, SRC_EXTERNAL } DataSource;

static bool dtype_is_float(DataType dt) {
  return dt == DT_FLOAT || dt == DT_DOUBLE || dt == DT_FLOAT16 || dt == DT_BFLOAT16;
}

/* Number of stored values in the typed field that dt uses; sets *per (values per element). */
static size_t typed_count(const Onnx__TensorProto *tp, DataType dt, int64_t *per) {
  *per = dt == DT_COMPLEX64 || dt == DT_COMPLEX128 ? 2 : 1;
  switch (dt) {
  case DT_FLOAT: case DT_COMPLEX64: return tp->n_float_data;
  case DT_DOUBLE: case DT_COMPLEX128: return tp->n_double_data;
  case DT_INT64: return tp->n_int64_data;
  case DT_UINT32: case DT_UINT64: return tp->n_uint64_data;
  case DT_STRING: return tp->n_string_data;
  default: return tp->n_int32_data; /* int8..int32, uint8, uint16, bool, float16, bfloat16 */
  }
}

static double half_to_double(uint16_t h) {
  int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v;
  if (exp == 0) v = ldexp(man, -24);
  else if (exp == 31) v = man ? NAN : INFINITY;
  else v = ldexp(man + 1024, exp - 25);
  return h & 0x8000 ? -v : v;
}

static double bits_to_double(uint64_t bits, DataType dt) {
  if (dt == DT_FLOAT16) return half_to_double((uint16_t)bits);
  if (dt == DT_DOUBLE) {
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
  }
  uint32_t b32 = dt == DT_BFLOAT16 ? (uint32_t)bits << 16 : (uint32_t)bits;
  float f;
  memcpy(&f, &b32, sizeof f);
  return f;
}

/* Integer value of raw element bits of type dt (sign-extended where the type is signed). */
static int64_t bits_to_int(uint64_t bits, DataType dt) {
  switch (dt) {
  case DT_INT8: return (int8_t)(uint8_t)bits;
  case DT_INT16: return (int16_t)(uint16_t)bits;
  case DT_INT32: return (int32_t)(uint32_t)bits;
  case DT_BOOL: return bits != 0;
  default: return (int64_t)bits;
  }
}

/* Raw little-endian bits of element i, from raw_data or the typed field. */
static uint64_t elem_bits(const Onnx__TensorProto *tp, DataType dt, DataSource src, int64_t i) {
  int size = ir_dtype_bytes(dt);
  if (src == SRC_RAW) {
    const uint8_t *p = tp->raw_data.data + (size_t)i * (size_t)size;
    uint64_t v = 0;
    for (int k = size - 1; k >= 0; k--) v = v << 8 | p[k];
    return v;
  }
  switch (dt) {
  case DT_FLOAT: {
    uint32_t b;
    memcpy(&b, &tp->float_data[i], sizeof b);
    return b;
  }
  case DT_DOUBLE: {
    uint64_t b;
    memcpy(&b, &tp->double_data[i], sizeof b);
    return b;
  }
  case DT_INT64: return (uint64_t)tp->int64_data[i];
  case DT_UINT32: case DT_UINT64: return tp->uint64_data[i];
  default: {
    /* int32_data carries every narrower type as its value (float16 as its bit pattern). */
    uint64_t mask = size >= 4 ? UINT32_MAX : ((uint64_t)1 << (8 * size)) - 1;
    return (uint64_t)(int64_t)tp->int32_data[i] & mask;
  }
  }
}

/* Finds the data source of tp and checks its size against numel elements of dt. */
static XdlStatus tensor_source(const Onnx__TensorProto *tp, DataType dt, int64_t numel,
                               const char *path, const char *what, DataSource *src, Diag *d) {
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    *src = SRC_EXTERNAL;
    return XDL_OK;
  }
  int64_t need_bytes;
  if (tp->has_raw_data) {
    if (dt == DT_STRING)
      return diag_error(d, XDL_ERR_INPUT, "%s: %s is a string tensor stored in raw_data", path,
                        what);
    if (!ir_mul_ok(numel, ir_dtype_bytes(dt), &need_bytes)) need_bytes = -1;
    if (need_bytes < 0 || (uint64_t)need_bytes != (uint64_t)tp->raw_data.len)
      return diag_error(d, XDL_ERR_INPUT, "%s: %s has %zu bytes of raw_data, but its dims and "
                        "type (%s) need %" PRId64, path, what, tp->raw_data.len,
                        ir_dtype_name(dt), need_bytes);
    *src = SRC_RAW;
    return XDL_OK;
  }
  int64_t per, need;
  size_t count = typed_count(tp, dt, &per);
  if (!ir_mul_ok(numel, per, &need)) need = -1;
  if (count == 0 && numel != 0) {
    *src = SRC_NONE; /* dims only; a shape-only consumer needs nothing more */
    return XDL_OK;
  }
  if (need < 0 || (uint64_t)need != (uint64_t)count)
    return diag_error(d, XDL_ERR_INPUT, "%s: %s stores %zu values, but its dims need %" PRId64,
                      path, what, count, need);
  *src = SRC_TYPED;
  return XDL_OK;
}

/* Parses a decimal non-negative int64 from an external_data entry; false if malformed. */
static bool parse_i64(const char *s, int64_t *out) {
  if (!s || !*s) return false;
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < 0) return false;
  *out = v;
  return true;
}

static XdlStatus fill_external(Graph *g, uint32_t t, const Onnx__TensorProto *tp,
                               const char *what, Diag *d) {
  for (size_t k = 0; k < tp->n_external_data; k++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[k];
    if (!e->key || !e->value) continue;
    TensorData *td = &g->tensors[t].data;
    if (strcmp(e->key, "location") == 0) {
      td->external = arena_strdup(&g->arena, e->value);
      if (!td->external)
        return diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory", g->path);
    } else if (strcmp(e->key, "offset") == 0 || strcmp(e->key, "length") == 0) {
      int64_t v;
      if (!parse_i64(e->value, &v))
        return diag_error(d, XDL_ERR_INPUT, "%s: %s has external-data %s '%.40s', not a "
                          "non-negative integer", g->path, what, e->key, e->value);
      if (e->key[0] == 'o') td->ext_offset = v;
      else td->ext_length = v;
    }
  }
  return XDL_OK;
}

/* Encodes the stored elements as little-endian bytes of dt (the raw_data layout). */
static uint8_t *encode_bytes(Graph *g, const Onnx__TensorProto *tp, DataType dt,
                             DataSource src, int64_t numel, size_t n_bytes) {
  if (src == SRC_RAW) return arena_memdup(&g->arena, tp->raw_data.data, n_bytes);
  uint8_t *out = arena_alloc(&g->arena, n_bytes ? n_bytes : 1);
  if (!out) return NULL;
  int size = ir_dtype_bytes(dt);
  if (dt == DT_COMPLEX64 || dt == DT_COMPLEX128) { /* two float/double values per element */
    size /= 2;
    numel *= 2;
    dt = dt == DT_COMPLEX64 ? DT_FLOAT : DT_DOUBLE;
  }
  for (int64_t i = 0; i < numel; i++) {
    uint64_t v = elem_bits(tp, dt, src, i);
    uint8_t *p = out + (size_t)i * (size_t)size;
    for (int k = 0; k < size; k++) p[k] = (uint8_t)(v >> (8 * k));
  }
  return out;
}

XdlStatus onnx_tensor_fill(Graph *g, uint32_t t, const Onnx__TensorProto *tp, const char *what,
                           bool keep_bytes, Diag *d) {
  DataType dt = g->tensors[t].dtype;
  int64_t numel = ir_numel(&g->tensors[t]);
  DataSource src;
  if (numel < 0)
    return diag_error(d, XDL_ERR_INPUT, "%s: %s has more elements than fit in 64 bits",
                      g->path, what);
  XdlStatus st = tensor_source(tp, dt, numel, g->path, what, &src, d);
  if (st != XDL_OK) return st;
  if (src == SRC_EXTERNAL) return fill_external(g, t, tp, what, d);
  if (src == SRC_NONE) return XDL_OK;
  if (numel <= IR_MAX_FOLD_ELEMS && ir_dtype_is_int(dt)) {
    int64_t *v = arena_alloc(&g->arena, (size_t)(numel ? numel : 1) * sizeof *v);
    if (!v) goto oom;
    for (int64_t i = 0; i < numel; i++) v[i] = bits_to_int(elem_bits(tp, dt, src, i), dt);
    g->tensors[t].ivals = v;
  } else if (numel <= IR_MAX_FOLD_ELEMS && dtype_is_float(dt)) {
    double *v = arena_alloc(&g->arena, (size_t)(numel ? numel : 1) * sizeof *v);
    if (!v) goto oom;
    for (int64_t i = 0; i < numel; i++) v[i] = bits_to_double(elem_bits(tp, dt, src, i), dt);
    g->tensors[t].fvals = v;
  }
  if (keep_bytes && dt != DT_STRING) {
    size_t n_bytes = (size_t)numel * (size_t)ir_dtype_bytes(dt); /* checked by tensor_source */
    const uint8_t *bytes = encode_bytes(g, tp, dt, src, numel, n_bytes);
    if (!bytes) goto oom;
    g->tensors[t].data.bytes = bytes;
    g->tensors[t].data.n_bytes = n_bytes;
  }
  return XDL_OK;
oom:
  return diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory reading the values of %s", g->path,
                    what);
}
