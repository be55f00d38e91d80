#ifndef WSC_COPENSSL_SHIM_H
#define WSC_COPENSSL_SHIM_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// Swift cannot import function-like macros; these wrap the ones wsc needs.

static inline long wsc_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
  return SSL_set_tlsext_host_name(ssl, name);
}

static inline int wsc_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
  return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int wsc_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }

static inline void wsc_OPENSSL_free(void *p) { OPENSSL_free(p); }

// A new SSL_CTX ex_data slot whose value `free_func` releases when the context is freed
// (the key log of --sslkeylogfile): the slot's owner then lives exactly as long as the context.
static inline int wsc_SSL_CTX_get_ex_new_index(CRYPTO_EX_free *free_func) {
  return SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_func);
}

#endif
