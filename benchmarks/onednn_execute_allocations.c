// How many heap allocations one dnnl_primitive_execute makes in oneDNN 2.x (docs/benchmarks.md:
// the allocations per step that `bench` counts with oneDNN come from here).
//
//   gcc -O2 -shared -fPIC -o /tmp/malloc_count.so benchmarks/malloc_count.c -ldl
//   gcc -O2 benchmarks/onednn_execute_allocations.c -o /tmp/exec_alloc -ldnnl
//   LD_PRELOAD=/tmp/malloc_count.so /tmp/exec_alloc
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
// From the preloaded malloc_count.so; -1 without it.
extern long ddp_malloc_count(void) __attribute__((weak));
int main() {
    dnnl_engine_t e; dnnl_engine_create(&e, dnnl_cpu, 0);
    dnnl_stream_t s; dnnl_stream_create(&s, e, dnnl_stream_default_flags);
    dnnl_dims_t d = {8, 16, 7, 7};
    dnnl_memory_desc_t a, b; dnnl_memory_desc_init_by_tag(&a, 4, d, dnnl_f32, dnnl_nchw); dnnl_memory_desc_init_by_tag(&b, 4, d, dnnl_f32, dnnl_nChw16c);
    dnnl_memory_t ma, mb; dnnl_memory_create(&ma, &a, e, DNNL_MEMORY_ALLOCATE); dnnl_memory_create(&mb, &b, e, DNNL_MEMORY_ALLOCATE);
    dnnl_primitive_desc_t pd; dnnl_reorder_primitive_desc_create(&pd, &a, e, &b, e, NULL);
    dnnl_primitive_t p; dnnl_primitive_create(&p, pd);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ma}, {DNNL_ARG_TO, mb}};
    for (int i = 0; i < 10; i++) dnnl_primitive_execute(p, s, 2, args);
    long before = ddp_malloc_count ? ddp_malloc_count() : -1;
    for (int i = 0; i < 1000; i++) dnnl_primitive_execute(p, s, 2, args);
    long after = ddp_malloc_count ? ddp_malloc_count() : -1;
    if (before < 0) {
        fprintf(stderr, "no count: run with LD_PRELOAD=/tmp/malloc_count.so (benchmarks/malloc_count.c)\n");
        return 1;
    }
    printf("allocations per execute of a reorder: %.2f\n", (after - before) / 1000.0);
    dnnl_primitive_destroy(p);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(ma);
    dnnl_memory_destroy(mb);
    dnnl_stream_destroy(s);
    dnnl_engine_destroy(e);
    return 0;
}
