/* Exception/interrupt recording for the system tests: isr.S stubs funnel vectors 0..63 into isr_dispatch. */
#ifndef GUEST_ISR_H
#define GUEST_ISR_H

#include <stdint.h>

/* What isr.S pushes, lowest address first. esp/ss exist only for a privilege change; the
 * v86_* words only when leaving virtual-8086 mode (SDM Vol. 3A 6.12.1, 20.3.1.1). */
struct isr_frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
    uint32_t vec, err;
    uint32_t eip, cs, eflags;
    uint32_t esp, ss;
    uint32_t v86_es, v86_ds, v86_fs, v86_gs;
};

struct isr_record {
    uint32_t vec, err, eip, cs, eflags, cr2, esp, ss;
};

typedef void (*isr_handler_fn)(struct isr_frame *f);

extern volatile struct isr_record isr_last;   /* the most recent event; vec = 0xFF: none */
extern volatile uint32_t isr_count[64];
extern volatile uint32_t isr_resume;          /* non-zero: a fault resumes at this EIP */
extern isr_handler_fn isr_handlers[64];

void isr_dispatch(struct isr_frame *f);
/* Forgets the last event and per-vector counts. */
void isr_clear(void);

/* Runs one instruction (no operands) that may fault; a fault resumes after it.
 * Evaluates to the vector taken, 0xFF for none. */
#define ISR_TRY(insn)                                                            \
    ({                                                                           \
        isr_last.vec = 0xFF;                                                     \
        __asm__ volatile("movl $1f, isr_resume\n\t" insn "\n1:\n\t"              \
                         "movl $0, isr_resume" : : : "memory");                  \
        isr_last.vec;                                                            \
    })

#endif
