/*
 * store.h - the two storage interfaces: the event store (the raw events, each
 * with a store-assigned seq that orders them for the ETL) and the analytics
 * store (fact_hourly, dim_publisher, etl_state, etl_runs and the views). Each
 * backend is a struct of function pointers, chosen by URL scheme in store.c:
 * the event store on SQLite, MySQL or Cassandra, the analytics store on SQLite
 * or MySQL. The MySQL ones live in a module, jobads-mysql.so, that store.c
 * loads on first use.
 *
 * seq is the int64 the ETL's cursor follows (rows with seq > cursor are not
 * read yet), but it is neither dense nor, on every store, commit order:
 * SQLite's is commit order with gaps (a duplicate's seq); MySQL's can commit
 * out of order (writers hold reserved ranges, design.md item 5); Cassandra's is
 * computed from a row's place (bucket, shard, position: about 4.7e17, sparse),
 * and a scan resumes there by the row's id, not its position. So a difference
 * of seqs is never a count of events (see behind).
 *
 * Every operation returns J_OK, J_RETRY (transient: connection lost,
 * busy, deadlock, a server's timeout or overload; the caller may try again) or
 * J_ERROR, with a message in *err that names the store. Backends never
 * decide to retry; the ETL run and the scheduler do.
 */
#ifndef JOBADS_STORE_H
#define JOBADS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "jobads/agg.h"
#include "jobads/event.h"
#include "jobads/kpi.h"
#include "jobads/util.h"

/* How to open: create the file/schema when missing, or require it to exist. */
/* STORE_UPGRADE: create, or upgrade a layout that needs rewriting (jobads init). */
enum store_mode { STORE_OPEN_EXISTING = 0, STORE_CREATE = 1, STORE_UPGRADE = 2 };

/* One row of a grouped result at the fact_hourly grain. */
struct fact_row {
	int64_t hour_start;
	int32_t campaign_id, publisher_id;
	struct ev_str industry, location, device;
	struct kpi_sums m;
};

/* Callbacks return 0 to go on, non-zero to stop the scan (that value is returned). */
typedef int (*ev_row_fn)(void *arg, const struct event *ev);
typedef int (*fact_row_fn)(void *arg, const struct fact_row *r);

struct evstore;
struct tz;

/*
 * The layout of the ops structs, first in each so that it can be read from a
 * module built against any other: bump it with every change to a struct below.
 * A module whose version differs is refused at load (store.c, module_ops).
 * JOBADS_OPS_VERSION_SKEW builds a module that claims another version, for the
 * test that checks the refusal (tests/integration/t_module_abi.sh).
 */
#ifndef JOBADS_OPS_VERSION_SKEW
#define JOBADS_OPS_VERSION_SKEW 0
#endif
#define EVSTORE_OPS_VERSION (5 + JOBADS_OPS_VERSION_SKEW)
#define ANSTORE_OPS_VERSION (5 + JOBADS_OPS_VERSION_SKEW)

struct evstore_ops {
	int version; /* EVSTORE_OPS_VERSION */
	const char *scheme;
	enum jrc (*open)(const char *target, enum store_mode mode, struct evstore **out,
			 struct jerr *err);
	void (*close)(struct evstore *s);
	/* Create or upgrade the schema; idempotent. */
	enum jrc (*init)(struct evstore *s, struct jerr *err);
	/*
	 * An ingest batch: begin, insert..., commit (or rollback). One transaction on
	 * SQLite and MySQL; Cassandra has no multi-partition transactions, so rows it
	 * has sent stay after a failure (evstore.kept) and a re-sent batch counts them
	 * as duplicates.
	 */
	enum jrc (*begin)(struct evstore *s, struct jerr *err);
	/*
	 * Store ev; *dup = 1 when an event with the same event_id and ts is already
	 * stored. What a backend knows at once differs: MySQL and Cassandra see a
	 * duplicate within the batch (Cassandra within its block), SQLite none, as it
	 * holds the rows until commit; each may only find at commit that a row it
	 * called new was stored before: commit says how many.
	 */
	enum jrc (*insert)(struct evstore *s, const struct event *ev, int *dup, struct jerr *err);
	/*
	 * *late_dups: how many of the batch's rows that insert() reported as new
	 * turned out to be duplicates (SQLite, MySQL's LOAD way and Cassandra write a
	 * batch's rows in blocks and learn it only then); the caller moves that many
	 * from stored to duplicates. 0 when the commit fails.
	 */
	enum jrc (*commit)(struct evstore *s, int64_t *late_dups, struct jerr *err);
	/*
	 * Optional (NULL: only commit; MySQL has it): commit in two halves, so that the caller
	 * can read the next batch while the server commits this one. After
	 * commit_start, the next batch may begin and insert; commit_wait gives the
	 * outcome of the batch commit_start ended (with its late duplicates, as commit
	 * gives them) and must come before the next commit_start or commit. When it
	 * fails, that batch is rolled back; roll back the open one too.
	 */
	enum jrc (*commit_start)(struct evstore *s, struct jerr *err);
	enum jrc (*commit_wait)(struct evstore *s, int64_t *late_dups, struct jerr *err);
	void (*rollback)(struct evstore *s);
	/*
	 * Call fn for at most limit rows with seq > after, in seq order. *upto is the
	 * cursor the rows read allow: the last seq read, or less where seqs can commit
	 * out of order and a gap has not settled (MySQL, design.md item 5). Cassandra
	 * reads only partitions whose bucket has settled, so its upto is the last row
	 * read, and newer rows wait for a later scan.
	 */
	enum jrc (*scan)(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn, void *arg,
			 size_t *nread, int64_t *upto, struct jerr *err);
	/*
	 * Optional (NULL when a backend's scans always carry the publisher attributes).
	 * A scan may leave publisher_name/traffic/quality out of its rows, marking
	 * that with publisher_name.s == NULL, so that they are read once per publisher
	 * and chunk instead of once per row: this calls fn with the row at seq, of
	 * which only seq, publisher_id and the publisher attributes are set.
	 */
	enum jrc (*row_publisher)(struct evstore *s, int64_t seq, ev_row_fn fn, void *arg,
				  struct jerr *err);
	/*
	 * Optional, for parallel reads: rows with lo < seq <= hi in seq order, and a
	 * second connection to the same store. Only for backends whose seq is commit
	 * order, so that every row with seq <= stats()'s max_seq is already visible
	 * (SQLite; not MySQL, nor Cassandra, whose max_seq is no stored seq).
	 */
	enum jrc (*scan_range)(struct evstore *s, int64_t lo, int64_t hi, ev_row_fn fn, void *arg,
			       size_t *nread, struct jerr *err);
	enum jrc (*reopen)(struct evstore *s, struct evstore **out, struct jerr *err);
	/*
	 * *max_seq: the highest seq stored (SQLite, MySQL), or on Cassandra a bound
	 * above every seq (the start of the bucket after the newest), so cursor ==
	 * max_seq is not "nothing new" there. *rows (rows may be NULL): the number of
	 * rows, which on Cassandra means reading every row.
	 */
	enum jrc (*stats)(struct evstore *s, int64_t *max_seq, int64_t *rows, struct jerr *err);
	/*
	 * Optional: how many stored events have seq > cursor, the ETL's backlog. Not
	 * max_seq - cursor: seqs have gaps (a duplicate's seq on SQLite, voids and
	 * reserved ranges on MySQL, and Cassandra's seqs are sparse by design). NULL
	 * where the store cannot count them cheaply: callers say "unknown"
	 * (evstore_behind).
	 */
	enum jrc (*behind)(struct evstore *s, int64_t cursor, int64_t *n, struct jerr *err);
	/*
	 * For verify, an aggregation independent of agg.c of the rows with seq <= upto,
	 * in grain order (bytewise text): the server's GROUP BY on SQLite and MySQL, a
	 * hash table and sort in the backend on Cassandra, which has no GROUP BY.
	 * Rows go to the local hours of tz (the analytics store's zone; NULL: UTC)
	 * by the rule of tz_hour_start, written again in each backend's SQL.
	 */
	enum jrc (*recompute)(struct evstore *s, int64_t upto, const struct tz *tz, fact_row_fn fn,
			      void *arg, struct jerr *err);
	/* --- retention (jobads prune, issue 16) --- */
	/*
	 * Delete the rows with ts < before_ms and seq <= upto, in short transactions
	 * of about `batch` rows each, so that ingest goes on between them; *deleted
	 * counts them as they go (it holds what was deleted when a batch fails).
	 * progress (optional) is called after each batch. Cassandra deletes whole
	 * partitions only, those whose every row qualifies.
	 */
	enum jrc (*prune)(struct evstore *s, int64_t before_ms, int64_t upto, size_t batch,
			  void (*progress)(void *arg, int64_t deleted), void *arg, int64_t *deleted,
			  struct jerr *err);
};

struct evstore {
	const struct evstore_ops *ops;
	char *name; /* for messages: a path, or a URL without its password */
	/*
	 * Rows of the current batch (or of the last one rolled back) that a store
	 * without transactions (cassandra) has already stored for good: a rollback
	 * cannot take them back. Reset by begin; always 0 where a batch is a
	 * transaction.
	 */
	int64_t kept;
};

/* Report dimensions. */
enum an_dim {
	AN_TOTAL,
	AN_CAMPAIGN,
	AN_PUBLISHER,
	AN_INDUSTRY,
	AN_LOCATION,
	AN_DEVICE,
	AN_HOUR_OF_DAY,
	AN_WEEKDAY,
	AN_DAY,	   /* time series by UTC day */
	AN_HOURLY, /* time series by hour_start */
	/* hour of day by ISO weekday, for heatmaps: key = (weekday - 1) * 24 + hour */
	AN_WEEKDAY_HOUR,
	/* spend by (hour_start, campaign) over every campaign at once, for pacing:
	 * key = hour_start, campaign_id = the campaign, only m.cost_micros summed
	 * (the other measures 0); in no order */
	AN_CAMPAIGN_HOURLY,
	AN__COUNT
};

struct an_filter {
	int64_t from_s, to_s; /* hour_start in [from_s, to_s); INT64_MIN/MAX: open */
	int32_t campaign_id;  /* 0: any */
	int32_t publisher_id; /* 0: any */
	const char *industry; /* NULL: any */
	const char *device;   /* NULL: any */
};

void an_filter_all(struct an_filter *f);

/* One grouped report row: key (an id, hour, weekday or time) and label (text or NULL). */
struct an_row {
	int64_t key;
	const char *label;
	int32_t campaign_id; /* AN_CAMPAIGN_HOURLY's second key; 0 for the others */
	struct kpi_sums m;
};
typedef int (*an_row_fn)(void *arg, const struct an_row *r);

/* One row of etl_runs. */
struct etl_run_rec {
	int64_t id;
	char trigger[16]; /* schedule, manual, api */
	int attempt;
	char state[16];	 /* running, success, failed, retrying */
	char owner[128]; /* who ran it: the run lock's owner (etl_owner_name) */
	int64_t started_ms, finished_ms;
	int64_t events_read, groups_written, cursor_from, cursor_to;
	char error[512];
};
typedef int (*run_row_fn)(void *arg, const struct etl_run_rec *r);

/* The run lock's current holder, as stored. */
struct run_lock_info {
	char owner[128];		 /* etl_owner_name, "" when nobody holds it */
	int64_t acquired_ms, expires_ms; /* unix ms, the caller's clock */
};

struct anstore;
struct tz;
struct campaign;
typedef int (*campaign_fn)(void *arg, const struct campaign *c);

struct anstore_ops {
	int version; /* ANSTORE_OPS_VERSION */
	const char *scheme;
	enum jrc (*open)(const char *target, enum store_mode mode, struct anstore **out,
			 struct jerr *err);
	void (*close)(struct anstore *s);
	enum jrc (*init)(struct anstore *s, struct jerr *err);
	enum jrc (*get_cursor)(struct anstore *s, int64_t *cursor, struct jerr *err);
	/*
	 * One transaction: add every group of a to fact_hourly, upsert its publishers
	 * into dim_publisher, and move the cursor from `from` to `to`. If the stored
	 * cursor is not `from` (another run got there first) nothing is applied and
	 * J_ERROR is returned.
	 */
	enum jrc (*apply)(struct anstore *s, const struct agg *a, int64_t from, int64_t to,
			  struct jerr *err);
	/* One transaction: delete every fact and publisher, cursor back to 0. */
	enum jrc (*reset)(struct anstore *s, struct jerr *err);
	/*
	 * Every fact row, in grain order (bytewise text), and in *cursor the cursor
	 * they cover: both read in one snapshot, so that a run applying meanwhile
	 * shows either before or after, never half of each (verify relies on it).
	 */
	enum jrc (*facts)(struct anstore *s, int64_t *cursor, fact_row_fn fn, void *arg,
			  struct jerr *err);
	enum jrc (*query)(struct anstore *s, enum an_dim dim, const struct an_filter *f,
			  an_row_fn fn, void *arg, struct jerr *err);
	/* etl_runs: insert a row (sets r->id), update it, list the newest first. */
	enum jrc (*run_begin)(struct anstore *s, struct etl_run_rec *r, struct jerr *err);
	enum jrc (*run_end)(struct anstore *s, const struct etl_run_rec *r, struct jerr *err);
	enum jrc (*runs)(struct anstore *s, int limit, run_row_fn fn, void *arg, struct jerr *err);
	/*
	 * The run lock, held in the store itself so that processes on several machines
	 * sharing it run one at a time. One atomic step: take the lock for `owner` until
	 * now_ms + lease_ms when it is free, its lease has expired (expires_ms <= now_ms),
	 * it is already owner's, or its holder is `steal` (non-NULL: the caller has found
	 * that holder dead). *got says whether it was taken; *holder is the holder after
	 * the step (owner itself when *got).
	 */
	enum jrc (*lock_acquire)(struct anstore *s, const char *owner, const char *steal,
				 int64_t now_ms, int64_t lease_ms, int *got,
				 struct run_lock_info *holder, struct jerr *err);
	/* Extend owner's lease to now_ms + lease_ms; J_ERROR when owner lost the lock. */
	enum jrc (*lock_renew)(struct anstore *s, const char *owner, int64_t now_ms,
			       int64_t lease_ms, struct jerr *err);
	/* Release the lock if owner holds it (no error when it does not). */
	enum jrc (*lock_release)(struct anstore *s, const char *owner, struct jerr *err);
	/*
	 * Mark every etl_runs row still 'running' as 'failed' with `reason` and
	 * finished at now_ms; *count says how many. Called by the lock holder only:
	 * a running row it does not own belongs to a process that died.
	 */
	enum jrc (*runs_fail_stale)(struct anstore *s, const char *reason, int64_t now_ms,
				    int64_t *count, struct jerr *err);
	/*
	 * The reporting time zone (docs/architecture.md): its IANA name ("UTC" in a
	 * store made before zones), into name (cap bytes).
	 */
	enum jrc (*zone)(struct anstore *s, char *name, size_t cap, struct jerr *err);
	/*
	 * One transaction: make z the store's zone, its spans tz_offsets. *changed = 1
	 * when it was another. The facts are bucketed by the zone's hours, so when the
	 * store has any (or a cursor past 0) a change needs reset: it empties the
	 * aggregates and the cursor as reset() does, for the caller to rebuild; without
	 * it, J_ERROR saying so (store_zone_refuse).
	 */
	enum jrc (*set_zone)(struct anstore *s, const struct tz *z, int reset, int *changed,
			     struct jerr *err);
	/* --- retention (jobads prune, issue 16; docs/architecture.md) --- */
	/*
	 * The boundary: *raw_from (unix seconds, the start of a fact hour) below
	 * which raw events may have been pruned, INT64_MIN when never; the facts of
	 * the hours before it hold every event with ts < raw_from and seq <=
	 * *kept_upto, and those past it that the cursor has reached.
	 */
	enum jrc (*retention)(struct anstore *s, int64_t *raw_from, int64_t *kept_upto,
			      struct jerr *err);
	/*
	 * One transaction: raw_from becomes max(stored, want) and kept_upto the
	 * cursor, both given back. Refused when the cursor is 0 (nothing processed)
	 * or behind kept_upto (a rebuild has not caught up yet). Once a boundary is
	 * set, reset() empties only the hours at or after it and keeps the earlier
	 * facts, setting kept_upto to the cursor it found; set_zone refuses a reset.
	 */
	enum jrc (*set_retention)(struct anstore *s, int64_t want, int64_t *raw_from,
				  int64_t *kept_upto, struct jerr *err);
	/*
	 * Campaign attributes (dim_campaign, campaign.h). campaigns_put is one
	 * transaction that replaces the attributes of every one of c[0..n), or of
	 * none: a campaign neither in fact_hourly nor already in dim_campaign is
	 * unknown, and then *unknown is its index (else n) and the result J_ERROR.
	 * campaigns calls fn for each stored campaign in id order.
	 */
	enum jrc (*campaigns_put)(struct anstore *s, const struct campaign *c, size_t n,
				  size_t *unknown, struct jerr *err);
	enum jrc (*campaigns)(struct anstore *s, campaign_fn fn, void *arg, struct jerr *err);
};

struct anstore {
	const struct anstore_ops *ops;
	char *name;
};

/*
 * Open a store by URL: "sqlite:PATH" or a plain path for the embedded default,
 * "mysql://USER[:PASS]@HOST[:PORT]/DB[?...]" when the mysql module is built
 * (MariaDB Connector/C), or, for the event store only,
 * "cassandra://[USER[:PASS]@]HOST[,HOST...][:PORT]/KEYSPACE[?...]".
 * Returns J_OK with *out (close with *_close), or an error naming the URL.
 */
enum jrc evstore_open(const char *url, enum store_mode mode, struct evstore **out,
		      struct jerr *err);
void evstore_close(struct evstore *s);
/* The ops' behind(), or *n = -1 (unknown) for a store without it. */
enum jrc evstore_behind(struct evstore *s, int64_t cursor, int64_t *n, struct jerr *err);

/*
 * url as it may be printed, for every scheme: in "SCHEME://USER:PASSWORD@REST"
 * all between the user's ':' and the last '@' becomes "***". The last '@', not
 * the first after the host, so that a password holding a raw '/', '?', '#' or
 * '@' (which a parser may misread) is still hidden; a '@' in a later part (a
 * socket path) hides more than needed, never less. Text without "://" or '@'
 * is returned as it is. Returns buf (len >= 16), truncated to fit.
 */
const char *store_url_redact(const char *url, char *buf, size_t len);

/*
 * The '@' that ends the user part of a SCHEME:// URL's authority [auth, end)
 * (auth just past "//", end at the first '/' or '?' after it), or NULL when it
 * has none. Fails with a message naming the redacted URL when a '@' also
 * appears past end: a '/' or '?' left raw in the user name or password ends
 * the authority early, and parsing on would take part of the password for a
 * host or a port and echo it in a message. A '@' in a parameter is written %40.
 */
enum jrc store_url_userinfo_end(const char *scheme, const char *auth, const char *end,
				const char **at, struct jerr *err);

/*
 * Percent-decode n bytes of a URL part (a user name, a password, a path
 * parameter) into out, cap bytes with the NUL. The one decoder every backend's
 * URL parser uses, and strict: a '%' not followed by two hex digits (a
 * truncated or malformed escape) and %00 (which would cut the value short in
 * C) are refused, as is a value that does not fit. Fails with "NAME: PART:
 * reason" in err; the reason never quotes the text, which may be a password,
 * so name must be the URL as it may be printed (store_url_redact).
 */
enum jrc store_url_unescape(const char *name, const char *part, const char *s, size_t n, char *out,
			    size_t cap, struct jerr *err);

/*
 * How a backend's open goes on with a store whose schema is at `version` (0:
 * none) when this build knows `known`: J_OK with *init = 1 to create or
 * upgrade it, 0 to use it as it is; J_ERROR when it has none and mode does
 * not allow creating it, or when it is newer. what names the kind in messages
 * ("event store", "analytics").
 */
enum jrc store_schema_check(const char *name, const char *what, int version, int known,
			    enum store_mode mode, int *init, struct jerr *err);
enum jrc anstore_open(const char *url, enum store_mode mode, struct anstore **out,
		      struct jerr *err);

/*
 * fact_hourly's measures are int64 columns; a chunk's sums are 128-bit. Before a
 * backend adds group g it asks store_fact_over for the first measure of g's
 * delta that does not fit (NULL: none); store_fact_refuse sets err to say which
 * measure of which grain would pass int64 and returns J_ERROR. An apply that
 * refuses rolls back, so the cursor stays at `cursor`.
 */
const char *store_fact_over(const struct kpi_sums *v);
enum jrc store_fact_refuse(const char *name, const struct agg *ag, const struct agg_group *g,
			   const char *measure, int64_t cursor, struct jerr *err);
void anstore_close(struct anstore *s);

/* The errors of set_retention's refusals and of a zone change on a pruned store. */
enum jrc store_retention_refuse(const char *name, int64_t cursor, int64_t kept_upto,
				struct jerr *err);
enum jrc store_zone_pruned(const char *name, int64_t raw_from, struct jerr *err);

/* The analytics data's version: the ETL cursor and the newest run's id (0: none).
 * Facts change only with one of them: a cache of anything read from the facts
 * is good while both stay. */
enum jrc anstore_data_version(struct anstore *s, int64_t *cursor, int64_t *run, struct jerr *err);
/* The store's zone, opened (close with tz_close). */
enum jrc anstore_tz_open(struct anstore *s, struct tz **out, struct jerr *err);
/* The error of a zone change on a store that holds facts (set_zone without reset). */
enum jrc store_zone_refuse(const char *name, const char *cur, const char *want, struct jerr *err);

/* The backends (under src/store/; the mysql ones are built into jobads-mysql.so). */
extern const struct evstore_ops evstore_sqlite_ops;
extern const struct anstore_ops anstore_sqlite_ops;
#ifdef JOBADS_HAVE_CASSANDRA /* the CQL client is written here: CMake always builds it */
extern const struct evstore_ops evstore_cassandra_ops;
#endif
#ifdef JOBADS_HAVE_MYSQL
extern const struct evstore_ops evstore_mysql_ops;
extern const struct anstore_ops anstore_mysql_ops;
#endif

#endif
