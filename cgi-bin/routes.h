/*
 * routes.h - the API's routes as data, and the dispatcher that checks a
 * request against its route (who may call, body rules) before the handler.
 */
#ifndef PV_ROUTES_H
#define PV_ROUTES_H

#include <stddef.h>

struct req;

enum route_access {
	ACCESS_PUBLIC,  /* anyone */
	ACCESS_USER,    /* any signed-in user */
	ACCESS_ADMIN,   /* administrators of the organization */
};

enum route_body {
	BODY_NONE,      /* a body is ignored */
	BODY_OPTIONAL,  /* JSON object when present */
	BODY_REQUIRED,  /* JSON object */
};

/* Whether the route's 200 answers may be given again while no write has
 * committed (core/answer_cache.h): only GETs whose answer is read from the
 * database alone, never one that asks Slack or reads the clock. */
enum route_keep {
	KEEP_NEVER,     /* the default: answered anew each time */
	KEEP_ANSWER,
};

struct route {
	const char *method;
	const char *pattern;    /* "/api/v1/teams/{id}/members" */
	void (*handler)(struct req *req);
	enum route_access access;
	enum route_body body;
	size_t body_limit;      /* bytes */
	enum route_keep keep;
};

#define ROUTE_BODY_LIMIT (64 * 1024)

extern const struct route routes[];
extern const size_t routes_count;

/* Finds the route, checks access and body, and runs the handler. */
void routes_dispatch(struct req *req);

#endif
