/*
 * owner.c - who holds the run lock: this process's owner name and the rule for
 * when a holder's pid may be looked up here to find it dead.
 *
 * An owner is "host:pid:space:instance". host:pid alone collides across
 * containers that share a hostname (and pid 1, 7, ...): a second container
 * took the first one's live lock as its own, or found "its" pid gone and stole
 * it. The instance (64 random bits drawn once per process) makes every owner
 * unique; the space (the boot id and the pid namespace) says where the pid is
 * meaningful, so a pid is only looked up when the holder ran in this very pid
 * namespace of this very boot. Any other holder loses the lock only when its
 * lease ends.
 */
#include "jobads/etl.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "jobads/util.h"
#include "jobads/banned.h"

/*
 * Longest host part kept, so that an owner fits the 128 bytes stored (etl_lock,
 * etl_runs.owner): 60 + pid 10 + space 37 + instance 16 + 3 colons = 126. Hosts
 * alike in their first 60 bytes still differ in their boot id.
 */
#define HOST_MAX 60

/* "<16 hex of the boot id>-<pid namespace inode>", or "?" when /proc cannot say. */
static void pid_space(char *buf, size_t len)
{
	char boot[64] = "", link[64];
	size_t nb = 0;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (f) {
		int c;
		while ((c = fgetc(f)) != EOF && nb < 16)
			if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
				boot[nb++] = (char)c;
		boot[nb] = '\0';
		fclose(f);
	}
	ssize_t n = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);
	/* the link reads "pid:[INODE]" */
	const char *open = n > 0 ? memchr(link, '[', (size_t)n) : NULL;
	int64_t ino;
	if (nb < 16 || !open || link[n - 1] != ']' ||
	    parse_int64(open + 1, (size_t)(link + n - 1 - (open + 1)), 1, INT64_MAX, &ino) != 0) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%s-%lld", boot, (long long)ino);
}

static uint64_t instance_bits(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), 0) == (ssize_t)sizeof(v))
		return v;
	/* no entropy source: still unlikely to repeat between two processes */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 48);
	v ^= v >> 31;
	v *= 0x9e3779b97f4a7c15ULL;
	return v ^ (v >> 29);
}

static pthread_mutex_t name_mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t name_pid; /* the process the cached name is for (a fork makes a new one) */
static char name_cache[128];

void etl_owner_name(char *buf, size_t len)
{
	pthread_mutex_lock(&name_mu);
	if (name_pid != getpid()) {
		char host[256], space[64];
		if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[HOST_MAX] = '\0';
		/* a ':' would shift the fields a reader splits on */
		for (char *c = host; *c; c++)
			if (*c == ':')
				*c = '_';
		pid_space(space, sizeof(space));
		name_pid = getpid();
		snprintf(name_cache, sizeof(name_cache), "%s:%ld:%s:%016llx", host, (long)name_pid,
			 space, (unsigned long long)instance_bits());
	}
	snprintf(buf, len, "%s", name_cache);
	pthread_mutex_unlock(&name_mu);
}

/* The four fields of an owner name; 0 when it has another shape. */
struct owner_fields {
	const char *host, *space, *instance;
	size_t host_n, space_n;
	int64_t pid;
};

static int split_owner(const char *s, struct owner_fields *f)
{
	const char *c1 = strchr(s, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
	if (!c3 || strchr(c3 + 1, ':') || c3[1] == '\0')
		return 0;
	if (parse_int64(c1 + 1, (size_t)(c2 - c1 - 1), 1, INT32_MAX, &f->pid) != 0)
		return 0;
	f->host = s;
	f->host_n = (size_t)(c1 - s);
	f->space = c2 + 1;
	f->space_n = (size_t)(c3 - c2 - 1);
	f->instance = c3 + 1;
	return 1;
}

enum etl_owner_where etl_owner_where(const char *holder, const char *me, int64_t *pid)
{
	struct owner_fields h, m;
	*pid = 0;
	if (strcmp(holder, me) == 0)
		return ETL_OWNER_SELF;
	if (!split_owner(holder, &h) || !split_owner(me, &m))
		return ETL_OWNER_ELSEWHERE; /* an older "host:pid" holder: only its lease says */
	if (h.host_n != m.host_n || memcmp(h.host, m.host, h.host_n) != 0)
		return ETL_OWNER_ELSEWHERE;
	if (m.space_n == 1 && m.space[0] == '?')
		return ETL_OWNER_ELSEWHERE; /* this process cannot tell its own namespace */
	if (h.space_n != m.space_n || memcmp(h.space, m.space, h.space_n) != 0)
		return ETL_OWNER_ELSEWHERE; /* another container or another boot */
	*pid = h.pid;
	/* our pid, another instance: the holder was an earlier process with this pid */
	return h.pid == m.pid ? ETL_OWNER_GONE : ETL_OWNER_LOCAL;
}

int etl_owner_is_dead(const char *holder)
{
	char me[128];
	int64_t pid;
	etl_owner_name(me, sizeof(me));
	switch (etl_owner_where(holder, me, &pid)) {
	case ETL_OWNER_GONE:
		return 1;
	case ETL_OWNER_LOCAL:
		return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
	default:
		return 0;
	}
}
