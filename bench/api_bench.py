"""make bench, figure (4): the API's throughput under wrk, signed in, next to
what the same nginx does with the same bytes as a static file and from a
FastCGI program that does nothing (build/rel/bench-noop, bench/noop.c) run
in as many processes as the API.

The static file and the no-op are served by a server block added to the
stack's own nginx (same workers, same access log), so the only difference
between the three is what answers behind nginx.
"""
import os
import re
import socket
import subprocess
import time
import urllib.request

from common import ROOT


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def wrk(url, seconds, cookie=None):
    """Runs wrk (2 threads, 64 connections); returns its figures."""
    cmd = ["wrk", "-t2", "-c64", "-d%ds" % seconds, "--latency", url]
    if cookie:
        cmd[1:1] = ["-H", "Cookie: " + cookie]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not p50 or not p99:
        raise SystemExit("bench: wrk gave no figures for %s:\n%s" % (url, out))
    return {"rps": float(rps.group(1)), "p50": ms(p50.group(1)), "p99": ms(p99.group(1)),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "errors": errors.group(1) if errors else "",
            "requests": int(total.group(1)) if total else 0}


def spawn_noop(run_dir, name, body_file, processes):
    sock = os.path.join(run_dir, name + ".sock")
    pidfile = os.path.join(run_dir, name + ".pid")
    subprocess.run(["spawn-fcgi", "-s", sock, "-M", "0666", "-F", str(processes), "-P", pidfile, "--",
                    os.path.join(ROOT, "build", "rel", "bench-noop"), body_file],
                   check=True, capture_output=True)
    return sock, pidfile


def stop_pidfile(pidfile):
    """Ends the processes this bench started, by the ids it recorded."""
    try:
        pids = [int(p) for p in open(pidfile).read().split()]
    except OSError:
        return
    for p in pids:
        try:
            os.kill(p, 15)
        except ProcessLookupError:
            pass


def bench_server(run_dir, port, statics, noops):
    """Adds a server block to the stack's nginx and reloads it."""
    lines = ["server {", "    listen 127.0.0.1:%d;" % port,
             '    add_header X-Content-Type-Options "nosniff" always;',
             '    add_header X-Frame-Options "DENY" always;',
             '    add_header Referrer-Policy "same-origin" always;']
    for path, f in statics.items():
        lines += ["    location = %s {" % path, "        alias %s;" % f,
                  '        default_type "application/json; charset=utf-8";', "    }"]
    for path, sock in noops.items():
        lines += ["    location = %s {" % path, "        include /etc/nginx/fastcgi_params;",
                  "        fastcgi_pass unix:%s;" % sock, "    }"]
    lines.append("}")
    conf = os.path.join(run_dir, "bench-site.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(run_dir, "emulator-site.conf"), "a") as f:
        f.write("\ninclude %s;\n" % conf)
    subprocess.run(["nginx", "-p", run_dir, "-e", os.path.join(run_dir, "nginx-error.log"),
                    "-c", os.path.join(run_dir, "nginx.conf"), "-s", "reload"], check=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, next(iter(statics))), timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("bench: nginx did not pick up the bench server")


def api_restart(bench, bin_dir, extra_env=None):
    """Restarts the stack's API processes from bin_dir (None: this tree's),
    with extra_env's configuration overrides."""
    env = dict(bench.ctx.env)
    env.pop("PROVISIONING_BIN_DIR", None)
    env.pop("API_CACHE_MS", None)
    env.update(extra_env or {})
    if bin_dir:
        env["PROVISIONING_BIN_DIR"] = bin_dir
    subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"), "api-restart", bench.args.dir],
                   env=env, check=True, capture_output=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/healthz" % bench.args.port, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("bench: the API did not come back after a restart")


def run(bench, org):
    """Measures; prints and returns the table lines."""
    run_dir = bench.args.dir
    seconds = int(os.environ.get("BENCH_WRK_SECONDS", "20"))
    processes = int(os.environ.get("API_PROCESSES", "3"))
    # BENCH_API_BEFORE: a folder with an older provisioning-api (and its
    # two siblings, as stack.sh wants them), measured in the same run right
    # after this tree's, so a change is judged against its own baseline.
    before_dir = os.environ.get("BENCH_API_BEFORE")
    cookie = "; ".join("%s=%s" % kv for kv in org.admin.cookies.items())
    endpoints = [("GET /api/v1/provisioning/slack", "/api/v1/provisioning/slack"),
                 ("GET /api/v1/users?limit=50", "/api/v1/users?limit=50")]
    statics, noops, pidfiles, bodies = {}, {}, [], []
    for i, (_, path) in enumerate(endpoints):
        r = org.admin.get(path)
        if r.status != 200:
            raise SystemExit("bench: %s answered %s" % (path, r))
        f = os.path.join(run_dir, "bench-answer-%d.json" % i)
        with open(f, "wb") as out:
            out.write(r.body)
        bodies.append(len(r.body))
        statics["/bench/static-%d" % i] = f
        sock, pidfile = spawn_noop(run_dir, "bench-noop-%d" % i, f, processes)
        noops["/bench/noop-%d" % i] = sock
        pidfiles.append(pidfile)
    port = free_port()
    try:
        bench_server(run_dir, port, statics, noops)
        for i, (label, path) in enumerate(endpoints):
            api = wrk("http://127.0.0.1:%d%s" % (bench.args.port, path), seconds, cookie)
            static = wrk("http://127.0.0.1:%d/bench/static-%d" % (port, i), seconds)
            noop = wrk("http://127.0.0.1:%d/bench/noop-%d" % (port, i), seconds)
            # The same requests with no answer or session given again
            # (api.cache_ms = 0): what each costs when it is read anew, as
            # after every commit; the kept answers' same-run baseline.
            api_restart(bench, None, {"API_CACHE_MS": "0"})
            try:
                anew = wrk("http://127.0.0.1:%d%s" % (bench.args.port, path), seconds, cookie)
            finally:
                api_restart(bench, None)
            before = None
            if before_dir:
                api_restart(bench, before_dir)
                try:
                    before = wrk("http://127.0.0.1:%d%s" % (bench.args.port, path), seconds, cookie)
                finally:
                    api_restart(bench, None)
            if static["non2xx"] or noop["non2xx"]:
                raise SystemExit("bench: a baseline answered errors (static %d, no-op %d non-2xx): "
                                 "see nginx-error.log" % (static["non2xx"], noop["non2xx"]))
            measured = [("API", api), ("static file", static), ("FastCGI no-op", noop),
                        ("API reading every answer anew (api.cache_ms = 0)", anew)]
            if before:
                measured.append(("API before (%s)" % before_dir, before))
            for name, w in measured:
                bench.note("(4) %s, %s (%d bytes): %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d non-2xx, "
                           "%d requests%s" % (label, name, bodies[i], w["rps"], w["p50"], w["p99"],
                                              w["non2xx"], w["requests"],
                                              ", socket errors " + w["errors"] if w["errors"] else ""))
            bench.row("(4) %s" % label, None, "FastCGI no-op, same %d bytes" % bodies[i], None,
                      api["rps"] / noop["rps"], ">= 0.4",
                      "%.0f req/s (no-op %.0f, static %.0f); p50 %.2f ms, p99 %.2f ms (%.1fx p50); %d non-2xx"
                      % (api["rps"], noop["rps"], static["rps"], api["p50"], api["p99"],
                         api["p99"] / api["p50"] if api["p50"] else 0, api["non2xx"]), "")
            bench.row("(4) %s, every answer read anew" % label, None,
                      "FastCGI no-op, same %d bytes" % bodies[i], None, anew["rps"] / noop["rps"], "",
                      "%.0f req/s with api.cache_ms = 0 (kept answers: %.1fx); p50 %.2f ms, p99 %.2f ms;"
                      " %d non-2xx" % (anew["rps"], api["rps"] / anew["rps"] if anew["rps"] else 0,
                                       anew["p50"], anew["p99"], anew["non2xx"]), "")
            if before:
                bench.row("(4) %s, before" % label, None, "FastCGI no-op, same %d bytes" % bodies[i], None,
                          before["rps"] / noop["rps"], ">= 0.4",
                          "%.0f req/s; p50 %.2f ms, p99 %.2f ms; %d non-2xx"
                          % (before["rps"], before["p50"], before["p99"], before["non2xx"]), "")
    finally:
        for p in pidfiles:
            stop_pidfile(p)
    return []
