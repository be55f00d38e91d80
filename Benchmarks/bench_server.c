/*
 * Benchmark peer for Benchmarks/compare.py: a one-connection server on 127.0.0.1
 * that is never the bottleneck. It prints its port, accepts one client, and:
 *
 *   send N SIZE   answers the WebSocket handshake, writes N prebuilt text frames of
 *                 SIZE bytes in large chunks, then Close 1000; waits for the client's
 *                 Close (or EOF) and closes TCP first (RFC 6455 §7.1.1).
 *   count         answers the handshake, counts the client's data messages and their
 *                 bytes without unmasking, answers its Close; prints "MESSAGES BYTES".
 *   echo          answers the handshake, echoes text messages unmasked, answers Close.
 *   rawsend N SIZE  no WebSocket: writes N lines of SIZE-1 bytes + "\n" (the TCP floor).
 *   rawcount      no WebSocket: counts bytes and newlines until EOF; prints "LINES BYTES".
 *
 * Built by compare.py with `cc -O2`; not part of the product.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* SHA-1 and base64, just enough for Sec-WebSocket-Accept. */
static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
static void sha1(const unsigned char *msg, size_t len, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  size_t total = ((len + 8) / 64 + 1) * 64;
  unsigned char *buf = calloc(total, 1);
  memcpy(buf, msg, len);
  buf[len] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) buf[total - 1 - i] = (unsigned char)(bits >> (8 * i));
  for (size_t off = 0; off < total; off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
      w[i] = (uint32_t)buf[off + 4 * i] << 24 | (uint32_t)buf[off + 4 * i + 1] << 16 |
             (uint32_t)buf[off + 4 * i + 2] << 8 | buf[off + 4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
      else { f = b ^ c ^ d; k = 0xCA62C1D6; }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  free(buf);
  for (int i = 0; i < 5; i++) for (int j = 0; j < 4; j++) out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}
static void base64(const unsigned char *in, size_t len, char *out) {
  static const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < len ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < len ? t[v & 63] : '=';
  }
  out[o] = 0;
}

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) exit(3);
    c += w;
    n -= (size_t)w;
  }
}

/* Reads the request head and answers 101; returns bytes read past the head in `extra`. */
static size_t handshake(int fd, unsigned char *extra, size_t cap) {
  char req[16384];
  size_t n = 0;
  char *end = NULL;
  while (!end) {
    ssize_t r = read(fd, req + n, sizeof req - 1 - n);
    if (r <= 0) exit(2);
    n += (size_t)r;
    req[n] = 0;
    end = strstr(req, "\r\n\r\n");
  }
  char *key = strcasestr(req, "Sec-WebSocket-Key:");
  if (!key) exit(2);
  key += 18;
  while (*key == ' ') key++;
  char k[128];
  size_t kl = strcspn(key, "\r\n");
  if (kl > 60) exit(2);
  memcpy(k, key, kl);
  strcpy(k + kl, GUID);
  unsigned char digest[20];
  sha1((unsigned char *)k, strlen(k), digest);
  char accept[64];
  base64(digest, 20, accept);
  char resp[256];
  int rl = snprintf(resp, sizeof resp,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
  write_all(fd, resp, (size_t)rl);
  size_t head = (size_t)(end + 4 - req);
  size_t rest = n - head;
  if (rest > cap) exit(2);
  memcpy(extra, req + head, rest);
  return rest;
}

static size_t frame_header(unsigned char *h, int opcode, uint64_t len) {
  h[0] = (unsigned char)(0x80 | opcode);
  if (len < 126) { h[1] = (unsigned char)len; return 2; }
  if (len < 65536) { h[1] = 126; h[2] = (unsigned char)(len >> 8); h[3] = (unsigned char)len; return 4; }
  h[1] = 127;
  for (int i = 0; i < 8; i++) h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
  return 10;
}

/* Incremental parse of client frames. Returns 1 when a Close frame was seen. */
struct parser {
  unsigned char hdr[14];
  size_t hlen;
  uint64_t remaining;
  int in_payload, opcode, fin, masked;
  unsigned char mask[4];
  uint64_t pos;
  unsigned char *msg; /* echo mode: the current message */
  size_t msglen, msgcap;
  unsigned long long messages, bytes;
};

static int feed(struct parser *p, const unsigned char *b, size_t n, int fd, int echo) {
  size_t i = 0;
  while (i < n) {
    if (!p->in_payload) {
      p->hdr[p->hlen++] = b[i++];
      if (p->hlen < 2) continue;
      size_t need = 2;
      int l7 = p->hdr[1] & 0x7f;
      if (l7 == 126) need += 2; else if (l7 == 127) need += 8;
      if (p->hdr[1] & 0x80) need += 4;
      if (p->hlen < need) continue;
      uint64_t len = (uint64_t)l7;
      size_t o = 2;
      if (l7 == 126) { len = (uint64_t)p->hdr[2] << 8 | p->hdr[3]; o = 4; }
      else if (l7 == 127) { len = 0; for (int k = 0; k < 8; k++) len = len << 8 | p->hdr[2 + k]; o = 10; }
      p->masked = p->hdr[1] & 0x80;
      if (p->masked) memcpy(p->mask, p->hdr + o, 4);
      p->opcode = p->hdr[0] & 0x0f;
      p->fin = p->hdr[0] & 0x80;
      p->remaining = len;
      p->pos = 0;
      p->in_payload = 1;
      p->hlen = 0;
    }
    size_t take = n - i < p->remaining ? n - i : (size_t)p->remaining;
    if (echo && p->opcode != 8) {
      if (p->msglen + take > p->msgcap) {
        p->msgcap = (p->msglen + take) * 2;
        p->msg = realloc(p->msg, p->msgcap);
      }
      for (size_t k = 0; k < take; k++) p->msg[p->msglen + k] = b[i + k] ^ (p->masked ? p->mask[(p->pos + k) & 3] : 0);
      p->msglen += take;
    }
    p->bytes += p->opcode == 8 ? 0 : take;
    p->pos += take;
    p->remaining -= take;
    i += take;
    if (p->remaining == 0) {
      p->in_payload = 0;
      if (p->opcode == 8) return 1;
      if (p->fin && p->opcode != 9 && p->opcode != 10) {
        p->messages++;
        if (echo) {
          /* One write per frame: header and payload in separate small writes would meet
             Nagle's algorithm and the client's delayed ACK (40 ms). */
          unsigned char *out = malloc(p->msglen + 10);
          size_t hl = frame_header(out, 1, p->msglen);
          memcpy(out + hl, p->msg, p->msglen);
          write_all(fd, out, hl + p->msglen);
          free(out);
          p->msglen = 0;
        }
      }
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  const char *mode = argv[1];
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4)) return 1;
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);
  int fd = accept(ls, NULL, NULL);
  if (fd < 0) return 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static unsigned char buf[1 << 20];

  if (!strcmp(mode, "rawsend") || !strcmp(mode, "send")) {
    long count = atol(argv[2]);
    size_t size = (size_t)atol(argv[3]);
    int ws = !strcmp(mode, "send");
    if (ws) handshake(fd, buf, sizeof buf);
    unsigned char h[10];
    size_t hl = ws ? frame_header(h, 1, size) : 0;
    size_t payload = ws ? size : size; /* raw: SIZE-1 bytes + newline */
    size_t one_len = hl + payload;
    /* A block of whole frames of about 4 MiB, written again and again. */
    long per_block = (long)((4u << 20) / one_len);
    if (per_block < 1) per_block = 1;
    if (per_block > count) per_block = count;
    size_t block_len = (size_t)per_block * one_len;
    unsigned char *block = malloc(block_len);
    for (long k = 0; k < per_block; k++) {
      unsigned char *f = block + (size_t)k * one_len;
      memcpy(f, h, hl);
      memset(f + hl, 'a', payload);
      if (!ws) f[payload - 1] = '\n';
    }
    long sent = 0;
    while (sent < count) {
      long now = count - sent < per_block ? count - sent : per_block;
      write_all(fd, block, (size_t)now * one_len);
      sent += now;
    }
    if (ws) {
      unsigned char close_frame[4] = {0x88, 2, 0x03, 0xe8};
      write_all(fd, close_frame, 4);
      /* Wait for the client's Close, then close TCP first. */
      struct parser p = {0};
      ssize_t r;
      while ((r = read(fd, buf, sizeof buf)) > 0)
        if (feed(&p, buf, (size_t)r, fd, 0)) break;
    } else {
      shutdown(fd, SHUT_WR);
      while (read(fd, buf, sizeof buf) > 0) {}
    }
    close(fd);
    return 0;
  }
  if (!strcmp(mode, "count") || !strcmp(mode, "echo")) {
    int echo = !strcmp(mode, "echo");
    struct parser p = {0};
    size_t extra = handshake(fd, buf, sizeof buf);
    int done = extra ? feed(&p, buf, extra, fd, echo) : 0;
    ssize_t r;
    while (!done && (r = read(fd, buf, sizeof buf)) > 0) done = feed(&p, buf, (size_t)r, fd, echo);
    unsigned char close_frame[4] = {0x88, 2, 0x03, 0xe8};
    write_all(fd, close_frame, 4);
    close(fd);
    printf("%llu %llu\n", p.messages, p.bytes);
    return 0;
  }
  if (!strcmp(mode, "rawcount")) {
    unsigned long long lines = 0, bytes = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
      bytes += (unsigned long long)r;
      for (ssize_t k = 0; k < r; k++) lines += buf[k] == '\n';
    }
    close(fd);
    printf("%llu %llu\n", lines, bytes);
    return 0;
  }
  return 64;
}
