/* Port 0x61, the AT system control port B: PIT channel 2 gate and speaker, OUT2, refresh. */
#ifndef RINGFOLD_DEV_PORT61_H
#define RINGFOLD_DEV_PORT61_H

#include <stdint.h>
#include "ringfold/bus.h"
#include "ringfold/err.h"
#include "pit8254.h"

struct port61 {
    struct pit8254 *pit;
    uint8_t value;   /* bits 0-3 as written (gate 2, speaker data, parity/IOCHK disables) */
};

void port61_init(struct port61 *p, struct pit8254 *pit);
int port61_register(struct port61 *p, struct bus *b, struct rf_err *err);

#endif
