// 16-bit floating-point conversions and sums for gradient compression
// (bfloat16 and IEEE binary16), with round-to-nearest-even.
#ifndef CHALF_H
#define CHALF_H
#include <stddef.h>
#include <stdint.h>

/// float32 -> bfloat16, round to nearest even; NaN stays NaN.
void half_bf16_from_float(const float *src, uint16_t *dst, size_t n);
void half_bf16_to_float(const uint16_t *src, float *dst, size_t n);
/// float32 -> binary16 (F16C where the CPU has it), round to nearest even;
/// beyond 65504 becomes infinity, below 2^-24 zero.
void half_fp16_from_float(const float *src, uint16_t *dst, size_t n);
void half_fp16_to_float(const uint16_t *src, float *dst, size_t n);
/// inout[i] = round(inout[i] + in[i]), the sum done in float32.
void half_bf16_sum(const uint16_t *in, uint16_t *inout, size_t n);
void half_fp16_sum(const uint16_t *in, uint16_t *inout, size_t n);

#endif
