/*
 * test_owner.c - the run lock's owner names and the rule for finding a holder
 * dead by its pid (include/jobads/etl.h, src/core/owner.c). Containers are
 * simulated by the identities given to etl_owner_where: same hostname, another
 * pid namespace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobads/etl.h"

/* two containers on one machine (one boot), each with its own pid namespace */
#define BOOT	  "1c6b23a67b824bd5"
#define SPACE_A	  BOOT "-4026532201"
#define SPACE_B	  BOOT "-4026532305"
#define A(pid, i) "web:" #pid ":" SPACE_A ":" i
#define B(pid, i) "web:" #pid ":" SPACE_B ":" i

static void test_where_other_container(void **state)
{
	(void)state;
	int64_t pid = -1;
	/* pid 1 in both, same hostname: B's pid 1 says nothing about A's */
	assert_int_equal(etl_owner_where(A(1, "00000000000000aa"), B(1, "00000000000000bb"), &pid),
			 ETL_OWNER_ELSEWHERE);
	assert_int_equal(etl_owner_where(A(42, "00000000000000aa"), B(7, "00000000000000bb"), &pid),
			 ETL_OWNER_ELSEWHERE);
	/* another boot of the same machine, same namespace inode */
	assert_int_equal(etl_owner_where("web:42:0000000000000001-4026532201:aa", A(7, "bb"), &pid),
			 ETL_OWNER_ELSEWHERE);
	/* another host */
	assert_int_equal(etl_owner_where("db:42:" SPACE_A ":aa", A(7, "bb"), &pid),
			 ETL_OWNER_ELSEWHERE);
	/* a prefix of the hostname is another host */
	assert_int_equal(etl_owner_where("we:42:" SPACE_A ":aa", A(7, "bb"), &pid),
			 ETL_OWNER_ELSEWHERE);
}

static void test_where_same_namespace(void **state)
{
	(void)state;
	int64_t pid = -1;
	assert_int_equal(etl_owner_where(A(42, "aa"), A(7, "bb"), &pid), ETL_OWNER_LOCAL);
	assert_int_equal(pid, 42);
	/* my pid but not my instance: the process before me that had this pid */
	assert_int_equal(etl_owner_where(A(7, "aa"), A(7, "bb"), &pid), ETL_OWNER_GONE);
	assert_int_equal(etl_owner_where(A(7, "bb"), A(7, "bb"), &pid), ETL_OWNER_SELF);
}

static void test_where_unprovable(void **state)
{
	(void)state;
	int64_t pid = -1;
	/* an older version's "host:pid": the lease decides */
	assert_int_equal(etl_owner_where("web:42", A(7, "bb"), &pid), ETL_OWNER_ELSEWHERE);
	/* a namespace neither side can name */
	assert_int_equal(etl_owner_where("web:42:?:aa", "web:7:?:bb", &pid), ETL_OWNER_ELSEWHERE);
	assert_int_equal(etl_owner_where(A(42, "aa"), "web:7:?:bb", &pid), ETL_OWNER_ELSEWHERE);
	/* malformed */
	assert_int_equal(etl_owner_where("web:x:" SPACE_A ":aa", A(7, "bb"), &pid),
			 ETL_OWNER_ELSEWHERE);
	assert_int_equal(etl_owner_where("web:42:" SPACE_A ":", A(7, "bb"), &pid),
			 ETL_OWNER_ELSEWHERE);
	assert_int_equal(etl_owner_where("web:42:" SPACE_A ":aa:bb", A(7, "bb"), &pid),
			 ETL_OWNER_ELSEWHERE);
	assert_int_equal(etl_owner_where("", A(7, "bb"), &pid), ETL_OWNER_ELSEWHERE);
}

/* The name of this process, and of a child, in this namespace. */
static void test_owner_name(void **state)
{
	(void)state;
	char me[128], again[128], child[128], want_pid[32];
	etl_owner_name(me, sizeof(me));
	etl_owner_name(again, sizeof(again));
	assert_string_equal(me, again); /* drawn once per process */
	snprintf(want_pid, sizeof(want_pid), ":%ld:", (long)getpid());
	assert_non_null(strstr(me, want_pid));
	/* host:pid:space:instance, the instance 16 hex digits */
	const char *inst = strrchr(me, ':');
	assert_non_null(inst);
	assert_int_equal(strlen(inst + 1), 16);
	assert_int_equal(strspn(inst + 1, "0123456789abcdef"), 16);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char n[128];
		etl_owner_name(n, sizeof(n));
		ssize_t w = write(fds[1], n, strlen(n) + 1);
		_exit(w > 0 ? 0 : 1);
	}
	close(fds[1]);
	ssize_t got = read(fds[0], child, sizeof(child));
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(got > 0);
	child[sizeof(child) - 1] = '\0';
	assert_string_not_equal(me, child);
	int64_t p = 0;
	if (strstr(me, ":?:")) /* no /proc here: nothing can be proven */
		return;
	/* the child ran where we run, and it is gone now */
	assert_int_equal(etl_owner_where(child, me, &p), ETL_OWNER_LOCAL);
	assert_int_equal(p, pid);
	assert_int_equal(etl_owner_is_dead(child), 1);
	/* a live holder here is not dead; the same one named in another namespace is not either */
	assert_int_equal(etl_owner_is_dead(me), 0);
	char other[160];
	snprintf(other, sizeof(other), "%.*s:%ld:0000000000000000-1:ffff",
		 (int)(strchr(child, ':') - child), child, (long)pid);
	assert_int_equal(etl_owner_is_dead(other), 0);
}

/*
 * A live holder in another container of this machine (this boot, another pid
 * namespace) with our hostname is not found dead, whatever its pid is here.
 */
static void test_live_lock_in_other_namespace_kept(void **state)
{
	(void)state;
	char me[128], holder[192];
	long long ino;
	etl_owner_name(me, sizeof(me));
	const char *c1 = strchr(me, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *dash = c2 ? strchr(c2 + 1, '-') : NULL;
	if (c2 && c2[1] == '?')
		skip(); /* no /proc here */
	assert_non_null(dash);
	assert_int_equal(sscanf(dash + 1, "%lld", &ino), 1);
	int host_n = (int)(c1 - me), boot_n = (int)(dash - c2 - 1);
	/* a pid unused here: the old rule took its lock as a dead local holder's */
	snprintf(holder, sizeof(holder), "%.*s:%d:%.*s-%lld:0123456789abcdef", host_n, me,
		 INT32_MAX - 1, boot_n, c2 + 1, ino + 1);
	assert_int_equal(kill(INT32_MAX - 1, 0), -1);
	assert_int_equal(etl_owner_is_dead(holder), 0);
	/* our very pid there: its instance is not ours, yet it is not an earlier us */
	snprintf(holder, sizeof(holder), "%.*s:%ld:%.*s-%lld:0123456789abcdef", host_n, me,
		 (long)getpid(), boot_n, c2 + 1, ino + 1);
	assert_int_equal(etl_owner_is_dead(holder), 0);
	/* the same holder in our namespace is an earlier process with our pid: gone */
	snprintf(holder, sizeof(holder), "%.*s:%ld:%.*s-%lld:0123456789abcdef", host_n, me,
		 (long)getpid(), boot_n, c2 + 1, ino);
	assert_int_equal(etl_owner_is_dead(holder), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_where_other_container),
	    cmocka_unit_test(test_where_same_namespace),
	    cmocka_unit_test(test_where_unprovable),
	    cmocka_unit_test(test_owner_name),
	    cmocka_unit_test(test_live_lock_in_other_namespace_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
