/*
 * cassandra/cassandra.h - what the cassandra event store offers beyond the
 * evstore interface, for tools and tests (tests/cql/cqltool.c).
 */
#ifndef JOBADS_EVSTORE_CASSANDRA_H
#define JOBADS_EVSTORE_CASSANDRA_H

#include <signal.h>
#include <stdint.h>

#include "jobads/event.h"
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

/*
 * A table of tracking records to import (source.c): the original stack's
 * job_ads.tracking, named by cassandra://[USER[:PASS]@]HOST[,HOST...][:PORT]/
 * KEYSPACE[?table=NAME] (default table: tracking). Its columns are found by
 * name; those jobads does not know are not read.
 */
struct cass_source;
enum jrc cass_source_open(const char *url, struct cass_source **out, struct jerr *err);
void cass_source_close(struct cass_source *s);
/* The table as it may be printed: the URL without its password, then .TABLE. */
const char *cass_source_name(const struct cass_source *s);
/*
 * For each row: b holds its fields, set but not finished (the caller finishes
 * it with its own "now"); where names it ("event_id 0b9e..."); rec is the row
 * as one JSON object (for a reject file); bad is why a cell could not be a
 * value at all (the row is then to be rejected), NULL when none. The values
 * live until fn returns. fn returns 0 to go on; anything else ends the scan
 * with J_ERROR (the caller says why).
 */
typedef int (*cass_source_fn)(void *arg, struct ev_builder *b, const char *where, const char *rec,
			      const char *bad);
/* After each token range: ranges done of nranges, rows read so far. */
typedef void (*cass_source_progress)(void *arg, int done, int nranges, int64_t rows);
/*
 * Read every row, by token ranges of the partition key, each range paged.
 * Stops between pages when *stop is set (J_OK). J_RETRY / J_ERROR with err
 * when the cluster failed.
 */
enum jrc cass_source_scan(struct cass_source *s, cass_source_fn fn, cass_source_progress pr,
			  void *arg, const volatile sig_atomic_t *stop, struct jerr *err);

#endif
