/*
 * ingest.c - `jobads ingest`: NDJSON or CSV from files or stdin into the event
 * store. Each record is validated on its own; a bad one is reported with its
 * file, line, field and reason (and written to --reject-file), the good ones
 * beside it are stored. A batch is one transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "jobads/decode.h"

#include "jobads/banned.h"

#define MAX_SHOWN_REJECTS 100

struct ingest {
	struct evstore *evs;
	FILE *rejects;
	const char *reject_path;
	int64_t batch, in_batch;
	int64_t accepted, dups, rejected, shown;
	/* accepted and dups as of the last batch known committed */
	int64_t ok_accepted, ok_dups;
	/* a batch whose commit was started (commit_start) and not yet waited for,
	 * and accepted and dups as of its end */
	int pending;
	int64_t pend_accepted, pend_dups;
	int quiet, failed, tty;
	int64_t now_ms;
	double t0;
	struct strbuf scratch, rec;
	struct jerr err;
};

/* Copy bytes, turning invalid UTF-8 into U+FFFD, so a reject line is valid JSON. */
static void utf8_sanitize(const char *s, size_t n, struct strbuf *out)
{
	size_t i = 0;
	strbuf_reset(out);
	while (i < n) {
		size_t k = 1;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			k = (c & 0xe0) == 0xc0	 ? 2
			    : (c & 0xf0) == 0xe0 ? 3
			    : (c & 0xf8) == 0xf0 ? 4
						 : 0;
			if (k == 0 || i + k > n || ev_utf8_len(s + i, k) != 1) {
				strbuf_add(out, "\xef\xbf\xbd", 3);
				i++;
				continue;
			}
		} else if (c == 0) {
			strbuf_add(out, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		strbuf_add(out, s + i, k);
		i += k;
	}
}

static void reject(struct ingest *in, const char *src, long line, const char *rec, size_t n,
		   const char *why)
{
	in->rejected++;
	if (!in->quiet && in->shown < MAX_SHOWN_REJECTS) {
		fprintf(stderr, "jobads: %s:%ld: %s\n", src, line, why);
		in->shown++;
		if (in->shown == MAX_SHOWN_REJECTS)
			fprintf(stderr, "jobads: further rejects are not shown%s\n",
				in->reject_path ? " (all are in the reject file)" : "");
	}
	if (in->rejects) {
		struct strbuf clean = {0};
		json_t *o = json_object();
		json_object_set_new(o, "source", json_string(src));
		json_object_set_new(o, "line", json_integer(line));
		json_object_set_new(o, "reason", json_string(why));
		if (rec) {
			utf8_sanitize(rec, n, &clean);
			json_object_set_new(o, "record",
					    json_stringn(clean.buf ? clean.buf : "", clean.len));
		} else {
			json_object_set_new(o, "record", json_null());
		}
		char *txt = json_dumps(o, JSON_COMPACT);
		if (txt) {
			fputs(txt, in->rejects);
			fputc('\n', in->rejects);
			free(txt);
		}
		json_decref(o);
		strbuf_release(&clean);
	}
}

/* The batch committed: count the duplicates a batching backend only found at commit. */
static void batch_committed(struct ingest *in, int64_t accepted, int64_t dups)
{
	int64_t late = in->evs->commit_dups;
	in->accepted -= late;
	in->dups += late;
	in->ok_accepted = accepted - late;
	in->ok_dups = dups + late;
}

/* Wait for the batch whose commit was started. */
static int wait_pending(struct ingest *in)
{
	if (!in->pending)
		return 0;
	in->pending = 0;
	if (in->evs->ops->commit_wait(in->evs, &in->err) != STORE_OK)
		return -1;
	batch_committed(in, in->pend_accepted, in->pend_dups);
	return 0;
}

/*
 * Commit the open batch. With commit_start, the commit goes on while the next
 * batch is read; its outcome is awaited before the next commit (wait: now).
 */
static int commit_batch(struct ingest *in, int wait)
{
	if (wait_pending(in))
		return -1;
	in->in_batch = 0;
	if (in->evs->ops->commit_start) {
		if (in->evs->ops->commit_start(in->evs, &in->err) != STORE_OK)
			return -1;
		in->pending = 1;
		in->pend_accepted = in->accepted;
		in->pend_dups = in->dups;
		return wait ? wait_pending(in) : 0;
	}
	if (in->evs->ops->commit(in->evs, &in->err) != STORE_OK)
		return -1;
	batch_committed(in, in->accepted, in->dups);
	return 0;
}

/* A batch failed: it and any batch still committing are rolled back. */
static void batch_failed(struct ingest *in)
{
	if (in->pending) { /* it may have committed before the failure */
		struct jerr ignore;
		in->pending = 0;
		if (in->evs->ops->commit_wait(in->evs, &ignore) == STORE_OK)
			batch_committed(in, in->pend_accepted, in->pend_dups);
	}
	in->evs->ops->rollback(in->evs);
	in->accepted = in->ok_accepted;
	in->dups = in->ok_dups;
	in->in_batch = 0;
}

static int store_event(struct ingest *in, const struct event *ev)
{
	int dup;
	if (in->in_batch == 0 && in->evs->ops->begin(in->evs, &in->err) != STORE_OK)
		return -1;
	if (in->evs->ops->insert(in->evs, ev, &dup, &in->err) != STORE_OK)
		return -1;
	in->in_batch++;
	if (dup)
		in->dups++;
	else
		in->accepted++;
	if (in->in_batch >= in->batch) {
		if (commit_batch(in, 0))
			return -1;
		if (in->tty) {
			double el = time_mono() - in->t0;
			fprintf(stderr,
				"\ringest: %" PRId64 " stored, %" PRId64 " duplicates (%.0f/s) ",
				in->accepted, in->dups,
				el > 0 ? (double)(in->accepted + in->dups) / el : 0.0);
		}
	}
	return 0;
}

static int flush_batch(struct ingest *in)
{
	if (in->in_batch == 0)
		return wait_pending(in);
	return commit_batch(in, 1);
}

enum fmt { FMT_AUTO, FMT_NDJSON, FMT_CSV };

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Process one input; returns 0, or -1 when the store failed (already reported). */
static int ingest_fd(struct ingest *in, int fd, const char *src, enum fmt fmt)
{
	struct line_reader lr;
	struct csv_header hdr = {0, NULL};
	const char *p;
	size_t n;
	int too_long, got, have_header = 0;
	char why[512];

	line_reader_init(&lr, fd);
	if (fmt == FMT_AUTO && ends_with(src, ".csv"))
		fmt = FMT_CSV;
	while ((got = line_reader_next(&lr, &p, &n, &too_long)) == 1) {
		long line = lr.lineno;
		struct ev_builder b;
		if (stop_requested)
			break;
		if (too_long) {
			snprintf(why, sizeof(why), "record too long (%zu bytes, the limit is %d)",
				 n, EV_MAX_RECORD);
			reject(in, src, line, NULL, 0, why);
			continue;
		}
		if (fmt == FMT_AUTO) {
			size_t i = 0;
			while (i < n && (p[i] == ' ' || p[i] == '\t'))
				i++;
			if (i == n)
				continue;
			fmt = p[i] == '{' ? FMT_NDJSON : FMT_CSV;
		}
		if (fmt == FMT_CSV) {
			/* a quoted field may hold newlines: join lines until the quotes close */
			strbuf_reset(&in->rec);
			strbuf_add(&in->rec, p, n);
			while (csv_open_quote(in->rec.buf, in->rec.len) &&
			       in->rec.len <= EV_MAX_RECORD) {
				got = line_reader_next(&lr, &p, &n, &too_long);
				if (got != 1 || too_long)
					break;
				strbuf_add(&in->rec, "\n", 1);
				strbuf_add(&in->rec, p, n);
			}
			if (in->rec.len == 0)
				continue;
			if (in->rec.len > EV_MAX_RECORD || too_long) {
				snprintf(why, sizeof(why),
					 "record too long (over %d bytes) or an unclosed quote",
					 EV_MAX_RECORD);
				reject(in, src, line, NULL, 0, why);
				continue;
			}
			if (!have_header) {
				if (csv_header_parse(&hdr, in->rec.buf, in->rec.len, why,
						     sizeof(why))) {
					jlog_error("%s:%ld: %s; nothing read from this file", src,
						   line, why);
					in->failed = 1;
					break;
				}
				have_header = 1;
				continue;
			}
			/* keep the raw text for the reject file: decoding unquotes in place */
			strbuf_reset(&in->scratch);
			strbuf_add(&in->scratch, in->rec.buf, in->rec.len);
			ev_builder_begin(&b);
			if (dec_csv_record(&hdr, in->rec.buf, in->rec.len, &b, why, sizeof(why)) ||
			    ev_builder_finish(&b, in->now_ms, NULL, why, sizeof(why))) {
				reject(in, src, line, in->scratch.buf, in->scratch.len, why);
				continue;
			}
		} else {
			size_t i = 0;
			while (i < n && (p[i] == ' ' || p[i] == '\t'))
				i++;
			if (i == n)
				continue; /* blank line */
			strbuf_reset(&in->scratch);
			ev_builder_begin(&b);
			if (dec_json_object(p, n, &b, &in->scratch, why, sizeof(why)) ||
			    ev_builder_finish(&b, in->now_ms, NULL, why, sizeof(why))) {
				reject(in, src, line, p, n, why);
				continue;
			}
		}
		if (store_event(in, &b.ev)) {
			jlog_error("%s:%ld: %s; the open batch (%" PRId64
				   " records) was rolled back",
				   src, line, in->err.msg, in->in_batch);
			batch_failed(in);
			csv_header_release(&hdr);
			line_reader_release(&lr);
			return -1;
		}
	}
	if (got < 0) {
		jlog_error("%s: read error: %s", src, strerror(lr.err));
		in->failed = 1;
	}
	csv_header_release(&hdr);
	line_reader_release(&lr);
	if (flush_batch(in)) {
		jlog_error("%s: %s; the last batch was rolled back", src, in->err.msg);
		batch_failed(in);
		return -1;
	}
	return 0;
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"format", required_argument, NULL, 'F'},
	    {"reject-file", required_argument, NULL, 'R'},
	    {"batch", required_argument, NULL, 'b'},
	    {"quiet", no_argument, NULL, 'q'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct ingest in;
	enum fmt fmt = FMT_AUTO;
	int opt, rc = EXIT_OK;

	memset(&in, 0, sizeof(in));
	in.batch = 10000;
	common_init(&co);
	while ((opt = getopt_long(argc, argv, "hF:R:b:q", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case 'F':
			if (strcmp(optarg, "auto") == 0)
				fmt = FMT_AUTO;
			else if (strcmp(optarg, "ndjson") == 0 || strcmp(optarg, "json") == 0)
				fmt = FMT_NDJSON;
			else if (strcmp(optarg, "csv") == 0)
				fmt = FMT_CSV;
			else
				return usage_error("ingest",
						   "--format: want auto, ndjson or csv, "
						   "got '%s'",
						   optarg);
			break;
		case 'R':
			in.reject_path = optarg;
			break;
		case 'b':
			if (parse_int64(optarg, strlen(optarg), 1, 10000000, &in.batch))
				return usage_error("ingest", "--batch: want 1..10000000, got '%s'",
						   optarg);
			break;
		case 'q':
			in.quiet = 1;
			break;
		case 'h':
			return cmd_help_text("ingest");
		default:
			return EXIT_USAGE;
		}
	}
	struct jerr err;
	if (evstore_open(co.events, STORE_CREATE, &in.evs, &err) != STORE_OK) {
		jlog_error("ingest: %s", err.msg);
		return EXIT_FAIL;
	}
	if (in.reject_path) {
		in.rejects = fopen(in.reject_path, "w");
		if (!in.rejects) {
			jlog_error("ingest: %s: %s", in.reject_path, strerror(errno));
			evstore_close(in.evs);
			return EXIT_FAIL;
		}
	}
	in.now_ms = time_now_ms();
	in.tty = !in.quiet && isatty(2);
	double t0 = time_mono();
	in.t0 = t0;
	int nfiles = argc - optind;
	for (int i = 0; i < (nfiles ? nfiles : 1) && !stop_requested; i++) {
		const char *path = nfiles ? argv[optind + i] : "-";
		int fd;
		const char *src = path;
		if (strcmp(path, "-") == 0) {
			fd = 0;
			src = "<stdin>";
		} else {
			struct stat st;
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) { /* redacted: a store URL given as a file by mistake */
				char shown[512];
				jlog_error("%s: %s", store_url_redact(path, shown, sizeof(shown)),
					   strerror(errno));
				in.failed = 1;
				continue;
			}
			if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
				jlog_error("%s: is a directory", path);
				close(fd);
				in.failed = 1;
				continue;
			}
		}
		int r = ingest_fd(&in, fd, src, fmt);
		if (fd != 0)
			close(fd);
		if (r) {
			in.failed = 1;
			break;
		}
	}
	double secs = time_mono() - t0;
	if (in.tty && in.accepted + in.dups >= in.batch)
		fputc('\n', stderr); /* end the progress line */
	if (in.rejects && fclose(in.rejects) != 0) {
		jlog_error("ingest: %s: %s", in.reject_path, strerror(errno));
		in.failed = 1;
	}
	char a[32], d[32], rj[32];
	fprintf(stderr, "ingest: %s stored, %s duplicates, %s rejected in %.2f s%s\n",
		fmt_int(in.accepted, a, sizeof(a)), fmt_int(in.dups, d, sizeof(d)),
		fmt_int(in.rejected, rj, sizeof(rj)), secs,
		stop_requested ? " (stopped by signal)" : "");
	if (in.rejected || in.failed)
		rc = EXIT_FAIL;
	strbuf_release(&in.scratch);
	strbuf_release(&in.rec);
	evstore_close(in.evs);
	return rc;
}
