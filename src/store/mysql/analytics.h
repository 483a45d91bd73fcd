/*
 * mysql/analytics.h - what the analytics store's files share, private to
 * them: analytics.c (open and close, the cursor, reads, reports, the zone),
 * analytics_runs.c (run history and the run lock) and analytics_apply.c (apply: the deltas and the
 * cursor in one transaction). The design is in analytics.c's header.
 */
#ifndef JOBADS_MYSQL_ANALYTICS_H
#define JOBADS_MYSQL_ANALYTICS_H

#include <pthread.h>

#include "jobads/store.h"
#include "conn.h"

/* Upserts go in blocks of 2^k rows, k < UPS_LEVELS: at most 512 rows, 8192 parameters. */
#define UPS_LEVELS   10
#define UPS_MAX_ROWS (1u << (UPS_LEVELS - 1))
#define UPS_COLS     16

struct an_mysql {
	struct anstore base;
	struct my_url url;
	MYSQL *db;
	int mariadb;
	pthread_mutex_t mu;
	MYSQL_STMT *getcur, *setcur;
	MYSQL_STMT *ups[UPS_LEVELS];
	MYSQL_STMT *pubs[UPS_LEVELS]; /* dim_publisher, 2^k rows */
	MYSQL_STMT *q[AN__COUNT];
	MYSQL_BIND *pb;	     /* UPS_MAX_ROWS * UPS_COLS parameter binds */
	unsigned long *plen; /* 3 text lengths per row */
	int64_t *pv;	     /* 6 measures per row, as int64 */
	unsigned up_errno;   /* the server's error for the last upsert, 0 if none */
	int bulk;	     /* the server takes array binding (MariaDB 10.2+) */
	MYSQL_STMT *ups1;    /* the one-row upsert, executed for arrays of groups */
	struct bulk_cols *bc;
	struct tz *tz; /* the store's zone, read at the first AN_DAY query */
};

/*
 * Array binding (COM_STMT_BULK_EXECUTE): the one-row upsert runs for an array
 * of groups in one round trip, column by column. The server sets up one row
 * of 16 parameters instead of a 512-row statement's 8192, which cut its CPU for
 * 1 M events from 0.17 s to 0.14 s; MySQL 8 has no such command and gets the
 * multi-row statements (also with ?bulk=0, which the tests use to keep that
 * path tested).
 */
#define BULK_MAX_ROWS 4096

struct bulk_cols {
	int64_t i64[7][BULK_MAX_ROWS]; /* hour_start, records .. quality_sum */
	int32_t i32[2][BULK_MAX_ROWS]; /* campaign_id, publisher_id */
	const char *str[3][BULK_MAX_ROWS];
	unsigned long len[3][BULK_MAX_ROWS];
	char ind[3][BULK_MAX_ROWS];
	double dbl[4][BULK_MAX_ROWS];
};

#define FACT_COLS                                                                                  \
	"hour_start, campaign_id, publisher_id, industry, location, device, records,"              \
	" impressions, clicks, applies, cost_micros, quality_sum, ctr_sum, cpc_sum, cpa_sum,"      \
	" roi_sum"

#define LOCKED(a) pthread_mutex_lock(&(a)->mu)
#define UNLOCK(a) pthread_mutex_unlock(&(a)->mu)

static inline void rollback(struct an_mysql *a)
{
	/* the error that made us roll back is the one to report */
	mysql_rollback(a->db);
}

/* Execute st with params already bound; J_OK or an error naming what. */
static inline int run(struct an_mysql *a, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
		      struct jerr *err)
{
	return my_run(st, params, a->base.name, what, err);
}

/* The module's own: none of these is seen outside jobads-mysql.so. */
#pragma GCC visibility push(hidden)

/* analytics.c: run st (params bound or NULL) and call fn for each fact-shaped row. */
int fact_rows(struct an_mysql *a, MYSQL_STMT *st, MYSQL_BIND *params, fact_row_fn fn, void *arg,
	      const char *what, struct jerr *err);

/* analytics_runs.c: binding a C string; preparing, running and closing (or
 * keeping in *keep) a statement that returns no rows; and the run history and
 * run lock ops. */
void bind_cstr(MYSQL_BIND *b, const char *s, unsigned long *len);
int exec_once(struct an_mysql *a, const char *sql, MYSQL_BIND *p, const char *what,
	      MYSQL_STMT **keep, struct jerr *err);
enum jrc an_mysql_run_begin(struct anstore *s, struct etl_run_rec *rec, struct jerr *err);
enum jrc an_mysql_run_end(struct anstore *s, const struct etl_run_rec *rec, struct jerr *err);
enum jrc an_mysql_runs(struct anstore *s, int limit, run_row_fn fn, void *arg, struct jerr *err);
enum jrc an_mysql_lock_acquire(struct anstore *s, const char *owner, const char *steal,
			       int64_t now_ms, int64_t lease_ms, int *got,
			       struct run_lock_info *holder, struct jerr *err);
enum jrc an_mysql_lock_renew(struct anstore *s, const char *owner, int64_t now_ms, int64_t lease_ms,
			     struct jerr *err);
enum jrc an_mysql_lock_release(struct anstore *s, const char *owner, struct jerr *err);
enum jrc an_mysql_runs_fail_stale(struct anstore *s, const char *reason, int64_t now_ms,
				  int64_t *count, struct jerr *err);

/* analytics_apply.c: the apply op. */
enum jrc an_mysql_apply(struct anstore *s, const struct agg *ag, int64_t from, int64_t to,
			struct jerr *err);

/* campaigns.c: the campaign ops. */
enum jrc an_mysql_campaigns_put(struct anstore *s, const struct campaign *c, size_t n,
				size_t *unknown, struct jerr *err);
enum jrc an_mysql_campaigns(struct anstore *s, campaign_fn fn, void *arg, struct jerr *err);

#pragma GCC visibility pop

#endif
