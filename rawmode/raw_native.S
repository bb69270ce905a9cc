/* raw_enter: the world switch into 32-bit guest code at host CPL 3, and the 64-bit exit stub
 * that a trap's signal handler returns into.
 *
 * Entry: save the callee-saved registers and RSP in the frame (host_rsp), the host FS/GS bases
 * (rdfsbase/rdgsbase: glibc's TLS and stack protector live at FS), load the guest's x87/SSE
 * image, build an IRETQ frame (SS:ESP, EFLAGS, CS:EIP with LDT selectors, so IRETQ lands in
 * compatibility mode, SDM Vol. 3 §5.8.3 / §6.14.4), load the guest data selectors, check the
 * timer flag, load the guest GPRs, IRETQ.
 * Exit: raw_native.c's handler copies the trapped guest context into the frame and makes the
 * kernel's sigreturn land on raw_exit_stub with RDI = frame and RSP = host_rsp, in 64-bit mode.
 * The stub restores the host FS/GS before any C code runs, saves the guest FPU image, loads the
 * host default one, and returns from raw_enter with the exit reason. */

#define FR_GPR      0
#define FR_EIP      32
#define FR_EFLAGS   36
#define FR_CS       40
#define FR_SS       42
#define FR_DS       44
#define FR_ES       46
#define FR_FS       48
#define FR_GS       50
#define FR_REASON   52
#define FR_HOST_RSP 104
#define FR_HOST_FS  112
#define FR_HOST_GS  120
#define FR_GFPU     128
#define FR_HFPU     136
#define FR_XMASK    144
#define EXIT_TIMER  2

    .text
    .globl raw_enter
    .type raw_enter, @function
raw_enter:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    movq %rsp, FR_HOST_RSP(%rdi)
    cmpb $0, raw_have_fsgsbase(%rip)
    je 1f
    rdfsbase %rax
    movq %rax, FR_HOST_FS(%rdi)
    rdgsbase %rax
    movq %rax, FR_HOST_GS(%rdi)
1:
    /* The guest's FPU state goes into the FPU now; the monitor runs no FP code until exit. */
    movq FR_GFPU(%rdi), %rsi
    movq FR_XMASK(%rdi), %rax
    testq %rax, %rax
    jz 2f
    movq %rax, %rdx
    shrq $32, %rdx
    xrstor64 (%rsi)
    jmp 3f
2:  fxrstor64 (%rsi)
3:
    movzwl FR_SS(%rdi), %eax
    pushq %rax
    movl FR_GPR+16(%rdi), %eax
    pushq %rax
    movl FR_EFLAGS(%rdi), %eax
    pushq %rax
    movzwl FR_CS(%rdi), %eax
    pushq %rax
    movl FR_EIP(%rdi), %eax
    pushq %rax
    /* From here FS/GS hold guest selectors: no TLS, no C. */
    movw FR_DS(%rdi), %ds
    movw FR_ES(%rdi), %es
    movw FR_FS(%rdi), %fs
    movw FR_GS(%rdi), %gs
    /* Nothing of the monitor in the registers the guest could read after a far jump to the
     * host's 64-bit code selector. */
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    /* The timer window: a timer signal arriving from here to the IRETQ is turned into a timer
     * exit by the handler; one that arrived before it set raw_timer_flag. */
    .globl raw_enter_window
raw_enter_window:
    cmpl $0, raw_timer_flag(%rip)
    jne 4f
    movl FR_GPR+0(%rdi), %eax
    movl FR_GPR+4(%rdi), %ecx
    movl FR_GPR+8(%rdi), %edx
    movl FR_GPR+12(%rdi), %ebx
    movl FR_GPR+20(%rdi), %ebp
    movl FR_GPR+24(%rdi), %esi
    movl FR_GPR+28(%rdi), %edi
    .globl raw_enter_iret
raw_enter_iret:
    iretq
4:  movl $EXIT_TIMER, FR_REASON(%rdi)
    /* fall through into the exit stub: same state as after a trap, nothing ran */

    .globl raw_exit_stub
    .type raw_exit_stub, @function
raw_exit_stub:
    xorl %eax, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %fs
    movl %eax, %gs
    cmpb $0, raw_have_fsgsbase(%rip)
    je 5f
    movq FR_HOST_FS(%rdi), %rax
    wrfsbase %rax
    movq FR_HOST_GS(%rdi), %rax
    wrgsbase %rax
    jmp 6f
5:  movq %rdi, %r12                 /* arch_prctl(ARCH_SET_FS / ARCH_SET_GS, base) */
    movl $158, %eax
    movl $0x1002, %edi
    movq FR_HOST_FS(%r12), %rsi
    syscall
    movl $158, %eax
    movl $0x1001, %edi
    movq FR_HOST_GS(%r12), %rsi
    syscall
    movq %r12, %rdi
6:
    movq FR_GFPU(%rdi), %rsi
    movq FR_HFPU(%rdi), %rcx
    movq FR_XMASK(%rdi), %rax
    testq %rax, %rax
    jz 7f
    movq %rax, %rdx
    shrq $32, %rdx
    xsave64 (%rsi)
    movq FR_XMASK(%rdi), %rax
    xrstor64 (%rcx)
    jmp 8f
7:  fxsave64 (%rsi)
    fxrstor64 (%rcx)
8:
    cld
    movq FR_HOST_RSP(%rdi), %rsp
    movl FR_REASON(%rdi), %eax
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size raw_enter, . - raw_enter

/* The signal handler's first instructions. Linux delivers a signal with the interrupted
 * context's EFLAGS.AC and NT still live (it clears only TF, DF and RF), and sigreturn restores
 * AC but not NT or ID from the ucontext. Guest code sets any of them natively (POPF), so before
 * any C code: clear AC (alignment checking would turn the handler's unaligned SSE stores into
 * #AC, a SIGBUS while signals are blocked: death) and NT (it would outlive sigreturn in the
 * monitor, and every later IRETQ with NT set is #GP). */
    .globl raw_signal_entry
    .type raw_signal_entry, @function
raw_signal_entry:
    pushfq
    andq $~0x44000, (%rsp)
    popfq
    jmp raw_signal
    .size raw_signal_entry, . - raw_signal_entry

    .section .note.GNU-stack, "", @progbits
