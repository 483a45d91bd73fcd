/*
 * prepare.c - the prepared statements of the test server: PREPARE keeps the
 * text under an id that is a hash of the keyspace and the text, so the same
 * statement prepared again, or on another connection, gets the same id.
 * EXECUTE finds it by id; a DROP forgets them all, and a restart knows none,
 * which is how the tests make a client see Unprepared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

#include "jobads/banned.h"

static struct prepared *preps;
static size_t npreps, cpreps;

static void prepared_id(const char *ks, const char *q, size_t n, uint8_t id[16])
{
	uint64_t a = 1469598103934665603ULL, b = 0x9e3779b97f4a7c15ULL;
	for (const char *k = ks; *k; k++) {
		a = (a ^ (uint8_t)*k) * 1099511628211ULL;
		b = (b ^ (uint8_t)*k) * 0x100000001b3ULL + 7;
	}
	for (size_t i = 0; i < n; i++) {
		a = (a ^ (uint8_t)q[i]) * 1099511628211ULL;
		b = (b ^ (uint8_t)q[i]) * 0x100000001b3ULL + 7;
	}
	for (int i = 0; i < 8; i++) {
		id[i] = (uint8_t)(a >> (56 - 8 * i));
		id[8 + i] = (uint8_t)(b >> (56 - 8 * i));
	}
}

struct prepared *find_prepared(const uint8_t *id, size_t n)
{
	if (n != 16)
		return NULL;
	for (size_t i = 0; i < npreps; i++)
		if (memcmp(preps[i].id, id, 16) == 0)
			return &preps[i];
	return NULL;
}

int prepare_stmt(const char *q, size_t n, const char *cur_ks, struct cql_buf *out, struct err *e)
{
	struct stmt s;
	if (parse_stmt(q, n, cur_ks, &s, e)) {
		free(s.newt);
		return -1;
	}
	free(s.newt);
	s.newt = NULL;
	uint8_t id[16];
	prepared_id(cur_ks, q, n, id);
	if (!find_prepared(id, 16)) {
		if (npreps == cpreps) {
			cpreps = cpreps ? cpreps * 2 : 64;
			preps = xrealloc(preps, cpreps * sizeof(*preps));
		}
		struct prepared *p = &preps[npreps++];
		memcpy(p->id, id, 16);
		p->text = xmalloc(n + 1);
		memcpy(p->text, q, n);
		p->text[n] = '\0';
		snprintf(p->ks, NAMELEN, "%s", cur_ks);
	}
	cqlb_i32(out, CQL_RES_PREPARED);
	cqlb_sbytes(out, id, 16);
	if (!s.t) { /* DDL: no variables, no result */
		cqlb_i32(out, 0);
		cqlb_i32(out, 0);
		cqlb_i32(out, 0);
		cqlb_i32(out, CQL_MF_NO_METADATA);
		cqlb_i32(out, 0);
		return 0;
	}
	/* the partition key's markers, in key order, when every one is bound */
	int pk_idx[8], pk_count = 0;
	for (int k = 0; k < s.t->npk; k++)
		for (int i = 0; i < s.nbind; i++)
			if (s.bindcol[i] == s.t->pk[k]) {
				pk_idx[pk_count++] = i;
				break;
			}
	if (pk_count != s.t->npk)
		pk_count = 0;
	put_colspecs(out, s.t, s.bindcol, s.nbind, 0, pk_count, pk_idx, 1);
	if (s.type == S_SELECT) {
		int cols[MAXCOLS], nc;
		if (s.count) {
			cols[0] = COL_COUNT;
			nc = 1;
		} else if (s.star) {
			nc = s.t->ncols;
			for (int i = 0; i < nc; i++)
				cols[i] = i;
		} else {
			nc = s.nproj;
			memcpy(cols, s.proj, sizeof(int) * (size_t)nc);
		}
		put_colspecs(out, s.t, cols, nc, 0, 0, NULL, 0);
	} else {
		cqlb_i32(out, CQL_MF_NO_METADATA);
		cqlb_i32(out, 0);
	}
	return 0;
}

void forget_prepared(void)
{
	for (size_t i = 0; i < npreps; i++)
		free(preps[i].text);
	npreps = 0;
}

void free_prepared(void)
{
	forget_prepared();
	free(preps);
}
