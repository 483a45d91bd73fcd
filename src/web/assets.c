/*
 * assets.c - the dashboard's files, embedded into the binary at build time by
 * cmake/embed_bin.cmake (web/index.html, web/app.js, web/app.css and the ECharts
 * build from npm), so the page never loads anything from elsewhere.
 */
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

extern const unsigned char web_index_html[], web_app_js[], web_app_css[], web_echarts_js[];
extern const size_t web_index_html_len, web_app_js_len, web_app_css_len, web_echarts_js_len;

#define PAGE_HEADERS                                                                               \
	"Content-Security-Policy: default-src 'self'; style-src 'self' 'unsafe-inline';"           \
	" img-src 'self' data:; connect-src 'self'\r\n"                                            \
	"X-Frame-Options: DENY\r\n"

int web_asset(struct req *r, const char *path)
{
	static const struct {
		const char *path, *ctype;
		const unsigned char *data;
		const size_t *len;
		const char *headers;
	} files[] = {
	    {"/", "text/html; charset=utf-8", web_index_html, &web_index_html_len, PAGE_HEADERS},
	    {"/index.html", "text/html; charset=utf-8", web_index_html, &web_index_html_len,
	     PAGE_HEADERS},
	    {"/assets/app.js", "text/javascript; charset=utf-8", web_app_js, &web_app_js_len, NULL},
	    {"/assets/app.css", "text/css; charset=utf-8", web_app_css, &web_app_css_len, NULL},
	    {"/assets/echarts.min.js", "text/javascript; charset=utf-8", web_echarts_js,
	     &web_echarts_js_len, "Cache-Control: max-age=86400\r\n"},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(path, files[i].path) == 0)
			return reply(r, 200, files[i].ctype, files[i].data, *files[i].len,
				     files[i].headers);
	return reply_str(r, 404, "text/plain", "not found\n", NULL);
}
