/*
 * Benchmark peer for Benchmarks/compare.py: a one-connection server on 127.0.0.1
 * that is never the bottleneck. It prints its port, accepts one client, and:
 *
 *   send N SIZE   answers the WebSocket handshake, writes N prebuilt text frames of
 *                 SIZE bytes in large chunks, then Close 1000; waits for the client's
 *                 Close (or EOF) and closes TCP first (RFC 6455 §7.1.1). Then prints
 *                 "close CODE REASON" from the client's Close ("close" alone if it had
 *                 no code, nothing at EOF): why a client that gave up did so.
 *   count         answers the handshake, counts the client's data messages and their
 *                 bytes without unmasking, answers its Close; prints "MESSAGES BYTES".
 *   echo          answers the handshake, echoes text messages unmasked, answers Close.
 *   rawsend N SIZE  no WebSocket: writes N lines of SIZE-1 bytes + "\n" (the TCP floor).
 *   rawcount      no WebSocket: counts bytes and newlines until EOF; prints "LINES BYTES".
 *   rawecho       no WebSocket: writes back every byte as it arrives, until EOF (the
 *                 floor of the latency benchmark, B6).
 *
 * Options, before the mode:
 *
 *   --tls CERT KEY  TLS with OpenSSL (PEM certificate chain and key): SSL_accept, then
 *                 the same mode over SSL_read/SSL_write, still in ~4 MiB writes (wss://;
 *                 with rawsend/rawcount the TLS floor). Ends with a close_notify.
 *   --payload FILE  send: each message is FILE's content instead of SIZE × 'a' (SIZE
 *                 must equal the file's size; the file must not contain a newline).
 *   --deflate     permessage-deflate (RFC 7692). The request must offer it, without
 *                 server_max_window_bits; otherwise the answer is 400 and the server
 *                 prints "no-deflate" and exits, so an uncompressed run is never taken
 *                 for a compressed one. The answer is "permessage-deflate;
 *                 server_no_context_takeover". send: the message is compressed once
 *                 before the client connects (raw deflate, level 6, 15-bit window,
 *                 memLevel 8, Z_SYNC_FLUSH, trailing 00 00 ff ff removed) and that
 *                 frame, RSV1 set, is repeated N times: each message stands alone, as
 *                 server_no_context_takeover promises. count: counts messages (FIN
 *                 frames) without inflating; prints "MESSAGES BYTES COMPRESSED", where
 *                 BYTES are compressed bytes and COMPRESSED counts messages whose first
 *                 frame had RSV1.
 *
 * And, without any network, what zlib alone costs for the client's share of the
 * --deflate benchmarks (prints "SECONDS MESSAGES BYTES", timed around the loop only):
 *
 *   zlibcost inflate N FILE  compresses FILE's content as `--deflate send` does, then
 *                 inflates it N times the way a permessage-deflate client does with
 *                 server_no_context_takeover: payload and then 00 00 ff ff with
 *                 Z_SYNC_FLUSH, inflateReset after each message. BYTES: inflated bytes.
 *   zlibcost deflate FILE    deflates each line of FILE (without its newline) as one
 *                 message, the way wsc's DeflateCodec does with context takeover: level
 *                 6, 15-bit window, memLevel 8, Z_SYNC_FLUSH, one z_stream for all
 *                 messages, trailing 00 00 ff ff removed. BYTES: compressed bytes.
 *
 * Built by compare.py with `cc -O2 ... -lssl -lcrypto -lz`; not part of the product.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

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

/* The connection's TLS session with --tls, else NULL: all I/O goes through these three. */
static SSL *ssl;

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w;
    if (ssl) {
      int s = SSL_write(ssl, c, n > INT_MAX ? INT_MAX : (int)n);
      w = s > 0 ? s : -1;
    } else {
      w = write(fd, c, n);
    }
    if (w <= 0) exit(3);
    c += w;
    n -= (size_t)w;
  }
}

/* > 0 bytes read; 0 at the end of the stream; < 0 on error. */
static ssize_t read_some(int fd, void *p, size_t n) {
  if (!ssl) return read(fd, p, n);
  int r = SSL_read(ssl, p, n > INT_MAX ? INT_MAX : (int)n);
  if (r > 0) return r;
  return SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

/* Sends close_notify (TLS), then closes TCP. */
static void close_connection(int fd) {
  if (ssl) SSL_shutdown(ssl);
  close(fd);
}

static int deflate_mode;

/* One message compressed on its own, as permessage-deflate sends it (RFC 7692 §7.2.1). */
static unsigned char *deflate_message(const unsigned char *in, size_t n, size_t *out_len) {
  z_stream z = {0};
  if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(4);
  size_t cap = deflateBound(&z, n) + 1024;
  unsigned char *out = malloc(cap);
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0 || z.avail_out == 0) exit(4);
  size_t len = cap - z.avail_out;
  if (len >= 4 && !memcmp(out + len - 4, "\0\0\xff\xff", 4)) len -= 4;
  deflateEnd(&z);
  *out_len = len;
  return out;
}

/* With --deflate: refuses a request that does not offer permessage-deflate (or asks to
   limit our window), so that an uncompressed run never passes for a compressed one. */
static void negotiate_deflate(int fd, const char *req) {
  char offers[4096] = "";
  size_t used = 0;
  for (const char *h = strcasestr(req, "\r\nSec-WebSocket-Extensions:"); h;
       h = strcasestr(h + 2, "\r\nSec-WebSocket-Extensions:")) {
    const char *v = h + 27; /* past "\r\nSec-WebSocket-Extensions:" */
    size_t vl = strcspn(v, "\r\n");
    if (used + vl + 3 >= sizeof offers) break;
    memcpy(offers + used, v, vl);
    used += vl;
    offers[used++] = ',';
    offers[used] = 0;
  }
  const char *why = NULL;
  if (!strcasestr(offers, "permessage-deflate")) why = "no-deflate (not offered)";
  else if (strcasestr(offers, "server_max_window_bits")) why = "no-deflate (offer limits server_max_window_bits)";
  if (!why) return;
  static const char refuse[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  write_all(fd, refuse, sizeof refuse - 1);
  close_connection(fd);
  printf("%s\n", why);
  exit(0);
}

/* Reads the request head and answers 101; returns bytes read past the head in `extra`. */
static size_t handshake(int fd, unsigned char *extra, size_t cap) {
  char req[16384];
  size_t n = 0;
  char *end = NULL;
  while (!end) {
    if (n >= sizeof req - 1) exit(2);
    ssize_t r = read_some(fd, req + n, sizeof req - 1 - n);
    if (r <= 0) exit(2);
    n += (size_t)r;
    req[n] = 0;
    end = strstr(req, "\r\n\r\n");
  }
  if (deflate_mode) negotiate_deflate(fd, req);
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
  char resp[320];
  int rl = snprintf(resp, sizeof resp,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept,
                    deflate_mode ? "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" : "");
  write_all(fd, resp, (size_t)rl);
  size_t head = (size_t)(end + 4 - req);
  size_t rest = n - head;
  if (rest > cap) exit(2);
  memcpy(extra, req + head, rest);
  return rest;
}

static size_t frame_header(unsigned char *h, int opcode, uint64_t len) {
  h[0] = (unsigned char)(0x80 | opcode);
  if (deflate_mode && opcode < 8) h[0] |= 0x40; /* RSV1: a compressed message */
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
  int in_payload, opcode, fin, masked, compressed;
  unsigned char mask[4];
  uint64_t pos;
  unsigned char *msg; /* echo mode: the current message */
  unsigned char close_payload[125]; /* the Close frame's payload (code, reason), unmasked */
  size_t close_len;
  size_t msglen, msgcap;
  unsigned long long messages, bytes, compressed_messages;
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
      if (p->opcode == 1 || p->opcode == 2) p->compressed = (p->hdr[0] & 0x40) != 0;
      p->remaining = len;
      p->pos = 0;
      p->in_payload = 1;
      p->hlen = 0;
    }
    size_t take = n - i < p->remaining ? n - i : (size_t)p->remaining;
    if (p->opcode == 8)
      for (size_t k = 0; k < take && p->close_len < sizeof p->close_payload; k++)
        p->close_payload[p->close_len++] = b[i + k] ^ (p->masked ? p->mask[(p->pos + k) & 3] : 0);
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
        p->compressed_messages += (unsigned long long)p->compressed;
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

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(66); }
  size_t cap = 1 << 16, n = 0;
  unsigned char *b = malloc(cap);
  size_t r;
  while ((r = fread(b + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) b = realloc(b, cap *= 2);
  }
  fclose(f);
  *len = n;
  return b;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* zlibcost inflate N FILE | zlibcost deflate FILE: see the comment at the top. */
static int zlibcost(int argc, char **argv) {
  static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
  if (argc == 5 && !strcmp(argv[2], "inflate")) {
    long count = atol(argv[3]);
    size_t size, clen;
    unsigned char *msg = read_file(argv[4], &size);
    unsigned char *comp = deflate_message(msg, size, &clen);
    size_t cap = size + 65536;
    unsigned char *out = malloc(cap);
    z_stream z = {0};
    if (inflateInit2(&z, -15) != Z_OK) return 4;
    unsigned long long total = 0;
    double start = now();
    for (long k = 0; k < count; k++) {
      z.next_in = comp;
      z.avail_in = (uInt)clen;
      z.next_out = out;
      z.avail_out = (uInt)cap;
      if (inflate(&z, Z_SYNC_FLUSH) != Z_OK) return 4;
      z.next_in = (unsigned char *)tail;
      z.avail_in = 4;
      if (inflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0) return 4;
      total += cap - z.avail_out;
      inflateReset(&z);
    }
    double seconds = now() - start;
    if (total != (unsigned long long)count * size || memcmp(out, msg, size)) return 4;
    printf("%.6f %ld %llu\n", seconds, count, total);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[2], "deflate")) {
    size_t len;
    unsigned char *lines = read_file(argv[3], &len);
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 4;
    size_t cap = 1 << 16;
    unsigned char *out = malloc(cap);
    unsigned long long total = 0;
    long count = 0;
    double start = now();
    for (size_t pos = 0; pos < len;) {
      unsigned char *nl = memchr(lines + pos, '\n', len - pos);
      size_t end = nl ? (size_t)(nl - lines) : len;
      size_t need = deflateBound(&z, end - pos) + 1024;
      if (need > cap) out = realloc(out, cap = need);
      z.next_in = lines + pos;
      z.avail_in = (uInt)(end - pos);
      z.next_out = out;
      z.avail_out = (uInt)cap;
      if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0 || z.avail_out == 0) return 4;
      size_t produced = cap - z.avail_out;
      if (produced >= 4 && !memcmp(out + produced - 4, tail, 4)) produced -= 4;
      total += produced;
      count++;
      pos = end + 1;
    }
    double seconds = now() - start;
    printf("%.6f %ld %llu\n", seconds, count, total);
    return 0;
  }
  return 64;
}

int main(int argc, char **argv) {
  const char *cert = NULL, *key = NULL, *payload_file = NULL;
  int a0 = 1;
  for (; a0 < argc && !strncmp(argv[a0], "--", 2); a0++) {
    if (!strcmp(argv[a0], "--tls") && a0 + 2 < argc) { cert = argv[++a0]; key = argv[++a0]; }
    else if (!strcmp(argv[a0], "--deflate")) deflate_mode = 1;
    else if (!strcmp(argv[a0], "--payload") && a0 + 1 < argc) payload_file = argv[++a0];
    else return 64;
  }
  argc -= a0 - 1;
  argv += a0 - 1;
  if (argc < 2) return 64;
  const char *mode = argv[1];
  if (!strcmp(mode, "zlibcost")) return zlibcost(argc, argv);
  if (deflate_mode && strcmp(mode, "send") && strcmp(mode, "count")) return 64;

  /* Everything slow happens before the port is printed: the client's clock has not started. */
  SSL_CTX *ctx = NULL;
  if (cert) {
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
      ERR_print_errors_fp(stderr);
      return 5;
    }
  }
  unsigned char *block = NULL;
  size_t one_len = 0, block_len = 0;
  long count = 0;
  int ws = !strcmp(mode, "send");
  if (!strcmp(mode, "rawsend") || ws) {
    if (argc < 4) return 64;
    count = atol(argv[2]);
    size_t size = (size_t)atol(argv[3]);
    /* The message as it goes on the wire: SIZE × 'a' (raw: SIZE-1 × 'a' + newline), or
       the --payload file, compressed with --deflate. */
    unsigned char *msg;
    size_t msg_len = size;
    if (ws && payload_file) {
      msg = read_file(payload_file, &msg_len);
      if (msg_len != size) { fprintf(stderr, "%s: %zu bytes, not %zu\n", payload_file, msg_len, size); return 64; }
    } else {
      msg = malloc(size);
      memset(msg, 'a', size);
      if (!ws) msg[size - 1] = '\n';
    }
    if (deflate_mode) {
      unsigned char *c = deflate_message(msg, msg_len, &msg_len);
      free(msg);
      msg = c;
    }
    unsigned char h[10];
    size_t hl = ws ? frame_header(h, 1, msg_len) : 0;
    one_len = hl + msg_len;
    /* A block of whole frames of about 4 MiB, written again and again. */
    long per_block = (long)((4u << 20) / one_len);
    if (per_block < 1) per_block = 1;
    if (per_block > count) per_block = count;
    block_len = (size_t)per_block * one_len;
    block = malloc(block_len);
    for (long k = 0; k < per_block; k++) {
      unsigned char *f = block + (size_t)k * one_len;
      memcpy(f, h, hl);
      memcpy(f + hl, msg, msg_len);
    }
    free(msg);
  }

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
  if (ctx) {
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ERR_print_errors_fp(stderr);
      return 5;
    }
  }
  static unsigned char buf[1 << 20];

  if (block) {
    if (ws) handshake(fd, buf, sizeof buf);
    long per_block = (long)(block_len / one_len);
    long sent = 0;
    while (sent < count) {
      long chunk = count - sent < per_block ? count - sent : per_block;
      write_all(fd, block, (size_t)chunk * one_len);
      sent += chunk;
    }
    if (ws) {
      unsigned char close_frame[4] = {0x88, 2, 0x03, 0xe8};
      write_all(fd, close_frame, 4);
      /* Wait for the client's Close, then close TCP first. */
      struct parser p = {0};
      ssize_t r;
      int closed = 0;
      while (!closed && (r = read_some(fd, buf, sizeof buf)) > 0) closed = feed(&p, buf, (size_t)r, fd, 0);
      close_connection(fd);
      if (closed && p.close_len >= 2)
        printf("close %d %.*s\n", p.close_payload[0] << 8 | p.close_payload[1], (int)p.close_len - 2,
               (const char *)p.close_payload + 2);
      else if (closed)
        printf("close\n");
      return 0;
    }
    if (ssl) SSL_shutdown(ssl);
    shutdown(fd, SHUT_WR);
    while (read_some(fd, buf, sizeof buf) > 0) {}
    close(fd);
    return 0;
  }
  if (!strcmp(mode, "count") || !strcmp(mode, "echo")) {
    int echo = !strcmp(mode, "echo");
    struct parser p = {0};
    size_t extra = handshake(fd, buf, sizeof buf);
    int done = extra ? feed(&p, buf, extra, fd, echo) : 0;
    ssize_t r;
    while (!done && (r = read_some(fd, buf, sizeof buf)) > 0) done = feed(&p, buf, (size_t)r, fd, echo);
    unsigned char close_frame[4] = {0x88, 2, 0x03, 0xe8};
    write_all(fd, close_frame, 4);
    close_connection(fd);
    if (deflate_mode) printf("%llu %llu %llu\n", p.messages, p.bytes, p.compressed_messages);
    else printf("%llu %llu\n", p.messages, p.bytes);
    return 0;
  }
  if (!strcmp(mode, "rawecho")) {
    ssize_t r;
    while ((r = read_some(fd, buf, sizeof buf)) > 0) write_all(fd, buf, (size_t)r);
    close_connection(fd);
    return 0;
  }
  if (!strcmp(mode, "rawcount")) {
    unsigned long long lines = 0, bytes = 0;
    ssize_t r;
    while ((r = read_some(fd, buf, sizeof buf)) > 0) {
      bytes += (unsigned long long)r;
      for (ssize_t k = 0; k < r; k++) lines += buf[k] == '\n';
    }
    close_connection(fd);
    printf("%llu %llu\n", lines, bytes);
    return 0;
  }
  return 64;
}
