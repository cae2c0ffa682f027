/* ortho_bench.c - ortho-bench, the allocator micro-benchmark: parses the
 * command line, picks the entry point (--api: ortho, ortho-cache, malloc or
 * memalign; see bench_api.h), and measures each named workload the way the
 * Rust crate's bench does (its measure()): WARMUP_SAMPLES untimed samples,
 * then MEASURE_SAMPLES timed ones, each running the workload's fixed
 * iteration count; the figure is the median sample's time / iterations, in
 * the workload's unit (ns or us). One machine-readable line per workload,
 * with every sample's figure, so the driver can pool or re-sort them. Peak
 * RSS is per process, so run one workload per process for per-workload
 * figures (bench/run_bench.py does). Single-threaded except inside the
 * multi-thread workloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_api.h"
#include "measure.h"
#include "workloads.h"

/* WARMUP_SAMPLES and MEASURE_SAMPLES of the crate's bench/src/lib.rs. */
#define BENCH_WARMUP_SAMPLES 3
#define BENCH_MEASURE_SAMPLES 9
/* Upper bound on --samples, so the samples can live on the stack. */
#define BENCH_MAX_SAMPLES 101
/* --smoke: every workload at 1/BENCH_SMOKE_DIVISOR of its iterations (at
 * least BENCH_SMOKE_MIN_ITERATIONS), one warm-up and one sample: proves the
 * program builds and runs, in milliseconds. */
#define BENCH_SMOKE_DIVISOR 1000
#define BENCH_SMOKE_MIN_ITERATIONS 8
#define BENCH_NS_PER_US 1000.0

struct bench_options {
    unsigned warmup;          /* untimed samples per workload */
    unsigned samples;         /* timed samples per workload */
    uint64_t iterations;      /* iterations per sample (--iterations), 0: the workload's */
    int smoke;                /* --smoke */
    const char *api_name;     /* entry point */
};

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: ortho-bench [--api ortho|ortho-cache|malloc|memalign] [--warmup W]\n"
            "                   [--samples K] [--iterations N | --smoke] WORKLOAD...\n"
            "       ortho-bench --list\n"
            "  --api ortho        ortho_alloc / ortho_free (default)\n"
            "  --api ortho-cache  the crate's route: an instance per sample, a cache per\n"
            "                     thread, ortho_cache_alloc / ortho_cache_free_sized\n"
            "  --api malloc       malloc / free; pick the allocator with LD_PRELOAD\n"
            "  --api memalign     posix_memalign(64) / free; pick it with LD_PRELOAD\n"
            "  --warmup W         untimed samples first (default %d, the crate's)\n"
            "  --samples K        timed samples (default %d, the crate's); the median is reported\n"
            "  --iterations N     iterations per sample instead of the workload's own\n"
            "  --smoke            1/%d of the iterations, 1 warm-up, 1 sample (CI)\n"
            "  --list             print the workloads: name, origin, unit, iterations, per\n"
            "Output, one line per workload: result workload=NAME origin=crate|ours api=API\n"
            "  provider=PATH unit=ns|us median=M min=MIN max=MAX samples=K warmup=W\n"
            "  iterations=N values=V1,V2,... peak_rss_kib=KIB\n"
            "(a figure is a sample's time / N in the unit; `per` in --list says what one\n"
            " iteration is)\n",
            BENCH_WARMUP_SAMPLES, BENCH_MEASURE_SAMPLES, BENCH_SMOKE_DIVISOR);
}

static int bench_compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Parses an unsigned decimal number in [min, max]; returns 0 with *ok 0 if
 * invalid. */
static uint64_t bench_parse_count(const char *text, uint64_t min, uint64_t max, int *ok)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    *ok = !(*text == '\0' || *end != '\0' || text[0] == '-' || value < min || value > max);
    return *ok ? value : 0;
}

/* Iterations of one sample of `w` under the options. */
static uint64_t bench_iterations(const struct workload *w, const struct bench_options *opt)
{
    if (opt->iterations != 0)
        return opt->iterations;
    if (opt->smoke) {
        uint64_t n = w->iterations / BENCH_SMOKE_DIVISOR;
        return n < BENCH_SMOKE_MIN_ITERATIONS ? BENCH_SMOKE_MIN_ITERATIONS : n;
    }
    return w->iterations;
}

/* Measures one workload and prints its result line. */
static void bench_run_workload(const struct workload *w, const struct bench_options *opt,
                               const char *provider)
{
    double figures[BENCH_MAX_SAMPLES];
    double sorted[BENCH_MAX_SAMPLES];
    const uint64_t iterations = bench_iterations(w, opt);
    const double divisor = (double)iterations * (w->unit == WORKLOAD_US ? BENCH_NS_PER_US : 1.0);

    for (unsigned k = 0; k < opt->warmup; k++)
        w->sample_ns(w, iterations);
    for (unsigned k = 0; k < opt->samples; k++)
        figures[k] = (double)w->sample_ns(w, iterations) / divisor;

    unsigned n = opt->samples;
    memcpy(sorted, figures, n * sizeof figures[0]);
    qsort(sorted, n, sizeof sorted[0], bench_compare_double);
    /* samples[len / 2] of the sorted samples, as the crate's measure(). */
    printf("result workload=%s origin=%s api=%s provider=%s unit=%s median=%.4f min=%.4f "
           "max=%.4f samples=%u warmup=%u iterations=%llu values=",
           w->name, w->origin, opt->api_name, provider, workloads_unit_name(w->unit),
           sorted[n / 2], sorted[0], sorted[n - 1], n, opt->warmup,
           (unsigned long long)iterations);
    for (unsigned k = 0; k < n; k++)
        printf("%s%.4f", k ? "," : "", figures[k]);
    printf(" peak_rss_kib=%ld\n", measure_peak_rss_kib());
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct bench_options opt = {BENCH_WARMUP_SAMPLES, BENCH_MEASURE_SAMPLES, 0, 0, "ortho"};
    int first_workload = argc;
    int ok = 1;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--list") == 0) {
            for (size_t k = 0; k < workloads_count; k++) {
                const struct workload *w = &workloads_table[k];
                printf("%s %s %s %llu %s\n", w->name, w->origin, workloads_unit_name(w->unit),
                       (unsigned long long)w->iterations, w->per);
            }
            return EXIT_SUCCESS;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            bench_usage(stdout);
            return EXIT_SUCCESS;
        } else if (strcmp(arg, "--smoke") == 0) {
            opt.smoke = 1;
            opt.warmup = 1;
            opt.samples = 1;
        } else if (strcmp(arg, "--api") == 0 && value != NULL) {
            opt.api_name = value;
            i++;
        } else if (strcmp(arg, "--warmup") == 0 && value != NULL) {
            opt.warmup = (unsigned)bench_parse_count(value, 0, BENCH_MAX_SAMPLES, &ok);
            if (!ok) {
                fprintf(stderr, "ortho-bench: --warmup %s is not a count in 0..%d; "
                        "write e.g. --warmup 3\n", value, BENCH_MAX_SAMPLES);
                return EXIT_FAILURE;
            }
            i++;
        } else if (strcmp(arg, "--samples") == 0 && value != NULL) {
            opt.samples = (unsigned)bench_parse_count(value, 1, BENCH_MAX_SAMPLES, &ok);
            if (!ok) {
                fprintf(stderr, "ortho-bench: --samples %s is not a count in 1..%d; "
                        "write e.g. --samples 9\n", value, BENCH_MAX_SAMPLES);
                return EXIT_FAILURE;
            }
            i++;
        } else if (strcmp(arg, "--iterations") == 0 && value != NULL) {
            opt.iterations = bench_parse_count(value, 1, UINT64_MAX, &ok);
            if (!ok) {
                fprintf(stderr, "ortho-bench: --iterations %s is not a positive count; "
                        "write e.g. --iterations 100000\n", value);
                return EXIT_FAILURE;
            }
            i++;
        } else if (arg[0] == '-') {
            fprintf(stderr, "ortho-bench: unknown option or missing value: %s; see --help\n", arg);
            return EXIT_FAILURE;
        } else {
            first_workload = i;
            break;
        }
    }
    if (first_workload == argc) {
        bench_usage(stderr);
        return EXIT_FAILURE;
    }
    for (int i = first_workload; i < argc; i++) {
        if (argv[i][0] == '-' || workloads_find(argv[i]) == NULL) {
            fprintf(stderr, "ortho-bench: unknown workload \"%s\" (options go before the "
                    "workloads); --list prints the names\n", argv[i]);
            return EXIT_FAILURE;
        }
    }
    if (bench_api_select(opt.api_name) != 0) {
        fprintf(stderr, "ortho-bench: --api %s is not an entry point; write --api ortho, "
                "ortho-cache, malloc or memalign\n", opt.api_name);
        return EXIT_FAILURE;
    }
    const char *why;
    const char *provider = bench_api_provider(&why);
    if (provider == NULL) {
        fprintf(stderr, "ortho-bench: cannot tell which library serves --api %s: %s; "
                "check LD_PRELOAD\n", opt.api_name, why);
        return EXIT_FAILURE;
    }

    for (int i = first_workload; i < argc; i++)
        bench_run_workload(workloads_find(argv[i]), &opt, provider);
    return EXIT_SUCCESS;
}
