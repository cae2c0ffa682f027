/* bench_api.c - owns bench_api_state (which allocator API the workloads
 * call) and answers "which shared object is really serving it?". That
 * question matters: this program links liborthotope.so, which exports
 * malloc, so a wrong link order would silently measure orthotope under the
 * name "glibc". The driver checks the provider of every run. Under --api
 * malloc nothing here names an ortho_* symbol. */
#define _GNU_SOURCE
#include "bench_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

struct bench_api bench_api_state = {BENCH_API_ORTHO};

int bench_api_select(const char *name)
{
    if (strcmp(name, "ortho") == 0)
        bench_api_state.kind = BENCH_API_ORTHO;
    else if (strcmp(name, "malloc") == 0)
        bench_api_state.kind = BENCH_API_MALLOC;
    else
        return -1;
    return 0;
}

const char *bench_api_name(void)
{
    return bench_api_state.kind == BENCH_API_ORTHO ? "ortho" : "malloc";
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
    if (bench_api_state.kind == BENCH_API_ORTHO) {
        const char *object = bench_api_object_of("ortho_alloc");
        if (object == NULL)
            *why = "ortho_alloc is not resolvable";
        return object;
    }
    const char *alloc_object = bench_api_object_of("aligned_alloc");
    const char *free_object = bench_api_object_of("free");
    if (alloc_object == NULL || free_object == NULL) {
        *why = "aligned_alloc or free is not resolvable";
        return NULL;
    }
    if (strcmp(alloc_object, free_object) != 0) {
        *why = "aligned_alloc and free come from different objects";
        return NULL;
    }
    return alloc_object;
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
    fprintf(stderr, "ortho-bench: ortho_free(%p) refused a block the benchmark allocated "
            "(%s: %s); this is an orthotope bug, report it\n",
            p, ortho_status_name((ortho_status_t)status), ortho_strerror((ortho_status_t)status));
    abort();
}
