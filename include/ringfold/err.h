/* Status reporting: functions return 0 or a negative errno and describe the problem in a struct rf_err. */
#ifndef RINGFOLD_ERR_H
#define RINGFOLD_ERR_H

#include <stddef.h>

struct rf_err {
    char msg[256];
};

/* Formats the message ("what: why") into err (if not NULL) and returns code. */
int rf_errf(struct rf_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
