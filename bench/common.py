"""Helpers of make bench: timing a program with its peak memory, the
database as root, MariaDB's statement counters, and perf profiles.

Every figure of the bench is a ratio to a baseline measured in the same run,
because these machines are shared and noisy: a wall time alone says little.
"""
import os
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def proc_kib(pid, key):
    """A /proc/PID/status figure in KiB (VmHWM, VmRSS), 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Timed:
    """Runs cmd to its end; .wall (s), .peak_mib (VmHWM of the program).

    The peak is read from /proc while it runs: getrusage's ru_maxrss would
    also count this Python process, which the child is until its exec.
    With perf_out, `perf record` samples the program (and `also_pids`, e.g.
    mysqld) from its start to its end."""

    def __init__(self, cmd, env, perf_out=None, also_pids=()):
        self.cmd = cmd
        start = time.monotonic()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Drained as it comes: a program that logs more than a pipe holds
        # (64 KiB: a few hundred 429 warnings) would block on its stderr.
        err = []
        drain = threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)
        drain.start()
        perf = None
        if perf_out:
            pids = ",".join(str(x) for x in (p.pid,) + tuple(also_pids))
            perf = subprocess.Popen(["perf", "record", "-q", "-F", "49", "-g", "-o", perf_out,
                                     "-p", pids], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        peak = 0
        while p.poll() is None:
            peak = max(peak, proc_kib(p.pid, "VmHWM"))
            time.sleep(0.02)
        self.wall = time.monotonic() - start
        self.peak_mib = peak / 1024.0
        drain.join()
        self.stderr = b"".join(err).decode(errors="replace")
        if perf:
            perf.send_signal(2)
            perf.wait(timeout=120)
        if p.returncode != 0:
            raise SystemExit("bench: %s failed: %s" % (cmd[0], self.stderr[-2000:]))


class Sampler(threading.Thread):
    """Peak VmRSS (KiB) of a set of processes, sampled every 20 ms."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, {p: 0 for p in pids}, threading.Event()

    def run(self):
        while not self.done.is_set():
            for p in self.pids:
                self.peak[p] = max(self.peak[p], proc_kib(p, "VmRSS"))
            time.sleep(0.02)

    def stop(self):
        self.done.set()
        self.join()
        return self.peak


class Db:
    """The stack's MariaDB as root, through the mariadb client."""

    def __init__(self, run_dir):
        self.base = ["mariadb", "--no-defaults", "--socket=" + os.path.join(run_dir, "mysqld.sock"),
                     "-uroot", "--default-character-set=utf8mb4"]
        self.dump_base = ["mariadb-dump", "--no-defaults",
                          "--socket=" + os.path.join(run_dir, "mysqld.sock"), "-uroot",
                          "--default-character-set=utf8mb4"]

    def rows(self, sql):
        r = subprocess.run(self.base + ["-N", "-B", "provisioning", "-e", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("bench: sql failed: %s: %s" % (sql, r.stderr))
        return [line.split("\t") for line in r.stdout.splitlines()]

    def one(self, sql):
        return int(self.rows(sql)[0][0])

    def status(self):
        """The server's global counters (Com_*, Handler_*, Innodb_rows_*)."""
        return {k: int(v) for k, v in self.rows("SHOW GLOBAL STATUS") if v.isdigit()}

    def columns(self, table):
        """The columns of a table that are stored as given (not generated)."""
        return [r[0] for r in self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'provisioning'"
            " AND table_name = '%s' AND extra NOT LIKE '%%GENERATED%%' ORDER BY ordinal_position"
            % table)]

    def dump(self, table, where, into, batch_bytes=1 << 20):
        """Multi-row INSERTs (about 1 MiB each, like mariadb-dump's) into
        `into` of the rows of `table` matching `where`; QUOTE() spells every
        value, NULL included, as SQL."""
        cols = self.columns(table)
        sql = "SELECT CONCAT('(', CONCAT_WS(',', %s), ')') FROM %s WHERE %s" % (
            ", ".join("QUOTE(`%s`)" % c for c in cols), table, where)
        r = subprocess.run(self.base + ["-N", "-B", "--raw", "provisioning", "-e", sql],
                           capture_output=True)
        if r.returncode != 0:
            raise SystemExit("bench: reading %s failed: %s" % (table, r.stderr.decode()))
        head = ("INSERT INTO `%s` (%s) VALUES\n" % (into, ", ".join("`%s`" % c for c in cols))).encode()
        out, batch, size = [], [], 0
        for line in r.stdout.split(b"\n"):
            if not line:
                continue
            batch.append(line)
            size += len(line)
            if size >= batch_bytes:
                out.append(head + b",\n".join(batch) + b";\n")
                batch, size = [], 0
        if batch:
            out.append(head + b",\n".join(batch) + b";\n")
        return b"".join(out)

    def feed(self, sql_bytes):
        """Runs a script; returns its wall time."""
        start = time.monotonic()
        r = subprocess.run(self.base + ["provisioning"], input=sql_bytes, capture_output=True)
        took = time.monotonic() - start
        if r.returncode != 0:
            raise SystemExit("bench: load failed: %s" % r.stderr.decode()[-2000:])
        return took


STATEMENT_KEYS = ("Com_stmt_execute", "Com_stmt_prepare", "Com_stmt_close", "Com_select",
                  "Com_insert", "Com_update", "Com_delete", "Com_commit", "Handler_write",
                  "Handler_update", "Handler_delete", "Handler_read_key")


def status_delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in STATEMENT_KEYS}


def perf_top(perf_data, lines=25):
    """The hottest symbols of a perf recording, per process, as text."""
    if not perf_data or not os.path.exists(perf_data):
        return ""
    r = subprocess.run(["perf", "report", "-i", perf_data, "--stdio", "--no-children", "-g", "none",
                        "--sort", "comm,dso,sym", "--percent-limit", "1"],
                       capture_output=True, text=True)
    out = [ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith("#")
           and "%" in ln.split()[0]]
    return "\n".join(out[:lines])
