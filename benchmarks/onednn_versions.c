// oneDNN's convolution primitives alone, 2.x against 3.x (issue 46): each convolution of resnet32
// (Fashion-MNIST, batch 64: a rank's share of 128 on two ranks) or resnet50 (224 px, batch 32),
// forward training, backward data and backward weights, in float32 or bfloat16 (inputs, weights
// and incoming gradients bfloat16, outputs float32, as ddp-train runs them), every memory in the
// format the primitive prefers (no reorders timed), the least of N runs after two unmeasured.
// Prints one line per shape and the model's total per step (each shape times its count).
// Built against either version's header (the C APIs differ); not part of ddp-train:
//   cc -O2 -o /tmp/conv2 benchmarks/onednn_versions.c -ldnnl                 (Debian's 2.6)
//   cc -O2 -I$V/include -o /tmp/conv3 benchmarks/onednn_versions.c -L$V/lib -ldnnl   (3.x)
//   taskset -c 0 /tmp/conv2 resnet32 f32 20; taskset -c 0 /tmp/conv3 resnet32 f32 20
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { int c, k, h, kernel, stride, count; } shape;

#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_) { fprintf(stderr, "%s: status %d\n", #x, (int)s_); exit(1); } } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int resnet32(shape *s) {
    int n = 0;
    s[n++] = (shape){1, 16, 28, 3, 1, 1};
    s[n++] = (shape){16, 16, 28, 3, 1, 10};
    s[n++] = (shape){16, 32, 28, 3, 2, 1};
    s[n++] = (shape){32, 32, 14, 3, 1, 9};
    s[n++] = (shape){32, 64, 14, 3, 2, 1};
    s[n++] = (shape){64, 64, 7, 3, 1, 9};
    return n;
}

static int resnet50(shape *s) {
    int n = 0, in = 64, h = 56;
    s[n++] = (shape){3, 64, 224, 7, 2, 1};
    int planes[4] = {64, 128, 256, 512}, blocks[4] = {3, 4, 6, 3};
    for (int st = 0; st < 4; st++) {
        int p = planes[st], stride = st == 0 ? 1 : 2, ho = h / stride;
        s[n++] = (shape){in, p, h, 1, 1, 1};            // block 0: conv1
        s[n++] = (shape){p, p, h, 3, stride, 1};        // conv2 (the stride)
        s[n++] = (shape){p, 4 * p, ho, 1, 1, blocks[st]};  // conv3 of every block
        s[n++] = (shape){in, 4 * p, h, 1, stride, 1};   // downsample
        s[n++] = (shape){4 * p, p, ho, 1, 1, blocks[st] - 1};  // conv1 of the others
        s[n++] = (shape){p, p, ho, 3, 1, blocks[st] - 1};      // conv2 of the others
        in = 4 * p;
        h = ho;
    }
    return n;
}

static dnnl_engine_t engine;
static dnnl_stream_t stream;

#if DNNL_VERSION_MAJOR >= 3
typedef dnnl_memory_desc_t md_t;  // an opaque handle
static md_t make_md(int nd, const dnnl_dims_t dims, dnnl_data_type_t dt) {
    md_t md;
    CHECK(dnnl_memory_desc_create_with_tag(&md, nd, dims, dt, dnnl_format_tag_any));
    return md;
}
#define MD(x) (x)
#else
typedef dnnl_memory_desc_t md_t;
static md_t make_md(int nd, const dnnl_dims_t dims, dnnl_data_type_t dt) {
    md_t md;
    CHECK(dnnl_memory_desc_init_by_tag(&md, nd, dims, dt, dnnl_format_tag_any));
    return md;
}
#define MD(x) (&(x))
#endif

static dnnl_memory_t memory(dnnl_primitive_desc_t pd, dnnl_query_t what) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, dnnl_primitive_desc_query_md(pd, what, 0), engine, DNNL_MEMORY_ALLOCATE));
    return m;
}

/// Seconds of the least of `runs` executions of `p` (after two), and its implementation.
static double best(dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args, int runs) {
    double b = 1e30;
    for (int r = 0; r < runs + 2; r++) {
        double t0 = now();
        CHECK(dnnl_primitive_execute(p, stream, nargs, args));
        CHECK(dnnl_stream_wait(stream));
        double t = now() - t0;
        if (r >= 2 && t < b) b = t;
    }
    return b;
}

static const char *impl(dnnl_primitive_desc_t pd) {
    const char *name = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    return name;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s resnet32|resnet50 f32|bf16 RUNS\n", argv[0]); return 64; }
    shape shapes[64];
    int n = strcmp(argv[1], "resnet50") == 0 ? resnet50(shapes) : resnet32(shapes);
    int batch = strcmp(argv[1], "resnet50") == 0 ? 32 : 64, runs = atoi(argv[3]);
    dnnl_data_type_t low = strcmp(argv[2], "bf16") == 0 ? dnnl_bf16 : dnnl_f32;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN %d.%d.%d, %s %s batch %d\n", v->major, v->minor, v->patch, argv[1], argv[2], batch);
    double total[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        shape s = shapes[i];
        if (s.count == 0) continue;
        int pad = s.kernel / 2, oh = (s.h + 2 * pad - s.kernel) / s.stride + 1;
        dnnl_dims_t src = {batch, s.c, s.h, s.h}, wei = {s.k, s.c, s.kernel, s.kernel}, dst = {batch, s.k, oh, oh};
        dnnl_dims_t strides = {s.stride, s.stride}, padding = {pad, pad}, dilation = {0, 0};
        md_t a_src = make_md(4, src, low), a_wei = make_md(4, wei, low), a_dst = make_md(4, dst, dnnl_f32);
        md_t a_ddst = make_md(4, dst, low), a_dsrc = make_md(4, src, dnnl_f32), a_dwei = make_md(4, wei, dnnl_f32);
        dnnl_primitive_desc_t pd[3];
#if DNNL_VERSION_MAJOR >= 3
        CHECK(dnnl_convolution_forward_primitive_desc_create(&pd[0], engine, dnnl_forward_training,
                                                             dnnl_convolution_direct, a_src, a_wei, NULL, a_dst,
                                                             strides, dilation, padding, padding, NULL));
        CHECK(dnnl_convolution_backward_data_primitive_desc_create(&pd[1], engine, dnnl_convolution_direct, a_dsrc,
                                                                   a_wei, a_ddst, strides, dilation, padding, padding,
                                                                   pd[0], NULL));
        CHECK(dnnl_convolution_backward_weights_primitive_desc_create(&pd[2], engine, dnnl_convolution_direct, a_src,
                                                                      a_dwei, NULL, a_ddst, strides, dilation,
                                                                      padding, padding, pd[0], NULL));
#else
        dnnl_convolution_desc_t d[3];
        CHECK(dnnl_dilated_convolution_forward_desc_init(&d[0], dnnl_forward_training, dnnl_convolution_direct,
                                                         MD(a_src), MD(a_wei), NULL, MD(a_dst), strides, dilation,
                                                         padding, padding));
        CHECK(dnnl_primitive_desc_create(&pd[0], &d[0], NULL, engine, NULL));
        CHECK(dnnl_dilated_convolution_backward_data_desc_init(&d[1], dnnl_convolution_direct, MD(a_dsrc),
                                                               MD(a_wei), MD(a_ddst), strides, dilation, padding,
                                                               padding));
        CHECK(dnnl_primitive_desc_create(&pd[1], &d[1], NULL, engine, pd[0]));
        CHECK(dnnl_dilated_convolution_backward_weights_desc_init(&d[2], dnnl_convolution_direct, MD(a_src),
                                                                  MD(a_dwei), NULL, MD(a_ddst), strides, dilation,
                                                                  padding, padding));
        CHECK(dnnl_primitive_desc_create(&pd[2], &d[2], NULL, engine, pd[0]));
#endif
        dnnl_primitive_t p[3];
        for (int j = 0; j < 3; j++) CHECK(dnnl_primitive_create(&p[j], pd[j]));
        dnnl_exec_arg_t f[3] = {{DNNL_ARG_SRC, memory(pd[0], dnnl_query_src_md)},
                                {DNNL_ARG_WEIGHTS, memory(pd[0], dnnl_query_weights_md)},
                                {DNNL_ARG_DST, memory(pd[0], dnnl_query_dst_md)}};
        dnnl_exec_arg_t bd[3] = {{DNNL_ARG_DIFF_DST, memory(pd[1], dnnl_query_diff_dst_md)},
                                 {DNNL_ARG_WEIGHTS, memory(pd[1], dnnl_query_weights_md)},
                                 {DNNL_ARG_DIFF_SRC, memory(pd[1], dnnl_query_diff_src_md)}};
        dnnl_exec_arg_t bw[3] = {{DNNL_ARG_SRC, memory(pd[2], dnnl_query_src_md)},
                                 {DNNL_ARG_DIFF_DST, memory(pd[2], dnnl_query_diff_dst_md)},
                                 {DNNL_ARG_DIFF_WEIGHTS, memory(pd[2], dnnl_query_diff_weights_md)}};
        double t[3] = {best(p[0], 3, f, runs), best(p[1], 3, bd, runs), best(p[2], 3, bw, runs)};
        printf("%4d -> %4d %dx%d s%d at %3d x%2d: %8.3f %8.3f %8.3f ms  %s | %s | %s\n", s.c, s.k, s.kernel, s.kernel,
               s.stride, s.h, s.count, 1e3 * t[0], 1e3 * t[1], 1e3 * t[2], impl(pd[0]), impl(pd[1]), impl(pd[2]));
        for (int j = 0; j < 3; j++) total[j] += s.count * t[j];
    }
    printf("per step: forward %.1f ms, backward data %.1f ms, backward weights %.1f ms, all %.1f ms\n",
           1e3 * total[0], 1e3 * total[1], 1e3 * total[2], 1e3 * (total[0] + total[1] + total[2]));
    return 0;
}
