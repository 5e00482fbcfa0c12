// oneDNN's fp32 (and bf16) convolutions for ddp-train (see include/onednn_conv.h).
//
// Each convolution holds one primitive per direction, created for one batch shape with the
// formats oneDNN prefers ("any": blocked, e.g. nChw16c), and reorders between those and the
// caller's (C, B, H, W) activations and (O, I, kH, kW) weights. Every buffer lives in the
// caller's workspace (scratchpad mode "user"): no allocation per call.
#include "onednn_conv.h"
#include "blocked_conversion.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#define DDP_HAVE_DNNL_HEADER 1
#else
#define DDP_HAVE_DNNL_HEADER 0
#endif

#if DDP_HAVE_DNNL_HEADER

// MARK: - Loading

#define DDP_DNNL_FUNCTIONS(X) \
    X(dnnl_version) X(dnnl_get_effective_cpu_isa) X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_destroy) \
    X(dnnl_stream_wait) X(dnnl_memory_desc_init_by_strides) X(dnnl_memory_desc_init_by_tag) \
    X(dnnl_memory_desc_equal) X(dnnl_memory_desc_get_size) X(dnnl_memory_create) X(dnnl_memory_destroy) \
    X(dnnl_memory_set_data_handle) X(dnnl_convolution_forward_desc_init) \
    X(dnnl_convolution_backward_data_desc_init) X(dnnl_convolution_backward_weights_desc_init) \
    X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query) \
    X(dnnl_primitive_desc_query_md) X(dnnl_primitive_create) X(dnnl_primitive_destroy) \
    X(dnnl_primitive_execute) X(dnnl_reorder_primitive_desc_create) X(dnnl_primitive_attr_create) \
    X(dnnl_primitive_attr_destroy) X(dnnl_primitive_attr_set_scratchpad_mode)

#define DDP_DECLARE(name) static __typeof__(name) *p_##name;
DDP_DNNL_FUNCTIONS(DDP_DECLARE)
static void (*p_omp_set_num_threads)(int);
static int (*p_omp_get_thread_num)(void);
static int (*p_omp_get_num_threads)(void);
static int (*p_omp_get_max_threads)(void);
static void (*p_GOMP_parallel)(void (*)(void *), void *, unsigned, unsigned);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char status_text[256] = "oneDNN not loaded";
static dnnl_engine_t engine;
static int bf16_conversion_available;  // the program's bfloat16 conversion can run (see below)

static void load(void) {
    if (getenv("DDP_TRAIN_NO_ONEDNN")) {
        snprintf(status_text, sizeof status_text, "oneDNN off (DDP_TRAIN_NO_ONEDNN is set)");
        return;
    }
    // OpenMP's idle threads spin for a while before they sleep (libgomp's default: 300,000
    // turns); beside the program's own threads that spin takes cores from the work (bench,
    // cnn on two threads: 42-67 ms a step with the default, 35 ms with 10,000). A user's
    // setting stands. libgomp reads these when it loads, with libdnnl, just below.
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) setenv("GOMP_SPINCOUNT", "10000", 1);
    void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(status_text, sizeof status_text, "oneDNN 2.x not found (libdnnl.so.2: %s; Debian: libdnnl2)", dlerror());
        return;
    }
#define DDP_RESOLVE(name) \
    p_##name = (__typeof__(name) *)dlsym(lib, #name); \
    if (!p_##name) { \
        snprintf(status_text, sizeof status_text, "libdnnl.so.2 lacks %s", #name); \
        return; \
    }
    DDP_DNNL_FUNCTIONS(DDP_RESOLVE)
    p_omp_set_num_threads = (void (*)(int))dlsym(lib, "omp_set_num_threads");
    p_omp_get_thread_num = (int (*)(void))dlsym(lib, "omp_get_thread_num");
    p_omp_get_num_threads = (int (*)(void))dlsym(lib, "omp_get_num_threads");
    p_omp_get_max_threads = (int (*)(void))dlsym(lib, "omp_get_max_threads");
    p_GOMP_parallel = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(lib, "GOMP_parallel");
    const dnnl_version_t *v = p_dnnl_version();
    if (v->major != 2) {
        snprintf(status_text, sizeof status_text, "oneDNN %d.%d.%d found, the 2.x API is needed", v->major, v->minor, v->patch);
        return;
    }
    if (p_dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
        snprintf(status_text, sizeof status_text, "oneDNN %d.%d.%d: no CPU engine", v->major, v->minor, v->patch);
        return;
    }
    snprintf(status_text, sizeof status_text, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
    const char *fast = getenv("DDP_TRAIN_FAST_CONVERSIONS");
    bf16_conversion_available = ddp_bf16_blocked_available() && !(fast && strcmp(fast, "0") == 0);
    loaded = 1;
}

int ddp_onednn_load(void) {
    pthread_once(&load_once, load);
    return loaded;
}

const char *ddp_onednn_status(void) {
    ddp_onednn_load();
    return status_text;
}

const char *ddp_onednn_isa(void) {
    if (!ddp_onednn_load()) return "none";
    switch (p_dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

void ddp_onednn_set_threads(int threads) {
    if (ddp_onednn_load() && p_omp_set_num_threads) p_omp_set_num_threads(threads < 1 ? 1 : threads);
}

typedef struct {
    ddp_parallel_body body;
    void *context;
    long count;
    unsigned mxcsr_bits;
} parallel_job;

static void parallel_trampoline(void *data) {
    parallel_job *job = data;
    long t = p_omp_get_thread_num(), n = p_omp_get_num_threads();
#if defined(__x86_64__)
    if (job->mxcsr_bits) __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | job->mxcsr_bits);
#endif
    long lo = job->count * t / n, hi = job->count * (t + 1) / n;
    if (lo < hi) job->body(job->context, lo, hi);
}

int ddp_parallel_for(long count, int threads, ddp_parallel_body body, void *context) {
    if (!ddp_onednn_load() || !p_GOMP_parallel || !p_omp_get_thread_num || !p_omp_get_num_threads) return 0;
#if defined(__x86_64__)
    parallel_job job = {body, context, count, __builtin_ia32_stmxcsr() & 0x8040};  // FTZ and DAZ
#else
    parallel_job job = {body, context, count, 0};
#endif
    p_GOMP_parallel(parallel_trampoline, &job, (unsigned)threads, 0);
    return 1;
}

// MARK: - One argument of a primitive: its format, its place in the workspace, its reorders

typedef struct {
    dnnl_memory_desc_t md;
    size_t offset;       // floats from the aligned workspace start
    dnnl_memory_t memory;  // md, handle set before each use
    dnnl_memory_t user;    // the caller's layout, handle set before each use
    dnnl_primitive_t in;   // user -> md (NULL when the layouts are equal)
    dnnl_primitive_t out;  // md -> user
    // Set when user -> md is float32 (C, B, H, W) activations (`run`) -> bfloat16 nChw16c: the
    // program's conversion replaces oneDNN's reorder (the same bits, faster), on run_threads.
    int to_bf16;
    ddp_activation_run run;
    int run_threads;
} slot;

struct ddp_conv {
    // Its own stream: the parts of a batch split over threads run at the same time.
    dnnl_stream_t stream;
    dnnl_primitive_desc_t pd[3];
    dnnl_primitive_t prim[3];
    dnnl_memory_t scratch[3];
    slot src, weights, dst;                     // forward
    slot bsrc, bdiff_dst, bdiff_weights;        // backward weights
    slot ddiff_dst, dweights, ddiff_src;        // backward data
    int ddiff_dst_shared;                       // backward data reads bdiff_dst's copy
    int has_bias;
    dnnl_memory_t bias;
    size_t workspace_floats, scratch_offset, weight_count;
    size_t plain_dw_offset;                     // the weights' gradient in (O, I, kH, kW)
    // The forward's bfloat16 input kept for backward weights, which reads x in the same format:
    // one conversion of x per step instead of two. Allocated by the first backward (a primitive
    // only evaluated never holds one); valid from a forward until `ddp_conv_forget_input`.
    int keeps_input;                            // the forward's and backward's x formats agree
    float *kept;
    int kept_valid;
};

static size_t floats_of(const dnnl_memory_desc_t *md) {
    return (p_dnnl_memory_desc_get_size(md) + 63) / 64 * 16;  // rounded up to 64 bytes
}

static int make_slot(slot *s, const dnnl_memory_desc_t *md, const dnnl_memory_desc_t *user, size_t *cursor,
                     int in, int out) {
    s->md = *md;
    s->offset = *cursor;
    *cursor += floats_of(md);
    if (p_dnnl_memory_create(&s->memory, md, engine, DNNL_MEMORY_NONE)) return 0;
    if (p_dnnl_memory_create(&s->user, user, engine, DNNL_MEMORY_NONE)) return 0;
    if (p_dnnl_memory_desc_equal(md, user)) return 1;
    dnnl_primitive_desc_t rpd;
    if (in) {
        if (p_dnnl_reorder_primitive_desc_create(&rpd, user, engine, md, engine, NULL)) return 0;
        dnnl_status_t st = p_dnnl_primitive_create(&s->in, rpd);
        p_dnnl_primitive_desc_destroy(rpd);
        if (st) return 0;
    }
    if (out) {
        if (p_dnnl_reorder_primitive_desc_create(&rpd, md, engine, user, engine, NULL)) return 0;
        dnnl_status_t st = p_dnnl_primitive_create(&s->out, rpd);
        p_dnnl_primitive_desc_destroy(rpd);
        if (st) return 0;
    }
    return 1;
}

static void free_slot(slot *s) {
    if (s->memory) p_dnnl_memory_destroy(s->memory);
    if (s->user) p_dnnl_memory_destroy(s->user);
    if (s->in) p_dnnl_primitive_destroy(s->in);
    if (s->out) p_dnnl_primitive_destroy(s->out);
}

static float *aligned(float *workspace) {
    return (float *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
}

// MARK: - The program's own conversions

/// 0 turns the program's conversions off (oneDNN's reorders run instead), for tests; atomic: a
/// test sets it while other tests' convolutions may run (DDP_TRAIN_FAST_CONVERSIONS=0 turns the
/// conversion off for a whole run, at load).
static _Atomic int fast_conversions = 1;

void ddp_conv_set_fast_conversions(int on) { fast_conversions = on; }

int ddp_conv_program_conversions(const ddp_conv *conv) {
    return conv->src.to_bf16 + conv->bsrc.to_bf16 + conv->bdiff_dst.to_bf16 + conv->ddiff_dst.to_bf16;
}

typedef struct {
    const float *x;
    ddp_activation_run run;
    uint16_t *out;
} conversion_job;

static void conversion_body(void *context, long begin, long end) {
    conversion_job *job = context;
    ddp_bf16_blocked_from_cbhw(job->x, job->run, job->out, begin, end);
}

/// `user` into `place` as bfloat16 nChw16c, on the threads oneDNN's reorder would have used.
static void convert_to_bf16(const slot *s, const float *user, float *place) {
    conversion_job job = {user, s->run, (uint16_t *)place};
    long units = (long)s->run.n * ((s->run.c + 15) / 16);
    if (s->run_threads <= 1 || !ddp_parallel_for(units, s->run_threads, conversion_body, &job)) {
        conversion_body(&job, 0, units);
    }
}

/// Takes the program's conversion instead of oneDNN's reorder for `s` when it brings float32
/// (C, B, H, W) activations (`run`, of `dims`) into bfloat16 nChw16c and this CPU can run it.
static void use_bf16_conversion(slot *s, ddp_activation_run run, const dnnl_dims_t dims, int threads) {
    dnnl_memory_desc_t blocked;
    if (!bf16_conversion_available || !s->in) return;
    if (p_dnnl_memory_desc_init_by_tag(&blocked, 4, dims, dnnl_bf16, dnnl_aBcd16b)) return;
    if (!p_dnnl_memory_desc_equal(&blocked, &s->md)) return;
    s->to_bf16 = 1;
    s->run = run;
    s->run_threads = threads;
}

/// The slot's data in oneDNN's format: a reorder of `user` into `place`, or `user` itself.
static dnnl_status_t bring_in_at(dnnl_stream_t stream, slot *s, const float *user, float *place, dnnl_memory_t *result) {
    if (s->to_bf16 && fast_conversions) {
        convert_to_bf16(s, user, place);
        p_dnnl_memory_set_data_handle(s->memory, place);
        *result = s->memory;
        return dnnl_success;
    }
    if (!s->in) {
        p_dnnl_memory_set_data_handle(s->memory, (void *)user);
        *result = s->memory;
        return dnnl_success;
    }
    p_dnnl_memory_set_data_handle(s->user, (void *)user);
    p_dnnl_memory_set_data_handle(s->memory, place);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, s->user}, {DNNL_ARG_TO, s->memory}};
    *result = s->memory;
    return p_dnnl_primitive_execute(s->in, stream, 2, args);
}

/// The slot's data in oneDNN's format, reordered into its place in the workspace if need be.
static dnnl_status_t bring_in(dnnl_stream_t stream, slot *s, const float *user, float *base, dnnl_memory_t *result) {
    return bring_in_at(stream, s, user, base + s->offset, result);
}

/// Where a primitive writes the slot: the workspace, or `user` directly when the layouts agree.
static dnnl_memory_t place_out(slot *s, float *user, float *base) {
    p_dnnl_memory_set_data_handle(s->memory, s->out ? (void *)(base + s->offset) : (void *)user);
    return s->memory;
}

static dnnl_status_t take_out(dnnl_stream_t stream, slot *s, float *user) {
    if (!s->out) return dnnl_success;
    p_dnnl_memory_set_data_handle(s->user, user);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, s->memory}, {DNNL_ARG_TO, s->user}};
    return p_dnnl_primitive_execute(s->out, stream, 2, args);
}

// MARK: - Creation

void ddp_conv_destroy(ddp_conv *conv) {
    if (!conv) return;
    for (int i = 0; i < 3; i++) {
        if (conv->prim[i]) p_dnnl_primitive_destroy(conv->prim[i]);
        if (conv->pd[i]) p_dnnl_primitive_desc_destroy(conv->pd[i]);
        if (conv->scratch[i]) p_dnnl_memory_destroy(conv->scratch[i]);
    }
    slot *slots[] = {&conv->src, &conv->weights, &conv->dst, &conv->bsrc, &conv->bdiff_dst, &conv->bdiff_weights,
                     &conv->ddiff_dst, &conv->dweights, &conv->ddiff_src};
    for (size_t i = 0; i < sizeof slots / sizeof *slots; i++) free_slot(slots[i]);
    if (conv->bias) p_dnnl_memory_destroy(conv->bias);
    if (conv->stream) p_dnnl_stream_destroy(conv->stream);
    free(conv->kept);
    free(conv);
}

/// oneDNN's tag of float32 activations in channel blocks of `block` (8 or 16).
static dnnl_format_tag_t blocked_tag(int block) { return block == 16 ? dnnl_aBcd16b : dnnl_aBcd8b; }

static const dnnl_memory_desc_t *query(dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return p_dnnl_primitive_desc_query_md(pd, what, 0);
}

static ddp_conv *create(int n, int batch_stride, int c, int k, int h, int w, int kernel, int stride, int pad,
                        int groups, int bias, dnnl_alg_kind_t algorithm, int bf16, int threads, int x_block,
                        int y_block, char *error, size_t error_size);

/// Whether oneDNN fell back to its reference (scalar) code: the formats we asked for do not suit it.
static int is_reference(dnnl_primitive_desc_t pd) {
    const char *name = "";
    p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    return strncmp(name, "ref", 3) == 0;
}

ddp_conv *ddp_conv_create(int n, int batch_stride, int c, int k, int h, int w, int kernel, int stride, int pad,
                          int groups, int bias, int winograd, int bf16, int single_thread, int x_block, int y_block,
                          char *error, size_t error_size) {
    if (!ddp_onednn_load()) { snprintf(error, error_size, "%s", status_text); return NULL; }
    if ((x_block != 0 && x_block != 8 && x_block != 16) || (y_block != 0 && y_block != 8 && y_block != 16)
        || (x_block && c % x_block) || (y_block && k % y_block)) {
        snprintf(error, error_size, "no blocked layout of %d -> %d channels in blocks of %d and %d", c, k, x_block,
                 y_block);
        return NULL;
    }
    // oneDNN plans a primitive's work for the threads it may use when it is created, and runs
    // it on one thread inside another parallel region: a primitive for one part of a split
    // batch must be planned for one thread, or it would do only that thread's share.
    int threads = p_omp_get_max_threads ? p_omp_get_max_threads() : 1;
    int used = single_thread ? 1 : threads;  // the threads its primitives (and conversions) run on
    if (single_thread) ddp_onednn_set_threads(1);
    ddp_conv *conv = NULL;
    if (groups < 1 || c % groups || k % groups) {
        snprintf(error, error_size, "%d groups do not divide %d -> %d channels", groups, c, k);
        return NULL;
    }
    if (winograd && !bf16 && groups == 1) {
        conv = create(n, batch_stride, c, k, h, w, kernel, stride, pad, 1, bias, dnnl_convolution_winograd, 0, used,
                      x_block, y_block, error, error_size);
    }
    if (!conv) {
        conv = create(n, batch_stride, c, k, h, w, kernel, stride, pad, groups, bias, dnnl_convolution_direct, bf16,
                      used, x_block, y_block, error, error_size);
    }
    if (single_thread) ddp_onednn_set_threads(threads);
    return conv;
}

/// The primitive of the convolution `desc` (whose initialisation returned `init`), refusing
/// oneDNN's reference code, which is slower than im2col + sgemm by far.
static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, dnnl_status_t init, const dnnl_convolution_desc_t *desc,
                             const_dnnl_primitive_attr_t attr, const_dnnl_primitive_desc_t hint) {
    if (init) return init;
    dnnl_status_t st = p_dnnl_primitive_desc_create(pd, desc, attr, engine, hint);
    if (!st && is_reference(*pd)) {
        p_dnnl_primitive_desc_destroy(*pd);
        *pd = NULL;
        st = dnnl_unimplemented;
    }
    return st;
}

/// The passes in `bf16` (DDP_BF16_FORWARD, _BACKWARD_DATA, _BACKWARD_WEIGHTS) read their inputs,
/// weights and incoming gradients in bfloat16 (converted from the caller's float32); every pass
/// writes float32: outputs, input gradients and weight gradients (which the optimiser applies to
/// float32 master weights). `threads`: those the
/// primitives are planned for, on which the program's conversions run too.
/// With `groups` > 1 the weights are (groups, k / groups, c / groups, kH, kW): PyTorch's
/// (O, I / groups, kH, kW) in the same memory. `x_block`, `y_block`: see ddp_conv_create.
static ddp_conv *create(int n, int batch_stride, int c, int k, int h, int w, int kernel, int stride, int pad,
                        int groups, int bias, dnnl_alg_kind_t algorithm, int bf16, int threads, int x_block,
                        int y_block, char *error, size_t error_size) {
#define FAIL(...) do { snprintf(error, error_size, __VA_ARGS__); ddp_conv_destroy(conv); return NULL; } while (0)
    ddp_conv *conv = calloc(1, sizeof *conv);  // (ddp_conv_create has loaded oneDNN)
    if (!conv) { snprintf(error, error_size, "out of memory"); return NULL; }
    if (p_dnnl_stream_create(&conv->stream, engine, dnnl_stream_default_flags)) FAIL("oneDNN: no CPU stream");
    int oh = (h + 2 * pad - kernel) / stride + 1, ow = (w + 2 * pad - kernel) / stride + 1;
    dnnl_dims_t src_dims = {n, c, h, w}, dst_dims = {n, k, oh, ow}, b_dims = {k};
    dnnl_dims_t w_dims = {k, c, kernel, kernel}, gw_dims = {groups, k / groups, c / groups, kernel, kernel};
    int w_rank = groups > 1 ? 5 : 4;
    const int64_t *wd_dims = groups > 1 ? gw_dims : w_dims;
    // (C, B, H, W) with B = batch_stride samples, of which these n are a run.
    dnnl_dims_t src_strides = {(int64_t)h * w, (int64_t)batch_stride * h * w, w, 1};
    dnnl_dims_t dst_strides = {(int64_t)oh * ow, (int64_t)batch_stride * oh * ow, ow, 1};
    dnnl_dims_t strides = {stride, stride}, padding = {pad, pad};
    // What each pass reads (src, weights, diff_dst) is in its `low` type (bfloat16 where `bf16`
    // has it); what they write (dst, diff_src, diff_weights) in float32.
    dnnl_data_type_t low_f = bf16 & DDP_BF16_FORWARD ? dnnl_bf16 : dnnl_f32;
    dnnl_data_type_t low_d = bf16 & DDP_BF16_BACKWARD_DATA ? dnnl_bf16 : dnnl_f32;
    dnnl_data_type_t low_w = bf16 & DDP_BF16_BACKWARD_WEIGHTS ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t user_src, user_dst, user_w, bias_md, any_src, any_dst, any_w, any_dsrc, any_dw;
    dnnl_memory_desc_t any_wsrc, any_wddst, any_dwei, any_dddst;  // backward weights' and backward data's
    if (x_block) p_dnnl_memory_desc_init_by_tag(&user_src, 4, src_dims, dnnl_f32, blocked_tag(x_block));
    else p_dnnl_memory_desc_init_by_strides(&user_src, 4, src_dims, dnnl_f32, src_strides);
    if (y_block) p_dnnl_memory_desc_init_by_tag(&user_dst, 4, dst_dims, dnnl_f32, blocked_tag(y_block));
    else p_dnnl_memory_desc_init_by_strides(&user_dst, 4, dst_dims, dnnl_f32, dst_strides);
    p_dnnl_memory_desc_init_by_tag(&user_w, w_rank, wd_dims, dnnl_f32, groups > 1 ? dnnl_goihw : dnnl_oihw);
    p_dnnl_memory_desc_init_by_tag(&bias_md, 1, b_dims, dnnl_f32, dnnl_a);
    p_dnnl_memory_desc_init_by_tag(&any_src, 4, src_dims, low_f, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&any_dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&any_w, w_rank, wd_dims, low_f, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&any_wsrc, 4, src_dims, low_w, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&any_wddst, 4, dst_dims, low_w, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&any_dwei, w_rank, wd_dims, low_d, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&any_dddst, 4, dst_dims, low_d, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&any_dsrc, 4, src_dims, dnnl_f32, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&any_dw, w_rank, wd_dims, dnnl_f32, dnnl_format_tag_any);

    dnnl_primitive_attr_t attr;
    if (p_dnnl_primitive_attr_create(&attr)) FAIL("oneDNN: no primitive attributes");
    p_dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_convolution_desc_t fd, bd, wd;
    dnnl_status_t st = p_dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, algorithm, &any_src,
                                                            &any_w, bias ? &bias_md : NULL, &any_dst, strides, padding, padding);
    if (!st) st = p_dnnl_primitive_desc_create(&conv->pd[0], &fd, attr, engine, NULL);
    if (st) { p_dnnl_primitive_attr_destroy(attr); FAIL("oneDNN: no forward convolution (status %d)", (int)st); }
    // Backward passes in the forward's formats when they can take them (one copy of dy serves
    // both, x's copy is the forward's), else in their own; weights always in their own (backward
    // data with the forward's weight format gets only reference code).
    const dnnl_memory_desc_t *f_src = query(conv->pd[0], dnnl_query_src_md);
    const dnnl_memory_desc_t *f_w = query(conv->pd[0], dnnl_query_weights_md);
    const dnnl_memory_desc_t *f_dst = query(conv->pd[0], dnnl_query_dst_md);
    // (A pass that reads bfloat16 takes its own format for the gradient coming back: the
    // forward's output is float32; and x in the forward's format only where both read one type.)
    st = make_pd(&conv->pd[2], p_dnnl_convolution_backward_weights_desc_init(&wd, algorithm,
                                                                             low_w == low_f ? f_src : &any_wsrc, &any_dw,
                                                                             NULL, low_w == dnnl_f32 ? f_dst : &any_wddst,
                                                                             strides, padding, padding),
                 &wd, attr, conv->pd[0]);
    if (st) st = make_pd(&conv->pd[2], p_dnnl_convolution_backward_weights_desc_init(&wd, algorithm, &any_wsrc, &any_dw,
                                                                                     NULL, &any_wddst, strides, padding,
                                                                                     padding),
                         &wd, attr, conv->pd[0]);
    if (st) { p_dnnl_primitive_attr_destroy(attr); FAIL("oneDNN: no backward-weights convolution (status %d)", (int)st); }
    const dnnl_memory_desc_t *w_ddst = query(conv->pd[2], dnnl_query_diff_dst_md);
    st = make_pd(&conv->pd[1], p_dnnl_convolution_backward_data_desc_init(&bd, algorithm,
                                                                          low_f == dnnl_f32 ? f_src : &any_dsrc,
                                                                          &any_dwei, low_d == low_w ? w_ddst : &any_dddst,
                                                                          strides, padding, padding),
                 &bd, attr, conv->pd[0]);
    if (st) st = make_pd(&conv->pd[1], p_dnnl_convolution_backward_data_desc_init(&bd, algorithm, &any_dsrc, &any_dwei,
                                                                                  &any_dddst, strides, padding, padding),
                         &bd, attr, conv->pd[0]);
    p_dnnl_primitive_attr_destroy(attr);
    if (st) FAIL("oneDNN: no backward-data convolution (status %d)", (int)st);
    if (is_reference(conv->pd[0])) FAIL("oneDNN has only reference code for this convolution (%s)", ddp_conv_implementation(conv, 0));
    for (int i = 0; i < 3; i++) {
        if (p_dnnl_primitive_create(&conv->prim[i], conv->pd[i])) FAIL("oneDNN: primitive %d not created", i);
    }

    // Forward's workspace.
    size_t cursor = 0;
    if (!make_slot(&conv->src, f_src, &user_src, &cursor, 1, 0)
        || !make_slot(&conv->weights, f_w, &user_w, &cursor, 1, 0)
        || !make_slot(&conv->dst, f_dst, &user_dst, &cursor, 0, 1))
        FAIL("oneDNN: no reorder for the forward convolution");
    size_t forward_floats = cursor;
    // Backward's: weights' gradient in oneDNN's format and plain, then the activations.
    cursor = 0;
    conv->weight_count = (size_t)k * (c / groups) * kernel * kernel;
    conv->plain_dw_offset = cursor;
    cursor += (conv->weight_count + 15) / 16 * 16;
    if (!make_slot(&conv->bdiff_weights, query(conv->pd[2], dnnl_query_diff_weights_md), &user_w, &cursor, 0, 1)
        || !make_slot(&conv->dweights, query(conv->pd[1], dnnl_query_weights_md), &user_w, &cursor, 1, 0)
        || !make_slot(&conv->bdiff_dst, w_ddst, &user_dst, &cursor, 1, 0))
        FAIL("oneDNN: no reorder for the backward convolutions");
    const dnnl_memory_desc_t *d_ddst = query(conv->pd[1], dnnl_query_diff_dst_md);
    conv->ddiff_dst_shared = p_dnnl_memory_desc_equal(d_ddst, w_ddst);
    size_t activations = cursor;
    if (!make_slot(&conv->bsrc, query(conv->pd[2], dnnl_query_src_md), &user_src, &cursor, 1, 0))
        FAIL("oneDNN: no reorder for the backward-weights source");
    // Only a bfloat16 copy: its conversion is the costly part, and it is half float32's size. A
    // float32 copy kept for every layer would hold as much memory as the layers' inputs (resnet50
    // at 224 px: 40 MB a sample, 18% of its peak) to save a reorder that costs little (resnet50
    // at batch 16: no slower without it; resnet32: within 2%).
    conv->keeps_input = low_f == dnnl_bf16 && conv->src.in && conv->bsrc.in && p_dnnl_memory_desc_equal(&conv->src.md, &conv->bsrc.md);
    // Backward data's output takes the source's place once backward weights is done with it.
    size_t after_src = cursor;
    cursor = activations;
    if (!make_slot(&conv->ddiff_src, query(conv->pd[1], dnnl_query_diff_src_md), &user_src, &cursor, 0, 1))
        FAIL("oneDNN: no reorder for the input gradient");
    if (cursor < after_src) cursor = after_src;
    if (!make_slot(&conv->ddiff_dst, d_ddst, &user_dst, &cursor, 1, 0))
        FAIL("oneDNN: no reorder for the backward-data output gradient");
    size_t backward_floats = cursor;
    if (bf16) {  // (C, B, H, W) x and dy into bfloat16 nChw16c by the program where it can (the same bits)
        ddp_activation_run x = {n, c, batch_stride, (long)h * w}, y = {n, k, batch_stride, (long)oh * ow};
        if (!x_block) use_bf16_conversion(&conv->src, x, src_dims, threads);
        if (!x_block) use_bf16_conversion(&conv->bsrc, x, src_dims, threads);
        if (!y_block) use_bf16_conversion(&conv->bdiff_dst, y, dst_dims, threads);
        if (!y_block) use_bf16_conversion(&conv->ddiff_dst, y, dst_dims, threads);
    }

    size_t scratch = 0;
    for (int i = 0; i < 3; i++) {
        const dnnl_memory_desc_t *md = query(conv->pd[i], dnnl_query_scratchpad_md);
        if (p_dnnl_memory_create(&conv->scratch[i], md, engine, DNNL_MEMORY_NONE)) FAIL("oneDNN: no scratchpad memory");
        if (floats_of(md) > scratch) scratch = floats_of(md);
    }
    conv->scratch_offset = forward_floats > backward_floats ? forward_floats : backward_floats;
    conv->workspace_floats = conv->scratch_offset + scratch;
    conv->has_bias = bias;
    if (bias && p_dnnl_memory_create(&conv->bias, &bias_md, engine, DNNL_MEMORY_NONE)) FAIL("oneDNN: no bias memory");
    return conv;
#undef FAIL
}

size_t ddp_conv_workspace_floats(const ddp_conv *conv) {
    return conv->workspace_floats + 16;  // + alignment
}

const char *ddp_conv_implementation(const ddp_conv *conv, int which) {
    const char *name = "unknown";
    if (which < 0 || which > 2) return name;
    p_dnnl_primitive_desc_query(conv->pd[which], dnnl_query_impl_info_str, 0, &name);
    return name;
}

// MARK: - Execution

static dnnl_memory_t scratchpad(ddp_conv *conv, int which, float *base) {
    p_dnnl_memory_set_data_handle(conv->scratch[which], base + conv->scratch_offset);
    return conv->scratch[which];
}

/// Runs primitive `which` on `args`, then moves its output from `out`'s slot to `user`, and
/// waits for both.
static dnnl_status_t run(ddp_conv *conv, int which, const dnnl_exec_arg_t *args, int nargs, slot *out, float *user) {
    dnnl_status_t st = p_dnnl_primitive_execute(conv->prim[which], conv->stream, nargs, args);
    if (!st) st = take_out(conv->stream, out, user);
    if (!st) st = p_dnnl_stream_wait(conv->stream);
    return st;
}

int ddp_conv_forward(ddp_conv *conv, const float *x, const float *weights, const float *bias, float *y,
                     float *workspace) {
    float *base = aligned(workspace);
    dnnl_memory_t src, wei, dst;
    conv->kept_valid = 0;
    dnnl_status_t st = bring_in_at(conv->stream, &conv->src, x, conv->kept ? conv->kept : base + conv->src.offset, &src);
    if (!st) st = bring_in(conv->stream, &conv->weights, weights, base, &wei);
    if (st) return (int)st;
    dst = place_out(&conv->dst, y, base);
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst},
                               {DNNL_ARG_SCRATCHPAD, scratchpad(conv, 0, base)}, {DNNL_ARG_BIAS, conv->bias}};
    if (conv->has_bias) p_dnnl_memory_set_data_handle(conv->bias, (void *)bias);
    st = run(conv, 0, args, conv->has_bias ? 5 : 4, &conv->dst, y);
    conv->kept_valid = !st && conv->kept;
    return (int)st;
}

void ddp_conv_forget_input(ddp_conv *conv) { conv->kept_valid = 0; }

int ddp_conv_backward(ddp_conv *conv, const float *x, const float *dy, const float *weights, float *dw,
                      int accumulate, float *dx, float *workspace) {
    float *base = aligned(workspace);
    dnnl_memory_t src, ddst, dwei;
    dnnl_status_t st = dnnl_success;
    if (conv->kept_valid) {  // x as the forward converted it
        p_dnnl_memory_set_data_handle(conv->bsrc.memory, conv->kept);
        src = conv->bsrc.memory;
    } else {
        st = bring_in(conv->stream, &conv->bsrc, x, base, &src);
        // From now on the forward keeps its converted x for this primitive's backward.
        if (!st && conv->keeps_input && !conv->kept) {
            size_t bytes = floats_of(&conv->src.md) * sizeof(float);
            conv->kept = aligned_alloc(64, bytes);
        }
    }
    if (!st) st = bring_in(conv->stream, &conv->bdiff_dst, dy, base, &ddst);
    if (st) return (int)st;
    float *plain = base + conv->plain_dw_offset;
    dwei = place_out(&conv->bdiff_weights, plain, base);
    dnnl_exec_arg_t wargs[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dwei},
                                {DNNL_ARG_SCRATCHPAD, scratchpad(conv, 2, base)}};
    st = run(conv, 2, wargs, 4, &conv->bdiff_weights, plain);
    if (st) return (int)st;
    // Overwrite rather than scale by 0: a NaN left by a skipped step must not survive.
    if (accumulate) {
        for (size_t i = 0; i < conv->weight_count; i++) dw[i] += plain[i];
    } else {
        memcpy(dw, plain, conv->weight_count * sizeof(float));
    }
    if (!dx) return 0;
    dnnl_memory_t wei, dd = ddst, dsrc;
    if (!conv->ddiff_dst_shared) {
        st = bring_in(conv->stream, &conv->ddiff_dst, dy, base, &dd);
        if (st) return (int)st;
    }
    st = bring_in(conv->stream, &conv->dweights, weights, base, &wei);
    if (st) return (int)st;
    dsrc = place_out(&conv->ddiff_src, dx, base);
    dnnl_exec_arg_t dargs[4] = {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DIFF_SRC, dsrc},
                                {DNNL_ARG_SCRATCHPAD, scratchpad(conv, 1, base)}};
    return (int)run(conv, 1, dargs, 4, &conv->ddiff_src, dx);
}

#else  // no oneDNN header at build time

int ddp_onednn_load(void) { return 0; }
const char *ddp_onednn_status(void) { return "oneDNN not built in (no oneapi/dnnl/dnnl.h when ddp-train was built; Debian: libdnnl-dev)"; }
const char *ddp_onednn_isa(void) { return "none"; }
void ddp_onednn_set_threads(int threads) { (void)threads; }
int ddp_parallel_for(long count, int threads, ddp_parallel_body body, void *context) {
    (void)count; (void)threads; (void)body; (void)context;
    return 0;
}
ddp_conv *ddp_conv_create(int n, int batch_stride, int c, int k, int h, int w, int kernel, int stride, int pad,
                          int groups, int bias, int winograd, int bf16, int single_thread, int x_block, int y_block,
                          char *error, size_t error_size) {
    (void)groups; (void)winograd; (void)bf16; (void)batch_stride; (void)single_thread; (void)x_block; (void)y_block;
    (void)n; (void)c; (void)k; (void)h; (void)w; (void)kernel; (void)stride; (void)pad; (void)bias;
    snprintf(error, error_size, "%s", ddp_onednn_status());
    return NULL;
}
void ddp_conv_destroy(ddp_conv *conv) { (void)conv; }
void ddp_conv_forget_input(ddp_conv *conv) { (void)conv; }
void ddp_conv_set_fast_conversions(int on) { (void)on; }
int ddp_conv_program_conversions(const ddp_conv *conv) { (void)conv; return 0; }
size_t ddp_conv_workspace_floats(const ddp_conv *conv) { (void)conv; return 0; }
const char *ddp_conv_implementation(const ddp_conv *conv, int which) { (void)conv; (void)which; return "none"; }
int ddp_conv_forward(ddp_conv *conv, const float *x, const float *weights, const float *bias, float *y,
                     float *workspace) {
    (void)conv; (void)x; (void)weights; (void)bias; (void)y; (void)workspace;
    return -1;
}
int ddp_conv_backward(ddp_conv *conv, const float *x, const float *dy, const float *weights, float *dw,
                      int accumulate, float *dx, float *workspace) {
    (void)conv; (void)x; (void)dy; (void)weights; (void)dw; (void)accumulate; (void)dx; (void)workspace;
    return -1;
}

#endif
