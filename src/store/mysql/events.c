/*
 * mysql/events.c - the event store on MySQL 8 or MariaDB: table `tracking`,
 * seq = AUTO_INCREMENT, unique key (ts, event_id) as on SQLite.
 *
 * Ingest goes one of two ways.
 *
 * LOAD DATA LOCAL (the default where the server allows it): insert() fills a
 * chunk of parsed rows and answers duplicates within it at once; a sender
 * thread takes full chunks and streams each through LOAD DATA LOCAL INFILE on
 * the batch's transaction while the caller parses the next one. The rows go as
 * tab-separated text the server stores as is (epoch ms, integer micros), from a
 * local-infile handler of our own that serves that text and nothing else: it
 * never opens a file, whatever name a server asks for.
 *
 * LOAD DATA takes AUTO_INCREMENT values the way it takes them for any insert of
 * unknown size: in growing batches, the unused rest left as a gap at the end of
 * each statement (10,000 rows took seq 1..16383), and every gap would make the
 * ETL wait the settle time. So the sender sets seq itself, from a range it
 * reserves for exactly the chunk's rows (reserve_seq): past both jobads_seq,
 * where jobads writers reserve, and the table's AUTO_INCREMENT counter, from
 * which any other writer takes. The chunk's highest seq goes first, which
 * moves that counter past the whole range before the rest follow. A seq the
 * chunk did not use, because its row was a duplicate, is recorded in
 * tracking_void in the same transaction, and scan() passes over it without
 * waiting; a row whose seq another writer took in between goes in again the
 * second way (post_check).
 *
 * Rows (with ?load=0, or where the server has local_infile off, as MySQL 8 by
 * default): insert() buffers rows; a full block (and commit) sends them: one
 * SELECT finds the block's keys already stored, then multi-row INSERT IGNORE
 * statements store the rest. Checking first keeps AUTO_INCREMENT from burning a
 * value for each duplicate. What the check finds, and the rare row a
 * concurrent writer stored in between, are reported by commit as late duplicates.
 *
 * Either way a transaction starts with the first rows sent and ends with the
 * batch, which the caller closes within a couple of seconds (src/core/
 * evbatch.c: on stall and on age). In the LOAD way the sender also commits it, at
 * a marker commit_start queues behind the batch's rows, while the caller reads
 * the next batch; commit_wait gives the outcome. Batches take turns on two
 * connections, so that one's COMMIT (a log flush) overlaps the next one's
 * load (ld_end_batch).
 *
 * Scan: seq values are taken at insert and become visible at commit, so seq
 * 100 may appear after 101. scan() reads past a missing seq only when the row
 * after it was stored more than the settle time ago (server clock), or when
 * tracking_void says no row will ever hold it: by then the writer that held
 * the missing value has committed or rolled back (design.md item 5).
 *
 * Holds: that "by then" is an assumption about foreign writers only. A jobads
 * writer's transaction says which seqs it holds in jobads_hold (its first seq
 * on, from its first chunk or block until its COMMIT or ROLLBACK is done),
 * renewing a lease while it lives, and scan() never passes a missing seq at
 * or after a live hold, however old the rows after it. A writer whose lease
 * ran out (it died, or stopped for longer than the lease) may have been
 * passed: it checks its lease just before COMMIT and rolls back instead.
 *
 * No MariaDB array binding here, unlike the analytics store: it takes
 * AUTO_INCREMENT values as LOAD DATA does, with a gap after every array.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobads/store.h"
#include "store/keyset.h"
#include "conn.h"

#include "jobads/banned.h"

#define INS_LEVELS 10			    /* insert statements of 2^k rows, k < INS_LEVELS */
#define BLOCK	   (1u << (INS_LEVELS - 1)) /* rows buffered before they are sent: 512 */
#define INS_COLS   19

#define LD_CHUNK    4096  /* rows per LOAD DATA statement (and seq reservation) */
#define LD_EARLY    128	  /* an idle sender takes a chunk once it holds this many rows */
#define LD_COMMIT_S 0.003 /* a COMMIT's reply is read after a chunk sent this much later */
#define LD_QUEUE    2	  /* full chunks waiting for the sender */
#define LD_NAME	    "jobads-events" /* the only "file" our local-infile handler serves */
#define LD_VOIDS    1024	    /* void ranges read per scan */

struct pend {
	char event_id[EV_UUID_LEN + 1];
	int64_t ts;
	int32_t publisher_id, job_id, campaign_id, quality_score, hour, day_of_week;
	int64_t bid, impressions, clicks, apply_count, cost_micros;
	size_t off[5]; /* publisher_name, traffic, quality, industry, location in the arena */
	size_t doff;   /* device */
	unsigned long len[7]; /* event_id + the six texts */
	my_bool null_traffic, null_quality, null_bid;
	int dup;
	uint32_t hash;
};

/* Parsed rows waiting to be sent, with a hash of their keys for duplicates. */
struct rowbuf {
	struct pend *rows;
	uint32_t n, cap;
	struct strbuf arena;
	uint32_t *slots; /* index + 1 into rows; 0 empty; cap * 4 of them */
};

struct chunk {
	int commit; /* not rows: the end of a batch (commit it) */
	struct rowbuf b;
	int64_t base; /* seq of rows[0]; rows[i] gets base + i */
	struct chunk *next;
};

/*
 * A connection and what ingest prepares on it. The LOAD way takes turns
 * between two, a batch each, so that one commits while the next batch loads
 * on the other (c[0] is the store's own connection, c[1] is opened when the
 * first batch commits).
 */
struct conn {
	MYSQL *db;
	int started;	  /* a transaction is open */
	int committing;	  /* a COMMIT was sent, its reply not read yet */
	double commit_at; /* time_mono() */
	int64_t commit_dups;
	/* this connection's row in jobads_hold: its transaction holds hold_from on */
	int held;
	int64_t hold_from;
	double renewed_at; /* time_mono() */
	MYSQL_STMT *ins[INS_LEVELS], *check, *reserve, *post, *voidins, *hold, *renew;
};

/*
 * The LOAD DATA sender: a thread started by the first chunk and kept until
 * close, so that a batch does not wait for a new thread to get going.
 */
struct loader {
	pthread_t th;
	int running, quit;
	pthread_mutex_t mu;
	pthread_cond_t work, space;
	struct chunk *head, *tail; /* queued chunks and commit markers */
	int queued;
	int busy;	    /* the sender is at work: a chunk, a COMMIT or its reply */
	struct chunk *pool; /* free chunks */
	int rc;		    /* the batch's first failure (STORE_*); its other chunks are dropped */
	struct jerr err;
	/* commit markers queued and done, and the outcome of the last one */
	uint64_t commits_sent, commits_done;
	int commit_rc;
	struct jerr commit_err;
	int64_t commit_dups;
	int inflight; /* connections with a COMMIT in flight */
	/*
	 * The caller is rolling back on the connections itself (ld_drop until the
	 * next chunk is queued): the heartbeat must not use them meanwhile.
	 */
	int hb_off;
	atomic_int idle; /* the sender waits for a chunk */
	/* the chunk the local-infile handler is serving */
	struct chunk *cur;
	uint32_t next_row;
	struct strbuf line;
	size_t line_off;
};

struct ev_mysql {
	struct evstore base;
	struct my_url url;
	MYSQL *db;
	int mariadb;
	int load;    /* ingest through LOAD DATA LOCAL */
	int in_txn;  /* between begin and commit */
	int pending; /* commit_start called, commit_wait not yet */
	struct conn c[2];
	struct conn *sconn; /* the sender's: the connection of the batch it sends */
	MYSQL_STMT *scan, *maxseq, *voids, *holds;
	char holder[128];   /* host:pid, in jobads_hold for people to read */
	struct rowbuf blk;  /* the rows way: the block being filled */
	struct chunk *fill; /* the LOAD way: the chunk being filled */
	struct loader ld;
	MYSQL_BIND *pb;
	int64_t check_ts[BLOCK];
	int64_t late_dups;
	struct my_cols scan_cols;
	int scan_bound;
	int64_t void_from[LD_VOIDS], void_to[LD_VOIDS];
	int nvoids;
	/*
	 * Fault injection for the tests only (JOBADS_TEST_SEQ_SHIFT=K): start each
	 * chunk K seqs before its reserved range, onto rows already stored, as if
	 * another writer had taken them in between; post_check must move them.
	 */
	int64_t test_shift;
};

#define INS_COLS_SQL                                                                               \
	"event_id, ts, publisher_id, publisher_name, publisher_traffic, publisher_quality, bid,"   \
	" job_id, campaign_id, industry, location, impressions, clicks, apply_count,"              \
	" cost_micros, quality_score, device, hour, day_of_week"
#define SQL_INSERT_HEAD "INSERT IGNORE INTO tracking (" INS_COLS_SQL ") VALUES "
#define SQL_INSERT_ROW	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/*
 * Only the columns the ETL needs, and whether the row is older than the settle
 * time: the server's clock judges both sides.
 */
#define SQL_SCAN                                                                                   \
	"SELECT seq, ts, publisher_id, publisher_name, publisher_traffic, publisher_quality,"      \
	" campaign_id, industry, location, device, impressions, clicks, apply_count,"              \
	" cost_micros, quality_score, stored_at <= NOW(6) - INTERVAL ? MICROSECOND"                \
	" FROM tracking WHERE seq > ? ORDER BY seq LIMIT ?"
#define SCAN_TYPES                                                                                 \
	"llls"                                                                                     \
	"sslsss"                                                                                   \
	"lllll"                                                                                    \
	"l"

#define SQL_MAXSEQ "SELECT COALESCE(MAX(seq), 0) FROM tracking"

/*
 * The LOAD way. Columns as the handler writes them, tab-separated, with
 * LOAD DATA's default escapes (\\ \t \n \r \0) and \N for NULL.
 */
#define SQL_LOAD                                                                                   \
	"LOAD DATA LOCAL INFILE '" LD_NAME "' IGNORE INTO TABLE tracking CHARACTER SET binary"     \
	" (seq, " INS_COLS_SQL ")"
/*
 * Reserve ? seqs past both jobads_seq and tracking's AUTO_INCREMENT counter,
 * from which other writers take (live on MariaDB, and on MySQL 8 with the
 * session's information_schema_stats_expiry at 0). jobads_seq is a MEMORY
 * table: its row is not locked until commit and costs no log flush. The range
 * ends at LAST_INSERT_ID(). The three ? are the same count.
 */
#define SQL_RESERVE                                                                                \
	"INSERT INTO jobads_seq (name, next_seq)"                                                  \
	" SELECT 'tracking', LAST_INSERT_ID(COALESCE(AUTO_INCREMENT, 1) + ?)"                      \
	" FROM information_schema.tables"                                                          \
	" WHERE table_schema = DATABASE() AND table_name = 'tracking'"                             \
	" ON DUPLICATE KEY UPDATE"                                                                 \
	" next_seq = LAST_INSERT_ID(GREATEST(jobads_seq.next_seq, VALUES(next_seq) - ?) + ?)"
#define SQL_POST     "SELECT seq, ts, event_id FROM tracking WHERE seq BETWEEN ? AND ?"
#define SQL_VOID_INS "INSERT INTO tracking_void (from_seq, to_seq) VALUES (?, ?)"
#define SQL_VOIDS                                                                                  \
	"SELECT from_seq, to_seq FROM tracking_void WHERE to_seq > ? ORDER BY from_seq LIMIT 1024"
/*
 * Holds (the file header): taken with a transaction's first seq, renewed only
 * while still live (an expired hold may have been passed: the batch must not
 * commit), dropped, with any dead writer's, once the transaction is over.
 * The lease always moves, so a live hold always counts as changed.
 */
#define SQL_HOLD                                                                                   \
	"REPLACE INTO jobads_hold (conn_id, holder, from_seq, lease_until)"                        \
	" VALUES (CONNECTION_ID(), ?, ?, NOW(6) + INTERVAL ? MICROSECOND)"
#define SQL_RENEW                                                                                  \
	"UPDATE jobads_hold SET lease_until = GREATEST(lease_until + INTERVAL 1 MICROSECOND,"      \
	" NOW(6) + INTERVAL ? MICROSECOND) WHERE conn_id = CONNECTION_ID() AND lease_until > "     \
	"NOW(6)"
#define SQL_UNHOLD	 "DELETE FROM jobads_hold WHERE conn_id = CONNECTION_ID() OR lease_until < NOW(6)"
#define SQL_HELD	 "SELECT COALESCE(MIN(from_seq), 0) FROM jobads_hold WHERE lease_until > NOW(6)"
#define SQL_LOCAL_INFILE "SELECT @@local_infile"
#define SQL_COUNT	 "SELECT COUNT(*) FROM tracking"
#define SQL_BEHIND	 "SELECT COUNT(*) FROM tracking WHERE seq > ?"

#define SQL_SCHEMA_VERSION "SELECT version FROM jobads_schema WHERE store = 'events'"

/*
 * The store's own GROUP BY, independent of the C aggregation, for `verify`.
 * The sums are DECIMAL, read exactly (MY_SUM_TYPES) whatever their size.
 * 1e0 and 1e6 make the ratios DOUBLE (integer division would give DECIMAL with
 * four decimals).
 */
#define SQL_RECOMPUTE                                                                              \
	"SELECT (ts DIV 3600000) * 3600, campaign_id, publisher_id, industry, location, device,"   \
	" COUNT(*), SUM(impressions), SUM(clicks), SUM(apply_count), SUM(cost_micros),"            \
	" SUM(quality_score),"                                                                     \
	" SUM(CASE WHEN impressions > 0 THEN clicks * 1e0 / impressions ELSE 0e0 END),"            \
	" SUM(CASE WHEN clicks > 0 THEN cost_micros / 1e6 / clicks ELSE 0e0 END),"                 \
	" SUM(CASE WHEN apply_count > 0 THEN cost_micros / 1e6 / apply_count ELSE 0e0 END),"       \
	" SUM(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1e6) ELSE 0e0 END)"      \
	" FROM tracking WHERE seq <= ? GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"

static int run(struct ev_mysql *e, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
	       struct jerr *err)
{
	return my_run(st, params, e->base.name, what, err);
}

static int ev_mysql_init(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	return my_exec_script(e->db, e->mariadb, sql_mysql_events, s->name, err);
}

static void close_stmt(MYSQL_STMT **st)
{
	if (*st)
		mysql_stmt_close(*st);
	*st = NULL;
}

static void rowbuf_init(struct rowbuf *b, uint32_t cap)
{
	b->rows = xcalloc(cap, sizeof(*b->rows));
	b->slots = xcalloc((size_t)cap * 4, sizeof(*b->slots));
	b->cap = cap;
	b->n = 0;
}

static void rowbuf_clear(struct rowbuf *b)
{
	if (b->n)
		memset(b->slots, 0, sizeof(*b->slots) * b->cap * 4);
	b->n = 0;
	strbuf_reset(&b->arena);
}

static void rowbuf_release(struct rowbuf *b)
{
	free(b->rows);
	free(b->slots);
	strbuf_release(&b->arena);
	memset(b, 0, sizeof(*b));
}

static void chunks_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		rowbuf_release(&c->b);
		free(c);
		c = next;
	}
}

static void ld_stop(struct ev_mysql *e);

/* Roll back what is open on k, close its statements, and its db if own_db. */
static void hold_release(struct conn *k);

static void conn_release(struct conn *k, int own_db)
{
	if (k->started && k->db)
		mysql_rollback(k->db);
	k->started = 0;
	hold_release(k);
	for (int i = 0; i < INS_LEVELS; i++)
		close_stmt(&k->ins[i]);
	close_stmt(&k->check);
	close_stmt(&k->reserve);
	close_stmt(&k->post);
	close_stmt(&k->voidins);
	close_stmt(&k->hold);
	close_stmt(&k->renew);
	if (own_db && k->db)
		mysql_close(k->db);
	if (own_db)
		k->db = NULL;
}

static void ev_mysql_close(struct evstore *s)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	if (!e)
		return;
	ld_stop(e);
	conn_release(&e->c[1], 1);
	conn_release(&e->c[0], 0); /* its db is e->db */
	close_stmt(&e->scan);
	close_stmt(&e->maxseq);
	close_stmt(&e->voids);
	close_stmt(&e->holds);
	if (e->scan_bound)
		my_cols_release(&e->scan_cols);
	if (e->db)
		mysql_close(e->db);
	memset(&e->url, 0, sizeof(e->url));
	rowbuf_release(&e->blk);
	if (e->fill)
		e->fill->next = e->ld.pool;
	chunks_free(e->fill ? e->fill : e->ld.pool);
	strbuf_release(&e->ld.line);
	pthread_mutex_destroy(&e->ld.mu);
	pthread_cond_destroy(&e->ld.work);
	pthread_cond_destroy(&e->ld.space);
	free(e->pb);
	free(e->base.name);
	free(e);
}

static int one_int(struct ev_mysql *e, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
		   int64_t *v, struct jerr *err);

/* The local-infile handler: it serves the sender's current chunk, never a file. */
static int ld_init(void **ptr, const char *filename, void *userdata);
static int ld_read(void *ptr, char *buf, unsigned int len);
static void ld_end(void *ptr);
static int ld_error(void *ptr, char *msg, unsigned int len);

static int session_setup(struct ev_mysql *e, MYSQL *db, struct jerr *err)
{
	int r;
	/* whatever file a server asks for, only ld_read answers, with our rows */
	mysql_set_local_infile_handler(db, ld_init, ld_read, ld_end, ld_error, e);
	/*
	 * READ COMMITTED: the duplicate check of a later block sees what other
	 * writers committed meanwhile, and inserts take no gap locks.
	 */
	r = my_exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", e->base.name,
		    "setting up the session", err);
	/* MySQL 8 caches information_schema.tables.AUTO_INCREMENT; read it live */
	if (r == STORE_OK && !e->mariadb)
		r = my_exec(db, "SET SESSION information_schema_stats_expiry = 0", e->base.name,
			    "setting up the session", err);
	return r;
}

/* The sender's connection for the next batch, connected on first use. */
static int conn_ready(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	int mariadb, r;
	if (k->db)
		return STORE_OK;
	r = my_connect(&e->url, e->base.name, STORE_OPEN_EXISTING, CLIENT_LOCAL_FILES, &k->db,
		       &mariadb, err);
	if (r == STORE_OK && (r = session_setup(e, k->db, err)) != STORE_OK) {
		mysql_close(k->db);
		k->db = NULL;
	}
	return r;
}

static int ev_mysql_open(const char *target, enum store_mode mode, struct evstore **out,
			 struct jerr *err)
{
	struct ev_mysql *e = xcalloc(1, sizeof(*e));
	int r, version, init;
	int64_t local_infile = 0;
	e->base.ops = &evstore_mysql_ops;
	pthread_mutex_init(&e->ld.mu, NULL);
	pthread_cond_init(&e->ld.work, NULL);
	pthread_cond_init(&e->ld.space, NULL);
	*out = NULL;
	r = my_url_parse(target, "ads_events", &e->url, &e->base.name, err);
	if (r != STORE_OK)
		goto fail;
	r = my_connect(&e->url, e->base.name, mode, e->url.no_load ? 0 : CLIENT_LOCAL_FILES, &e->db,
		       &e->mariadb, err);
	if (r != STORE_OK)
		goto fail;
	e->c[0].db = e->db;
	e->sconn = &e->c[0];
	if ((r = session_setup(e, e->db, err)) != STORE_OK)
		goto fail;
	if ((r = my_schema_version(e->db, SQL_SCHEMA_VERSION, e->base.name, &version, err)) !=
		STORE_OK ||
	    (r = store_schema_check(e->base.name, "event store", version, 3, mode, &init, err)) !=
		STORE_OK ||
	    (init && (r = ev_mysql_init(&e->base, err)) != STORE_OK))
		goto fail;
	if ((r = my_prepare(e->db, SQL_MAXSEQ, &e->maxseq, e->base.name, err)) != STORE_OK)
		goto fail;
	if (!e->url.no_load) {
		MYSQL_STMT *st;
		if ((r = my_prepare(e->db, SQL_LOCAL_INFILE, &st, e->base.name, err)) != STORE_OK)
			goto fail;
		r = one_int(e, st, NULL, "reading local_infile", &local_infile, err);
		mysql_stmt_close(st);
		if (r != STORE_OK)
			goto fail;
		e->load = local_infile != 0;
	}
	char host[64] = "";
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	snprintf(e->holder, sizeof(e->holder), "%s:%ld", host, (long)getpid());
	const char *shift = getenv("JOBADS_TEST_SEQ_SHIFT");
	if (shift)
		e->test_shift = strtoll(shift, NULL, 10);
	*out = &e->base;
	return STORE_OK;
fail:
	ev_mysql_close(&e->base);
	return r;
}

static int ev_mysql_begin(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	(void)err;
	if (!e->blk.rows) {
		rowbuf_init(&e->blk, BLOCK);
		e->pb = xcalloc((size_t)BLOCK * INS_COLS, sizeof(*e->pb));
	}
	rowbuf_clear(&e->blk);
	if (e->load && !e->fill) {
		e->fill = xcalloc(1, sizeof(*e->fill));
		rowbuf_init(&e->fill->b, LD_CHUNK);
	}
	if (e->fill)
		rowbuf_clear(&e->fill->b);
	if (!e->ld.running)
		atomic_store(&e->ld.idle, 1); /* no sender yet: the first chunk may go early */
	e->in_txn = 1;
	if (!e->load) {
		e->c[0].started = 0;
		e->late_dups = 0;
	} /* else the sender's, and a batch may still be committing */
	return STORE_OK;
}

/* The keyset's compare: buffered row i has key (ts, id). */
static int pend_same(const void *rows, uint32_t i, int64_t ts, const char *id, uint32_t h)
{
	const struct pend *p = (const struct pend *)rows + i;
	return p->hash == h && p->ts == ts && memcmp(p->event_id, id, EV_UUID_LEN) == 0;
}

/* The buffered row with this key: its index + 1 slot, or the empty slot to use. */
static uint32_t *find_slot(struct rowbuf *b, int64_t ts, const char *id, uint32_t h)
{
	return keyset_find(b->slots, b->cap * 4, b->rows, pend_same, ts, id, h);
}

static size_t arena_add(struct rowbuf *b, struct ev_str v, unsigned long *len)
{
	size_t off = b->arena.len;
	if (v.n) /* an absent field may have no pointer at all */
		strbuf_add(&b->arena, v.s, v.n);
	*len = v.n;
	return off;
}

/* Add ev to b unless b holds its key already (*dup = 1). b must have room. */
static void rowbuf_add(struct rowbuf *b, const struct event *ev, int *dup)
{
	uint32_t h = keyset_hash(ev->ts_ms, ev->event_id);
	uint32_t *slot = find_slot(b, ev->ts_ms, ev->event_id, h);
	if (*slot) {
		*dup = 1;
		return;
	}
	struct pend *p = &b->rows[b->n];
	memset(p, 0, sizeof(*p));
	memcpy(p->event_id, ev->event_id, EV_UUID_LEN + 1);
	p->len[0] = EV_UUID_LEN;
	p->hash = h;
	p->ts = ev->ts_ms;
	p->publisher_id = ev->publisher_id;
	p->off[0] = arena_add(b, ev->publisher_name, &p->len[1]);
	p->off[1] = arena_add(b, ev->publisher_traffic, &p->len[2]);
	p->null_traffic = ev->publisher_traffic.n == 0;
	p->off[2] = arena_add(b, ev->publisher_quality, &p->len[3]);
	p->null_quality = ev->publisher_quality.n == 0;
	p->bid = ev->bid;
	p->null_bid = ev->bid < 0;
	p->job_id = ev->job_id;
	p->campaign_id = ev->campaign_id;
	p->off[3] = arena_add(b, ev->industry, &p->len[4]);
	p->off[4] = arena_add(b, ev->location, &p->len[5]);
	p->impressions = ev->impressions;
	p->clicks = ev->clicks;
	p->apply_count = ev->apply_count;
	p->cost_micros = ev->cost_micros;
	p->quality_score = ev->quality_score;
	p->doff = arena_add(b, ev->device, &p->len[6]);
	p->hour = ev->hour;
	p->day_of_week = ev->day_of_week;
	*slot = ++b->n;
	*dup = 0;
}

/* Row i of b as an event (texts point into b's arena). */
static void rowbuf_event(const struct rowbuf *b, uint32_t i, struct event *ev)
{
	const struct pend *p = &b->rows[i];
	const char *a = b->arena.buf;
#define TEXT(k, off) ((struct ev_str){a + (off), (uint32_t)p->len[k]})
	memset(ev, 0, sizeof(*ev));
	memcpy(ev->event_id, p->event_id, EV_UUID_LEN + 1);
	ev->ts_ms = p->ts;
	ev->publisher_id = p->publisher_id;
	ev->publisher_name = TEXT(1, p->off[0]);
	ev->publisher_traffic = TEXT(2, p->off[1]);
	ev->publisher_quality = TEXT(3, p->off[2]);
	ev->bid = p->null_bid ? -1 : p->bid;
	ev->job_id = p->job_id;
	ev->campaign_id = p->campaign_id;
	ev->industry = TEXT(4, p->off[3]);
	ev->location = TEXT(5, p->off[4]);
	ev->impressions = p->impressions;
	ev->clicks = p->clicks;
	ev->apply_count = p->apply_count;
	ev->cost_micros = p->cost_micros;
	ev->quality_score = p->quality_score;
	ev->device = TEXT(6, p->doff);
	ev->hour = p->hour;
	ev->day_of_week = p->day_of_week;
#undef TEXT
}

static MYSQL_STMT *insert_stmt(struct ev_mysql *e, struct conn *k, int level, struct jerr *err)
{
	if (!k->ins[level]) {
		struct strbuf sb = {0};
		unsigned rows = 1u << level;
		strbuf_addf(&sb, "%s", SQL_INSERT_HEAD);
		for (unsigned i = 0; i < rows; i++)
			strbuf_addf(&sb, "%s%s", i ? "," : "", SQL_INSERT_ROW);
		int r = my_prepare(k->db, sb.buf, &k->ins[level], e->base.name, err);
		strbuf_release(&sb);
		if (r != STORE_OK)
			return NULL;
	}
	return k->ins[level];
}

static int stmt_code(MYSQL_STMT *st)
{
	return my_code_retryable(mysql_stmt_errno(st)) ? STORE_RETRY : STORE_ERROR;
}

/* Mark the block's rows whose key is already stored. */
static int check_stored(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	MYSQL_BIND p[BLOCK];
	struct my_cols c;
	struct rowbuf *b = &e->blk;
	int r, f;
	if (!k->check) {
		struct strbuf sb = {0};
		strbuf_addf(&sb, "SELECT ts, event_id FROM tracking WHERE ts IN (");
		for (unsigned i = 0; i < BLOCK; i++)
			strbuf_addf(&sb, "%s?", i ? "," : "");
		strbuf_addf(&sb, ")");
		r = my_prepare(k->db, sb.buf, &k->check, e->base.name, err);
		strbuf_release(&sb);
		if (r != STORE_OK)
			return r;
	}
	memset(p, 0, sizeof(p));
	for (unsigned i = 0; i < BLOCK; i++) {
		/* a short block repeats its first ts: the same rows, no other plan */
		e->check_ts[i] = b->rows[i < b->n ? i : 0].ts;
		my_bind_i64(&p[i], &e->check_ts[i]);
	}
	if ((r = run(e, k->check, p, "checking for duplicates", err)) != STORE_OK)
		return r;
	if ((r = my_cols_bind(&c, k->check, "ls", e->base.name, err)) != STORE_OK)
		return r;
	while ((f = my_fetch(&c, k->check, e->base.name, "checking for duplicates", err)) > 0) {
		if (c.len[1] != EV_UUID_LEN)
			continue;
		uint32_t h = keyset_hash(c.i[0], c.s[1]);
		uint32_t *slot = find_slot(b, c.i[0], c.s[1], h);
		if (*slot && !b->rows[*slot - 1].dup) {
			b->rows[*slot - 1].dup = 1;
			e->late_dups++;
		}
	}
	mysql_stmt_free_result(k->check);
	my_cols_release(&c);
	return f < 0 ? stmt_code(k->check) : STORE_OK;
}

static void bind_row(const struct rowbuf *b, MYSQL_BIND *bd, struct pend *p)
{
	static my_bool yes = 1;
	char *a = b->arena.buf;
	my_bind_str(&bd[0], p->event_id, &p->len[0], NULL);
	my_bind_i64(&bd[1], &p->ts);
	my_bind_int(&bd[2], &p->publisher_id);
	my_bind_str(&bd[3], a + p->off[0], &p->len[1], NULL);
	my_bind_str(&bd[4], a + p->off[1], &p->len[2], &p->null_traffic);
	my_bind_str(&bd[5], a + p->off[2], &p->len[3], &p->null_quality);
	my_bind_i64(&bd[6], &p->bid);
	bd[6].is_null = p->null_bid ? &yes : NULL;
	my_bind_int(&bd[7], &p->job_id);
	my_bind_int(&bd[8], &p->campaign_id);
	my_bind_str(&bd[9], a + p->off[3], &p->len[4], NULL);
	my_bind_str(&bd[10], a + p->off[4], &p->len[5], NULL);
	my_bind_i64(&bd[11], &p->impressions);
	my_bind_i64(&bd[12], &p->clicks);
	my_bind_i64(&bd[13], &p->apply_count);
	my_bind_i64(&bd[14], &p->cost_micros);
	my_bind_int(&bd[15], &p->quality_score);
	my_bind_str(&bd[16], a + p->doff, &p->len[6], NULL);
	my_bind_int(&bd[17], &p->hour);
	my_bind_int(&bd[18], &p->day_of_week);
}

static int start_txn(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	int r;
	if (k->started)
		return STORE_OK;
	r = my_exec(k->db, "START TRANSACTION", e->base.name, "starting a transaction", err);
	if (r == STORE_OK)
		k->started = 1;
	return r;
}

/* ---- holds (the file header) ---- */

/* Extend k's hold; STORE_RETRY when it had run out (a scan may have passed its seqs). */
static int hold_renew(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	MYSQL_BIND p[1];
	int64_t lease_us = e->url.lease_ms * 1000;
	int r;
	if (!k->held)
		return STORE_OK;
	if (!k->renew && (r = my_prepare(k->db, SQL_RENEW, &k->renew, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &lease_us);
	if ((r = run(e, k->renew, p, "renewing the hold on seq values", err)) != STORE_OK)
		return r;
	if (mysql_stmt_affected_rows(k->renew) != 1) {
		jerr_set(err,
			 "%s: the batch's hold on seq values from %" PRId64 " ran out (not renewed "
			 "for %.1f s, over the %.1f s lease): rolled back, since the ETL may have "
			 "passed them",
			 e->base.name, k->hold_from, time_mono() - k->renewed_at,
			 (double)e->url.lease_ms / 1000.0);
		return STORE_RETRY;
	}
	k->renewed_at = time_mono();
	return STORE_OK;
}

/*
 * Say in jobads_hold that k's transaction holds the seqs from `from` on, or
 * renew the hold it has. Taken after the first seq is (reserve_seq, or an
 * insert's AUTO_INCREMENT): a scan meanwhile is held back by the settle time.
 */
static int hold_take(struct ev_mysql *e, struct conn *k, int64_t from, struct jerr *err)
{
	MYSQL_BIND p[3];
	unsigned long hlen = (unsigned long)strlen(e->holder);
	int64_t lease_us = e->url.lease_ms * 1000;
	int r;
	if (k->held)
		return hold_renew(e, k, err);
	if (!k->hold && (r = my_prepare(k->db, SQL_HOLD, &k->hold, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	my_bind_str(&p[0], e->holder, &hlen, NULL);
	my_bind_i64(&p[1], &from);
	my_bind_i64(&p[2], &lease_us);
	if ((r = run(e, k->hold, p, "holding seq values", err)) != STORE_OK)
		return r;
	k->held = 1;
	k->hold_from = from;
	k->renewed_at = time_mono();
	return STORE_OK;
}

/*
 * k's transaction is over (committed or rolled back): drop its hold, and any
 * dead writer's. When that fails (the connection is gone), the hold lapses
 * with its lease.
 */
static void hold_release(struct conn *k)
{
	if (!k->held)
		return;
	k->held = 0;
	if (k->db)
		(void)mysql_real_query(k->db, SQL_UNHOLD, (unsigned long)strlen(SQL_UNHOLD));
}

/* The rows way: send the block's rows: check which are stored, insert the others. */
static int flush(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	struct rowbuf *b = &e->blk;
	uint32_t idx[BLOCK], n = 0;
	int r;
	if (b->n == 0)
		return STORE_OK;
	if ((r = start_txn(e, k, err)) != STORE_OK)
		return r;
	if ((r = check_stored(e, k, err)) != STORE_OK)
		return r;
	for (uint32_t i = 0; i < b->n; i++)
		if (!b->rows[i].dup)
			idx[n++] = i;
	uint32_t done = 0;
	for (int level = INS_LEVELS - 1; level >= 0; level--) {
		uint32_t rows = 1u << level;
		while (n - done >= rows) {
			MYSQL_STMT *st = insert_stmt(e, k, level, err);
			if (!st)
				return my_code_retryable(mysql_errno(k->db)) ? STORE_RETRY
									     : STORE_ERROR;
			memset(e->pb, 0, sizeof(*e->pb) * rows * INS_COLS);
			for (uint32_t j = 0; j < rows; j++)
				bind_row(b, e->pb + (size_t)j * INS_COLS, &b->rows[idx[done + j]]);
			if ((r = run(e, st, e->pb, "inserting events", err)) != STORE_OK)
				return r;
			/* the transaction holds seqs from its first AUTO_INCREMENT value on */
			my_ulonglong first = mysql_stmt_insert_id(st);
			if (!k->held && first > 0 &&
			    (r = hold_take(e, k, (int64_t)first, err)) != STORE_OK)
				return r;
			/* a row another writer stored since the check is ignored: a duplicate */
			my_ulonglong stored = mysql_stmt_affected_rows(st);
			if (stored < rows)
				e->late_dups += (int64_t)(rows - stored);
			done += rows;
		}
	}
	rowbuf_clear(b);
	return STORE_OK;
}

/* ---- the LOAD way ---- */

static void put_u64(struct strbuf *sb, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	strbuf_grow(sb, (size_t)n);
	while (n)
		sb->buf[sb->len++] = tmp[--n];
	sb->buf[sb->len] = '\0';
}

static void put_i64(struct strbuf *sb, int64_t v)
{
	if (v < 0) {
		strbuf_add(sb, "-", 1);
		put_u64(sb, 0 - (uint64_t)v);
	} else {
		put_u64(sb, (uint64_t)v);
	}
}

/* Text with LOAD DATA's escapes: the bytes it would read as a separator or escape. */
static void put_text(struct strbuf *sb, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *esc;
		switch (s[i]) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\0':
			esc = "\\0";
			break;
		default:
			continue;
		}
		strbuf_add(sb, s + start, i - start);
		strbuf_add(sb, esc, 2);
		start = i + 1;
	}
	strbuf_add(sb, s + start, n - start);
}

/* A field and its tab: an integer, or text (NULL as \N). */
static void field_i64(struct strbuf *sb, int64_t v)
{
	put_i64(sb, v);
	strbuf_add(sb, "\t", 1);
}

static void field_text(struct strbuf *sb, const char *s, size_t n, int null)
{
	if (null)
		strbuf_add(sb, "\\N", 2);
	else
		put_text(sb, s, n);
	strbuf_add(sb, "\t", 1);
}

/* One line of the chunk: seq, then the columns of INS_COLS_SQL. */
static void put_row(struct strbuf *sb, const struct chunk *c, uint32_t i)
{
	const struct pend *p = &c->b.rows[i];
	const char *a = c->b.arena.buf;
	field_i64(sb, c->base + i);
	field_text(sb, p->event_id, EV_UUID_LEN, 0);
	field_i64(sb, p->ts);
	field_i64(sb, p->publisher_id);
	field_text(sb, a + p->off[0], p->len[1], 0);
	field_text(sb, a + p->off[1], p->len[2], p->null_traffic);
	field_text(sb, a + p->off[2], p->len[3], p->null_quality);
	if (p->null_bid)
		field_text(sb, NULL, 0, 1);
	else
		field_i64(sb, p->bid);
	field_i64(sb, p->job_id);
	field_i64(sb, p->campaign_id);
	field_text(sb, a + p->off[3], p->len[4], 0);
	field_text(sb, a + p->off[4], p->len[5], 0);
	field_i64(sb, p->impressions);
	field_i64(sb, p->clicks);
	field_i64(sb, p->apply_count);
	field_i64(sb, p->cost_micros);
	field_i64(sb, p->quality_score);
	field_text(sb, a + p->doff, p->len[6], 0);
	field_i64(sb, p->hour);
	field_i64(sb, p->day_of_week);
	sb->buf[sb->len - 1] = '\n'; /* the last field's tab ends the line */
}

static int ld_init(void **ptr, const char *filename, void *userdata)
{
	struct ev_mysql *e = userdata;
	*ptr = e;
	/* nonzero: refused; ld_error says why */
	return !e->ld.cur || strcmp(filename, LD_NAME) != 0;
}

static int ld_read(void *ptr, char *buf, unsigned int len)
{
	struct ev_mysql *e = ptr;
	struct loader *l = &e->ld;
	struct chunk *c = l->cur;
	unsigned int out = 0;
	if (!c)
		return -1;
	while (out < len) {
		if (l->line_off == l->line.len) {
			if (l->next_row == c->b.n)
				break;
			/* the highest seq first: it moves AUTO_INCREMENT past the range */
			uint32_t k = l->next_row++;
			strbuf_reset(&l->line);
			put_row(&l->line, c, k == 0 ? c->b.n - 1 : k - 1);
			l->line_off = 0;
		}
		size_t take = l->line.len - l->line_off;
		if (take > len - out)
			take = len - out;
		memcpy(buf + out, l->line.buf + l->line_off, take);
		l->line_off += take;
		out += (unsigned int)take;
	}
	return (int)out;
}

static void ld_end(void *ptr)
{
	(void)ptr;
}

static int ld_error(void *ptr, char *msg, unsigned int len)
{
	struct ev_mysql *e = ptr;
	snprintf(msg, len, "the server asked for a file; jobads sends only its own rows%s",
		 e->ld.cur ? "" : " (and none were being sent)");
	return 2000; /* CR_UNKNOWN_ERROR */
}

/* Reserve c->b.n seqs for chunk c (sets c->base). */
static int reserve_seq(struct ev_mysql *e, struct conn *k, struct chunk *c, struct jerr *err)
{
	MYSQL_BIND p[3];
	int64_t n = c->b.n;
	int r;
	if (!k->reserve && (r = my_prepare(k->db, SQL_RESERVE, &k->reserve, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 3; i++)
		my_bind_i64(&p[i], &n);
	if ((r = run(e, k->reserve, p, "reserving seq values", err)) != STORE_OK)
		return r;
	c->base = (int64_t)mysql_stmt_insert_id(k->reserve) - n - e->test_shift;
	if (c->base < 1) {
		jerr_set(err, "%s: reserving seq values: got %" PRId64, e->base.name, c->base);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* Record seqs from .. to as never to be used (in the batch's transaction). */
static int add_void(struct ev_mysql *e, struct conn *k, int64_t from, int64_t to, struct jerr *err)
{
	MYSQL_BIND p[2];
	int r;
	if (!k->voidins && (r = my_prepare(k->db, SQL_VOID_INS, &k->voidins, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &from);
	my_bind_i64(&p[1], &to);
	return run(e, k->voidins, p, "recording unused seq values", err);
}

/*
 * Some of chunk c's rows were skipped. Find out which: a row missing at its
 * seq was a duplicate (its seq goes to tracking_void); a row whose seq holds
 * another writer's row goes in again the rows way, which checks and counts
 * duplicates itself.
 */
static int post_check(struct ev_mysql *e, struct conn *k, struct chunk *c, struct jerr *err)
{
	MYSQL_BIND p[2];
	struct my_cols cols;
	int64_t from = c->base, to = c->base + c->b.n - 1;
	unsigned char *mark = xcalloc(c->b.n, 1); /* 0 missing, 1 ours, 2 another row */
	int r, f;
	if (!k->post && (r = my_prepare(k->db, SQL_POST, &k->post, e->base.name, err)))
		goto out;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &from);
	my_bind_i64(&p[1], &to);
	if ((r = run(e, k->post, p, "checking loaded events", err)) != STORE_OK)
		goto out;
	if ((r = my_cols_bind(&cols, k->post, "lls", e->base.name, err)) != STORE_OK)
		goto out;
	while ((f = my_fetch(&cols, k->post, e->base.name, "checking loaded events", err)) > 0) {
		uint32_t i = (uint32_t)(cols.i[0] - from);
		const struct pend *pr = &c->b.rows[i];
		mark[i] = pr->ts == cols.i[1] && cols.len[2] == EV_UUID_LEN &&
				  memcmp(pr->event_id, cols.s[2], EV_UUID_LEN) == 0
			      ? 1
			      : 2;
	}
	mysql_stmt_free_result(k->post);
	my_cols_release(&cols);
	if (f < 0) {
		r = stmt_code(k->post);
		goto out;
	}
	for (uint32_t i = 0; i < c->b.n && r == STORE_OK;) {
		if (mark[i] == 1) {
			i++;
		} else if (mark[i] == 0) {
			uint32_t j = i;
			while (j + 1 < c->b.n && mark[j + 1] == 0)
				j++;
			e->late_dups += j - i + 1;
			r = add_void(e, k, from + i, from + j, err);
			i = j + 1;
		} else {
			struct event ev;
			int dup;
			rowbuf_event(&c->b, i, &ev);
			rowbuf_add(&e->blk, &ev, &dup);
			if (dup) /* the same key twice in one chunk cannot be: insert() checked */
				e->late_dups++;
			if (e->blk.n == e->blk.cap)
				r = flush(e, k, err);
			i++;
		}
	}
	if (r == STORE_OK)
		r = flush(e, k, err);
out:
	free(mark);
	return r;
}

/*
 * The server changed n values of chunk c as it loaded them (a column narrower
 * than jobads validates for, say): name the first one and its event.
 */
static int changed_values(struct ev_mysql *e, struct conn *k, const struct chunk *c,
			  unsigned long n, struct jerr *err)
{
	char msg[512] = "";
	MYSQL_RES *res;
	MYSQL_ROW row;
	if (mysql_query(k->db, "SHOW WARNINGS") == 0 && (res = mysql_store_result(k->db))) {
		while ((row = mysql_fetch_row(res)))
			if (row[1] && strcmp(row[1], "1062") != 0 && row[2]) { /* not a duplicate */
				snprintf(msg, sizeof(msg), "%s", row[2]);
				break;
			}
		mysql_free_result(res);
	}
	/* "at row K": the K-th line sent, and the chunk's last row went first */
	const char *at = strstr(msg, "at row ");
	unsigned long line = at ? strtoul(at + 7, NULL, 10) : 0;
	if (line >= 1 && line <= c->b.n) {
		uint32_t i = line == 1 ? c->b.n - 1 : (uint32_t)(line - 2);
		jerr_set(err,
			 "%s: loading events: the server would change %lu value(s); event %s: %s",
			 e->base.name, n, c->b.rows[i].event_id, msg);
	} else {
		jerr_set(err, "%s: loading events: the server would change %lu value(s)%s%s",
			 e->base.name, n, msg[0] ? ": " : "", msg);
	}
	return STORE_ERROR;
}

/* Send chunk c: reserve its seqs, LOAD it, account for what was skipped. */
static int ld_send(struct ev_mysql *e, struct chunk *c, struct jerr *err)
{
	struct loader *l = &e->ld;
	struct conn *k = e->sconn;
	unsigned long records = 0, deleted = 0, skipped = 0, warnings = 0;
	int r;
	if ((r = conn_ready(e, k, err)) != STORE_OK || (r = start_txn(e, k, err)) != STORE_OK ||
	    (r = reserve_seq(e, k, c, err)) != STORE_OK ||
	    (r = hold_take(e, k, c->base, err)) != STORE_OK)
		return r;
	l->cur = c;
	l->next_row = 0;
	strbuf_reset(&l->line);
	l->line_off = 0;
	if (mysql_real_query(k->db, SQL_LOAD, (unsigned long)strlen(SQL_LOAD)) != 0) {
		l->cur = NULL;
		return my_fail(k->db, e->base.name, "loading events", err);
	}
	l->cur = NULL;
	const char *info = mysql_info(k->db);
	if (!info || sscanf(info, "Records: %lu Deleted: %lu Skipped: %lu Warnings: %lu", &records,
			    &deleted, &skipped, &warnings) != 4) {
		jerr_set(err, "%s: loading events: unexpected reply '%s'", e->base.name,
			 info ? info : "");
		return STORE_ERROR;
	}
	if (records != c->b.n) {
		jerr_set(err, "%s: loading events: the server read %lu rows of %u", e->base.name,
			 records, c->b.n);
		return STORE_ERROR;
	}
	/* IGNORE turns any conversion into a warning: only skipped duplicates may warn */
	if (warnings > skipped)
		return changed_values(e, k, c, warnings - skipped, err);
	return skipped ? post_check(e, k, c, err) : STORE_OK;
}

/* Give chunk c back to the pool (l->mu held). */
static void ld_recycle(struct loader *l, struct chunk *c)
{
	rowbuf_clear(&c->b);
	c->next = l->pool;
	l->pool = c;
}

/* Record the outcome of the oldest batch not yet done (l->mu held). */
static void ld_outcome(struct loader *l, int r, const struct jerr *err, int64_t dups)
{
	l->commit_rc = r;
	if (r != STORE_OK)
		l->commit_err = *err;
	l->commit_dups = r == STORE_OK ? dups : 0;
	l->commits_done++;
	pthread_cond_broadcast(&l->space);
}

/* Read the reply to the COMMIT in flight on k (l->mu held on entry and on return). */
static void ld_resolve(struct ev_mysql *e, struct conn *k)
{
	struct loader *l = &e->ld;
	struct jerr err = {0};
	int r = STORE_OK;
	pthread_mutex_unlock(&l->mu);
	if (mysql_read_query_result(k->db) != 0) {
		r = my_fail(k->db, e->base.name, "committing the batch", &err);
		mysql_rollback(k->db);
	}
	hold_release(k); /* only now: the rows are visible, or will never be */
	pthread_mutex_lock(&l->mu);
	k->committing = 0;
	k->started = 0;
	l->inflight--;
	ld_outcome(l, r, &err, k->commit_dups);
}

/* Read every COMMIT reply still in flight, older batches first (l->mu held). */
static void ld_resolve_all(struct ev_mysql *e)
{
	for (int i = 0; i < 2; i++)
		if (e->c[i].committing && &e->c[i] != e->sconn)
			ld_resolve(e, &e->c[i]);
	for (int i = 0; i < 2; i++)
		if (e->c[i].committing)
			ld_resolve(e, &e->c[i]);
}

/*
 * The sender's end of a batch (a commit marker; l->mu held on entry and on
 * return). The COMMIT goes out without waiting for its reply, and the next
 * batch goes to the other connection meanwhile; the reply is read once that
 * batch is under way (ld_main), or at the next marker, before this one's
 * outcome is recorded, so that outcomes stay in batch order. A batch with a
 * failed chunk is rolled back here.
 */
static void ld_end_batch(struct ev_mysql *e)
{
	struct loader *l = &e->ld;
	struct conn *k = e->sconn, *other = k == &e->c[0] ? &e->c[1] : &e->c[0];
	struct jerr err = l->err;
	int r = l->rc;
	int64_t dups = e->late_dups;
	if (other->committing)
		ld_resolve(e, other);
	e->late_dups = 0;
	l->rc = STORE_OK;
	if (!k->started) { /* nothing sent in this batch, or its chunks were dropped */
		ld_outcome(l, r, &err, dups);
		return;
	}
	if (r == STORE_OK) {
		pthread_mutex_unlock(&l->mu);
		/* a batch whose hold ran out may have been passed by the ETL: never commit it */
		r = hold_renew(e, k, &err);
		if (r == STORE_OK && mysql_send_query(k->db, "COMMIT", 6) != 0)
			r = my_fail(k->db, e->base.name, "committing the batch", &err);
		pthread_mutex_lock(&l->mu);
		if (r == STORE_OK) {
			k->committing = 1;
			k->commit_at = time_mono();
			k->commit_dups = dups;
			l->inflight++;
			e->sconn = other;
			return;
		}
	}
	pthread_mutex_unlock(&l->mu);
	mysql_rollback(k->db);
	hold_release(k);
	pthread_mutex_lock(&l->mu);
	k->started = 0;
	ld_outcome(l, r, &err, 0);
}

static void *ld_main(void *arg)
{
	struct ev_mysql *e = arg;
	struct loader *l = &e->ld;
	struct jerr err = {0};
	mysql_thread_init();
	pthread_mutex_lock(&l->mu);
	for (;;) {
		if (!l->head && l->inflight) { /* idle: read the replies first */
			l->busy = 1;
			ld_resolve_all(e);
			l->busy = 0;
			pthread_cond_broadcast(&l->space);
			continue;
		}
		while (!l->head && !l->quit) {
			atomic_store(&l->idle, 1);
			if (!e->sconn->held || l->hb_off) {
				pthread_cond_wait(&l->work, &l->mu);
				continue;
			}
			/*
			 * A batch is open and its next rows are slow to come: keep its
			 * hold alive (the heartbeat), three times a lease.
			 */
			struct conn *k = e->sconn;
			double left =
			    k->renewed_at + (double)e->url.lease_ms / 3000.0 - time_mono();
			if (left > 0) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				double at = (double)ts.tv_nsec / 1e9 + left;
				ts.tv_sec += (time_t)at;
				ts.tv_nsec = (long)((at - (double)(time_t)at) * 1e9);
				pthread_cond_timedwait(&l->work, &l->mu, &ts);
				continue;
			}
			l->busy = 1;
			pthread_mutex_unlock(&l->mu);
			struct jerr herr;
			int hr = hold_renew(e, k, &herr);
			pthread_mutex_lock(&l->mu);
			k->renewed_at = time_mono(); /* failed or not: the next try a third later */
			if (hr != STORE_OK && l->rc == STORE_OK) {
				l->rc = hr; /* the batch fails at its next chunk or its commit */
				l->err = herr;
			}
			l->busy = 0;
			pthread_cond_broadcast(&l->space);
		}
		atomic_store(&l->idle, 0);
		if (!l->head) /* quit, with nothing left to send */
			break;
		struct chunk *c = l->head;
		l->head = c->next;
		if (!l->head)
			l->tail = NULL;
		l->queued--;
		l->busy = 1;
		pthread_cond_broadcast(&l->space);
		if (c->commit) {
			ld_end_batch(e);
		} else if (l->rc == STORE_OK) {
			pthread_mutex_unlock(&l->mu);
			int r = ld_send(e, c, &err);
			pthread_mutex_lock(&l->mu);
			if (r != STORE_OK) {
				l->rc = r;
				l->err = err;
			}
			/* the previous batch's COMMIT has had time: read its reply */
			struct conn *o = e->sconn == &e->c[0] ? &e->c[1] : &e->c[0];
			if (o->committing && time_mono() - o->commit_at >= LD_COMMIT_S)
				ld_resolve(e, o);
		} /* else the batch failed: its other chunks are dropped */
		c->commit = 0;
		ld_recycle(l, c);
		l->busy = 0;
		pthread_cond_broadcast(&l->space);
	}
	pthread_mutex_unlock(&l->mu);
	mysql_thread_end();
	return NULL;
}

/* Queue c for the sender, started here if need be (l->mu held). */
static int ld_enqueue(struct ev_mysql *e, struct chunk *c, struct jerr *err)
{
	struct loader *l = &e->ld;
	if (!l->running) {
		/* signals are the caller's: a stop request must reach its read loop */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		int t = pthread_create(&l->th, NULL, ld_main, e);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (t != 0) {
			jerr_set(err, "%s: cannot start the sender thread", e->base.name);
			return STORE_ERROR;
		}
		l->running = 1;
	}
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->queued++;
	l->hb_off = 0;
	atomic_store(&l->idle, 0);
	pthread_cond_signal(&l->work);
	return STORE_OK;
}

/* A chunk from the pool, or a new one (l->mu held). */
static struct chunk *ld_chunk(struct loader *l)
{
	struct chunk *c = l->pool;
	if (c) {
		l->pool = c->next;
		c->next = NULL;
		return c;
	}
	c = xcalloc(1, sizeof(*c));
	rowbuf_init(&c->b, LD_CHUNK);
	return c;
}

/* Queue the filled chunk for the sender; take an empty one. */
static int ld_push(struct ev_mysql *e, struct jerr *err)
{
	struct loader *l = &e->ld;
	int r;
	pthread_mutex_lock(&l->mu);
	while (l->queued >= LD_QUEUE && l->rc == STORE_OK)
		pthread_cond_wait(&l->space, &l->mu);
	if (l->rc != STORE_OK) { /* this batch (or the one committing) failed */
		r = l->rc;
		*err = l->err;
	} else if ((r = ld_enqueue(e, e->fill, err)) == STORE_OK) {
		e->fill = ld_chunk(l);
	}
	pthread_mutex_unlock(&l->mu);
	return r;
}

/*
 * Drop what is queued and wait until the sender is idle; a dropped commit
 * marker counts as a batch rolled back.
 */
static void ld_drop(struct ev_mysql *e)
{
	struct loader *l = &e->ld;
	pthread_mutex_lock(&l->mu);
	while (l->head) {
		struct chunk *c = l->head;
		l->head = c->next;
		if (c->commit) {
			c->commit = 0;
			l->commits_done++;
			l->commit_rc = STORE_ERROR;
			jerr_set(&l->commit_err, "%s: the batch was rolled back", e->base.name);
		}
		ld_recycle(l, c);
	}
	l->tail = NULL;
	l->queued = 0;
	while (l->busy || l->inflight)
		pthread_cond_wait(&l->space, &l->mu);
	l->rc = STORE_OK;
	l->hb_off = 1; /* the caller rolls back on the connections next */
	pthread_mutex_unlock(&l->mu);
}

/* Roll back what is open on either connection (the sender idle). */
static void rollback_conns(struct ev_mysql *e)
{
	for (int i = 0; i < 2; i++) {
		if (e->c[i].started)
			mysql_rollback(e->c[i].db);
		e->c[i].started = 0;
		hold_release(&e->c[i]);
	}
}

/* Let the sender send what is queued (a batch's rows are never left half-sent), then stop it. */
static void ld_stop(struct ev_mysql *e)
{
	struct loader *l = &e->ld;
	if (!l->running)
		return;
	pthread_mutex_lock(&l->mu);
	l->quit = 1;
	pthread_cond_signal(&l->work);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->th, NULL);
	l->running = 0;
}

static int ev_mysql_insert(struct evstore *s, const struct event *ev, int *dup, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	if (!e->in_txn) {
		jerr_set(err, "%s: insert outside a batch (begin first)", s->name);
		return STORE_ERROR;
	}
	if (!e->load) {
		struct conn *k = &e->c[0];
		rowbuf_add(&e->blk, ev, dup);
		if (e->blk.n == BLOCK)
			return flush(e, k, err);
		/* no sender thread here: a batch whose rows come slowly renews its hold itself */
		if (k->held && time_mono() - k->renewed_at > (double)e->url.lease_ms / 3000.0)
			return hold_renew(e, k, err);
		return STORE_OK;
	}
	struct rowbuf *b = &e->fill->b;
	rowbuf_add(b, ev, dup);
	/* a full chunk goes; so does a part of one when the sender would idle */
	if (!*dup &&
	    (b->n == LD_CHUNK || (b->n >= LD_EARLY && b->n % 64 == 0 && atomic_load(&e->ld.idle))))
		return ld_push(e, err);
	return STORE_OK;
}

/* The rows way: commit at once, keeping the outcome for commit_wait. */
static int rows_commit(struct ev_mysql *e, struct jerr *err)
{
	struct conn *k = &e->c[0];
	int r = flush(e, k, err);
	/* a batch whose hold ran out may have been passed by the ETL: never commit it */
	if (r == STORE_OK)
		r = hold_renew(e, k, err);
	if (r == STORE_OK && k->started && mysql_commit(k->db) != 0)
		r = my_fail(k->db, e->base.name, "committing the batch", err);
	if (r != STORE_OK && k->started)
		mysql_rollback(k->db);
	hold_release(k);
	e->ld.commit_dups = r == STORE_OK ? e->late_dups : 0;
	rowbuf_clear(&e->blk);
	k->started = 0;
	e->late_dups = 0;
	return r;
}

/*
 * Start committing the batch: the LOAD way queues its last rows and a commit
 * marker behind them and returns, so the caller can parse the next batch while
 * the server commits this one; commit_wait gives the outcome.
 */
static int ev_mysql_commit_start(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	struct loader *l = &e->ld;
	int r = STORE_OK;
	if (e->pending)
		BUG("%s: commit_start while a commit is pending (commit_wait first)", s->name);
	e->in_txn = 0;
	if (!e->load) {
		e->pending = 1;
		l->commit_rc = rows_commit(e, &l->commit_err);
		return STORE_OK;
	}
	if (e->fill->b.n && (r = ld_push(e, err)) != STORE_OK) {
		ld_drop(e); /* the batch is lost: roll back what was sent */
		rollback_conns(e);
		e->late_dups = 0;
		rowbuf_clear(&e->fill->b);
		return r;
	}
	pthread_mutex_lock(&l->mu);
	struct chunk *m = ld_chunk(l);
	m->commit = 1;
	r = ld_enqueue(e, m, err);
	if (r != STORE_OK)
		ld_recycle(l, m);
	else
		l->commits_sent++;
	pthread_mutex_unlock(&l->mu);
	if (r == STORE_OK)
		e->pending = 1;
	return r;
}

static int ev_mysql_commit_wait(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	struct loader *l = &e->ld;
	int r;
	*late_dups = 0;
	if (!e->pending)
		BUG("%s: commit_wait with no commit pending", s->name);
	e->pending = 0;
	pthread_mutex_lock(&l->mu);
	while (l->commits_done != l->commits_sent)
		pthread_cond_wait(&l->space, &l->mu);
	r = l->commit_rc;
	if (r != STORE_OK)
		*err = l->commit_err;
	*late_dups = r == STORE_OK ? l->commit_dups : 0;
	pthread_mutex_unlock(&l->mu);
	return r;
}

static int ev_mysql_commit(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	int r = ev_mysql_commit_start(s, err);
	if (r != STORE_OK) {
		*late_dups = 0;
		return r;
	}
	return ev_mysql_commit_wait(s, late_dups, err);
}

static void ev_mysql_rollback(struct evstore *s)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	if (e->load)
		ld_drop(e);
	rollback_conns(e);
	rowbuf_clear(&e->blk);
	if (e->fill)
		rowbuf_clear(&e->fill->b);
	e->in_txn = 0;
	e->late_dups = 0;
	e->pending = 0;
}

/* Read the void ranges that end after seq `after` (the first LD_VOIDS of them). */
static int read_voids(struct ev_mysql *e, int64_t after, struct jerr *err)
{
	MYSQL_BIND p[1];
	struct my_cols c;
	int r, f;
	e->nvoids = 0;
	if (!e->voids && (r = my_prepare(e->db, SQL_VOIDS, &e->voids, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &after);
	if ((r = run(e, e->voids, p, "reading unused seq values", err)) != STORE_OK)
		return r;
	if ((r = my_cols_bind(&c, e->voids, "ll", e->base.name, err)) != STORE_OK) {
		mysql_stmt_free_result(e->voids);
		return r;
	}
	while ((f = my_fetch(&c, e->voids, e->base.name, "reading unused seq values", err)) > 0 &&
	       e->nvoids < LD_VOIDS) {
		e->void_from[e->nvoids] = c.i[0];
		e->void_to[e->nvoids++] = c.i[1];
	}
	mysql_stmt_free_result(e->voids);
	my_cols_release(&c);
	return f < 0 ? stmt_code(e->voids) : STORE_OK;
}

/* Do the void ranges cover every seq from .. to_excl - 1? */
static int void_covers(const struct ev_mysql *e, int64_t from, int64_t to_excl)
{
	int64_t at = from;
	for (int i = 0; i < e->nvoids && at < to_excl; i++) {
		if (e->void_to[i] < at)
			continue;
		if (e->void_from[i] > at)
			return 0;
		at = e->void_to[i] + 1;
	}
	return at >= to_excl;
}

static int ev_mysql_scan(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn, void *arg,
			 size_t *nread, int64_t *upto, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	struct my_cols *c = &e->scan_cols;
	MYSQL_BIND p[3];
	struct event ev;
	int64_t settle_us = e->url.settle_ms * 1000, lim = (int64_t)limit;
	int64_t expect = after + 1, held = 0;
	int f, r, stop = 0;
	size_t n = 0;

	*nread = 0;
	*upto = after;
	if (!e->scan) {
		if ((r = my_prepare(e->db, SQL_SCAN, &e->scan, s->name, err)) != STORE_OK)
			return r;
	}
	if ((r = read_voids(e, after, err)) != STORE_OK)
		return r;
	/*
	 * Before the rows: a hold dropped after this look belongs to a transaction
	 * already over, whose rows the scan below sees; one taken after it is on
	 * seqs newer than the settle time.
	 */
	if (!e->holds && (r = my_prepare(e->db, SQL_HELD, &e->holds, s->name, err)) != STORE_OK)
		return r;
	if ((r = one_int(e, e->holds, NULL, "reading the writers' holds", &held, err)) != STORE_OK)
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &settle_us);
	my_bind_i64(&p[1], &after);
	my_bind_i64(&p[2], &lim);
	if ((r = run(e, e->scan, p, "reading events", err)) != STORE_OK)
		return r;
	if (!e->scan_bound) {
		if ((r = my_cols_bind(c, e->scan, SCAN_TYPES, s->name, err)) != STORE_OK) {
			mysql_stmt_free_result(e->scan);
			return r;
		}
		e->scan_bound = 1;
	} else if (mysql_stmt_bind_result(e->scan, c->b) != 0) {
		r = my_stmt_fail(e->scan, s->name, "reading events", err);
		mysql_stmt_free_result(e->scan);
		return r;
	}
	memset(&ev, 0, sizeof(ev));
	ev.bid = -1;
	while ((f = my_fetch(c, e->scan, s->name, "reading events", err)) > 0) {
		ev.seq = c->i[0];
		/*
		 * A missing seq before this row belongs to a writer that has not
		 * committed yet, or to one that rolled back (or to a duplicate a
		 * foreign writer's INSERT IGNORE skipped). Only time tells them
		 * apart: stop here unless this row is older than the settle time
		 * and no live jobads writer holds the missing seqs, or
		 * tracking_void says they will never be used.
		 */
		if (ev.seq != expect && (!c->i[15] || (held > 0 && held < ev.seq)) &&
		    !void_covers(e, expect, ev.seq))
			break;
		expect = ev.seq + 1;
		ev.ts_ms = c->i[1];
		ev.publisher_id = (int32_t)c->i[2];
		ev.publisher_name = my_col_str(c, 3);
		ev.publisher_traffic = my_col_str(c, 4);
		ev.publisher_quality = my_col_str(c, 5);
		ev.campaign_id = (int32_t)c->i[6];
		ev.industry = my_col_str(c, 7);
		ev.location = my_col_str(c, 8);
		ev.device = my_col_str(c, 9);
		ev.impressions = c->i[10];
		ev.clicks = c->i[11];
		ev.apply_count = c->i[12];
		ev.cost_micros = c->i[13];
		ev.quality_score = (int32_t)c->i[14];
		n++;
		*upto = ev.seq;
		if ((stop = fn(arg, &ev)) != 0)
			break;
	}
	if (!stop && f < 0)
		r = my_code_retryable(mysql_stmt_errno(e->scan)) ? STORE_RETRY : STORE_ERROR;
	mysql_stmt_free_result(e->scan);
	*nread = n;
	return stop ? stop : r;
}

static int one_int(struct ev_mysql *e, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
		   int64_t *v, struct jerr *err)
{
	struct my_cols c;
	int r = run(e, st, params, what, err);
	if (r != STORE_OK)
		return r;
	if ((r = my_cols_bind(&c, st, "l", e->base.name, err)) != STORE_OK)
		return r;
	int f = my_fetch(&c, st, e->base.name, what, err);
	*v = f > 0 && !c.null[0] ? c.i[0] : 0;
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	if (f < 0)
		return my_code_retryable(mysql_stmt_errno(st)) ? STORE_RETRY : STORE_ERROR;
	return STORE_OK;
}

static int ev_mysql_stats(struct evstore *s, int64_t *max_seq, int64_t *rows, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	int r = one_int(e, e->maxseq, NULL, "reading the newest seq", max_seq, err);
	if (r != STORE_OK || !rows)
		return r;
	MYSQL_STMT *st;
	if ((r = my_prepare(e->db, SQL_COUNT, &st, s->name, err)) != STORE_OK)
		return r;
	r = one_int(e, st, NULL, "counting events", rows, err);
	mysql_stmt_close(st);
	return r;
}

static int ev_mysql_behind(struct evstore *s, int64_t cursor, int64_t *n, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	MYSQL_STMT *st;
	MYSQL_BIND p;
	int r = my_prepare(e->db, SQL_BEHIND, &st, s->name, err);
	if (r != STORE_OK)
		return r;
	memset(&p, 0, sizeof(p));
	my_bind_i64(&p, &cursor);
	r = one_int(e, st, &p, "counting events behind the cursor", n, err);
	mysql_stmt_close(st);
	return r;
}

static int ev_mysql_recompute(struct evstore *s, int64_t upto, fact_row_fn fn, void *arg,
			      struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	MYSQL_STMT *st;
	MYSQL_BIND p[1];
	struct my_cols c;
	struct fact_row fr;
	int f, stop = 0;
	int r = my_prepare(e->db, SQL_RECOMPUTE, &st, s->name, err);
	if (r != STORE_OK)
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &upto);
	if ((r = run(e, st, p, "recomputing aggregates", err)) != STORE_OK ||
	    (r = my_cols_bind(&c, st, "lllsss" MY_SUM_TYPES, s->name, err)) != STORE_OK) {
		mysql_stmt_close(st);
		return r;
	}
	while ((f = my_fetch(&c, st, s->name, "recomputing aggregates", err)) > 0) {
		my_fact_row(&c, &fr);
		if ((stop = fn(arg, &fr)) != 0)
			break;
	}
	if (!stop && f < 0)
		r = my_code_retryable(mysql_stmt_errno(st)) ? STORE_RETRY : STORE_ERROR;
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	mysql_stmt_close(st);
	return stop ? stop : r;
}

const struct evstore_ops evstore_mysql_ops = {
    .version = EVSTORE_OPS_VERSION,
    .scheme = "mysql",
    .open = ev_mysql_open,
    .close = ev_mysql_close,
    .init = ev_mysql_init,
    .begin = ev_mysql_begin,
    .insert = ev_mysql_insert,
    .commit = ev_mysql_commit,
    .commit_start = ev_mysql_commit_start,
    .commit_wait = ev_mysql_commit_wait,
    .rollback = ev_mysql_rollback,
    .scan = ev_mysql_scan,
    .stats = ev_mysql_stats,
    .behind = ev_mysql_behind,
    .recompute = ev_mysql_recompute,
};
