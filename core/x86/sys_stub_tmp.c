/* Temporary minimal system side so the tree links; replaced file by file. */
#include <string.h>
#include "x86_cpu.h"

void x86_cpu_reset(struct x86_cpu *cpu) { vcpu_state_reset(&cpu->s); x87_reset(cpu); x86_update_mode(cpu); }
void x86_update_mode(struct x86_cpu *cpu)
{
    cpu->pe = cpu->s.cr0 & CR0_PE;
    cpu->v86 = cpu->pe && (cpu->s.eflags & EFL_VM);
    cpu->cpl = !cpu->pe ? 0 : cpu->v86 ? 3 : (cpu->s.seg[S_CS].sel & 3);
    cpu->code32 = cpu->s.seg[S_CS].attr & SEG_ATTR_DB;
    cpu->stack32 = cpu->s.seg[S_SS].attr & SEG_ATTR_DB;
    cpu->paging = cpu->s.cr0 & CR0_PG;
    cpu->pae = cpu->paging && (cpu->s.cr4 & CR4_PAE);
}
uint32_t x86_paging_walk(struct x86_cpu *cpu, uint32_t lin, uint32_t acc, struct x86_walk *w)
{ (void)cpu; (void)acc; memset(w, 0, sizeof(*w)); w->pa = lin; w->page_size = 4096; w->user = w->writable = true; return 0; }
void x86_handle_fault(struct x86_cpu *cpu) { x86_deliver_event(cpu, cpu->exc_vector, EV_EXCEPTION, cpu->exc_err); }
void x86_deliver_event(struct x86_cpu *cpu, int vector, enum x86_event_kind kind, uint32_t err)
{ (void)vector; (void)kind; (void)err; vm_request_stop(cpu->vm, VM_STOP_ERROR, 0, "event delivery not implemented"); }
void x86_load_seg(struct x86_cpu *cpu, int seg, uint16_t sel)
{ cpu->s.seg[seg].sel = sel; cpu->s.seg[seg].base = (uint32_t)sel << 4; }
void x86_far_jmp(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32)
{ (void)o32; x86_load_seg(cpu, S_CS, sel); cpu->s.eip = off; }
void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint32_t off, bool o32)
{ (void)sel; (void)off; (void)o32; x86_raise(cpu, X86_UD, X86_NO_ERR); }
void x86_far_ret(struct x86_cpu *cpu, uint16_t pop_bytes, bool o32)
{ (void)pop_bytes; (void)o32; x86_raise(cpu, X86_UD, X86_NO_ERR); }
void x86_iret(struct x86_cpu *cpu, bool o32) { (void)o32; x86_raise(cpu, X86_UD, X86_NO_ERR); }
void x86_sysenter(struct x86_cpu *cpu) { x86_raise(cpu, X86_UD, X86_NO_ERR); }
void x86_sysexit(struct x86_cpu *cpu) { x86_raise(cpu, X86_UD, X86_NO_ERR); }
uint32_t x86_read_cr(struct x86_cpu *cpu, int n)
{ return n == 0 ? cpu->s.cr0 : n == 2 ? cpu->s.cr2 : n == 3 ? cpu->s.cr3 : cpu->s.cr4; }
void x86_write_cr(struct x86_cpu *cpu, int n, uint32_t v)
{ if (n == 0) cpu->s.cr0 = v; else if (n == 2) cpu->s.cr2 = v; else if (n == 3) cpu->s.cr3 = v; else cpu->s.cr4 = v; x86_update_mode(cpu); x86_tlb_flush(cpu, true); }
uint32_t x86_read_dr(struct x86_cpu *cpu, int n) { return cpu->s.dr[n & 7]; }
void x86_write_dr(struct x86_cpu *cpu, int n, uint32_t v) { cpu->s.dr[n & 7] = v; }
void x86_lgdt(struct x86_cpu *cpu, uint32_t base, uint16_t limit) { cpu->s.gdtr.base = base; cpu->s.gdtr.limit = limit; }
void x86_lidt(struct x86_cpu *cpu, uint32_t base, uint16_t limit) { cpu->s.idtr.base = base; cpu->s.idtr.limit = limit; }
void x86_lldt(struct x86_cpu *cpu, uint16_t sel) { cpu->s.ldtr.sel = sel; }
void x86_ltr(struct x86_cpu *cpu, uint16_t sel) { cpu->s.tr.sel = sel; }
void x86_clts(struct x86_cpu *cpu) { cpu->s.cr0 &= ~CR0_TS; }
void x86_lmsw(struct x86_cpu *cpu, uint16_t v) { cpu->s.cr0 = (cpu->s.cr0 & ~0xeu) | (v & 0xfu) | (cpu->s.cr0 & 1); x86_update_mode(cpu); }
void x86_invlpg(struct x86_cpu *cpu, uint32_t lin) { x86_tlb_flush_page(cpu, lin); }
bool x86_lar(struct x86_cpu *cpu, uint16_t sel, uint32_t *out) { (void)cpu; (void)sel; *out = 0; return false; }
bool x86_lsl(struct x86_cpu *cpu, uint16_t sel, uint32_t *out) { (void)cpu; (void)sel; *out = 0; return false; }
bool x86_verr(struct x86_cpu *cpu, uint16_t sel) { (void)cpu; (void)sel; return false; }
bool x86_verw(struct x86_cpu *cpu, uint16_t sel) { (void)cpu; (void)sel; return false; }
void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4])
{ (void)cpu; (void)leaf; (void)sub; out[0] = out[1] = out[2] = out[3] = 0; }
uint64_t x86_rdmsr(struct x86_cpu *cpu, uint32_t idx) { (void)idx; x86_raise(cpu, X86_GP, 0); }
void x86_wrmsr(struct x86_cpu *cpu, uint32_t idx, uint64_t v) { (void)idx; (void)v; x86_raise(cpu, X86_GP, 0); }
uint64_t x86_rdtsc(struct x86_cpu *cpu) { return vclock_ns(&cpu->vm->clock) + cpu->s.msr.tsc_offset; }
void x86_check_io(struct x86_cpu *cpu, uint16_t port, unsigned size)
{ (void)port; (void)size; if (cpu->pe && (cpu->v86 || cpu->cpl > (int)((cpu->s.eflags >> 12) & 3))) x86_raise(cpu, X86_GP, 0); }
void x86_require_cpl0(struct x86_cpu *cpu) { if (cpu->cpl) x86_raise(cpu, X86_GP, 0); }
