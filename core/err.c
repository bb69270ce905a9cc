/* rf_errf: the one way library code describes a failure to the command line. */
#include <stdarg.h>
#include <stdio.h>
#include "ringfold/err.h"

int rf_errf(struct rf_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}
