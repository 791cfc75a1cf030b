"""make deb: the package's contents, its control data and its maintainer
scripts (issue 15 item 1).  The scripts are run for real against folders in
a temporary directory, with the commands that would change this machine
(adduser, chown, runuser, systemctl) replaced by stubs that record calls."""
import os
import re
import shutil
import stat
import subprocess
import tempfile

_built = {}


def build(ctx):
    if "deb" in _built:
        return _built["deb"]
    out = tempfile.mkdtemp(prefix="pv-deb-")
    r = subprocess.run(["make", "--no-print-directory", "deb", "DEB_OUT=" + out],
                       cwd=ctx.root, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    _built["deb"] = os.path.join(out, debs[0])
    return _built["deb"]


def contents(deb):
    r = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True)
    files = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        mode, owner, path = parts[0], parts[1], parts[5]
        files[path.lstrip(".")] = (mode, owner)
    return files


def test_package_holds_programs_site_units_and_configuration(ctx):
    files = contents(build(ctx))
    expect = {
        "/usr/lib/provisioning/provisioning-api": "-rwxr-xr-x",
        "/usr/lib/provisioning/provisioning-sync": "-rwxr-xr-x",
        "/usr/lib/provisioning/provisioning-admin": "-rwxr-xr-x",
        "/usr/share/provisioning/web/index.html": "-rw-r--r--",
        "/usr/share/provisioning/openapi.json": "-rw-r--r--",
        "/usr/share/provisioning/manifest.json": "-rw-r--r--",
        "/etc/nginx/sites-available/provisioning": "-rw-r--r--",
        "/lib/systemd/system/provisioning-api.service": "-rw-r--r--",
        "/lib/systemd/system/provisioning-sync.service": "-rw-r--r--",
        "/lib/systemd/system/provisioning-sync.timer": "-rw-r--r--",
        "/etc/logrotate.d/provisioning": "-rw-r--r--",
        "/etc/provisioning/provisioning.conf.example": "-rw-r-----",
    }
    for path, mode in expect.items():
        assert path in files, (path, sorted(files))
        assert files[path][0] == mode, (path, files[path])
        assert files[path][1] == "root/root", (path, files[path])
    assert files["/usr/sbin/provisioning-admin"][0].startswith("l")
    # No configuration with secrets and no key ship in the package.
    assert "/etc/provisioning/provisioning.conf" not in files
    assert not any(p.endswith(".key") for p in files), sorted(files)
    # Every web file of the tree is there.
    web = []
    for d, _, fs in os.walk(os.path.join(ctx.root, "web")):
        web += [os.path.relpath(os.path.join(d, f), ctx.root) for f in fs]
    assert web and all("/usr/share/provisioning/" + w in files for w in web), web


def test_package_control_and_installed_site(ctx):
    deb = build(ctx)
    r = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"],
                       capture_output=True, text=True, check=True)
    assert "Package: provisioning" in r.stdout, r.stdout
    deps = re.search(r"^Depends: (.*)$", r.stdout, re.M).group(1)
    for p in ("libmariadb3", "libfcgi0ldbl", "libjson-c5", "libcurl4", "spawn-fcgi", "adduser"):
        assert p in deps, deps
    r = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"], capture_output=True, text=True, check=True)
    assert "/etc/nginx/sites-available/provisioning" in r.stdout
    root = tempfile.mkdtemp(prefix="pv-x-")
    try:
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        site = open(os.path.join(root, "etc/nginx/sites-available/provisioning")).read()
        assert not re.search(r"@[A-Z_]+@", site), "a placeholder is left in the site"
        assert "root /usr/share/provisioning/web;" in site
        assert "alias /usr/share/provisioning/openapi.json;" in site
        assert "fastcgi_pass unix:/run/provisioning/api.sock;" in site
        unit = open(os.path.join(root, "lib/systemd/system/provisioning-api.service")).read()
        assert "/usr/lib/provisioning/provisioning-api" in unit and "spawn-fcgi" in unit
        assert "-u provisioning" in unit
        timer = open(os.path.join(root, "lib/systemd/system/provisioning-sync.timer")).read()
        assert "OnCalendar=minutely" in timer
        # nginx accepts the site as it is installed.
        conf = os.path.join(root, "nginx-test.conf")
        with open(conf, "w") as f:
            f.write("pid %s/nginx.pid;\nerror_log %s/err.log;\nevents {}\nhttp {\n"
                    "include /etc/nginx/mime.types;\ninclude %s;\n}\n"
                    % (root, root, os.path.join(root, "etc/nginx/sites-available/provisioning")))
        site_path = os.path.join(root, "etc/nginx/sites-available/provisioning")
        with open(site_path, "w") as f:
            f.write(site.replace("/var/log/nginx/provisioning-access.log", root + "/access.log"))
        r = subprocess.run(["nginx", "-t", "-p", root, "-e", root + "/err.log", "-c", conf],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)


STUBS = {
    "adduser": 'echo "adduser $*" >> "$CALLS"',
    "getent": 'exit 2',
    "systemctl": 'echo "systemctl $*" >> "$CALLS"',
    "chown": 'echo "chown $*" >> "$CALLS"',
    "runuser": 'echo "runuser $*" >> "$CALLS"; exit ${RUNUSER_RC:-0}',
    # install without owners: the stub keeps -m and drops -o and -g.
    "install": 'args=""; while [ $# -gt 0 ]; do case "$1" in -o|-g) shift 2;; *) args="$args $1"; shift;; esac; done; '
               'echo "install$args" >> "$CALLS"; exec /usr/bin/install $args',
}


def run_script(ctx, deb, name, args, env_extra=None):
    work = _built.setdefault("work", tempfile.mkdtemp(prefix="pv-maint-"))
    sandbox = os.path.join(work, "root")
    control = os.path.join(work, "control")
    if not os.path.isdir(control):
        subprocess.run(["dpkg-deb", "-e", deb, control], check=True)
        os.makedirs(os.path.join(sandbox, "etc/provisioning"))
        shutil.copy(os.path.join(ctx.root, "packaging/provisioning.conf.example"),
                    os.path.join(sandbox, "etc/provisioning/provisioning.conf.example"))
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        for cmd, body in STUBS.items():
            p = os.path.join(bindir, cmd)
            with open(p, "w") as f:
                f.write("#!/bin/sh\n" + body + "\n")
            os.chmod(p, 0o755)
    text = open(os.path.join(control, name)).read()
    # The same script with its absolute folders moved into the sandbox.
    for d in ("/etc/provisioning", "/var/lib/provisioning", "/var/log/provisioning"):
        text = text.replace(d, sandbox + d)
    script = os.path.join(work, name + ".sh")
    with open(script, "w") as f:
        f.write(text)
    calls = os.path.join(work, "calls")
    open(calls, "w").close()
    env = dict(os.environ, PATH=os.path.join(work, "bin") + ":" + os.environ["PATH"], CALLS=calls)
    env.update(env_extra or {})
    r = subprocess.run(["sh", "-e", script] + args, env=env, capture_output=True, text=True)
    return r, open(calls).read(), sandbox


def test_maintainer_scripts_create_the_key_once_and_migrate_on_upgrade(ctx):
    deb = build(ctx)
    for name in ("preinst", "postinst", "prerm", "postrm"):
        r = subprocess.run(["dpkg-deb", "-I", deb, name], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.startswith("#!/bin/sh"), (name, r)
        assert subprocess.run(["sh", "-n"], input=r.stdout, text=True).returncode == 0, name
    # First install.
    r, calls, root = run_script(ctx, deb, "postinst", ["configure"])
    assert r.returncode == 0, r.stderr
    assert "adduser --system --group" in calls, calls
    key = os.path.join(root, "var/lib/provisioning/token.key")
    conf = os.path.join(root, "etc/provisioning/provisioning.conf")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert os.path.getsize(key) == 32
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(os.path.join(root, "var/log/provisioning")).st_mode) == 0o750
    assert "migrate" not in calls, "a first install has no database configured yet"
    first_key = open(key, "rb").read()
    with open(conf, "a") as f:
        f.write("# the operator's edit\n")
    # An upgrade keeps the key and the configuration and migrates.
    r, calls, root = run_script(ctx, deb, "postinst", ["configure", "1.0.0"])
    assert r.returncode == 0, r.stderr
    assert open(key, "rb").read() == first_key, "the key file was overwritten"
    assert open(conf).read().endswith("# the operator's edit\n")
    assert re.search(r"runuser -u provisioning -- .*provisioning-admin migrate", calls), calls
    # A failed migrate fails the upgrade, with what to do.
    r, calls, root = run_script(ctx, deb, "postinst", ["configure", "1.0.0"], {"RUNUSER_RC": "1"})
    assert r.returncode == 1 and "migrate failed; the sync stays stopped" in r.stderr, r
    assert open(key, "rb").read() == first_key
    # The sync is stopped before an upgrade unpacks.
    pre = subprocess.run(["dpkg-deb", "-I", deb, "preinst"], capture_output=True, text=True).stdout
    assert re.search(r'"\$1" = upgrade .*\n\s*systemctl stop provisioning-sync.timer', pre), pre
    post = subprocess.run(["dpkg-deb", "-I", deb, "postrm"], capture_output=True, text=True).stdout
    assert "/var/lib/provisioning" not in re.sub(r"#.*|echo.*", "", post), "purge must keep the key"
    shutil.rmtree(_built.pop("work"), ignore_errors=True)
    shutil.rmtree(os.path.dirname(_built.pop("deb")), ignore_errors=True)
