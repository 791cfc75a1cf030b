#!/bin/sh
# check-layers.sh BUILD_DIR - the rules of STYLE.md that a script can check,
# so that nobody has to remember them (curl's checksrc habit).  `make lint`
# runs it after the build; each broken rule prints one plain line saying
# which file broke which rule, and the script exits 1.
#
#   1. No unbounded string function (strcpy, sprintf, atoi, ...) anywhere.
#   2. lib/ is in folders by layer.  A file may include headers of its own
#      folder and of folders of a lower layer only:
#          core (0) < snapshot (1) < db (2) < directory (3)
#          < provider, mail (4) < sync, report (5)
#      Folders of one rank do not include each other.  An include without a
#      folder must name a header of the file's own folder (an internal
#      header such as provider/slack/slack_int.h).  lib/ never includes a
#      cgi-bin/ or cron/ header.
#   3. System headers of a backend stay in its folder: <mysql.h> only in
#      db/, <curl/curl.h> only in provider/ and mail/, no FastCGI header
#      anywhere in lib/.
#   4. On the built objects: the planner (sync/sync_plan.o) calls nothing
#      but libc and the pure core modules of $PURE_CORE below, which call
#      nothing but libc themselves; mysql_* symbols are used only by db/ objects; curl_* only by
#      provider/ and mail/ objects; libprovision.a has no FCGX symbol.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build/rel}
cd "$ROOT" || exit 2
# Rules are checked in pipelines (subshells): each broken rule appends a line
# to $ERRS, and the script fails when it is not empty.
ERRS=$(mktemp)
# Core modules that are pure (libc only), so the pure planner may call them.
PURE_CORE="core/email_fold core/utf8_cut"
trap 'rm -f "$ERRS"' EXIT
bad() { echo "lint: $*" | tee -a "$ERRS"; }

# ---- 1. banned functions --------------------------------------------------
banned=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|atoi|atol|strtok|gets)[[:space:]]*\(' \
	--include='*.c' --include='*.h' lib cgi-bin cron tests bench 2>/dev/null |
	grep -v '^tests/fuzz/corpus/')
if [ -n "$banned" ]; then
	echo "$banned" | while IFS= read -r line; do
		bad "${line%%:*}: unbounded string function (STYLE.md habit 3): ${line#*:*:}"
	done
fi

# ---- 2 and 3. includes by layer -------------------------------------------
rank() {
	case "$1" in
	core) echo 0 ;;
	snapshot) echo 1 ;;
	db) echo 2 ;;
	directory) echo 3 ;;
	provider | mail) echo 4 ;;
	sync | report) echo 5 ;;
	*) echo -1 ;;
	esac
}

for f in $(find lib -name '*.[ch]' | sort); do
	dir=$(dirname "$f")
	rel=${dir#lib/}
	top=${rel%%/*}
	r=$(rank "$top")
	if [ "$r" -lt 0 ]; then
		bad "$f: lib/$top/ is not a known layer (add it to scripts/check-layers.sh)"
		continue
	fi
	grep -n '^[[:space:]]*#[[:space:]]*include' "$f" | while IFS= read -r line; do
		n=${line%%:*}
		inc=$(echo "$line" | sed -n 's/.*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p')
		name=$(echo "$inc" | tr -d '<>"')
		case "$inc" in
		\<mysql.h\> | \<mysql/*)
			[ "$top" = db ] || bad "$f:$n: <mysql.h> outside lib/db/ (only the db layer speaks to MariaDB)"
			continue ;;
		\<curl/*)
			case "$top" in provider | mail) ;;
			*) bad "$f:$n: <curl/curl.h> outside lib/provider/ and lib/mail/" ;;
			esac
			continue ;;
		\<fcgi*)
			bad "$f:$n: a FastCGI header in lib/ (lib/ knows no transport, STYLE.md habit 7)"
			continue ;;
		\<*) continue ;;
		esac
		case "$name" in
		*/*)
			itop=${name%%/*}
			ir=$(rank "$itop")
			if [ ! -f "lib/$name" ]; then
				bad "$f:$n: includes \"$name\", which is not a header of lib/"
			elif [ "$itop" = "$top" ]; then
				:
			elif [ "$ir" -ge "$r" ]; then
				bad "$f:$n: lib/$top/ (layer $r) includes \"$name\" (layer $ir): an include may only go down a layer"
			fi
			;;
		*)
			[ -f "$dir/$name" ] ||
				bad "$f:$n: includes \"$name\" without a folder and it is not in $dir/ (name the folder: \"core/$name\"; lib/ never includes cgi-bin/ or cron/)"
			;;
		esac
	done
done

# ---- 4. symbols of the built objects --------------------------------------
if [ ! -f "$BUILD/libprovision.a" ]; then
	bad "$BUILD/libprovision.a is missing: build before linting"
else
	libc=$(ldd /bin/true | awk '/libc\.so/ {print $3; exit}')
	planner="$BUILD/lib/sync/sync_plan.o"
	if [ ! -f "$planner" ]; then
		bad "$planner is missing"
	else
		nm -D --defined-only "$libc" | awk '{print $3}' | sed 's/@.*//' | sort -u > "$BUILD/.libc-symbols"
		# Pure core modules (libc only themselves) the planner may call:
		# comparing e-mails like the database and cutting text belong to
		# the plan, and re-implementing them inside it would make two.
		: > "$BUILD/.pure-symbols"
		for m in $PURE_CORE; do
			o="$BUILD/lib/$m.o"
			if [ ! -f "$o" ]; then
				bad "$o is missing"
				continue
			fi
			extra=$(nm -u "$o" | awk '{print $2}' | sed 's/@.*//' | sort -u |
				comm -23 - "$BUILD/.libc-symbols" | tr '\n' ' ')
			[ -z "$extra" ] || bad "lib/$m.c must stay pure (libc only) but calls: $extra"
			nm --defined-only "$o" | awk '$2 == "T" {print $3}' >> "$BUILD/.pure-symbols"
		done
		sort -u "$BUILD/.libc-symbols" "$BUILD/.pure-symbols" > "$BUILD/.planner-allowed"
		nm -u "$planner" | awk '{print $2}' | sed 's/@.*//' | sort -u |
			comm -23 - "$BUILD/.planner-allowed" > "$BUILD/.planner-extra"
		if [ -s "$BUILD/.planner-extra" ]; then
			bad "lib/sync/sync_plan.c must stay pure (libc and $PURE_CORE only) but calls: $(tr '\n' ' ' < "$BUILD/.planner-extra")"
		fi
	fi
	for o in $(find "$BUILD/lib" -name '*.o' | sort); do
		rel=${o#"$BUILD"/lib/}
		top=${rel%%/*}
		syms=$(nm -u "$o" | awk '{print $2}')
		if [ "$top" != db ] && echo "$syms" | grep -q '^mysql_'; then
			bad "lib/${rel%.o}.c calls mysql_* ($(echo "$syms" | grep '^mysql_' | head -n 3 | tr '\n' ' ')): only lib/db/ may"
		fi
		case "$top" in provider | mail) ;;
		*)
			if echo "$syms" | grep -q '^curl_'; then
				bad "lib/${rel%.o}.c calls curl_* ($(echo "$syms" | grep '^curl_' | head -n 3 | tr '\n' ' ')): only lib/provider/ and lib/mail/ may"
			fi ;;
		esac
	done
	if nm "$BUILD/libprovision.a" 2>/dev/null | grep -q 'FCGX_'; then
		bad "libprovision.a uses FCGX_* symbols: lib/ knows no transport"
	fi
fi

if [ -s "$ERRS" ]; then
	echo "lint: $(wc -l < "$ERRS") rule(s) broken (scripts/check-layers.sh explains each rule)"
	exit 1
fi
echo "lint: layers, includes, symbols and banned functions: ok ($(find lib -name '*.c' | wc -l) lib sources in $(find lib -mindepth 1 -type d | wc -l) folders)"
