#include "image_codecs.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

// Images larger than this many pixels are refused before any allocation.
#define DDP_MAX_PIXELS (1L << 28)

int ddp_image_kind(const unsigned char *data, size_t size) {
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 8 && memcmp(data, png, 8) == 0) return 1;
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return 2;
    return 0;
}

static int decode_png(const unsigned char *data, size_t size, unsigned char **pixels, int *width, int *height,
                      int *channels, char *error, size_t error_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        snprintf(error, error_size, "not a readable PNG: %s", image.message);
        return -1;
    }
    if ((long)image.width * (long)image.height > DDP_MAX_PIXELS) {
        snprintf(error, error_size, "PNG of %u x %u pixels is larger than %ld pixels", image.width, image.height, DDP_MAX_PIXELS);
        png_image_free(&image);
        return -1;
    }
    int colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
    int alpha = (image.format & PNG_FORMAT_FLAG_ALPHA) != 0;
    // Read with the alpha channel when there is one (then drop it), so that nothing is
    // composited onto a background: the colour values are kept as stored.
    image.format = (colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY) | (alpha ? PNG_FORMAT_FLAG_ALPHA : 0);
    int stored = (colour ? 3 : 1) + (alpha ? 1 : 0);
    size_t bytes = (size_t)image.width * image.height * stored;
    unsigned char *buffer = malloc(bytes ? bytes : 1);
    if (!buffer) {
        snprintf(error, error_size, "out of memory for a %u x %u PNG", image.width, image.height);
        png_image_free(&image);
        return -1;
    }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL) || image.warning_or_error != 0) {
        snprintf(error, error_size, "damaged or truncated PNG: %s", image.message[0] ? image.message : "libpng warning");
        free(buffer);
        png_image_free(&image);
        return -1;
    }
    int out = colour ? 3 : 1;
    if (alpha) {
        size_t n = (size_t)image.width * image.height;
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < out; c++) buffer[i * out + c] = buffer[i * stored + c];
    }
    *pixels = buffer;
    *width = (int)image.width;
    *height = (int)image.height;
    *channels = out;
    return 0;
}

static int decode_jpeg(const unsigned char *data, size_t size, unsigned char **pixels, int *width, int *height,
                       int *channels, char *error, size_t error_size) {
    tjhandle handle = tjInitDecompress();
    if (!handle) {
        snprintf(error, error_size, "libjpeg-turbo could not start: %s", tjGetErrorStr2(NULL));
        return -1;
    }
    int w = 0, h = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(handle, data, (unsigned long)size, &w, &h, &subsampling, &colorspace) != 0) {
        snprintf(error, error_size, "not a readable JPEG: %s", tjGetErrorStr2(handle));
        tjDestroy(handle);
        return -1;
    }
    if (w <= 0 || h <= 0 || (long)w * (long)h > DDP_MAX_PIXELS) {
        snprintf(error, error_size, "JPEG of %d x %d pixels: expected 1 to %ld pixels", w, h, DDP_MAX_PIXELS);
        tjDestroy(handle);
        return -1;
    }
    int grey = colorspace == TJCS_GRAY;
    int out = grey ? 1 : 3;
    unsigned char *buffer = malloc((size_t)w * h * out);
    if (!buffer) {
        snprintf(error, error_size, "out of memory for a %d x %d JPEG", w, h);
        tjDestroy(handle);
        return -1;
    }
    // TJFLAG_STOPONWARNING: a truncated file ("premature end of data") is an error, not a
    // picture with a grey bottom. Accurate DCT: the same pixels on every machine.
    int flags = TJFLAG_STOPONWARNING | TJFLAG_ACCURATEDCT;
    if (tjDecompress2(handle, data, (unsigned long)size, buffer, w, 0, h, grey ? TJPF_GRAY : TJPF_RGB, flags) != 0) {
        snprintf(error, error_size, "damaged or truncated JPEG: %s", tjGetErrorStr2(handle));
        free(buffer);
        tjDestroy(handle);
        return -1;
    }
    tjDestroy(handle);
    *pixels = buffer;
    *width = w;
    *height = h;
    *channels = out;
    return 0;
}

int ddp_image_decode(const unsigned char *data, size_t size, unsigned char **pixels, int *width, int *height,
                     int *channels, char *error, size_t error_size) {
    *pixels = NULL;
    switch (ddp_image_kind(data, size)) {
    case 1: return decode_png(data, size, pixels, width, height, channels, error, error_size);
    case 2: return decode_jpeg(data, size, pixels, width, height, channels, error, error_size);
    default:
        snprintf(error, error_size, "not a PNG or JPEG file (its first bytes are neither signature)");
        return -1;
    }
}

void ddp_image_free(unsigned char *pixels) { free(pixels); }
