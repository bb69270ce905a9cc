/* bench/nano/nano.S: entry, descriptor tables and trap stubs of the nanobenchmark guest; the
 * benchmarks themselves are in nano.c. Multiboot v1, 32-bit protected mode, flat segments.
 *
 * GDT layout is fixed by SYSENTER/SYSEXIT (SDM Vol. 2B SYSENTER): kernel CS = IA32_SYSENTER_CS,
 * kernel SS = CS + 8, user CS = CS + 16, user SS = CS + 24. So: 0x08 kernel code, 0x10 kernel
 * data, 0x18 user code, 0x20 user data, 0x28 the 32-bit TSS (only SS0:ESP0 is used, for the
 * ring 3 -> ring 0 stack switch, SDM Vol. 3 §7.7). */

#define MB_MAGIC        0x1BADB002
#define MB_FLAGS        0

        .section .multiboot, "a"
        .balign 4
        .long   MB_MAGIC
        .long   MB_FLAGS
        .long   -(MB_MAGIC + MB_FLAGS)

        .text
        .code32
        .globl  _start
_start:
        cli
        cld
        mov     $kstack_top, %esp
        push    %ebx                    /* Multiboot info */
        push    %eax                    /* Multiboot magic */
        /* Multiboot leaves GDTR undefined (Multiboot 0.6.96 §3.2): load our own. */
        lgdt    gdt_desc
        ljmp    $0x08, $1f
1:      mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     %ax, %fs
        mov     %ax, %gs
        call    nano_main               /* never returns: exits through isa-debug-exit */
2:      hlt
        jmp     2b

/* Trap stubs: every vector builds the same frame (vector, error code or 0, pusha) and calls
 * nano_trap(struct trap_frame *), which may change the saved registers and EIP. */
.macro TRAP_NOERR vec
        .globl  trap_\vec
trap_\vec:
        push    $0
        push    $\vec
        jmp     trap_common
.endm
.macro TRAP_ERR vec
        .globl  trap_\vec
trap_\vec:
        push    $\vec
        jmp     trap_common
.endm

        TRAP_NOERR 0                    /* #DE */
        TRAP_NOERR 1
        TRAP_NOERR 2
        TRAP_NOERR 3
        TRAP_NOERR 4
        TRAP_NOERR 5
        TRAP_NOERR 6                    /* #UD */
        TRAP_NOERR 7
        TRAP_ERR   8                    /* #DF */
        TRAP_NOERR 9
        TRAP_ERR   10
        TRAP_ERR   11
        TRAP_ERR   12
        TRAP_ERR   13                   /* #GP */
        TRAP_ERR   14                   /* #PF */
        TRAP_NOERR 15
        TRAP_NOERR 16
        TRAP_ERR   17
        TRAP_NOERR 18
        TRAP_NOERR 19

trap_common:
        pusha
        mov     %esp, %eax
        push    %eax
        call    nano_trap
        add     $4, %esp
        popa
        add     $8, %esp                /* vector and error code */
        iret

/* int 0x80 (DPL 3): %eax = 0 returns at once (the syscall benchmark); %eax = 1 leaves user
 * mode for good, back into user_enter's caller on the kernel stack saved there. */
        .globl  trap_syscall
trap_syscall:
        test    %eax, %eax
        jnz     1f
        iret
1:      mov     user_saved_esp, %esp
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        popa
        ret

/* int 0x81 (DPL 0): the `int` benchmark's empty kernel handler. */
        .globl  trap_int81
trap_int81:
        iret

/* SYSENTER target: return at once. SYSEXIT resumes ring 3 at %edx with %esp = %ecx. */
        .globl  sysenter_entry
sysenter_entry:
        sysexit

/* void user_enter(void (*fn)(void), uint32_t user_stack_top): runs fn in ring 3 with
 * interrupts off (IOPL 0); fn ends with int 0x80, %eax = 1, and we return here. */
        .globl  user_enter
user_enter:
        pusha
        mov     %esp, user_saved_esp
        mov     36(%esp), %ecx          /* fn */
        mov     40(%esp), %edx          /* user stack */
        push    $0x23                   /* SS */
        push    %edx                    /* ESP */
        push    $0x002                  /* EFLAGS: IF = 0, IOPL = 0 */
        push    $0x1b                   /* CS */
        push    %ecx                    /* EIP */
        mov     $0x23, %ax
        mov     %ax, %ds
        mov     %ax, %es
        iret

        .data
        .balign 8
        .globl  gdt
gdt:
        .quad   0
        .quad   0x00CF9A000000FFFF      /* 0x08 kernel code: base 0, 4 GiB, DPL 0 */
        .quad   0x00CF92000000FFFF      /* 0x10 kernel data */
        .quad   0x00CFFA000000FFFF      /* 0x18 user code, DPL 3 */
        .quad   0x00CFF2000000FFFF      /* 0x20 user data, DPL 3 */
        .quad   0                       /* 0x28 TSS: filled by nano.c (base is a link address) */
gdt_end:
gdt_desc:
        .word   gdt_end - gdt - 1
        .long   gdt

        .globl  user_saved_esp
user_saved_esp:
        .long   0

        .bss
        .balign 16
        .globl  kstack_top
        .space  16384
kstack_top:

        .section .note.GNU-stack, "", @progbits
