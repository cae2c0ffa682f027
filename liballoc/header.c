/* header.c - the out-of-line half of header.h: full validation with a precise
 * verdict, used when the inline quick test fails and by the slow paths
 * (large free, usable_size, aligned frees). Pure functions of the header
 * bytes; no state, callable from any thread. */
#include "header.h"

/* Rotate-left by 47 as a constant expression, for the templates. */
#define HEADER_ROTL47(x) ((((uint64_t)(x)) << 47) | (((uint64_t)(x)) >> 17))
#define HEADER_TEMPLATE_TAG(index) \
    ((uint64_t)HEADER_MAGIC | ((uint64_t)HEADER_KIND_SMALL << 32) | \
     ((uint64_t)(index) << HEADER_CLASS_SHIFT) | ((uint64_t)HEADER_STATE_LIVE << HEADER_STATE_SHIFT))

enum header_class_index {
#define HEADER_CLASS_INDEX(name, payload) HEADER_INDEX_##name,
    SIZE_CLASS_LIST(HEADER_CLASS_INDEX)
#undef HEADER_CLASS_INDEX
};

const struct header_template header_templates[HEADER_TEMPLATE_SLOTS] = {
#define HEADER_TEMPLATE(name, payload)                                              \
    {HEADER_TEMPLATE_TAG(HEADER_INDEX_##name), payload,                             \
     (HEADER_TEMPLATE_TAG(HEADER_INDEX_##name) & ~HEADER_STATE_MASK) ^ HEADER_ROTL47(payload)},
    SIZE_CLASS_LIST(HEADER_TEMPLATE)
#undef HEADER_TEMPLATE
};

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
        if (h->class_index >= SIZE_CLASS_COUNT)
            return HEADER_BAD_CLASS;
        size_t payload = size_class_payload(h->class_index);
        if (h->offset_bytes >= payload || h->usable_bytes != payload - h->offset_bytes)
            return HEADER_BAD_SIZE;
        return HEADER_OK;
    }
    if (h->kind == HEADER_KIND_LARGE)
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
