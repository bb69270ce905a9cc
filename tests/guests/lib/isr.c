/* Common C side of the exception stubs: records vector, error code, EIP and CR2, then resumes or fails. */
#include "isr.h"
#include "guest.h"

volatile struct isr_record isr_last;
volatile uint32_t isr_count[64];
volatile uint32_t isr_resume;
isr_handler_fn isr_handlers[64];

void isr_clear(void)
{
    isr_last.vec = 0xFF;
    for (int i = 0; i < 64; i++)
        isr_count[i] = 0;
}

void isr_dispatch(struct isr_frame *f)
{
    uint32_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    uint32_t v = f->vec & 63;
    isr_last.vec = f->vec;
    isr_last.err = f->err;
    isr_last.eip = f->eip;
    isr_last.cs = f->cs;
    isr_last.eflags = f->eflags;
    isr_last.cr2 = cr2;
    /* Only a privilege change (or a v86 exit) pushes SS:ESP (SDM 6.12.1). */
    int outer = (f->cs & 3) != 0 || (f->eflags & 0x20000);
    isr_last.esp = outer ? f->esp : 0;
    isr_last.ss = outer ? f->ss : 0;
    isr_count[v]++;
    if (isr_handlers[v]) {
        isr_handlers[v](f);
        return;
    }
    if (isr_resume) {
        f->eip = isr_resume;
        isr_resume = 0;
        return;
    }
    guest_fail("unexpected vector %u err %x at %x:%08x eflags %08x cr2 %08x", f->vec, f->err,
               f->cs, f->eip, f->eflags, cr2);
}
