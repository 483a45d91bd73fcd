/*
 * lex.c - the CQL of the test server: a tokenizer, and a recursive-descent
 * parser of the statements this project and the driver tests send (SELECT,
 * INSERT, DELETE, CREATE/DROP KEYSPACE and TABLE, TRUNCATE, USE) into a
 * struct stmt, its table resolved. Error messages imitate Cassandra's
 * ("line 1:N mismatched input ...") where the clients show them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "srv.h"

#include "jobads/banned.h"

/* ---------- tokenizer ---------- */

struct lexer {
	struct tok t[2048];
	int n, i;
	int nmarks;
};

static int lex(const char *q, size_t qn, struct lexer *L, struct err *e)
{
	size_t i = 0;
	L->n = L->i = L->nmarks = 0;
	while (i < qn) {
		char c = q[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			i++;
			continue;
		}
		if (c == '-' && i + 1 < qn && q[i + 1] == '-') {
			while (i < qn && q[i] != '\n')
				i++;
			continue;
		}
		if (L->n >= 2046)
			return fail(e, CQL_E_SYNTAX, "statement too long");
		struct tok *t = &L->t[L->n++];
		t->pos = i;
		t->s = q + i;
		uint8_t u[16];
		if (qn - i >= 36 && uuid_from_text(q + i, 36, u) == 0) {
			t->k = K_NUM;
			t->n = 36;
			i += 36;
			continue;
		}
		if (c == '\'') {
			size_t j = i + 1;
			while (j < qn && !(q[j] == '\'' && !(j + 1 < qn && q[j + 1] == '\'')))
				j += q[j] == '\'' ? 2 : 1;
			if (j >= qn)
				return fail(e, CQL_E_SYNTAX, "line 1:%zu unterminated string", i);
			t->k = K_STR;
			t->s = q + i + 1;
			t->n = j - i - 1;
			i = j + 1;
		} else if (c == '"') {
			size_t j = i + 1;
			while (j < qn && q[j] != '"')
				j++;
			if (j >= qn)
				return fail(e, CQL_E_SYNTAX, "line 1:%zu unterminated identifier",
					    i);
			t->k = K_QID;
			t->s = q + i + 1;
			t->n = j - i - 1;
			i = j + 1;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			   (c >= '0' && c <= '9') || c == '-' || c == '+') {
			size_t j = i + 1;
			int id = !((c >= '0' && c <= '9') || c == '-' || c == '+');
			while (j < qn &&
			       ((q[j] >= 'a' && q[j] <= 'z') || (q[j] >= 'A' && q[j] <= 'Z') ||
				q[j] == '_' || (q[j] >= '0' && q[j] <= '9') ||
				(!id && (q[j] == '.' || q[j] == '-' || q[j] == 'e'))))
				j++;
			t->k = id ? K_ID : K_NUM;
			t->n = j - i;
			i = j;
		} else if (c == '?') {
			t->k = K_MARK;
			t->n = 1;
			i++;
		} else if ((c == '<' || c == '>' || c == '!') && i + 1 < qn && q[i + 1] == '=') {
			t->k = K_PUNCT;
			t->n = 2;
			i += 2;
		} else if (strchr("(),;=<>.*{}:[]", c)) {
			t->k = K_PUNCT;
			t->n = 1;
			i++;
		} else {
			return fail(e, CQL_E_SYNTAX, "line 1:%zu unexpected character '%c'", i, c);
		}
	}
	L->t[L->n].k = K_END;
	L->t[L->n].s = "";
	L->t[L->n].n = 0;
	L->t[L->n].pos = qn;
	return 0;
}

static struct tok *peek(struct lexer *L)
{
	return &L->t[L->i];
}

int is_kw(const struct tok *t, const char *kw)
{
	return t->k == K_ID && strlen(kw) == t->n && strncasecmp(t->s, kw, t->n) == 0;
}

static int accept_kw(struct lexer *L, const char *kw)
{
	if (is_kw(peek(L), kw)) {
		L->i++;
		return 1;
	}
	return 0;
}

static int accept_p(struct lexer *L, const char *p)
{
	struct tok *t = peek(L);
	if (t->k == K_PUNCT && t->n == strlen(p) && strncmp(t->s, p, t->n) == 0) {
		L->i++;
		return 1;
	}
	return 0;
}

static int expect_kw(struct lexer *L, const char *kw, struct err *e)
{
	if (accept_kw(L, kw))
		return 0;
	struct tok *t = peek(L);
	return fail(e, CQL_E_SYNTAX, "line 1:%zu mismatched input '%.*s' expecting %s", t->pos,
		    (int)t->n, t->s, kw);
}

static int expect_p(struct lexer *L, const char *p, struct err *e)
{
	if (accept_p(L, p))
		return 0;
	struct tok *t = peek(L);
	return fail(e, CQL_E_SYNTAX, "line 1:%zu mismatched input '%.*s' expecting '%s'", t->pos,
		    (int)t->n, t->s, p);
}

/* An identifier, lowercased unless quoted. */
static int parse_ident(struct lexer *L, char out[NAMELEN], struct err *e)
{
	struct tok *t = peek(L);
	if ((t->k != K_ID && t->k != K_QID) || t->n == 0 || t->n >= NAMELEN)
		return fail(e, CQL_E_SYNTAX, "line 1:%zu no viable alternative at input '%.*s'",
			    t->pos, (int)t->n, t->s);
	for (size_t i = 0; i < t->n; i++)
		out[i] = t->k == K_ID && t->s[i] >= 'A' && t->s[i] <= 'Z' ? (char)(t->s[i] + 32)
									  : t->s[i];
	out[t->n] = '\0';
	L->i++;
	return 0;
}

/* [ks.]name */
static int parse_table_name(struct lexer *L, const char *cur_ks, char ks[NAMELEN],
			    char name[NAMELEN], struct err *e)
{
	if (parse_ident(L, name, e))
		return -1;
	if (accept_p(L, ".")) {
		memcpy(ks, name, NAMELEN);
		return parse_ident(L, name, e);
	}
	if (!cur_ks || !cur_ks[0])
		return fail(e, CQL_E_INVALID,
			    "No keyspace has been specified. USE a keyspace, or explicitly "
			    "specify keyspace.tablename");
	snprintf(ks, NAMELEN, "%s", cur_ks);
	return 0;
}

/* ---------- statements ---------- */

static int parse_term(struct lexer *L, struct stmt *s, int col, struct term *t, struct err *e)
{
	struct tok *k = peek(L);
	if (k->k == K_MARK) {
		if (s->nbind >= MAXTERMS)
			return fail(e, CQL_E_INVALID, "too many bind markers");
		t->bind = s->nbind;
		s->bindcol[s->nbind++] = col;
		L->i++;
		return 0;
	}
	if (k->k == K_STR || k->k == K_NUM || k->k == K_ID) {
		t->bind = -1;
		t->lit = k;
		L->i++;
		return 0;
	}
	return fail(e, CQL_E_SYNTAX, "line 1:%zu no viable alternative at input '%.*s'", k->pos,
		    (int)k->n, k->s);
}

static int parse_type(struct lexer *L, struct col *c, struct err *e)
{
	static const struct {
		const char *n;
		uint16_t t;
	} names[] = {{"text", CQL_T_VARCHAR},	   {"varchar", CQL_T_VARCHAR},
		     {"ascii", CQL_T_ASCII},	   {"int", CQL_T_INT},
		     {"bigint", CQL_T_BIGINT},	   {"timestamp", CQL_T_TIMESTAMP},
		     {"uuid", CQL_T_UUID},	   {"timeuuid", CQL_T_TIMEUUID},
		     {"double", CQL_T_DOUBLE},	   {"decimal", CQL_T_DECIMAL},
		     {"boolean", CQL_T_BOOLEAN},   {"inet", CQL_T_INET},
		     {"blob", CQL_T_BLOB},	   {"float", CQL_T_FLOAT},
		     {"smallint", CQL_T_SMALLINT}, {"varint", CQL_T_VARINT},
		     {"counter", CQL_T_COUNTER},   {"date", CQL_T_DATE}};
	struct tok *t = peek(L);
	if (is_kw(t, "set") || is_kw(t, "list") || is_kw(t, "map")) {
		c->type = is_kw(t, "set") ? CQL_T_SET : is_kw(t, "list") ? CQL_T_LIST : CQL_T_MAP;
		L->i++;
		struct col sub;
		if (expect_p(L, "<", e) || parse_type(L, &sub, e))
			return -1;
		c->sub1 = sub.type;
		if (c->type == CQL_T_MAP) {
			if (expect_p(L, ",", e) || parse_type(L, &sub, e))
				return -1;
			c->sub2 = sub.type;
		}
		return expect_p(L, ">", e);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (is_kw(t, names[i].n)) {
			c->type = names[i].t;
			L->i++;
			return 0;
		}
	return fail(e, CQL_E_SYNTAX, "line 1:%zu unknown type '%.*s'", t->pos, (int)t->n, t->s);
}

/* Skip to the end of the statement (WITH options we do not model). */
static void skip_rest(struct lexer *L)
{
	while (peek(L)->k != K_END && !(peek(L)->k == K_PUNCT && peek(L)->s[0] == ';'))
		L->i++;
}

static int parse_create_table(struct lexer *L, struct stmt *s, const char *cur_ks, struct err *e)
{
	if (accept_kw(L, "if")) {
		if (expect_kw(L, "not", e) || expect_kw(L, "exists", e))
			return -1;
		s->if_exists = 1;
	}
	if (parse_table_name(L, cur_ks, s->ks, s->name, e) || expect_p(L, "(", e))
		return -1;
	struct table *t = xcalloc(1, sizeof(*t));
	s->newt = t;
	snprintf(t->ks, NAMELEN, "%s", s->ks);
	snprintf(t->name, NAMELEN, "%s", s->name);
	char pk[16][NAMELEN];
	int npk = 0, nparts = 0; /* nparts: how many of pk[] are the partition key */
	do {
		if (accept_kw(L, "primary")) {
			if (expect_kw(L, "key", e) || expect_p(L, "(", e))
				return -1;
			if (accept_p(L, "(")) {
				do {
					if (npk >= 8 || parse_ident(L, pk[npk++], e))
						return -1;
				} while (accept_p(L, ","));
				if (expect_p(L, ")", e))
					return -1;
				nparts = npk;
			} else {
				if (parse_ident(L, pk[npk++], e))
					return -1;
				nparts = 1;
			}
			while (accept_p(L, ","))
				if (npk >= 16 || parse_ident(L, pk[npk++], e))
					return -1;
			if (expect_p(L, ")", e))
				return -1;
			continue;
		}
		if (t->ncols >= MAXCOLS)
			return fail(e, CQL_E_INVALID, "too many columns");
		struct col *c = &t->cols[t->ncols];
		if (parse_ident(L, c->name, e) || parse_type(L, c, e))
			return -1;
		t->ncols++;
		if (accept_kw(L, "primary")) {
			if (expect_kw(L, "key", e))
				return -1;
			snprintf(pk[0], NAMELEN, "%s", c->name);
			npk = nparts = 1;
		}
	} while (accept_p(L, ","));
	if (expect_p(L, ")", e))
		return -1;
	if (npk == 0)
		return fail(e, CQL_E_INVALID, "No PRIMARY KEY specifed (exactly one required)");
	/* struct table holds 8 partition and 8 clustering columns */
	if (nparts > 8 || npk - nparts > 8)
		return fail(
		    e, CQL_E_INVALID,
		    "more than 8 partition or 8 clustering columns (this test server's limit)");
	for (int i = 0; i < npk; i++) {
		int ci = col_index(t, pk[i], strlen(pk[i]));
		if (ci < 0)
			return fail(e, CQL_E_INVALID,
				    "Unknown definition %s referenced in PRIMARY KEY", pk[i]);
		if (i < nparts)
			t->pk[t->npk++] = ci;
		else
			t->ck[t->nck++] = ci;
	}
	if (accept_kw(L, "with")) {
		do {
			if (accept_kw(L, "clustering")) {
				if (expect_kw(L, "order", e) || expect_kw(L, "by", e) ||
				    expect_p(L, "(", e))
					return -1;
				do {
					char n[NAMELEN];
					if (parse_ident(L, n, e))
						return -1;
					if (accept_kw(L, "desc"))
						t->desc = 1;
					else
						accept_kw(L, "asc");
				} while (accept_p(L, ","));
				if (expect_p(L, ")", e))
					return -1;
			} else {
				/* name = value: skip the value, a map or a literal */
				while (peek(L)->k != K_END && !is_kw(peek(L), "and") &&
				       !accept_p(L, ";")) {
					if (accept_p(L, "{")) {
						while (peek(L)->k != K_END && !accept_p(L, "}"))
							L->i++;
					} else {
						L->i++;
					}
				}
			}
		} while (accept_kw(L, "and"));
	}
	return 0;
}

static int parse_where(struct lexer *L, struct stmt *s, struct err *e)
{
	struct table *t = s->t;
	do {
		char n[NAMELEN];
		if (parse_ident(L, n, e))
			return -1;
		int ci = col_index(t, n, strlen(n));
		if (ci < 0)
			return fail(e, CQL_E_INVALID, "Undefined column name %s", n);
		if (s->nconds >= MAXCONDS)
			return fail(e, CQL_E_INVALID, "too many conditions");
		struct cond *c = &s->conds[s->nconds++];
		c->col = ci;
		if (accept_p(L, "="))
			c->op = OP_EQ;
		else if (accept_p(L, "<="))
			c->op = OP_LE;
		else if (accept_p(L, ">="))
			c->op = OP_GE;
		else if (accept_p(L, "<"))
			c->op = OP_LT;
		else if (accept_p(L, ">"))
			c->op = OP_GT;
		else
			return fail(e, CQL_E_SYNTAX, "line 1:%zu unsupported operator '%.*s'",
				    peek(L)->pos, (int)peek(L)->n, peek(L)->s);
		if (parse_term(L, s, ci, &c->t, e))
			return -1;
	} while (accept_kw(L, "and"));
	return 0;
}

static int resolve_table(struct stmt *s, struct err *e)
{
	if (!ks_exists(s->ks))
		return fail(e, CQL_E_INVALID, "Keyspace %s does not exist", s->ks);
	s->t = find_table(s->ks, s->name);
	if (!s->t)
		return fail(e, CQL_E_INVALID, "unconfigured table %s", s->name);
	return 0;
}

int parse_stmt(const char *q, size_t qn, const char *cur_ks, struct stmt *s, struct err *e)
{
	static struct lexer L; /* single-threaded server */
	memset(s, 0, sizeof(*s));
	if (lex(q, qn, &L, e))
		return -1;
	if (accept_kw(&L, "select")) {
		s->type = S_SELECT;
		int save = L.i;
		if (accept_p(&L, "*")) {
			s->star = 1;
		} else if (accept_kw(&L, "count")) {
			if (expect_p(&L, "(", e) || (!accept_p(&L, "*") && !accept_kw(&L, "1")) ||
			    expect_p(&L, ")", e))
				return -1;
			s->count = 1;
		}
		int list_at = L.i;
		if (!s->star && !s->count) {
			/* the column list comes before FROM; resolve it after */
			while (peek(&L)->k != K_END && !is_kw(peek(&L), "from"))
				L.i++;
		}
		if (expect_kw(&L, "from", e) || parse_table_name(&L, cur_ks, s->ks, s->name, e) ||
		    resolve_table(s, e))
			return -1;
		int after = L.i;
		if (!s->star && !s->count) {
			L.i = list_at;
			do {
				char n[NAMELEN];
				if (parse_ident(&L, n, e))
					return -1;
				if (strcmp(n, "now") == 0 && accept_p(&L, "(")) {
					/* now(): the server's clock, a timeuuid */
					if (expect_p(&L, ")", e))
						return -1;
					s->proj[s->nproj++] = COL_NOW;
					continue;
				}
				int ci = col_index(s->t, n, strlen(n));
				if (ci < 0)
					return fail(e, CQL_E_INVALID, "Undefined column name %s",
						    n);
				s->proj[s->nproj++] = ci;
			} while (accept_p(&L, ","));
			L.i = after;
		}
		(void)save;
		if (accept_kw(&L, "where") && parse_where(&L, s, e))
			return -1;
		if (accept_kw(&L, "order")) {
			char n[NAMELEN];
			if (expect_kw(&L, "by", e) || parse_ident(&L, n, e))
				return -1;
			if (accept_kw(&L, "desc"))
				s->desc = 1;
			else
				accept_kw(&L, "asc");
		}
		if (accept_kw(&L, "limit")) {
			s->has_limit = 1;
			if (parse_term(&L, s, COL_LIMIT, &s->limit, e))
				return -1;
		}
		if (accept_kw(&L, "allow") && expect_kw(&L, "filtering", e))
			return -1;
	} else if (accept_kw(&L, "insert")) {
		s->type = S_INSERT;
		if (expect_kw(&L, "into", e) || parse_table_name(&L, cur_ks, s->ks, s->name, e) ||
		    resolve_table(s, e) || expect_p(&L, "(", e))
			return -1;
		do {
			char n[NAMELEN];
			if (parse_ident(&L, n, e))
				return -1;
			int ci = col_index(s->t, n, strlen(n));
			if (ci < 0)
				return fail(e, CQL_E_INVALID, "Undefined column name %s", n);
			if (s->nins >= MAXCOLS)
				return fail(e, CQL_E_INVALID, "too many columns");
			s->ins[s->nins++] = ci;
		} while (accept_p(&L, ","));
		if (expect_p(&L, ")", e) || expect_kw(&L, "values", e) || expect_p(&L, "(", e))
			return -1;
		for (int i = 0; i < s->nins; i++) {
			if (i && expect_p(&L, ",", e))
				return -1;
			if (parse_term(&L, s, s->ins[i], &s->vals[i], e))
				return -1;
		}
		if (expect_p(&L, ")", e))
			return -1;
		if (accept_kw(&L, "if")) {
			if (expect_kw(&L, "not", e) || expect_kw(&L, "exists", e))
				return -1;
			s->if_exists = 1;
		}
		if (accept_kw(&L, "using")) {
			if (expect_kw(&L, "timestamp", e) ||
			    parse_term(&L, s, COL_TIMESTAMP, &s->ts, e))
				return -1;
			s->has_ts = 1;
		}
	} else if (accept_kw(&L, "create")) {
		if (accept_kw(&L, "keyspace")) {
			s->type = S_CREATE_KS;
			if (accept_kw(&L, "if")) {
				if (expect_kw(&L, "not", e) || expect_kw(&L, "exists", e))
					return -1;
				s->if_exists = 1;
			}
			if (parse_ident(&L, s->ks, e) || expect_kw(&L, "with", e))
				return -1;
			skip_rest(&L);
		} else if (accept_kw(&L, "table") || accept_kw(&L, "columnfamily")) {
			s->type = S_CREATE_TABLE;
			if (parse_create_table(&L, s, cur_ks, e))
				return -1;
		} else {
			return fail(e, CQL_E_SYNTAX, "line 1:7 unsupported CREATE");
		}
	} else if (accept_kw(&L, "drop")) {
		int ks = accept_kw(&L, "keyspace");
		if (!ks && !accept_kw(&L, "table"))
			return fail(e, CQL_E_SYNTAX, "line 1:5 unsupported DROP");
		s->type = ks ? S_DROP_KS : S_DROP_TABLE;
		if (accept_kw(&L, "if")) {
			if (expect_kw(&L, "exists", e))
				return -1;
			s->if_exists = 1;
		}
		if (ks ? parse_ident(&L, s->ks, e)
		       : parse_table_name(&L, cur_ks, s->ks, s->name, e))
			return -1;
	} else if (accept_kw(&L, "delete")) {
		/* DELETE FROM t WHERE <the whole primary key by => (a row) */
		s->type = S_DELETE;
		if (expect_kw(&L, "from", e) || parse_table_name(&L, cur_ks, s->ks, s->name, e) ||
		    resolve_table(s, e))
			return -1;
		if (accept_kw(&L, "using")) {
			if (expect_kw(&L, "timestamp", e) ||
			    parse_term(&L, s, COL_TIMESTAMP, &s->ts, e))
				return -1;
			s->has_ts = 1;
		}
		if (expect_kw(&L, "where", e) || parse_where(&L, s, e))
			return -1;
	} else if (accept_kw(&L, "truncate")) {
		s->type = S_TRUNCATE;
		accept_kw(&L, "table");
		if (parse_table_name(&L, cur_ks, s->ks, s->name, e) || resolve_table(s, e))
			return -1;
	} else if (accept_kw(&L, "use")) {
		s->type = S_USE;
		if (parse_ident(&L, s->ks, e))
			return -1;
	} else {
		return fail(e, CQL_E_SYNTAX, "line 1:0 no viable alternative at input '%.*s'",
			    (int)peek(&L)->n, peek(&L)->s);
	}
	accept_p(&L, ";");
	if (peek(&L)->k != K_END)
		return fail(e, CQL_E_SYNTAX, "line 1:%zu extraneous input '%.*s'", peek(&L)->pos,
			    (int)peek(&L)->n, peek(&L)->s);
	return 0;
}
