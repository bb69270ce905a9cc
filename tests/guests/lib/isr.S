/* Stubs for vectors 0..63: push a dummy error code where the CPU pushes none, the vector, then
 * funnel into isr_dispatch. Vectors with an error code: 8, 10-14, 17, 21 (SDM Vol. 3A Table 6-1). */
    .altmacro
    .text
    .macro STUB vec
isr_stub_\vec:
    .if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21)
    .else
    pushl $0
    .endif
    pushl $\vec
    jmp isr_common
    .endm

    .set i, 0
    .rept 64
    STUB %i
    .set i, i + 1
    .endr

isr_common:
    pusha
    pushl %ds
    pushl %es
    pushl %fs
    pushl %gs
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    cld
    pushl %esp
    call isr_dispatch
    addl $4, %esp
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popa
    addl $8, %esp
    iret

    .section .rodata
    .globl isr_stub_table
    .align 4
    .macro ENT vec
    .long isr_stub_\vec
    .endm
isr_stub_table:
    .set i, 0
    .rept 64
    ENT %i
    .set i, i + 1
    .endr
    .section .note.GNU-stack,"",@progbits
