/*
 * decode.h - turning input bytes into events: a line reader with a record-size
 * limit, a decoder for one flat JSON object (an NDJSON line), and CSV records
 * with a header row. Both decoders hand (name, value) pairs to ev_builder, so
 * validation is the same whatever the format.
 */
#ifndef JOBADS_DECODE_H
#define JOBADS_DECODE_H

#include <stddef.h>

#include "jobads/event.h"
#include "jobads/util.h"

/* Buffered reader over a file descriptor, yielding lines of at most EV_MAX_RECORD bytes. */
struct line_reader {
	int fd;
	char *buf;
	size_t cap, start, end;
	int eof, err; /* err: errno of a failed read */
	long lineno;  /* 1-based number of the line last returned */
};

void line_reader_init(struct line_reader *r, int fd);
void line_reader_release(struct line_reader *r);
/*
 * Next line without its newline (and without a trailing \r). Returns 1 with the
 * line in (*p, *n), valid until the next call; 0 at end of input; -1 on a read
 * error (r->err). A line over EV_MAX_RECORD bytes is consumed whole and returned
 * with *too_long set and *n = its length, *p = NULL.
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
/* Build a header from the first record; -1 with why when a required column is missing. */
int csv_header_parse(struct csv_header *h, char *rec, size_t n, char *why, size_t whylen);
void csv_header_release(struct csv_header *h);
/* Decode one data record with a header into b. */
int dec_csv_record(const struct csv_header *h, char *rec, size_t n, struct ev_builder *b, char *why,
		   size_t whylen);

#endif
