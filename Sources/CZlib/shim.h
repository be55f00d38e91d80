#ifndef WSC_CZLIB_SHIM_H
#define WSC_CZLIB_SHIM_H

#include <zlib.h>

// deflateInit2 and inflateInit2 are macros over deflateInit2_/inflateInit2_ (they pass the
// library version and the size of z_stream), so Swift cannot call them directly.
static inline int wsc_deflateInit2(z_streamp strm, int level, int method, int windowBits, int memLevel,
                                   int strategy) {
  return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}

static inline int wsc_inflateInit2(z_streamp strm, int windowBits) {
  return inflateInit2(strm, windowBits);
}

#endif
