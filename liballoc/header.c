/* header.c - the out-of-line half of header.h: full validation with a precise
 * verdict, used when the inline quick test fails and by the slow paths
 * (large free, usable_size, aligned frees). Pure functions of the header
 * bytes; no state, callable from any thread. */
#include "header.h"

#include <sys/auxv.h>

struct header_template header_templates[HEADER_TEMPLATE_SLOTS];
uint64_t header_canary_key;

void header_templates_build(void)
{
    if (header_canary_key == 0) {
        /* 16 random bytes the kernel gives every process: no syscall, no
         * malloc. Their second half, since glibc's stack guard uses the
         * first. */
        const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
        uint64_t key = 0x6a09e667f3bcc909ull;
        if (random != NULL)
            __builtin_memcpy(&key, random + 8, sizeof key);
        header_canary_key = key | 1;
    }
    for (unsigned cls = 0; cls < HEADER_TEMPLATE_SLOTS; cls++) {
        struct header_template *t = &header_templates[cls];
        if (cls >= size_class_count()) {
            *t = (struct header_template){0}; /* tag 0 matches no header */
            continue;
        }
        t->tag = header_make_tag(HEADER_KIND_SMALL, cls, HEADER_STATE_LIVE);
        t->freed_tag = header_make_tag(HEADER_KIND_SMALL, cls, HEADER_STATE_FREED);
        t->usable_bytes = size_class_payload(cls);
        t->partial = header_checksum_partial(t->tag, t->usable_bytes, 0);
    }
}

header_verdict_t header_validate(const header_t *h)
{
    if (h->magic != HEADER_MAGIC)
        return HEADER_BAD_MAGIC;
    if (h->checksum != header_checksum(h))
        return HEADER_BAD_CHECKSUM;
    if (h->state == HEADER_STATE_FREED)
        return HEADER_DOUBLE_FREE;
    if (h->state != HEADER_STATE_LIVE)
        return HEADER_BAD_CHECKSUM; /* unknown state with a valid checksum: forged */
    if (h->requested_bytes == 0 || h->requested_bytes > h->usable_bytes)
        return HEADER_BAD_SIZE;
    if (h->offset_bytes % ORTHO_HEADER_SIZE != 0)
        return HEADER_BAD_SIZE;
    if (h->kind == HEADER_KIND_SMALL) {
        if (h->class_index >= size_class_count())
            return HEADER_BAD_CLASS;
        size_t payload = size_class_payload(h->class_index);
        if (h->offset_bytes >= payload || h->usable_bytes != payload - h->offset_bytes)
            return HEADER_BAD_SIZE;
        return HEADER_OK;
    }
    if (h->kind == HEADER_KIND_LARGE || h->kind == HEADER_KIND_GUARDED)
        return h->class_index == HEADER_CLASS_LARGE ? HEADER_OK : HEADER_BAD_CLASS;
    return HEADER_BAD_CLASS;
}

const char *header_verdict_name(header_verdict_t verdict)
{
    switch (verdict) {
    case HEADER_OK: return "ok";
    case HEADER_BAD_MAGIC: return "bad_magic";
    case HEADER_BAD_CHECKSUM: return "bad_checksum";
    case HEADER_BAD_SIZE: return "bad_size";
    case HEADER_BAD_CLASS: return "bad_class";
    case HEADER_DOUBLE_FREE: return "double_free";
    }
    return "unknown";
}

ortho_status_t header_verdict_status(header_verdict_t verdict)
{
    switch (verdict) {
    case HEADER_OK: return ORTHO_OK;
    case HEADER_DOUBLE_FREE: return ORTHO_E_DOUBLE_FREE;
    case HEADER_BAD_MAGIC:
    case HEADER_BAD_CHECKSUM:
    case HEADER_BAD_SIZE:
    case HEADER_BAD_CLASS: break;
    }
    return ORTHO_E_CORRUPT;
}
