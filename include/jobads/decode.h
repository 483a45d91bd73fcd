/*
 * decode.h - turning input bytes into events: a line reader with a record-size
 * limit, a decoder for one flat JSON object (an NDJSON line), and CSV records
 * with a header row. Both decoders hand (name, value) pairs to ev_builder, so
 * validation is the same whatever the format.
 */
#ifndef JOBADS_DECODE_H
#define JOBADS_DECODE_H

#include <signal.h>
#include <stddef.h>

#include "jobads/event.h"
#include "jobads/util.h"

/*
 * Buffered reader over a file descriptor, yielding lines of at most
 * EV_MAX_RECORD bytes. Reading a pipe or a terminal it can give up waiting:
 * at `deadline`, so that a caller notices that its input stalled, and as soon
 * as *stop is set (a signal handler's flag; the read is interrupted by the
 * signal, or seen within STOP_POLL_MS).
 */
struct line_reader {
	int fd;
	char *buf;
	size_t cap, start, end;
	int eof, err;			   /* err: errno of a failed read */
	long lineno;			   /* 1-based number of the line last returned */
	double deadline;		   /* time_mono(); 0: wait as long as it takes */
	const volatile sig_atomic_t *stop; /* NULL: never stop early */
	int skipping;			   /* inside an over-long line, dropping it */
	size_t skipped;			   /* its bytes dropped so far */
};

/* What line_reader_next returns. */
enum { LR_ERROR = -1, LR_EOF = 0, LR_LINE = 1, LR_IDLE = 2, LR_STOPPED = 3 };

void line_reader_init(struct line_reader *r, int fd);
void line_reader_release(struct line_reader *r);
/*
 * Next line without its newline (and without a trailing \r). Returns LR_LINE
 * with the line in (*p, *n), valid until the next call; LR_EOF at end of
 * input; LR_ERROR on a read error (r->err); LR_IDLE when the deadline passed
 * before a whole line came, and LR_STOPPED when *stop is set (call again to
 * go on: what was read of a line is kept). A line over EV_MAX_RECORD bytes is
 * consumed whole and returned with *too_long set and *n = its length, *p = NULL.
 */
int line_reader_next(struct line_reader *r, const char **p, size_t *n, int *too_long);

/*
 * Decode one flat JSON object into b. Values must be scalars. Strings that hold
 * escapes are unescaped into *scratch, which must have room for n bytes more
 * than its length (the decoder reserves it; pointers into it stay valid until
 * the caller resets it). Returns 0, or -1 with the reason in why.
 */
int dec_json_object(const char *p, size_t n, struct ev_builder *b, struct strbuf *scratch,
		    char *why, size_t whylen);

/* CSV: header row mapping column positions to fields. */
struct csv_header {
	int ncols;
	int *field; /* per column: enum ev_field, or -1 for an ignored column */
};

/*
 * Split one CSV record (which may span lines when a quoted field holds a
 * newline: the caller passes the joined text) into fields, unquoting in place.
 * Returns the number of fields (up to max), or -1 with the reason in why.
 */
int csv_split(char *rec, size_t n, char **fields, size_t *lens, int max, char *why, size_t whylen);
/* 1 when rec ends inside an open quoted field, so the next line belongs to it. */
int csv_open_quote(const char *rec, size_t n);
/*
 * The same, a line at a time: whether a record is inside a quoted field after
 * the n bytes at p, when it was (inq = 1) or was not (0) before them. Joining a
 * record's lines with it reads each byte once.
 */
int csv_quote_scan(const char *p, size_t n, int inq);
/* Build a header from the first record; -1 with why when a required column is missing. */
int csv_header_parse(struct csv_header *h, char *rec, size_t n, char *why, size_t whylen);
void csv_header_release(struct csv_header *h);
/* Decode one data record with a header into b. */
int dec_csv_record(const struct csv_header *h, char *rec, size_t n, struct ev_builder *b, char *why,
		   size_t whylen);

#endif
