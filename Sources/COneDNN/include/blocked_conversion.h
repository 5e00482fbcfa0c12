// The program's (C, B, H, W) float32 activations into oneDNN's bfloat16 nChw16c (aBcd16b), for
// the bfloat16 convolutions of onednn_conv.c: oneDNN 2.6's own reorder for this pair is its
// generic one, about 3x slower. (Its float32 reorders are fast: a transpose of the same kind
// was no faster in a whole resnet32 step, docs/benchmarks-log.md.)
#ifndef DDP_BLOCKED_CONVERSION_H
#define DDP_BLOCKED_CONVERSION_H
#include <stdint.h>

/// A run of `n` samples of a (c, batch_stride, h, w) float32 batch: x points at the run's
/// first sample of channel 0; `plane` = h * w.
typedef struct {
    int n, c, batch_stride;
    long plane;
} ddp_activation_run;

/// Whether this CPU has the instructions `ddp_bf16_blocked_from_cbhw` needs (AVX512_BF16).
int ddp_bf16_blocked_available(void);

/// out (n, ceil(c / 16), h, w, 16) bfloat16 = x rounded to nearest even (as VCVTNEPS2BF16,
/// which oneDNN's own reorder runs on such CPUs), channels beyond c zero; blocks [first, end) of
/// the n * ceil(c / 16) (sample, channel block) pairs. Call only where available.
void ddp_bf16_blocked_from_cbhw(const float *x, ddp_activation_run run, uint16_t *out, long first, long end);

#endif
