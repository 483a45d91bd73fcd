/*
 * campaign.c - parsing and checking a campaign's attributes (campaign.h): one
 * set of field parsers for the command line, the CSV loader and the API, and
 * the CSV loader itself, which reads the whole file before anything is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/campaign.h"
#include "jobads/decode.h"
#include "jobads/event.h"
#include "jobads/kpi_csv.h"

#include "jobads/banned.h"

/* Quote at most 40 bytes of the offending text, as the event validator does. */
#define QUOTE(s, n) (int)((n) > 40 ? 40 : (n)), (s)

void camp_init(struct campaign *c, int32_t id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->budget_micros = -1;
	c->per = CAMP_PER_NONE;
}

const char *camp_period_name(enum camp_period p)
{
	switch (p) {
	case CAMP_PER_DAY:
		return "day";
	case CAMP_PER_MONTH:
		return "month";
	case CAMP_PER_FLIGHT:
		return "flight";
	default:
		return NULL;
	}
}

static int is_none(const char *s, size_t n)
{
	return n == 0 || (n == 4 && memcmp(s, "none", 4) == 0);
}

int camp_parse_id(const char *s, size_t n, int32_t *id, char *why, size_t whylen)
{
	int64_t v;
	if (parse_int64(s, n, 1, INT32_MAX, &v)) {
		snprintf(why, whylen, "want an id > 0, got '%.*s'", QUOTE(s, n));
		return -1;
	}
	*id = (int32_t)v;
	return 0;
}

int camp_parse_name(const char *s, size_t n, char *out, char *why, size_t whylen)
{
	long chars = ev_utf8_len(s, n);
	if (chars < 0) {
		snprintf(why, whylen, "not valid UTF-8");
		return -1;
	}
	if (chars > CAMP_NAME_MAX) {
		snprintf(why, whylen, "longer than %d characters", CAMP_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20) {
			snprintf(why, whylen, "holds a control character");
			return -1;
		}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int camp_parse_date(const char *s, size_t n, int *has, int64_t *day, char *why, size_t whylen)
{
	int64_t y, m, d;
	if (is_none(s, n)) {
		*has = 0;
		*day = 0;
		return 0;
	}
	if (n != 10 || s[4] != '-' || s[7] != '-' || parse_int64(s, 4, 1, 9999, &y) ||
	    parse_int64(s + 5, 2, 1, 12, &m) || parse_int64(s + 8, 2, 1, 31, &d) ||
	    !civil_date_valid(y, m, d)) {
		snprintf(why, whylen, "want a date YYYY-MM-DD, got '%.*s'", QUOTE(s, n));
		return -1;
	}
	*has = 1;
	*day = days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

int camp_parse_budget(const char *s, size_t n, int64_t *micros, char *why, size_t whylen)
{
	const char *reason;
	if (is_none(s, n)) {
		*micros = -1;
		return 0;
	}
	if (ev_parse_money(s, n, CAMP_BUDGET_MAX_UNITS, micros, &reason)) {
		if (reason == ev_money_range)
			snprintf(why, whylen, "out of range (at most %lld): '%.*s'",
				 (long long)CAMP_BUDGET_MAX_UNITS, QUOTE(s, n));
		else
			snprintf(why, whylen, "%s: '%.*s'", reason, QUOTE(s, n));
		return -1;
	}
	return 0;
}

int camp_parse_period(const char *s, size_t n, enum camp_period *p, char *why, size_t whylen)
{
	static const enum camp_period all[] = {CAMP_PER_DAY, CAMP_PER_MONTH, CAMP_PER_FLIGHT};
	if (is_none(s, n)) {
		*p = CAMP_PER_NONE;
		return 0;
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *name = camp_period_name(all[i]);
		if (strlen(name) == n && memcmp(name, s, n) == 0) {
			*p = all[i];
			return 0;
		}
	}
	snprintf(why, whylen, "want day, month or flight, got '%.*s'", QUOTE(s, n));
	return -1;
}

int camp_set_field(struct campaign *c, const char *field, const char *s, size_t n, char *why,
		   size_t whylen)
{
	char r[200];
	int bad;
	r[0] = '\0';
	if (strcmp(field, "campaign_id") == 0)
		bad = camp_parse_id(s, n, &c->id, r, sizeof(r));
	else if (strcmp(field, "name") == 0)
		bad = camp_parse_name(s, n, c->name, r, sizeof(r));
	else if (strcmp(field, "start") == 0)
		bad = camp_parse_date(s, n, &c->has_start, &c->start_day, r, sizeof(r));
	else if (strcmp(field, "end") == 0)
		bad = camp_parse_date(s, n, &c->has_end, &c->end_day, r, sizeof(r));
	else if (strcmp(field, "budget") == 0)
		bad = camp_parse_budget(s, n, &c->budget_micros, r, sizeof(r));
	else if (strcmp(field, "per") == 0)
		bad = camp_parse_period(s, n, &c->per, r, sizeof(r));
	else {
		snprintf(why, whylen,
			 "%.40s: unknown field (want campaign_id, name, start, end,"
			 " budget or per)",
			 field);
		return -1;
	}
	if (bad)
		snprintf(why, whylen, "%s: %s", field, r);
	return bad;
}

int camp_check(const struct campaign *c, char *why, size_t whylen)
{
	char a[16], b[16];
	if (c->has_start && c->has_end && c->end_day < c->start_day) {
		snprintf(why, whylen, "end: %s is before the start %s",
			 camp_date_format(c->end_day, a, sizeof(a)),
			 camp_date_format(c->start_day, b, sizeof(b)));
		return -1;
	}
	if (c->budget_micros >= 0 && c->per == CAMP_PER_NONE) {
		snprintf(why, whylen, "per: a budget needs its period (day, month or flight)");
		return -1;
	}
	if (c->budget_micros < 0 && c->per != CAMP_PER_NONE) {
		snprintf(why, whylen, "budget: a period needs a budget");
		return -1;
	}
	if (c->per == CAMP_PER_FLIGHT && !(c->has_start && c->has_end)) {
		snprintf(why, whylen, "per: a budget per flight needs the start and the end dates");
		return -1;
	}
	return 0;
}

int camp_from_row(struct campaign *c, int32_t id, const char *name, const char *start,
		  const char *end, int64_t budget_micros, const char *per, char *why, size_t whylen)
{
	camp_init(c, id);
	if (name)
		snprintf(c->name, sizeof(c->name), "%s", name);
	c->budget_micros = budget_micros < 0 ? -1 : budget_micros;
	if ((start && camp_set_field(c, "start", start, strlen(start), why, whylen)) ||
	    (end && camp_set_field(c, "end", end, strlen(end), why, whylen)) ||
	    (per && camp_set_field(c, "per", per, strlen(per), why, whylen)))
		return -1;
	return 0;
}

char *camp_date_format(int64_t day, char *buf, size_t len)
{
	int64_t y;
	unsigned m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02u-%02u", (long long)y, m, d);
	return buf;
}

json_t *camp_json(const struct campaign *c)
{
	json_t *o = json_object();
	char d[16];
	json_object_set_new(o, "campaign_id", json_integer(c->id));
	json_object_set_new(o, "campaign_name", c->name[0] ? json_string(c->name) : json_null());
	json_object_set_new(o, "start",
			    c->has_start ? json_string(camp_date_format(c->start_day, d, sizeof(d)))
					 : json_null());
	json_object_set_new(o, "end",
			    c->has_end ? json_string(camp_date_format(c->end_day, d, sizeof(d)))
				       : json_null());
	if (c->budget_micros >= 0) {
		struct strbuf sb = {0};
		kpi_csv_micros(&sb, c->budget_micros);
		json_object_set_new(o, "budget", json_stringn(sb.buf, sb.len));
		json_object_set_new(o, "budget_micros", json_integer(c->budget_micros));
		strbuf_release(&sb);
	} else {
		json_object_set_new(o, "budget", json_null());
		json_object_set_new(o, "budget_micros", json_null());
	}
	json_object_set_new(o, "per", c->per ? json_string(camp_period_name(c->per)) : json_null());
	return o;
}

int camp_from_json(struct campaign *c, json_t *o, char *why, size_t whylen)
{
	const char *key;
	json_t *v;
	if (!json_is_object(o)) {
		snprintf(why, whylen, "body: want a JSON object");
		return -1;
	}
	json_object_foreach(o, key, v)
	{
		const char *field = strcmp(key, "campaign_name") == 0 ? "name" : key;
		char num[32];
		const char *t;
		size_t n;
		if (strcmp(key, "campaign_id") == 0)
			continue; /* the id is the path's */
		if (json_is_null(v)) {
			t = "";
			n = 0;
		} else if (json_is_string(v)) {
			t = json_string_value(v);
			n = json_string_length(v);
			if (n == 0 && strcmp(field, "name") != 0) {
				snprintf(why, whylen, "%.40s: empty (use null to clear it)", key);
				return -1;
			}
		} else if (json_is_integer(v) && strcmp(field, "budget") == 0) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			t = num;
			n = strlen(num);
		} else if (json_is_real(v) && strcmp(field, "budget") == 0) {
			snprintf(why, whylen,
				 "budget: a number with a fraction is not exact in JSON: give it as"
				 " a string (\"50000.50\")");
			return -1;
		} else {
			snprintf(why, whylen, "%.40s: want a string or null", key);
			return -1;
		}
		if (camp_set_field(c, field, t, n, why, whylen))
			return -1;
		/* clearing the budget or its period clears both, as one setting */
		if (n == 0 && strcmp(field, "budget") == 0)
			c->per = CAMP_PER_NONE;
		if (n == 0 && strcmp(field, "per") == 0)
			c->budget_micros = -1;
	}
	return 0;
}

#define CSV_MAX_COLS 16

static const char *const csv_fields[] = {"campaign_id", "name", "start", "end", "budget", "per"};
#define N_CSV_FIELDS (sizeof(csv_fields) / sizeof(csv_fields[0]))

/* The next record of text from *pos: its lines joined while a quoted field is open. */
static int next_record(const char *text, size_t len, size_t *pos, struct strbuf *rec)
{
	int inq = 0;
	strbuf_reset(rec);
	if (*pos >= len)
		return 0;
	do {
		const char *p = text + *pos;
		const char *nl = memchr(p, '\n', len - *pos);
		size_t n = nl ? (size_t)(nl - p) : len - *pos;
		*pos += n + (nl ? 1 : 0);
		if (inq)
			strbuf_add(rec, "\n", 1);
		inq = csv_quote_scan(p, n, inq);
		strbuf_add(rec, p, n);
	} while (inq && *pos < len);
	if (rec->len && rec->buf[rec->len - 1] == '\r')
		rec->len--;
	strbuf_add(rec, "", 1); /* NUL, outside len */
	rec->len--;
	return 1;
}

int camp_csv_parse(const char *text, size_t len, struct campaign **out, size_t *n, struct jerr *err)
{
	struct strbuf rec = {0};
	char *f[CSV_MAX_COLS], why[400];
	size_t fl[CSV_MAX_COLS], pos = 0, cap = 0;
	int col_field[CSV_MAX_COLS], ncols, has_id = 0;
	long row = 0;
	struct campaign *cs = NULL;
	*out = NULL;
	*n = 0;
	if (!next_record(text, len, &pos, &rec)) {
		jerr_set(err, "no header row");
		goto fail;
	}
	if ((ncols = csv_split(rec.buf, rec.len, f, fl, CSV_MAX_COLS, why, sizeof(why))) < 0) {
		jerr_set(err, "header: %s", why);
		goto fail;
	}
	for (int i = 0; i < ncols; i++) {
		col_field[i] = -1;
		for (size_t k = 0; k < N_CSV_FIELDS; k++)
			if (strlen(csv_fields[k]) == fl[i] &&
			    memcmp(csv_fields[k], f[i], fl[i]) == 0)
				col_field[i] = (int)k;
		if (col_field[i] < 0) {
			jerr_set(err,
				 "header: column %d: unknown field '%.*s' (want campaign_id, name,"
				 " start, end, budget or per)",
				 i + 1, QUOTE(f[i], fl[i]));
			goto fail;
		}
		for (int j = 0; j < i; j++)
			if (col_field[j] == col_field[i]) {
				jerr_set(err, "header: column %d: %s given twice", i + 1,
					 csv_fields[col_field[i]]);
				goto fail;
			}
		has_id |= col_field[i] == 0;
	}
	if (!has_id) {
		jerr_set(err, "header: no campaign_id column");
		goto fail;
	}
	while (next_record(text, len, &pos, &rec)) {
		struct campaign c;
		int got;
		row++;
		if (rec.len == 0)
			continue; /* a blank line, as at the end of a file */
		got = csv_split(rec.buf, rec.len, f, fl, CSV_MAX_COLS, why, sizeof(why));
		if (got < 0) {
			jerr_set(err, "row %ld: %s", row, why);
			goto fail;
		}
		if (got != ncols) {
			jerr_set(err, "row %ld: %s: missing (%d of %d columns)", row,
				 csv_fields[col_field[got < ncols ? got : ncols - 1]], got, ncols);
			if (got > ncols)
				jerr_set(err, "row %ld: %d columns, the header has %d", row, got,
					 ncols);
			goto fail;
		}
		camp_init(&c, 0);
		for (int i = 0; i < ncols; i++)
			if (camp_set_field(&c, csv_fields[col_field[i]], f[i], fl[i], why,
					   sizeof(why))) {
				jerr_set(err, "row %ld: %s", row, why);
				goto fail;
			}
		if (camp_check(&c, why, sizeof(why))) {
			jerr_set(err, "row %ld: %s", row, why);
			goto fail;
		}
		for (size_t k = 0; k < *n; k++)
			if (cs[k].id == c.id) {
				jerr_set(err, "row %ld: campaign_id: %d is also on an earlier row",
					 row, (int)c.id);
				goto fail;
			}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			cs = xrealloc(cs, cap * sizeof(*cs));
		}
		cs[(*n)++] = c;
	}
	strbuf_release(&rec);
	*out = cs;
	return J_OK;
fail:
	strbuf_release(&rec);
	free(cs);
	*n = 0;
	return J_ERROR;
}
