#include <zlib.h>

// deflateInit2 is a macro around deflateInit2_ (it passes the library's
// version and the stream's size), which Swift cannot expand.
static inline int czlib_deflate_init_gzip(z_stream *s, int level) {
    return deflateInit2(s, level, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY);
}

// inflateInit2 likewise (used by tests to read gzip back).
static inline int czlib_inflate_init_gzip(z_stream *s) {
    return inflateInit2(s, 15 + 16);
}
