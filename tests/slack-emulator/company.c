/* company.c - a large company's workspace and its daily change (company.h). */
#include "company.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "util.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define TITLE_MAX_CHARS 250	/* longest title, unless the spec says less */

/* Latin first; the last entries carry decomposed combining marks. */
static const char *const first_latin[] = {
	"Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken",
	"Frances", "John", "Radia", "Edsger", "Karen", "Donald", "Shafi",
	"Hedy", "Tim", "Sophie", "Guido", "Anita", "Lynn", "James", "Mary-Jo",
	"Chloé", "José", "Björn", "Priya", "Olu", "Siobhán", "Łukasz",
	"Zoe\xcc\x88", "Rene\xcc\x81" "e", "Noe\xcc\x88" "l",
};
static const char *const last_latin[] = {
	"Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie",
	"Liskov", "Thompson", "Allen", "Backus", "Perlman", "Dijkstra",
	"O'Brien", "D'Angelo", "Knuth", "Wirth", "Berners-Lee", "van Rossum",
	"Smith, Jr.", "García Márquez", "Müller", "Østergaard", "Nguyễn",
	"Kowalski", "Okafor", "Sharma", "Ngu\xcc\x83" "yen", "Mu\xcc\x88ller",
};
static const char *const first_cjk[] = {
	"太郎", "花子", "美咲", "翔", "伟", "芳", "秀英", "민준", "서연", "陽菜",
};
static const char *const last_cjk[] = {
	"山田", "佐藤", "鈴木", "高橋", "王", "李", "张", "김", "이", "박",
};
static const char *const emoji[] = {
	" \xf0\x9f\x9a\x80", " \xf0\x9f\x8c\xb4", " \xe2\x98\x95", " \xf0\x9f\x8e\xb8",
	" \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb",	/* a ZWJ sequence */
};
static const char *const titles[] = {
	"", "", "Engineer", "Senior Engineer", "Designer", "Product Manager",
	"Account Executive", "Support Specialist", "Recruiter", "Data Analyst",
	"Engineering Manager", "Contractor", "Intern", "VP, Engineering",
	"Head of \"Special\" Projects", "Directrice générale adjointe",
	"ソフトウェアエンジニア", "Sales, EMEA, \"Enterprise\"",
};
static const char *const long_title_words[] = {
	"Senior", "Principal", "Staff", "Engineer,", "Platform", "Reliability",
	"\"Infrastructure\"", "and", "Developer", "Experience", "Équipe",
	"Paris,", "東京", "Operations", "—", "Lead", "(interim)",
};
static const char *const zones[][3] = {
	{ "Europe/Paris", "Central European Time", "3600" },
	{ "America/New_York", "Eastern Standard Time", "-18000" },
	{ "America/Los_Angeles", "Pacific Standard Time", "-28800" },
	{ "Asia/Tokyo", "Japan Standard Time", "32400" },
	{ "Asia/Kolkata", "India Standard Time", "19800" },
};

static size_t pick(uint64_t *rng, size_t n)
{
	return (size_t)(emu_gen_rand(rng) % n);
}

/* Lower-cased ASCII letters of s, for handles and e-mail local parts. */
static void ascii_handle(const char *s, char *out, size_t size)
{
	size_t j = 0;

	for (; *s && j + 1 < size; s++)
		if (!((unsigned char)*s & 0x80) && isalpha((unsigned char)*s))
			out[j++] = (char)tolower((unsigned char)*s);
	out[j] = '\0';
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A title of at most `max` characters, made of whole words. */
static void long_title(uint64_t *rng, size_t max, char *out, size_t size)
{
	size_t len = 0, chars = 0;

	out[0] = '\0';
	for (;;) {
		const char *w = long_title_words[pick(rng, COUNT(long_title_words))];
		size_t wl = strlen(w), wc = utf8_chars(w) + (len ? 1 : 0);

		if (chars + wc > max || len + wl + 2 > size)
			break;
		len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "", w);
		chars += wc;
	}
}

static int set_name(struct emu_user *u, uint64_t *rng, size_t i)
{
	bool cjk = pick(rng, 10) == 0;
	const char *first = cjk ? first_cjk[pick(rng, COUNT(first_cjk))]
				: first_latin[pick(rng, COUNT(first_latin))];
	const char *last = cjk ? last_cjk[pick(rng, COUNT(last_cjk))]
			       : last_latin[pick(rng, COUNT(last_latin))];
	unsigned look = (unsigned)pick(rng, 100);
	char real[160], display[160];
	int rc = 0;

	(void)i;
	/* CJK names are written family name first, without a space. */
	if (cjk)
		snprintf(real, sizeof(real), "%s%s", last, first);
	else
		snprintf(real, sizeof(real), "%s %s", first, last);
	if (look < 25)
		display[0] = '\0';
	else if (look < 30)
		snprintf(display, sizeof(display), "%s%s", first,
			 emoji[pick(rng, COUNT(emoji))]);
	else if (look < 32)
		snprintf(display, sizeof(display), "%s \"%s\" %s", first, "Doc", last);
	else
		snprintf(display, sizeof(display), "%s", first);
	free(u->real_name);
	free(u->display_name);
	free(u->first_name);
	free(u->last_name);
	u->real_name = emu_strdup(real, &rc);
	u->display_name = emu_strdup(display, &rc);
	u->first_name = emu_strdup(first, &rc);
	u->last_name = emu_strdup(last, &rc);
	return rc;
}

static int set_title(struct emu_user *u, uint64_t *rng, size_t max)
{
	char t[1024];
	int rc = 0;

	if (pick(rng, 100) == 0)
		long_title(rng, max, t, sizeof(t));
	else
		snprintf(t, sizeof(t), "%s", titles[pick(rng, COUNT(titles))]);
	free(u->title);
	u->title = emu_strdup(t, &rc);
	return rc;
}

static int set_picture(struct emu_user *u, uint64_t *rng, bool custom)
{
	char hash[24];
	int rc = 0;

	u->is_custom_image = custom;
	snprintf(hash, sizeof(hash), "%s%010llx", custom ? "" : "g",
		 (unsigned long long)(emu_gen_rand(rng) & 0xffffffffffULL));
	free(u->avatar_hash);
	u->avatar_hash = emu_strdup(hash, &rc);
	return rc;
}

/* E-mail from the first name's letters, the id's number and `tag`. */
static int set_email(struct emu_user *u, size_t number, const char *tag,
		     const char *domain)
{
	char f[64], l[64], email[256];
	int rc = 0;

	ascii_handle(u->first_name, f, sizeof(f));
	ascii_handle(u->last_name, l, sizeof(l));
	snprintf(email, sizeof(email), "%s.%s%s.%zu@%s", *f ? f : "user",
		 *l ? l : "x", tag, number, domain);
	free(u->email);
	u->email = emu_strdup(email, &rc);
	u->is_email_confirmed = true;
	return rc;
}

static int person(struct emu_user *u, size_t number, uint64_t *rng,
		  const char *domain, const char *app_id, size_t max_title)
{
	unsigned roll = (unsigned)pick(rng, 1000);
	size_t z = pick(rng, COUNT(zones));
	char id[96], f[64];
	int rc = 0;

	memset(u, 0, sizeof(*u));
	snprintf(id, sizeof(id), "UC%09zu", number);
	u->id = emu_strdup(id, &rc);
	if (rc == 0) rc = set_name(u, rng, number);
	if (rc == 0) rc = set_title(u, rng, max_title);
	if (rc == 0) rc = set_picture(u, rng, roll % 3 == 0);
	ascii_handle(u->first_name ? u->first_name : "", f, sizeof(f));
	snprintf(id, sizeof(id), "%s.%zu", *f ? f : "user", number);
	u->name = emu_strdup(id, &rc);
	u->is_primary_owner = u->is_owner = number == 0 || roll == 999;
	u->is_primary_owner = number == 0;
	u->is_admin = u->is_owner || roll < 20;			/* 2 % */
	u->is_restricted = roll >= 20 && roll < 90;			/* 5 % + 2 % */
	u->is_ultra_restricted = roll >= 70 && roll < 90;		/* 2 % */
	u->deleted = number != 0 && roll >= 90 && roll < 120;		/* 3 % */
	u->is_bot = number != 0 && roll >= 120 && roll < 130;		/* 1 % */
	u->is_app_user = number != 0 && roll >= 130 && roll < 140;	/* 1 % */
	u->is_invited_user = roll >= 140 && roll < 150;		/* 1 % */
	/* Bots, app users and 1 % of people have no e-mail. */
	if (rc == 0 && !u->is_bot && !u->is_app_user && !(roll >= 150 && roll < 160))
		rc = set_email(u, number, "", domain);
	if (rc == 0 && (u->is_bot || u->is_app_user)) {
		char bot_id[32];

		u->profile_extra = json_object_new_object();
		snprintf(bot_id, sizeof(bot_id), "BC%09zu", number);
		rc = u->profile_extra ? emu_json_add_str(u->profile_extra, "bot_id", bot_id)
				      : -ENOMEM;
		if (rc == 0)
			rc = emu_json_add_str(u->profile_extra, "api_app_id", app_id);
	}
	u->phone = emu_strdup(roll % 7 == 0 ? "+33 1 23 45 67 89" : "", &rc);
	u->status_text = emu_strdup(roll % 11 == 0 ? "On holiday, back Monday" : "", &rc);
	u->status_emoji = emu_strdup(roll % 11 == 0 ? ":palm_tree:" : "", &rc);
	u->tz = emu_strdup(zones[z][0], &rc);
	u->tz_label = emu_strdup(zones[z][1], &rc);
	u->tz_offset = atoll(zones[z][2]);
	u->color = emu_strdup("9f69e7", &rc);
	u->updated = 1704067200LL + (long long)pick(rng, 30000000);
	if (rc < 0)
		emu_user_clear(u);
	return rc;
}

static int put_literal(struct emu_workspace *ws, const char *text, char *err,
		       size_t errlen)
{
	json_object *o = json_tokener_parse(text);
	int rc = o ? emu_workspace_put_user(ws, o, err, errlen) : -ENOMEM;

	json_object_put(o);
	return rc;
}

/* Slackbot and the app's own bot user, as Slack lists them. */
static int system_users(struct emu_workspace *ws, char *err, size_t errlen)
{
	char bot[512];
	int rc;

	rc = put_literal(ws, "{\"id\":\"USLACKBOT\",\"name\":\"slackbot\","
			 "\"real_name\":\"Slackbot\",\"is_bot\":false,\"updated\":0,"
			 "\"profile\":{\"real_name\":\"Slackbot\",\"display_name\":"
			 "\"Slackbot\",\"first_name\":\"slackbot\",\"last_name\":\"\","
			 "\"avatar_hash\":\"sv41d8cd98f0\",\"always_active\":true}}",
			 err, errlen);
	snprintf(bot, sizeof(bot), "{\"id\":\"%s\",\"name\":\"provisioning\","
		 "\"real_name\":\"Provisioning\",\"is_bot\":true,\"updated\":1714000000,"
		 "\"profile\":{\"real_name\":\"Provisioning\",\"display_name\":\"\","
		 "\"bot_id\":\"%s\",\"always_active\":true,\"is_custom_image\":true}}",
		 ws->bot_user_id, ws->bot_id);
	if (rc == 0)
		rc = put_literal(ws, bot, err, errlen);
	return rc;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Size of the group of rank r (1-based) among m candidate members. */
static size_t group_size(size_t r, size_t m, uint64_t *rng)
{
	double s = 0.885 * (double)m / pow((double)r, 0.65);

	/* Past the departments and locations: project and interest groups. */
	if (r > 250)
		s = s * (double)(2 + pick(rng, 29)) / 100.0;
	if (s < 2)
		s = 2;
	return (size_t)s < m ? (size_t)s : m;
}

/*
 * `k` distinct positions among `cand`, in ascending order, into g->users.
 * `mark` is a zeroed scratch map of n_cand bytes, left zeroed.
 */
static int draw_members(struct emu_workspace *ws, struct emu_group *g,
			const size_t *cand, size_t n_cand, size_t k,
			unsigned char *mark, uint64_t *rng)
{
	size_t *pos = NULL, n = 0, i;
	bool invert = k > n_cand / 2;	/* draw the ones left out instead */
	size_t want = invert ? n_cand - k : k;
	int rc = 0;

	g->users = calloc(k ? k : 1, sizeof(char *));
	pos = malloc((want ? want : 1) * sizeof(*pos));
	if (!g->users || !pos) {
		rc = -ENOMEM;
		goto out;
	}
	while (n < want) {
		size_t p = pick(rng, n_cand);

		if (!mark[p]) {
			mark[p] = 1;
			pos[n++] = p;
		}
	}
	if (!invert)
		qsort(pos, n, sizeof(*pos), cmp_size);
	for (i = 0; rc == 0 && i < (invert ? n_cand : n); i++) {
		size_t p = invert ? i : pos[i];

		if (invert && mark[p])
			continue;
		g->users[g->n_users] = emu_strdup(ws->users[cand[p]].id, &rc);
		if (rc == 0)
			g->n_users++;
	}
	for (i = 0; i < n; i++)
		mark[pos[i]] = 0;
out:
	free(pos);
	return rc;
}

static int company_group(struct emu_workspace *ws, size_t i, const size_t *cand,
			 size_t n_cand, unsigned char *mark, uint64_t *rng)
{
	struct emu_group g;
	char buf[64];
	int rc = 0;

	memset(&g, 0, sizeof(g));
	snprintf(buf, sizeof(buf), "SC%07zu", i);
	g.id = emu_strdup(buf, &rc);
	snprintf(buf, sizeof(buf), i == 0 ? "Everyone" : "Team %zu", i);
	g.name = emu_strdup(buf, &rc);
	snprintf(buf, sizeof(buf), "team-%zu", i);
	g.handle = emu_strdup(buf, &rc);
	g.description = emu_strdup(i % 3 ? "" : "People of this team, \"as in HR\"", &rc);
	g.created_by = emu_strdup("UC000000000", &rc);
	g.updated_by = emu_strdup("UC000000000", &rc);
	g.date_create = g.date_update = 1704067200LL;
	if (i % 20 == 19) {
		g.date_delete = 1706745600LL;
		g.deleted_by = emu_strdup("UC000000000", &rc);
	}
	if (rc == 0)
		rc = draw_members(ws, &g, cand, n_cand, group_size(i + 1, n_cand, rng),
				  mark, rng);
	if (rc == 0)
		rc = emu_workspace_add_group(ws, &g);
	emu_group_clear(&g);
	return rc;
}

static const char *team_email_domain(const struct emu_workspace *old)
{
	const char *d = old ? emu_json_str(old->team, "email_domain") : NULL;

	return d && *d ? d : "example.com";
}

int emu_generate_company(json_object *spec, const struct emu_world *w,
			 const char *base_url, struct emu_workspace **out,
			 char *err, size_t errlen)
{
	const char *team = emu_json_str(spec, "team");
	long long n_users = emu_json_int(spec, "users", 1000);
	long long n_groups = emu_json_int(spec, "groups", 0);
	long long max_title = emu_json_int(spec, "max_title", TITLE_MAX_CHARS);
	uint64_t rng = (uint64_t)emu_json_int(spec, "seed", 1);
	const struct emu_workspace *old;
	struct emu_workspace *ws = NULL;
	unsigned char *mark = NULL;
	size_t *cand = NULL, n_cand = 0, i;
	const char *name, *domain;
	char defname[96];
	struct emu_user u;
	int rc;

	*out = NULL;
	if (!team || !*team || strlen(team) > 32 || n_users < 1 ||
	    n_users > EMU_GENERATE_MAX_USERS || n_groups < 0 ||
	    n_groups > EMU_GENERATE_MAX_GROUPS || max_title < 20 ||
	    max_title > TITLE_MAX_CHARS) {
		snprintf(err, errlen, "generate: needs \"team\", 1 <= users <= %d, "
			 "0 <= groups <= %d, 20 <= max_title <= %d", EMU_GENERATE_MAX_USERS,
			 EMU_GENERATE_MAX_GROUPS, TITLE_MAX_CHARS);
		return -EINVAL;
	}
	old = emu_world_workspace(w, team);
	snprintf(defname, sizeof(defname), "Generated %s", team);
	name = emu_json_str(spec, "name");
	domain = emu_json_str(spec, "domain");
	if (!name)
		name = old ? emu_workspace_name(old) : defname;
	if (!domain)
		domain = old ? emu_workspace_domain(old) : team;
	rc = emu_workspace_new(team, name, domain, base_url, &ws);
	if (rc < 0)
		return rc;
	free(ws->bot_user_id);
	free(ws->bot_id);
	ws->bot_user_id = emu_strdup(old ? old->bot_user_id : "U0EMUBOT01", &rc);
	ws->bot_id = emu_strdup(old ? old->bot_id : "B0EMUBOT01", &rc);
	if (rc == 0)
		rc = system_users(ws, err, errlen);
	for (i = 0; rc == 0 && i < (size_t)n_users; i++) {
		rc = person(&u, i, &rng, team_email_domain(old), "A0DEMOAPP1",
			    (size_t)max_title);
		if (rc == 0) {
			rc = emu_workspace_add_user(ws, &u);
			emu_user_clear(&u);
		}
	}
	if (rc == 0) {
		cand = malloc(ws->n_users * sizeof(*cand));
		mark = calloc(ws->n_users, 1);
		rc = cand && mark ? 0 : -ENOMEM;
	}
	/* Group members: people, not Slackbot, bots or app users. */
	for (i = 2; rc == 0 && i < ws->n_users; i++)
		if (!ws->users[i].is_bot && !ws->users[i].is_app_user)
			cand[n_cand++] = i;
	for (i = 0; rc == 0 && n_cand && i < (size_t)n_groups; i++)
		rc = company_group(ws, i, cand, n_cand, mark, &rng);
	free(cand);
	free(mark);
	if (rc < 0) {
		emu_workspace_free(ws);
		return rc;
	}
	*out = ws;
	return 0;
}

/* ---- the change step ---------------------------------------------------- */

enum change_kind {
	CH_RENAME, CH_TITLE, CH_PICTURE, CH_EMAIL, CH_DEACTIVATE, CH_RETURN,
	CH_ARRIVE, CH_REMOVE, CH_MOVE, CH_KINDS
};

static const struct {
	const char *key;
	unsigned per_mille;	/* share of the changes */
} kinds[CH_KINDS] = {
	[CH_RENAME] = { "renamed", 150 },
	[CH_TITLE] = { "titles", 200 },
	[CH_PICTURE] = { "pictures", 150 },
	[CH_EMAIL] = { "emails", 100 },
	[CH_DEACTIVATE] = { "deactivated", 100 },
	[CH_RETURN] = { "returned", 50 },
	[CH_ARRIVE] = { "arrived", 100 },
	[CH_REMOVE] = { "removed_from_group", 100 },
	[CH_MOVE] = { "moved_between_groups", 50 },
};

/* An active person (not Slackbot, a bot or an app user), or NULL. */
static struct emu_user *random_person(struct emu_workspace *ws, uint64_t *rng,
				      bool deleted)
{
	int tries;

	for (tries = 0; tries < 1000 && ws->n_users > 3; tries++) {
		struct emu_user *u = &ws->users[3 + pick(rng, ws->n_users - 3)];

		if (!u->is_bot && !u->is_app_user && u->deleted == deleted &&
		    strncmp(u->id, "UC", 2) == 0)
			return u;
	}
	return NULL;
}

static long member_pos(const struct emu_group *g, const char *id)
{
	size_t i;

	for (i = 0; i < g->n_users; i++)
		if (strcmp(g->users[i], id) == 0)
			return (long)i;
	return -1;
}

static int group_add(struct emu_group *g, const char *id)
{
	char **p;
	int rc = 0;

	if (member_pos(g, id) >= 0)
		return 0;
	p = realloc(g->users, (g->n_users + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	g->users = p;
	g->users[g->n_users] = emu_strdup(id, &rc);
	if (rc == 0)
		g->n_users++;
	return rc;
}

static void group_remove(struct emu_group *g, size_t pos)
{
	free(g->users[pos]);
	memmove(&g->users[pos], &g->users[pos + 1],
		(g->n_users - pos - 1) * sizeof(g->users[0]));
	g->n_users--;
}

/* Highest person number in use, so arrivals get fresh ids. */
static size_t next_number(const struct emu_workspace *ws)
{
	size_t i, next = 0;

	for (i = 0; i < ws->n_users; i++) {
		const char *id = ws->users[i].id;

		if (strncmp(id, "UC", 2) == 0 && strlen(id) == 11) {
			size_t n = (size_t)strtoull(id + 2, NULL, 10);

			if (n + 1 > next)
				next = n + 1;
		}
	}
	return next;
}

static int apply_one(struct emu_workspace *ws, enum change_kind kind,
		     struct emu_group **mapped, size_t n_mapped, size_t *number,
		     uint64_t *rng, const char *domain, size_t max_title, bool *done)
{
	struct emu_user *u = NULL, fresh;
	struct emu_group *a, *b;
	char tag[32];
	long pos;
	int rc = 0;

	*done = false;
	if (kind != CH_ARRIVE && kind != CH_REMOVE && kind != CH_MOVE) {
		u = random_person(ws, rng, kind == CH_RETURN);
		if (!u)
			return 0;
		u->updated += 86400;
		emu_user_touch(u);	/* its kept users.list text is stale now */
	}
	switch (kind) {
	case CH_RENAME:
		rc = set_name(u, rng, 0);
		break;
	case CH_TITLE:
		rc = set_title(u, rng, max_title);
		break;
	case CH_PICTURE:
		rc = set_picture(u, rng, true);
		break;
	case CH_EMAIL:
		snprintf(tag, sizeof(tag), ".m%llu", (unsigned long long)pick(rng, 1000000));
		rc = set_email(u, (size_t)pick(rng, 1000000), tag, domain);
		break;
	case CH_DEACTIVATE:
		u->deleted = true;
		break;
	case CH_RETURN:
		u->deleted = false;
		break;
	case CH_ARRIVE:
		rc = person(&fresh, (*number)++, rng, domain, "A0DEMOAPP1", max_title);
		if (rc < 0)
			return rc;
		/* A newcomer is a plain active member of staff. */
		fresh.deleted = fresh.is_bot = fresh.is_app_user = false;
		fresh.is_primary_owner = fresh.is_owner = false;
		if (!fresh.email)
			rc = set_email(&fresh, *number - 1, "", domain);
		a = n_mapped ? mapped[pick(rng, n_mapped)] : NULL;
		if (rc == 0 && a)
			rc = group_add(a, fresh.id);
		if (rc == 0)
			rc = emu_workspace_add_user(ws, &fresh);
		emu_user_clear(&fresh);
		break;
	case CH_REMOVE:
		a = n_mapped ? mapped[pick(rng, n_mapped)] : NULL;
		if (!a || a->n_users < 2)
			return 0;
		group_remove(a, pick(rng, a->n_users));
		break;
	case CH_MOVE:
		if (n_mapped < 2)
			return 0;
		a = mapped[pick(rng, n_mapped)];
		b = mapped[pick(rng, n_mapped)];
		if (a == b || a->n_users < 2)
			return 0;
		pos = (long)pick(rng, a->n_users);
		if (member_pos(b, a->users[pos]) >= 0)
			return 0;
		rc = group_add(b, a->users[pos]);
		if (rc == 0)
			group_remove(a, (size_t)pos);
		break;
	default:
		return -EINVAL;
	}
	*done = rc == 0;
	return rc;
}

int emu_company_change(struct emu_workspace *ws, json_object *spec,
		       json_object **counts, char *err, size_t errlen)
{
	double percent = 1.0;
	json_object *p = NULL;
	long long n_mapped_want = emu_json_int(spec, "mapped", 200);
	long long max_title = emu_json_int(spec, "max_title", TITLE_MAX_CHARS);
	uint64_t rng = (uint64_t)emu_json_int(spec, "seed", 1);
	struct emu_group **mapped = NULL;
	size_t n_mapped = 0, total, number, i, k;
	long long done_count[CH_KINDS] = { 0 };
	const char *domain = emu_json_str(ws->team, "email_domain");
	json_object *o = NULL;
	int rc = 0;

	*counts = NULL;
	if (json_object_object_get_ex(spec, "percent", &p) && p)
		percent = json_object_get_double(p);
	if (!(percent > 0 && percent <= 50) || n_mapped_want < 0 || max_title < 20 ||
	    max_title > TITLE_MAX_CHARS) {
		snprintf(err, errlen, "change: needs 0 < percent <= 50, mapped >= 0 and "
			 "20 <= max_title <= %d", TITLE_MAX_CHARS);
		return -EINVAL;
	}
	if (!domain || !*domain)
		domain = "example.com";
	mapped = calloc(ws->n_groups ? ws->n_groups : 1, sizeof(*mapped));
	if (!mapped)
		return -ENOMEM;
	for (i = 0; i < ws->n_groups && n_mapped < (size_t)n_mapped_want; i++)
		if (ws->groups[i].date_delete == 0 && !ws->groups[i].derived_users)
			mapped[n_mapped++] = &ws->groups[i];
	number = next_number(ws);
	total = (size_t)((double)ws->n_users * percent / 100.0 + 0.5);
	/* Kinds interleaved in a fixed order, in proportion to their share. */
	for (k = 0; rc == 0 && k < CH_KINDS; k++) {
		size_t want = (total * kinds[k].per_mille + 500) / 1000;

		for (i = 0; rc == 0 && i < want; i++) {
			bool done;

			rc = apply_one(ws, (enum change_kind)k, mapped, n_mapped,
				       &number, &rng, domain, (size_t)max_title, &done);
			done_count[k] += done;
		}
	}
	o = rc == 0 ? json_object_new_object() : NULL;
	if (rc == 0 && !o)
		rc = -ENOMEM;
	for (k = 0; rc == 0 && k < CH_KINDS; k++)
		rc = emu_json_add_int(o, kinds[k].key, done_count[k]);
	free(mapped);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	*counts = o;
	return 0;
}
