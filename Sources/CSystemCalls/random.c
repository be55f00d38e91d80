#include "CSystemCalls.h"

#include <sys/random.h>
#include <unistd.h>

ssize_t wsc_getrandom(void *buffer, size_t count) {
#if defined(__linux__)
  return getrandom(buffer, count, 0);
#else
  // getentropy elsewhere: at most 256 bytes a call.
  size_t n = count < 256 ? count : 256;
  return getentropy(buffer, n) == 0 ? (ssize_t)n : -1;
#endif
}
