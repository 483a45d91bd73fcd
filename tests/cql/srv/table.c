/*
 * table.c - the table engine of the CQL test server: keyspaces, tables, their
 * partitions (an open-addressing hash of the partition key) and rows (sorted by
 * the clustering key, cells kept in wire format), row tombstones, and the
 * system tables a driver reads when it connects.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

#include "jobads/banned.h"

struct table **tables;
size_t ntables;
char keyspaces[256][NAMELEN];
int nkeyspaces;
const char *datacenter = "datacenter1";

/* ---------- cells ---------- */

const uint8_t *cell_at(const uint8_t *row, int i, int32_t *len)
{
	const uint8_t *p = row;
	for (;;) {
		int32_t l = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				      (uint32_t)p[2] << 8 | p[3]);
		if (i == 0) {
			*len = l;
			return p + 4;
		}
		p += 4 + (l > 0 ? l : 0);
		i--;
	}
}

size_t row_size(const uint8_t *row, int ncols)
{
	int32_t l;
	const uint8_t *p = cell_at(row, ncols - 1, &l);
	return (size_t)(p - row) + (l > 0 ? (size_t)l : 0);
}

int64_t be_int(const uint8_t *p, int n)
{
	int64_t v = (p[0] & 0x80) ? -1 : 0;
	for (int i = 0; i < n; i++)
		v = (int64_t)(((uint64_t)v << 8) | p[i]);
	return v;
}

static int cmp_bytes_signed(const uint8_t *a, const uint8_t *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i] != b[i])
			return (int8_t)a[i] < (int8_t)b[i] ? -1 : 1;
	return 0;
}

int cmp_val(uint16_t type, const uint8_t *a, int32_t al, const uint8_t *b, int32_t bl)
{
	if (al < 0 || bl < 0)
		return (al >= 0) - (bl >= 0);
	switch (type) {
	case CQL_T_INT:
	case CQL_T_BIGINT:
	case CQL_T_TIMESTAMP:
	case CQL_T_COUNTER:
	case CQL_T_SMALLINT:
	case CQL_T_TINYINT:
		if (al > 0 && bl > 0 && al <= 8 && bl <= 8) {
			int64_t x = be_int(a, al), y = be_int(b, bl);
			return (x > y) - (x < y);
		}
		break;
	case CQL_T_DOUBLE:
		if (al == 8 && bl == 8) {
			double x, y;
			uint64_t u = (uint64_t)be_int(a, 8), w = (uint64_t)be_int(b, 8);
			memcpy(&x, &u, 8);
			memcpy(&y, &w, 8);
			return (x > y) - (x < y);
		}
		break;
	case CQL_T_TIMEUUID:
	case CQL_T_UUID:
		if (al == 16 && bl == 16 &&
		    (type == CQL_T_TIMEUUID || ((a[6] >> 4) == 1 && (b[6] >> 4) == 1))) {
			/* Cassandra's TimeUUIDType: the timestamp, then the rest as signed bytes */
			uint64_t x = cql_timeuuid_ticks(a), y = cql_timeuuid_ticks(b);
			if (x != y)
				return x < y ? -1 : 1;
			return cmp_bytes_signed(a + 8, b + 8, 8);
		}
		break;
	default:
		break;
	}
	int32_t n = al < bl ? al : bl;
	int c = n ? memcmp(a, b, (size_t)n) : 0;
	if (c)
		return c < 0 ? -1 : 1;
	return (al > bl) - (al < bl);
}

/* ---------- tables ---------- */

int ks_exists(const char *ks)
{
	for (int i = 0; i < nkeyspaces; i++)
		if (strcmp(keyspaces[i], ks) == 0)
			return 1;
	return 0;
}

struct table *find_table(const char *ks, const char *name)
{
	for (size_t i = 0; i < ntables; i++)
		if (!tables[i]->dropped && strcmp(tables[i]->ks, ks) == 0 &&
		    strcmp(tables[i]->name, name) == 0)
			return tables[i];
	return NULL;
}

void add_table(struct table *t)
{
	tables = xrealloc(tables, (ntables + 1) * sizeof(*tables));
	tables[ntables++] = t;
}

int col_index(const struct table *t, const char *name, size_t n)
{
	for (int i = 0; i < t->ncols; i++)
		if (strlen(t->cols[i].name) == n && strncmp(t->cols[i].name, name, n) == 0)
			return i;
	return -1;
}

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

void clear_table(struct table *t)
{
	for (size_t i = 0; i < t->nparts; i++) {
		for (size_t k = 0; k < t->parts[i]->n; k++)
			free(t->parts[i]->rows[k]);
		free(t->parts[i]->rows);
		for (size_t k = 0; k < t->parts[i]->ntombs; k++)
			free(t->parts[i]->tombs[k].ck);
		free(t->parts[i]->tombs);
		free(t->parts[i]->key);
		free(t->parts[i]);
	}
	free(t->parts);
	free(t->idx);
	t->parts = NULL;
	t->idx = NULL;
	t->nparts = t->pcap = t->icap = 0;
}

struct part *find_part(struct table *t, const uint8_t *key, size_t n, int create, size_t *index)
{
	if (t->icap == 0) {
		if (!create)
			return NULL;
		t->icap = 1024;
		t->idx = xcalloc(t->icap, sizeof(uint32_t));
	}
	uint32_t h = hash_bytes(key, n);
	size_t i = h & (t->icap - 1);
	while (t->idx[i]) {
		struct part *p = t->parts[t->idx[i] - 1];
		if (p->keylen == n && memcmp(p->key, key, n) == 0) {
			if (index)
				*index = t->idx[i] - 1;
			return p;
		}
		i = (i + 1) & (t->icap - 1);
	}
	if (!create)
		return NULL;
	if (t->nparts == t->pcap) {
		t->pcap = t->pcap ? t->pcap * 2 : 64;
		t->parts = xrealloc(t->parts, t->pcap * sizeof(*t->parts));
	}
	struct part *p = xcalloc(1, sizeof(*p));
	p->key = xmalloc(n ? n : 1);
	memcpy(p->key, key, n);
	p->keylen = n;
	t->parts[t->nparts++] = p;
	t->idx[i] = (uint32_t)t->nparts;
	if (index)
		*index = t->nparts - 1;
	if (t->nparts * 2 > t->icap) { /* grow and rehash */
		free(t->idx);
		t->icap *= 2;
		t->idx = xcalloc(t->icap, sizeof(uint32_t));
		for (size_t k = 0; k < t->nparts; k++) {
			size_t j =
			    hash_bytes(t->parts[k]->key, t->parts[k]->keylen) & (t->icap - 1);
			while (t->idx[j])
				j = (j + 1) & (t->icap - 1);
			t->idx[j] = (uint32_t)(k + 1);
		}
	}
	return p;
}

/* Compare a row's clustering key with key cells given as (ptr, len) arrays. */
int ck_cmp(const struct table *t, const uint8_t *row, const uint8_t **kp, const int32_t *kl)
{
	for (int i = 0; i < t->nck; i++) {
		int32_t l;
		const uint8_t *c = cell_at(row, t->ck[i], &l);
		int r = cmp_val(t->cols[t->ck[i]].type, c, l, kp[i], kl[i]);
		if (r)
			return t->desc ? -r : r;
	}
	return 0;
}

/* First row index whose clustering key is >= key (strict: > key). */
size_t lower_bound(const struct table *t, const struct part *p, const uint8_t **kp,
		   const int32_t *kl, int strict)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = ck_cmp(t, p->rows[mid], kp, kl);
		if (c < 0 || (strict && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int tomb_shadows(const struct part *p, const uint8_t *ck, size_t n, int64_t ts)
{
	for (size_t i = 0; i < p->ntombs; i++)
		if (p->tombs[i].n == n && memcmp(p->tombs[i].ck, ck, n) == 0 &&
		    p->tombs[i].ts >= ts)
			return 1;
	return 0;
}

/* ---------- system tables ---------- */

static struct table *create_system_table(const char *ddl)
{
	struct stmt s;
	struct err e;
	if (parse_stmt(ddl, strlen(ddl), "", &s, &e) != 0) {
		fprintf(stderr, "cqlsrv: %s: %s\n", ddl, e.msg);
		exit(1);
	}
	add_table(s.newt);
	return s.newt;
}

static void put_text_cell(struct cql_buf *b, const char *s)
{
	cqlb_bytes(b, s, (int32_t)strlen(s));
}

void create_system_tables(const char *listen)
{
	snprintf(keyspaces[nkeyspaces++], NAMELEN, "system");
	struct table *local = create_system_table(
	    "CREATE TABLE system.local (key text PRIMARY KEY, bootstrapped text,"
	    " broadcast_address inet, cluster_name text, cql_version text, data_center text,"
	    " gossip_generation int, host_id uuid, listen_address inet,"
	    " native_protocol_version text, partitioner text, rack text, release_version text,"
	    " rpc_address inet, schema_version uuid, thrift_version text, tokens set<text>)");
	create_system_table("CREATE TABLE system.peers (peer inet PRIMARY KEY, data_center text,"
			    " host_id uuid, preferred_ip inet, rack text, release_version text,"
			    " rpc_address inet, schema_version uuid, tokens set<text>)");
	/*
	 * Drivers read the schema tables to build their metadata; empty ones say
	 * "no keyspaces to describe", which they accept.
	 */
	snprintf(keyspaces[nkeyspaces++], NAMELEN, "system_schema");
	create_system_table("CREATE TABLE system_schema.keyspaces (keyspace_name text PRIMARY KEY,"
			    " durable_writes boolean, replication map<text, text>)");
	create_system_table(
	    "CREATE TABLE system_schema.tables (keyspace_name text, table_name text,"
	    " id uuid, PRIMARY KEY ((keyspace_name), table_name))");
	create_system_table(
	    "CREATE TABLE system_schema.columns (keyspace_name text, table_name text,"
	    " column_name text, clustering_order text, kind text, position int, type text,"
	    " PRIMARY KEY ((keyspace_name), table_name, column_name))");
	create_system_table("CREATE TABLE system_schema.types (keyspace_name text, type_name text,"
			    " PRIMARY KEY ((keyspace_name), type_name))");
	create_system_table(
	    "CREATE TABLE system_schema.functions (keyspace_name text, function_name text,"
	    " PRIMARY KEY ((keyspace_name), function_name))");
	create_system_table(
	    "CREATE TABLE system_schema.aggregates (keyspace_name text, aggregate_name text,"
	    " PRIMARY KEY ((keyspace_name), aggregate_name))");
	create_system_table("CREATE TABLE system_schema.views (keyspace_name text, view_name text,"
			    " PRIMARY KEY ((keyspace_name), view_name))");
	struct in_addr a;
	if (inet_pton(AF_INET, listen, &a) != 1)
		inet_pton(AF_INET, "127.0.0.1", &a);
	uint8_t host_id[16], schema[16];
	uuid_from_text("5c6d4a1e-0000-4000-8000-000000000001", 36, host_id);
	uuid_from_text("5c6d4a1e-0000-4000-8000-00000000abcd", 36, schema);
	struct cql_buf row = {0};
	put_text_cell(&row, "local");
	put_text_cell(&row, "COMPLETED");
	cqlb_bytes(&row, &a, 4);
	put_text_cell(&row, "jobads test cluster");
	put_text_cell(&row, "3.4.4");
	put_text_cell(&row, datacenter);
	cqlv_int(&row, 1);
	cqlb_bytes(&row, host_id, 16);
	cqlb_bytes(&row, &a, 4);
	put_text_cell(&row, "4");
	put_text_cell(&row, "org.apache.cassandra.dht.Murmur3Partitioner");
	put_text_cell(&row, "rack1");
	put_text_cell(&row, "3.11.16");
	cqlb_bytes(&row, &a, 4);
	cqlb_bytes(&row, schema, 16);
	put_text_cell(&row, "20.1.0");
	/* tokens: a set of one text */
	cqlb_i32(&row, 4 + 4 + 1);
	cqlb_i32(&row, 1);
	cqlb_bytes(&row, "0", 1);
	struct cql_buf key = {0};
	put_text_cell(&key, "local");
	struct part *p = find_part(local, key.p, key.len, 1, NULL);
	cqlb_release(&key);
	p->rows = xmalloc(sizeof(*p->rows));
	p->cap = p->n = 1;
	p->rows[0] = row.p;
}

void free_tables(void)
{
	for (size_t i = 0; i < ntables; i++) {
		clear_table(tables[i]);
		free(tables[i]);
	}
	free(tables);
}
