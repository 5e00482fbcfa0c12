// A small C binding of oneDNN's fp32 or bf16 convolution (forward training, backward data,
// backward weights) for activations laid out (C, B, H, W) and weights (O, I, kH, kW).
//
// oneDNN is loaded at run time (dlopen of libdnnl.so.2, the 2.x C API): a build without
// its header, or a machine without the library, reports it unavailable and ddp-train
// keeps its im2col + OpenBLAS path.
#ifndef DDP_ONEDNN_CONV_H
#define DDP_ONEDNN_CONV_H
#include <stddef.h>

/// Loads oneDNN once; 1 when it can be used. `ddp_onednn_status` says why not, or its version.
int ddp_onednn_load(void);
const char *ddp_onednn_status(void);
/// The instruction set oneDNN dispatches to (`avx512_core`, `avx2`, ...).
const char *ddp_onednn_isa(void);
/// OpenMP threads oneDNN's primitives use, called from the thread that runs them.
void ddp_onednn_set_threads(int threads);

/// Runs body(context, begin, end) on disjoint ranges covering 0..<count on `threads` of
/// oneDNN's OpenMP threads (the caller's flush-to-zero carried over). Returns 0, having run
/// nothing, when oneDNN is not loaded.
typedef void (*ddp_parallel_body)(void *context, long begin, long end);
int ddp_parallel_for(long count, int threads, ddp_parallel_body body, void *context);

typedef struct ddp_conv ddp_conv;

/// The passes of a convolution, for `bf16` below: each one given reads bfloat16.
enum { DDP_BF16_FORWARD = 1, DDP_BF16_BACKWARD_DATA = 2, DDP_BF16_BACKWARD_WEIGHTS = 4 };

/// A convolution of a (c, n, h, w) input with k filters of size kernel x kernel, for one batch
/// size, in `groups` groups (1: ungrouped; weights (k, c / groups, kernel, kernel), PyTorch's);
/// Winograd's F(4x4, 3x3) when `winograd` is 1, the convolution is ungrouped and oneDNN has it
/// for this shape and `bf16` is 0, else direct. The passes in the mask `bf16` (DDP_BF16_*) read x,
/// the weights and dy as bfloat16 (converted from the caller's float32 inside the workspace);
/// every pass writes y, dx and dw in float32.
/// The activations' batch stride is `batch_stride` samples (>= n): the n samples may be a run
/// of a larger (c, batch_stride, h, w) batch, x, y, dy and dx then pointing at its first sample.
/// With `single_thread` 1 the primitives are planned for one thread: one part of a batch that
/// `ddp_parallel_for`'s threads split. `x_block` and `y_block` give the layouts of x and dx, and
/// of y and dy: 0 for (C, B, H, W) as above, 8 or 16 for oneDNN's blocked nChw8c / nChw16c
/// (n, c / block, h, w, block) float32, where a run of n samples is contiguous (batch_stride then
/// plays no part) and the channels must be a multiple of the block. NULL on failure, with the
/// reason in `error`.
ddp_conv *ddp_conv_create(int n, int batch_stride, int c, int k, int h, int w, int kernel, int stride, int pad,
                          int groups, int bias, int winograd, int bf16, int single_thread, int x_block, int y_block,
                          char *error, size_t error_size);
void ddp_conv_destroy(ddp_conv *conv);
/// Floats of workspace every call needs (blocked copies and oneDNN's scratchpad).
size_t ddp_conv_workspace_floats(const ddp_conv *conv);
/// The implementation oneDNN chose: 0 forward, 1 backward data, 2 backward weights.
const char *ddp_conv_implementation(const ddp_conv *conv, int which);

/// y (k, n, oh, ow) = conv(x (c, n, h, w), w (k, c / groups, kh, kw)) + bias (k, or NULL). 0 on success.
int ddp_conv_forward(ddp_conv *conv, const float *x, const float *weights, const float *bias, float *y,
                     float *workspace);
/// After a training step's first backward, the forward keeps its converted x for the backward
/// that follows (which then reads that copy, not x): call this when x changes without a
/// forward through this primitive (a forward computed elsewhere).
void ddp_conv_forget_input(ddp_conv *conv);
/// dw (k, c / groups, kh, kw) = dL/dw (overwritten, or added to when accumulate is 1), and when dx is not
/// NULL, dx (c, n, h, w) = dL/dx (overwritten). 0 on success.
int ddp_conv_backward(ddp_conv *conv, const float *x, const float *dy, const float *weights, float *dw,
                      int accumulate, float *dx, float *workspace);

/// 0: bfloat16 inputs reach oneDNN's blocked format through its own reorders; 1 (the default):
/// through the program's conversion where the CPU has AVX512_BF16 (the same bits, about 3x
/// faster). For tests; DDP_TRAIN_FAST_CONVERSIONS=0 turns the conversion off for a run.
void ddp_conv_set_fast_conversions(int on);
/// How many of the convolution's inputs (x forward, x and dy backward) the program's
/// conversion brings into bfloat16 (0 in float32, or where the CPU cannot).
int ddp_conv_program_conversions(const ddp_conv *conv);

#endif
