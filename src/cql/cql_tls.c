/*
 * cql_tls.c - TLS for the CQL client (`?tls=1` in a cassandra:// URL), over
 * Debian's OpenSSL, which is loaded with dlopen the first time a connection
 * asks for TLS: linking libssl and libcrypto into the binary would make every
 * process start slower (docs/architecture.md, "Backends as modules"), and
 * most runs never talk TLS. The server's certificate is verified against the
 * CA file given (`ca=PATH`) or the system's trust store, and its name against
 * the host connected to (a DNS name, or an IP address that the certificate
 * must carry as an IP subjectAltName); `verify_host=0` checks the chain only.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cql.h"

#include "jobads/banned.h"

/* The functions used, taken from libssl.so.3 (and through it libcrypto.so.3). */
#define TLS_FUNCS(X)                                                                               \
	X(TLS_client_method)                                                                       \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_set_verify)                                                                      \
	X(SSL_CTX_load_verify_locations)                                                           \
	X(SSL_CTX_set_default_verify_paths)                                                        \
	X(SSL_new)                                                                                 \
	X(SSL_free)                                                                                \
	X(SSL_ctrl)                                                                                \
	X(SSL_set_fd)                                                                              \
	X(SSL_set1_host)                                                                           \
	X(SSL_get0_param)                                                                          \
	X(SSL_connect)                                                                             \
	X(SSL_read)                                                                                \
	X(SSL_write)                                                                               \
	X(SSL_pending)                                                                             \
	X(SSL_get_error)                                                                           \
	X(SSL_shutdown)                                                                            \
	X(SSL_get_verify_result)                                                                   \
	X(X509_VERIFY_PARAM_set1_ip_asc)                                                           \
	X(X509_verify_cert_error_string)                                                           \
	X(ERR_get_error)                                                                           \
	X(ERR_clear_error)                                                                         \
	X(ERR_error_string_n)

static struct {
	int tried, ok;
	char why[200];
#define X(f) __typeof__(&f) f;
	TLS_FUNCS(X)
#undef X
} L;

static int load(char *why, size_t n)
{
	if (!L.tried) {
		L.tried = 1;
		void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			snprintf(L.why, sizeof(L.why),
				 "TLS needs OpenSSL 3 (libssl.so.3, Debian's libssl3): %s",
				 dlerror());
			goto out;
		}
#define X(f)                                                                                       \
	if (!(L.f = (__typeof__(&f))dlsym(h, #f))) {                                               \
		snprintf(L.why, sizeof(L.why), "TLS: libssl.so.3 has no %s", #f);                  \
		goto out;                                                                          \
	}
		TLS_FUNCS(X)
#undef X
		L.ok = 1;
	}
out:
	if (!L.ok)
		snprintf(why, n, "%s", L.why);
	return L.ok ? 0 : -1;
}

struct cql_tls {
	SSL_CTX *ctx;
	SSL *ssl;
	int want; /* POLLIN or POLLOUT: what the last call that could not go on waits for */
};

static void ssl_why(const char *what, char *why, size_t n)
{
	unsigned long e = L.ERR_get_error();
	char buf[256] = "";
	if (e)
		L.ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(why, n, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

void cql_tls_close(struct cql_tls *t)
{
	if (!t)
		return;
	if (t->ssl) {
		L.SSL_shutdown(t->ssl);
		L.SSL_free(t->ssl);
	}
	if (t->ctx)
		L.SSL_CTX_free(t->ctx);
	free(t);
}

int cql_tls_connect(int fd, const char *host, const struct cql_tls_opts *o, int timeout_ms,
		    struct cql_tls **out, char *why, size_t n)
{
	*out = NULL;
	if (load(why, n) != 0)
		return -1;
	L.ERR_clear_error();
	struct cql_tls *t = xcalloc(1, sizeof(*t));
	t->ctx = L.SSL_CTX_new(L.TLS_client_method());
	if (!t->ctx) {
		ssl_why("TLS: creating a context", why, n);
		goto fail;
	}
	L.SSL_CTX_ctrl(t->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	L.SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca ? L.SSL_CTX_load_verify_locations(t->ctx, o->ca, NULL) != 1
		  : L.SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		char what[300];
		snprintf(what, sizeof(what), "TLS: reading the CA file %s", o->ca ? o->ca : "");
		ssl_why(o->ca ? what : "TLS: loading the system's CA certificates", why, n);
		goto fail;
	}
	t->ssl = L.SSL_new(t->ctx);
	if (!t->ssl || L.SSL_set_fd(t->ssl, fd) != 1) {
		ssl_why("TLS: setting up the connection", why, n);
		goto fail;
	}
	unsigned char addr[16];
	int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	if (!is_ip) /* SNI: names only */
		L.SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
			   (void *)host);
	if (o->verify_host &&
	    (is_ip ? L.X509_VERIFY_PARAM_set1_ip_asc(L.SSL_get0_param(t->ssl), host) != 1
		   : L.SSL_set1_host(t->ssl, host) != 1)) {
		ssl_why("TLS: setting the name to verify", why, n);
		goto fail;
	}
	for (;;) {
		int rc = L.SSL_connect(t->ssl);
		if (rc == 1)
			break;
		int e = L.SSL_get_error(t->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			struct pollfd p = {.fd = fd,
					   .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
			int pr = poll(&p, 1, timeout_ms);
			if (pr == 0) {
				snprintf(why, n, "TLS handshake timed out");
				goto fail;
			}
			if (pr < 0 && errno != EINTR) {
				snprintf(why, n, "TLS handshake: %s", strerror(errno));
				goto fail;
			}
			continue;
		}
		long v = L.SSL_get_verify_result(t->ssl);
		if (v != X509_V_OK)
			snprintf(why, n, "TLS: the server's certificate is refused: %s",
				 L.X509_verify_cert_error_string(v));
		else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
			snprintf(why, n,
				 "TLS handshake: the server closed the connection (is it"
				 " speaking TLS?)");
		else
			ssl_why("TLS handshake failed (is the server speaking TLS?)", why, n);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	cql_tls_close(t);
	return -1;
}

/* send/recv over TLS: n > 0, 0 when the peer closed (recv), or -1 with errno (EAGAIN: wait
 * for cql_tls_want). */
long cql_tls_send(struct cql_tls *t, const void *p, size_t n)
{
	int rc = L.SSL_write(t->ssl, p, n > 1u << 30 ? 1 << 30 : (int)n);
	if (rc > 0)
		return rc;
	int e = L.SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		t->want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		errno = EAGAIN;
	} else {
		errno = e == SSL_ERROR_SYSCALL && errno ? errno : EPROTO;
	}
	return -1;
}

long cql_tls_recv(struct cql_tls *t, void *p, size_t n)
{
	int rc = L.SSL_read(t->ssl, p, n > 1u << 30 ? 1 << 30 : (int)n);
	if (rc > 0)
		return rc;
	int e = L.SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		t->want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		errno = EAGAIN;
	} else if (e == SSL_ERROR_SYSCALL && rc == 0) {
		return 0; /* closed without close_notify */
	} else {
		errno = e == SSL_ERROR_SYSCALL && errno ? errno : EPROTO;
	}
	return -1;
}

int cql_tls_pending(const struct cql_tls *t)
{
	return L.SSL_pending(t->ssl) > 0;
}

int cql_tls_want(const struct cql_tls *t)
{
	return t->want ? t->want : POLLIN;
}
