/* diag.c — first-error reporting shared by every stage. Only the first message is kept (it is
 * the one that explains the rest); later errors are counted. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

void diag_init(Diag *d) {
  d->status = XDL_OK;
  d->n_errors = 0;
  d->unsupported = false;
  d->msg[0] = '\0';
}

XdlStatus diag_error(Diag *d, XdlStatus status, const char *fmt, ...) {
  if (!d) return status;
  d->n_errors++;
  if (d->status != XDL_OK) return status;
  d->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->msg, sizeof d->msg, fmt, ap);
  va_end(ap);
  /* Messages are one line: fold any newline a caller's string smuggled in. */
  for (char *p = d->msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  return status;
}
