#!/bin/sh
# Installs the Debian packages the project needs, when some are missing.
# Arguments: package names, or PACKAGE:/path/to/file when any package that
# provides that file will do (nginx-light serves as well as nginx).
# Does nothing when everything is present; as non-root, names what is
# missing and fails.
set -eu
missing=""
for spec in "$@"; do
	pkg=${spec%%:*}
	file=${spec#*:}
	if [ "$file" != "$spec" ] && [ -e "$file" ]; then
		continue
	fi
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		continue
	fi
	missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
