// System libjpeg (Debian: libjpeg-dev / libjpeg62-turbo-dev), used by the jpeg_compression
// corruption to encode and decode JPEG in memory.
//
// libjpeg reports fatal errors through error_exit, which by default calls exit(). Swift cannot
// catch a longjmp, so the two entry points below wrap a whole encode or decode in setjmp and
// turn an error into a return code and a message. All state that must survive the longjmp lives
// in one heap block whose pointer is set before setjmp and never changed.
#ifndef NSDE_CJPEG_SHIM_H
#define NSDE_CJPEG_SHIM_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

/// Error manager: libjpeg's plus the jump target and the formatted message.
typedef struct nsde_jpeg_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} nsde_jpeg_error_mgr;

static inline void nsde_jpeg_error_exit(j_common_ptr cinfo) {
    nsde_jpeg_error_mgr *err = (nsde_jpeg_error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

/// Warnings and trace messages are dropped (the default prints them to stderr).
static inline void nsde_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

/// Growable in-memory destination.
typedef struct nsde_jpeg_destination {
    struct jpeg_destination_mgr pub;
    unsigned char *data;
    size_t capacity;
    size_t size;
} nsde_jpeg_destination;

static inline void nsde_jpeg_init_destination(j_compress_ptr cinfo) {
    nsde_jpeg_destination *d = (nsde_jpeg_destination *)cinfo->dest;
    d->pub.next_output_byte = d->data;
    d->pub.free_in_buffer = d->capacity;
}

static inline boolean nsde_jpeg_empty_output_buffer(j_compress_ptr cinfo) {
    nsde_jpeg_destination *d = (nsde_jpeg_destination *)cinfo->dest;
    size_t grown = d->capacity * 2;
    unsigned char *p = (unsigned char *)realloc(d->data, grown);
    if (p == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 99);
    // libjpeg's contract: when called, the whole buffer is full.
    d->pub.next_output_byte = p + d->capacity;
    d->pub.free_in_buffer = grown - d->capacity;
    d->data = p;
    d->capacity = grown;
    return TRUE;
}

static inline void nsde_jpeg_term_destination(j_compress_ptr cinfo) {
    nsde_jpeg_destination *d = (nsde_jpeg_destination *)cinfo->dest;
    d->size = d->capacity - d->pub.free_in_buffer;
}

typedef struct nsde_jpeg_encoder {
    struct jpeg_compress_struct cinfo;
    nsde_jpeg_error_mgr err;
    nsde_jpeg_destination dest;
} nsde_jpeg_encoder;

/// Encodes interleaved 8-bit pixels (`components` = 1: greyscale, 3: RGB) as a baseline JPEG
/// with libjpeg's defaults (standard IJG tables scaled by `quality`, 4:2:0 chroma subsampling for
/// RGB, standard Huffman tables, integer DCT), as Pillow does.
///
/// Returns 0 and a malloc'ed buffer in `*out` (`*out_size` bytes; the caller frees it), or -1
/// with a message in `message` (at most `message_capacity` bytes, NUL-terminated).
static inline int nsde_jpeg_encode(const unsigned char *pixels, int width, int height, int components,
                                   int quality, unsigned char **out, size_t *out_size,
                                   char *message, size_t message_capacity) {
    *out = NULL;
    *out_size = 0;
    if (components != 1 && components != 3) {
        snprintf(message, message_capacity, "unsupported component count %d (expected 1 or 3)", components);
        return -1;
    }
    nsde_jpeg_encoder *const e = (nsde_jpeg_encoder *)calloc(1, sizeof(nsde_jpeg_encoder));
    if (e == NULL) { snprintf(message, message_capacity, "out of memory"); return -1; }
    e->dest.capacity = (size_t)width * (size_t)height * (size_t)components + 4096;
    e->dest.data = (unsigned char *)malloc(e->dest.capacity);
    if (e->dest.data == NULL) { free(e); snprintf(message, message_capacity, "out of memory"); return -1; }
    e->cinfo.err = jpeg_std_error(&e->err.pub);
    e->err.pub.error_exit = nsde_jpeg_error_exit;
    e->err.pub.output_message = nsde_jpeg_output_message;
    if (setjmp(e->err.jump)) {
        snprintf(message, message_capacity, "%s", e->err.message);
        jpeg_destroy_compress(&e->cinfo);
        free(e->dest.data);
        free(e);
        return -1;
    }
    jpeg_create_compress(&e->cinfo);
    e->dest.pub.init_destination = nsde_jpeg_init_destination;
    e->dest.pub.empty_output_buffer = nsde_jpeg_empty_output_buffer;
    e->dest.pub.term_destination = nsde_jpeg_term_destination;
    e->cinfo.dest = &e->dest.pub;
    e->cinfo.image_width = (JDIMENSION)width;
    e->cinfo.image_height = (JDIMENSION)height;
    e->cinfo.input_components = components;
    e->cinfo.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&e->cinfo);
    jpeg_set_quality(&e->cinfo, quality, TRUE);
    jpeg_start_compress(&e->cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)components;
    while (e->cinfo.next_scanline < e->cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)e->cinfo.next_scanline * stride);
        jpeg_write_scanlines(&e->cinfo, &row, 1);
    }
    jpeg_finish_compress(&e->cinfo);
    jpeg_destroy_compress(&e->cinfo);
    *out = e->dest.data;
    *out_size = e->dest.size;
    free(e);
    return 0;
}

typedef struct nsde_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    nsde_jpeg_error_mgr err;
} nsde_jpeg_decoder;

/// Decodes a JPEG held in memory into `pixels` (`width` x `height` x `components` bytes,
/// interleaved), with libjpeg's default decoder settings (integer IDCT, fancy upsampling).
/// The stream must have exactly the given size; it is converted to `components` (1: greyscale,
/// 3: RGB).
///
/// Returns 0, or -1 with a message as in `nsde_jpeg_encode`.
static inline int nsde_jpeg_decode(const unsigned char *jpeg, size_t jpeg_size, unsigned char *pixels,
                                   int width, int height, int components,
                                   char *message, size_t message_capacity) {
    if (components != 1 && components != 3) {
        snprintf(message, message_capacity, "unsupported component count %d (expected 1 or 3)", components);
        return -1;
    }
    nsde_jpeg_decoder *const d = (nsde_jpeg_decoder *)calloc(1, sizeof(nsde_jpeg_decoder));
    if (d == NULL) { snprintf(message, message_capacity, "out of memory"); return -1; }
    d->cinfo.err = jpeg_std_error(&d->err.pub);
    d->err.pub.error_exit = nsde_jpeg_error_exit;
    d->err.pub.output_message = nsde_jpeg_output_message;
    if (setjmp(d->err.jump)) {
        snprintf(message, message_capacity, "%s", d->err.message);
        jpeg_destroy_decompress(&d->cinfo);
        free(d);
        return -1;
    }
    jpeg_create_decompress(&d->cinfo);
    jpeg_mem_src(&d->cinfo, (const unsigned char *)jpeg, (unsigned long)jpeg_size);
    jpeg_read_header(&d->cinfo, TRUE);
    d->cinfo.out_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_start_decompress(&d->cinfo);
    if ((int)d->cinfo.output_width != width || (int)d->cinfo.output_height != height
        || d->cinfo.output_components != components) {
        snprintf(message, message_capacity, "decoded %ux%ux%d, expected %dx%dx%d",
                 (unsigned)d->cinfo.output_width, (unsigned)d->cinfo.output_height, d->cinfo.output_components,
                 width, height, components);
        jpeg_destroy_decompress(&d->cinfo);
        free(d);
        return -1;
    }
    size_t stride = (size_t)width * (size_t)components;
    while (d->cinfo.output_scanline < d->cinfo.output_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)d->cinfo.output_scanline * stride);
        jpeg_read_scanlines(&d->cinfo, &row, 1);
    }
    jpeg_finish_decompress(&d->cinfo);
    jpeg_destroy_decompress(&d->cinfo);
    free(d);
    return 0;
}

#endif
