/* bench_api.c - owns bench_api_state (which entry point the workloads call,
 * and the per-sample instance of ortho-cache) and answers "which shared
 * object is really serving it?". That question matters: this program links
 * liborthotope.so, which exports malloc, so a wrong link order would
 * silently measure orthotope under the name "glibc". The driver checks the
 * provider of every run. Under malloc and memalign nothing here names an
 * ortho_* symbol on the timed path. */
#define _GNU_SOURCE
#include "bench_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

struct bench_api bench_api_state = {BENCH_API_ORTHO, NULL};

/* Entry points by name, with the symbols that serve each: the allocating
 * half and the freeing half must come from the same object. */
static const struct {
    const char *name;
    enum bench_api_kind kind;
    const char *alloc_symbol;
    const char *free_symbol;
} bench_api_entries[] = {
    {"ortho", BENCH_API_ORTHO, "ortho_alloc", "ortho_free"},
    {"ortho-cache", BENCH_API_ORTHO_CACHE, "ortho_cache_alloc", "ortho_cache_free_sized"},
    {"malloc", BENCH_API_MALLOC, "malloc", "free"},
    {"memalign", BENCH_API_MEMALIGN, "posix_memalign", "free"},
};
#define BENCH_API_ENTRY_COUNT (sizeof bench_api_entries / sizeof bench_api_entries[0])

int bench_api_select(const char *name)
{
    for (size_t i = 0; i < BENCH_API_ENTRY_COUNT; i++) {
        if (strcmp(bench_api_entries[i].name, name) == 0) {
            bench_api_state.kind = bench_api_entries[i].kind;
            return 0;
        }
    }
    return -1;
}

const char *bench_api_name(void)
{
    for (size_t i = 0; i < BENCH_API_ENTRY_COUNT; i++)
        if (bench_api_entries[i].kind == bench_api_state.kind)
            return bench_api_entries[i].name;
    return "?";
}

/* Path of the object defining `symbol` as the global lookup scope resolves
 * it (the same resolution the PLT uses), or NULL. */
static const char *bench_api_object_of(const char *symbol)
{
    Dl_info info;
    void *address = dlsym(RTLD_DEFAULT, symbol);
    if (address == NULL || dladdr(address, &info) == 0 || info.dli_fname == NULL)
        return NULL;
    return info.dli_fname;
}

const char *bench_api_provider(const char **why)
{
    *why = NULL;
    for (size_t i = 0; i < BENCH_API_ENTRY_COUNT; i++) {
        if (bench_api_entries[i].kind != bench_api_state.kind)
            continue;
        const char *alloc_object = bench_api_object_of(bench_api_entries[i].alloc_symbol);
        const char *free_object = bench_api_object_of(bench_api_entries[i].free_symbol);
        if (alloc_object == NULL || free_object == NULL) {
            *why = "its allocating or freeing function is not resolvable";
            return NULL;
        }
        if (strcmp(alloc_object, free_object) != 0) {
            *why = "its allocating and freeing functions come from different objects";
            return NULL;
        }
        return alloc_object;
    }
    *why = "no entry point selected";
    return NULL;
}

void bench_api_sample_begin(void)
{
    if (bench_api_state.kind != BENCH_API_ORTHO_CACHE)
        return;
    ortho_status_t status = ortho_allocator_create(NULL, &bench_api_state.instance);
    if (status != ORTHO_OK) {
        fprintf(stderr, "ortho-bench: cannot create an orthotope instance for the sample (%s); "
                "check ORTHO_* settings and the address-space limit (ulimit -v)\n",
                ortho_strerror(status));
        abort();
    }
}

void bench_api_sample_end(void)
{
    if (bench_api_state.instance == NULL)
        return;
    ortho_status_t status = ortho_allocator_destroy(bench_api_state.instance);
    if (status != ORTHO_OK) {
        fprintf(stderr, "ortho-bench: cannot destroy the sample's orthotope instance (%s); "
                "a thread's cache was left open, a bench bug\n", ortho_strerror(status));
        abort();
    }
    bench_api_state.instance = NULL;
}

void bench_api_route_open(struct bench_route *route)
{
    route->cache = NULL;
    if (bench_api_state.kind != BENCH_API_ORTHO_CACHE)
        return;
    ortho_status_t status = ortho_cache_create(bench_api_state.instance, &route->cache);
    if (status != ORTHO_OK) {
        fprintf(stderr, "ortho-bench: cannot create a thread cache on the sample's instance "
                "(%s)\n", ortho_strerror(status));
        abort();
    }
}

void bench_api_route_close(struct bench_route *route)
{
    if (route->cache != NULL)
        ortho_cache_destroy(route->cache);
    route->cache = NULL;
}

void bench_api_fail_alloc(size_t size_bytes, const void *p)
{
    if (p == NULL)
        fprintf(stderr, "ortho-bench: %s allocation of %zu bytes returned NULL; "
                "the allocator ran out of memory or refused the request\n",
                bench_api_name(), size_bytes);
    else
        fprintf(stderr, "ortho-bench: %s allocation of %zu bytes returned %p, which is not "
                "%zu-byte aligned; the allocator breaks its alignment contract\n",
                bench_api_name(), size_bytes, p, BENCH_ALIGN_BYTES);
    abort();
}

void bench_api_fail_free(const void *p, int status)
{
    fprintf(stderr, "ortho-bench: %s refused %p, a block the benchmark allocated "
            "(%s: %s); this is an orthotope bug, report it\n",
            bench_api_name(), p, ortho_status_name((ortho_status_t)status),
            ortho_strerror((ortho_status_t)status));
    abort();
}
