/* bench/nano/nano_user.S: the ring 3 benchmark loops of the nanobenchmark guest. Each is entered
 * by user_enter (nano.S) with interrupts off, reads the iteration count from nano_iters, stores
 * RDTSC before and after the loop in user_t0/user_t1 (CR4.TSD is clear, so RDTSC works in ring
 * 3, SDM Vol. 2B RDTSC), and leaves through int 0x80 with %eax = 1.
 * Built with -DNANO_NATIVE (nano_native.c) the same loops are cdecl functions for a 32-bit Linux
 * process: they save the callee-saved registers and end with ret. */

.macro USER_LOOP name
        .globl  user_\name
user_\name:
#ifdef NANO_NATIVE
        push    %ebp
        push    %ebx
        push    %esi
        push    %edi
#endif
        mov     nano_iters, %ebp
        rdtsc
        mov     %eax, user_t0
        mov     %edx, user_t0 + 4
        test    %ebp, %ebp
        jz      9f
.endm

.macro USER_END
9:      rdtsc
        mov     %eax, user_t1
        mov     %edx, user_t1 + 4
#ifdef NANO_NATIVE
        pop     %edi
        pop     %esi
        pop     %ebx
        pop     %ebp
        ret
#else
        mov     $1, %eax
        int     $0x80
#endif
.endm

        .text
        .code32

/* Pure integer work: an xorshift32 step and a multiply-accumulate per iteration (%ebp of them;
 * the result lands in user_sink). Shared by the ring 3 `compute` and the ring 0 `kcompute` and
 * `kcompute0`. */
.macro COMPUTE_LOOP
        mov     $0x12345678, %ebx
        xor     %esi, %esi
        .balign 16
1:      mov     %ebx, %eax
        shl     $13, %eax
        xor     %eax, %ebx
        mov     %ebx, %eax
        shr     $17, %eax
        xor     %eax, %ebx
        mov     %ebx, %eax
        shl     $5, %eax
        xor     %eax, %ebx
        imul    $0x9E3779B1, %ebx, %eax
        add     %eax, %esi
        dec     %ebp
        jnz     1b
        mov     %esi, user_sink
.endm

        USER_LOOP compute
        COMPUTE_LOOP
        USER_END

#ifndef NANO_NATIVE
/* kcompute / kcompute0: the same loop at ring 0, a cdecl function nano.c calls with paging on
 * (kcompute) and off (kcompute0); their native twin is the user-level `compute` of nano-native.
 * RDTSC spans in user_t0/user_t1 as for the ring 3 loops. */
        .globl  kernel_compute
kernel_compute:
        push    %ebp
        push    %ebx
        push    %esi
        push    %edi
        mov     nano_iters, %ebp
        rdtsc
        mov     %eax, user_t0
        mov     %edx, user_t0 + 4
        test    %ebp, %ebp
        jz      9f
        COMPUTE_LOOP
9:      rdtsc
        mov     %eax, user_t1
        mov     %edx, user_t1 + 4
        pop     %edi
        pop     %esi
        pop     %ebx
        pop     %ebp
        ret
#endif

/* int 0x80 round trip with the do-nothing call number 0. */
        USER_LOOP syscall
        .balign 16
1:      xor     %eax, %eax
        int     $0x80
        dec     %ebp
        jnz     1b
        USER_END

/* SYSENTER / SYSEXIT round trip: SYSEXIT returns to %edx with %esp = %ecx. */
        USER_LOOP sysenter
        .balign 16
1:      mov     %esp, %ecx
        mov     $2f, %edx
        sysenter
2:      dec     %ebp
        jnz     1b
        USER_END

/* pushf; popf in ring 3 with IOPL 0 (popf leaves IF and IOPL alone there, SDM Vol. 2B POPF). */
        USER_LOOP pushfpopf
        .balign 16
1:      pushf
        popf
        dec     %ebp
        jnz     1b
        USER_END

        USER_LOOP callret
        .balign 16
1:      call    2f
        dec     %ebp
        jnz     1b
        jmp     9f
2:      ret
        USER_END

/* Touches two not-present pages in turn: each touch faults, the kernel maps that page and
 * unmaps the other (nano_trap), so every iteration is one user #PF resolved by the kernel. */
        USER_LOOP pgfault
        mov     $0x700000, %esi
        .balign 16
1:      mov     (%esi), %eax
        xor     $0x1000, %esi
        dec     %ebp
        jnz     1b
        USER_END

        .data
        .balign 4
        .globl  user_sink
user_sink:
        .long   0

        .section .note.GNU-stack, "", @progbits
