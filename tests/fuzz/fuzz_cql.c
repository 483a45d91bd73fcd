/*
 * fuzz_cql.c - libFuzzer target for the CQL client's decoders
 * (src/cql/cql_codec.c): what a hostile or broken server can send.
 * The input is a stream of response frames; each is parsed, RESULT bodies
 * decoded down to every row and every cell through each typed getter, ERROR
 * bodies parsed. The first byte also lets the input be one bare RESULT body,
 * so the fuzzer reaches the metadata without first finding a header.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "cql/cql.h"

static void cells(struct cql_result *res)
{
	struct cql_cell c[CQL_MAX_COLS];
	int32_t left = res->nrows;
	int k;
	assert(res->meta.ncols >= 0 && res->meta.ncols <= CQL_MAX_COLS);
	while ((k = cql_row_next(res, &left, c, res->meta.ncols)) == 1) {
		for (int i = 0; i < res->meta.ncols; i++) {
			int32_t i32;
			int64_t i64;
			double d;
			uint8_t u[16];
			int b;
			assert(c[i].len < 0 || (c[i].p >= res->body &&
						c[i].p + c[i].len <= res->body + res->body_len));
			(void)cql_get_int(c[i], &i32);
			(void)cql_get_bigint(c[i], &i64);
			(void)cql_get_double(c[i], &d);
			(void)cql_get_boolean(c[i], &b);
			if (cql_get_uuid(c[i], u) == 0)
				(void)cql_timeuuid_ms(u);
			(void)cql_get_decimal_scaled(c[i], 6, &i64);
		}
	}
	/* a different width is refused before a cell is written */
	struct cql_cell one[1];
	left = 1;
	if (res->meta.ncols != 1)
		assert(cql_row_next(res, &left, one, 1) == -1);
}

static void body(const uint8_t *p, size_t n, uint8_t opcode)
{
	struct cql_result res;
	struct cql_error e;
	const char *why;
	if (opcode == CQL_OP_RESULT) {
		if (cql_result_parse(p, n, &res, &why) == 0) {
			if (res.kind == CQL_RES_ROWS)
				cells(&res);
			if (res.meta.paging_state)
				assert(res.meta.paging_state + res.meta.paging_len <= p + n);
		} else {
			assert(why && why[0]);
		}
	} else if (opcode == CQL_OP_ERROR) {
		if (cql_error_parse(p, n, &e) == 0 && e.msg)
			assert(e.msg + e.msg_len <= (const char *)p + n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0xff) { /* one bare RESULT body */
		body(data + 1, size - 1, CQL_OP_RESULT);
		return 0;
	}
	size_t off = 0;
	while (off < size) {
		struct cql_frame f;
		long fl = cql_frame_parse(data + off, size - off, &f);
		if (fl <= 0)
			break;
		assert((size_t)fl <= size - off && (size_t)fl == CQL_HEADER_LEN + f.len);
		body(f.body, f.len, f.opcode);
		off += (size_t)fl;
	}
	return 0;
}
