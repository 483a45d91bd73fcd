/*
 * common.c - options, signals and formatting shared by the commands.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#include "jobads/banned.h"

volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void common_init(struct common_opts *c)
{
	const char *e = getenv("JOBADS_EVENTS"), *a = getenv("JOBADS_ANALYTICS");
	c->events = e && *e ? e : DEFAULT_EVENTS;
	c->analytics = a && *a ? a : DEFAULT_ANALYTICS;
}

int common_opt(struct common_opts *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_EVENTS:
		c->events = arg;
		return 1;
	case OPT_ANALYTICS:
		c->analytics = arg;
		return 1;
	default:
		return 0;
	}
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "jobads: %s: %s\n", cmd, msg);
	return EXIT_USAGE;
}

int format_arg(const char *cmd, const char *arg, enum report_format *fmt)
{
	if (strcmp(arg, "table") == 0)
		*fmt = REPORT_TABLE;
	else if (strcmp(arg, "json") == 0)
		*fmt = REPORT_JSON;
	else if (strcmp(arg, "csv") == 0)
		*fmt = REPORT_CSV;
	else
		return usage_error(cmd, "--format: want table, json or csv, got '%s'", arg);
	return EXIT_OK;
}

int parse_seconds(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v, scale = 1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return -1;
	if (strcmp(end, "ms") == 0)
		scale = 0.001;
	else if (strcmp(end, "s") != 0 && *end)
		return -1;
	v *= scale;
	if (!(v >= lo && v <= hi)) /* NaN too */
		return -1;
	*out = v;
	return 0;
}

int usage_unexpected(const char *cmd, const char *arg)
{
	char shown[512];
	return usage_error(cmd, "unexpected argument '%s'",
			   store_url_redact(arg, shown, sizeof(shown)));
}

const char *fmt_int(kpi_int v, char *buf, size_t len)
{
	char tmp[KPI_INT_BUF];
	const char *digits = kpi_int_format(v, tmp);
	size_t o = 0;
	if (*digits == '-') {
		if (o + 1 < len)
			buf[o++] = '-';
		digits++;
	}
	size_t n = strlen(digits);
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0 && o + 1 < len)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

const char *fmt_micros(kpi_int micros, char *buf, size_t len)
{
	/* exact: round half away from zero to cents, in integers */
	kpi_int cents = (micros + (micros < 0 ? -5000 : 5000)) / 10000;
	kpi_int rem = cents % 100;
	char units[64];
	fmt_int(cents / 100, units, sizeof(units));
	snprintf(buf, len, "%s%s.%02d", cents < 0 && cents / 100 == 0 ? "-" : "", units,
		 (int)(rem < 0 ? -rem : rem));
	return buf;
}

const char *fmt_money(double v, char *buf, size_t len)
{
	/* round to cents, then group the units */
	long long cents = (long long)(v * 100.0 + (v < 0 ? -0.5 : 0.5));
	char units[40];
	fmt_int(cents / 100, units, sizeof(units));
	snprintf(buf, len, "%s.%02lld", units, (cents < 0 ? -cents : cents) % 100);
	return buf;
}
