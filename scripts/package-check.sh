#!/bin/sh
# make package-check: unpacks the package into a throwaway root, starts a
# private MariaDB (scripts/stack.sh's), migrates it with the packaged
# provisioning-admin, runs the packaged API under spawn-fcgi and nginx with
# the packaged site (its absolute paths moved into the root), and checks
# /healthz, /readyz and the page.  What it does not do: run the maintainer
# scripts as root on this machine or start systemd units (tests/integration/
# test_package.py runs the scripts against a sandbox).
#
#   package-check.sh PACKAGE.deb
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEB=$1
DIR=$(mktemp -d /tmp/provisioning-pkg.XXXXXX)
R=$DIR/root
cleanup() {
	[ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true
	[ -f "$DIR/api.pid" ] && kill $(cat "$DIR/api.pid") 2>/dev/null || true
	"$ROOT/scripts/stack.sh" db-stop "$DIR" >/dev/null 2>&1 || true
	rm -rf "$DIR"
}
trap cleanup EXIT
step() { echo "package-check: $*"; }
fail() { echo "package-check: FAILED: $*" >&2; exit 1; }

step "unpacking $DEB into $R"
dpkg-deb -x "$DEB" "$R"
ports=$("$ROOT/scripts/stack.sh" free-ports)
PORT=${ports% *}

step "starting a private MariaDB"
"$ROOT/scripts/stack.sh" db-start "$DIR" >/dev/null
pw=$(openssl rand -hex 16)
mariadb --no-defaults --socket="$DIR/mysqld.sock" -uroot <<SQL
CREATE DATABASE provisioning CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;
CREATE USER 'provisioning'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON provisioning.* TO 'provisioning'@'localhost';
SQL

step "configuration from the packaged example, a key as postinst makes it"
mkdir -p "$R/var/lib/provisioning" "$R/var/log/provisioning" "$R/run/provisioning"
(umask 077 && openssl rand -out "$R/var/lib/provisioning/token.key" 32)
sed -e "s|^db.password = .*|db.password = $pw|" -e "s|^# db.socket = .*|db.socket = $DIR/mysqld.sock|" \
    -e "s|^app.base_url = .*|app.base_url = http://127.0.0.1:$PORT|" \
    -e "s|= /var/|= $R/var/|" -e "s|^slack.client_id = .*|slack.client_id = 1.2|" \
    -e "s|^slack.client_secret = .*|slack.client_secret = x|" \
    "$R/etc/provisioning/provisioning.conf.example" > "$R/etc/provisioning/provisioning.conf"
chmod 0640 "$R/etc/provisioning/provisioning.conf"
PROVISIONING_CONFIG=$R/etc/provisioning/provisioning.conf
export PROVISIONING_CONFIG

step "migrate with the packaged provisioning-admin"
"$R/usr/lib/provisioning/provisioning-admin" migrate

step "the packaged API under spawn-fcgi, the packaged site under nginx"
spawn-fcgi -s "$DIR/api.sock" -M 0600 -F 2 -P "$DIR/api.pid" -- "$R/usr/lib/provisioning/provisioning-api" >/dev/null
sed -e "s|/usr/share/provisioning|$R/usr/share/provisioning|g" -e "s|/run/provisioning|$DIR|g" \
    -e "s|127.0.0.1:8080|127.0.0.1:$PORT|" -e "s|/var/log/nginx/|$DIR/|" \
    "$R/etc/nginx/sites-available/provisioning" > "$DIR/site.conf"
mkdir -p "$DIR/tmp"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat > "$DIR/nginx.conf" <<CONF
$USER_LINE
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    client_body_temp_path $DIR/tmp/body;
    fastcgi_temp_path $DIR/tmp/fastcgi;
    proxy_temp_path $DIR/tmp/proxy;
    uwsgi_temp_path $DIR/tmp/uwsgi;
    scgi_temp_path $DIR/tmp/scgi;
    include $DIR/site.conf;
}
CONF
nginx -p "$DIR" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf"

get() { curl -s -o "$DIR/body" -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }
for _ in $(seq 1 50); do [ "$(get /healthz)" = 200 ] && break; sleep 0.1; done
code=$(get /healthz)
[ "$code" = 200 ] || fail "/healthz answered $code: $(cat "$DIR/body")"
step "/healthz 200 $(cat "$DIR/body")"
code=$(get /readyz)
[ "$code" = 200 ] || fail "/readyz answered $code: $(cat "$DIR/body")"
step "/readyz 200 $(cat "$DIR/body")"
code=$(get /settings/provisioning)
[ "$code" = 200 ] && grep -q '<html' "$DIR/body" || fail "the page answered $code"
step "the settings page 200 from $R/usr/share/provisioning/web"
code=$(get /api/v1/openapi.json)
[ "$code" = 200 ] || fail "openapi.json answered $code"
grep -q "provisioning-api\[[0-9]*\] info: api: ready" "$R/var/log/provisioning/provisioning.log" \
	|| fail "the API did not log to log.file"
step "the API logs to $R/var/log/provisioning/provisioning.log"
"$R/usr/lib/provisioning/provisioning-admin" doctor || true
step "ok"
