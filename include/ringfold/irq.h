/* Interrupt lines: how a device signals an interrupt without knowing who receives it. */
#ifndef RINGFOLD_IRQ_H
#define RINGFOLD_IRQ_H

typedef void (*irq_set_fn)(void *opaque, int line, int level);

struct irq_line {
    irq_set_fn set;   /* NULL: not connected */
    void *opaque;
    int line;
};

static inline void irq_set_level(const struct irq_line *l, int level)
{
    if (l->set)
        l->set(l->opaque, l->line, level);
}

static inline void irq_pulse(const struct irq_line *l)
{
    irq_set_level(l, 1);
    irq_set_level(l, 0);
}

#endif
