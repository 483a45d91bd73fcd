/*
 * cassandra/rowcodec.c - a row of events_by_bucket (and of the original
 * `tracking` table) to and from struct event: the values of an INSERT bound
 * from an event, and a row read by a scan decoded into one. Its texts are
 * views, never copies: bound from the ingest arena, decoded as pointers into
 * the response (bench/cql_codec_bench.c measures both).
 */
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

/* An optional text left empty (no pointer: arena_str in write.c) is bound as null. */
static void put_text_or_null(struct cql_buf *v, struct ev_str s)
{
	if (s.n == 0 && !s.s)
		cqlv_null(v);
	else
		cqlv_text(v, s.s, s.n);
}

int64_t cass_id_micros(const uint8_t id[16])
{
	return (int64_t)((cql_timeuuid_ticks(id) - CQL_TICKS_UNIX_OFFSET) / 10);
}

void cass_bind_row(struct cql_buf *v, const struct pend *p)
{
	const struct event *ev = &p->ev;
	cqlv_bigint(v, p->bucket);
	cqlv_int(v, p->shard);
	cqlv_uuid(v, p->id);
	cqlv_uuid(v, p->uuid);
	cqlv_bigint(v, ev->ts_ms);
	cqlv_int(v, ev->publisher_id);
	cqlv_text(v, ev->publisher_name.s, ev->publisher_name.n);
	put_text_or_null(v, ev->publisher_traffic);
	put_text_or_null(v, ev->publisher_quality);
	if (ev->bid < 0)
		cqlv_null(v);
	else
		cqlv_bigint(v, ev->bid);
	cqlv_int(v, ev->job_id);
	cqlv_int(v, ev->campaign_id);
	cqlv_text(v, ev->industry.s, ev->industry.n);
	cqlv_text(v, ev->location.s, ev->location.n);
	cqlv_bigint(v, ev->impressions);
	cqlv_bigint(v, ev->clicks);
	cqlv_bigint(v, ev->apply_count);
	cqlv_decimal(v, ev->cost_micros, 6);
	cqlv_int(v, ev->quality_score);
	cqlv_text(v, ev->device.s, ev->device.n);
	cqlv_int(v, ev->hour);
	cqlv_int(v, ev->day_of_week);
	cqlv_bigint(v, cass_id_micros(p->id));
}

void evstore_cassandra_bind_row(struct cql_buf *v, const struct event *ev, const uint8_t uuid[16],
				const uint8_t id[16], int64_t bucket, int shard)
{
	struct pend p;
	p.ev = *ev;
	memcpy(p.uuid, uuid, 16);
	memcpy(p.id, id, 16);
	p.bucket = bucket;
	p.shard = shard;
	cass_bind_row(v, &p);
}

void cass_bind_orig(struct cql_buf *v, const struct pend *p)
{
	const struct event *ev = &p->ev;
	cqlv_uuid(v, p->uuid);
	cqlv_bigint(v, ev->ts_ms);
	cqlv_int(v, ev->publisher_id);
	cqlv_text(v, ev->publisher_name.s, ev->publisher_name.n);
	put_text_or_null(v, ev->publisher_traffic);
	put_text_or_null(v, ev->publisher_quality);
	if (ev->bid < 0)
		cqlv_null(v);
	else
		cqlv_int(v, (int32_t)ev->bid);
	cqlv_int(v, ev->job_id);
	cqlv_int(v, ev->campaign_id);
	cqlv_text(v, ev->industry.s, ev->industry.n);
	cqlv_text(v, ev->location.s, ev->location.n);
	/* the original's int columns; counts are validated <= 1e9 */
	cqlv_int(v, (int32_t)ev->impressions);
	cqlv_int(v, (int32_t)ev->clicks);
	cqlv_int(v, (int32_t)ev->apply_count);
	cqlv_double(v, (double)ev->cost_micros / 1e6);
	cqlv_int(v, ev->quality_score);
	cqlv_text(v, ev->device.s, ev->device.n);
	cqlv_int(v, ev->hour);
	cqlv_int(v, ev->day_of_week);
}

void cass_bind_key(struct cql_buf *v, const struct pend *p)
{
	cqlv_uuid(v, p->uuid);
	cqlv_bigint(v, p->ev.ts_ms);
	cqlv_bigint(v, p->bucket);
	cqlv_int(v, p->shard);
	cqlv_uuid(v, p->id);
}

/* A text cell as a view into the response; null and empty are both "". */
static struct ev_str cell_text(struct cql_cell c)
{
	struct ev_str s = {c.len > 0 ? (const char *)c.p : "", c.len > 0 ? (uint32_t)c.len : 0};
	return s;
}

/* The 20 columns of Q_READ (COLS_ALL) into ev and the row's id. */
int evstore_cassandra_decode_row(const char *name, const struct cql_cell *c, struct event *ev,
				 uint8_t id[16], struct jerr *err)
{
	uint8_t u[16];
	int32_t i32;
	if (cql_get_uuid(c[0], id) != 0 || cql_get_uuid(c[1], u) != 0 ||
	    cql_get_bigint(c[2], &ev->ts_ms) != 0 || cql_get_int(c[3], &ev->publisher_id) != 0 ||
	    cql_get_int(c[8], &ev->job_id) != 0 || cql_get_int(c[9], &ev->campaign_id) != 0 ||
	    cql_get_bigint(c[12], &ev->impressions) != 0 ||
	    cql_get_bigint(c[13], &ev->clicks) != 0 ||
	    cql_get_bigint(c[14], &ev->apply_count) != 0 ||
	    cql_get_decimal_scaled(c[15], 6, &ev->cost_micros) != 0 ||
	    cql_get_int(c[16], &ev->quality_score) != 0 || c[4].len < 0 || c[10].len < 0 ||
	    c[11].len < 0 || c[17].len < 0) {
		jerr_set(err, "%s: events_by_bucket: a row with a missing or malformed field",
			 name);
		return J_ERROR;
	}
	uuid_to_text(u, ev->event_id);
	ev->publisher_name = cell_text(c[4]);
	ev->publisher_traffic = cell_text(c[5]);
	ev->publisher_quality = cell_text(c[6]);
	ev->industry = cell_text(c[10]);
	ev->location = cell_text(c[11]);
	ev->device = cell_text(c[17]);
	if (c[7].len < 0 || cql_get_bigint(c[7], &ev->bid) != 0)
		ev->bid = -1;
	ev->hour = cql_get_int(c[18], &i32) == 0 ? (int8_t)i32 : 0;
	ev->day_of_week = cql_get_int(c[19], &i32) == 0 ? (int8_t)i32 : 0;
	return J_OK;
}
