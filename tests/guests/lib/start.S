/* Entry of every guest test kernel: Multiboot v1 header, flat GDT, stack, .bss, FPU,
 * then guest_main() (see guest.h for the state it is entered with). */

#define MB_FLAGS ((1 << 0) | (1 << 1))   /* page-align modules, want memory info */

    .section .multiboot, "a"
    .p2align 2
    /* Multiboot spec 3.1: must lie in the first 8 KiB of the image, 4-byte aligned.
     * The image is ELF, so no address fields (flag bit 16) are needed. */
    .long 0x1BADB002
    .long MB_FLAGS
    .long -(0x1BADB002 + MB_FLAGS)

    .section .rodata
    .p2align 3
    /* Multiboot spec 3.2: GDTR may be invalid at entry, so load our own before touching
     * any segment register. Flat 4 GiB, base 0 (SDM Vol. 3A 3.4.5). */
guest_boot_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF        /* 0x08: code, DPL 0, 32-bit, 4 KiB granular */
    .quad 0x00CF92000000FFFF        /* 0x10: data, DPL 0, writable */
guest_boot_gdt_end:
guest_boot_gdtr:
    .word guest_boot_gdt_end - guest_boot_gdt - 1
    .long guest_boot_gdt

    .section .bss
    .p2align 4
guest_stack:
    .skip 65536
guest_stack_top:

    .section .text
    .globl _start
    .type _start, @function
_start:
    cli
    mov %eax, %esi                  /* Multiboot magic; EBX holds the info pointer */
    lgdt guest_boot_gdtr
    ljmp $0x08, $1f
1:  mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    mov %eax, %ss
    mov $guest_stack_top, %esp
    xor %ebp, %ebp
    pushl $0x2                      /* EFLAGS: only the reserved bit 1 (DF=0 for C) */
    popfl

    /* Clear .bss; the stack lives there too, so nothing may be pushed before this. */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    /* x87 on: EM=0, TS=0, MP=1, NE=1 (native #MF reporting, SDM Vol. 3A 9.2.1). */
    mov %cr0, %eax
    and $~((1 << 2) | (1 << 3)), %eax
    or $((1 << 1) | (1 << 5)), %eax
    mov %eax, %cr0
    fninit

    push %ebx
    push %esi
    call guest_lib_init
    add $8, %esp
    call serial_init
    call guest_main
    call guest_pass
2:  cli
    hlt
    jmp 2b
    .size _start, . - _start
    .section .note.GNU-stack, "", @progbits
