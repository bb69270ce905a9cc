/* The PC platform: the ISA devices of a 32-bit PC, registered on the VM's bus from a const table. */
#ifndef RINGFOLD_PC_H
#define RINGFOLD_PC_H

#include <stdbool.h>
#include <stdio.h>
#include "ringfold/err.h"

struct vm;

/* Creates every device, registers them on vm->bus, wires IRQ lines to the 8259 pair and the
 * pair's INTR output to vm->intr_pending / vm->intr_ack_fn. Serial backend from vm->cfg.serial. */
int pc_platform_create(struct vm *vm, struct rf_err *err);
void pc_platform_destroy(struct vm *vm);

/* Console input: the fd the run loop may sleep on while the guest halts (-1 none), and a
 * poll that moves pending input into the UART (and handles the Ctrl-A escape). */
int pc_input_fd(struct vm *vm);
void pc_poll_input(struct vm *vm);

/* --stats: per-device counters. */
void pc_print_stats(struct vm *vm, FILE *out);

/* The A20 gate as the guest last set it (i8042 output port bit 1 OR port 0x92 bit 1).
 * Applied through vm->a20_clear: with it off, physical address bit 20 is forced to 0. */
bool pc_a20_enabled(struct vm *vm);

/* Drives ISA IRQ line 0-15 (for devices created outside devices/, e.g. by tests). */
void pc_set_irq(struct vm *vm, int irq, int level);

#endif
