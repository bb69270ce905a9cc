/* Entry and exit stubs of the native-execution fuzzer: ring-3 samples entered by IRET and
 * abandoned from the exception handler; the ring-0 recovery task loop (SDM Vol. 3A 7.3). */
    .text

/* uint32_t fz3_enter(const struct fz_regs *r): runs the sample at CPL 3 (CS 0x1B, SS and data
 * segments 0x23) with r's registers; "returns" the outcome fz3_abort is given. */
    .globl fz3_enter
fz3_enter:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, fz3_kesp
    movl 20(%esp), %eax
    pushl $0x23                 /* SS */
    pushl 16(%eax)              /* ESP */
    pushl 36(%eax)              /* EFLAGS */
    pushl $0x1B                 /* CS */
    pushl 32(%eax)              /* EIP */
    movw $0x23, %cx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    movl 4(%eax), %ecx
    movl 8(%eax), %edx
    movl 12(%eax), %ebx
    movl 20(%eax), %ebp
    movl 24(%eax), %esi
    movl 28(%eax), %edi
    movl 0(%eax), %eax
    iret

/* void fz3_abort(uint32_t outcome): from an exception handler running on the TSS ring-0 stack:
 * drop the interrupt frame and return from fz3_enter with outcome. */
    .globl fz3_abort
fz3_abort:
    movl 4(%esp), %eax
    movw $0x10, %cx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    movl fz3_kesp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

/* Every ring-0 recovery task starts here, and resumes after its IRET the next time an exception
 * or interrupt switches to it. fz0_recover(tr, esp) records the outcome and prepares the fuzz
 * task (or the main task, at the end) as the link target; it returns non-zero when the switch
 * pushed an error code on this task's stack (ESP one word below the top). IRET with NT=1 goes
 * to the task in the link field. */
    .globl fz0_rec_entry
fz0_rec_entry:
    xorl %eax, %eax
    str %ax
    pushl %esp
    pushl %eax
    call fz0_recover
    addl $8, %esp
    testl %eax, %eax
    jz 1f
    addl $4, %esp
1:  pushfl
    orl $0x4000, (%esp)
    popfl
    iret
    jmp fz0_rec_entry

    .bss
    .align 4
fz3_kesp:
    .long 0
    .section .note.GNU-stack,"",@progbits
