/*
 * mysql/campaigns.c - dim_campaign on the MySQL analytics store (campaign.h):
 * the attributes of a set of campaigns replaced in one transaction, or none of
 * them, and listed in id order.
 */
#include <stdio.h>
#include <string.h>

#include "analytics.h"
#include "jobads/campaign.h"

#include "jobads/banned.h"

#define SQL_CAMP_KNOWN                                                                             \
	"SELECT EXISTS (SELECT 1 FROM dim_campaign WHERE campaign_id = ?)"                         \
	" OR EXISTS (SELECT 1 FROM fact_hourly WHERE campaign_id = ?)"
#define SQL_CAMP_PUT                                                                               \
	"INSERT INTO dim_campaign (campaign_id, name, start_date, end_date, budget_micros,"        \
	" budget_per) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name),"      \
	" start_date = VALUES(start_date), end_date = VALUES(end_date),"                           \
	" budget_micros = VALUES(budget_micros), budget_per = VALUES(budget_per)"
#define SQL_CAMP_LIST                                                                              \
	"SELECT campaign_id, name, DATE_FORMAT(start_date, '%Y-%m-%d'),"                           \
	" DATE_FORMAT(end_date, '%Y-%m-%d'), budget_micros, budget_per"                            \
	" FROM dim_campaign ORDER BY campaign_id"

/* One campaign's binds: storage that lives until execute. */
struct camp_binds {
	int32_t id, id2;
	int64_t budget;
	char start[16], end[16];
	const char *per;
	unsigned long len[4];
	my_bool null[5];
};

static int known_one(struct an_mysql *a, MYSQL_STMT *st, struct camp_binds *b, int *known,
		     struct jerr *err)
{
	MYSQL_BIND p[2];
	struct my_cols c;
	memset(p, 0, sizeof(p));
	my_bind_int(&p[0], &b->id);
	my_bind_int(&p[1], &b->id2);
	int r = run(a, st, p, "looking for the campaign", err);
	if (r != J_OK || (r = my_cols_bind(&c, st, "l", a->base.name, err)) != J_OK)
		return r;
	int got = my_fetch(&c, st, a->base.name, "looking for the campaign", err);
	*known = got > 0 && c.i[0] != 0;
	return my_fetch_end(st, &c, got, 0, r);
}

static int put_one(struct an_mysql *a, MYSQL_STMT *st, const struct campaign *cp,
		   struct camp_binds *b, struct jerr *err)
{
	MYSQL_BIND p[6];
	memset(p, 0, sizeof(p));
	b->null[0] = cp->name[0] == '\0';
	b->len[0] = (unsigned long)strlen(cp->name);
	b->null[1] = !cp->has_start;
	camp_date_format(cp->has_start ? cp->start_day : 0, b->start, sizeof(b->start));
	b->len[1] = (unsigned long)strlen(b->start);
	b->null[2] = !cp->has_end;
	camp_date_format(cp->has_end ? cp->end_day : 0, b->end, sizeof(b->end));
	b->len[2] = (unsigned long)strlen(b->end);
	b->budget = cp->budget_micros;
	b->null[3] = cp->budget_micros < 0;
	b->per = b->null[3] ? "" : camp_period_name(cp->per);
	b->len[3] = (unsigned long)strlen(b->per);
	my_bind_int(&p[0], &b->id);
	my_bind_str(&p[1], cp->name, &b->len[0], &b->null[0]);
	my_bind_str(&p[2], b->start, &b->len[1], &b->null[1]);
	my_bind_str(&p[3], b->end, &b->len[2], &b->null[2]);
	my_bind_i64(&p[4], &b->budget);
	p[4].is_null = &b->null[3];
	my_bind_str(&p[5], b->per, &b->len[3], &b->null[3]);
	return run(a, st, p, "writing dim_campaign", err);
}

enum jrc an_mysql_campaigns_put(struct anstore *s, const struct campaign *c, size_t n,
				size_t *unknown, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_STMT *known = NULL, *put = NULL;
	struct camp_binds b;
	int is_known = 1;
	*unknown = n;
	LOCKED(a);
	int r = my_exec(a->db, "START TRANSACTION", s->name, "starting a transaction", err);
	if (r == J_OK)
		r = my_prepare(a->db, SQL_CAMP_KNOWN, &known, s->name, err);
	if (r == J_OK)
		r = my_prepare(a->db, SQL_CAMP_PUT, &put, s->name, err);
	for (size_t i = 0; r == J_OK && i < n; i++) {
		memset(&b, 0, sizeof(b));
		b.id = b.id2 = c[i].id;
		if ((r = known_one(a, known, &b, &is_known, err)) != J_OK)
			break;
		if (!is_known) {
			jerr_set(err, "%s: campaign %d: unknown (no events of it were processed)",
				 s->name, (int)c[i].id);
			*unknown = i;
			r = J_ERROR;
			break;
		}
		r = put_one(a, put, &c[i], &b, err);
	}
	if (known)
		mysql_stmt_close(known);
	if (put)
		mysql_stmt_close(put);
	if (r == J_OK && mysql_commit(a->db) != 0)
		r = my_fail(a->db, s->name, "committing dim_campaign", err);
	if (r != J_OK)
		rollback(a);
	UNLOCK(a);
	return r;
}

enum jrc an_mysql_campaigns(struct anstore *s, campaign_fn fn, void *arg, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_STMT *st;
	struct my_cols c;
	struct campaign cp;
	char why[200];
	int got, stop = 0;
	LOCKED(a);
	int r = my_prepare(a->db, SQL_CAMP_LIST, &st, s->name, err);
	if (r != J_OK) {
		UNLOCK(a);
		return r;
	}
	if ((r = run(a, st, NULL, "reading dim_campaign", err)) != J_OK ||
	    (r = my_cols_bind(&c, st, "lsssls", s->name, err)) != J_OK) {
		mysql_stmt_close(st);
		UNLOCK(a);
		return r;
	}
	while ((got = my_fetch(&c, st, s->name, "reading dim_campaign", err)) > 0) {
		if (camp_from_row(&cp, (int32_t)c.i[0], c.null[1] ? NULL : c.s[1],
				  c.null[2] ? NULL : c.s[2], c.null[3] ? NULL : c.s[3],
				  c.null[4] ? -1 : c.i[4], c.null[5] ? NULL : c.s[5], why,
				  sizeof(why))) {
			jerr_set(err, "%s: dim_campaign: campaign %d: %s", s->name, (int)c.i[0],
				 why);
			r = J_ERROR;
			break;
		}
		if ((stop = fn(arg, &cp)) != 0)
			break;
	}
	r = my_fetch_end(st, &c, got, stop, r);
	mysql_stmt_close(st);
	UNLOCK(a);
	return r;
}
