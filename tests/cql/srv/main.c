/*
 * main.c - cqlsrv, an in-memory CQL server for tests: the native protocol v4 and
 * the subset of CQL this project and its driver tests use. Nothing is
 * persisted; a restart starts empty (and forgets prepared statements, which
 * is how the tests make a client see Unprepared).
 *
 *   cqlsrv [--listen ADDR] [--port N] [--port-file F] [--auth USER:PASS] [--dc NAME]
 *          [--tls-cert CERT.pem KEY.pem]   (every connection TLS, OpenSSL)
 *          [--delay-match TEXT --delay-ms MS [--delay-count N] [--delay-mode answer|timeout]]
 *
 * Faults: --delay-* hold matching requests (see hold_frame), to show what a
 * slow or timed-out write does to the event store.
 *
 * Protocol: STARTUP (then AUTHENTICATE / SASL PLAIN when --auth), OPTIONS,
 * QUERY, PREPARE, EXECUTE, BATCH, REGISTER; stream ids answered as they come;
 * a frame of another version gets ERROR 0x000A "Invalid or unsupported
 * protocol version", in that version's header layout, as Cassandra does.
 *
 * CQL: CREATE/DROP KEYSPACE, CREATE/DROP TABLE, TRUNCATE, USE, INSERT
 * [IF NOT EXISTS], DELETE of a row by its whole primary key, SELECT cols|*|COUNT(*) with WHERE col
 * op term [AND ...]
 * (=, <, <=, >, >=; a partition is looked up when its whole key is given by =,
 * any other condition filters), ORDER BY the clustering column [DESC], LIMIT,
 * paging. system.local and system.peers exist, as a one-node cluster.
 * Filtering is allowed without ALLOW FILTERING: the server is lenient where
 * Cassandra refuses, so a query shape must be checked against Cassandra's
 * rules by reading it (docs/architecture.md lists the ones jobads issues).
 *
 * The files: lex.c parses a statement, exec.c runs it on table.c's tables,
 * prepare.c keeps the prepared ones, net.c speaks the protocol and runs the
 * loop, delay.c holds requests; this one reads the options and listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "srv.h"

#include "jobads/banned.h"

volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int main(int argc, char **argv)
{
	const char *listen_addr = "127.0.0.1", *port_file = NULL;
	int port = 9042;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_addr = argv[++i];
		else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
			port_file = argv[++i];
		else if (strcmp(argv[i], "--dc") == 0 && i + 1 < argc)
			datacenter = argv[++i];
		else if (strcmp(argv[i], "--auth") == 0 && i + 1 < argc) {
			char *a = argv[++i], *colon = strchr(a, ':');
			if (!colon) {
				fprintf(stderr, "cqlsrv: --auth USER:PASS\n");
				return 2;
			}
			auth_user = xstrdup(a);
			auth_user[colon - a] = '\0';
			auth_pass = auth_user + (colon - a) + 1;
		} else if (strcmp(argv[i], "--tls-cert") == 0 && i + 2 < argc) {
			/* --tls-cert CERT.pem KEY.pem */
			tls_ctx = SSL_CTX_new(TLS_server_method());
			SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
						      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
			if (SSL_CTX_use_certificate_chain_file(tls_ctx, argv[i + 1]) != 1 ||
			    SSL_CTX_use_PrivateKey_file(tls_ctx, argv[i + 2], SSL_FILETYPE_PEM) !=
				1) {
				fprintf(stderr, "cqlsrv: --tls-cert %s %s: cannot load\n",
					argv[i + 1], argv[i + 2]);
				return 2;
			}
			i += 2;
		} else if (strcmp(argv[i], "--delay-match") == 0 && i + 1 < argc) {
			delay_match = argv[++i];
		} else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc) {
			delay_ms = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--delay-count") == 0 && i + 1 < argc) {
			delay_count = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--delay-mode") == 0 && i + 1 < argc &&
			   (strcmp(argv[i + 1], "answer") == 0 ||
			    strcmp(argv[i + 1], "timeout") == 0)) {
			delay_timeout = strcmp(argv[++i], "timeout") == 0;
		} else {
			fprintf(stderr,
				"usage: cqlsrv [--listen ADDR] [--port N] [--port-file F] [--auth "
				"USER:PASS] [--dc NAME] [--tls-cert CERT KEY] [--delay-match TEXT "
				"--delay-ms MS "
				"[--delay-count N] [--delay-mode answer|timeout]]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	create_system_tables(listen_addr);

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, listen_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "cqlsrv: --listen: not an IPv4 address: %s\n", listen_addr);
		return 2;
	}
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 64) != 0) {
		fprintf(stderr, "cqlsrv: %s:%d: %s\n", listen_addr, port, strerror(errno));
		return 1;
	}
	socklen_t sl = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	if (port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
		    rename(tmp, port_file) != 0) {
			fprintf(stderr, "cqlsrv: %s: %s\n", port_file, strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "cqlsrv: listening on %s:%d\n", listen_addr, port);

	int rc = serve(ls);
	free_tables();
	free_prepared();
	free(auth_user);
	close(ls);
	return rc;
}
