/*
 * serve.c - `jobads serve`: the dashboard, JSON API, HTTP ingest and /metrics
 * (src/web/), optionally with the ETL schedule running inside the server
 * (--etl-every, the same loop as `jobads schedule`) and, for `demo --serve`, a
 * live generator. SIGINT / SIGTERM stop everything cleanly: the server stops
 * accepting, requests in flight finish, a run in flight stops between chunks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "jobads/schedule.h"
#include "jobads/web.h"

#include "jobads/banned.h"

struct sched_thread {
	const struct common_opts *co;
	int64_t every_s;
	size_t chunk;
	struct web_server *w;
	struct schedule_hook hook;
};

static void on_sched_run(void *arg, const char *state, const struct etl_result *res)
{
	web_note_run(arg, "schedule", state, res);
}

static void *sched_main(void *arg)
{
	struct sched_thread *t = arg;
	schedule_every(t->co, t->every_s, t->chunk, &t->hook);
	return NULL;
}

struct gen_thread {
	const char *events;
	struct gen_opts g;
};

static void *gen_main(void *arg)
{
	struct gen_thread *t = arg;
	struct evstore *evs;
	struct jerr err;
	if (evstore_open(t->events, STORE_CREATE, &evs, &err) != J_OK) {
		jlog_error("serve: live generator: %s", err.msg);
		return NULL;
	}
	generate_into_store(evs, &t->g, 1);
	evstore_close(evs);
	return NULL;
}

int serve_run(const struct common_opts *co, struct web_opts *wo, int64_t etl_every_s,
	      const struct gen_opts *live)
{
	struct web_server *w;
	struct jerr err;
	pthread_t sched_tid, gen_tid;
	int have_sched = 0, have_gen = 0;

	wo->events = co->events;
	wo->analytics = co->analytics;
	wo->stop = &stop_requested;
	if (web_start(wo, &w, &err) != J_OK) {
		jlog_error("serve: %s", err.msg);
		return EXIT_FAIL;
	}
	const char *host = wo->listen;
	const char *colon = strrchr(host, ':');
	int hostlen = colon ? (int)(colon - host) : 0;
	char ev[512], an[512]; /* the URLs redacted: a URL may hold a password */
	printf("serve: listening on http://%.*s:%d/ (events %s, analytics %s%s%s)\n",
	       hostlen ? hostlen : 9, hostlen ? host : "127.0.0.1", web_port(w),
	       store_url_redact(co->events, ev, sizeof(ev)),
	       store_url_redact(co->analytics, an, sizeof(an)),
	       wo->ingest_token ? ", ingest token required" : "",
	       wo->admin_token ? ", admin token set" : "");
	fflush(stdout);

	struct sched_thread st = {co, etl_every_s, wo->chunk, w, {on_sched_run, w}};
	if (etl_every_s > 0) {
		if (pthread_create(&sched_tid, NULL, sched_main, &st) == 0)
			have_sched = 1;
		else
			jlog_error("serve: cannot start the ETL schedule thread");
	}
	struct gen_thread gt;
	if (live) {
		gt.events = co->events;
		gt.g = *live;
		if (pthread_create(&gen_tid, NULL, gen_main, &gt) == 0)
			have_gen = 1;
		else
			jlog_error("serve: cannot start the live generator");
	}
	while (!stop_requested) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "serve: stopping\n");
	if (have_gen)
		pthread_join(gen_tid, NULL);
	if (have_sched)
		pthread_join(sched_tid, NULL);
	web_stop(w);
	fprintf(stderr, "serve: stopped\n");
	return EXIT_OK;
}

/* "500ms", "2s", "1m": milliseconds. */
static int parse_ms(const char *s, int64_t *ms)
{
	size_t n = strlen(s);
	int64_t v;
	if (n > 2 && strcmp(s + n - 2, "ms") == 0)
		return parse_int64(s, n - 2, 0, INT32_MAX, ms);
	if (parse_duration(s, &v) || v > INT32_MAX / 1000)
		return -1;
	*ms = v * 1000;
	return 0;
}

/* "8M", "512k", "1000000": bytes. */
static int parse_size(const char *s, size_t *out)
{
	size_t n = strlen(s);
	int64_t v, mul = 1;
	if (n && (s[n - 1] == 'k' || s[n - 1] == 'K'))
		mul = 1024, n--;
	else if (n && (s[n - 1] == 'm' || s[n - 1] == 'M'))
		mul = 1024 * 1024, n--;
	if (parse_int64(s, n, 1, (int64_t)1 << 40, &v) || v > ((int64_t)1 << 40) / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	enum {
		O_LISTEN = OPT_FIRST_FREE,
		O_INGEST_TOKEN,
		O_ADMIN_TOKEN,
		O_MAX_BODY,
		O_THREADS,
		O_TIMEOUT,
		O_ETL_EVERY,
		O_CHUNK,
		O_CACHE,
		O_HEADER_TIMEOUT,
		O_MIN_RATE,
		O_ALLOWED_HOST
	};
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"ingest-token", required_argument, NULL, O_INGEST_TOKEN},
	    {"admin-token", required_argument, NULL, O_ADMIN_TOKEN},
	    {"max-body", required_argument, NULL, O_MAX_BODY},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"request-timeout", required_argument, NULL, O_TIMEOUT},
	    {"etl-every", required_argument, NULL, O_ETL_EVERY},
	    {"chunk", required_argument, NULL, O_CHUNK},
	    {"cache-mb", required_argument, NULL, O_CACHE},
	    {"header-timeout", required_argument, NULL, O_HEADER_TIMEOUT},
	    {"min-body-rate", required_argument, NULL, O_MIN_RATE},
	    {"allowed-host", required_argument, NULL, O_ALLOWED_HOST},
	    {NULL, 0, NULL, 0},
	};
	const char *hosts[WEB_MAX_ALLOWED_HOSTS + 1] = {NULL}; /* NULL-terminated */
	int n_hosts = 0;
	struct common_opts co;
	struct web_opts wo;
	int64_t v, every = 0;
	int opt;

	common_init(&co);
	web_opts_init(&wo);
	const char *e = getenv("JOBADS_INGEST_TOKEN");
	wo.ingest_token = e && *e ? e : NULL;
	e = getenv("JOBADS_ADMIN_TOKEN");
	wo.admin_token = e && *e ? e : NULL;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case O_LISTEN:
			if (!strchr(optarg, ':'))
				return usage_error("serve", "--listen: want HOST:PORT, got '%s'",
						   optarg);
			wo.listen = optarg;
			break;
		case O_INGEST_TOKEN:
			wo.ingest_token = *optarg ? optarg : NULL;
			break;
		case O_ADMIN_TOKEN:
			wo.admin_token = *optarg ? optarg : NULL;
			break;
		case O_MAX_BODY:
			if (parse_size(optarg, &wo.max_body))
				return usage_error("serve",
						   "--max-body: want bytes such as 8M or 512k, got "
						   "'%s'",
						   optarg);
			break;
		case O_THREADS:
			if (parse_int64(optarg, strlen(optarg), 2, 1024, &v))
				return usage_error("serve", "--threads: want 2..1024, got '%s'",
						   optarg);
			wo.threads = (int)v;
			break;
		case O_TIMEOUT:
			if (parse_duration(optarg, &v) || v < 1 || v > 3600)
				return usage_error("serve",
						   "--request-timeout: want a duration 1s..1h, got "
						   "'%s'",
						   optarg);
			wo.request_timeout_ms = (int)(v * 1000);
			break;
		case O_ETL_EVERY:
			if (parse_duration(optarg, &every) || every < 1)
				return usage_error(
				    "serve",
				    "--etl-every: want a duration such as 10s or 5m, "
				    "got '%s'",
				    optarg);
			break;
		case O_CHUNK:
			if (parse_int64(optarg, strlen(optarg), 1, 100000000, &v))
				return usage_error("serve", "--chunk: want 1..100000000, got '%s'",
						   optarg);
			wo.chunk = (size_t)v;
			break;
		case O_CACHE:
			if (parse_int64(optarg, strlen(optarg), 0, 65536, &v))
				return usage_error("serve", "--cache-mb: want 0..65536, got '%s'",
						   optarg);
			wo.cache_bytes = (size_t)v << 20;
			break;
		case O_HEADER_TIMEOUT:
			if (parse_ms(optarg, &v) || v < 50 || v > 60000)
				return usage_error(
				    "serve",
				    "--header-timeout: want a duration 50ms..60s, got "
				    "'%s'",
				    optarg);
			wo.header_timeout_ms = (int)v;
			break;
		case O_MIN_RATE:
			if (parse_size(optarg, &wo.min_body_rate))
				return usage_error(
				    "serve",
				    "--min-body-rate: want bytes per second such as 16k, "
				    "got '%s'",
				    optarg);
			break;
		case O_ALLOWED_HOST:
			if (!*optarg || strpbrk(optarg, "/ @"))
				return usage_error("serve",
						   "--allowed-host: want a host name such as "
						   "dash.example.com, got '%s'",
						   optarg);
			if (n_hosts == WEB_MAX_ALLOWED_HOSTS)
				return usage_error("serve", "--allowed-host: at most %d names",
						   WEB_MAX_ALLOWED_HOSTS);
			hosts[n_hosts++] = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected("serve", argv[optind]);
	wo.allowed_hosts = hosts;
	return serve_run(&co, &wo, every, NULL);
}
