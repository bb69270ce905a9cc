/* Temporary minimal system side so the tree links; replaced file by file. */
#include <string.h>
#include "x86_cpu.h"
void x86_handle_fault(struct x86_cpu *cpu) { x86_deliver_event(cpu, cpu->exc_vector, EV_EXCEPTION, cpu->exc_err); }
void x86_deliver_event(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, uint32_t err)
{ (void)vector; (void)kind; (void)err; vm_request_stop(cpu->vm, VM_STOP_ERROR, 0, "event delivery not implemented"); }
void x86_far_jmp(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32)
{ (void)o32; x86_load_seg(cpu, S_CS, sel); cpu->s.eip = off; }
void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32)
{ (void)sel; (void)off; (void)o32; x86_raise(cpu, X86_UD, X86_NO_ERR); }
void x86_far_ret(struct x86_cpu *cpu, uint16_t pop_bytes, bool o32)
{ (void)pop_bytes; (void)o32; x86_raise(cpu, X86_UD, X86_NO_ERR); }
void x86_iret(struct x86_cpu *cpu, bool o32) { (void)o32; x86_raise(cpu, X86_UD, X86_NO_ERR); }
