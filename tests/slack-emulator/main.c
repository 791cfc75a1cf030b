/*
 * main.c - the FastCGI loop of the Slack emulator.
 *
 * Runs as one process under spawn-fcgi (listening socket on fd 0) and
 * answers one request at a time, so the in-memory state needs no locks.
 * Configuration: EMULATOR_FIXTURE (required), EMULATOR_PUBLIC_URL.
 * SIGTERM/SIGINT end the loop cleanly (the state is freed, which keeps
 * LeakSanitizer runs meaningful).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "state.h"
#include "util.h"

#define KIB 1024
#define MIB (1024 * 1024)

static const struct route {
	const char *prefix;
	bool exact;		/* whole path must equal prefix */
	emu_handler run;
	size_t body_limit;
} routes[] = {
	{ "/api/", false, emu_api_handle, 64 * KIB },
	{ "/oauth/v2/authorize", true, emu_oauth_authorize, 64 * KIB },
	{ "/_emulator/", false, emu_control_handle, 8 * MIB },
	{ "/avatars/", false, emu_avatar_handle, 0 },
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

static const struct route *route_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];

		if (r->exact ? strcmp(path, r->prefix) == 0
			     : strncmp(path, r->prefix, strlen(r->prefix)) == 0)
			return r;
	}
	return NULL;
}

static void plain_error(struct emu_resp *resp, int status, const char *code)
{
	emu_resp_clear(resp);
	resp->status = status;
	snprintf(resp->error, sizeof(resp->error), "%s", code);
	if (emu_buf_printf(&resp->body, "{\"ok\":false,\"error\":\"%s\"}", code) < 0)
		emu_buf_reset(&resp->body);
}

static void handle(struct emu_state *st, FCGX_Request *fcgi)
{
	const struct route *r;
	struct emu_req req;
	struct emu_resp resp;
	int rc;

	emu_resp_init(&resp);
	rc = emu_req_init(&req, fcgi);
	if (rc < 0) {
		plain_error(&resp, 500, "internal_error");
		goto send;
	}
	r = route_find(req.path);
	if (!r) {
		plain_error(&resp, 404, "not_found");
		goto send;
	}
	rc = emu_req_read_body(&req, r->body_limit);
	if (rc == -E2BIG) {
		plain_error(&resp, 413, "request_too_large");
		goto send;
	}
	if (rc == -EINVAL) {
		plain_error(&resp, 400, "invalid_json");
		goto send;
	}
	if (rc == 0)
		rc = r->run(st, &req, &resp);
	if (rc < 0) {
		fprintf(stderr, "slack-emulator: %s %s: %s\n", req.method, req.path,
			strerror(-rc));
		plain_error(&resp, 500, "internal_error");
	}
send:
	if (emu_resp_send(&resp, fcgi->out) < 0)
		fprintf(stderr, "slack-emulator: writing the response failed\n");
	emu_resp_free(&resp);
	emu_req_free(&req);
}

int main(void)
{
	const char *fixture = getenv("EMULATOR_FIXTURE");
	const char *url = getenv("EMULATOR_PUBLIC_URL");
	struct sigaction sa;
	struct emu_state st;
	FCGX_Request fcgi;
	char public_url[512], err[512];
	size_t n;

	if (!fixture || !*fixture) {
		fprintf(stderr, "slack-emulator: EMULATOR_FIXTURE is not set\n");
		return 2;
	}
	snprintf(public_url, sizeof(public_url), "%s",
		 url && *url ? url : "http://127.0.0.1:9101");
	n = strlen(public_url);
	while (n > 0 && public_url[n - 1] == '/')
		public_url[--n] = '\0';
	if (emu_state_init(&st, fixture, public_url, err, sizeof(err)) < 0) {
		fprintf(stderr, "slack-emulator: %s\n", err);
		emu_state_free(&st);
		return 1;
	}

	/* No SA_RESTART: a signal must interrupt accept() to end the loop. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgi, 0, 0) != 0) {
		fprintf(stderr, "slack-emulator: FastCGI initialisation failed\n");
		emu_state_free(&st);
		return 1;
	}
	while (!stopping && FCGX_Accept_r(&fcgi) >= 0) {
		handle(&st, &fcgi);
		FCGX_Finish_r(&fcgi);
	}
	FCGX_Free(&fcgi, 1);
	emu_state_free(&st);
	return 0;
}
