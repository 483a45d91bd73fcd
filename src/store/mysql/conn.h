/*
 * mysql/conn.h - what the two MySQL/MariaDB backends share: URL parsing (the
 * password never leaves struct my_url), connecting with timeouts, utf8mb4 and
 * UTC, error mapping to J_RETRY / J_ERROR, running the embedded DDL,
 * and small helpers around prepared statements (parameter and result binds).
 *
 * Every value goes to the server as a bound parameter of a prepared statement.
 * The only text ever put into SQL is a database name, and only after
 * my_url_parse has checked it is made of [A-Za-z0-9_$].
 */
#ifndef JOBADS_MYSQL_UTIL_H
#define JOBADS_MYSQL_UTIL_H

#include <mysql.h>

#include "jobads/store.h"

/* Schemas from sql/mysql/, embedded at build time (cmake/embed.cmake). */
extern const char sql_mysql_events[];
extern const char sql_mysql_analytics[];

/* A parsed mysql:// URL. */
struct my_url {
	char user[128];
	char pass[256]; /* secret: never printed; from JOBADS_MYSQL_PASSWORD when absent */
	int has_pass;
	char host[256];
	unsigned port;	  /* 0: the default (3306) */
	char db[65];	  /* checked: [A-Za-z0-9_$]{1,64} */
	char socket[512]; /* ?socket=PATH: connect through a Unix socket */
	unsigned connect_timeout, read_timeout, write_timeout; /* seconds */
	int64_t settle_ms;				       /* ?settle=S (event store) */
	int has_settle;
	int no_bulk; /* ?bulk=0: no MariaDB array binding, as on MySQL 8 */
	int no_load; /* ?load=0: the event store inserts rows, no LOAD DATA LOCAL */
	/* ?lease=S (event store): how long a writer's hold on its seqs lasts unrenewed */
	int64_t lease_ms;
};

/*
 * Parse "//user[:pass]@host[:port]/db[?socket=P&connect_timeout=S&read_timeout=S
 * &write_timeout=S&settle=S&bulk=0|1&load=0|1]" (what follows "mysql:"). default_db is used when
 * the path is empty. *name (you own it) is the URL as given minus the password,
 * for messages. J_ERROR with a message that never holds the password.
 * (Also &lease=S for the event store.)
 */
int my_url_parse(const char *rest, const char *default_db, struct my_url *u, char **name,
		 struct jerr *err);

/*
 * Connect with the URL's timeouts, utf8mb4, session time zone UTC and a strict
 * sql_mode. In STORE_CREATE mode a missing database is created; otherwise it is
 * an error that says to run 'jobads init'. flags: extra client flags
 * (CLIENT_FOUND_ROWS). *mariadb says whether the server is MariaDB.
 */
int my_connect(const struct my_url *u, const char *name, enum store_mode mode, unsigned long flags,
	       MYSQL **out, int *mariadb, struct jerr *err);

/* Is code a transient error (connection lost, deadlock, lock wait timeout, ...)? */
int my_code_retryable(unsigned code);

/*
 * Fill err with "NAME: WHAT: server message" and err->code with the errno, and
 * map the connection's last error to J_RETRY or J_ERROR.
 */
int my_fail(MYSQL *db, const char *name, const char *what, struct jerr *err);
/* The same for a statement's last error. */
int my_stmt_fail(MYSQL_STMT *st, const char *name, const char *what, struct jerr *err);

/* 1 when the server takes array binding (COM_STMT_BULK_EXECUTE: MariaDB 10.2+). */
int my_has_bulk(MYSQL *db);

/* Bind params (NULL: none) and execute st; J_OK or an error naming the store. */
int my_run(MYSQL_STMT *st, MYSQL_BIND *params, const char *name, const char *what,
	   struct jerr *err);

/*
 * The schema version a store's `init` recorded, read with sql (one integer
 * column); 0 when the version table is missing or has no row.
 */
int my_schema_version(MYSQL *db, const char *sql, const char *name, int *version, struct jerr *err);

/* Run one statement that carries no values (BEGIN, COMMIT, DDL). */
int my_exec(MYSQL *db, const char *sql, const char *name, const char *what, struct jerr *err);

/*
 * Run a DDL script: statements end with ';' at the end of a line. On MySQL
 * (not MariaDB) the collation utf8mb4_nopad_bin is replaced by its MySQL 8 twin
 * utf8mb4_0900_bin (both compare bytewise, without padding).
 */
int my_exec_script(MYSQL *db, int mariadb, const char *script, const char *name, struct jerr *err);

/* Prepare a statement; J_OK or an error naming the store. */
int my_prepare(MYSQL *db, const char *sql, MYSQL_STMT **st, const char *name, struct jerr *err);
/* Prepare head, then rows times row (comma-separated), then tail: a multi-row statement. */
int my_prepare_rows(MYSQL *db, const char *head, const char *row, unsigned rows, const char *tail,
		    MYSQL_STMT **out, const char *name, struct jerr *err);

/* Parameter binds: set slot i of an array the caller sized (memset to 0 first). */
void my_bind_i64(MYSQL_BIND *b, const int64_t *v);
void my_bind_int(MYSQL_BIND *b, const int32_t *v);
void my_bind_dbl(MYSQL_BIND *b, const double *v);
/* Text of n bytes at s (s may be NULL when n == 0 and null is set). *len must live
 * until execute. null: bind SQL NULL (null points at storage that lives too). */
void my_bind_str(MYSQL_BIND *b, const char *s, unsigned long *len, my_bool *null);

/*
 * Result columns, described by a string of types: 'l' int64, 'd' double,
 * 's' text up to MY_STR_CAP bytes (NUL-terminated in .s), 'T' text that may be
 * cut at MY_STR_CAP (etl_runs.error), 'n' an exact integer sum (a DECIMAL, read
 * as text: see my_col_int). my_cols_bind binds them to st.
 */
#define MY_MAX_COLS 24
#define MY_STR_CAP  1024
struct my_cols {
	int n;
	char type[MY_MAX_COLS];
	MYSQL_BIND b[MY_MAX_COLS];
	int64_t i[MY_MAX_COLS];
	double d[MY_MAX_COLS];
	char *s[MY_MAX_COLS];
	unsigned long len[MY_MAX_COLS];
	my_bool null[MY_MAX_COLS], error[MY_MAX_COLS];
};
int my_cols_bind(struct my_cols *c, MYSQL_STMT *st, const char *types, const char *name,
		 struct jerr *err);
void my_cols_release(struct my_cols *c);
/* Fetch the next row: 1 row, 0 end, -1 error (err filled). */
int my_fetch(struct my_cols *c, MYSQL_STMT *st, const char *name, const char *what,
	     struct jerr *err);
/*
 * The end of a fetch loop: what the row callback returned when it stopped the
 * loop, else the fetch's error when got < 0 (err is filled), else r; the
 * result is freed and the columns released (the statement stays open).
 */
int my_fetch_end(MYSQL_STMT *st, struct my_cols *c, int got, int stop, int r);
/* Column i as a view valid until the next fetch; NULL is empty. */
static inline struct ev_str my_col_str(const struct my_cols *c, int i)
{
	struct ev_str v;
	v.s = c->null[i] ? "" : c->s[i];
	v.n = c->null[i] ? 0 : (uint32_t)c->len[i];
	return v;
}

/* Column i as a sum: an 'l' column's value, or an 'n' column's exact DECIMAL. */
kpi_int my_col_int(const struct my_cols *c, int i);
/* Read m from columns k .. k+9 (records .. roi_sum, in fact_hourly's order). */
void my_col_sums(const struct my_cols *c, int k, struct kpi_sums *m);
/* A row laid out as fact_hourly: the six grain columns, then the sums. Types: */
#define MY_FACT_TYPES                                                                              \
	"lllsss"                                                                                   \
	"llllll"                                                                                   \
	"dddd"
/* The same laid out with the sums as DECIMAL (SUM over BIGINT columns). */
#define MY_SUM_TYPES                                                                               \
	"nnnnnn"                                                                                   \
	"dddd"
void my_fact_row(const struct my_cols *c, struct fact_row *fr);

#endif
