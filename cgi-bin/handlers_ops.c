/*
 * handlers_ops.c - what an operator's monitors call: /healthz (the process
 * answers), /readyz (the database answers and its schema is current) and
 * /metrics (Prometheus text).  Outside /api/v1 and without a session: a
 * load balancer or Prometheus has no cookie.  None of them says more than a
 * monitor needs: no version, no host name, no database error text.
 *
 * The sync-side figures of /metrics are read from the sync tables at scrape
 * time rather than counted by the sync: the tables already hold every
 * outcome, and a figure read from them is the same whichever API process
 * answers and however many sync hosts there are.
 */
#include "handlers.h"
#include "http.h"
#include "routes.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/pjson.h"
#include "db/db.h"
#include "db/migrate.h"

#include <stdio.h>
#include <string.h>

/* The metrics page: request families and those read from the database. */
#define METRICS_PAGE_MAX (1024 * 1024)

void handle_healthz(struct req *req)
{
	json_object *o = json_object_new_object();

	if (o && json_object_object_add(o, "status", json_object_new_string("ok")) < 0) {
		json_object_put(o);
		o = NULL;
	}
	http_json(req, 200, o);
}

static void not_ready(struct req *req, const char *reason)
{
	json_object *o = json_object_new_object();

	if (o && (json_object_object_add(o, "status", json_object_new_string("not_ready")) < 0 ||
		  json_object_object_add(o, "reason", json_object_new_string(reason)) < 0)) {
		json_object_put(o);
		o = NULL;
	}
	http_header(req, "Retry-After: 5");
	http_json(req, 503, o);
}

void handle_readyz(struct req *req)
{
	const char *missing = NULL;
	json_object *o;
	long long n = 0;
	int rc;

	rc = db_ensure(req->app->db);
	/* Every migration this build knows, not only the newest: branches
	 * merged in another order can leave a gap below it.  Primary-key
	 * lookups, a few per probe. */
	for (unsigned int i = 0; rc == 0 && i < migrations_count; i++) {
		rc = db_query_int(req->app->db, &n,
				  "SELECT COUNT(*) FROM schema_migrations WHERE version = ?",
				  DB_ARGS(DB_STR(migrations[i].name)));
		if (rc == 0 && n != 1) {
			missing = migrations[i].name;
			break;
		}
	}
	if (rc == PV_EDBDOWN) {
		log_warn("readyz: the database cannot be reached");
		not_ready(req, "database");
		return;
	}
	if (rc < 0 || missing) {
		/* A missing schema_migrations table is a schema not migrated. */
		log_warn("readyz: the schema lacks migration %s; run provisioning-admin migrate",
			 missing ? missing : migrations[0].name);
		not_ready(req, "schema");
		return;
	}
	o = json_object_new_object();
	if (o && json_object_object_add(o, "status", json_object_new_string("ready")) < 0) {
		json_object_put(o);
		o = NULL;
	}
	http_json(req, 200, o);
}

/* 1 when addr is one of the space- or comma-separated addresses of list. */
static int address_allowed(const char *list, const char *addr)
{
	size_t alen = strlen(addr);
	const char *p = list;

	while (p && *p) {
		size_t n;

		p += strspn(p, " ,\t");
		n = strcspn(p, " ,\t");
		if (n && n == alen && memcmp(p, addr, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

static void route_labels(size_t i, const char **method, const char **pattern, void *arg)
{
	(void)arg;
	*method = routes[i].method;
	*pattern = routes[i].pattern;
}


/* Renders each row "label..., value" of sql as one sample of a family. */
static int render_rows(struct db *db, struct buf *out, const char *name, const char *help,
		       const char *type, const char *const *labels, int nlabels, const char *sql)
{
	struct db_rows *r = NULL;
	int rc;

	rc = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	if (rc < 0)
		return rc;
	rc = db_query(db, &r, sql, DB_NOARGS);
	if (rc < 0)
		return rc;
	while ((rc = db_rows_next(r)) == 1) {
		const char *v = db_rows_str(r, nlabels);

		rc = buf_puts(out, name);
		for (int i = 0; rc == 0 && i < nlabels; i++) {
			const char *lv = db_rows_str(r, i);

			rc = buf_printf(out, "%s%s=\"", i ? "," : "{", labels[i]);
			if (rc == 0)
				rc = metrics_label_value(out, lv ? lv : "");
			if (rc == 0)
				rc = buf_putc(out, '"');
		}
		if (rc == 0 && nlabels)
			rc = buf_putc(out, '}');
		if (rc == 0)
			rc = buf_printf(out, " %s\n", v ? v : "0");
		if (rc < 0)
			break;
	}
	db_rows_free(r);
	return rc;
}

/* The figures read from the database.  These queries deliberately span
 * every organization and group by nothing organization-specific: they are
 * the operator's totals, and a per-organization label would make the
 * number of series grow with the customers. */
static int render_database(struct db *db, struct buf *out)
{
	static const char *const trig_status[] = { "trigger", "status" };
	static const char *const status_only[] = { "status" };
	static const char *const le_only[] = { "le" };
	int rc;

	rc = render_rows(db, out, "provisioning_syncs_finished_24h",
			 "Syncs that finished in the last 24 hours, by trigger and status.", "gauge",
			 trig_status, 2,
			 "SELECT `trigger`, status, COUNT(*) FROM provisioning_syncs"
			 " WHERE finished_at >= NOW(3) - INTERVAL 1 DAY GROUP BY `trigger`, status");
	if (rc == 0)
		rc = render_rows(db, out, "provisioning_syncs_queued",
				 "Syncs waiting, running or held for approval, by trigger and status.",
				 "gauge", trig_status, 2,
				 "SELECT `trigger`, status, COUNT(*) FROM provisioning_syncs"
				 " WHERE status IN ('pending','running','held') GROUP BY `trigger`, status");
	if (rc == 0)
		rc = render_rows(db, out, "provisioning_sync_queue_oldest_seconds",
				 "Age of the oldest sync waiting to run (0 when none waits).", "gauge",
				 NULL, 0,
				 "SELECT COALESCE(TIMESTAMPDIFF(SECOND, MIN(queued_at), NOW(3)), 0)"
				 " FROM provisioning_syncs WHERE status = 'pending'");
	/* Cumulative buckets, Prometheus' convention, over one window. */
	if (rc == 0)
		rc = render_rows(db, out, "provisioning_sync_duration_seconds_24h",
				 "Syncs finished in the last 24 hours that took at most le seconds.",
				 "gauge", le_only, 1,
				 "SELECT b.le, COUNT(s.id)"
				 " FROM (SELECT '1' le, 1 secs UNION ALL SELECT '10', 10 UNION ALL"
				 "  SELECT '60', 60 UNION ALL SELECT '300', 300 UNION ALL"
				 "  SELECT '1800', 1800 UNION ALL SELECT '+Inf', 1e12) b"
				 " LEFT JOIN provisioning_syncs s ON s.finished_at >= NOW(3) - INTERVAL 1 DAY"
				 "  AND s.started_at IS NOT NULL"
				 "  AND TIMESTAMPDIFF(MICROSECOND, s.started_at, s.finished_at)"
				 "   <= b.secs * 1000000"
				 " GROUP BY b.le, b.secs ORDER BY b.secs");
	if (rc == 0)
		rc = render_rows(db, out, "provisioning_sync_duration_seconds_24h_sum",
				 "Total run time of the syncs finished in the last 24 hours.", "gauge",
				 NULL, 0,
				 "SELECT COALESCE(SUM(TIMESTAMPDIFF(MICROSECOND, started_at, finished_at)),"
				 " 0) / 1e6 FROM provisioning_syncs"
				 " WHERE finished_at >= NOW(3) - INTERVAL 1 DAY AND started_at IS NOT NULL");
	if (rc == 0)
		rc = render_rows(db, out, "provisioning_sync_rows_written_24h",
				 "Directory changes written by syncs finished in the last 24 hours, by kind.",
				 "gauge", (const char *const[]){ "kind" }, 1,
				 "SELECT k.kind, COALESCE(SUM(CASE k.kind WHEN 'created' THEN n_created"
				 " WHEN 'updated' THEN n_updated WHEN 'deactivated' THEN n_deactivated"
				 " WHEN 'reactivated' THEN n_reactivated WHEN 'added_to_team' THEN"
				 " n_added_to_team WHEN 'removed_from_team' THEN n_removed_from_team"
				 " WHEN 'failed' THEN n_failed END), 0)"
				 " FROM (SELECT 'created' kind UNION ALL SELECT 'updated' UNION ALL"
				 "  SELECT 'deactivated' UNION ALL SELECT 'reactivated' UNION ALL"
				 "  SELECT 'added_to_team' UNION ALL SELECT 'removed_from_team' UNION ALL"
				 "  SELECT 'failed') k LEFT JOIN provisioning_syncs s"
				 "  ON s.finished_at >= NOW(3) - INTERVAL 1 DAY AND s.dry_run = 0"
				 " GROUP BY k.kind ORDER BY k.kind");
	if (rc == 0)
		rc = render_rows(db, out, "provisioning_slack_calls_total",
				 "Calls to Slack's Web API by method and HTTP status (0: no answer), from every host.",
				 "counter", (const char *const[]){ "method", "status" }, 2,
				 "SELECT method, http_status, calls FROM slack_call_counts"
				 " ORDER BY method, http_status");
	if (rc == 0)
		rc = render_rows(db, out, "provisioning_slack_rate_limit_wait_seconds_total",
				 "Time spent waiting out Slack's Retry-After after a 429, by method.",
				 "counter", (const char *const[]){ "method" }, 1,
				 "SELECT method, SUM(wait_seconds) FROM slack_call_counts"
				 " WHERE http_status = 429 GROUP BY method ORDER BY method");
	if (rc == 0)
		rc = render_rows(db, out, "provisioning_integrations",
				 "Integrations by status; needs_reconnection means an administrator must reconnect.",
				 "gauge", status_only, 1,
				 "SELECT st.status, COUNT(i.id) FROM (SELECT 'connected' status UNION ALL"
				 "  SELECT 'needs_reconnection') st LEFT JOIN provisioning_integrations i"
				 "  ON i.status = st.status GROUP BY st.status ORDER BY st.status");
	return rc;
}

void handle_metrics(struct req *req)
{
	struct buf page;
	int rc, up;

	if (!address_allowed(config_get(req->app->cfg, "metrics.allow"), req->client_ip)) {
		http_error(req, 403, "forbidden",
			   "Metrics are only served to the addresses listed in metrics.allow.", NULL);
		return;
	}
	buf_init(&page, METRICS_PAGE_MAX);
	rc = metrics_render(req->app->metrics, &page, route_labels, NULL);
	up = rc == 0 && db_ensure(req->app->db) == 0;
	if (up) {
		size_t before = page.len;

		/* A database lost mid-scrape still serves the request figures:
		 * the page says so with provisioning_database_up 0. */
		if (render_database(req->app->db, &page) < 0) {
			up = 0;
			page.len = before;
			if (page.data)
				page.data[before] = '\0';
		}
	}
	if (rc == 0)
		rc = buf_printf(&page,
				"# HELP provisioning_database_up Whether this scrape could read the database.\n"
				"# TYPE provisioning_database_up gauge\nprovisioning_database_up %d\n", up);
	if (rc < 0) {
		buf_release(&page);
		http_fail(req, rc);
		return;
	}
	http_stream_begin(req, 200, "text/plain; version=0.0.4; charset=utf-8");
	FCGX_PutStr(buf_cstr(&page), (int)page.len, req->fcgi->out);
	buf_release(&page);
}
