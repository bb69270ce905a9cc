/* CPUID: the interpreter answers from the VM's CPU model (--cpu, include/ringfold/cpu_model.h),
 * the same model every engine reports; a CPU without a VM model gets the default model. */
#include "sys_cpuid.h"
#include "sys_priv.h"

void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    const struct cpu_model *m = cpu->vm ? cpu->vm->cpu : NULL;
    cpu_model_cpuid(m ? m : cpu_model_find(NULL), leaf, sub, out);
    if (leaf == 1 && cpu->vm)
        out[3] &= ~cpu->vm->cpuid1_edx_hide;
}
