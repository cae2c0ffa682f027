/* flame.h - the call tree the flame graph and the folded stacks are drawn
 * from: every stack of the run, outermost frame first, merged by frame name
 * into one tree whose node values are the weights (weights.h) of the stacks
 * through them. With more than one weighted process, each process gets its
 * own root frame under "all", so the tree never mixes two programs' mains. */
#ifndef ORTHO_REPORT_FLAME_H
#define ORTHO_REPORT_FLAME_H

#include <stddef.h>

#include "model.h"
#include "weights.h"

#define FLAME_NONE ((size_t)-1)

struct flame_node {
    char *name;
    double value;        /* weight of every stack through this node */
    double self;         /* weight of stacks ending here */
    size_t depth;        /* 0 for the root "all" */
    size_t parent;       /* FLAME_NONE for the root */
    size_t first_child;  /* FLAME_NONE when a leaf; children sorted by name */
    size_t next_sibling; /* FLAME_NONE at the end */
};

struct flame {
    enum weight_kind kind;
    size_t count;
    struct flame_node *nodes; /* nodes[0] is the root, "all" */
    size_t max_depth;
    size_t stacks;            /* stacks with a non-zero weight */
};

/* Builds the tree of m's stacks under `kind`. */
void flame_build(struct flame *f, const struct model *m, enum weight_kind kind);
void flame_free(struct flame *f);

#endif
