/*
 * ingest.c - `jobads ingest`: NDJSON or CSV from files or stdin into the event
 * store, or the original stack's Cassandra table (a cassandra:// URL given as
 * an input: store/cassandra/source.c reads it by token ranges). Each record is validated on its
 * own; a bad one is reported with its file, line, field and reason (and written to --reject-file),
 * the good ones beside it are stored. A batch is one transaction (src/core/evbatch.c): it closes
 * after --batch records, and also when the input stalls or the batch grows old, so that `tail -F
 * log | jobads ingest` never holds one open. "Now" for the future-timestamp rule is when a record
 * is read.
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
#include "jobads/evbatch.h"
#include "store/cassandra/cassandra.h"

#include "jobads/banned.h"

#define MAX_SHOWN_REJECTS 100

struct ingest {
	struct evstore *evs;
	struct evbatch batch;
	FILE *rejects;
	const char *reject_path;
	int64_t rejected, shown, progress_at;
	int quiet, failed, tty;
	double t0;
	struct strbuf scratch, rec;
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
		if (line > 0)
			fprintf(stderr, "jobads: %s:%ld: %s\n", src, line, why);
		else /* a row of a table: why names it */
			fprintf(stderr, "jobads: %s: %s\n", src, why);
		in->shown++;
		if (in->shown == MAX_SHOWN_REJECTS)
			fprintf(stderr, "jobads: further rejects are not shown%s\n",
				in->reject_path ? " (all are in the reject file)" : "");
	}
	if (in->rejects) {
		struct strbuf clean = {0};
		json_t *o = json_object();
		json_object_set_new(o, "source", json_string(src));
		json_object_set_new(o, "line", line > 0 ? json_integer(line) : json_null());
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

static void progress(struct ingest *in)
{
	struct evbatch *b = &in->batch;
	if (!in->tty || b->batches == in->progress_at)
		return;
	in->progress_at = b->batches;
	double el = time_mono() - in->t0;
	fprintf(stderr, "\ringest: %" PRId64 " stored, %" PRId64 " duplicates (%.0f/s) ", b->stored,
		b->dups, el > 0 ? (double)(b->stored + b->dups) / el : 0.0);
}

/*
 * The next line, committing the open batch when the input stalls or the batch
 * grows old while waiting for it. LR_LINE, LR_EOF, LR_ERROR, LR_STOPPED, or
 * LR_IDLE when the store failed (in->batch.err says why).
 */
static int next_line(struct ingest *in, struct line_reader *lr, const char **p, size_t *n,
		     int *too_long)
{
	for (;;) {
		double now = time_mono(), due = evbatch_due(&in->batch, now);
		lr->deadline = due < 0 ? 0 : now + due;
		int got = line_reader_next(lr, p, n, too_long);
		if (got != LR_IDLE)
			return got;
		if (evbatch_tick(&in->batch, time_mono()))
			return LR_IDLE;
		progress(in);
	}
}

enum fmt { FMT_AUTO, FMT_NDJSON, FMT_CSV };

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* The store failed: say so naming the record (line > 0) or the input, and roll back. */
static int store_failed(struct ingest *in, const char *src, long line)
{
	struct evbatch *b = &in->batch;
	int64_t open = b->stored + b->dups - b->ok_stored - b->ok_dups;
	if (line > 0)
		jlog_error("%s:%ld: %s; the open batch (%" PRId64 " records) was rolled back", src,
			   line, b->err.msg, open);
	else
		jlog_error("%s: %s; the last batch was rolled back", src, b->err.msg);
	evbatch_abort(b);
	if (b->kept)
		jlog_error("%s: %" PRId64 " events of that batch were stored before the failure "
			   "and stay stored; ingesting the input again stores each event once",
			   src, b->kept);
	return -1;
}

/* Process one input; returns 0, or -1 when the store failed (already reported). */
static int ingest_fd(struct ingest *in, int fd, const char *src, enum fmt fmt)
{
	struct line_reader lr;
	struct csv_header hdr = {0, NULL};
	const char *p;
	size_t n;
	int too_long, got, have_header = 0, rc = 0;
	char why[512];

	line_reader_init(&lr, fd);
	lr.stop = &stop_requested;
	if (fmt == FMT_AUTO && ends_with(src, ".csv"))
		fmt = FMT_CSV;
	while ((got = next_line(in, &lr, &p, &n, &too_long)) == LR_LINE) {
		long line = lr.lineno;
		struct ev_builder b;
		int dup;
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
			/*
			 * A quoted field may hold newlines: join lines until the quotes
			 * close, looking at each line once (rescanning the record for
			 * every line made a 60 KB field take 1.8 s).
			 */
			strbuf_reset(&in->rec);
			strbuf_add(&in->rec, p, n);
			int inq = csv_quote_scan(p, n, 0);
			while (inq && in->rec.len <= EV_MAX_RECORD) {
				got = next_line(in, &lr, &p, &n, &too_long);
				if (got != LR_LINE || too_long)
					break;
				strbuf_add(&in->rec, "\n", 1);
				strbuf_add(&in->rec, p, n);
				inq = csv_quote_scan(p, n, inq);
			}
			if (got == LR_IDLE || got == LR_STOPPED)
				break; /* the store failed, or a signal: the record is cut off */
			if (in->rec.len == 0)
				continue;
			if (in->rec.len > EV_MAX_RECORD || too_long) {
				snprintf(why, sizeof(why),
					 "record too long (over %d bytes) or an unclosed quote",
					 EV_MAX_RECORD);
				reject(in, src, line, NULL, 0, why);
				if (got != LR_LINE)
					break;
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
			    ev_builder_finish(&b, time_now_ms(), NULL, why, sizeof(why))) {
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
			/* "now" is when the record was read: a pipeline runs for hours */
			if (dec_json_object(p, n, &b, &in->scratch, why, sizeof(why)) ||
			    ev_builder_finish(&b, time_now_ms(), NULL, why, sizeof(why))) {
				reject(in, src, line, p, n, why);
				continue;
			}
		}
		if (evbatch_insert(&in->batch, &b.ev, &dup)) {
			rc = store_failed(in, src, line);
			break;
		}
		progress(in);
	}
	if (got == LR_ERROR) {
		jlog_error("%s: read error: %s", src, strerror(lr.err));
		in->failed = 1;
	}
	csv_header_release(&hdr);
	line_reader_release(&lr);
	if (rc == 0 && got == LR_IDLE) /* the store failed while the input stalled */
		rc = store_failed(in, src, 0);
	/* also after a signal: what was read is committed before the process ends */
	if (rc == 0 && evbatch_commit(&in->batch, NULL))
		rc = store_failed(in, src, 0);
	return rc;
}

/* ---- the original's table, from Cassandra ---- */

struct from_table {
	struct ingest *in;
	const char *src;
	int failed; /* the store failed (reported) */
};

static int table_row(void *arg, struct ev_builder *b, const char *where, const char *rec,
		     const char *bad)
{
	struct from_table *t = arg;
	char why[512];
	int dup;
	if (bad || ev_builder_finish(b, time_now_ms(), NULL, why, sizeof(why))) {
		char msg[700];
		snprintf(msg, sizeof(msg), "%s: %s", where, bad ? bad : why);
		reject(t->in, t->src, 0, rec, rec ? strlen(rec) : 0, msg);
		return 0;
	}
	if (evbatch_insert(&t->in->batch, &b->ev, &dup)) {
		store_failed(t->in, t->src, 0);
		t->failed = 1;
		return -1;
	}
	/* a table is read as fast as it answers: commits are timed by evbatch_tick */
	if (evbatch_tick(&t->in->batch, time_mono())) {
		store_failed(t->in, t->src, 0);
		t->failed = 1;
		return -1;
	}
	return 0;
}

static void table_progress(void *arg, int done, int nranges, int64_t rows)
{
	struct from_table *t = arg;
	struct evbatch *b = &t->in->batch;
	char r[32], st[32], d[32];
	if (t->in->quiet || (!t->in->tty && done % 16 != 0 && done != nranges))
		return;
	fprintf(stderr,
		"%singest: %s: %d of %d token ranges, %s rows read, %s stored, %s duplicates%s",
		t->in->tty ? "\r" : "", t->src, done, nranges, fmt_int(rows, r, sizeof(r)),
		fmt_int(b->stored, st, sizeof(st)), fmt_int(b->dups, d, sizeof(d)),
		t->in->tty ? " " : "\n");
	if (t->in->tty)
		t->in->progress_at = b->batches + 1; /* so that the summary starts a new line */
}

/* Import a table of tracking records; returns 0, or -1 when a store failed (reported). */
static int ingest_table(struct ingest *in, const char *url)
{
	struct cass_source *cs;
	struct jerr err;
	if (cass_source_open(url, &cs, &err) != J_OK) {
		jlog_error("ingest: %s", err.msg);
		in->failed = 1;
		return 0;
	}
	struct from_table t = {in, cass_source_name(cs), 0};
	int r = cass_source_scan(cs, table_row, table_progress, &t, &stop_requested, &err);
	int rc = 0;
	if (t.failed) {
		rc = -1;
	} else if (r != J_OK) {
		jlog_error("ingest: %s; what was read so far is committed", err.msg);
		in->failed = 1;
	}
	if (!t.failed && evbatch_commit(&in->batch, NULL))
		rc = store_failed(in, t.src, 0);
	cass_source_close(cs);
	return rc;
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"format", required_argument, NULL, 'F'},
	    {"reject-file", required_argument, NULL, 'R'},
	    {"batch", required_argument, NULL, 'b'},
	    {"stall", required_argument, NULL, 'S'},
	    {"max-age", required_argument, NULL, 'A'},
	    {"quiet", no_argument, NULL, 'q'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct ingest in;
	enum fmt fmt = FMT_AUTO;
	struct evbatch_opts bo;
	int opt, rc = EXIT_OK;

	memset(&in, 0, sizeof(in));
	evbatch_opts_default(&bo);
	common_init(&co);
	while ((opt = getopt_long(argc, argv, "F:R:b:S:A:q", longopts, NULL)) != -1) {
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
			if (parse_int64(optarg, strlen(optarg), 1, 10000000, &bo.max_rows))
				return usage_error("ingest", "--batch: want 1..10000000, got '%s'",
						   optarg);
			break;
		case 'S':
			if (parse_seconds(optarg, 0, 3600, &bo.stall_s))
				return usage_error("ingest",
						   "--stall: want seconds (0.5, 500ms, 0: never), "
						   "got '%s'",
						   optarg);
			break;
		case 'A':
			if (parse_seconds(optarg, 0, 3600, &bo.max_age_s))
				return usage_error("ingest",
						   "--max-age: want seconds (2, 1500ms, 0: never), "
						   "got '%s'",
						   optarg);
			break;
		case 'q':
			in.quiet = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	struct jerr err;
	if (evstore_open(co.events, STORE_CREATE, &in.evs, &err) != J_OK) {
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
	evbatch_init(&in.batch, in.evs, &bo);
	in.tty = !in.quiet && isatty(2);
	double t0 = time_mono();
	in.t0 = t0;
	int nfiles = argc - optind;
	for (int i = 0; i < (nfiles ? nfiles : 1) && !stop_requested; i++) {
		const char *path = nfiles ? argv[optind + i] : "-";
		int fd;
		const char *src = path;
		if (strncmp(path, "cassandra://", 12) == 0) {
			if (ingest_table(&in, path)) {
				in.failed = 1;
				break;
			}
			continue;
		}
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
	if (in.progress_at > 0)
		fputc('\n', stderr); /* end the progress line */
	if (in.rejects && fclose(in.rejects) != 0) {
		jlog_error("ingest: %s: %s", in.reject_path, strerror(errno));
		in.failed = 1;
	}
	char a[32], d[32], rj[32];
	fprintf(stderr, "ingest: %s stored, %s duplicates, %s rejected in %.2f s%s\n",
		fmt_int(in.batch.stored, a, sizeof(a)), fmt_int(in.batch.dups, d, sizeof(d)),
		fmt_int(in.rejected, rj, sizeof(rj)), secs,
		stop_requested ? " (stopped by signal)" : "");
	if (in.rejected || in.failed)
		rc = EXIT_FAIL;
	strbuf_release(&in.scratch);
	strbuf_release(&in.rec);
	evstore_close(in.evs);
	return rc;
}
