/* generate.c - deterministic synthetic workspaces (see generate.h). */
#include "generate.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "company.h"
#include "util.h"

static const char *const first_names[] = {
	"Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken",
	"Frances", "John", "Radia", "Edsger", "Karen", "Donald", "Shafi", "Niklaus",
	"Hedy", "Tim", "Sophie", "Guido", "Anita", "Bjarne", "Lynn", "James",
	"Chloé", "José", "Zoë", "Björn", "Ming", "Aiko", "Priya", "Olu",
};
static const char *const last_names[] = {
	"Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie",
	"Liskov", "Thompson", "Allen", "Backus", "Perlman", "Dijkstra",
	"Jones", "Knuth", "Goldwasser", "Wirth", "Lamarr", "Berners-Lee",
	"Wilson", "van Rossum", "Borg", "Stroustrup", "Conway", "Gosling",
	"Müller", "García", "Østergaard", "Nguyễn", "Kowalski", "Tanaka",
	"Okafor", "Sharma",
};
static const char *const titles[] = {
	"", "Engineer", "Senior Engineer", "Designer", "Product Manager",
	"Account Executive", "Support Specialist", "Recruiter", "Data Analyst",
	"Engineering Manager", "Contractor", "Intern",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64: small, fast, and the same on every platform. */
uint64_t emu_gen_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform-enough pick in [0, n). */
static size_t pick(uint64_t *state, size_t n)
{
	return (size_t)(emu_gen_rand(state) % n);
}

/* Lower-cased ASCII letters of s, for handles and e-mail local parts. */
static void ascii_handle(const char *s, char *out, size_t size)
{
	size_t j = 0;

	for (; *s && j + 1 < size; s++)
		if (isalpha((unsigned char)*s) && !((unsigned char)*s & 0x80))
			out[j++] = (char)tolower((unsigned char)*s);
	out[j] = '\0';
}

static int gen_user(struct emu_user *u, size_t i, uint64_t *rng,
		    const char *email_domain)
{
	const char *first = first_names[pick(rng, COUNT(first_names))];
	const char *last = last_names[pick(rng, COUNT(last_names))];
	unsigned roll = (unsigned)pick(rng, 1000);
	char id[32], handle[128], email[256], real[128], hash[16], f[48], l[48];
	int rc = 0;

	memset(u, 0, sizeof(*u));
	ascii_handle(first, f, sizeof(f));
	ascii_handle(last, l, sizeof(l));
	snprintf(id, sizeof(id), "UG%09zu", i);
	snprintf(handle, sizeof(handle), "%s.%s.%zu", f, l, i);
	snprintf(email, sizeof(email), "%s@%s", handle, email_domain);
	snprintf(real, sizeof(real), "%s %s", first, last);
	/* Roles by index or by a roll of a 1000-sided die. */
	u->is_primary_owner = u->is_owner = u->is_admin = (i == 0);
	u->is_admin = u->is_admin || roll < 20;				/* 2% */
	u->is_restricted = roll >= 20 && roll < 70;			/* 5% */
	u->is_ultra_restricted = roll >= 70 && roll < 90;		/* 2% */
	u->is_restricted = u->is_restricted || u->is_ultra_restricted;
	u->deleted = roll >= 90 && roll < 120 && i != 0;		/* 3% */
	u->is_bot = roll >= 120 && roll < 130 && i != 0;		/* 1% */
	u->is_invited_user = roll >= 130 && roll < 140;			/* 1% */
	u->is_custom_image = roll % 3 == 0;
	snprintf(hash, sizeof(hash), "%s%010llx", u->is_custom_image ? "" : "g",
		 (unsigned long long)(emu_gen_rand(rng) & 0xffffffffffULL));
	u->id = emu_strdup(id, &rc);
	u->name = emu_strdup(handle, &rc);
	u->real_name = emu_strdup(real, &rc);
	u->display_name = emu_strdup(roll % 4 == 0 ? "" : first, &rc);
	u->first_name = emu_strdup(first, &rc);
	u->last_name = emu_strdup(last, &rc);
	u->title = emu_strdup(titles[pick(rng, COUNT(titles))], &rc);
	/* Bots, and 1% of people, have no e-mail. */
	if (!u->is_bot && !(roll >= 140 && roll < 150))
		u->email = emu_strdup(email, &rc);
	u->is_email_confirmed = u->email != NULL;
	u->phone = emu_strdup("", &rc);
	u->avatar_hash = emu_strdup(hash, &rc);
	u->status_text = emu_strdup("", &rc);
	u->status_emoji = emu_strdup("", &rc);
	u->tz = emu_strdup("Europe/Paris", &rc);
	u->tz_label = emu_strdup("Central European Time", &rc);
	u->tz_offset = 3600;
	u->color = emu_strdup("4bbe2e", &rc);
	u->updated = 1704067200LL + (long long)pick(rng, 30000000);
	if (rc < 0)
		emu_user_clear(u);
	return rc;
}

static int gen_group(struct emu_group *g, size_t i, size_t members,
		     size_t n_users, uint64_t *rng)
{
	char buf[64];
	size_t k, j;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	snprintf(buf, sizeof(buf), "SG%08zu", i);
	g->id = emu_strdup(buf, &rc);
	snprintf(buf, sizeof(buf), "Group %zu", i);
	g->name = emu_strdup(buf, &rc);
	snprintf(buf, sizeof(buf), "group-%zu", i);
	g->handle = emu_strdup(buf, &rc);
	g->description = emu_strdup("Generated for load tests", &rc);
	g->created_by = emu_strdup("UG000000000", &rc);
	g->updated_by = emu_strdup("UG000000000", &rc);
	g->date_create = g->date_update = 1704067200LL;
	/* Every 20th group is disabled, so include_disabled matters. */
	if (i % 20 == 19) {
		g->date_delete = 1706745600LL;
		g->deleted_by = emu_strdup("UG000000000", &rc);
	}
	if (rc == 0 && members) {
		g->users = calloc(members, sizeof(char *));
		rc = g->users ? 0 : -ENOMEM;
	}
	for (k = 0; rc == 0 && k < members; k++) {
		/* Distinct members: re-draw on a collision (members <= n_users). */
		for (;;) {
			snprintf(buf, sizeof(buf), "UG%09zu", pick(rng, n_users));
			for (j = 0; j < k && strcmp(g->users[j], buf) != 0; j++)
				;
			if (j == k)
				break;
		}
		g->users[k] = emu_strdup(buf, &rc);
		if (rc == 0)
			g->n_users++;
	}
	if (rc < 0)
		emu_group_clear(g);
	return rc;
}

int emu_generate(json_object *spec, const struct emu_world *w,
		 const char *base_url, struct emu_workspace **out, char *err,
		 size_t errlen)
{
	const char *team = emu_json_str(spec, "team");
	long long n_users = emu_json_int(spec, "users", 1000);
	long long n_groups = emu_json_int(spec, "groups", 0);
	long long per_group = emu_json_int(spec, "members_per_group", 10);
	uint64_t rng = (uint64_t)emu_json_int(spec, "seed", 1);
	const struct emu_workspace *old;
	struct emu_workspace *ws = NULL;
	struct emu_user u;
	struct emu_group g;
	const char *name, *domain, *email_domain, *shape;
	char defname[96];
	long long i;
	int rc;

	*out = NULL;
	shape = emu_json_str(spec, "shape");
	if (shape && strcmp(shape, "company") == 0)
		return emu_generate_company(spec, w, base_url, out, err, errlen);
	if (shape && strcmp(shape, "uniform") != 0) {
		snprintf(err, errlen, "generate: \"shape\" is \"uniform\" (default) or \"company\"");
		return -EINVAL;
	}
	if (!team || !*team || strlen(team) > 32 || n_users < 1 ||
	    n_users > EMU_GENERATE_MAX_USERS || n_groups < 0 ||
	    n_groups > EMU_GENERATE_MAX_GROUPS || per_group < 0 ||
	    per_group > EMU_GENERATE_MAX_MEMBERS) {
		snprintf(err, errlen, "generate: needs \"team\", 1 <= users <= %d, "
			 "0 <= groups <= %d, 0 <= members_per_group <= %d",
			 EMU_GENERATE_MAX_USERS, EMU_GENERATE_MAX_GROUPS,
			 EMU_GENERATE_MAX_MEMBERS);
		return -EINVAL;
	}
	if (per_group > n_users)
		per_group = n_users;
	old = emu_world_workspace(w, team);
	snprintf(defname, sizeof(defname), "Generated %s", team);
	name = emu_json_str(spec, "name");
	domain = emu_json_str(spec, "domain");
	if (!name)
		name = old ? emu_workspace_name(old) : defname;
	if (!domain)
		domain = old ? emu_workspace_domain(old) : team;
	email_domain = old && emu_json_str(old->team, "email_domain") &&
			       *emu_json_str(old->team, "email_domain")
			       ? emu_json_str(old->team, "email_domain")
			       : "example.com";

	rc = emu_workspace_new(team, name, domain, base_url, &ws);
	if (rc < 0)
		return rc;
	if (old) {
		free(ws->bot_user_id);
		free(ws->bot_id);
		ws->bot_user_id = emu_strdup(old->bot_user_id, &rc);
		ws->bot_id = emu_strdup(old->bot_id, &rc);
	} else {
		ws->bot_user_id = emu_strdup("U0EMUBOT01", &rc);
		ws->bot_id = emu_strdup("B0EMUBOT01", &rc);
	}
	for (i = 0; rc == 0 && i < n_users; i++) {
		rc = gen_user(&u, (size_t)i, &rng, email_domain);
		if (rc == 0) {
			rc = emu_workspace_add_user(ws, &u);
			emu_user_clear(&u);
		}
	}
	for (i = 0; rc == 0 && i < n_groups; i++) {
		rc = gen_group(&g, (size_t)i, (size_t)per_group, (size_t)n_users, &rng);
		if (rc == 0) {
			rc = emu_workspace_add_group(ws, &g);
			emu_group_clear(&g);
		}
	}
	if (rc < 0) {
		emu_workspace_free(ws);
		return rc;
	}
	*out = ws;
	return 0;
}
