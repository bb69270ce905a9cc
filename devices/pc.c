/* PLACEHOLDER, replaced by the devices work: the PC platform. */
#include "pc.h"
#include "ringfold/vm.h"

int pc_platform_create(struct vm *vm, struct rf_err *err) { (void)vm; (void)err; return 0; }
void pc_platform_destroy(struct vm *vm) { (void)vm; }
int pc_input_fd(struct vm *vm) { (void)vm; return -1; }
void pc_poll_input(struct vm *vm) { (void)vm; }
void pc_print_stats(struct vm *vm, FILE *out) { (void)vm; (void)out; }
