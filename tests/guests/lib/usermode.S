/* CPL 0 -> CPL 3 by IRET and back through a DPL-3 interrupt gate (SDM Vol. 3A 6.12.1):
 * user_run saves the callee-saved registers and ESP; the int $0x30 handler, running on the
 * TSS ring-0 stack, restores them and returns from user_run with the user's EAX. */
    .text
    .globl user_run
user_run:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, user_saved_esp
    movl 20(%esp), %eax          /* fn */
    movl 24(%esp), %ecx          /* eflags */
    orl $2, %ecx
    movl $user_stack_top - 4, %edx
    movl $user_exit_tramp, (%edx)   /* fn's return address */
    pushl $0x23                  /* SS */
    pushl %edx                   /* ESP */
    pushl %ecx                   /* EFLAGS */
    pushl $0x1B                  /* CS */
    pushl %eax                   /* EIP */
    movw $0x23, %cx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    iret

user_exit_tramp:
    int $0x30

    .globl user_return_isr
user_return_isr:
    movw $0x10, %cx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    movl user_saved_esp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .bss
    .align 16
user_saved_esp:
    .long 0
    .align 16
    .globl user_stack_top
    .space 16384
user_stack_top:
    .section .note.GNU-stack,"",@progbits
