#!/usr/bin/env bash
# Installs the Debian packages newsloom's tests use, when missing. Safe to run again: it does nothing then.
# Without root (or sudo) it says what to install and goes on; the tests needing a package then skip, saying why.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)                                   # the reader's browser test
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)  # tests start their own server
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)                 # PySpark's JVM

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
else
    echo "newsloom: please install these Debian packages for the full test suite: ${need[*]}" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "newsloom: no apt-get here; install ${need[*]} with your package manager for the full test suite" >&2
    exit 0
fi
echo "newsloom: installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
