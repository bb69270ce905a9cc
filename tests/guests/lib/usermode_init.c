/* Installs the DPL-3 gate user_run returns through. */
#include "usermode.h"
#include "desc.h"

extern char user_return_isr[];

void user_init(void)
{
    desc_set_gate(USER_RETURN_VEC, (uint32_t)user_return_isr, SEL_KCODE, GATE_INT32 | GATE_DPL3);
}
