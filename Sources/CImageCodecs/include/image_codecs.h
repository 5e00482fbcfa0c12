// PNG (libpng's simplified API) and JPEG (libjpeg-turbo's TurboJPEG API) decoding from memory,
// for image folders and tar shards. No setjmp crosses into Swift: every failure is a return
// code and a message.
#ifndef DDP_IMAGE_CODECS_H
#define DDP_IMAGE_CODECS_H
#include <stddef.h>

/// Which decoder the first bytes call for: 1 PNG, 2 JPEG, 0 neither.
int ddp_image_kind(const unsigned char *data, size_t size);

/// Decodes a PNG or JPEG held in `data` into 8-bit pixels, row-major and interleaved
/// (height x width x channels), as stored: 1 channel for a grey image, 3 for a colour one;
/// an alpha channel is dropped. On success returns 0 and `*pixels` (free with
/// ddp_image_free); on failure returns -1 with the reason in `error`. A truncated or damaged
/// file is a failure, also where the library would only warn.
int ddp_image_decode(const unsigned char *data, size_t size, unsigned char **pixels, int *width, int *height,
                     int *channels, char *error, size_t error_size);

void ddp_image_free(unsigned char *pixels);

#endif
