#include "CSystemCalls.h"

#include <sys/random.h>

ssize_t wsc_getrandom(void *buffer, size_t count) { return getrandom(buffer, count, 0); }
