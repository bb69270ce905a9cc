/* The A20 gate: with it off, physical address bit 20 is forced to 0 for every CPU access, so
 * 0x100500 aliases 0x000500 (reads and writes); port 0x92 bit 1 and the i8042 output port bit 1
 * (command 0xD1) each switch it, and with both off it stays off. The kernel runs at 1 MiB, which
 * itself aliases with A20 off, so the probe is a position-independent routine copied below
 * 1 MiB that uses no stack while the gate is closed and stores its observations in low memory. */
#include "systest.h"

#define LOW_CODE 0x20000u       /* where the probe routine runs (below 1 MiB, free RAM) */
#define LOW_RES  0x21000u       /* its results, one dword per observation */
#define LO_ADDR  0x000500u
#define HI_ADDR  0x100500u      /* LO_ADDR | bit 20 (inside the kernel: saved and restored) */

/* i8042: wait for the input buffer to drain, then write the output port with the byte. */
#define KBD_OUT(byte) \
    "1: inb $0x64, %al\n\ttestb $2, %al\n\tjnz 1b\n\t" \
    "movb $0xd1, %al\n\toutb %al, $0x64\n\t" \
    "1: inb $0x64, %al\n\ttestb $2, %al\n\tjnz 1b\n\t" \
    "movb $" #byte ", %al\n\toutb %al, $0x60\n\t" \
    "1: inb $0x64, %al\n\ttestb $2, %al\n\tjnz 1b\n\t"
#define P92_OFF "inb $0x92, %al\n\tandb $0xfc, %al\n\toutb %al, $0x92\n\t"
#define P92_ON  "inb $0x92, %al\n\tandb $0xfc, %al\n\torb $2, %al\n\toutb %al, $0x92\n\t"
#define SAVE(addr, slot) "movl " #addr ", %eax\n\tmovl %eax, 0x21000 + 4 * " #slot "\n\t"

/* Entered and left with A20 on (i8042 bit 1 set, port 0x92 bit 1 clear, as at boot): each
 * toggle below is made with the other source already off, so the OR rule of PS/2 chipsets and
 * a last-write-wins model (QEMU) agree on the result. */
__asm__(".text\n"
        ".globl a20_probe, a20_probe_end\n"
        "a20_probe:\n\t"
        "pushl %esi\n\tpushl %edi\n\t"
        "movl 0x500, %esi\n\tmovl 0x100500, %edi\n\t"
        "movl $0x11111111, 0x500\n\tmovl $0x22222222, 0x100500\n\t"
        P92_OFF KBD_OUT(0xdd)                                /* both off */
        SAVE(0x100500, 0) SAVE(0x500, 1)
        "movl $0x33333333, 0x100500\n\t" SAVE(0x500, 2)    /* a write aliases too */
        "movl $0x11111111, 0x500\n\t"
        P92_ON                                               /* port 0x92 on */
        SAVE(0x100500, 3) SAVE(0x500, 4)
        "inb $0x92, %al\n\tmovzbl %al, %eax\n\tmovl %eax, 0x21000 + 4 * 5\n\t"
        P92_OFF                                              /* port 0x92 off again */
        SAVE(0x100500, 6)
        "movl $0x44444444, 0x100500\n\t" SAVE(0x500, 7)
        "movl $0x11111111, 0x500\n\t"
        KBD_OUT(0xdf)                                        /* i8042 on */
        SAVE(0x100500, 8) SAVE(0x500, 9)
        /* i8042 command 0xD0: read the output port (bounded wait for the byte) */
        "1: inb $0x64, %al\n\ttestb $2, %al\n\tjnz 1b\n\t"
        "movb $0xd0, %al\n\toutb %al, $0x64\n\t"
        "movl $1000000, %ecx\n"
        "2: inb $0x64, %al\n\ttestb $1, %al\n\tjnz 3f\n\tloop 2b\n"
        "3: inb $0x60, %al\n\tmovzbl %al, %eax\n\tmovl %eax, 0x21000 + 4 * 10\n\t"
        "movl %esi, 0x500\n\tmovl %edi, 0x100500\n\t"
        "popl %edi\n\tpopl %esi\n\t"
        "ret\n"
        "a20_probe_end:\n");

extern const uint8_t a20_probe[], a20_probe_end[];

/* A pointer to a fixed physical address (hidden from GCC, which treats low constant addresses
 * as out of bounds of any object). */
static volatile uint32_t *phys32(uintptr_t a)
{
    __asm__("" : "+r"(a));
    return (volatile uint32_t *)a;
}

static void expect(unsigned slot, uint32_t want, const char *what)
{
    uint32_t got = phys32(LOW_RES)[slot];
    guest_check(got == want, "%s: read %#010x, expected %#010x", what, got, want);
    guest_printf("ok: %s (%#010x)\n", what, got);
}

void guest_main(void)
{
    if (guest_is_native()) {
        guest_puts("native: no A20 gate to test\n");
        return;
    }
    volatile uint8_t *dst = (volatile uint8_t *)(uintptr_t)LOW_CODE;
    for (const uint8_t *p = a20_probe; p < a20_probe_end; p++)
        *dst++ = *p;
    volatile uint32_t *res = phys32(LOW_RES);
    for (int k = 0; k < 11; k++)
        res[k] = 0xdeadbeef;
    uint32_t lo = *phys32(LO_ADDR);
    uint32_t hi = *phys32(HI_ADDR);

    ((void (*)(void))(uintptr_t)LOW_CODE)();

    expect(0, 0x11111111, "A20 off (both): 0x100500 reads 0x000500");
    expect(1, 0x11111111, "A20 off (both): 0x000500 unchanged");
    expect(2, 0x33333333, "A20 off (both): a write to 0x100500 lands at 0x000500");
    expect(3, 0x22222222, "A20 on (port 0x92): 0x100500 distinct");
    expect(4, 0x11111111, "A20 on (port 0x92): 0x000500 distinct");
    uint32_t p92 = res[5];
    guest_check(p92 & 2, "port 0x92 reads %#x, bit 1 not set", p92);
    expect(6, 0x11111111, "A20 off (port 0x92 cleared): 0x100500 aliases");
    expect(7, 0x44444444, "A20 off (port 0x92 cleared): a write aliases");
    expect(8, 0x22222222, "A20 on (i8042 0xDF): 0x100500 distinct");
    expect(9, 0x11111111, "A20 on (i8042 0xDF): 0x000500 distinct");
    guest_check(res[10] & 2, "i8042 output port reads %#x, A20 bit not set", res[10]);
    guest_check(*phys32(LO_ADDR) == lo &&
                *phys32(HI_ADDR) == hi, "originals not restored");
    guest_puts("a20: all checks passed\n");
}
