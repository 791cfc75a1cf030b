#!/bin/sh
# Starts and stops the whole stack on loopback, with all its state in one
# folder: a private MariaDB (own datadir and socket), the FastCGI API under
# spawn-fcgi, the Slack emulator, nginx, and for `make run` a loop that runs
# the sync pass.  Used by `make run`, `make stop` and the test harness.
#
#   stack.sh run                      make run: ./run, $PORT (8080), seeds the demo
#   stack.sh start DIR PORT EPORT     start what is not running yet
#   stack.sh stop DIR                 stop everything started in DIR
#   stack.sh db-stop DIR | db-start DIR   (tests: the database going away)
#   stack.sh api-restart DIR          restart the API processes with this environment
#   stack.sh free-ports               print two free loopback ports (app, emulator)
#
# Environment: configuration overrides (SLACK_API_BASE, ...) reach every
# program started; API_PROCESSES (3), SYNC_INTERVAL (60, 0 = no loop),
# DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD; PROVISIONING_BIN_DIR, when set, is
# where the three programs are taken from (make test: build/san/bin, the
# sanitizer builds); otherwise the release ones in cgi-bin/ and cron/.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${PROVISIONING_BIN_DIR:-}" ]; then
	API_BIN=$PROVISIONING_BIN_DIR/provisioning-api
	SYNC_BIN=$PROVISIONING_BIN_DIR/provisioning-sync
	ADMIN_BIN=$PROVISIONING_BIN_DIR/provisioning-admin
else
	API_BIN=$ROOT/cgi-bin/provisioning-api
	SYNC_BIN=$ROOT/cron/provisioning-sync
	ADMIN_BIN=$ROOT/cron/provisioning-admin
fi
API_PROCESSES=${API_PROCESSES:-3}

log() { echo "stack: $*" >&2; }

alive() { # pidfile: any listed process alive?
	[ -f "$1" ] || return 1
	for p in $(cat "$1"); do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

stop_pidfile() { # pidfile name
	[ -f "$1" ] || return 0
	pids=$(cat "$1")
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for _ in $(seq 1 50); do
		still=""
		for p in $pids; do kill -0 "$p" 2>/dev/null && still=1; done
		[ -z "$still" ] && break
		sleep 0.1
	done
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	rm -f "$1"
}

wait_for() { # description seconds command...
	what=$1 secs=$2
	shift 2
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt $((secs * 10)) ]; then
			log "$what did not come up in $secs s"
			return 1
		fi
		sleep 0.1
	done
}

fill() { # template output
	sed -e "s|@ROOT@|$ROOT|g" -e "s|@RUN@|$DIR|g" -e "s|@LISTEN@|127.0.0.1:$PORT|g" \
	    -e "s|@ACCESS_LOG@|$DIR/nginx-access.log|g" \
	    -e "s|@EMULATOR_PORT@|$EPORT|g" -e "s|@USER_LINE@|$USER_LINE|g" \
	    -e "s|@PICTURES@|$DIR/pictures|g" "$1" > "$2"
}

db_start() {
	if alive "$DIR/mysqld.pid"; then return 0; fi
	if [ ! -d "$DIR/mysql/mysql" ]; then
		mkdir -p "$DIR/mysql"
		mariadb-install-db --no-defaults --datadir="$DIR/mysql" --user="$(id -un)" \
			--auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" \
			--skip-test-db > "$DIR/mysql-install.log" 2>&1 \
			|| { log "mariadb-install-db failed, see $DIR/mysql-install.log"; return 1; }
	fi
	# Flushing the log once a second is a test and demo choice: a power
	# cut may lose the last second, a crash of mariadbd loses nothing.
	mariadbd --no-defaults --datadir="$DIR/mysql" --socket="$DIR/mysqld.sock" \
		--pid-file="$DIR/mysqld.pid" --skip-networking --user="$(id -un)" \
		--log-error="$DIR/mysqld.log" --innodb-buffer-pool-size=256M \
		--innodb-flush-log-at-trx-commit=2 --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_520_ci --max-connections=200 \
		> /dev/null 2>&1 &
	wait_for "MariaDB" 60 mariadb-admin --no-defaults --socket="$DIR/mysqld.sock" -uroot ping
}

db_stop() {
	if [ -f "$DIR/mysqld.pid" ]; then
		mariadb-admin --no-defaults --socket="$DIR/mysqld.sock" -uroot shutdown 2>/dev/null \
			|| stop_pidfile "$DIR/mysqld.pid"
		for _ in $(seq 1 100); do
			[ -f "$DIR/mysqld.pid" ] || break
			sleep 0.1
		done
	fi
}

write_config() {
	if [ ! -f "$DIR/provisioning.conf" ]; then
		pw=$(openssl rand -hex 16)
		umask 077
		cat > "$DIR/provisioning.conf" <<CONF
# Written by scripts/stack.sh for the stack in this folder.
db.socket = $DIR/mysqld.sock
db.user = provisioning
db.password = $pw
db.name = provisioning
app.base_url = http://127.0.0.1:$PORT
crypto.key_file = $DIR/token.key
slack.api_base = http://127.0.0.1:$EPORT/api/
slack.authorize_url = http://127.0.0.1:$EPORT/oauth/v2/authorize
slack.client_id = 1111111111.2222222222
slack.client_secret = demo-client-secret-0123456789abcdef
# Shared by the API processes, so a scrape of /metrics sees all of them.
metrics.file = $DIR/api-metrics
CONF
		umask 022
	fi
	# Pictures live in the stack's folder, where nginx serves them (also
	# for a folder written before the key existed).
	grep -q '^pictures.dir' "$DIR/provisioning.conf" ||
		echo "pictures.dir = $DIR/pictures" >> "$DIR/provisioning.conf"
	# The emulator is this stack's Slack CDN: its avatars are on loopback.
	grep -q '^pictures.hosts' "$DIR/provisioning.conf" ||
		echo "pictures.hosts = 127.0.0.1" >> "$DIR/provisioning.conf"
	# A folder made before the API shared its counters gets the key too.
	grep -q '^metrics.file' "$DIR/provisioning.conf" ||
		printf 'metrics.file = %s\n' "$DIR/api-metrics" >> "$DIR/provisioning.conf"
	# The programs count their committed writes here, so that the API
	# knows when an answer it keeps is out of date (db/db_changes.h).
	grep -q '^db.changes_file' "$DIR/provisioning.conf" ||
		printf 'db.changes_file = %s\n' "$DIR/db-changes" >> "$DIR/provisioning.conf"
	[ -f "$DIR/token.key" ] || (umask 077 && openssl rand 32 > "$DIR/token.key")
	PROVISIONING_CONFIG="$DIR/provisioning.conf"
	export PROVISIONING_CONFIG
}

db_prepare() {
	pw=$(sed -n 's/^db.password = //p' "$DIR/provisioning.conf")
	mariadb --no-defaults --socket="$DIR/mysqld.sock" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS provisioning CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;
CREATE USER IF NOT EXISTS 'provisioning'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON provisioning.* TO 'provisioning'@'localhost';
SQL
	"$ADMIN_BIN" migrate >> "$DIR/admin.log"
}

api_start() {
	if alive "$DIR/api.pid"; then return 0; fi
	rm -f "$DIR/api.sock"
	# spawn-fcgi gives the API /dev/null for stderr: log.file (here for
	# the API alone; the sync and the CLI keep their stderr) is its log.
	LOG_FILE="$DIR/api.log" spawn-fcgi -s "$DIR/api.sock" -M 0600 -F "$API_PROCESSES" \
		-P "$DIR/api.pid" -- "$API_BIN" >> "$DIR/api.log" 2>&1
}

emulator_start() {
	bin="$ROOT/tests/slack-emulator/slack-emulator"
	: > "$DIR/emulator-site.conf"
	[ -x "$bin" ] || { log "no Slack emulator built; skipping it"; return 0; }
	fill "$ROOT/nginx/emulator-site.conf.in" "$DIR/emulator-site.conf"
	if alive "$DIR/emulator.pid"; then return 0; fi
	rm -f "$DIR/emulator.sock"
	EMULATOR_FIXTURE=${EMULATOR_FIXTURE:-$ROOT/tests/slack-emulator/fixtures/demo.json} \
	EMULATOR_PUBLIC_URL="http://127.0.0.1:$EPORT" \
		spawn-fcgi -s "$DIR/emulator.sock" -M 0600 -F 1 -P "$DIR/emulator.pid" \
		-- "$bin" >> "$DIR/emulator.log" 2>&1
}

nginx_start() {
	mkdir -p "$DIR/nginx-tmp"
	fill "$ROOT/nginx/site.conf.in" "$DIR/site.conf"
	fill "$ROOT/nginx/nginx.conf.in" "$DIR/nginx.conf"
	if alive "$DIR/nginx.pid"; then
		nginx -p "$DIR" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" -s reload
		return 0
	fi
	nginx -p "$DIR" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf"
	wait_for "nginx" 10 curl -fsS -o /dev/null "http://127.0.0.1:$PORT/"
}

sync_loop_start() {
	interval=${SYNC_INTERVAL:-60}
	if alive "$DIR/sync-loop.pid" || [ "$interval" = 0 ]; then return 0; fi
	(
		trap 'exit 0' TERM
		while :; do
			"$SYNC_BIN" >> "$DIR/sync.log" 2>&1 || true
			sleep "$interval" & wait $!
		done
	) < /dev/null > /dev/null 2>&1 &
	echo $! > "$DIR/sync-loop.pid"
}

start() {
	mkdir -p "$DIR"
	# A root nginx needs workers that may enter a private (0700) folder.
	USER_LINE=""
	[ "$(id -u)" = 0 ] && USER_LINE="user root;"
	write_config
	db_start
	db_prepare
	api_start
	emulator_start
	nginx_start
}

stop() {
	[ -d "$DIR" ] || return 0
	stop_pidfile "$DIR/sync-loop.pid"
	if alive "$DIR/nginx.pid"; then
		nginx -p "$DIR" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" -s quit 2>/dev/null || true
		for _ in $(seq 1 50); do alive "$DIR/nginx.pid" || break; sleep 0.1; done
	fi
	stop_pidfile "$DIR/nginx.pid"
	stop_pidfile "$DIR/api.pid"
	stop_pidfile "$DIR/emulator.pid"
	db_stop
}

cmd=${1:-}
case "$cmd" in
run)
	DIR="$ROOT/run" PORT=${PORT:-8080} EPORT=${EMULATOR_PORT:-$((${PORT:-8080} + 1))}
	start
	email=${DEMO_ADMIN_EMAIL:-admin@demo.example}
	if [ -n "${DEMO_ADMIN_PASSWORD:-}" ]; then
		password=$DEMO_ADMIN_PASSWORD
	else
		[ -f "$DIR/demo-password" ] || (umask 077 && openssl rand -base64 12 > "$DIR/demo-password")
		password=$(cat "$DIR/demo-password")
	fi
	printf '%s\n' "$password" | "$ADMIN_BIN" seed-demo "$email" --password-stdin \
		>> "$DIR/admin.log"
	sync_loop_start
	echo
	echo "Provisioning is running at http://127.0.0.1:$PORT/settings/provisioning"
	echo "  sign in as: $email"
	echo "  password:   $password"
	echo "  Slack:      http://127.0.0.1:$EPORT/ (the bundled emulator, unless SLACK_API_BASE says otherwise)"
	echo "  state:      $DIR (logs: *.log); stop with 'make stop'"
	;;
start)
	DIR=$2 PORT=$3 EPORT=$4
	start
	;;
stop)
	DIR=$2
	stop
	;;
db-stop)
	DIR=$2
	db_stop
	;;
db-start)
	DIR=$2
	db_start
	;;
free-ports)
	# Bound at once so the two differ; released for the stack to take.
	python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))'
	;;
api-restart)
	DIR=$2
	PROVISIONING_CONFIG="$DIR/provisioning.conf"
	export PROVISIONING_CONFIG
	stop_pidfile "$DIR/api.pid"
	api_start
	;;
*)
	sed -n '2,15p' "$0" >&2
	exit 2
	;;
esac
