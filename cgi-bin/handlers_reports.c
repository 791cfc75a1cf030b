/* Sync history, sync report and its CSV export (SPEC §1.9-1.11, §4.2). */
#include "handlers.h"
#include "http.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pjson.h"
#include "report/report.h"

#include <stdio.h>
#include <string.h>

/* Rows are pushed to nginx as they are written; every so many rows the
 * FastCGI stream is flushed so the download moves even when rows are short. */
#define EXPORT_FLUSH_ROWS 1000
/* One CSV row at most (details 1000 characters, changes_json a TEXT). */
#define EXPORT_ROW_MAX (1024 * 1024)

/* Answers 409 sync_not_finished, 404 or the library failure for rc. */
static void answer_unreadable(struct req *req, int rc)
{
	if (rc == PV_ECONFLICT) {
		http_error(req, 409, "sync_not_finished",
			   "This sync is still pending or running; its report will be available "
			   "when the sync completes.", NULL);
		return;
	}
	http_fail(req, rc);
}

/* Reads ?outcome=, ?changed= and ?q=; answers 400 naming the parameter. */
static int query_filter(struct req *req, struct report_filter *f)
{
	const char *field, *why;

	if (report_filter_parse(f, http_query(req, "outcome"), http_query(req, "changed"),
				&field, &why) < 0) {
		http_error(req, 400, "invalid_parameter", why, field);
		return PV_EINVAL;
	}
	if (report_filter_set_query(f, http_query(req, "q"), &why) < 0) {
		http_error(req, 400, "invalid_parameter", why, "q");
		return PV_EINVAL;
	}
	return 0;
}

void handle_syncs_list(struct req *req)
{
	json_object *syncs = NULL, *out = NULL;
	int64_t before = 0, next = 0;
	int limit, rc;

	if (http_query_limit(req, REPORT_SYNCS_DEFAULT, REPORT_SYNCS_MAX, &limit) < 0 ||
	    http_query_cursor(req, "before", &before) < 0)
		return;
	rc = report_syncs_list(req->app->db, req->who.org_id, before, limit, &syncs, &next);
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	out = json_object_new_object();
	if (!out || pjson_add(out, "syncs", syncs) < 0 ||
	    (next ? pjson_add_int(out, "next_before", next)
		  : pjson_add(out, "next_before", NULL)) < 0) {
		if (!out)
			json_object_put(syncs);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, 200, out);
}

void handle_sync_get(struct req *req)
{
	json_object *sync = NULL, *out;
	int rc = report_sync_json(req->app->db, req->who.org_id, req->ids[0], &sync);

	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	out = json_object_new_object();
	if (!out || pjson_add(out, "sync", sync) < 0) {
		if (!out)
			json_object_put(sync);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, 200, out);
}

void handle_sync_actions(struct req *req)
{
	struct report_filter f = { 0 };
	json_object *actions = NULL, *out;
	int64_t after = 0, next = 0;
	char cursor[24];
	int limit, rc;

	if (query_filter(req, &f) < 0 ||
	    http_query_limit(req, REPORT_ACTIONS_DEFAULT, REPORT_ACTIONS_MAX, &limit) < 0 ||
	    http_query_cursor(req, "cursor", &after) < 0)
		return;
	rc = report_sync_readable(req->app->db, req->who.org_id, req->ids[0], NULL);
	if (rc < 0) {
		answer_unreadable(req, rc);
		return;
	}
	rc = report_actions_page(req->app->db, req->who.org_id, req->ids[0], &f, after, limit,
				 &actions, &next);
	if (rc < 0) {
		http_fail(req, rc);
		return;
	}
	snprintf(cursor, sizeof(cursor), "%lld", (long long)next);
	out = json_object_new_object();
	if (!out || pjson_add(out, "actions", actions) < 0 ||
	    pjson_add_str(out, "next_cursor", next ? cursor : NULL) < 0) {
		if (!out)
			json_object_put(actions);
		json_object_put(out);
		http_fail(req, PV_ENOMEM);
		return;
	}
	http_json(req, 200, out);
}

struct export_stream {
	FCGX_Stream *out;
	struct buf row;
	long rows;
};

/* Writes one action as a CSV row; PV_EIO when the client has gone. */
static int export_row(const struct report_action *a, void *arg)
{
	struct export_stream *x = arg;
	int rc;

	buf_reset(&x->row);
	rc = report_action_csv(&x->row, a);
	if (rc < 0)
		return rc;
	if (FCGX_PutStr(x->row.data, (int)x->row.len, x->out) < 0)
		return PV_EIO;
	if (++x->rows % EXPORT_FLUSH_ROWS == 0 && FCGX_FFlush(x->out) < 0)
		return PV_EIO;
	return 0;
}

void handle_sync_export(struct req *req)
{
	struct report_filter f = { 0 };
	struct export_stream x = { .out = req->fcgi->out };
	char day[11];
	int rc;

	if (query_filter(req, &f) < 0)
		return;
	rc = report_sync_readable(req->app->db, req->who.org_id, req->ids[0], day);
	if (rc < 0) {
		answer_unreadable(req, rc);
		return;
	}
	buf_init(&x.row, EXPORT_ROW_MAX);
	rc = report_csv_header(&x.row);
	if (rc == 0)
		rc = http_header(req, "Content-Disposition: attachment; "
				 "filename=\"slack-sync-%lld-%s.csv\"", (long long)req->ids[0], day);
	if (rc < 0) {
		buf_release(&x.row);
		http_fail(req, rc);
		return;
	}
	/* From here on the answer is 200 and goes out as it is read: a failure
	 * breaks the answer off (the client sees a failed download, never a
	 * short file that looks whole) and the log records it. */
	http_stream_begin(req, 200, "text/csv; charset=utf-8");
	if (FCGX_PutStr(x.row.data, (int)x.row.len, x.out) < 0)
		rc = PV_EIO;
	if (rc == 0)
		rc = report_actions_each(req->app->db, req->who.org_id, req->ids[0], &f,
					 export_row, &x);
	if (rc == PV_EIO)
		log_info("api: export of sync %lld: the client left after %ld rows",
			 (long long)req->ids[0], x.rows);
	else if (rc < 0) {
		log_error("api: export of sync %lld: stopped after %ld rows: %s",
			  (long long)req->ids[0], x.rows, pv_strerror(rc));
		http_stream_abort(req);
	}
	buf_release(&x.row);
}
