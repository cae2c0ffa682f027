/* ortho_bench.c - ortho-bench, the allocator micro-benchmark: parses the
 * command line, picks the API (--api ortho calls liborthotope directly,
 * --api malloc calls aligned_alloc/free so LD_PRELOAD decides who serves
 * it), and for each named workload calibrates and warms up untimed, runs K
 * timed samples, then prints one machine-readable line: the median, min and
 * max ns per op, the process's peak RSS so far, and which shared object
 * served the allocations. Samples are timed, not counted: calibration
 * doubles a run (a "chunk" of ops) until one run takes at least
 * 1/BENCH_CHUNK_DIVISOR of a sample, and a sample repeats chunks until it
 * holds a sample's worth of time, so a fast allocator gets as long a sample
 * as a slow one (--ops N instead fixes the ops per sample). Peak RSS is per process, so run one
 * workload per process for per-workload figures (bench/run_bench.py does).
 * Single-threaded except inside the multi-thread workloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_api.h"
#include "measure.h"
#include "workloads.h"

/* Timed samples per workload when --samples is not given. */
#define BENCH_DEFAULT_SAMPLES 7
/* Upper bound on --samples, so the sample array can live on the stack. */
#define BENCH_MAX_SAMPLES 101
/* Work in one timed sample, in ms, when --sample-ms is not given: long
 * enough that a scheduler hiccup on a busy 2-core machine is a small part
 * of it, short enough that 7 samples of 11 workloads under 6 allocators
 * (one process each) take a few minutes. */
#define BENCH_DEFAULT_SAMPLE_MS 200
/* --quick: samples of this many ms (smoke runs). */
#define BENCH_QUICK_SAMPLE_MS 10
/* Upper bound on --sample-ms (one minute). */
#define BENCH_MAX_SAMPLE_MS 60000
#define BENCH_NS_PER_MS UINT64_C(1000000)
/* A calibrated chunk takes at least a sample / BENCH_CHUNK_DIVISOR: long
 * enough that the clock reads and, for threaded workloads, the barrier
 * release (tens of us) are noise, while a sample still holds many chunks. */
#define BENCH_CHUNK_DIVISOR 20
/* Warm-up (calibration included) lasts at least a sample /
 * BENCH_WARMUP_DIVISOR: enough to fill thread caches, pools and retained
 * mappings and fault in the live set before timing. With --ops the warm-up
 * is one run of ops / BENCH_WARMUP_DIVISOR. */
#define BENCH_WARMUP_DIVISOR 4

struct bench_options {
    unsigned samples;         /* timed samples per workload */
    uint64_t fixed_ops;       /* ops per sample (--ops), 0: timed samples */
    uint64_t sample_ns;       /* work per timed sample, ns */
    const char *api_name;     /* "ortho" or "malloc" */
};

/* One sample's result. */
struct bench_sample {
    uint64_t elapsed_ns; /* wall time of its runs */
    uint64_t ops;        /* ops they did */
};

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: ortho-bench [--api ortho|malloc] [--samples K] [--sample-ms MS | --ops N]\n"
            "                   [--quick] WORKLOAD...\n"
            "       ortho-bench --list\n"
            "  --api ortho   call ortho_alloc/ortho_free (default)\n"
            "  --api malloc  call aligned_alloc(64, n rounded up to 64)/free; pick the\n"
            "                allocator with LD_PRELOAD\n"
            "  --samples K   timed samples per workload (default %d); the median is reported\n"
            "  --sample-ms MS  work per sample in ms (default %d); the op count adapts\n"
            "  --ops N       exactly N ops per sample instead (reproducible op counts)\n"
            "  --quick       %d ms samples, for smoke runs\n"
            "  --list        print the workload names, one per line\n"
            "Output, one line per workload: result workload=NAME api=API provider=PATH op=UNIT\n"
            "  ns_per_op=MEDIAN min_ns_per_op=MIN max_ns_per_op=MAX samples=K\n"
            "  ops_per_sample=N (mean) peak_rss_kib=KIB\n",
            BENCH_DEFAULT_SAMPLES, BENCH_DEFAULT_SAMPLE_MS, BENCH_QUICK_SAMPLE_MS);
}

static int bench_compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Parses an unsigned decimal number in [1, max]; returns 0 if invalid. */
static uint64_t bench_parse_count(const char *text, uint64_t max)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0' || text[0] == '-' || value == 0 || value > max)
        return 0;
    return value;
}

/* Calibrates and warms up: returns the chunk of ops each timed run will
 * use. With --ops: one run of a quarter of it, and the fixed count. */
static uint64_t bench_warm_up(const struct workload *w, void *state,
                              const struct bench_options *opt)
{
    if (opt->fixed_ops != 0) {
        uint64_t warm_ops = opt->fixed_ops / BENCH_WARMUP_DIVISOR;
        w->run_ns(state, warm_ops ? warm_ops : 1);
        return opt->fixed_ops;
    }
    const uint64_t chunk_min_ns = opt->sample_ns / BENCH_CHUNK_DIVISOR;
    const uint64_t warm_ns = opt->sample_ns / BENCH_WARMUP_DIVISOR;
    uint64_t chunk = w->first_chunk_ops;
    uint64_t spent_ns = 0;
    for (;;) {
        uint64_t run_ns = w->run_ns(state, chunk);
        spent_ns += run_ns;
        if (run_ns < chunk_min_ns)
            chunk *= 2;
        else if (spent_ns >= warm_ns)
            return chunk;
    }
}

/* One timed sample: chunks until a sample's worth of time (or exactly the
 * fixed ops). */
static struct bench_sample bench_take_sample(const struct workload *w, void *state,
                                             const struct bench_options *opt, uint64_t chunk)
{
    struct bench_sample sample = {0, 0};
    do {
        sample.elapsed_ns += w->run_ns(state, chunk);
        sample.ops += chunk;
    } while (opt->fixed_ops == 0 && sample.elapsed_ns < opt->sample_ns);
    return sample;
}

/* Runs one workload and prints its result line. Returns 0, or -1 if its
 * setup failed (the message is already on stderr). */
static int bench_run_workload(const struct workload *w, const struct bench_options *opt,
                              const char *provider)
{
    double ns_per_op[BENCH_MAX_SAMPLES];
    uint64_t ops_total = 0;

    void *state = w->setup(w);
    if (state == NULL)
        return -1;
    uint64_t chunk = bench_warm_up(w, state, opt);
    for (unsigned k = 0; k < opt->samples; k++) {
        struct bench_sample sample = bench_take_sample(w, state, opt, chunk);
        ns_per_op[k] = (double)sample.elapsed_ns / (double)sample.ops;
        ops_total += sample.ops;
    }
    w->teardown(state);

    qsort(ns_per_op, opt->samples, sizeof ns_per_op[0], bench_compare_double);
    unsigned n = opt->samples;
    double median = n % 2 ? ns_per_op[n / 2] : (ns_per_op[n / 2 - 1] + ns_per_op[n / 2]) / 2;
    printf("result workload=%s api=%s provider=%s op=%s ns_per_op=%.3f min_ns_per_op=%.3f "
           "max_ns_per_op=%.3f samples=%u ops_per_sample=%llu peak_rss_kib=%ld\n",
           w->name, opt->api_name, provider, w->op_unit, median, ns_per_op[0], ns_per_op[n - 1],
           n, (unsigned long long)(ops_total / n), measure_peak_rss_kib());
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_options opt = {BENCH_DEFAULT_SAMPLES, 0,
                                BENCH_DEFAULT_SAMPLE_MS * BENCH_NS_PER_MS, "ortho"};
    int first_workload = argc;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--list") == 0) {
            for (size_t w = 0; w < workloads_count; w++)
                printf("%s\n", workloads_table[w].name);
            return EXIT_SUCCESS;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            bench_usage(stdout);
            return EXIT_SUCCESS;
        } else if (strcmp(arg, "--quick") == 0) {
            opt.sample_ns = BENCH_QUICK_SAMPLE_MS * BENCH_NS_PER_MS;
        } else if (strcmp(arg, "--sample-ms") == 0 && value != NULL) {
            uint64_t sample_ms = bench_parse_count(value, BENCH_MAX_SAMPLE_MS);
            if (sample_ms == 0) {
                fprintf(stderr, "ortho-bench: --sample-ms %s is not a count in 1..%d; "
                        "write e.g. --sample-ms 200\n", value, BENCH_MAX_SAMPLE_MS);
                return EXIT_FAILURE;
            }
            opt.sample_ns = sample_ms * BENCH_NS_PER_MS;
            i++;
        } else if (strcmp(arg, "--api") == 0 && value != NULL) {
            opt.api_name = value;
            i++;
        } else if (strcmp(arg, "--samples") == 0 && value != NULL) {
            opt.samples = (unsigned)bench_parse_count(value, BENCH_MAX_SAMPLES);
            if (opt.samples == 0) {
                fprintf(stderr, "ortho-bench: --samples %s is not a count in 1..%d; "
                        "write e.g. --samples 7\n", value, BENCH_MAX_SAMPLES);
                return EXIT_FAILURE;
            }
            i++;
        } else if (strcmp(arg, "--ops") == 0 && value != NULL) {
            opt.fixed_ops = bench_parse_count(value, UINT64_MAX);
            if (opt.fixed_ops == 0) {
                fprintf(stderr, "ortho-bench: --ops %s is not a positive count; "
                        "write e.g. --ops 100000\n", value);
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
        fprintf(stderr, "ortho-bench: --api %s is not an API; write --api ortho or --api malloc\n",
                opt.api_name);
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
        if (bench_run_workload(workloads_find(argv[i]), &opt, provider) != 0)
            return EXIT_FAILURE;
    return EXIT_SUCCESS;
}
