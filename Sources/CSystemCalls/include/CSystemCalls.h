// Linux calls that Swift's Glibc module does not expose (glibc declares them only under
// _GNU_SOURCE or in headers the module leaves out), for WebSocketClient.
//
// Waking an I/O thread from poll() without a descriptor of its own (issue 17): each
// connection's I/O thread keeps SIGURG blocked except while it waits in ppoll(), and
// other threads wake it with pthread_kill(). A wake-up pipe cost every connection two
// descriptors more than its socket, which capped listen mode at a third of `ulimit -n`.
#ifndef WSC_CSYSTEMCALLS_H
#define WSC_CSYSTEMCALLS_H

#include <poll.h>
#include <pthread.h>
#include <sys/types.h>

/// Installs a handler for the wake-up signal (SIGURG) that does nothing, once per
/// process; a handler the program installed itself is kept (any handler interrupts
/// ppoll). Returns 0 or an errno value.
int wsc_wake_install(void);

/// Blocks the wake-up signal in the calling thread, so that it stays pending until the
/// thread waits in `wsc_wake_poll`. Returns 0 or an errno value.
int wsc_wake_block(void);

/// poll() on `fds` for at most `timeout_ms` (-1: no limit), with the wake-up signal
/// unblocked for the duration only, atomically (ppoll): a wake-up sent before the call
/// makes it return at once with EINTR, and one sent during it interrupts it.
int wsc_wake_poll(struct pollfd *fds, nfds_t count, int timeout_ms);

/// Sends the wake-up signal to `thread`, which must be running. Returns 0 or an errno value.
int wsc_wake_thread(pthread_t thread);

/// getrandom(2) with no flags: up to `count` bytes from the kernel's CSPRNG. Returns the
/// number of bytes written (fewer than asked past 256 if a signal came), or -1 with errno.
ssize_t wsc_getrandom(void *buffer, size_t count);

#endif
