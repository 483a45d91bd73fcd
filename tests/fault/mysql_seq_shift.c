/*
 * tests/fault/mysql_seq_shift.c - a fault for the MySQL event store's LOAD way,
 * for the tests only: preloaded into one `jobads ingest` (LD_PRELOAD), it
 * defines the weak hook src/store/mysql/events_load.c calls when reserving a
 * chunk's seqs, so that each chunk starts SHIFT seqs before its range, onto
 * rows already stored, as if another writer had taken them in between.
 * jobads-mysql.so is loaded with dlopen, and its weak reference resolves
 * against this library in the global scope; without it the hook is NULL.
 */
#include <stdint.h>

#define SHIFT 5 /* t_load.sh counts on five rows moved per chunk */

int64_t jobads_fault_mysql_seq_shift(void);

int64_t jobads_fault_mysql_seq_shift(void)
{
	return SHIFT;
}
