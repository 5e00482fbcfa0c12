// OpenBLAS's CBLAS interface plus its run-time queries (kernel name, threads).
#ifndef CBLAS_SHIM_H
#define CBLAS_SHIM_H
#include <cblas.h>

char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
// OpenBLAS's thread pool: shut down, it is started again by the next threaded call, in
// threads that inherit the caller's floating-point environment (pthread_create does).
int blas_thread_shutdown_(void);

#if defined(__x86_64__)
#include <xmmintrin.h>
// Flush denormal results to zero and treat denormal inputs as zero (MXCSR FTZ | DAZ) in
// the calling thread: denormals make float arithmetic up to 100x slower on x86.
static inline void cblas_shim_flush_denormals(void) { _mm_setcsr(_mm_getcsr() | 0x8040); }
static inline unsigned cblas_shim_mxcsr(void) { return _mm_getcsr(); }
#else
static inline void cblas_shim_flush_denormals(void) {}
static inline unsigned cblas_shim_mxcsr(void) { return 0; }
#endif

#endif
