// float32 (C, B, H, W) -> bfloat16 nChw16c: one 16 x 16 transpose per 16 channels and 16
// positions, then a conversion per position (see blocked_conversion.h).
#include "blocked_conversion.h"

#if defined(__x86_64__)
#include <immintrin.h>

int ddp_bf16_blocked_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

#define DDP_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// r[i] holds row i (16 floats); afterwards r[j] holds column j.
DDP_TARGET static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16], s[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) {  // rows 4g..4g+3: s[4g + k] holds element k (mod 4) of each lane
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        s[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        s[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        s[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        s[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int k = 0; k < 4; k++) {  // lanes 0 and 2, then 1 and 3, of rows 0-7 and of rows 8-15
        t[k] = _mm512_shuffle_f32x4(s[k], s[4 + k], 0x88);
        t[4 + k] = _mm512_shuffle_f32x4(s[k], s[4 + k], 0xdd);
        t[8 + k] = _mm512_shuffle_f32x4(s[8 + k], s[12 + k], 0x88);
        t[12 + k] = _mm512_shuffle_f32x4(s[8 + k], s[12 + k], 0xdd);
    }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
    }
}

DDP_TARGET void ddp_bf16_blocked_from_cbhw(const float *x, ddp_activation_run run, uint16_t *out, long first, long end) {
    const long blocks = (run.c + 15) / 16, plane = run.plane;
    const long channel_stride = (long)run.batch_stride * plane;
    for (long unit = first; unit < end; unit++) {
        const long b = unit / blocks, cb = unit % blocks;
        const int channels = run.c - 16 * (int)cb < 16 ? run.c - 16 * (int)cb : 16;
        const float *src = x + 16 * cb * channel_stride + b * plane;
        uint16_t *dst = out + unit * plane * 16;
        for (long p = 0; p < plane; p += 16) {
            const int len = plane - p < 16 ? (int)(plane - p) : 16;
            const __mmask16 mask = (__mmask16)((1u << len) - 1);
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                r[i] = i < channels ? _mm512_maskz_loadu_ps(mask, src + i * channel_stride + p) : _mm512_setzero_ps();
            }
            transpose16(r);
            for (int j = 0; j < len; j++) {
                _mm256_storeu_si256((__m256i *)(dst + (p + j) * 16), (__m256i)_mm512_cvtneps_pbh(r[j]));
            }
        }
    }
}

#else

int ddp_bf16_blocked_available(void) { return 0; }
void ddp_bf16_blocked_from_cbhw(const float *x, ddp_activation_run run, uint16_t *out, long first, long end) {
    (void)x; (void)run; (void)out; (void)first; (void)end;
}
#endif
