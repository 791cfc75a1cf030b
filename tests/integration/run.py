#!/usr/bin/env python3
"""Runs the integration tests against a stack started by scripts/stack.sh.

Every tests/integration/test_*.py module is imported in name order and each
of its test_* functions is called, in the order they are defined, with one
argument: the Context below (URLs, the state folder, helpers to call the API
through nginx, the admin CLI and the database).  A test passes when it
returns and fails when it raises.  The runner prints one line per test and
writes "PASSED FAILED" to the --counts file.
"""
import argparse
import importlib.util
import inspect
import json
import mmap
import os
import struct
import subprocess
import sys
import time
import traceback
import urllib.parse
import http.client
import itertools

_serial = itertools.count(1)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Client:
    """An HTTP client with a cookie jar of one cookie: the session."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.cookies = {}

    def request(self, method, path, body=None, headers=None, raw=None, query=None):
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        if self.cookies:
            hdrs["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if query:
            path = path + "?" + urllib.parse.urlencode(query)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            resp = Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        for v in resp.headers_all("Set-Cookie"):
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in v or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Org:
    """An organization made for a test, with a signed-in administrator."""

    def __init__(self, ctx, oid, admin_email, password, client):
        self.ctx, self.id, self.admin_email, self.password = ctx, oid, admin_email, password
        self.admin = client


class Context:
    def __init__(self, root, run_dir, port, emulator_port):
        self.root = root
        self.dir = run_dir
        self.port = port
        self.base_url = "http://127.0.0.1:%d" % port
        self.emulator_port = emulator_port
        self.emulator_url = "http://127.0.0.1:%d" % emulator_port
        self.env = dict(os.environ, PROVISIONING_CONFIG=os.path.join(run_dir, "provisioning.conf"))

    def bin(self, name):
        """The path of provisioning-api, -sync or -admin: the sanitizer builds
        when scripts/test.sh set PROVISIONING_BIN_DIR, else the release ones."""
        d = os.environ.get("PROVISIONING_BIN_DIR")
        if d:
            return os.path.join(d, name)
        return os.path.join(self.root, "cgi-bin" if name == "provisioning-api" else "cron", name)

    def client(self):
        return Client("127.0.0.1", self.port)

    def emulator(self):
        return Client("127.0.0.1", self.emulator_port)

    def run(self, cmd, env=None, input=None, check=False):
        full_env = dict(self.env)
        full_env.update(env or {})
        return subprocess.run(cmd, env=full_env, input=input, capture_output=True, text=True,
                              cwd=self.root, check=check, timeout=600)

    def admin_cli(self, *args, input=None):
        return self.run([self.bin("provisioning-admin")] + list(args),
                        input=input)

    def sql(self, query, *params):
        """Runs a query as the database's root; returns rows of strings.
        Parameters are quoted here for test convenience only."""
        def quote(p):
            if p is None:
                return "NULL"
            if isinstance(p, int):
                return str(p)
            return "'" + str(p).replace("\\", "\\\\").replace("'", "\\'") + "'"
        q = query.replace("?", "{}").format(*[quote(p) for p in params])
        r = subprocess.run(["mariadb", "--no-defaults", "--socket=" + os.path.join(self.dir, "mysqld.sock"),
                            "-uroot", "-N", "-B", "--default-character-set=utf8mb4", "provisioning",
                            "-e", q], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("sql failed: %s: %s" % (q, r.stderr))
        if not q.lstrip().upper().startswith("SELECT"):
            self.count_change()
        return [line.split("\t") for line in r.stdout.splitlines()]

    def count_change(self):
        """What `provisioning-admin changed` does, without a process: a write
        made here, outside the programs, is counted in the stack's
        db.changes_file, so the API reads its answers anew (db_changes.h).
        Not an atomic add, but one racing a program's still changes the
        value, which is all a reader compares."""
        path = os.path.join(self.dir, "db-changes")
        if not os.path.exists(path):
            return
        with open(path, "r+b") as f:
            m = mmap.mmap(f.fileno(), 8)
            m[0:8] = struct.pack("<Q", struct.unpack("<Q", m[0:8])[0] + 1)
            m.close()

    def sync_pass(self, *args, env=None):
        """One run of cron/provisioning-sync against the test stack."""
        r = self.run([self.bin("provisioning-sync")] + list(args), env=env)
        assert r.returncode == 0, "provisioning-sync failed: %s" % r.stderr
        return r

    def stack(self, *args, env=None):
        r = subprocess.run([os.path.join(self.root, "scripts", "stack.sh")] + list(args) + [self.dir],
                           capture_output=True, text=True, timeout=180, env=dict(os.environ, **(env or {})))
        if r.returncode != 0:
            raise RuntimeError("stack.sh %s failed: %s" % (args, r.stderr))

    def unique(self, prefix="t"):
        return "%s%d%d" % (prefix, os.getpid(), next(_serial))

    def new_org(self, name=None, password="correct horse battery"):
        """Creates an organization and its administrator, signed in."""
        name = name or self.unique("Org ")
        r = self.admin_cli("create-org", name)
        assert r.returncode == 0, r.stderr
        oid = int(r.stdout.strip())
        email = "%s@example.test" % self.unique("admin")
        r = self.admin_cli("create-admin", str(oid), email, "--first", "Ad", "--last", "Min",
                           "--password-stdin", input=password + "\n")
        assert r.returncode == 0, r.stderr
        c = self.client()
        resp = c.post("/api/v1/session", {"email": email, "password": password})
        assert resp.status == 200, resp
        return Org(self, oid, email, password, c)

    def new_user(self, org, email=None, first="Test", last="User", admin=False, password=None):
        """Creates a user with the CLI; returns its id."""
        email = email or "%s@example.test" % self.unique("user")
        args = ["create-user", str(org.id), email, "--first", first, "--last", last]
        if admin:
            args.append("--admin")
        if password:
            args.append("--password-stdin")
        r = self.admin_cli(*args, input=(password + "\n") if password else None)
        assert r.returncode == 0, r.stderr
        return int(r.stdout.strip())

    def wait(self, what, fn, seconds=30, interval=0.2):
        deadline = time.time() + seconds
        while True:
            v = fn()
            if v:
                return v
            if time.time() > deadline:
                raise AssertionError("timed out waiting for " + what)
            time.sleep(interval)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--emulator-port", type=int, required=True)
    ap.add_argument("--counts", required=True)
    ap.add_argument("--only", default="", help="substrings of test names to run, comma-separated")
    args = ap.parse_args()
    ctx = Context(args.root, args.dir, args.port, args.emulator_port)
    here = os.path.join(args.root, "tests", "integration")
    sys.path.insert(0, here)  # tests share helpers by importing each other
    passed = failed = 0
    for fname in sorted(os.listdir(here)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fname[:-3], os.path.join(here, fname))
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:
            print("FAIL %s (import)\n%s" % (fname, traceback.format_exc()), flush=True)
            failed += 1
            continue
        tests = [(n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == mod.__name__]
        tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        for name, fn in tests:
            full = "%s.%s" % (fname[:-3], name)
            if args.only and not any(o and o in full for o in args.only.split(",")):
                continue
            start = time.time()
            try:
                fn(ctx)
            except Exception:
                failed += 1
                print("FAIL %s (%.1fs)\n%s" % (full, time.time() - start, traceback.format_exc()),
                      flush=True)
            else:
                passed += 1
                print("ok   %s (%.1fs)" % (full, time.time() - start), flush=True)
    with open(args.counts, "w") as f:
        f.write("%d %d\n" % (passed, failed))
    print("integration: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
