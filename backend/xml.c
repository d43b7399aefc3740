/* xml.c — reading the XML descriptions (accelerator, technology, design space): parse without
 * network access, validate against the XSD shipped in models/accel, capture libxml2's first
 * error as "FILE:LINE: message" instead of letting it print, and small attribute helpers.
 * Only this file, tech.c, arch.c and space.c include libxml2. */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"

/* The first error libxml2 reports, captured instead of printed. */
typedef struct XmlErrorSink {
  bool have;
  int line;
  char file[512];
  char msg[512];
} XmlErrorSink;

#if LIBXML_VERSION >= 21200
static void sink_error(void *ud, const xmlError *err) {
#else
static void sink_error(void *ud, xmlErrorPtr err) {
#endif
  XmlErrorSink *sink = ud;
  if (!err || err->level < XML_ERR_ERROR || sink->have) return;
  sink->have = true;
  sink->line = err->line;
  if (sink->line <= 0 && err->node) sink->line = (int)xmlGetLineNo((xmlNode *)err->node);
  snprintf(sink->file, sizeof sink->file, "%s", err->file ? err->file : "");
  snprintf(sink->msg, sizeof sink->msg, "%s", err->message ? err->message : "unknown error");
  size_t n = strlen(sink->msg);
  while (n > 0 && (sink->msg[n - 1] == '\n' || sink->msg[n - 1] == ' '))
    sink->msg[--n] = '\0';
}

static void sink_generic(void *ud, const char *fmt, ...) {
  (void)ud;
  (void)fmt;
}

/* Records the sink's error as "FILE:LINE: message" (FILE defaults to path). */
static XdlStatus sink_report(const XmlErrorSink *sink, const char *path, XdlStatus status,
                             const char *what, Diag *d) {
  const char *file = sink->file[0] ? sink->file : path;
  if (!sink->have) return diag_error(d, status, "%s: %s", path, what);
  if (sink->line > 0)
    return diag_error(d, status, "%s:%d: %s: %s", file, sink->line, what, sink->msg);
  return diag_error(d, status, "%s: %s: %s", file, what, sink->msg);
}

static bool readable(const char *dir, const char *name, char *buf, size_t size) {
  int n = snprintf(buf, size, "%s/%s", dir, name);
  return n > 0 && (size_t)n < size && access(buf, R_OK) == 0;
}

/* Finds models/accel/<xsd_name>: $XDL_ACCEL_SCHEMA_DIR, then the source tree compiled in
 * (XDL_SCHEMA_DIR), then the installed copy (XDL_INSTALLED_SCHEMA_DIR), then models/accel
 * under the working directory, then the directory of the file being loaded. */
static bool find_schema(const char *path, const char *xsd_name, char *buf, size_t size) {
  const char *env = getenv("XDL_ACCEL_SCHEMA_DIR");
  if (env && *env && readable(env, xsd_name, buf, size)) return true;
#ifdef XDL_SCHEMA_DIR
  if (readable(XDL_SCHEMA_DIR, xsd_name, buf, size)) return true;
#endif
#ifdef XDL_INSTALLED_SCHEMA_DIR
  if (readable(XDL_INSTALLED_SCHEMA_DIR, xsd_name, buf, size)) return true;
#endif
  if (readable("models/accel", xsd_name, buf, size)) return true;
  char dir[1024];
  const char *slash = strrchr(path, '/');
  if (!slash) return readable(".", xsd_name, buf, size);
  int n = snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  if (n < 0 || (size_t)n >= sizeof dir) return false;
  return readable(n ? dir : "/", xsd_name, buf, size);
}

XdlStatus xml_read_validated(const char *path, const char *xsd_name, xmlDoc **out, Diag *d) {
  XdlStatus st = XDL_OK;
  xmlDoc *doc = NULL;
  xmlSchemaParserCtxt *pctx = NULL;
  xmlSchema *schema = NULL;
  xmlSchemaValidCtxt *vctx = NULL;
  XmlErrorSink sink = {0};
  char xsd[1280];
  *out = NULL;

  FILE *f = fopen(path, "rb");
  if (!f) return diag_error(d, XDL_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  fclose(f);
  if (!find_schema(path, xsd_name, xsd, sizeof xsd))
    return diag_error(d, XDL_ERR_INTERNAL,
                      "%s: cannot find schema %s (set XDL_ACCEL_SCHEMA_DIR to models/accel)", path,
                      xsd_name);

  xmlInitParser();
  /* libxml2's error hooks are per thread: divert them while we work, restore them after. */
  xmlStructuredErrorFunc old_serror = xmlStructuredError;
  void *old_sctx = xmlStructuredErrorContext;
  xmlGenericErrorFunc old_generic = xmlGenericError;
  void *old_gctx = xmlGenericErrorContext;
  xmlSetStructuredErrorFunc(&sink, sink_error);
  xmlSetGenericErrorFunc(NULL, sink_generic);

  doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
  if (!doc || sink.have) {
    st = sink_report(&sink, path, XDL_ERR_INPUT, "malformed XML", d);
    goto fail;
  }
  pctx = xmlSchemaNewParserCtxt(xsd);
  if (!pctx) {
    st = diag_error(d, XDL_ERR_INTERNAL, "%s: cannot read schema", xsd);
    goto fail;
  }
  xmlSchemaSetParserStructuredErrors(pctx, sink_error, &sink);
  schema = xmlSchemaParse(pctx);
  if (!schema || sink.have) {
    st = sink_report(&sink, xsd, XDL_ERR_INTERNAL, "invalid schema", d);
    goto fail;
  }
  vctx = xmlSchemaNewValidCtxt(schema);
  if (!vctx) {
    st = diag_error(d, XDL_ERR_INTERNAL, "%s: out of memory", path);
    goto fail;
  }
  xmlSchemaSetValidStructuredErrors(vctx, sink_error, &sink);
  int rc = xmlSchemaValidateDoc(vctx, doc);
  if (rc != 0 || sink.have) {
    st = sink_report(&sink, path, rc < 0 ? XDL_ERR_INTERNAL : XDL_ERR_INPUT, "schema violation", d);
    goto fail;
  }
  *out = doc;
  doc = NULL;

fail:
  if (vctx) xmlSchemaFreeValidCtxt(vctx);
  if (schema) xmlSchemaFree(schema);
  if (pctx) xmlSchemaFreeParserCtxt(pctx);
  if (doc) xmlFreeDoc(doc);
  xmlSetStructuredErrorFunc(old_sctx, old_serror);
  xmlSetGenericErrorFunc(old_gctx, old_generic);
  return st;
}

bool xml_is_elem(const xmlNode *n, const char *name) {
  return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

bool xml_str_attr(xmlNode *n, const char *name, char *buf, size_t size) {
  xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
  snprintf(buf, size, "%s", v ? (const char *)v : "");
  xmlFree(v);
  return v != NULL;
}

bool xml_num_attr(xmlNode *n, const char *name, double *out) {
  char buf[64];
  if (!xml_str_attr(n, name, buf, sizeof buf)) return false;
  *out = strtod(buf, NULL);
  return true;
}

double xml_num_attr_or(xmlNode *n, const char *name, double dflt) {
  double v = dflt;
  xml_num_attr(n, name, &v);
  return v;
}
