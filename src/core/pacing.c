/*
 * pacing.c - the pacing rule (pacing.h, docs/architecture.md "Pacing").
 *
 * A period is cut into its local hours. Each hour weighs what the campaign
 * spent in the same local hour of the week over the PACING_HISTORY_WEEKS weeks
 * before the period. That is its history only when it spent in each of those
 * weeks: a campaign that started a few days before the period has no Tuesday
 * yet, and its shape would expect nothing of Tuesdays. Without history (or when
 * the history weighs nothing in this period's hours) every hour weighs 1, which
 * is linear in time. The
 * share of the period's weight that has passed by now (the current hour by
 * its elapsed fraction) is how much of the budget should be spent: a campaign
 * that spends most on weekday mornings is expected to spend most then.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/pacing.h"
#include "jobads/store.h"

#include "jobads/banned.h"

const char *pacing_state_name(enum pacing_state s)
{
	switch (s) {
	case PACING_ON_TRACK:
		return "on track";
	case PACING_OVER:
		return "over-pacing";
	case PACING_UNDER:
		return "under-pacing";
	case PACING_EXHAUSTED:
		return "exhausted";
	default:
		return "inactive";
	}
}

static int64_t local_day(const struct tz *z, int64_t t, size_t *hint)
{
	return floor_div(t + tz_offset_at(z, t, hint), 86400);
}

/* The local hour of the week of UTC instant t: 0 is Monday 00:00. */
static int hour_of_week(const struct tz *z, int64_t t, size_t *hint)
{
	int64_t local = t + tz_offset_at(z, t, hint);
	int64_t day = floor_div(local, 86400);
	int64_t wd = day + 3 - floor_div(day + 3, 7) * 7; /* 1970-01-01 was a Thursday */
	return (int)(wd * 24 + (local - day * 86400) / 3600);
}

int pacing_period(const struct campaign *c, const struct tz *z, int64_t now_s, struct pacing *p)
{
	size_t hint = 0;
	int64_t d = local_day(z, now_s, &hint), from, to, y;
	unsigned m, dd;
	memset(p, 0, sizeof(*p));
	p->id = c->id;
	p->budget_micros = c->budget_micros;
	switch (c->per) {
	case CAMP_PER_DAY:
		from = d;
		to = d + 1;
		break;
	case CAMP_PER_MONTH:
		civil_from_days(d, &y, &m, &dd);
		from = days_from_civil(y, m, 1);
		to = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
		break;
	case CAMP_PER_FLIGHT:
		from = c->start_day;
		to = c->end_day + 1;
		break;
	default:
		return -1;
	}
	if (c->has_start && from < c->start_day)
		from = c->start_day;
	if (c->has_end && to > c->end_day + 1)
		to = c->end_day + 1;
	if (to < from)
		to = from; /* the day or month lies outside the flight: an empty period */
	p->from_day = from;
	p->to_day = to;
	p->from_s = tz_day_start(z, from * 86400);
	p->to_s = tz_day_start(z, to * 86400);
	p->hist_from_s = p->from_s - (int64_t)PACING_HISTORY_WEEKS * 7 * 86400;
	return 0;
}

void pacing_compute(struct pacing *p, const struct tz *z, int64_t now_s,
		    const struct pacing_hour *h, size_t n)
{
	double w[168] = {0}, shaped = 0, total = 0, passed = 0;
	int week_spent[PACING_HISTORY_WEEKS] = {0}, full = 1;
	size_t hint = 0, nh = (size_t)((p->to_s - p->from_s + 3599) / 3600);
	double *weight = calloc(nh ? nh : 1, sizeof(*weight));
	double *frac = calloc(nh ? nh : 1, sizeof(*frac));
	int64_t *cost = calloc(nh ? nh : 1, sizeof(*cost));
	int64_t spent = 0, B = p->budget_micros, now_end = now_s < p->to_s ? now_s : p->to_s;
	if (!weight || !frac || !cost)
		abort(); /* as xmalloc: out of memory is not an answer */

	for (size_t i = 0; i < n; i++) {
		int64_t t = h[i].hour_start;
		if (t >= p->hist_from_s && t < p->from_s) {
			w[hour_of_week(z, t, &hint)] += (double)h[i].cost_micros;
			if (h[i].cost_micros > 0)
				week_spent[(p->from_s - 1 - t) / (7 * 86400)] = 1;
		} else if (t >= p->from_s && t < now_end) {
			spent += h[i].cost_micros;
			cost[(t - p->from_s) / 3600] += h[i].cost_micros;
		}
	}
	for (size_t k = 0; k < nh; k++) {
		int64_t t = p->from_s + (int64_t)k * 3600;
		weight[k] = w[hour_of_week(z, t, &hint)];
		shaped += weight[k];
		frac[k] = t + 3600 <= now_s ? 1.0 : t < now_s ? (double)(now_s - t) / 3600.0 : 0.0;
	}
	for (int k = 0; k < PACING_HISTORY_WEEKS; k++)
		full &= week_spent[k];
	p->shaped = full && shaped > 0;
	for (size_t k = 0; k < nh; k++) {
		if (!p->shaped)
			weight[k] = 1.0;
		total += weight[k];
		passed += weight[k] * frac[k];
	}
	double share = total > 0 ? passed / total : 0.0;
	double expected = (double)B * share;
	p->elapsed_share = share;
	p->spent_micros = spent;
	p->expected_micros = (int64_t)floor(expected + 0.5);
	p->has_projected = share > 0;
	p->projected_micros = share > 0 ? (int64_t)floor((double)spent / share + 0.5) : 0;
	p->left_micros = spent < B ? B - spent : 0;

	if (now_s < p->from_s || now_s >= p->to_s)
		p->state = PACING_INACTIVE;
	else if (spent >= B)
		p->state = PACING_EXHAUSTED;
	else if (expected <= 0)
		p->state = spent > 0 ? PACING_OVER : PACING_ON_TRACK;
	else if ((double)spent > expected * (1 + PACING_BAND))
		p->state = PACING_OVER;
	else if ((double)spent < expected * (1 - PACING_BAND))
		p->state = PACING_UNDER;
	else
		p->state = PACING_ON_TRACK;

	/* The day the budget runs out: where the spend reached it, or where spending on
	 * at the rate so far (per unit of the shape) would reach it within the period. */
	p->has_runs_out = 0;
	if (spent >= B) {
		int64_t cum = 0;
		for (size_t k = 0; k < nh; k++) {
			cum += cost[k];
			if (cum >= B) {
				p->has_runs_out = 1;
				p->runs_out_day =
				    local_day(z, p->from_s + (int64_t)k * 3600, &hint);
				break;
			}
		}
	} else if (passed > 0 && spent > 0 && p->state != PACING_INACTIVE) {
		double rate = (double)spent / passed, cum = (double)spent;
		for (size_t k = 0; k < nh; k++) {
			if (frac[k] >= 1.0)
				continue;
			cum += rate * weight[k] * (1.0 - frac[k]);
			if (cum >= (double)B) {
				p->has_runs_out = 1;
				p->runs_out_day =
				    local_day(z, p->from_s + (int64_t)k * 3600, &hint);
				break;
			}
		}
	}
	free(weight);
	free(frac);
	free(cost);
}

/* What one campaign spent by hour over [from_s, to_s), gathered for pacing_compute. */
struct hours {
	struct pacing_hour *h;
	size_t n, cap;
	int64_t from_s, to_s;
	int32_t id;
	int paced; /* pacing_period gave the campaign a period */
};

/* A campaign's id and its index in the list, sorted by id for the rows' lookup. */
struct camp_ix {
	int32_t id;
	size_t i;
};

struct gather {
	struct camp_ix *ix;
	size_t n;
	struct hours *hs;
};

static int ix_cmp(const void *a, const void *b)
{
	const struct camp_ix *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

/* A row of AN_CAMPAIGN_HOURLY: kept by its campaign when it lies in that one's range. */
static int keep_hour(void *arg, const struct an_row *r)
{
	struct gather *g = arg;
	struct camp_ix want = {r->campaign_id, 0}, *hit;
	hit = bsearch(&want, g->ix, g->n, sizeof(*g->ix), ix_cmp);
	if (!hit)
		return 0; /* a campaign without a budget */
	struct hours *hs = &g->hs[hit->i];
	if (r->key < hs->from_s || r->key >= hs->to_s)
		return 0;
	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 64;
		hs->h = xrealloc(hs->h, hs->cap * sizeof(*hs->h));
	}
	hs->h[hs->n].hour_start = r->key;
	/* a campaign's hour past int64 cannot be (fact rows are int64); clamp, never wrap */
	hs->h[hs->n].cost_micros = r->m.cost_micros > INT64_MAX ? INT64_MAX
				   : r->m.cost_micros < 0	? 0
								: (int64_t)r->m.cost_micros;
	hs->n++;
	return 0;
}

static int keep_budgeted(void *arg, const struct campaign *c)
{
	struct {
		struct campaign *c;
		size_t n, cap;
	} *l = arg;
	if (c->budget_micros < 0)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->c = xrealloc(l->c, l->cap * sizeof(*l->c));
	}
	l->c[l->n++] = *c;
	return 0;
}

struct span {
	int64_t from_s, to_s;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return (x->from_s > y->from_s) - (x->from_s < y->from_s);
}

/*
 * The hours every campaign needs, read at once: the campaigns' ranges (history
 * and period) merged where they meet, and one AN_CAMPAIGN_HOURLY query
 * per merged range, so that each fact row is read once however many campaigns
 * there are (a query per campaign read each month's rows once per campaign).
 */
static enum jrc gather_hours(struct anstore *as, struct gather *g, struct jerr *err)
{
	struct span *sp = xcalloc(g->n ? g->n : 1, sizeof(*sp));
	size_t ns = 0;
	int r = J_OK;
	for (size_t i = 0; i < g->n; i++)
		if (g->hs[i].from_s < g->hs[i].to_s)
			sp[ns++] = (struct span){g->hs[i].from_s, g->hs[i].to_s};
	qsort(sp, ns, sizeof(*sp), span_cmp);
	for (size_t i = 0; r == J_OK && i < ns;) {
		struct an_filter f;
		an_filter_all(&f);
		f.from_s = sp[i].from_s;
		f.to_s = sp[i].to_s;
		for (i++; i < ns && sp[i].from_s <= f.to_s; i++)
			if (sp[i].to_s > f.to_s)
				f.to_s = sp[i].to_s;
		r = as->ops->query(as, AN_CAMPAIGN_HOURLY, &f, keep_hour, g, err);
	}
	free(sp);
	return r;
}

/* The hours last gathered (each with its campaign and range: the key) and the data
 * version they were read at. Empty until the first gather, which matches only an
 * empty list of campaigns, whose hours are none anyway. */
struct pacing_cache {
	pthread_mutex_t mu;
	int64_t cursor, run; /* anstore_data_version */
	size_t n;
	struct hours *hs; /* per campaign, in the list's order */
};

struct pacing_cache *pacing_cache_new(void)
{
	struct pacing_cache *pc = xcalloc(1, sizeof(*pc));
	pthread_mutex_init(&pc->mu, NULL);
	return pc;
}

static void hours_free(struct hours *hs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(hs[i].h);
	free(hs);
}

void pacing_cache_free(struct pacing_cache *pc)
{
	if (!pc)
		return;
	hours_free(pc->hs, pc->n);
	pthread_mutex_destroy(&pc->mu);
	free(pc);
}

/*
 * g's hours: from pc when it holds them for the same data version and the same
 * campaigns and ranges, else from the store (and then kept in pc). With pc the
 * caller holds pc->mu, and g->hs points into pc until it unlocks.
 */
static enum jrc hours_for(struct anstore *as, struct pacing_cache *pc, struct gather *g,
			  struct jerr *err)
{
	int64_t cursor, run;
	if (!pc)
		return gather_hours(as, g, err);
	int r = anstore_data_version(as, &cursor, &run, err);
	if (r != J_OK)
		return r;
	int same = pc->cursor == cursor && pc->run == run && pc->n == g->n;
	for (size_t i = 0; same && i < g->n; i++)
		same = pc->hs[i].id == g->hs[i].id && pc->hs[i].from_s == g->hs[i].from_s &&
		       pc->hs[i].to_s == g->hs[i].to_s;
	if (same) {
		hours_free(g->hs, g->n);
		g->hs = pc->hs;
		return J_OK;
	}
	if ((r = gather_hours(as, g, err)) != J_OK)
		return r;
	hours_free(pc->hs, pc->n);
	pc->cursor = cursor;
	pc->run = run;
	pc->n = g->n;
	pc->hs = g->hs;
	return J_OK;
}

enum jrc pacing_read(struct anstore *as, int64_t now_s, struct pacing_cache *pc,
		     struct pacing **out, struct campaign **camps, size_t *n, struct jerr *err)
{
	struct {
		struct campaign *c;
		size_t n, cap;
	} l = {0};
	struct gather g = {0};
	struct tz *z = NULL;
	struct pacing *ps = NULL;
	*out = NULL;
	*camps = NULL;
	*n = 0;
	int r = as->ops->campaigns(as, keep_budgeted, &l, err);
	if (r == J_OK)
		r = anstore_tz_open(as, &z, err);
	if (r == J_OK && l.n) {
		ps = xcalloc(l.n, sizeof(*ps));
		g.ix = xcalloc(l.n, sizeof(*g.ix));
		g.hs = xcalloc(l.n, sizeof(*g.hs));
	}
	/* each campaign's hours up to its period's end, not to now: the same ranges all
	 * the period long, so that pc keeps them until the facts change */
	for (size_t i = 0; r == J_OK && i < l.n; i++) {
		g.ix[g.n].id = g.hs[i].id = l.c[i].id;
		g.ix[g.n++].i = i;
		if (pacing_period(&l.c[i], z, now_s, &ps[i]))
			continue; /* not a budget camp_check lets through: an empty range */
		g.hs[i].paced = 1;
		g.hs[i].from_s = ps[i].hist_from_s;
		g.hs[i].to_s = ps[i].to_s;
	}
	if (g.n) /* qsort of no elements may still not take NULL */
		qsort(g.ix, g.n, sizeof(*g.ix), ix_cmp);
	if (pc)
		pthread_mutex_lock(&pc->mu);
	if (r == J_OK)
		r = hours_for(as, pc, &g, err);
	for (size_t i = 0; r == J_OK && i < l.n; i++)
		if (g.hs[i].paced)
			pacing_compute(&ps[i], z, now_s, g.hs[i].h, g.hs[i].n);
	if (!pc || g.hs != pc->hs)
		hours_free(g.hs, g.n);
	if (pc)
		pthread_mutex_unlock(&pc->mu);
	free(g.ix);
	tz_close(z);
	if (r != J_OK) {
		free(ps);
		free(l.c);
		return r;
	}
	*out = ps;
	*camps = l.c;
	*n = l.n;
	return J_OK;
}

static json_t *money(int64_t micros)
{
	return json_real((double)micros / 1e6);
}

json_t *pacing_json(const struct pacing *p, const struct campaign *c)
{
	json_t *o = json_object();
	char d[16];
	json_object_set_new(o, "campaign_id", json_integer(p->id));
	json_object_set_new(o, "campaign_name", c->name[0] ? json_string(c->name) : json_null());
	json_object_set_new(o, "per", json_string(camp_period_name(c->per)));
	json_object_set_new(o, "period_start",
			    json_string(camp_date_format(p->from_day, d, sizeof(d))));
	json_object_set_new(o, "period_end", /* the last day, inclusive, as a flight's end */
			    p->to_day > p->from_day
				? json_string(camp_date_format(p->to_day - 1, d, sizeof(d)))
				: json_null());
	json_object_set_new(o, "budget_micros", json_integer(p->budget_micros));
	json_object_set_new(o, "spent_micros", json_integer(p->spent_micros));
	json_object_set_new(o, "expected_micros", json_integer(p->expected_micros));
	json_object_set_new(o, "projected_micros",
			    p->has_projected ? json_integer(p->projected_micros) : json_null());
	json_object_set_new(o, "left_micros", json_integer(p->left_micros));
	json_object_set_new(o, "budget", money(p->budget_micros));
	json_object_set_new(o, "spent", money(p->spent_micros));
	json_object_set_new(o, "expected", money(p->expected_micros));
	json_object_set_new(o, "projected",
			    p->has_projected ? money(p->projected_micros) : json_null());
	json_object_set_new(o, "left", money(p->left_micros));
	json_object_set_new(o, "elapsed_share", json_real(p->elapsed_share));
	json_object_set_new(o, "shape", json_string(p->shaped ? "history" : "linear"));
	json_object_set_new(o, "state", json_string(pacing_state_name(p->state)));
	json_object_set_new(o, "runs_out",
			    p->has_runs_out
				? json_string(camp_date_format(p->runs_out_day, d, sizeof(d)))
				: json_null());
	return o;
}
