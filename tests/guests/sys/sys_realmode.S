/* Boot-sector test (512 bytes at 0000:7C00, real mode, no BIOS calls): arithmetic and string
 * instructions, a far jump, then a GDT and CR0.PE into 32-bit protected mode, a far jump to
 * 16-bit protected-mode code, back to real mode (PE cleared, far jump), and exit through
 * isa-debug-exit (0x10 -> status 33; failures 0x11). Output goes to COM1 by polling. */
    .code16
    .text
    .globl start
start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $0x7C00, %sp
    ljmp $0, $rm_start                 /* far jump: CS:IP = 0000:xxxx whatever we came with */
rm_start:
    movw $0x3FB, %dx                   /* UART: 115200 8N1 (divisor 1), no BIOS did it */
    movb $0x80, %al
    outb %al, %dx
    movw $0x3F8, %dx
    movb $1, %al
    outb %al, %dx
    incw %dx
    xorb %al, %al
    outb %al, %dx
    movw $0x3FB, %dx
    movb $3, %al
    outb %al, %dx

    movw $0x1234, %ax                  /* arithmetic */
    addw $0x4321, %ax
    cmpw $0x5555, %ax
    jne fail
    movw $0x33, %ax
    movw $0x100, %bx
    mulw %bx
    cmpw $0x3300, %ax
    jne fail
    orw %dx, %dx
    jnz fail
    movw $msg_rm, %si                  /* string ops: copy a message to 0x600 and compare */
    movw $0x600, %di
    movw $msg_rm_end - msg_rm, %cx
    cld
    rep movsb
    movw $msg_rm, %si
    movw $0x600, %di
    movw $msg_rm_end - msg_rm, %cx
    repe cmpsb
    jne fail
    movw $0x600, %si                   /* print the copy */
    call puts16

    lgdt gdtr
    movl %cr0, %eax
    orb $1, %al
    movl %eax, %cr0
    ljmp $0x08, $pm32

    .code32
pm32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $0x7C00, %esp
    movl %cr0, %eax
    testb $1, %al
    jz fail32
    movl $msg_pm32, %esi
    call puts32
    ljmp $0x18, $pm16                  /* 16-bit code segment */
fail32:
    movb $0x11, %al
    outb %al, $0xF4
    hlt

    .code16
pm16:
    movw $0x20, %ax                    /* 16-bit data segments, 64 KiB limit: real-mode-like caches */
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $msg_pm16, %si
    call puts16
    movl %cr0, %eax
    andb $0xFE, %al
    movl %eax, %cr0
    ljmp $0, $rm_again                 /* reload CS with a real-mode segment */
rm_again:
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr0, %eax
    testb $1, %al
    jnz fail
    movw $msg_back, %si
    call puts16
    movb $0x10, %al
    outb %al, $0xF4
    hlt
fail:
    movw $msg_fail, %si
    call puts16
    movb $0x11, %al
    outb %al, $0xF4
    hlt

/* puts16: DS:SI NUL-terminated string to COM1, waiting for THR empty (LSR bit 5). */
puts16:
    lodsb
    testb %al, %al
    jz 2f
    movb %al, %bl
    movw $0x3FD, %dx
1:  inb %dx, %al
    testb $0x20, %al
    jz 1b
    movw $0x3F8, %dx
    movb %bl, %al
    outb %al, %dx
    jmp puts16
2:  ret

    .code32
puts32:
    lodsb
    testb %al, %al
    jz 2f
    movb %al, %bl
    movw $0x3FD, %dx
1:  inb %dx, %al
    testb $0x20, %al
    jz 1b
    movw $0x3F8, %dx
    movb %bl, %al
    outb %al, %dx
    jmp puts32
2:  ret

    .p2align 3
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF           /* 0x08 code, 32-bit, flat */
    .quad 0x00CF92000000FFFF           /* 0x10 data, 32-bit, flat */
    .quad 0x00009A000000FFFF           /* 0x18 code, 16-bit, base 0, limit 64 KiB */
    .quad 0x000092000000FFFF           /* 0x20 data, 16-bit, base 0, limit 64 KiB */
gdtr:
    .word gdtr - gdt - 1
    .long gdt

msg_rm:   .asciz "realmode: arith, string ops, far jmp ok\n"
msg_rm_end:
msg_pm32: .asciz "realmode: 32-bit protected mode ok\n"
msg_pm16: .asciz "realmode: 16-bit protected mode ok\n"
msg_back: .asciz "realmode: back in real mode ok\n"
msg_fail: .asciz "FAIL: realmode\n"

    .org 510
    .word 0xAA55
    .section .note.GNU-stack, "", @progbits
