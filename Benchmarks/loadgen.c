/*
 * Load generator for Benchmarks/listen_scale.py (issue 17): many WebSocket clients in one
 * process, on one epoll loop, so that the server under test is the bottleneck.
 *
 *   loadgen PORT CLIENTS MESSAGES [--send K SIZE] [--timeout SECONDS]
 *
 * 1. Opens CLIENTS connections to 127.0.0.1:PORT, at most 100 handshakes in flight (under
 *    a listen backlog of 128, so no SYN is dropped and retried a second later). Each
 *    sends the same opening request; the answer must be 101 with the right
 *    Sec-WebSocket-Accept. Prints "open CLIENTS SECONDS" once all are open.
 * 2. Waits for a line on stdin: the driver samples the server while every client is
 *    connected and idle, then starts the load. Prints "go".
 * 3. With --send K SIZE, every client sends K masked text messages of SIZE bytes (for an
 *    echo server). Then every client counts the text messages it receives, until it has
 *    MESSAGES. Prints "done SECONDS FIRST P50 P99 LAST": the time from "go" until the
 *    last client had all of its messages, and when the first, median, 99th-percentile and
 *    last client did (fairness: how far apart they finish).
 *
 * Every wait is bounded by --timeout (default 300 s over the whole run): then it prints
 * "timeout PHASE OPEN FINISHED FEWEST" and exits 1. A refused handshake, a Close from the
 * server, a reset or a protocol error in what the server sends prints "failed REASON" and
 * exits 1. Frames from the server are parsed in full (7-, 16- and 64-bit lengths,
 * fragments, control frames between fragments); a Ping is not answered.
 *
 * Built by listen_scale.py with `cc -O2 -o loadgen loadgen.c -lcrypto`; not part of the
 * product.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, HANDSHAKE, OPEN };

struct client {
  int fd;
  enum state state;
  char head[1024]; /* the response head, until its blank line */
  size_t head_len;
  size_t sent;     /* bytes of the request, then of the messages, written so far */
  unsigned char hdr[14];
  size_t hdr_len;
  uint64_t payload_left; /* of the current frame */
  int in_frame;          /* a header was parsed; its payload is being skipped */
  int fin, opcode, message_opcode;
  long messages;
  double finished; /* seconds after go; < 0 until all MESSAGES arrived */
};

static const char *KEY = "dGhlIHNhbXBsZSBub25jZQ==";
static char expected_accept[64];
static char request[256];
static size_t request_len;
static unsigned char *outgoing; /* K prebuilt masked frames, the same for every client */
static size_t outgoing_len;
static long want;
static struct client *clients;
static int nclients;
static int epfd;
static double t0, go_time;
static double deadline;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what, int index) {
  printf("failed client %d: %s\n", index, what);
  fflush(stdout);
  exit(1);
}

static void compute_accept(void) {
  char buf[128];
  unsigned char digest[SHA_DIGEST_LENGTH];
  snprintf(buf, sizeof buf, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", KEY);
  SHA1((unsigned char *)buf, strlen(buf), digest);
  EVP_EncodeBlock((unsigned char *)expected_accept, digest, SHA_DIGEST_LENGTH);
}

static void start_connect(int i, int port) {
  struct client *c = &clients[i];
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(strerror(errno), i);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) fail(strerror(errno), i);
  c->fd = fd;
  c->state = CONNECTING;
  c->finished = -1;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) fail(strerror(errno), i);
}

/* Writes what is left of `data`; returns 1 when all of it is out. */
static int write_rest(struct client *c, int i, const void *data, size_t len) {
  while (c->sent < len) {
    ssize_t n = write(c->fd, (const char *)data + c->sent, len - c->sent);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      fail(strerror(errno), i);
    }
    c->sent += (size_t)n;
  }
  return 1;
}

static void want_events(struct client *c, uint32_t events, int i) {
  struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)i};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail(strerror(errno), i);
}

/* A frame's payload has been consumed: count a complete text message. */
static void end_frame(struct client *c, int i) {
  c->in_frame = 0;
  if (c->opcode == 8) fail("the server sent a Close", i);
  if (c->opcode < 8 && c->fin) {
    if (c->message_opcode == 1) c->messages++;
    if (c->messages == want && c->finished < 0) c->finished = now() - go_time;
  }
}

/* Frames from the server: counts complete data messages. */
static void feed(struct client *c, int i, const unsigned char *p, size_t n) {
  while (n > 0) {
    if (c->in_frame) {
      uint64_t take = c->payload_left < n ? c->payload_left : n;
      c->payload_left -= take;
      p += take;
      n -= take;
      if (c->payload_left > 0) return;
      end_frame(c, i);
      continue;
    }
    c->hdr[c->hdr_len++] = *p++;
    n--;
    if (c->hdr_len < 2) continue;
    if (c->hdr[1] & 0x80) fail("a masked frame from the server", i);
    size_t need = 2;
    unsigned len7 = c->hdr[1] & 0x7f;
    if (len7 == 126) need = 4;
    if (len7 == 127) need = 10;
    if (c->hdr_len < need) continue;
    uint64_t len = len7;
    if (len7 == 126) len = ((uint64_t)c->hdr[2] << 8) | c->hdr[3];
    if (len7 == 127) {
      len = 0;
      for (int k = 2; k < 10; k++) len = (len << 8) | c->hdr[k];
    }
    c->fin = c->hdr[0] >> 7;
    c->opcode = c->hdr[0] & 0x0f;
    if (c->opcode == 1 || c->opcode == 2) c->message_opcode = c->opcode;
    else if (c->opcode != 0 && c->opcode < 8) fail("a reserved opcode", i);
    c->payload_left = len;
    c->hdr_len = 0;
    c->in_frame = 1;
    if (len == 0) end_frame(c, i);
  }
}

/* Returns 1 when the client's handshake just completed. */
static int on_event(int i, uint32_t events, int sending) {
  struct client *c = &clients[i];
  static unsigned char buf[65536];
  if (c->state == CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) fail(strerror(err), i);
    if (!(events & EPOLLOUT)) return 0;
    c->state = HANDSHAKE;
    c->sent = 0;
  }
  if (c->state == HANDSHAKE) {
    if (c->sent < request_len) {
      if (!write_rest(c, i, request, request_len)) return 0;
      want_events(c, EPOLLIN, i);
    }
    ssize_t n = read(c->fd, c->head + c->head_len, sizeof c->head - 1 - c->head_len);
    if (n == 0) fail("the server closed the connection during the handshake", i);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      fail(strerror(errno), i);
    }
    c->head_len += (size_t)n;
    c->head[c->head_len] = 0;
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end) {
      if (c->head_len >= sizeof c->head - 1) fail("a response head over 1 KiB", i);
      return 0;
    }
    if (strncmp(c->head, "HTTP/1.1 101", 12) != 0) fail("the handshake was refused", i);
    if (!strcasestr(c->head, expected_accept)) fail("a wrong Sec-WebSocket-Accept", i);
    c->state = OPEN;
    c->sent = 0;
    size_t extra = c->head_len - (size_t)(end + 4 - c->head);
    if (extra) feed(c, i, (unsigned char *)end + 4, extra);
    return 1;
  }
  if (sending && c->sent < outgoing_len && (events & EPOLLOUT)) {
    if (write_rest(c, i, outgoing, outgoing_len)) want_events(c, EPOLLIN, i);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    for (int reads = 0; reads < 16; reads++) {
      ssize_t n = read(c->fd, buf, sizeof buf);
      if (n == 0) fail("the server closed the connection", i);
      if (n < 0) {
        if (errno == EAGAIN) break;
        fail(strerror(errno), i);
      }
      feed(c, i, buf, (size_t)n);
    }
  }
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void timeout(const char *phase, int open) {
  int finished = 0;
  long fewest = -1;
  for (int i = 0; i < nclients; i++) {
    if (clients[i].finished >= 0) finished++;
    if (fewest < 0 || clients[i].messages < fewest) fewest = clients[i].messages;
  }
  printf("timeout %s %d %d %ld\n", phase, open, finished, fewest);
  fflush(stdout);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: loadgen PORT CLIENTS MESSAGES [--send K SIZE] [--timeout SECONDS]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  nclients = atoi(argv[2]);
  want = atol(argv[3]);
  long send_count = 0, send_size = 0;
  double limit = 300;
  for (int a = 4; a < argc; a++) {
    if (!strcmp(argv[a], "--send") && a + 2 < argc) {
      send_count = atol(argv[++a]);
      send_size = atol(argv[++a]);
    } else if (!strcmp(argv[a], "--timeout") && a + 1 < argc) {
      limit = atof(argv[++a]);
    } else {
      fprintf(stderr, "loadgen: unknown argument %s\n", argv[a]);
      return 2;
    }
  }
  if (nclients <= 0 || want < 0 || send_size < 0 || send_size > 125) {
    fprintf(stderr, "loadgen: CLIENTS > 0, MESSAGES >= 0, SIZE at most 125\n");
    return 2;
  }
  compute_accept();
  request_len = (size_t)snprintf(request, sizeof request,
                                 "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n",
                                 port, KEY);
  outgoing_len = (size_t)send_count * (size_t)(send_size + 6);
  outgoing = malloc(outgoing_len ? outgoing_len : 1);
  for (long k = 0; k < send_count; k++) {
    unsigned char *f = outgoing + k * (send_size + 6);
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f[0] = 0x81;
    f[1] = 0x80 | (unsigned char)send_size;
    memcpy(f + 2, mask, 4);
    for (long b = 0; b < send_size; b++) f[6 + b] = (unsigned char)('a' ^ mask[b % 4]);
  }
  clients = calloc((size_t)nclients, sizeof *clients);
  for (int i = 0; i < nclients; i++) clients[i].finished = -1;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  t0 = now();
  deadline = t0 + limit;
  struct epoll_event events[256];

  int started = 0, open = 0, in_flight = 0;
  while (open < nclients) {
    while (started < nclients && in_flight < 100) {
      start_connect(started++, port);
      in_flight++;
    }
    if (now() > deadline) timeout("connect", open);
    int n = epoll_wait(epfd, events, 256, 1000);
    for (int k = 0; k < n; k++) {
      if (on_event((int)events[k].data.u32, events[k].events, 0)) {
        open++;
        in_flight--;
      }
    }
  }
  printf("open %d %.3f\n", nclients, now() - t0);
  fflush(stdout);

  struct pollfd in = {.fd = 0, .events = POLLIN};
  for (;;) {
    if (now() > deadline) timeout("idle", open);
    /* Keep reading while idle: a server may send something (its greeting). */
    int n = epoll_wait(epfd, events, 256, 0);
    for (int k = 0; k < n; k++) on_event((int)events[k].data.u32, events[k].events, 0);
    if (poll(&in, 1, 100) > 0) break;
  }
  char line[64];
  if (!fgets(line, sizeof line, stdin)) {
    printf("failed: stdin ended before go\n");
    return 1;
  }
  go_time = now();
  if (want == 0) {
    for (int i = 0; i < nclients; i++) clients[i].finished = 0;
  }
  printf("go\n");
  fflush(stdout);
  if (outgoing_len) {
    for (int i = 0; i < nclients; i++) want_events(&clients[i], EPOLLIN | EPOLLOUT, i);
  }
  for (;;) {
    int finished = 0;
    for (int i = 0; i < nclients; i++) finished += clients[i].finished >= 0;
    if (finished == nclients) break;
    if (now() > deadline) timeout("load", open);
    int n = epoll_wait(epfd, events, 256, 1000);
    for (int k = 0; k < n; k++) on_event((int)events[k].data.u32, events[k].events, 1);
  }
  double *times = malloc(sizeof(double) * (size_t)nclients);
  for (int i = 0; i < nclients; i++) times[i] = clients[i].finished;
  qsort(times, (size_t)nclients, sizeof(double), cmp_double);
  printf("done %.3f %.3f %.3f %.3f %.3f\n", times[nclients - 1], times[0], times[nclients / 2],
         times[(int)(nclients * 0.99)], times[nclients - 1]);
  fflush(stdout);
  return 0;
}
