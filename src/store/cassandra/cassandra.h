/*
 * cassandra/cassandra.h - what the cassandra event store offers beyond the
 * evstore interface, for tools and tests (tests/cql/cqltool.c).
 */
#ifndef JOBADS_EVSTORE_CASSANDRA_H
#define JOBADS_EVSTORE_CASSANDRA_H

#include "jobads/store.h"

/*
 * Call fn for every stored row in seq order, settled or not, with all of its
 * fields (event_id, job_id, bid, hour, day_of_week too) and its seq. s must
 * be a store opened with the cassandra:// scheme.
 */
int evstore_cassandra_walk_all(struct evstore *s, ev_row_fn fn, void *arg, struct jerr *err);

/*
 * The row codec the store uses, for the benchmark (bench/cql_codec_bench.c):
 * decode one row of events_by_bucket as read by a scan (20 cells; texts point
 * into the cells), and bind the 23 values of one INSERT into it (the last its write timestamp).
 */
struct cql_cell;
struct cql_buf;
int evstore_cassandra_decode_row(const char *name, const struct cql_cell *c, struct event *ev,
				 uint8_t id[16], struct jerr *err);
void evstore_cassandra_bind_row(struct cql_buf *v, const struct event *ev, const uint8_t uuid[16],
				const uint8_t id[16], int64_t bucket, int shard);
/*
 * For tests: store a copy of the first row of the first partition (a new
 * event_id) with an id just before it, as a write that lands late would,
 * shifting every row of that partition by one position.
 */
int evstore_cassandra_insert_late(struct evstore *s, struct jerr *err);
/* The statement a scan reads a partition with, for keyspace ks (caller frees). */
char *evstore_cassandra_read_query(const char *ks);

#endif
