// zlib for FuzzDeflate, which inflates what ExpositionGzip wrote. The main
// package's CZlib target is not a product, so the fuzz package has its own.
#pragma once
#include <zlib.h>

// inflateInit2 is a macro around inflateInit2_ (it passes the library's
// version and the stream's size), which Swift cannot expand.
// windowBits 15 + 16: a gzip stream (zlib checks the header, CRC-32 and
// ISIZE); -15: raw DEFLATE, no wrapper at all.
static inline int cfuzz_inflate_init2(z_stream *s, int window_bits) {
    return inflateInit2(s, window_bits);
}
