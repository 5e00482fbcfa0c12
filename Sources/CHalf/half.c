#include "half.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HALF_X86 1
#endif

// MARK: bfloat16: the top half of a float32, so conversions are bit operations
// the compiler vectorises.

static inline uint16_t bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void half_bf16_from_float(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bf16_round(src[i]);
}

void half_bf16_to_float(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bf16_value(src[i]);
}

void half_bf16_sum(const uint16_t *in, uint16_t *inout, size_t n) {
    for (size_t i = 0; i < n; i++) inout[i] = bf16_round(bf16_value(in[i]) + bf16_value(inout[i]));
}

// MARK: binary16: F16C (vcvtps2ph / vcvtph2ps) when the CPU has it, else bits.

static uint16_t fp16_round_scalar(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);          // NaN
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);         // rounds past 65504: infinity
    if (a < 0x38800000u) {                                           // below 2^-14: subnormal or zero
        if (a < 0x33000000u) return (uint16_t)sign;                  // below half of 2^-24
        uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e;                                    // 14..24
        uint32_t q = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = a + 0x0fffu + ((a >> 13) & 1u) - 0x38000000u;      // rebias 127 -> 15, round
    return (uint16_t)(sign | (r >> 13));
}

static float fp16_value_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
    if (e == 0) {
        float f = (float)m * (1.0f / 16777216.0f);                   // m * 2^-24, exact
        return sign ? -f : f;
    }
    if (e == 31) u = sign | 0x7f800000u | (m << 13);
    else u = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#ifdef HALF_X86
__attribute__((target("avx,f16c")))
static void fp16_from_float_f16c(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = fp16_round_scalar(src[i]);
}

__attribute__((target("avx,f16c")))
static void fp16_to_float_f16c(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = fp16_value_scalar(src[i]);
}

__attribute__((target("avx,f16c")))
static void fp16_sum_f16c(const uint16_t *in, uint16_t *inout, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i)));
        __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(inout + i)));
        _mm_storeu_si128((__m128i *)(inout + i), _mm256_cvtps_ph(_mm256_add_ps(a, b), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) inout[i] = fp16_round_scalar(fp16_value_scalar(in[i]) + fp16_value_scalar(inout[i]));
}

/* Threads may ask at once (the tests run in parallel): the answer is cached atomically. */
static int has_f16c(void) {
    static int known = -1;
    int value = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
        __atomic_store_n(&known, value, __ATOMIC_RELAXED);
    }
    return value;
}
#else
static int has_f16c(void) { return 0; }
static void fp16_from_float_f16c(const float *s, uint16_t *d, size_t n) { (void)s; (void)d; (void)n; }
static void fp16_to_float_f16c(const uint16_t *s, float *d, size_t n) { (void)s; (void)d; (void)n; }
static void fp16_sum_f16c(const uint16_t *a, uint16_t *b, size_t n) { (void)a; (void)b; (void)n; }
#endif

void half_fp16_from_float(const float *src, uint16_t *dst, size_t n) {
    if (has_f16c()) { fp16_from_float_f16c(src, dst, n); return; }
    for (size_t i = 0; i < n; i++) dst[i] = fp16_round_scalar(src[i]);
}

void half_fp16_to_float(const uint16_t *src, float *dst, size_t n) {
    if (has_f16c()) { fp16_to_float_f16c(src, dst, n); return; }
    for (size_t i = 0; i < n; i++) dst[i] = fp16_value_scalar(src[i]);
}

void half_fp16_sum(const uint16_t *in, uint16_t *inout, size_t n) {
    if (has_f16c()) { fp16_sum_f16c(in, inout, n); return; }
    for (size_t i = 0; i < n; i++) inout[i] = fp16_round_scalar(fp16_value_scalar(in[i]) + fp16_value_scalar(inout[i]));
}
