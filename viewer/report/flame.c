/* flame.c - see flame.h. The stacks come one at a time from the database
 * (model_each_stack); the tree keeps only its merged paths. Nodes live in
 * one growing array and refer to each other by index, so growing it never
 * invalidates a link. A child is found by a walk of its parent's sibling
 * list: fan-out is small where the tree is wide, so no hash table earns its
 * place. */
#include "flame.h"

#include <stdlib.h>
#include <string.h>

#include "report_mem.h"

static size_t flame_child(struct flame *f, size_t parent, const char *name)
{
    for (size_t c = f->nodes[parent].first_child; c != FLAME_NONE; c = f->nodes[c].next_sibling) {
        if (strcmp(f->nodes[c].name, name) == 0)
            return c;
    }
    mem_push((void **)&f->nodes, f->count, sizeof *f->nodes);
    size_t i = f->count++;
    /* Insert in name order: the layout is then stable from run to run. */
    size_t *link = &f->nodes[parent].first_child;
    while (*link != FLAME_NONE && strcmp(f->nodes[*link].name, name) < 0)
        link = &f->nodes[*link].next_sibling;
    f->nodes[i] = (struct flame_node){.name = mem_strdup(name),
                                      .depth = f->nodes[parent].depth + 1,
                                      .parent = parent,
                                      .first_child = FLAME_NONE,
                                      .next_sibling = *link};
    *link = i;
    if (f->nodes[i].depth > f->max_depth)
        f->max_depth = f->nodes[i].depth;
    return i;
}

struct flame_build {
    struct flame *f;
    const struct model *m;
    bool per_process;  /* a root frame per process */
};

/* Adds one stack (model_each_stack) to the tree. */
static void flame_add(const struct model_stack_site *s, const struct model_stack *st, void *ctx)
{
    struct flame_build *b = ctx;
    struct flame *f = b->f;
    char buf[256];
    double w = weight_of(b->m, s, f->kind);
    if (!(w > 0))
        return;
    f->stacks++;
    size_t at = 0;
    f->nodes[0].value += w;
    if (b->per_process) {
        const struct model_process *p = model_process(b->m, s->process_id);
        at = flame_child(f, at, p ? weight_process_name(p, buf, sizeof buf) : "?");
        f->nodes[at].value += w;
    }
    if (st == NULL || st->frame_count == 0) {
        at = flame_child(f, at, WEIGHT_NO_STACK);
        f->nodes[at].value += w;
    } else {
        for (size_t level = st->frame_count; level-- > 0;) {
            at = flame_child(f, at, weight_frame_name(&st->frames[level], buf, sizeof buf));
            f->nodes[at].value += w;
        }
    }
    f->nodes[at].self += w;
}

void flame_build(struct flame *f, const struct model *m, enum weight_kind kind)
{
    *f = (struct flame){.kind = kind};
    mem_push((void **)&f->nodes, 0, sizeof *f->nodes);
    f->nodes[0] = (struct flame_node){.name = mem_strdup("all"), .parent = FLAME_NONE,
                                      .first_child = FLAME_NONE, .next_sibling = FLAME_NONE};
    f->count = 1;
    struct flame_build b = {f, m, weight_process_count(m, kind) > 1};
    model_each_stack(m, flame_add, &b);
}

void flame_free(struct flame *f)
{
    for (size_t i = 0; i < f->count; i++)
        free(f->nodes[i].name);
    free(f->nodes);
    *f = (struct flame){0};
}
