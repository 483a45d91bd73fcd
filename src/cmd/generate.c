/*
 * generate.c - `jobads generate`: the original fake_generator.py's
 * distributions (seed/original-stack-facts.md), reproducible with --seed,
 * either stored directly or written as NDJSON/CSV.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "jobads/evbatch.h"

#include "jobads/banned.h"

static const struct gen_pub {
	int id;
	const char *name;
	int bid_lo, bid_hi;
	const char *traffic, *quality;
} pubs[10] = {
    {1, "Facebook Ads", 1, 5, "HIGH", "LOW"},	{2, "Google Ads", 10, 30, "HIGH", "HIGH"},
    {3, "LinkedIn", 20, 50, "LOW", "HIGH"},	{4, "TikTok Ads", 1, 3, "HIGH", "LOW"},
    {5, "TopCV", 8, 20, "MED", "MED"},		{6, "VietnamWorks", 15, 35, "MED", "HIGH"},
    {7, "CareerBuilder", 10, 25, "LOW", "MED"}, {8, "Indeed", 5, 15, "MED", "HIGH"},
    {9, "Admicro", 1, 4, "HIGH", "LOW"},	{10, "Zalo Ads", 3, 8, "MED", "MED"},
};

static const struct gen_job {
	const char *industry, *location;
} jobs[10] = {
    {"IT", "HCM"},	  {"Finance", "HN"},   {"Marketing", "HCM"}, {"HR", "DN"},
    {"Sales", "HCM"},	  {"Logistics", "HP"}, {"Data", "HN"},	     {"Education", "HCM"},
    {"Healthcare", "DN"}, {"Banking", "HN"},
};

/* One record as the original generator made it. */
static void gen_event(struct rng *r, int64_t ts_ms, struct event *ev)
{
	const struct gen_pub *p = &pubs[rng_range(r, 0, 9)];
	int job = (int)rng_range(r, 1, 10);
	const struct gen_job *j = &jobs[job - 1];
	int64_t imp;

	memset(ev, 0, sizeof(*ev));
	ev_uuid_v4(ev->event_id, r);
	ev->ts_ms = ts_ms;
	ev->publisher_id = p->id;
	ev->publisher_name = ev_str_of(p->name);
	ev->publisher_traffic = ev_str_of(p->traffic);
	ev->publisher_quality = ev_str_of(p->quality);
	ev->job_id = job;
	ev->campaign_id = 100 + job;
	ev->industry = ev_str_of(j->industry);
	ev->location = ev_str_of(j->location);
	if (p->traffic[0] == 'H')
		imp = rng_range(r, 500, 4000);
	else if (p->traffic[0] == 'M')
		imp = rng_range(r, 200, 1200);
	else
		imp = rng_range(r, 50, 400);
	ev->impressions = imp;
	ev->clicks = (int64_t)floor((double)imp * (0.01 + 0.07 * rng_double(r)));
	ev->apply_count = (int64_t)floor((double)ev->clicks * (0.03 + 0.22 * rng_double(r)));
	ev->bid = rng_range(r, p->bid_lo, p->bid_hi);
	ev->cost_micros = ev->clicks * ev->bid * 1000000;
	double mean = p->quality[0] == 'L' ? 30 : p->quality[0] == 'M' ? 60 : 85;
	double q = floor(rng_normal(r, mean, 8));
	ev->quality_score = (int32_t)(q < 0 ? 0 : q > 100 ? 100 : q);
	ev->device = ev_str_of(rng_double(r) < 0.75 ? "mobile" : "desktop");
	ev_derive(ev);
}

/* Relative traffic by hour of day (UTC) and ISO weekday: busy office hours, quiet nights. */
static const double hour_shape[24] = {0.20, 0.15, 0.12, 0.10, 0.10, 0.15, 0.30, 0.55,
				      0.85, 1.00, 1.00, 0.95, 0.80, 0.90, 1.00, 0.95,
				      0.85, 0.70, 0.60, 0.65, 0.70, 0.60, 0.45, 0.30};
static const double weekday_shape[8] = {0, 1.0, 1.05, 1.05, 1.0, 0.9, 0.55, 0.45};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Output sinks: a store (batches: src/core/evbatch.c) or a file (NDJSON / CSV). */
struct sink {
	struct evstore *evs;
	struct evbatch batch;
	FILE *out;
	int csv;
	int64_t stored; /* records written to the file */
	struct jerr err;
};

/* The store's batch failed: its message is the sink's. */
static int sink_failed(struct sink *s)
{
	s->err = s->batch.err;
	return -1;
}

static int sink_commit(struct sink *s)
{
	if (s->evs && evbatch_commit(&s->batch, NULL))
		return sink_failed(s);
	if (s->out && fflush(s->out) != 0) {
		jerr_set(&s->err, "write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void write_csv_text(FILE *f, struct ev_str v)
{
	/* generated text never holds quotes or commas, but stay correct if it did */
	if (memchr(v.s, ',', v.n) || memchr(v.s, '"', v.n)) {
		fputc('"', f);
		for (uint32_t i = 0; i < v.n; i++) {
			if (v.s[i] == '"')
				fputc('"', f);
			fputc(v.s[i], f);
		}
		fputc('"', f);
	} else {
		fwrite(v.s, 1, v.n, f);
	}
}

static int sink_put(struct sink *s, const struct event *ev)
{
	if (s->evs) {
		int dup;
		/* a batch also closes when it grows old: --follow at a high --rate never stalls */
		if (evbatch_insert(&s->batch, ev, &dup) || evbatch_tick(&s->batch, time_mono()))
			return sink_failed(s);
		return 0;
	}
	char ts[40];
	ts_format_iso(ev->ts_ms, ts, sizeof(ts));
	long long cu = (long long)(ev->cost_micros / 1000000), cf = ev->cost_micros % 1000000;
	char cost[48];
	if (cf)
		snprintf(cost, sizeof(cost), "%lld.%06lld", cu, (long long)cf);
	else
		snprintf(cost, sizeof(cost), "%lld", cu);
	if (s->csv) {
		fprintf(s->out, "%s,%s,%d,", ev->event_id, ts, ev->publisher_id);
		write_csv_text(s->out, ev->publisher_name);
		fprintf(s->out, ",%.*s,%.*s,%lld,%d,%d,", (int)ev->publisher_traffic.n,
			ev->publisher_traffic.s, (int)ev->publisher_quality.n,
			ev->publisher_quality.s, (long long)ev->bid, ev->job_id, ev->campaign_id);
		write_csv_text(s->out, ev->industry);
		fputc(',', s->out);
		write_csv_text(s->out, ev->location);
		fprintf(s->out, ",%lld,%lld,%lld,%s,%d,", (long long)ev->impressions,
			(long long)ev->clicks, (long long)ev->apply_count, cost, ev->quality_score);
		write_csv_text(s->out, ev->device);
		fprintf(s->out, ",%d,%d\n", ev->hour, ev->day_of_week);
	} else {
		fprintf(
		    s->out,
		    "{\"event_id\":\"%s\",\"ts\":\"%s\",\"publisher_id\":%d,"
		    "\"publisher_name\":\"%.*s\",\"publisher_traffic\":\"%.*s\","
		    "\"publisher_quality\":\"%.*s\",\"bid\":%lld,\"job_id\":%d,\"campaign_id\":%d,"
		    "\"industry\":\"%.*s\",\"location\":\"%.*s\",\"impressions\":%lld,"
		    "\"clicks\":%lld,\"apply_count\":%lld,\"cost\":%s,\"quality_score\":%d,"
		    "\"device\":\"%.*s\",\"hour\":%d,\"day_of_week\":%d}\n",
		    ev->event_id, ts, ev->publisher_id, (int)ev->publisher_name.n,
		    ev->publisher_name.s, (int)ev->publisher_traffic.n, ev->publisher_traffic.s,
		    (int)ev->publisher_quality.n, ev->publisher_quality.s, (long long)ev->bid,
		    ev->job_id, ev->campaign_id, (int)ev->industry.n, ev->industry.s,
		    (int)ev->location.n, ev->location.s, (long long)ev->impressions,
		    (long long)ev->clicks, (long long)ev->apply_count, cost, ev->quality_score,
		    (int)ev->device.n, ev->device.s, ev->hour, ev->day_of_week);
	}
	s->stored++;
	if (ferror(s->out)) {
		jerr_set(&s->err, "write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void gen_progress(int64_t done, int64_t total, double t0)
{
	double el = time_mono() - t0;
	fprintf(stderr, "\rgenerate: %" PRId64 "/%" PRId64 " (%.0f/s) ", done, total,
		el > 0 ? (double)done / el : 0.0);
	fflush(stderr);
}

/*
 * Spread count events over the past days with the traffic shape, in time order,
 * or (--shuffle) in random order: each event then draws its hour and its moment
 * on its own, as history exported from Cassandra in token order or merged from
 * many collectors comes.
 */
static int gen_history(struct sink *s, struct rng *r, const struct gen_opts *g, int quiet)
{
	int64_t now = time_now_ms();
	int64_t end_hour = now / 3600000 * 3600000; /* events stop at the last whole hour */
	int64_t nh = (int64_t)g->days * 24, start = end_hour - nh * 3600000;
	double *cdf = xmalloc((size_t)nh * sizeof(double));
	int64_t *per_hour = xcalloc((size_t)nh, sizeof(int64_t));
	double tot = 0;
	int rc = 0, tty = !quiet && isatty(2);
	double t0 = time_mono();

	for (int64_t h = 0; h < nh; h++) {
		int64_t ms = start + h * 3600000;
		tot += hour_shape[ts_hour(ms)] * weekday_shape[ts_weekday(ms)];
		cdf[h] = tot;
	}
	for (int64_t i = 0; i < g->count; i++) {
		double u = rng_double(r) * tot;
		int64_t lo = 0, hi = nh - 1;
		while (lo < hi) {
			int64_t mid = (lo + hi) / 2;
			if (cdf[mid] > u)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (!g->shuffle) {
			per_hour[lo]++;
			continue;
		}
		struct event ev;
		gen_event(r, start + lo * 3600000 + rng_range(r, 0, 3599999), &ev);
		if ((rc = sink_put(s, &ev)) != 0 || stop_requested)
			break;
		if (tty && i % 100000 == 99999)
			gen_progress(i + 1, g->count, t0);
	}
	int64_t *offs = NULL, cap = 0, done = 0;
	for (int64_t h = 0; h < nh && rc == 0 && !stop_requested; h++) {
		int64_t k = per_hour[h];
		if (k > cap) {
			cap = k;
			offs = xrealloc(offs, (size_t)cap * sizeof(int64_t));
		}
		for (int64_t i = 0; i < k; i++)
			offs[i] = rng_range(r, 0, 3599999);
		if (k > 1) /* an hour may have no events: offs is still NULL then */
			qsort(offs, (size_t)k, sizeof(int64_t), cmp_i64);
		for (int64_t i = 0; i < k && rc == 0; i++) {
			struct event ev;
			gen_event(r, start + h * 3600000 + offs[i], &ev);
			rc = sink_put(s, &ev);
		}
		done += k;
		if (tty && (h % 24 == 23))
			gen_progress(done, g->count, t0);
	}
	if (tty)
		fputc('\n', stderr);
	free(offs);
	free(cdf);
	free(per_hour);
	return rc;
}

/* ts = now, optionally paced at --rate, optionally forever (--follow). */
static int gen_live(struct sink *s, struct rng *r, const struct gen_opts *g)
{
	double t0 = time_mono();
	double rate = g->rate > 0 ? g->rate : (g->follow ? 2.0 : 0);
	for (int64_t i = 0; (g->follow && g->count <= 0) || i < g->count; i++) {
		struct event ev;
		if (stop_requested)
			break;
		if (rate > 0) {
			double due = t0 + (double)i / rate, now = time_mono();
			if (due > now) {
				/*
				 * A pause is a stalled input: commit what we have before
				 * sleeping, so readers see a live stream and other writers
				 * get the store.
				 */
				if (sink_commit(s))
					return -1;
				struct timespec ts;
				double d = due - now;
				ts.tv_sec = (time_t)d;
				ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
				nanosleep(&ts, NULL);
				if (stop_requested)
					break;
			}
		}
		gen_event(r, time_now_ms(), &ev);
		if (sink_put(s, &ev))
			return -1;
	}
	return 0;
}

/* Seed the PRNG (--seed, or the OS), make the events into s, commit what is left. */
static int generate_run(struct sink *s, const struct gen_opts *g, int quiet)
{
	struct rng r;
	uint64_t seed;
	if (g->has_seed)
		seed = g->seed;
	else
		random_bytes(&seed, sizeof(seed));
	rng_seed(&r, seed);
	int rc = g->days > 0 ? gen_history(s, &r, g, quiet) : gen_live(s, &r, g);
	if (rc == 0)
		rc = sink_commit(s);
	return rc;
}

int generate_into_store(struct evstore *evs, const struct gen_opts *g, int quiet)
{
	struct sink s;
	memset(&s, 0, sizeof(s));
	s.evs = evs;
	evbatch_init(&s.batch, evs, NULL);
	if (generate_run(&s, g, quiet)) {
		evbatch_abort(&s.batch);
		jlog_error("generate: %s", s.err.msg);
		return EXIT_FAIL;
	}
	if (!quiet)
		printf("generate: %" PRId64 " events stored, %" PRId64 " duplicates%s\n",
		       s.batch.stored, s.batch.dups, stop_requested ? " (stopped by signal)" : "");
	return EXIT_OK;
}

int cmd_generate(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"count", required_argument, NULL, 'n'},
	    {"days", required_argument, NULL, 'd'},
	    {"seed", required_argument, NULL, 's'},
	    {"rate", required_argument, NULL, 'r'},
	    {"follow", no_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"format", required_argument, NULL, 'F'},
	    {"shuffle", no_argument, NULL, 'S'},
	    {"quiet", no_argument, NULL, 'q'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct gen_opts g;
	const char *output = NULL, *format = "ndjson";
	int opt, quiet = 0, count_given = 0;
	int64_t v;

	memset(&g, 0, sizeof(g));
	g.count = 1000;
	common_init(&co);
	while ((opt = getopt_long(argc, argv, "n:d:s:r:fo:F:Sq", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case 'n':
			if (parse_int64(optarg, strlen(optarg), 0, INT64_MAX / 2, &v))
				return usage_error("generate",
						   "--count: want a number >= 0, got '%s'", optarg);
			g.count = v;
			count_given = 1;
			break;
		case 'd':
			if (parse_int64(optarg, strlen(optarg), 1, 3660, &v))
				return usage_error("generate", "--days: want 1..3660, got '%s'",
						   optarg);
			g.days = (int)v;
			break;
		case 's':
			if (parse_int64(optarg, strlen(optarg), 0, INT64_MAX, &v))
				return usage_error("generate",
						   "--seed: want a number >= 0, got '%s'", optarg);
			g.seed = (uint64_t)v;
			g.has_seed = 1;
			break;
		case 'r': {
			char *end;
			errno = 0;
			g.rate = strtod(optarg, &end);
			if (errno || *end || !(g.rate > 0) || g.rate > 1e7)
				return usage_error("generate",
						   "--rate: want events per second > 0, "
						   "got '%s'",
						   optarg);
			break;
		}
		case 'f':
			g.follow = 1;
			break;
		case 'o':
			output = optarg;
			break;
		case 'F':
			format = optarg;
			if (strcmp(format, "ndjson") && strcmp(format, "csv"))
				return usage_error(
				    "generate", "--format: want ndjson or csv, got '%s'", optarg);
			break;
		case 'S':
			g.shuffle = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected("generate", argv[optind]);
	if (g.days && (g.follow || g.rate > 0))
		return usage_error("generate", "--days makes history; --rate and --follow make a "
					       "live stream: choose one");
	if (g.shuffle && !g.days)
		return usage_error("generate", "--shuffle orders history: it needs --days");
	if (g.follow && !count_given)
		g.count = 0;

	if (output) {
		struct sink s;
		memset(&s, 0, sizeof(s));
		s.csv = strcmp(format, "csv") == 0;
		s.out = strcmp(output, "-") == 0 ? stdout : fopen(output, "w");
		if (!s.out) {
			jlog_error("generate: %s: %s", output, strerror(errno));
			return EXIT_FAIL;
		}
		if (s.csv)
			fprintf(s.out,
				"event_id,ts,publisher_id,publisher_name,publisher_traffic,"
				"publisher_quality,bid,job_id,campaign_id,industry,location,"
				"impressions,clicks,apply_count,cost,quality_score,device,hour,"
				"day_of_week\n");
		int rc = generate_run(&s, &g, 1);
		if (s.out != stdout && fclose(s.out) != 0 && rc == 0) {
			jerr_set(&s.err, "%s: %s", output, strerror(errno));
			rc = -1;
		}
		if (rc) {
			jlog_error("generate: %s", s.err.msg);
			return EXIT_FAIL;
		}
		if (!quiet && s.out != stdout)
			fprintf(stderr, "generate: %" PRId64 " records written to %s\n", s.stored,
				output);
		return EXIT_OK;
	}

	struct evstore *evs;
	struct jerr err;
	if (evstore_open(co.events, STORE_CREATE, &evs, &err) != J_OK) {
		jlog_error("generate: %s", err.msg);
		return EXIT_FAIL;
	}
	int rc = generate_into_store(evs, &g, quiet);
	evstore_close(evs);
	return rc;
}
