/* compiler.h - the few compiler attributes the allocator leans on, named once
 * so the fast paths read as plain C. GCC and Clang only (the allocator relies
 * on initial-exec TLS and constructor attributes anyway). */
#ifndef ORTHO_COMPILER_H
#define ORTHO_COMPILER_H

#define ORTHO_LIKELY(x) __builtin_expect(!!(x), 1)
#define ORTHO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ORTHO_NOINLINE __attribute__((noinline))
#define ORTHO_COLD __attribute__((cold, noinline))
#define ORTHO_INLINE static inline __attribute__((always_inline))
/* Thread-locals of a preloaded library must live in the static TLS block:
 * the dynamic model would call malloc (through __tls_get_addr) to make them. */
#define ORTHO_TLS __thread __attribute__((tls_model("initial-exec")))
#define ORTHO_EXPORT __attribute__((visibility("default")))
/* For extern declarations of internal data: -fvisibility=hidden covers
 * definitions only, so without this a shared-library build reaches e.g.
 * size_class_table through the GOT on every allocation. */
#define ORTHO_HIDDEN __attribute__((visibility("hidden")))
/* A macro's value as a string literal ("96" for ORTHO_CLASS_MAX). */
#define ORTHO_STRINGIFY_TEXT(x) #x
#define ORTHO_STRINGIFY(x) ORTHO_STRINGIFY_TEXT(x)

#endif
