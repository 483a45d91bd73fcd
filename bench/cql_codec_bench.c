/*
 * cql_codec_bench.c - the CQL client's row codec on one core, no network:
 *
 *   cql_codec_bench record HOST PORT KEYSPACE FILE   save one page (5,000 rows) of
 *       events_by_bucket as the server sent it: the RESULT body of the scan's query
 *   cql_codec_bench decode FILE [SECONDS]   parse that body and decode every row into
 *       an event (the store's own decoder), again and again: rows/s
 *   cql_codec_bench encode [SECONDS]        bind the 23 values of an INSERT for an
 *       event (the store's own binder) and frame them in 256-row BATCH frames: rows/s
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql/cql.h"
#include "store/cassandra/cassandra.h"

#include "jobads/banned.h"

static int record(const char *host, int port, const char *ks, const char *file)
{
	struct cql_opts o = {.hosts = host, .port = port, .name = "bench"};
	struct cql_sess *s;
	struct jerr err;
	if (cql_sess_open(&o, &s, &err) != J_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	/* the first listed partition of today */
	char q[256];
	snprintf(q, sizeof(q), "SELECT bucket, shard FROM %s.buckets WHERE day = ?", ks);
	struct cql_buf v = {0};
	cqlv_int(&v, (int32_t)(time_now_ms() / 86400000));
	struct cql_req rq = {.query = q, .values = &v, .nvalues = 1, .consistency = CQL_ONE};
	struct cql_result res;
	int h;
	struct cql_cell c[2];
	int32_t left;
	if (cql_run(s, &rq, &res, &h, &err) != J_OK ||
	    (left = res.nrows, cql_row_next(&res, &left, c, 2)) != 1) {
		fprintf(stderr, "record: no partition listed today in %s: %s\n", ks, err.msg);
		return 1;
	}
	int64_t bucket;
	int32_t shard;
	cql_get_bigint(c[0], &bucket);
	cql_get_int(c[1], &shard);
	cql_release(s, h);
	char *read = evstore_cassandra_read_query(ks);
	cqlb_reset(&v);
	cqlv_bigint(&v, bucket);
	cqlv_int(&v, shard);
	uint8_t from[16], low[8] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
	cql_timeuuid_make(from, 0, low);
	cqlv_uuid(&v, from);
	struct cql_prep *p = cql_prep_new(s, read);
	struct cql_req rr = {
	    .prep = p, .values = &v, .nvalues = 3, .consistency = CQL_ONE, .page_size = 5000};
	if (cql_run(s, &rr, &res, &h, &err) != J_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	FILE *f = fopen(file, "wb");
	if (!f || fwrite(res.body, 1, res.body_len, f) != res.body_len || fclose(f) != 0) {
		perror(file);
		return 1;
	}
	printf("recorded %d rows, %zu bytes\n", res.nrows, res.body_len);
	cql_release(s, h);
	free(read);
	cqlb_release(&v);
	cql_sess_close(s);
	return 0;
}

static int decode(const char *file, double secs)
{
	FILE *f = fopen(file, "rb");
	if (!f) {
		perror(file);
		return 1;
	}
	static uint8_t body[64 << 20];
	size_t n = fread(body, 1, sizeof(body), f);
	fclose(f);
	struct jerr err;
	int64_t rows = 0, checksum = 0;
	double t0 = time_mono(), t;
	do {
		for (int k = 0; k < 20; k++) {
			struct cql_result res;
			const char *why;
			if (cql_result_parse(body, n, &res, &why) != 0) {
				fprintf(stderr, "decode: %s\n", why);
				return 1;
			}
			struct cql_cell c[20];
			struct event ev;
			uint8_t id[16];
			int32_t left = res.nrows;
			while (cql_row_next(&res, &left, c, 20) == 1) {
				if (evstore_cassandra_decode_row("bench", c, &ev, id, &err) != 0) {
					fprintf(stderr, "%s\n", err.msg);
					return 1;
				}
				checksum += ev.clicks + ev.cost_micros + ev.industry.n;
				rows++;
			}
		}
		t = time_mono() - t0;
	} while (t < secs);
	printf("decode: %" PRId64 " rows in %.2f s: %.2f M rows/s (checksum %" PRId64 ")\n", rows,
	       t, (double)rows / t / 1e6, checksum);
	return 0;
}

static int encode(double secs)
{
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.ts_ms = 1767225600000LL;
	ev.publisher_id = 2;
	ev.publisher_name = (struct ev_str){"Google Ads", 10};
	ev.publisher_traffic = (struct ev_str){"HIGH", 4};
	ev.publisher_quality = (struct ev_str){"HIGH", 4};
	ev.bid = 17;
	ev.job_id = 1;
	ev.campaign_id = 101;
	ev.industry = (struct ev_str){"IT", 2};
	ev.location = (struct ev_str){"HCM", 3};
	ev.device = (struct ev_str){"mobile", 6};
	ev.impressions = 2345;
	ev.clicks = 97;
	ev.apply_count = 11;
	ev.cost_micros = 1649000000;
	ev.quality_score = 84;
	uint8_t uuid[16], id[16], low[8] = {0x80, 1, 2, 3, 4, 5, 6, 7};
	memset(uuid, 0x42, 16);
	uint8_t idb[16];
	cql_timeuuid_make(idb, CQL_TICKS_UNIX_OFFSET + 17672256000000000ULL, low);
	struct cql_buf vals = {0}, frame = {0};
	int64_t rows = 0, bytes = 0;
	double t0 = time_mono(), t;
	do {
		for (int k = 0; k < 100; k++) {
			cqlb_reset(&frame);
			size_t st = cql_frame_begin(&frame, CQL_VERSION_REQ, CQL_OP_BATCH, 1);
			cqlb_u8(&frame, 1);
			cqlb_u16(&frame, 256);
			for (int i = 0; i < 256; i++) {
				memcpy(id, idb, 16);
				id[3] = (uint8_t)i;
				cqlb_reset(&vals);
				evstore_cassandra_bind_row(&vals, &ev, uuid, id, 1767225600000LL,
							   3);
				cqlb_u8(&frame, 1);
				cqlb_sbytes(&frame, "0123456789abcdef", 16);
				cqlb_u16(&frame, 23);
				cqlb_raw(&frame, vals.p, vals.len);
				rows++;
			}
			cqlb_u16(&frame, CQL_LOCAL_QUORUM);
			cqlb_u8(&frame, 0);
			cql_frame_end(&frame, st);
			bytes += (int64_t)frame.len;
		}
		t = time_mono() - t0;
	} while (t < secs);
	printf("encode: %" PRId64 " rows in %.2f s: %.2f M rows/s (%.0f bytes/row)\n", rows, t,
	       (double)rows / t / 1e6, (double)bytes / (double)rows);
	cqlb_release(&vals);
	cqlb_release(&frame);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "record") == 0)
		return record(argv[2], atoi(argv[3]), argv[4], argv[5]);
	if (argc >= 3 && strcmp(argv[1], "decode") == 0)
		return decode(argv[2], argc > 3 ? atof(argv[3]) : 2.0);
	if (argc >= 2 && strcmp(argv[1], "encode") == 0)
		return encode(argc > 2 ? atof(argv[2]) : 2.0);
	fprintf(stderr, "usage: cql_codec_bench record HOST PORT KEYSPACE FILE | decode FILE [S] | "
			"encode [S]\n");
	return 2;
}
