// ppoll is a GNU extension in glibc's headers, which Swift's Glibc module does not
// expose: hence this file.
#define _GNU_SOURCE
#include "CSystemCalls.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

// SIGURG: ignored by default, so a stray one harms nothing, and the kernel only sends it
// for out-of-band TCP data to a socket's owner (F_SETOWN), which wsc never sets. Go's
// runtime chose it for goroutine preemption for the same reasons.
#define WSC_WAKE_SIGNAL SIGURG

static void wsc_wake_handler(int signo) { (void)signo; }

static pthread_once_t wsc_wake_once = PTHREAD_ONCE_INIT;
static int wsc_wake_install_error = 0;

static void wsc_wake_install_once(void) {
  struct sigaction current;
  if (sigaction(WSC_WAKE_SIGNAL, NULL, &current) != 0) {
    wsc_wake_install_error = errno;
    return;
  }
  if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) return;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = wsc_wake_handler;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: ppoll is never restarted after a handler, whatever the flags (signal(7)),
  // so a wake-up still ends the wait; but a SIGURG from outside (kill -URG), which may land
  // on any thread that does not block it, then restarts that thread's read or write
  // instead of failing it with EINTR.
  action.sa_flags = SA_RESTART;
  if (sigaction(WSC_WAKE_SIGNAL, &action, NULL) != 0) wsc_wake_install_error = errno;
}

int wsc_wake_install(void) {
  pthread_once(&wsc_wake_once, wsc_wake_install_once);
  return wsc_wake_install_error;
}

// The mask the calling thread waits with: its own, with the wake-up signal let through.
static _Thread_local sigset_t wsc_wake_poll_mask;
static _Thread_local int wsc_wake_blocked = 0;

int wsc_wake_block(void) {
  sigset_t block, previous;
  sigemptyset(&block);
  sigaddset(&block, WSC_WAKE_SIGNAL);
  int rc = pthread_sigmask(SIG_BLOCK, &block, &previous);
  if (rc != 0) return rc;
  sigdelset(&previous, WSC_WAKE_SIGNAL);
  wsc_wake_poll_mask = previous;
  wsc_wake_blocked = 1;
  return 0;
}

int wsc_wake_poll(struct pollfd *fds, nfds_t count, int timeout_ms) {
  // A thread that never blocked the signal cannot be woken by it: plain poll.
  if (!wsc_wake_blocked) return poll(fds, count, timeout_ms);
#if defined(__linux__)
  struct timespec limit;
  struct timespec *timeout = NULL;
  if (timeout_ms >= 0) {
    limit.tv_sec = timeout_ms / 1000;
    limit.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    timeout = &limit;
  }
  return ppoll(fds, count, timeout, &wsc_wake_poll_mask);
#else
#error "wsc wakes its I/O threads with ppoll(), which this platform does not have"
#endif
}

int wsc_wake_thread(pthread_t thread) { return pthread_kill(thread, WSC_WAKE_SIGNAL); }
