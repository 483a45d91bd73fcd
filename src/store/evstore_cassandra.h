/*
 * evstore_cassandra.h - what the cassandra event store offers beyond the
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

#endif
