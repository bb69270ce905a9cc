/* bench/mips/mips.S: Multiboot v1 benchmark guest running a loop of an exactly known number of
 * instructions per iteration, for measuring interpreter speed (MIPS) against QEMU TCG.
 *
 * One source, three kernels, chosen at build time:
 *   -DBENCH_VARIANT=1  compute: integer code shaped like compiled C (ALU, a bounds check that is
 *                      never taken, loads/stores/byte loads to a 256-byte array, an if/else that
 *                      alternates, a cdecl call/ret), paging off.
 *   -DBENCH_VARIANT=2  memory:  read-modify-write checksum streaming over a 1 MiB buffer that
 *                      straddles the 4 MiB line, paging off.
 *   -DBENCH_VARIANT=3  paging:  both bodies in one iteration, with paging on (identity-mapped
 *                      4 MiB pages, CR4.PSE), so instruction fetch, stack, array and buffer
 *                      accesses all go through address translation (a software TLB).
 *
 * Command line (Multiboot, flags bit 2): "iters=N" (decimal, default 1000000) sets the number of
 * loop iterations; "verify" first measures the per-iteration instruction count with the trap
 * flag (one #DB per instruction, SDM Vol. 3 §17.3.1.4) and fails unless it equals
 * INSNS_PER_ITER. The guest prints one line on COM1 (polled, 0x3F8):
 *   mips: variant=NAME iters=N insns_per_iter=K insns=N*K checksum=0xXXXXXXXX
 * where insns counts the instructions executed inside the loop only (the fixed start-up cost is
 * what the harness measures with iters=0), then writes 0x10 to isa-debug-exit (port 0xF4):
 * exit status 33 under QEMU and ringfold. Any failure prints "mips: FAIL ..." and writes 0x11.
 */

#define MB_MAGIC        0x1BADB002
#define MB_FLAGS        0
#define MB_BOOT_MAGIC   0x2BADB002
#define MBI_FLAG_CMDLINE 0x4
#define MBI_CMDLINE     16              /* offset of cmdline in the Multiboot info */

#define COM1            0x3F8
#define COM1_LSR        (COM1 + 5)
#define LSR_THRE        0x20
#define DEBUG_EXIT      0xF4
#define EXIT_OK         0x10
#define EXIT_FAIL       0x11

#define BUF             0x3C0000        /* 1 MiB at 3.75-4.75 MiB: crosses a 4 MiB page */
#define BUF_MASK        0xFFFFC         /* byte offset wraps at 1 MiB, dword aligned */
#define DEFAULT_ITERS   1000000

#define COMPUTE_INSNS   27              /* COMPUTE_BODY, counting the mix() call */
#define MEMORY_INSNS    8               /* MEMORY_BODY */
#define LOOP_INSNS      2               /* dec + jnz */

#if BENCH_VARIANT == 1
#define VARIANT_NAME    "compute"
#define INSNS_PER_ITER  (COMPUTE_INSNS + LOOP_INSNS)
#elif BENCH_VARIANT == 2
#define VARIANT_NAME    "memory"
#define INSNS_PER_ITER  (MEMORY_INSNS + LOOP_INSNS)
#elif BENCH_VARIANT == 3
#define VARIANT_NAME    "paging"
#define INSNS_PER_ITER  (COMPUTE_INSNS + MEMORY_INSNS + LOOP_INSNS)
#else
#error "BENCH_VARIANT must be 1 (compute), 2 (memory) or 3 (paging)"
#endif

/* Multiboot v1 header: must sit 4-byte aligned in the first 8 KiB of the image. ELF layout is
 * used (flags bit 16 clear), so no address fields. */
        .section .multiboot, "a"
        .balign 4
        .long   MB_MAGIC
        .long   MB_FLAGS
        .long   -(MB_MAGIC + MB_FLAGS)

/* Compiled-code-like integer work: state in %ebx, counter in %edi, array `arr`. Both arms of
 * the if/else are two instructions long so the count per iteration is exact. */
.macro COMPUTE_BODY
        inc     %edi                    /*  1 i++                                  */
        mov     %edi, %eax              /*  2                                      */
        and     $63, %eax               /*  3 slot = i % 64                        */
        cmp     $64, %eax               /*  4 bounds check, never fails            */
        jae     bad_index               /*  5                                      */
        mov     arr(,%eax,4), %edx      /*  6 dword load                           */
        lea     (%edx,%ebx,2), %ecx     /*  7                                      */
        xor     %ecx, %ebx              /*  8                                      */
        add     $0x9E3779B9, %ebx       /*  9                                      */
        movzbl  arr(%eax), %ecx         /* 10 byte load                            */
        add     %ecx, %edx              /* 11                                      */
        mov     %ebx, %ecx              /* 12                                      */
        shr     $7, %ecx                /* 13                                      */
        sub     %ecx, %edx              /* 14                                      */
        mov     %edx, arr(,%eax,4)      /* 15 dword store                          */
        test    $1, %edi                /* 16                                      */
        jz      1f                      /* 17 alternates taken / not taken         */
        add     %edx, %ebx              /* 18 odd i                                */
        jmp     2f                      /* 19                                      */
1:      sub     %edx, %ebx              /* 18 even i                               */
        not     %ecx                    /* 19                                      */
2:      push    %edx                    /* 20 cdecl argument                       */
        call    mix                     /* 21, then 22-25 inside mix()             */
        add     $4, %esp                /* 26 caller pops the argument             */
        imul    $0x2545F491, %ebx, %ebx /* 27                                      */
.endm

/* Streaming read-modify-write checksum: offset in %esi, running sum in memory (`csum`). */
.macro MEMORY_BODY
        mov     BUF(%esi), %eax         /* 1 load                                  */
        add     %eax, csum              /* 2 memory read-modify-write              */
        mov     csum, %edx              /* 3                                       */
        rol     $5, %edx                /* 4                                       */
        xor     %edx, %eax              /* 5                                       */
        mov     %eax, BUF(%esi)         /* 6 store                                 */
        add     $4, %esi                /* 7                                       */
        and     $BUF_MASK, %esi         /* 8 wrap at 1 MiB                         */
.endm

        .text
        .code32
        .globl  _start
_start:
        cli
        cld
        mov     $stack_top, %esp
        cmp     $MB_BOOT_MAGIC, %eax
        jne     not_multiboot
        mov     %ebx, mbi_ptr
        /* Multiboot leaves GDTR undefined (Multiboot 0.6.96 §3.2): load our own. */
        lgdt    gdt_desc
        ljmp    $0x08, $1f
1:      mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     %ax, %fs
        mov     %ax, %gs
        call    idt_install
        call    parse_cmdline
#if BENCH_VARIANT == 3
        call    paging_enable
#endif
        call    data_init
        cmpb    $0, verify_flag
        je      2f
        call    verify_count
2:      mov     iters, %ebp
        call    bench_run
        call    report
        mov     $EXIT_OK, %al
        jmp     exit_guest

/* The timed loop: %ebp iterations of the variant's body. Exactly %ebp * INSNS_PER_ITER
 * instructions execute between the first body instruction and the last jnz. */
bench_run:
        test    %ebp, %ebp
        jz      9f
        .balign 16
loop_top:
#if BENCH_VARIANT == 1 || BENCH_VARIANT == 3
        COMPUTE_BODY
#endif
#if BENCH_VARIANT == 2 || BENCH_VARIANT == 3
        MEMORY_BODY
#endif
        dec     %ebp
        jnz     loop_top
9:      ret

/* int mix(int x): folds its stack argument into the state, 4 instructions with the ret. */
mix:
        mov     4(%esp), %eax
        rol     $13, %eax
        xor     %eax, %ebx
        ret

/* Counts the instructions of bench_run(n) by single-stepping it: count(3) - count(1) is two
 * iterations' worth, whatever fixed cost the entry and the TF toggling add. */
verify_count:
        mov     $3, %ebp
        call    count_steps
        push    %eax                    /* the bodies clobber every scratch register */
        mov     $1, %ebp
        call    count_steps
        pop     %ecx
        sub     %eax, %ecx
        shr     $1, %ecx
        mov     %ecx, measured_per_iter
        cmp     $INSNS_PER_ITER, %ecx
        jne     verify_failed
        mov     $msg_verify_ok, %esi
        call    puts
        mov     %ecx, %eax
        call    put_dec32
        mov     $msg_nl, %esi
        call    puts
        ret

/* Returns in %eax the number of #DB single-step traps taken while bench_run(%ebp) runs. */
count_steps:
        movl    $0, db_count
        pushf
        orl     $0x100, (%esp)          /* EFLAGS.TF */
        popf
        call    bench_run
        pushf
        andl    $~0x100, (%esp)
        popf
        mov     db_count, %eax
        ret

/* Parses "iters=N" and "verify" from the Multiboot command line (each at the start or after a
 * space: QEMU passes "KERNEL-PATH ARGS"). */
parse_cmdline:
        movl    $DEFAULT_ITERS, iters
        mov     mbi_ptr, %ebx
        testl   $MBI_FLAG_CMDLINE, (%ebx)
        jz      9f
        mov     MBI_CMDLINE(%ebx), %esi
        mov     $key_iters, %edi
        call    find_key
        test    %eax, %eax
        jz      1f
        mov     %eax, %esi
        call    parse_dec32
        mov     %eax, iters
1:      mov     MBI_CMDLINE(%ebx), %esi
        mov     $key_verify, %edi
        call    find_key
        test    %eax, %eax
        jz      9f
        movb    $1, verify_flag
9:      ret

/* find_key(%esi = NUL-terminated string, %edi = NUL-terminated key): %eax = address just past
 * the first occurrence of the key that starts the string or follows a space, else 0. */
find_key:
        push    %ebx
        push    %edx
        mov     $1, %dl                 /* at a word start */
1:      movb    (%esi), %al
        test    %al, %al
        jz      8f
        test    %dl, %dl
        jz      4f
        /* compare key at %esi */
        xor     %ebx, %ebx
2:      movb    (%edi,%ebx), %ah
        test    %ah, %ah
        jz      7f                      /* whole key matched */
        cmpb    %ah, (%esi,%ebx)
        jne     4f
        inc     %ebx
        jmp     2b
4:      xor     %dl, %dl
        cmpb    $' ', (%esi)
        jne     5f
        mov     $1, %dl
5:      inc     %esi
        jmp     1b
7:      lea     (%esi,%ebx), %eax
        pop     %edx
        pop     %ebx
        ret
8:      xor     %eax, %eax
        pop     %edx
        pop     %ebx
        ret

/* parse_dec32(%esi): %eax = decimal value; fails the run on no digits or overflow. */
parse_dec32:
        push    %ecx
        push    %edx
        xor     %eax, %eax
        xor     %ecx, %ecx
        movzbl  (%esi), %edx
        sub     $'0', %edx
        cmp     $9, %edx
        ja      bad_iters
1:      movzbl  (%esi), %edx
        sub     $'0', %edx
        cmp     $9, %edx
        ja      2f
        mov     $10, %ecx
        push    %edx
        mul     %ecx
        pop     %ecx
        jc      bad_iters
        add     %ecx, %eax
        jc      bad_iters
        inc     %esi
        jmp     1b
2:      pop     %edx
        pop     %ecx
        ret

/* Fills the 256-byte array (and the 1 MiB buffer where used) with a deterministic pattern:
 * never rely on RAM being zero. */
data_init:
        xor     %ecx, %ecx
1:      mov     %ecx, %eax
        imul    $0x9E3779B1, %eax, %eax
        mov     %eax, arr(,%ecx,4)
        inc     %ecx
        cmp     $64, %ecx
        jb      1b
#if BENCH_VARIANT != 1
        xor     %ecx, %ecx
2:      mov     %ecx, %eax
        imul    $0x01000193, %eax, %eax
        xor     $0x811C9DC5, %eax
        mov     %eax, BUF(,%ecx,4)
        inc     %ecx
        cmp     $(0x100000 / 4), %ecx
        jb      2b
#endif
        movl    $0, csum
        xor     %ebx, %ebx
        xor     %esi, %esi
        xor     %edi, %edi
        ret

#if BENCH_VARIANT == 3
/* Identity-maps the first 64 MiB with 4 MiB pages (PDE.PS with CR4.PSE, SDM Vol. 3 §4.3) and
 * turns paging on. */
paging_enable:
        mov     $page_dir, %edi
        xor     %eax, %eax
        mov     $1024, %ecx
        rep stosl                       /* not-present above 64 MiB; do not trust .bss */
        mov     $page_dir, %edi
        xor     %ecx, %ecx
1:      mov     %ecx, %eax
        shl     $22, %eax
        or      $0x83, %eax             /* P | R/W | PS */
        mov     %eax, (%edi,%ecx,4)
        inc     %ecx
        cmp     $16, %ecx
        jb      1b
        mov     %cr4, %eax
        or      $0x10, %eax             /* CR4.PSE */
        mov     %eax, %cr4
        mov     $page_dir, %eax
        mov     %eax, %cr3
        mov     %cr0, %eax
        or      $0x80000000, %eax       /* CR0.PG */
        mov     %eax, %cr0
        jmp     2f                      /* SDM Vol. 3 §9.9.1: branch after setting PG */
2:      ret
#endif

/* Prints the result line. */
report:
        mov     $msg_head, %esi
        call    puts
        mov     iters, %eax
        call    put_dec32
        mov     $msg_per, %esi
        call    puts
        mov     $INSNS_PER_ITER, %eax
        call    put_dec32
        mov     $msg_insns, %esi
        call    puts
        mov     iters, %eax
        mov     $INSNS_PER_ITER, %ecx
        mul     %ecx                    /* %edx:%eax = iters * K, exact */
        call    put_dec64
        mov     $msg_csum, %esi
        call    puts
        mov     %ebx, %eax
        xor     csum, %eax
        call    put_hex32
        mov     $msg_nl, %esi
        call    puts
        ret

/* --- COM1 output, polled (16550: wait for LSR.THRE before writing THR) --- */

/* putc(%al) */
putc:
        push    %ecx
        push    %edx
        push    %eax
        mov     $100000, %ecx           /* a dead UART must not hang the guest */
        mov     $COM1_LSR, %dx
1:      in      %dx, %al
        test    $LSR_THRE, %al
        jnz     2f
        dec     %ecx
        jnz     1b
2:      pop     %eax
        mov     $COM1, %dx
        out     %al, %dx
        pop     %edx
        pop     %ecx
        ret

/* puts(%esi) */
puts:
        push    %eax
        push    %esi
1:      movb    (%esi), %al
        test    %al, %al
        jz      2f
        call    putc
        inc     %esi
        jmp     1b
2:      pop     %esi
        pop     %eax
        ret

/* put_dec32(%eax) */
put_dec32:
        push    %edx
        xor     %edx, %edx
        call    put_dec64
        pop     %edx
        ret

/* put_dec64(%edx:%eax): long division by 10 one 32-bit half at a time. */
put_dec64:
        push    %eax
        push    %ebx
        push    %ecx
        push    %edx
        push    %esi
        push    %edi
        mov     $numbuf_end, %edi
        mov     $10, %ecx
1:      mov     %eax, %esi              /* low half aside */
        mov     %edx, %eax
        xor     %edx, %edx
        div     %ecx                    /* high / 10: quotient high, remainder in %edx */
        mov     %eax, %ebx
        mov     %esi, %eax
        div     %ecx                    /* (rem:low) / 10 */
        add     $'0', %dl
        dec     %edi
        mov     %dl, (%edi)
        mov     %ebx, %edx
        mov     %eax, %esi
        or      %edx, %esi
        jnz     1b
        movb    $0, numbuf_end
        mov     %edi, %esi
        call    puts
        pop     %edi
        pop     %esi
        pop     %edx
        pop     %ecx
        pop     %ebx
        pop     %eax
        ret

/* put_hex32(%eax) */
put_hex32:
        push    %eax
        push    %ecx
        push    %edx
        mov     %eax, %edx
        mov     $8, %ecx
1:      rol     $4, %edx
        mov     %edx, %eax
        and     $0xF, %eax
        movb    hexdigits(%eax), %al
        call    putc
        dec     %ecx
        jnz     1b
        pop     %edx
        pop     %ecx
        pop     %eax
        ret

/* --- failures and exit --- */

not_multiboot:
        mov     $msg_not_mb, %esi
        jmp     fail
bad_iters:
        mov     $msg_bad_iters, %esi
        jmp     fail
bad_index:
        mov     $msg_bad_index, %esi
        jmp     fail
verify_failed:
        mov     $msg_fail, %esi
        call    puts
        mov     $msg_verify_bad, %esi
        call    puts
        mov     measured_per_iter, %eax
        call    put_dec32
        mov     $msg_expected, %esi
        call    puts
        mov     $INSNS_PER_ITER, %eax
        call    put_dec32
        mov     $msg_nl, %esi
        call    puts
        jmp     fail_exit
fail:
        mov     $stack_top, %esp        /* the failure may come from anywhere */
        push    %esi
        mov     $msg_fail, %esi
        call    puts
        pop     %esi
        call    puts
fail_exit:
        mov     $EXIT_FAIL, %al
exit_guest:
        mov     $DEBUG_EXIT, %dx
        out     %al, %dx
1:      cli                             /* no isa-debug-exit: stop here */
        hlt
        jmp     1b

/* --- exceptions: #DB counts single steps, anything else is a failure --- */

idt_install:
        xor     %ecx, %ecx
1:      lea     exc_stubs(,%ecx,8), %eax
        mov     %ax, idt(,%ecx,8)               /* offset 15:0 */
        movw    $0x08, idt+2(,%ecx,8)           /* selector */
        movw    $0x8E00, idt+4(,%ecx,8)         /* present, DPL 0, 32-bit interrupt gate */
        shr     $16, %eax
        mov     %ax, idt+6(,%ecx,8)             /* offset 31:16 */
        inc     %ecx
        cmp     $32, %ecx
        jb      1b
        lidt    idt_desc
        ret

/* One 8-byte stub per vector: push the vector number and join the common path. */
        .balign 8
exc_stubs:
        .set    vec, 0
        .rept   32
        .balign 8
        push    $vec
        jmp     exc_common
        .set    vec, vec + 1
        .endr

exc_common:
        cmpl    $1, (%esp)
        jne     1f
        /* #DB from single-stepping: a trap, EIP already past the instruction (SDM §17.3.1.4).
         * The interrupt gate cleared TF for this handler; iret restores it. */
        incl    db_count
        add     $4, %esp
        iret
1:      mov     $msg_fail, %esi
        call    puts
        mov     $msg_exc, %esi
        call    puts
        mov     (%esp), %eax
        call    put_dec32
        mov     $msg_nl, %esi
        call    puts
        jmp     fail_exit

        .section .rodata
gdt:
        .quad   0
        .quad   0x00CF9A000000FFFF      /* 0x08: flat 32-bit code, DPL 0 */
        .quad   0x00CF92000000FFFF      /* 0x10: flat data */
gdt_end:
        .balign 4
        .word   0
gdt_desc:
        .word   gdt_end - gdt - 1
        .long   gdt
        .word   0
idt_desc:
        .word   32 * 8 - 1
        .long   idt
hexdigits:      .ascii "0123456789abcdef"
key_iters:      .asciz "iters="
key_verify:     .asciz "verify"
msg_head:       .asciz "mips: variant=" VARIANT_NAME " iters="
msg_per:        .asciz " insns_per_iter="
msg_insns:      .asciz " insns="
msg_csum:       .asciz " checksum=0x"
msg_nl:         .asciz "\n"
msg_verify_ok:  .asciz "mips: verify ok, single-stepped instructions per iteration = "
msg_verify_bad: .asciz "single-stepped instructions per iteration = "
msg_expected:   .asciz ", expected "
msg_fail:       .asciz "mips: FAIL "
msg_not_mb:     .asciz "not started by a Multiboot loader\n"
msg_bad_iters:  .asciz "iters= needs a decimal number below 2^32\n"
msg_bad_index:  .asciz "bounds check failed\n"
msg_exc:        .asciz "unexpected exception, vector "

        .data
        .balign 4
iters:          .long   0
db_count:       .long   0
measured_per_iter: .long 0
csum:           .long   0
mbi_ptr:        .long   0
verify_flag:    .byte   0

        .bss
        .balign 4096
#if BENCH_VARIANT == 3
page_dir:       .skip   4096
#endif
idt:            .skip   32 * 8
arr:            .skip   64 * 4
numbuf:         .skip   24
numbuf_end:     .skip   4
        .balign 16
stack:          .skip   16384
stack_top:

        .section .note.GNU-stack, "", @progbits
