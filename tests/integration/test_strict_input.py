"""Strict input (issue 12 item 7): every bad body is refused with 400 and a
message naming the problem, and nothing of it is stored; errors nginx raises
itself answer with the JSON envelope too."""
import json
import socket

from test_api_errors import check_envelope

JSON = {"Content-Type": "application/json"}

# (what, raw body for POST /api/v1/teams, words the message must contain)
BAD_TEAM_BODIES = [
    ("invalid UTF-8", b'{"name":"Team \xff"}', "not valid UTF-8"),
    ("an overlong UTF-8 form", b'{"name":"Team \xc0\xaf"}', "not valid UTF-8"),
    ("an encoded surrogate", b'{"name":"Team \xed\xa0\x80"}', "surrogate"),
    ("an unpaired surrogate escape", b'{"name":"Team \\ud800"}', "unpaired"),
    ("a raw control character", b'{"name":"Team\tX"}', "control character"),
    ("an escaped NUL", b'{"name":"Team\\u0000evil"}', "\\u0000"),
    ("a NUL byte inside", b'{"name":"Team\x00evil"}', "NUL byte"),
    ("trailing NUL bytes", b'{"name":"Team NUL"}\x00\x00', "NUL byte"),
    ("trailing data", b'{"name":"Team T"} {"name":"Team U"}', "text after"),
    ("NaN", b'{"name":"Team N","x":NaN}', "NaN"),
    ("Infinity", b'{"name":"Team I","x":-Infinity}', "Infinity"),
    ("a duplicate key", b'{"name":"Team A","name":"Team B"}', "same key twice"),
    ("a duplicate key once decoded", b'{"name":"Team A","\\u006eame":"Team B"}', "same key twice"),
]


def _teams(ctx, org):
    return ctx.sql("SELECT name FROM teams WHERE organization_id = ? ORDER BY id", org.id)


def test_each_kind_of_bad_body_is_400_naming_the_problem_and_stores_nothing(ctx):
    org = ctx.new_org()
    before = _teams(ctx, org)
    for what, raw, words in BAD_TEAM_BODIES:
        r = org.admin.post("/api/v1/teams", raw=raw, headers=JSON)
        assert r.status == 400, (what, r)
        check_envelope(r, 400, "malformed_json")
        msg = r.json["error"]["message"]
        assert words in msg, (what, msg)
    assert _teams(ctx, org) == before
    # The listing stays valid UTF-8 (it would not if a surrogate were stored).
    r = org.admin.get("/api/v1/teams")
    assert r.status == 200, r
    r.body.decode("utf-8", errors="strict")
    # A good body still works, escapes and a surrogate pair included.
    r = org.admin.post("/api/v1/teams", raw=b'{"name":"Team \\ud83c\\udf89 \\"q\\""}', headers=JSON)
    assert r.status == 201, r
    assert r.json["team"]["name"] == "Team \U0001F389 \"q\"", r.json


def test_a_nul_in_an_email_is_refused_not_truncated(ctx):
    org = ctx.new_org()
    body = b'{"email":"nulmail@x.com\\u0000evil","first_name":"Nul","last_name":"Mail"}'
    r = org.admin.post("/api/v1/users", raw=body, headers=JSON)
    check_envelope(r, 400, "malformed_json")
    assert "\\u0000" in r.json["error"]["message"], r.json
    rows = ctx.sql("SELECT COUNT(*) FROM users WHERE email LIKE 'nulmail@%'")
    assert rows == [["0"]], rows
    # Sign-in refuses it the same way, before any password check.
    r = ctx.client().post("/api/v1/session",
                          raw=b'{"email":"a@x.com\\u0000","password":"x"}', headers=JSON)
    check_envelope(r, 400, "malformed_json")


def _raw(ctx, data):
    """Sends raw bytes to nginx; returns (status, headers dict, body bytes)."""
    s = socket.create_connection(("127.0.0.1", ctx.port), timeout=30)
    try:
        s.sendall(data)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    resp = b"".join(chunks)
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def _check_nginx_envelope(got, status, code):
    st, headers, body = got
    assert st == status, got
    assert headers.get("content-type") == "application/json; charset=utf-8", got
    err = json.loads(body.decode("utf-8"))["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err


def test_errors_nginx_raises_itself_have_the_json_envelope(ctx):
    org = ctx.new_org()
    cookie = "pv_session=" + org.admin.cookies["pv_session"]
    before = _teams(ctx, org)
    host = b"Host: 127.0.0.1\r\nConnection: close\r\n"
    # A header past nginx's buffers (8 KiB by default).
    _check_nginx_envelope(_raw(ctx, b"GET /api/v1/me HTTP/1.1\r\n" + host +
                               b"X-Big: " + b"a" * 10000 + b"\r\n\r\n"), 400, "headers_too_large")
    # A URL past them.
    _check_nginx_envelope(_raw(ctx, b"GET /api/v1/me?q=" + b"a" * 10000 + b" HTTP/1.1\r\n" +
                               host + b"\r\n"), 414, "uri_too_long")
    # TRACE.
    _check_nginx_envelope(_raw(ctx, b"TRACE /api/v1/me HTTP/1.1\r\n" + host + b"\r\n"),
                          405, "method_not_allowed")
    # A Content-Length that is not a number, on a write: nothing stored.
    body = b'{"name":"Team via bad length"}'
    _check_nginx_envelope(_raw(ctx, b"POST /api/v1/teams HTTP/1.1\r\n" + host +
                               b"Cookie: " + cookie.encode() + b"\r\n"
                               b"Content-Type: application/json\r\nContent-Length: 12abc\r\n\r\n"
                               + body), 400, "bad_request")
    # Two different Content-Lengths.
    _check_nginx_envelope(_raw(ctx, b"POST /api/v1/teams HTTP/1.1\r\n" + host +
                               b"Cookie: " + cookie.encode() + b"\r\n"
                               b"Content-Type: application/json\r\nContent-Length: 30\r\n"
                               b"Content-Length: 5\r\n\r\n" + body), 400, "bad_request")
    # A transfer encoding nginx does not know.
    _check_nginx_envelope(_raw(ctx, b"POST /api/v1/teams HTTP/1.1\r\n" + host +
                               b"Cookie: " + cookie.encode() + b"\r\n"
                               b"Content-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n"
                               + body), 501, "not_implemented")
    # A malformed request line.
    _check_nginx_envelope(_raw(ctx, b"GET /api/v1/me HTTP/1.1 junk\r\n" + host + b"\r\n"),
                          400, "bad_request")
    assert _teams(ctx, org) == before
    # The pages are internal: asking for one by its path is not an error page.
    st, _, _ = _raw(ctx, b"GET /_errors/400.json HTTP/1.1\r\n" + host + b"\r\n")
    assert st == 404, st
