#!/usr/bin/env python3
"""Black-box self-test of the Slack emulator.

Starts the emulator under spawn-fcgi and a throwaway nginx in a temporary
directory on a free loopback port, exercises every Slack method and every
control endpoint over HTTP, asserts the answers, and tears everything
down.  Python 3 standard library only.  Prints "N passed, N failed" last
and exits non-zero when anything failed.

    python3 tests/slack-emulator/selftest.py [path/to/slack-emulator]

An ASan/UBSan build is checked too: the emulator is stopped with SIGTERM
(it frees its state and exits), and any sanitizer report on its stderr
fails the run.
"""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "demo.json")
ALL = "xoxb-demo-all-scopes"
NO_EMAIL = "xoxb-demo-no-email"
USERS_ONLY = "xoxb-demo-users-only"
OTHER = "xoxb-other-all-scopes"
FREE = "xoxb-free-all-scopes"
APP = ("1111111111.2222222222", "demo-client-secret-0123456789abcdef")
ROT = ("3333333333.4444444444", "rotate-client-secret-0123456789abcdef")
CALLBACK = "http://127.0.0.1:9/oauth/slack/callback"

NGINX_CONF = """
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    fastcgi_temp_path {tmp}/fastcgi;
    proxy_temp_path {tmp}/proxy;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 16m;
    server {{
        listen 127.0.0.1:{port};
        location = /_emulator_reset_connection {{
            internal;
            return 444;
        }}
        location / {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param HTTP_AUTHORIZATION $http_authorization;
            fastcgi_pass unix:{tmp}/emulator.sock;
        }}
    }}
}}
"""


class Harness:
    """The emulator under spawn-fcgi plus an nginx in front of it."""

    def __init__(self, binary):
        self.binary = os.path.abspath(binary)
        self.tmp = tempfile.mkdtemp(prefix="slack-emulator-")
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.emu = self.nginx = None

    def start(self):
        sock = os.path.join(self.tmp, "emulator.sock")
        env = dict(os.environ, EMULATOR_FIXTURE=FIXTURE, EMULATOR_PUBLIC_URL=self.base,
                   ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                   UBSAN_OPTIONS="print_stacktrace=1")
        # -n: spawn-fcgi binds the socket and execs the emulator in place,
        # so the Popen pid is the emulator itself (SIGTERM reaches it).
        self.emu_err = open(os.path.join(self.tmp, "emulator.stderr"), "w+")
        self.emu = subprocess.Popen(["spawn-fcgi", "-n", "-s", sock, "-M", "0666", "--",
                                     self.binary], env=env, stderr=self.emu_err)
        wait_for(lambda: os.path.exists(sock), "emulator socket")
        user = "user root;" if os.geteuid() == 0 else ""
        conf = os.path.join(self.tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(tmp=self.tmp, port=self.port, user=user))
        self.nginx = subprocess.Popen(["nginx", "-p", self.tmp, "-c", conf, "-e",
                                       os.path.join(self.tmp, "error.log"), "-g",
                                       "daemon off;"], stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), "nginx port")
        wait_for(lambda: self.get_json("/_emulator/health")[0] == 200, "emulator health")

    def stop(self):
        """Stops both; returns the emulator's stderr (sanitizer reports)."""
        for p in (self.nginx, self.emu):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        report = ""
        if self.emu:
            self.emu_err.seek(0)
            report = self.emu_err.read()
            self.emu_err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return report, (self.emu.returncode if self.emu else None)

    # ---- HTTP -------------------------------------------------------------
    def request(self, method, path, params=None, form=None, body=None, token=None,
                headers=None):
        """Returns (status, headers dict lower-cased, body bytes)."""
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        hdrs = dict(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json; charset=utf-8")
        if token:
            hdrs["Authorization"] = "Bearer " + token
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=60) as r:
                try:
                    raw = r.read()
                except http.client.IncompleteRead as e:
                    raw = e.partial
                return r.status, {k.lower(): v for k, v in r.headers.items()}, raw
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def get_json(self, path, **kw):
        status, hdrs, raw = self.request("GET", path, **kw)
        return status, hdrs, parse(raw)

    def call(self, method, token=None, params=None, form=None, body=None, http="GET",
             headers=None):
        """A Slack Web API call; returns (status, headers, parsed body)."""
        if form is not None or body is not None:
            http = "POST"
        status, hdrs, raw = self.request(http, "/api/" + method, params=params, form=form,
                                         body=body, token=token, headers=headers)
        return status, hdrs, parse(raw)

    def ctl(self, method, path, body=None):
        status, hdrs, raw = self.request(method, "/_emulator/" + path, body=body)
        return status, parse(raw)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def parse(raw):
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(cond, what, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


# ---- assertions -----------------------------------------------------------
PASSED = []
FAILED = []


def check(name, cond, detail=""):
    if cond:
        PASSED.append(name)
    else:
        FAILED.append(name)
        print("FAIL: %s %s" % (name, detail if detail else ""))


def slack_error(name, answer, code):
    status, _, body = answer
    check(name, status == 200 and body and body.get("ok") is False and body.get("error") == code,
          "got %s %s" % (status, body))


def all_users(h, token, limit=None):
    """Pages through users.list; returns (members, pages, cursors)."""
    members, pages, cursors, cursor = [], 0, [], ""
    while True:
        params = {"cursor": cursor} if cursor else {}
        if limit:
            params["limit"] = limit
        status, _, body = h.call("users.list", token, params=params)
        if status != 200 or not body or not body.get("ok"):
            raise RuntimeError("users.list failed: %s %s" % (status, body))
        members += body["members"]
        pages += 1
        cursor = body["response_metadata"]["next_cursor"]
        if not cursor:
            return members, pages, cursors
        cursors.append(cursor)


def oauth_install(h, client=APP, scope="users:read,users:read.email,usergroups:read,team:read",
                  redirect=CALLBACK, state="st4te"):
    """authorize + oauth.v2.access; returns (authorize location query, access answer)."""
    params = {"client_id": client[0], "scope": scope, "state": state}
    if redirect:
        params["redirect_uri"] = redirect
    status, hdrs, _ = h.request("GET", "/oauth/v2/authorize", params=params)
    if status != 302:
        return None, (status, None)
    loc = urllib.parse.urlparse(hdrs["location"])
    q = dict(urllib.parse.parse_qsl(loc.query))
    if "code" not in q:
        return q, None
    basic = base64.b64encode(("%s:%s" % client).encode()).decode()
    form = {"code": q["code"]}
    if redirect:
        form["redirect_uri"] = redirect
    ans = h.call("oauth.v2.access", form=form, headers={"Authorization": "Basic " + basic})
    return q, ans


# ---- tests ----------------------------------------------------------------
def test_users_list(h, fixture):
    demo = fixture["workspaces"][0]
    status, hdrs, body = h.call("users.list", ALL)
    check("users.list ok", status == 200 and body["ok"] is True, body)
    check("users.list content type", hdrs.get("content-type") == "application/json; charset=utf-8",
          hdrs.get("content-type"))
    check("users.list x-oauth-scopes", hdrs.get("x-oauth-scopes") ==
          "users:read,users:read.email,usergroups:read,team:read", hdrs.get("x-oauth-scopes"))
    check("users.list x-accepted-oauth-scopes", hdrs.get("x-accepted-oauth-scopes") == "users:read")
    members = body["members"]
    ids = [u["id"] for u in members]
    check("users.list whole list in one page", ids == [u["id"] for u in demo["users"]])
    check("users.list last page next_cursor empty", body["response_metadata"]["next_cursor"] == "")
    check("users.list cache_ts", isinstance(body.get("cache_ts"), int))
    by = {u["id"]: u for u in members}
    sb = by["USLACKBOT"]
    check("slackbot is_bot false", sb["is_bot"] is False and sb["name"] == "slackbot")
    owner = by["U01OWNER01"]
    for key in ("id", "team_id", "name", "deleted", "real_name", "tz", "is_admin", "is_owner",
                "is_primary_owner", "is_restricted", "is_ultra_restricted", "is_bot", "is_app_user",
                "updated", "is_email_confirmed", "profile"):
        check("user field " + key, key in owner, owner)
    p = owner["profile"]
    for key in ("title", "real_name", "display_name", "first_name", "last_name", "email", "avatar_hash",
                "image_24", "image_32", "image_48", "image_72", "image_192", "image_512",
                "image_original", "is_custom_image"):
        check("profile field " + key, key in p, p)
    check("owner flags", owner["is_primary_owner"] and owner["is_owner"] and owner["is_admin"])
    check("team_id", owner["team_id"] == "T0DEMO0001")
    check("email present", p["email"] == "marie.curie@acme.example")
    default_av = by["U01MEMB002"]["profile"]
    check("default avatar: no image_original, not custom, hash g...",
          "image_original" not in default_av and default_av["is_custom_image"] is False
          and default_av["avatar_hash"].startswith("g"), default_av)
    check("is_invited_user only when true",
          by["U01INVIT01"].get("is_invited_user") is True and
          all("is_invited_user" not in u for u in members if u["id"] != "U01INVIT01"))
    gone = by["U01GONE001"]
    check("deleted user flagged", gone["deleted"] is True)
    check("deleted user reduced fields",
          set(gone) == {"id", "name", "is_bot", "updated", "is_app_user", "team_id", "deleted",
                        "is_forgotten", "profile"}, sorted(gone))
    check("guest flags", by["U01GUEST03"]["is_restricted"] and by["U01GUEST03"]["is_ultra_restricted"]
          and by["U01GUEST01"]["is_restricted"] and not by["U01GUEST01"]["is_ultra_restricted"])
    check("guest extra field passed through", by["U01GUEST02"].get("guest_expiration_ts") == 1893456000)
    check("no-email human", "email" not in by["U01NOMAIL1"]["profile"])
    check("bot user", by["U0DEMOBOT1"]["is_bot"] is True and
          by["U0DEMOBOT1"]["profile"].get("bot_id") == "B0DEMOBOT1")
    check("app user", by["U01APPUSR1"]["is_app_user"] is True)
    check("non-ASCII names", by["U01MEMB006"]["real_name"] == "山田 太郎" and
          by["U01MEMB004"]["profile"]["display_name"] == "zoë")
    check("include_locale", h.call("users.list", ALL, params={"include_locale": "true", "limit": 1})[2]
          ["members"][0].get("locale") == "en-US")

    # Without users:read.email, no profile.email anywhere.
    _, hdrs, body = h.call("users.list", NO_EMAIL)
    check("no email scope hides emails", body["ok"] and all("email" not in u["profile"]
                                                            for u in body["members"]))

    # Pagination with cursors.
    full_ids = ids
    paged, pages, cursors = all_users(h, ALL, limit=5)
    check("paged ids equal", [u["id"] for u in paged] == full_ids)
    check("page count", pages == (len(full_ids) + 4) // 5, pages)
    check("cursor is opaque base64 of user:<id>",
          all(base64.b64decode(c).decode().startswith("user:U") for c in cursors), cursors[:2])
    _, _, body = h.call("users.list", ALL, params={"limit": 5000})
    check("limit capped to whole list", len(body["members"]) == len(full_ids))
    slack_error("invalid_cursor garbage", h.call("users.list", ALL, params={"cursor": "!!nope"}),
                "invalid_cursor")
    slack_error("invalid_cursor unknown user",
                h.call("users.list", ALL, params={"cursor": base64.b64encode(b"user:UNOPE").decode()}),
                "invalid_cursor")
    slack_error("invalid_cursor plain index", h.call("users.list", ALL, params={"cursor": "5"}),
                "invalid_cursor")

    # Ways of passing arguments and the token.
    _, _, body = h.call("users.list", form={"token": ALL, "limit": "3"})
    check("POST form with token param", body["ok"] and len(body["members"]) == 3, body)
    _, _, body = h.call("users.list", ALL, body={"limit": 2})
    check("POST JSON body with Bearer", body["ok"] and len(body["members"]) == 2, body)
    slack_error("token in query string", h.call("users.list", params={"token": ALL}), "invalid_auth")
    slack_error("no token", h.call("users.list"), "not_authed")
    slack_error("bad token", h.call("users.list", "xoxb-nope"), "invalid_auth")
    status, _, body = h.call("usergroups.list", USERS_ONLY)
    check("missing_scope answer", body["ok"] is False and body["error"] == "missing_scope" and
          body["needed"] == "usergroups:read" and body["provided"] == "users:read", body)
    slack_error("unknown method", h.call("users.nope", ALL), "unknown_method")


def test_users_info(h):
    _, _, body = h.call("users.info", ALL, params={"user": "U01MEMB001"})
    check("users.info ok", body["ok"] and body["user"]["id"] == "U01MEMB001" and
          body["user"]["profile"]["email"] == "ada.lovelace@acme.example", body)
    _, _, body = h.call("users.info", NO_EMAIL, params={"user": "U01MEMB001"})
    check("users.info without email scope", body["ok"] and "email" not in body["user"]["profile"])
    slack_error("users.info unknown", h.call("users.info", ALL, params={"user": "U0NOPE"}),
                "user_not_found")
    slack_error("users.info missing arg", h.call("users.info", ALL), "missing_argument")
    _, _, body = h.call("users.info", ALL, form={"user": "U01GONE001"})
    check("users.info deleted (form arg)", body["ok"] and body["user"]["deleted"] is True)


def test_usergroups(h):
    _, hdrs, body = h.call("usergroups.list", ALL)
    check("usergroups.list ok", body["ok"], body)
    ids = [g["id"] for g in body["usergroups"]]
    check("disabled hidden by default", "S01OLDPRJ1" not in ids and len(ids) == 8, ids)
    g = body["usergroups"][0]
    check("no users/user_count by default", "users" not in g and "user_count" not in g)
    for key in ("id", "team_id", "is_usergroup", "name", "description", "handle", "date_create",
                "date_update", "date_delete", "auto_type", "created_by", "updated_by", "prefs"):
        check("group field " + key, key in g, g)
    check("admins group auto_type", g["auto_type"] == "admin" and g["created_by"] == "USLACKBOT")
    _, _, body = h.call("usergroups.list", ALL, params={"include_disabled": "true",
                                                         "include_users": "true",
                                                         "include_count": "true"})
    by = {g["id"]: g for g in body["usergroups"]}
    check("include_disabled", "S01OLDPRJ1" in by and by["S01OLDPRJ1"]["date_delete"] != 0)
    check("user_count is a string", by["S01DESIGN1"]["user_count"] == "3")
    check("include_users", by["S01DESIGN1"]["users"] == ["U01MEMB004", "U01MEMB005", "U01MEMB013"])
    check("admins group follows roles", sorted(by["S01ADMINS1"]["users"]) ==
          ["U01ADMIN01", "U01ADMIN02", "U01OWNER01"], by["S01ADMINS1"]["users"])
    check("non-ASCII group name", by["S01PARIS01"]["name"] == "Équipe Paris")

    _, _, body = h.call("usergroups.users.list", ALL, params={"usergroup": "S01SALES01"})
    check("usergroups.users.list", body["ok"] and body["users"] ==
          ["U01MEMB006", "U01MEMB007", "U01MEMB012", "U01MEMB018"], body)
    slack_error("no_such_subteam", h.call("usergroups.users.list", ALL,
                                          params={"usergroup": "S0NOPE"}), "no_such_subteam")
    slack_error("disabled group hidden", h.call("usergroups.users.list", ALL,
                                                params={"usergroup": "S01OLDPRJ1"}), "no_such_subteam")
    _, _, body = h.call("usergroups.users.list", ALL, params={"usergroup": "S01OLDPRJ1",
                                                             "include_disabled": "1"})
    check("disabled group with include_disabled", body["ok"] and len(body["users"]) == 2, body)
    slack_error("usergroups.users.list missing arg", h.call("usergroups.users.list", ALL),
                "missing_argument")
    slack_error("free plan usergroups.list", h.call("usergroups.list", FREE), "plan_upgrade_required")
    slack_error("free plan usergroups.users.list",
                h.call("usergroups.users.list", FREE, params={"usergroup": "S03IGNORE1"}),
                "plan_upgrade_required")


def test_team_auth(h):
    _, _, body = h.call("team.info", ALL)
    t = body.get("team", {})
    check("team.info", body["ok"] and t["id"] == "T0DEMO0001" and t["name"] == "Acme Demo" and
          t["domain"] == "acme-demo" and t["email_domain"] == "acme.example" and
          t["icon"]["image_default"] is True, body)
    slack_error("team.info other team", h.call("team.info", ALL, params={"team": "T0OTHER001"}),
                "team_not_found")
    slack_error("team.info needs team:read", h.call("team.info", USERS_ONLY), "missing_scope")
    _, _, body = h.call("auth.test", ALL, http="POST")
    check("auth.test", body["ok"] and body["team_id"] == "T0DEMO0001" and
          body["user_id"] == "U0DEMOBOT1" and body["bot_id"] == "B0DEMOBOT1" and
          body["user"] == "provisioning" and body["team"] == "Acme Demo" and
          body["url"] == "https://acme-demo.slack.com/", body)
    _, _, body = h.call("auth.test", OTHER)
    check("auth.test other workspace", body["ok"] and body["team_id"] == "T0OTHER001")


def test_oauth(h):
    q, ans = oauth_install(h)
    check("authorize redirects with code and state", q and q.get("state") == "st4te" and "code" in q, q)
    status, _, body = ans
    check("oauth.v2.access ok", status == 200 and body["ok"], body)
    check("oauth.v2.access shape",
          body["access_token"].startswith("xoxb-") and body["token_type"] == "bot" and
          body["scope"] == "users:read,users:read.email,usergroups:read,team:read" and
          body["bot_user_id"] == "U0DEMOBOT1" and body["app_id"] == "A0DEMOAPP1" and
          body["team"] == {"id": "T0DEMO0001", "name": "Acme Demo"} and body["enterprise"] is None and
          body["is_enterprise_install"] is False and body["authed_user"] == {"id": "U01OWNER01"} and
          "expires_in" not in body and "refresh_token" not in body, body)
    token = body["access_token"]
    _, hdrs, body2 = h.call("users.list", token, params={"limit": 1})
    check("issued token works", body2["ok"] and hdrs.get("x-oauth-scopes") == body["scope"])
    basic = base64.b64encode(("%s:%s" % APP).encode()).decode()
    slack_error("code is single use", h.call("oauth.v2.access", form={"code": q["code"],
                                                                     "redirect_uri": CALLBACK},
                                              headers={"Authorization": "Basic " + basic}),
                "invalid_code")
    _, tokens = h.ctl("GET", "tokens")
    check("tokens list has issued token", any(t["token"] == token and t["team"] == "T0DEMO0001" and
                                              t["revoked"] is False for t in tokens["tokens"]))

    # Client credentials as form parameters, fewer scopes.
    status, hdrs, _ = h.request("GET", "/oauth/v2/authorize",
                                params={"client_id": APP[0], "scope": "users:read",
                                        "redirect_uri": CALLBACK})
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(hdrs["location"]).query))["code"]
    check("authorize without state", status == 302 and "state=" not in hdrs["location"])
    slack_error("bad_redirect_uri", h.call("oauth.v2.access", form={
        "client_id": APP[0], "client_secret": APP[1], "code": code,
        "redirect_uri": "http://127.0.0.1:9/other"}), "bad_redirect_uri")
    slack_error("redirect_uri required when given to authorize", h.call("oauth.v2.access", form={
        "client_id": APP[0], "client_secret": APP[1], "code": code}), "bad_redirect_uri")
    slack_error("bad_client_secret", h.call("oauth.v2.access", form={
        "client_id": APP[0], "client_secret": "nope", "code": code, "redirect_uri": CALLBACK}),
        "bad_client_secret")
    slack_error("invalid_client_id", h.call("oauth.v2.access", form={
        "client_id": "999.999", "client_secret": APP[1], "code": code}), "invalid_client_id")
    slack_error("invalid_grant_type", h.call("oauth.v2.access", form={
        "client_id": APP[0], "client_secret": APP[1], "code": code, "grant_type": "password"}),
        "invalid_grant_type")
    slack_error("code of another app", h.call("oauth.v2.access", form={
        "client_id": ROT[0], "client_secret": ROT[1], "code": code, "redirect_uri": CALLBACK}),
        "invalid_code")
    _, _, body = h.call("oauth.v2.access", body={"client_id": APP[0], "client_secret": APP[1],
                                                 "code": code, "redirect_uri": CALLBACK})
    check("JSON body exchange, scope as asked", body["ok"] and body["scope"] == "users:read", body)
    slack_error("issued token lacks scope", h.call("team.info", body["access_token"]), "missing_scope")
    h.ctl("POST", "config", {"code_ttl": 1})
    params = {"client_id": APP[0], "scope": "users:read", "redirect_uri": CALLBACK}
    loc = h.request("GET", "/oauth/v2/authorize", params=params)[1]["location"]
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(loc).query))["code"]
    time.sleep(1.2)
    slack_error("code expires (code_ttl)", h.call("oauth.v2.access", form={
        "client_id": APP[0], "client_secret": APP[1], "code": code, "redirect_uri": CALLBACK}),
        "invalid_code")
    h.ctl("POST", "reset")
    slack_error("garbage code", h.call("oauth.v2.access", form={
        "client_id": APP[0], "client_secret": APP[1], "code": "123.456.nope"}), "invalid_code")

    # Error pages: Slack does not redirect to an unchecked URL.
    status, hdrs, raw = h.request("GET", "/oauth/v2/authorize",
                                  params={"client_id": "nope", "scope": "users:read",
                                          "redirect_uri": CALLBACK})
    check("unknown client_id: 400 page", status == 400 and "location" not in hdrs and b"client_id" in raw)
    status, hdrs, _ = h.request("GET", "/oauth/v2/authorize",
                                params={"client_id": APP[0], "scope": "users:read",
                                        "redirect_uri": "https://evil.example/cb"})
    check("unregistered redirect_uri: 400 page", status == 400 and "location" not in hdrs)
    status, hdrs, _ = h.request("GET", "/oauth/v2/authorize", params={"client_id": APP[0],
                                                                     "redirect_uri": CALLBACK})
    check("no scope: 400 page", status == 400)
    status, hdrs, _ = h.request("GET", "/oauth/v2/authorize", params={"client_id": APP[0],
                                                                     "scope": "users:read"})
    check("no redirect_uri: app's https URL used", status == 302 and hdrs["location"].startswith(
        "https://localhost/oauth/slack/callback?code="), hdrs.get("location"))

    # Who installs: set by the control API.
    status, body = h.ctl("POST", "install", {"team": "T0OTHER001", "user": "U02ADMIN01"})
    check("install control", status == 200 and body["install"]["team"] == "T0OTHER001", body)
    _, ans = oauth_install(h)
    body = ans[2]
    check("install into chosen workspace/user", body["ok"] and body["team"]["id"] == "T0OTHER001" and
          body["authed_user"]["id"] == "U02ADMIN01" and body["bot_user_id"] == "U0OTHBOT01", body)
    h.ctl("POST", "install", {"deny": True})
    q, ans = oauth_install(h, state="xyz")
    check("deny: access_denied with state", q == {"error": "access_denied", "state": "xyz"}, q)
    q, ans = oauth_install(h)
    check("deny applies once; default team back", ans and ans[2]["ok"] and
          ans[2]["team"]["id"] == "T0DEMO0001" and ans[2]["authed_user"]["id"] == "U01OWNER01",
          ans and ans[2])
    status, body = h.ctl("POST", "install", {"team": "T0NOPE"})
    check("install unknown team: 422", status == 422, body)
    status, body = h.ctl("POST", "install", {"team": "T0DEMO0001", "user": "U02ADMIN01"})
    check("install user of another team: 422", status == 422, body)


def test_revoke(h):
    _, ans = oauth_install(h)
    token = ans[2]["access_token"]
    _, _, body = h.call("auth.revoke", token, params={"test": "1"})
    check("auth.revoke test=1", body == {"ok": True, "revoked": True}, body)
    check("test=1 revokes nothing", h.call("auth.test", token)[2]["ok"])
    _, _, body = h.call("auth.revoke", token, http="POST")
    check("auth.revoke", body == {"ok": True, "revoked": True}, body)
    slack_error("revoked token", h.call("users.list", token), "token_revoked")
    slack_error("revoked token auth.test", h.call("auth.test", token), "token_revoked")
    _, tokens = h.ctl("GET", "tokens")
    check("tokens list shows revoked", any(t["token"] == token and t["revoked"] for t in tokens["tokens"]))
    status, body = h.ctl("POST", "tokens/revoke", {"team": "T0OTHER001"})
    check("control revoke by team", status == 200 and body["changed"] >= 1, body)
    slack_error("uninstalled team token", h.call("auth.test", OTHER), "token_revoked")


def test_rotation(h):
    _, ans = oauth_install(h, client=ROT)
    body = ans[2]
    check("rotation: expires_in and refresh_token", body["ok"] and body["expires_in"] == 43200 and
          body["refresh_token"].startswith("xoxe-1-") and body["access_token"].startswith("xoxb-"), body)
    first_access, refresh = body["access_token"], body["refresh_token"]
    _, _, at = h.call("auth.test", first_access)
    check("auth.test expires_in for rotating token", at["ok"] and 43000 < at["expires_in"] <= 43200, at)
    form = {"client_id": ROT[0], "client_secret": ROT[1], "grant_type": "refresh_token",
            "refresh_token": refresh}
    _, _, body = h.call("oauth.v2.access", form=form)
    check("refresh issues a new pair", body["ok"] and body["access_token"] != first_access and
          body["refresh_token"] != refresh and body["team"]["id"] == "T0DEMO0001" and
          body["token_type"] == "bot" and "authed_user" not in body, body)
    slack_error("refresh token is single use", h.call("oauth.v2.access", form=form),
                "invalid_refresh_token")
    slack_error("refresh with the other app", h.call("oauth.v2.access", form=dict(
        form, client_id=APP[0], client_secret=APP[1], refresh_token=body["refresh_token"])),
        "invalid_refresh_token")
    status, cfg = h.ctl("POST", "config", {"expires_in": 1})
    check("config expires_in", status == 200 and cfg["expires_in"] == 1, cfg)
    _, _, body = h.call("oauth.v2.access", form=dict(form, refresh_token=body["refresh_token"]))
    check("short-lived token issued", body["ok"] and body["expires_in"] == 1, body)
    short = body["access_token"]
    time.sleep(1.2)
    slack_error("token_expired", h.call("users.list", short), "token_expired")
    status, body = h.ctl("POST", "tokens/expire", {"token": first_access})
    check("control expire token", status == 200, body)
    slack_error("expired by control", h.call("auth.test", first_access), "token_expired")
    status, _ = h.ctl("POST", "tokens/expire", {"token": "xoxb-unknown"})
    check("expire unknown token: 404", status == 404)


def test_faults(h):
    h.ctl("DELETE", "faults")
    h.ctl("POST", "record/reset")
    status, body = h.ctl("POST", "faults", [{"method": "users.list", "kind": "http429",
                                             "retry_after": 2, "count": 1}])
    check("faults set", status == 200 and len(body["faults"]) == 1, body)
    status, hdrs, raw = h.request("GET", "/api/users.list", token=ALL)
    check("429 status and Retry-After", status == 429 and hdrs.get("retry-after") == "2", (status, hdrs))
    check("429 body", parse(raw) == {"ok": False, "error": "ratelimited"}, raw)
    status, _, body = h.call("users.list", ALL, params={"limit": 2})
    check("429 spent after count", status == 200 and body["ok"])
    _, rec = h.ctl("GET", "record")
    check("retry_after violation counted", rec["retry_after_violations"] == 1 and
          rec["retry_after_violations_by_method"] == {"users.list": 1}, rec)
    status, _, body = h.call("users.list", NO_EMAIL)
    _, rec = h.ctl("GET", "record")
    check("other token is not a violation", rec["retry_after_violations"] == 1)

    h.ctl("POST", "faults", {"faults": [{"method": "users.list", "kind": "http500", "after": 1,
                                         "count": 1}]})
    codes = [h.request("GET", "/api/users.list", params={"limit": 1}, token=ALL)[0] for _ in range(3)]
    check("after/count: ok, 500, ok", codes == [200, 500, 200], codes)

    h.ctl("POST", "faults", [{"method": "*", "kind": "error", "error": "token_revoked", "count": 2}])
    slack_error("error fault any method", h.call("team.info", ALL), "token_revoked")
    slack_error("error fault without auth", h.call("auth.test"), "token_revoked")
    check("error fault spent", h.call("auth.test", ALL)[2]["ok"])

    h.ctl("POST", "faults", [{"method": "usergroups.list", "kind": "error", "error": "missing_scope"}])
    _, _, body = h.call("usergroups.list", NO_EMAIL)
    check("missing_scope fault", body == {"ok": False, "error": "missing_scope",
                                          "needed": "usergroups:read",
                                          "provided": "users:read,usergroups:read,team:read"}, body)
    h.ctl("POST", "faults", [{"method": "usergroups.list", "kind": "error", "error": "missing_scope",
                              "needed": "usergroups:read.secret"}])
    check("missing_scope fault needed override",
          h.call("usergroups.list", ALL)[2]["needed"] == "usergroups:read.secret")

    h.ctl("POST", "faults", [{"method": "auth.test", "kind": "slow", "delay_ms": 300, "count": 1}])
    t0 = time.time()
    ok = h.call("auth.test", ALL)[2]["ok"]
    check("slow fault", ok and time.time() - t0 >= 0.3)

    h.ctl("POST", "faults", [{"method": "users.list", "kind": "truncate", "count": 1}])
    status, hdrs, raw = h.request("GET", "/api/users.list", token=ALL)
    _, _, full = h.request("GET", "/api/users.list", token=ALL)
    check("truncate: 200, half body, invalid JSON", status == 200 and parse(raw) is None and
          abs(len(raw) - len(full) // 2) < 200, (status, len(raw), len(full)))
    h.ctl("POST", "faults", [{"method": "users.list", "kind": "truncate", "declared_length": True}])
    status, hdrs, raw = h.request("GET", "/api/users.list", token=ALL)
    check("truncate with declared length: short read", status == 200 and parse(raw) is None and
          len(raw) < len(full), (status, len(raw)))

    h.ctl("POST", "faults", [{"method": "users.list", "kind": "reset", "count": 1}])
    try:
        h.request("GET", "/api/users.list", token=ALL)
        dropped = False
    except (http.client.HTTPException, ConnectionError, urllib.error.URLError):
        dropped = True
    status, _, raw = h.request("GET", "/api/users.list", token=ALL)
    check("reset: connection closed with no answer, then answers again",
          dropped and status == 200 and parse(raw) is not None, (dropped, status))
    _, body = h.ctl("GET", "faults")
    rules = body.get("faults", body) if isinstance(body, dict) else body
    check("reset fault counted as fired once", [r["fired"] for r in rules] == [1], rules)

    status, body = h.ctl("POST", "faults", [{"method": "users.list", "kind": "explode"}])
    check("bad fault kind: 422", status == 422, body)
    status, body = h.ctl("POST", "faults", [{"kind": "error"}])
    check("error fault needs code: 422", status == 422, body)
    status, body = h.ctl("GET", "faults")
    check("failed set keeps old rules", len(body["faults"]) == 1 and body["faults"][0]["fired"] >= 1,
          body)
    h.ctl("DELETE", "faults")
    check("faults cleared", h.ctl("GET", "faults")[1]["faults"] == [] and
          h.call("users.list", ALL)[2]["ok"])


def test_record(h):
    h.ctl("POST", "record/reset")
    cursor = h.call("users.list", ALL, params={"limit": 3})[2]["response_metadata"]["next_cursor"]
    h.call("users.list", ALL, params={"limit": 3, "cursor": cursor})
    h.call("team.info", ALL)
    h.call("users.list", "xoxb-nope")
    _, rec = h.ctl("GET", "record")
    check("record counts", rec["counts"] == {"users.list": 3, "team.info": 1}, rec["counts"])
    r = rec["requests"]
    check("record entries", len(r) == 4 and r[1]["cursor"] == cursor and r[1]["limit"] == "3" and
          r[0]["cursor"] is None and r[0]["status"] == 200 and isinstance(r[0]["t_ms"], int), r[:2])
    check("record error", r[3]["error"] == "invalid_auth")
    check("record token prefix only", all(len(x["token_prefix"]) <= 12 for x in r) and
          ALL not in json.dumps(rec) and r[0]["token_prefix"] == ALL[:12], r[0])
    h.ctl("POST", "record/reset")
    _, rec = h.ctl("GET", "record")
    check("record reset", rec["requests"] == [] and rec["counts"] == {} and
          rec["retry_after_violations"] == 0)


def test_workspace_control(h):
    new_user = {"id": "U09NEWUSR1", "name": "newbie", "real_name": "Nina Newbie",
                "profile": {"email": "nina@acme.example", "first_name": "Nina", "last_name": "Newbie",
                            "title": "Engineer"}}
    status, body = h.ctl("POST", "workspace/T0DEMO0001/users", new_user)
    check("add user", status == 200, body)
    _, _, body = h.call("users.info", ALL, params={"user": "U09NEWUSR1"})
    u = body.get("user", {})
    check("added user visible with defaults", body["ok"] and u["profile"]["real_name"] == "Nina Newbie"
          and u["profile"]["image_192"].startswith(h.base + "/avatars/") and u["deleted"] is False and
          u["is_email_confirmed"] is True, body)
    new_user["profile"]["title"] = "Staff Engineer"
    new_user["deleted"] = True
    h.ctl("POST", "workspace/T0DEMO0001/users", new_user)
    u = h.call("users.info", ALL, params={"user": "U09NEWUSR1"})[2]["user"]
    check("replace user by id", u["deleted"] is True and u["profile"]["title"] == "Staff Engineer", u)
    ids = [x["id"] for x in all_users(h, ALL, limit=7)[0]]
    check("pagination after replace", ids.count("U09NEWUSR1") == 1 and len(ids) == len(set(ids)))
    status, _ = h.ctl("DELETE", "workspace/T0DEMO0001/users/U09NEWUSR1")
    check("delete user", status == 200)
    slack_error("deleted from workspace", h.call("users.info", ALL, params={"user": "U09NEWUSR1"}),
                "user_not_found")
    check("delete unknown user: 404", h.ctl("DELETE", "workspace/T0DEMO0001/users/U0NOPE")[0] == 404)
    status, body = h.ctl("POST", "workspace/T0DEMO0001/users", {"name": "no id"})
    check("invalid user: 422", status == 422 and "id" in body["message"], body)

    status, _ = h.ctl("POST", "workspace/T0DEMO0001/usergroups",
                      {"id": "S09NEWGRP1", "name": "New Group", "handle": "new-group",
                       "users": ["U01MEMB001"]})
    _, _, body = h.call("usergroups.users.list", ALL, params={"usergroup": "S09NEWGRP1"})
    check("add group", status == 200 and body["ok"] and body["users"] == ["U01MEMB001"], body)
    h.ctl("DELETE", "workspace/T0DEMO0001/usergroups/S09NEWGRP1")
    slack_error("delete group", h.call("usergroups.users.list", ALL, params={"usergroup": "S09NEWGRP1"}),
                "no_such_subteam")

    status, body = h.ctl("GET", "workspace/T0DEMO0001")
    check("workspace summary", status == 200 and body["team"]["id"] == "T0DEMO0001" and
          body["user_count"] >= 30 and "users" not in body, body)
    status, body = h.ctl("GET", "workspace/T0OTHER001?full=1")
    check("workspace full export", status == 200 and len(body["users"]) == 7 and
          len(body["usergroups"]) == 2, body)

    replacement = {"users": [{"id": "U02OWNER01", "name": "hank", "is_owner": True, "is_admin": True,
                              "is_primary_owner": True,
                              "profile": {"real_name": "Hank Scorpio", "email": "hank@globex.example"}},
                             {"id": "U02NEW0001", "name": "marge",
                              "profile": {"real_name": "Marge", "email": "marge@globex.example"}}],
                   "usergroups": [], "plan": "free"}
    status, body = h.ctl("PUT", "workspace/T0OTHER001", replacement)
    check("replace workspace", status == 200, body)
    ws = h.ctl("GET", "workspace/T0OTHER001")[1]
    check("replace keeps team info and bot", ws["team"]["name"] == "Globex Labs" and
          ws["bot"]["user_id"] == "U0OTHBOT01" and ws["plan"] == "free" and ws["user_count"] == 2, ws)
    status, body = h.ctl("PUT", "workspace/T0OTHER001", {"team": {"id": "T0DIFFERENT"}})
    check("replace with mismatched team id: 422", status == 422, body)
    status, body = h.ctl("PUT", "workspace/T0NEWTEAM1", {"team": {"id": "T0NEWTEAM1", "name": "New"},
                                                        "users": []})
    check("create workspace by PUT", status == 200 and
          h.ctl("GET", "workspace/T0NEWTEAM1")[1]["team"]["name"] == "New", body)
    check("unknown workspace: 404", h.ctl("GET", "workspace/T0NOPE")[0] == 404)
    status, _, raw = h.request("PUT", "/_emulator/workspace/T0OTHER001", body=b"{not json")
    check("malformed JSON: 400", status == 400, raw)
    status, body = h.ctl("PUT", "workspace/T0OTHER001", [1, 2])
    check("non-object body: 400", status == 400, body)
    status, body = h.ctl("GET", "nope")
    check("unknown control path: 404", status == 404, body)
    status, body = h.ctl("DELETE", "reset")
    check("wrong control method: 405", status == 405, body)


def test_generate_and_limits(h):
    spec = {"team": "T0GEN00001", "users": 3000, "groups": 40, "members_per_group": 25, "seed": 7}
    t0 = time.time()
    status, body = h.ctl("POST", "generate", spec)
    check("generate", status == 200 and body["users"] == 3000 and body["usergroups"] == 40, body)
    h.ctl("POST", "install", {"team": "T0GEN00001"})
    _, ans = oauth_install(h)
    token = ans[2]["access_token"]
    members, pages, _ = all_users(h, token, limit=200)
    check("generated users paged", len(members) == 3000 and pages == 15, (len(members), pages))
    check("generated users distinct", len({u["id"] for u in members}) == 3000)
    check("generated mix", any(u["deleted"] for u in members) and any(u.get("is_bot") for u in members)
          and any(u.get("is_restricted") for u in members) and members[0]["is_primary_owner"])
    first = json.dumps(members[:50], sort_keys=True)
    h.ctl("POST", "generate", spec)
    again = h.call("users.list", token, params={"limit": 50})[2]["members"]
    check("generate is deterministic", json.dumps(again, sort_keys=True) == first)
    _, _, body = h.call("usergroups.list", token, params={"include_users": "1", "include_count": "1"})
    check("generated groups", body["ok"] and len(body["usergroups"]) == 38 and
          all(len(g["users"]) == 25 and g["user_count"] == "25" for g in body["usergroups"]),
          len(body.get("usergroups", [])))
    status, body = h.ctl("POST", "generate", {"team": "T0GEN00001", "users": 0})
    check("generate invalid: 422", status == 422, body)
    print("  (generate + paging 3000 users took %.2fs)" % (time.time() - t0))

    # Body limits: 64 KiB for Slack methods.
    status, _, raw = h.request("POST", "/api/users.list", form={"token": ALL, "pad": "x" * 70000})
    check("Slack method body limit: 413", status == 413, status)
    status, _, raw = h.request("POST", "/api/users.list", body=b"{oops", token=ALL)
    check("Slack method malformed JSON: invalid_json", status == 400 and parse(raw)["error"] == "invalid_json")


def company_install(h, spec):
    """Generates a company-shaped workspace and returns a token for it."""
    status, body = h.ctl("POST", "generate", spec)
    if status != 200:
        raise RuntimeError("generate failed: %s %s" % (status, body))
    h.ctl("POST", "install", {"team": spec["team"]})
    return oauth_install(h)[1][2]["access_token"]


def all_groups(h, token):
    status, _, body = h.call("usergroups.list", token, params={"include_users": "1",
                                                              "include_disabled": "1"})
    if status != 200 or not body or not body.get("ok"):
        raise RuntimeError("usergroups.list failed: %s %s" % (status, body))
    return body["usergroups"]


def test_company(h):
    spec = {"team": "T0COMP0001", "shape": "company", "users": 5000, "groups": 300, "seed": 11}
    token = company_install(h, spec)
    members, _, _ = all_users(h, token, limit=200)
    people = [u for u in members if u["id"].startswith("UC")]
    check("company: Slackbot, the app's bot, then the people",
          len(members) == 5002 and members[0]["id"] == "USLACKBOT" and not members[0]["is_bot"]
          and members[1]["is_bot"] and len(people) == 5000 and people[0]["is_primary_owner"],
          (len(members), [u["id"] for u in members[:3]]))

    def share(pred):
        return sum(1 for u in people if pred(u)) / len(people)

    live = [u for u in people if not u["deleted"]]
    mix = {
        "deleted": share(lambda u: u["deleted"]),
        "bots": share(lambda u: u.get("is_bot")),
        "app users": share(lambda u: u.get("is_app_user")),
        "multi-channel guests": share(lambda u: u.get("is_restricted") and not u.get("is_ultra_restricted")),
        "single-channel guests": share(lambda u: u.get("is_ultra_restricted")),
        "invited": share(lambda u: u.get("is_invited_user")),
        "humans without e-mail": share(lambda u: not u["deleted"] and not u.get("is_bot")
                                       and not u.get("is_app_user") and "email" not in u["profile"]),
    }
    expected = {"deleted": 0.03, "bots": 0.01, "app users": 0.01, "multi-channel guests": 0.05,
                "single-channel guests": 0.02, "invited": 0.01, "humans without e-mail": 0.01}
    for key, want in expected.items():
        check("company mix: %s about %.0f %%" % (key, want * 100), want * 0.6 <= mix[key] <= want * 1.5,
              "%.4f" % mix[key])
    names = [u["profile"]["real_name"] + " " + u["profile"]["display_name"] for u in live]
    titles = [u["profile"]["title"] for u in live]
    check("company names: CJK", any(any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7a3"
                                        for ch in n) for n in names))
    check("company names: combining marks", any(any("\u0300" <= ch <= "\u036f" for ch in n) for n in names))
    check("company names: emoji", any(any(ord(ch) >= 0x1F000 for ch in n) for n in names))
    check("company names: apostrophes, quotes and commas",
          any("'" in n for n in names) and any('"' in n for n in names) and any("," in n for n in names))
    check("company titles: up to 250 characters, some long",
          max(len(t) for t in titles) <= 250 and sum(1 for t in titles if len(t) > 200) >= 10
          and any("," in t and '"' in t for t in titles), max(len(t) for t in titles))

    groups = all_groups(h, token)
    ids = {u["id"] for u in members}
    bots = {u["id"] for u in members if u.get("is_bot") or u.get("is_app_user") or u["id"] == "USLACKBOT"}
    sizes = [len(g["users"]) for g in groups]
    humans = len(ids) - len(bots)
    check("company groups: 300, every 20th disabled", len(groups) == 300 and
          [i for i, g in enumerate(groups) if g["date_delete"]] == list(range(19, 300, 20)))
    check("company groups: one of almost everyone, sizes fall like Zipf",
          0.8 * humans <= sizes[0] <= 0.9 * humans and sizes[:250] == sorted(sizes[:250], reverse=True)
          and sizes[1] < sizes[0] and sizes[249] < sizes[0] / 30, sizes[:5])
    check("company groups: many small ones", sum(1 for n in sizes[250:] if n < sizes[249]) >= 45)
    check("company groups: distinct people who exist, no bots",
          all(len(set(g["users"])) == len(g["users"]) and set(g["users"]) <= ids - bots for g in groups))

    first_page = h.call("users.list", token, params={"limit": 200})[2]["members"]
    slow = h.call("users.list", token, params={"limit": 200, "include_locale": "true"})[2]["members"]
    check("users.list from kept text = users.list built by json-c",
          [dict((k, v) for k, v in u.items() if k != "locale") for u in slow] == first_page
          and all(u["locale"] == "en-US" for u in slow))
    one = h.call("usergroups.users.list", token, params={"usergroup": groups[3]["id"]})[2]
    check("usergroups.users.list from text", one == {"ok": True, "users": groups[3]["users"]})
    h.ctl("POST", "generate", spec)
    again = h.call("users.list", token, params={"limit": 200})[2]["members"]
    check("company generation is deterministic",
          json.dumps(again, sort_keys=True) == json.dumps(first_page, sort_keys=True)
          and all_groups(h, token) == groups)

    # One day later: about 1 % of changes, deterministic too.
    mapped = [g for g in groups if not g["date_delete"]][:20]
    before = sum(len(g["users"]) for g in mapped)
    status, body = h.ctl("POST", "workspace/T0COMP0001/change", {"percent": 1, "seed": 5, "mapped": 20})
    check("company change answers its counts", status == 200 and body["ok"], body)
    ch = body.get("changes", {})
    check("company change: about 1 % of the users, every kind",
          45 <= sum(ch.values()) <= 51 and all(v > 0 for v in ch.values()), ch)
    after_users, _, _ = all_users(h, token, limit=200)
    old = {u["id"]: u for u in members}
    new = {u["id"]: u for u in after_users}
    arrived = [i for i in new if i not in old]
    check("company change: arrivals are new active people",
          len(arrived) == ch.get("arrived") and all(not new[i]["deleted"] for i in arrived), len(arrived))
    went = sum(1 for i in old if not old[i]["deleted"] and new[i]["deleted"])
    back = sum(1 for i in old if old[i]["deleted"] and not new[i]["deleted"])
    check("company change: deactivations and returners", went >= 1 and back >= 1 and
          went - back == ch.get("deactivated", 0) - ch.get("returned", 0), (went, back))
    renamed = sum(1 for i in old if i in new and new[i]["profile"]["real_name"] != old[i]["profile"]["real_name"])
    check("company change: renames and new pictures", 1 <= renamed <= ch.get("renamed", 0) and
          any(new[i]["profile"]["avatar_hash"] != old[i]["profile"]["avatar_hash"] for i in old))
    new_groups = all_groups(h, token)
    after = sum(len(g["users"]) for g in new_groups if g["id"] in {m["id"] for m in mapped})
    check("company change: memberships of mapped groups = before + arrivals - removals",
          after == before + ch.get("arrived", 0) - ch.get("removed_from_group", 0), (before, after, ch))
    check("company change: groups not mapped are untouched",
          [g for g in new_groups if g["id"] not in {m["id"] for m in mapped}]
          == [g for g in groups if g["id"] not in {m["id"] for m in mapped}])
    h.ctl("POST", "generate", spec)
    h.ctl("POST", "workspace/T0COMP0001/change", {"percent": 1, "seed": 5, "mapped": 20})
    check("company change is deterministic", all_users(h, token, limit=200)[0] == after_users)

    token = company_install(h, dict(spec, max_title=200))
    short = [u["profile"].get("title", "") for u in all_users(h, token, limit=200)[0] if not u["deleted"]]
    check("company max_title caps the long titles", max(len(t) for t in short) <= 200 and
          sum(1 for t in short if len(t) > 150) >= 10, max(len(t) for t in short))
    status, body = h.ctl("POST", "generate", dict(spec, max_title=10))
    check("company max_title below 20: 422", status == 422 and "max_title" in body["message"], body)
    status, body = h.ctl("POST", "workspace/T0COMP0001/change", {"percent": 0})
    check("company change invalid percent: 422", status == 422 and body["error"] == "invalid_change", body)
    status, body = h.ctl("POST", "workspace/T0NOPE0001/change", {"percent": 1})
    check("company change unknown team: 404", status == 404, body)
    status, body = h.ctl("POST", "generate", {"team": "T0COMP0002", "shape": "round", "users": 10})
    check("generate unknown shape: 422", status == 422 and "shape" in body["message"], body)


def test_tiers(h):
    burst = [h.call("users.list", ALL, params={"limit": 5})[0] for _ in range(25)]
    check("tiers off by default", burst == [200] * 25, burst)
    status, body = h.ctl("GET", "workspace/T0DEMO0001/tiers")
    check("tiers: off until turned on", status == 200 and body["tiers"]["factor"] == 0, body)
    status, body = h.ctl("POST", "workspace/T0DEMO0001/tiers", {"factor": 60})
    tiers = body.get("tiers", {})
    check("tiers on with factor 60: the minute is a second",
          status == 200 and tiers["factor"] == 60 and tiers["window_ms"] == 1000 and
          tiers["per_window"]["users.list"] == 20 and tiers["per_window"]["usergroups.users.list"] == 20
          and tiers["per_window"]["team.info"] == 50 and tiers["per_window"]["users.info"] == 100, body)
    h.ctl("POST", "record/reset")
    answers = [h.call("users.list", ALL, params={"limit": 5}) for _ in range(25)]
    codes = [a[0] for a in answers]
    check("tier 2: 20 calls a window, then 429", codes == [200] * 20 + [429] * 5, codes)
    status, hdrs, body = answers[20]
    # Slack's whole seconds of its minute, shrunk x60: a multiple of 1/60 s,
    # written with decimals unless it is whole ("1" when the 21st call comes
    # within Slack's first second of the window, 1/60 s of ours).
    ra_text = hdrs.get("retry-after", "nan")
    ra = float(ra_text)
    check("tier 429: ratelimited with Retry-After in Slack's seconds shrunk by the factor",
          body == {"ok": False, "error": "ratelimited"} and 0 < ra <= 1.0
          and abs(ra * 60 - round(ra * 60)) < 0.07
          and ("." in ra_text) == (ra != int(ra)), (hdrs, body))
    check("tiers count each method apart",
          h.call("usergroups.list", ALL)[0] == 200 and h.call("users.info", ALL, params={"user": "U01OWNER01"})[0] == 200)
    check("tiers count each workspace apart", h.call("users.list", OTHER, params={"limit": 5})[0] == 200)
    _, rec = h.ctl("GET", "record")
    check("calls inside a tier's Retry-After are violations",
          rec["retry_after_violations_by_method"].get("users.list") == 4 and rec["retry_after_violations"] == 4, rec.get("retry_after_violations_by_method"))
    time.sleep(1.05)
    check("after Retry-After the method answers again", h.call("users.list", ALL, params={"limit": 5})[0] == 200)
    _, rec = h.ctl("GET", "record")
    check("a caller that waited is no violation", rec["retry_after_violations"] == 4, rec["retry_after_violations"])
    ugl = [h.call("usergroups.users.list", ALL, params={"usergroup": "S01ENGINE1"})[0] for _ in range(22)]
    check("usergroups.users.list is Tier 2 too", ugl.count(200) == 20 and ugl[-1] == 429, ugl)
    h.ctl("POST", "workspace/T0DEMO0001/tiers", {"factor": 0})
    burst = [h.call("users.list", ALL, params={"limit": 5})[0] for _ in range(25)]
    check("factor 0 turns tiers off", burst == [200] * 25, burst)
    status, body = h.ctl("POST", "workspace/T0DEMO0001/tiers", {"factor": "fast"})
    check("tiers: a factor that is no number is 422", status == 422 and body["error"] == "invalid_tiers", body)
    status, body = h.ctl("POST", "workspace/T0DEMO0001/tiers", {"factor": -1})
    check("tiers: a negative factor is 422", status == 422, body)
    status, body = h.ctl("POST", "workspace/T0NOPE0001/tiers", {"factor": 60})
    check("tiers: unknown team is 404", status == 404, body)
    h.ctl("POST", "workspace/T0DEMO0001/tiers", {"factor": 60})
    h.ctl("POST", "reset")
    check("reset turns tiers off", h.ctl("GET", "workspace/T0DEMO0001/tiers")[1]["tiers"]["factor"] == 0)


def test_avatars_and_misc(h):
    u = h.call("users.info", ALL, params={"user": "U01OWNER01"})[2]["user"]
    path = urllib.parse.urlparse(u["profile"]["image_192"]).path
    status, hdrs, raw = h.request("GET", path)
    check("avatar served as PNG", status == 200 and hdrs["content-type"] == "image/png" and
          raw.startswith(b"\x89PNG"), (status, hdrs))
    # Each link is its own file (the hash and size are in a tEXt chunk), and
    # every GET is counted per link.
    h.ctl("POST", "avatars/reset")
    other = path.replace("_192.png", "_72.png")
    _, _, raw72 = h.request("GET", other)
    h.request("GET", other)
    check("avatar sizes differ in bytes", raw72.startswith(b"\x89PNG") and raw72 != raw, len(raw72))
    _, counts = h.ctl("GET", "avatars")
    key = other[len("/avatars/"):]
    check("avatar fetches counted per link", counts["total"] == 2 and counts["fetches"] == {key: 2},
          counts)
    status, hdrs, raw = h.request("GET", "/avatars/T1/fakepng1_72.png")
    check("avatar hook: fakepng is image/png but not a PNG",
          status == 200 and hdrs["content-type"] == "image/png" and not raw.startswith(b"\x89PNG"))
    status, _, _ = h.request("GET", "/avatars/T1/missing1_72.png")
    check("avatar hook: missing answers 404", status == 404, status)
    status, _, _ = h.request("GET", "/nothing/here")
    check("unknown path: 404", status == 404)


def test_reset(h):
    status, body = h.ctl("POST", "reset")
    check("reset", status == 200, body)
    _, tokens = h.ctl("GET", "tokens")
    check("reset forgets issued tokens", all(t["predefined"] for t in tokens["tokens"]) and
          len(tokens["tokens"]) == 5 and not any(t["revoked"] for t in tokens["tokens"]))
    check("reset restores workspaces", h.ctl("GET", "workspace/T0GEN00001")[0] == 404 and
          h.ctl("GET", "workspace/T0OTHER001")[1]["user_count"] == 7)
    check("reset un-revokes fixture tokens", h.call("auth.test", OTHER)[2]["ok"])
    _, rec = h.ctl("GET", "record")
    check("reset clears record", rec["requests"][:0] == [] and rec["counts"] == {"auth.test": 1})
    check("reset clears faults", h.ctl("GET", "faults")[1]["faults"] == [])
    check("reset clears avatar fetch counts", h.ctl("GET", "avatars")[1]["total"] == 0)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "slack-emulator")
    with open(FIXTURE, encoding="utf-8") as f:
        fixture = json.load(f)
    h = Harness(binary)
    report, rc = "", None
    try:
        h.start()
        for test in (test_users_list, test_users_info, test_usergroups, test_team_auth, test_oauth,
                     test_revoke, test_rotation, test_faults, test_record, test_workspace_control,
                     test_generate_and_limits, test_company, test_tiers, test_avatars_and_misc, test_reset):
            h.ctl("POST", "reset")
            try:
                if test is test_users_list:
                    test(h, fixture)
                else:
                    test(h)
            except Exception as e:  # a crash in one group must not hide the others
                check(test.__name__ + " ran", False, "%s: %s" % (type(e).__name__, e))
    finally:
        report, rc = h.stop()
    sanitizer = any(s in report for s in ("AddressSanitizer", "LeakSanitizer", "runtime error:"))
    check("emulator exited cleanly on SIGTERM", rc == 0, rc)
    check("no sanitizer reports", not sanitizer, report[-3000:])
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
