/*
 * cassandra/scan.c - reading the Cassandra event store in seq order: the
 * partitions listed in `buckets`, day by day, each read in its timeuuid
 * order from where the cursor left it, settled ones only (events.c's header
 * has the argument). A scan resumes inside a partition after the id of the
 * row it returned last, remembered here and in scan_marks, so that a row
 * written late into a partition shifts nothing already read.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#include "jobads/banned.h"

/* The id at 1-based position pos of a partition (pos >= 1), by reading ids. */
static int id_at_position(struct ev_cass *e, int64_t bucket, int shard, int64_t pos, uint8_t id[16],
			  struct jerr *err)
{
	struct cql_buf v = {0};
	uint8_t *ps = NULL;
	size_t psl = 0;
	int64_t seen = 0;
	int r = J_OK, found = 0;
	for (;;) {
		struct cql_result res;
		int h = -1;
		cqlb_reset(&v);
		cqlv_bigint(&v, bucket);
		cqlv_int(&v, shard);
		r = cass_run_request(e, cass_prepared(e, STMT_IDS), NULL, &v, 2, PAGE, ps, psl,
				     &res, &h, "finding the cursor's row", err);
		if (r != J_OK)
			break;
		struct cql_cell c[1];
		int32_t left = res.nrows;
		int k;
		while ((k = cql_row_next(&res, &left, c, 1)) == 1)
			if (++seen == pos) {
				found = cql_get_uuid(c[0], id) == 0;
				break;
			}
		if (k < 0) {
			r = cass_bad_shape(e, "events_by_bucket", &res, 1, err);
			cql_release(e->sess, h);
			break;
		}
		free(ps);
		ps = NULL;
		if (!found && res.meta.paging_state) {
			psl = res.meta.paging_len;
			ps = xmalloc(psl);
			memcpy(ps, res.meta.paging_state, psl);
		}
		cql_release(e->sess, h);
		if (found || !ps)
			break;
	}
	free(ps);
	cqlb_release(&v);
	if (r == J_OK && !found) {
		jerr_set(err,
			 "%s: the cursor points at row %" PRId64 " of partition (%" PRId64
			 ", %d), which has %" PRId64 " rows: rows were deleted or written after"
			 " the settle time",
			 e->base.name, pos, bucket, shard, seen);
		r = J_ERROR;
	}
	return r;
}

int cass_mark_get(struct ev_cass *e, int64_t seq, uint8_t id[16], int *found, struct jerr *err)
{
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	*found = 0;
	cqlv_bigint(&v, seq);
	int r = cass_run_request(e, cass_prepared(e, STMT_MARK_GET), NULL, &v, 1, 0, NULL, 0, &res,
				 &h, "reading the cursor's mark", err);
	cqlb_release(&v);
	if (r != J_OK)
		return r;
	struct cql_cell c[1];
	int32_t left = res.nrows;
	int k = cql_row_next(&res, &left, c, 1);
	if (k == 1 && cql_get_uuid(c[0], id) == 0)
		*found = 1;
	else if (k < 0)
		r = cass_bad_shape(e, "scan_marks", &res, 1, err);
	cql_release(e->sess, h);
	return r;
}

static int mark_set(struct ev_cass *e, int64_t seq, const uint8_t id[16], struct jerr *err)
{
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	cqlv_bigint(&v, seq);
	cqlv_uuid(&v, id);
	int r = cass_run_request(e, cass_prepared(e, STMT_MARK_SET), NULL, &v, 2, 0, NULL, 0, &res,
				 &h, "writing the cursor's mark", err);
	if (h >= 0)
		cql_release(e->sess, h);
	cqlb_release(&v);
	return r;
}

/*
 * Where to resume inside a partition after the cursor `after`: after the id
 * of the row that the scan returned as `after` (remembered in this process,
 * else from scan_marks), never at a position, which a row that appeared
 * later in the partition would shift. Only a cursor older than scan_marks is
 * found by position, once (the way schema version 1 did).
 */
static int resume_id(struct ev_cass *e, int64_t after, int64_t bucket, int shard, int64_t skip,
		     uint8_t from[16], struct jerr *err)
{
	int found, r;
	if (after == e->cache_seq && e->cache_seq != 0) {
		memcpy(from, e->cache_id, 16);
		return J_OK;
	}
	if ((r = cass_mark_get(e, after, from, &found, err)) != J_OK || found)
		return r;
	return id_at_position(e, bucket, shard, skip, from, err);
}

/* Read one partition from position skip (rows 1..skip already read). */
static int read_part(struct ev_cass *e, struct cass_walk *w, int64_t bucket, int shard,
		     int64_t skip, struct jerr *err)
{
	uint8_t from[16];
	int r;
	int stop_here = 0;
	if (w->stop_by_id) {
		int64_t sb, sp;
		int ss;
		seq_split(e, w->stop_seq, &sb, &ss, &sp);
		stop_here = sb == bucket && ss == shard;
	}
	if (skip > 0) {
		if ((r = resume_id(e, w->after, bucket, shard, skip, from, err)) != J_OK)
			return r;
	} else {
		static const uint8_t low[8] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
		cql_timeuuid_make(from, 0, low); /* before every real id */
	}
	struct cql_buf v = {0};
	cqlv_bigint(&v, bucket);
	cqlv_int(&v, shard);
	cqlv_uuid(&v, from);
	int64_t pos = skip;
	uint8_t id[16];
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	/*
	 * Pages are fetched one ahead: the next page's request is sent as soon as
	 * this page's paging state is known, then this page is decoded.
	 */
	int h = -1, hn = -1;
	struct cql_req rq = {.prep = cass_prepared(e, STMT_READ),
			     .values = &v,
			     .nvalues = 3,
			     .consistency = e->cl,
			     .page_size = PAGE};
	size_t want = w->limit - w->n;
	if (want < PAGE)
		rq.page_size = (int32_t)want + 1;
	r = cql_submit(e->sess, &rq, &h, err);
	while (r == J_OK) {
		struct cql_result res;
		r = cql_wait(e->sess, h, &res, err);
		if (r != J_OK)
			break;
		if (res.kind != CQL_RES_ROWS || res.meta.ncols != 20) {
			jerr_set(err, "%s: events_by_bucket: unexpected result shape",
				 e->base.name);
			r = J_ERROR;
			break;
		}
		if (res.meta.paging_state && w->n + (size_t)res.nrows < w->limit) {
			struct cql_req nx = rq;
			nx.paging_state = res.meta.paging_state;
			nx.paging_len = res.meta.paging_len;
			r = cql_submit(e->sess, &nx, &hn, err);
			if (r != J_OK)
				break;
		}
		struct cql_cell c[20];
		int32_t left = res.nrows;
		double t0 = time_mono();
		int k;
		while ((k = cql_row_next(&res, &left, c, 20)) == 1) {
			if ((r = evstore_cassandra_decode_row(e->base.name, c, &ev, id, err)) !=
			    J_OK)
				break;
			if (++pos > POS_MAX) {
				jerr_set(err,
					 "%s: partition (%" PRId64
					 ", %d) holds more than %lld rows",
					 e->base.name, bucket, shard, POS_MAX);
				r = J_ERROR;
				break;
			}
			ev.seq = seq_make(e, bucket, shard, pos);
			if (stop_here && memcmp(id, w->stop_id, 16) == 0) {
				/* the cursor's row, at whatever position it now has */
				w->stop_found = 1;
				ev.seq = w->stop_seq;
			} else if (ev.seq > w->stop_seq && !stop_here) {
				w->done = 1;
				break;
			}
			w->n++;
			w->upto = ev.seq;
			if (w->remember) {
				memcpy(e->cache_id, id, 16);
				e->cache_seq = ev.seq;
			}
			if ((w->stop = w->fn(w->arg, &ev)) != 0 || w->n >= w->limit ||
			    ev.seq == w->stop_seq || w->stop_found) {
				w->done = 1;
				break;
			}
		}
		if (k < 0 && r == J_OK)
			r = cass_bad_shape(e, "events_by_bucket", &res, 20, err);
		w->decode_s += time_mono() - t0;
		e->decode_s += time_mono() - t0;
		cql_release(e->sess, h);
		h = hn;
		hn = -1;
		if (r != J_OK || w->done || h < 0)
			break;
	}
	if (h >= 0) {
		struct cql_result res;
		cql_wait(e->sess, h, &res, err);
		cql_release(e->sess, h);
	}
	cqlb_release(&v);
	return r;
}

struct part_ref {
	int64_t bucket;
	int shard;
};

/* The partitions listed for one day with bucket >= from, in order. */
static int list_day(struct ev_cass *e, int64_t day, int64_t from, struct part_ref **out, size_t *n,
		    struct jerr *err)
{
	struct cql_buf v = {0};
	uint8_t *ps = NULL;
	size_t psl = 0, cap = 0;
	int r;
	*n = 0;
	*out = NULL;
	for (;;) {
		struct cql_result res;
		int h = -1;
		cqlb_reset(&v);
		cqlv_int(&v, (int32_t)day);
		cqlv_bigint(&v, from);
		r = cass_run_request(e, cass_prepared(e, STMT_LIST), NULL, &v, 2, PAGE, ps, psl,
				     &res, &h, "listing partitions", err);
		free(ps);
		ps = NULL;
		if (r != J_OK)
			break;
		struct cql_cell c[2];
		int32_t left = res.nrows;
		int k;
		while ((k = cql_row_next(&res, &left, c, 2)) == 1) {
			int64_t b;
			int32_t s;
			if (cql_get_bigint(c[0], &b) != 0 || cql_get_int(c[1], &s) != 0 || s < 0 ||
			    s >= SHARDS)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				*out = xrealloc(*out, cap * sizeof(**out));
			}
			(*out)[*n].bucket = b;
			(*out)[(*n)++].shard = s;
		}
		if (k < 0) {
			r = cass_bad_shape(e, "buckets", &res, 2, err);
			cql_release(e->sess, h);
			break;
		}
		if (res.meta.paging_state) {
			psl = res.meta.paging_len;
			ps = xmalloc(psl);
			memcpy(ps, res.meta.paging_state, psl);
		}
		cql_release(e->sess, h);
		if (!ps)
			break;
	}
	free(ps);
	cqlb_release(&v);
	return r;
}

static int walk_partitions(struct ev_cass *e, struct cass_walk *w, struct jerr *err)
{
	int64_t cb = e->created_ms - (e->created_ms - EPOCH_MS) % e->bucket_ms, cp = 0;
	int cs = -1;
	if (w->after > 0)
		seq_split(e, w->after, &cb, &cs, &cp);
	w->upto = w->after;
	int r = cass_clock_fresh(e, err);
	if (r != J_OK)
		return r;
	int64_t now = cass_clock_ms(e);
	int64_t horizon = now - e->settle_ms; /* a bucket ending by then is settled */
	int64_t last_day = (w->all ? now + DAY_MS : horizon) / DAY_MS;
	for (int64_t day = cb / DAY_MS; day <= last_day && !w->done && r == J_OK; day++) {
		struct part_ref *parts;
		size_t np;
		if ((r = list_day(e, day, cb, &parts, &np, err)) != J_OK)
			break;
		for (size_t i = 0; i < np && !w->done && r == J_OK; i++) {
			struct part_ref *p = &parts[i];
			if (p->bucket < cb || (p->bucket == cb && p->shard < cs))
				continue;
			int64_t end = p->bucket + e->bucket_ms;
			if (!w->all && end > horizon) {
				/*
				 * Not settled. With settle 0 (tests, one writer) a short bucket
				 * is waited for: the run then reads what was stored before it.
				 */
				if (e->settle_ms == 0 && end - cass_clock_ms(e) <= 2000) {
					while (cass_clock_ms(e) < end) {
						struct timespec ts = {0, 20 * 1000000L};
						nanosleep(&ts, NULL);
					}
					horizon = end;
				} else {
					w->done = 1;
					break;
				}
			}
			int64_t skip = p->bucket == cb && p->shard == cs ? cp : 0;
			r = read_part(e, w, p->bucket, p->shard, skip, err);
		}
		free(parts);
	}
	return r;
}

/* The one reader of every op; its errors say "reading events", once, here. */
int cass_walk(struct ev_cass *e, struct cass_walk *w, struct jerr *err)
{
	int r = walk_partitions(e, w, err);
	if (r != J_OK)
		jerr_prefix(err, "reading events");
	return r;
}

enum jrc ev_cass_scan(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn, void *arg,
		      size_t *nread, int64_t *upto, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct cass_walk w = {.after = after,
			      .limit = limit,
			      .stop_seq = INT64_MAX,
			      .remember = 1,
			      .fn = fn,
			      .arg = arg};
	*nread = 0;
	*upto = after;
	if (limit == 0)
		return J_OK;
	int r = cass_walk(e, &w, err);
	/* the id of the row at upto, for the process that resumes from it */
	if (r == J_OK && !w.stop && w.n > 0 && w.upto == e->cache_seq)
		r = mark_set(e, w.upto, e->cache_id, err);
	*nread = r == J_OK ? w.n : 0;
	*upto = r == J_OK ? w.upto : after;
	return w.stop ? w.stop : r;
}

int evstore_cassandra_walk_all(struct evstore *s, ev_row_fn fn, void *arg, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct cass_walk w = {
	    .limit = SIZE_MAX, .stop_seq = INT64_MAX, .all = 1, .fn = fn, .arg = arg};
	int r = cass_walk(e, &w, err);
	return w.stop ? w.stop : r;
}

/* ---- retention (jobads prune, issue 16) ---- */

#define Q_UNLIST "DELETE FROM %s.buckets WHERE day = ? AND bucket = ? AND shard = ?"

/* The ids of one partition's rows while every one is older than before_ms. */
struct prune_part {
	struct ev_cass *e;
	int64_t before_ms;
	uint8_t (*ids)[16];
	size_t n, cap;
	int young; /* a row at or after before_ms: the partition stays */
};

static int prune_note(void *arg, const struct event *ev)
{
	struct prune_part *pp = arg;
	if (ev->ts_ms >= pp->before_ms) {
		pp->young = 1;
		return 1;
	}
	if (pp->n == pp->cap) {
		pp->cap = pp->cap ? pp->cap * 2 : 256;
		pp->ids = xrealloc(pp->ids, pp->cap * sizeof(*pp->ids));
	}
	memcpy(pp->ids[pp->n++], pp->e->cache_id, 16); /* read_part's id of ev (remember) */
	return 0;
}

/* Delete a partition's rows (as a writer takes one back: at the id's time + 1 µs), then
 * its index row, so that a crash between leaves it listed and empty, never unlisted. */
static int prune_part_delete(struct ev_cass *e, const struct part_ref *p, int64_t day,
			     const struct prune_part *pp, const char *unlist, struct jerr *err)
{
	struct cql_buf v = {0};
	struct cql_result res;
	int r = J_OK;
	for (size_t i = 0; i < pp->n && r == J_OK; i++) {
		int h = -1;
		cqlb_reset(&v);
		cqlv_bigint(&v, cass_id_micros(pp->ids[i]) + 1);
		cqlv_bigint(&v, p->bucket);
		cqlv_int(&v, p->shard);
		cqlv_uuid(&v, pp->ids[i]);
		r = cass_run_request(e, cass_prepared(e, STMT_DELETE_ROW), NULL, &v, 4, 0, NULL, 0,
				     &res, &h, "deleting pruned events", err);
		if (h >= 0)
			cql_release(e->sess, h);
	}
	if (r == J_OK) {
		int h = -1;
		cqlb_reset(&v);
		cqlv_int(&v, (int32_t)day);
		cqlv_bigint(&v, p->bucket);
		cqlv_int(&v, p->shard);
		r = cass_run_request(e, NULL, unlist, &v, 3, 0, NULL, 0, &res, &h,
				     "unlisting a pruned partition", err);
		if (h >= 0)
			cql_release(e->sess, h);
	}
	cqlb_release(&v);
	return r;
}

/*
 * seq is a row's position in its partition, so rows can only go a whole
 * partition at a time, and only partitions before the one holding the cursor
 * `upto` (the ones a scan from the cursor never lists again): those whose
 * every row is older than before_ms. batch is not used: a partition is the unit.
 */
enum jrc ev_cass_prune(struct evstore *s, int64_t before_ms, int64_t upto, size_t batch,
		       void (*progress)(void *arg, int64_t deleted), void *arg, int64_t *deleted,
		       struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct prune_part pp = {.e = e, .before_ms = before_ms};
	int64_t ub, up;
	int us, r = J_OK;
	(void)batch;
	if (upto <= 0)
		return J_OK;
	seq_split(e, upto, &ub, &us, &up);
	char *unlist = cass_with_keyspace(Q_UNLIST, e->ks);
	int64_t first = e->created_ms - (e->created_ms - EPOCH_MS) % e->bucket_ms;
	for (int64_t day = first / DAY_MS; day <= ub / DAY_MS && r == J_OK; day++) {
		struct part_ref *parts;
		size_t np;
		if ((r = list_day(e, day, first, &parts, &np, err)) != J_OK)
			break;
		for (size_t i = 0; i < np && r == J_OK; i++) {
			struct part_ref *p = &parts[i];
			if (p->bucket > ub || (p->bucket == ub && p->shard >= us))
				break; /* listed in (bucket, shard) order */
			struct cass_walk w = {.limit = SIZE_MAX,
					      .stop_seq = INT64_MAX,
					      .remember = 1,
					      .fn = prune_note,
					      .arg = &pp};
			pp.n = 0;
			pp.young = 0;
			r = read_part(e, &w, p->bucket, p->shard, 0, err);
			if (r == J_OK && !pp.young) {
				r = prune_part_delete(e, p, day, &pp, unlist, err);
				if (r == J_OK) {
					*deleted += (int64_t)pp.n;
					if (progress)
						progress(arg, *deleted);
				}
			}
		}
		free(parts);
	}
	e->cache_seq = 0; /* read_part moved it: the next scan finds its place by the mark */
	free(unlist);
	free(pp.ids);
	return r;
}

/* ---- for tests: a row that appears late ---- */

struct first_row {
	struct event ev;
	char text[6][256];
};

static int keep_first(void *arg, const struct event *ev)
{
	struct first_row *f = arg;
	f->ev = *ev;
	struct ev_str *t[6] = {&f->ev.publisher_name,	 &f->ev.publisher_traffic,
			       &f->ev.publisher_quality, &f->ev.industry,
			       &f->ev.location,		 &f->ev.device};
	for (int k = 0; k < 6; k++) {
		uint32_t n = t[k]->n < 255 ? t[k]->n : 255;
		memcpy(f->text[k], t[k]->s ? t[k]->s : "", n);
		t[k]->s = f->text[k];
		t[k]->n = n;
	}
	return 1;
}

int evstore_cassandra_insert_late(struct evstore *s, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct first_row f;
	memset(&f, 0, sizeof(f));
	struct cass_walk w = {.limit = 1,
			      .stop_seq = INT64_MAX,
			      .all = 1,
			      .remember = 1,
			      .fn = keep_first,
			      .arg = &f};
	int r = cass_walk(e, &w, err);
	if (r != J_OK)
		return r;
	if (w.n == 0) {
		jerr_set(err, "%s: no row stored", s->name);
		return J_ERROR;
	}
	int64_t bucket, pos;
	int shard;
	seq_split(e, e->cache_seq, &bucket, &shard, &pos);
	uint8_t id[16], uuid[16];
	cql_timeuuid_make(id, cql_timeuuid_ticks(e->cache_id) - 1, e->cache_id + 8);
	random_bytes(uuid, sizeof(uuid));
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
	struct pend p;
	memset(&p, 0, sizeof(p));
	p.ev = f.ev;
	memcpy(p.uuid, uuid, 16);
	memcpy(p.id, id, 16);
	p.bucket = bucket;
	p.shard = shard;
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	cass_bind_row(&v, &p);
	r = cass_run_request(e, cass_prepared(e, STMT_INSERT_ROW), NULL, &v, 23, 0, NULL, 0, &res,
			     &h, "inserting a late row", err);
	if (h >= 0)
		cql_release(e->sess, h);
	cqlb_release(&v);
	e->cache_seq = 0;
	return r;
}
