/*
 * provisioning-api - the FastCGI program behind nginx.
 *
 * Run under spawn-fcgi with several processes on one socket; each process
 * handles one request at a time and keeps only its configuration and one
 * database connection between requests.  Exits at start, with one line on
 * stderr, when the configuration is bad; a database that is down is not a
 * reason to exit: requests get 503 until it is back.
 *
 *   provisioning-api              serve FastCGI on stdin's socket
 *   provisioning-api --routes     print "METHOD PATTERN" per route and exit
 */
#include "core/answer_cache.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "db/db.h"
#include "db/db_changes.h"
#include "core/err.h"
#include "http.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/pool.h"
#include "provider/slack/slack_stats.h"
#include "routes.h"

#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* The bytes of answers each process keeps at most: a page's few
 * questions, far below the 32 MiB an API process stays within. */
#define API_ANSWERS_BYTES (4u << 20)

/* One line per request, for the operator: the route's pattern rather than
 * the path (ids in a path say little and make lines unique), and never the
 * query string, a cookie or a body, which may hold secrets (the OAuth
 * callback's code and state are in its query string). */
static void log_request(struct req *req, double seconds)
{
	const char *route = req->route_index >= 0 ? routes[req->route_index].pattern : "(none)";
	enum log_level level = req->status >= 500 ? LOG_LVL_ERROR : LOG_LVL_INFO;

	log_set_context(req->signed_in ? req->who.org_id : 0, 0, req->request_id);
	log_event(level, "request", "%s %s %d %.1fms", req->method, route, req->status,
		  seconds * 1e3);
}

/* Set by SIGTERM (spawn-fcgi's and stack.sh's way of stopping us): the
 * accept loop ends and main() frees everything and returns, so that a
 * sanitizer build's leak check runs at a clean exit like the other programs'. */
static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void handle_request(struct app *app, FCGX_Request *fr)
{
	double started = clock_mono_seconds();
	struct req req;

	memset(&req, 0, sizeof(req));
	req.fcgi = fr;
	req.app = app;
	req.route_index = -1;
	req.pool = pool_new();
	buf_init(&req.headers, 8192);
	if (!req.pool) {
		/* Nothing can be allocated: the envelope is a constant. */
		FCGX_PutS("Status: 500 Internal Server Error\r\n"
			  "Content-Type: application/json; charset=utf-8\r\n"
			  "Cache-Control: no-store\r\n\r\n"
			  "{\"error\":{\"code\":\"internal_error\",\"message\":\"out of memory\"}}",
			  fr->out);
		return;
	}
	req.method = http_param(&req, "REQUEST_METHOD");
	req.path = http_param(&req, "DOCUMENT_URI");
	req.query = http_param(&req, "QUERY_STRING");
	req.client_ip = http_param(&req, "REMOTE_ADDR");
	req.request_id = http_param(&req, "REQUEST_ID");
	/* Lines logged while the request runs carry its id. */
	log_set_context(0, 0, req.request_id);
	if ((!req.method && FCGX_GetParam("REQUEST_METHOD", fr->envp)) ||
	    (!req.path && FCGX_GetParam("DOCUMENT_URI", fr->envp))) {
		/* Present but not copied: out of memory, not the client's fault. */
		http_fail(&req, PV_ENOMEM);
		req.method = req.method ? req.method : "-";
	} else if (!req.method || !req.path) {
		http_error(&req, 400, "bad_request", "The request lacks a method or a path.", NULL);
		req.method = req.method ? req.method : "-";
	} else {
		if (!req.client_ip)
			req.client_ip = "unknown";
		routes_dispatch(&req);
	}
	{
		double took = clock_mono_seconds() - started;

		metrics_observe(app->metrics,
				req.route_index >= 0 ? (size_t)req.route_index : routes_count,
				req.status, took);
		log_request(&req, took);
	}
	/* Only requests that called Slack (connect, type-ahead...) write. */
	if (slack_stats_pending() && slack_stats_flush(app->db) < 0)
		log_warn("api: Slack call counts not recorded: %s", db_last_error(app->db));
	log_clear_context();
	buf_release(&req.headers);
	pool_free(req.pool);
}

int main(int argc, char **argv)
{
	struct app app = { 0 };
	FCGX_Request fr;
	char err[256];
	int rc;

	log_init("provisioning-api");
	if (argc > 1 && strcmp(argv[1], "--routes") == 0) {
		for (size_t i = 0; i < routes_count; i++)
			printf("%s %s\n", routes[i].method, routes[i].pattern);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: provisioning-api [--routes]\n");
		return 2;
	}
	rc = config_load(&app.cfg, NULL, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "provisioning-api: %s\n", err);
		return 1;
	}
	/* Under spawn-fcgi stdout and stderr are /dev/null: log.file is where
	 * the API's lines go (the journal takes stderr under systemd). */
	rc = log_configure(config_get(app.cfg, "log.level"), config_get(app.cfg, "log.format"),
			   config_get(app.cfg, "log.file"), err, sizeof(err));
	if (rc == 0)
		rc = metrics_open(&app.metrics, config_get(app.cfg, "metrics.file"), routes_count,
				  err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "provisioning-api: %s\n", err);
		config_free(app.cfg);
		return 1;
	}
	app.secure_cookies = strncmp(config_get(app.cfg, "app.base_url"), "https://", 8) == 0;
	app.session_ttl_hours = (int)config_get_long(app.cfg, "session.ttl_hours");
	rc = config_require(app.cfg, "crypto.key_file", err, sizeof(err));
	if (rc == 0 && crypto_key_load(config_get(app.cfg, "crypto.key_file"), &app.key) < 0) {
		snprintf(err, sizeof(err), "config: crypto.key_file: not a readable 32-byte key file");
		rc = PV_EINVAL;
	}
	if (rc < 0) {
		fprintf(stderr, "provisioning-api: %s\n", err);
		config_free(app.cfg);
		return 1;
	}
	if (db_new(&app.db, app.cfg) < 0 ||
	    answer_cache_new(&app.answers, API_ANSWERS_BYTES,
			     config_get_long(app.cfg, "api.cache_ms")) < 0) {
		fprintf(stderr, "provisioning-api: out of memory\n");
		return 1;
	}
	if (!db_changes_of(app.db))
		log_info("api: answers are read anew each time (no db.changes_file)");
	/* A client that hangs up mid-answer must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	/* No SA_RESTART: a SIGTERM while waiting for a request makes accept()
	 * fail with EINTR, and FCGI_FAIL_ACCEPT_ON_INTR makes FCGX_Accept_r
	 * return instead of trying again.  A request being answered is finished
	 * first (the flag is read only between requests). */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		fprintf(stderr, "provisioning-api: FastCGI initialisation failed\n");
		return 1;
	}
	if (db_ensure(app.db) < 0)
		log_warn("api: database not reachable at start; answering 503 until it is");
	log_info("api: ready");
	while (!stopping && FCGX_Accept_r(&fr) >= 0) {
		handle_request(&app, &fr);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	answer_cache_free(app.answers);
	db_free(app.db);
	metrics_close(app.metrics);
	crypto_key_free(app.key);
	config_free(app.cfg);
	return 0;
}
