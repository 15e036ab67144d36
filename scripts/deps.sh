#!/usr/bin/env bash
# deps.sh — install the Debian packages SplitKV Lab needs, only those missing.
#
# Run by `make run` and `make test` before they build. It asks dpkg which of
# the packages below are installed and installs the rest with apt-get (as root,
# or through sudo when that works without a password). It never upgrades or
# removes anything already there. Set SKV_NO_DEPS=1 to skip this step.
# `deps.sh test` adds what only the tests need: chromium, whose headless mode
# renders a run's report.html in tests/check_report.c.
set -u

pkgs="libyaml-dev libjansson-dev check gnuplot-nox pkg-config libsubunit-dev"
[ "${1:-}" = test ] && pkgs="$pkgs chromium"

[ "${SKV_NO_DEPS:-0}" = 1 ] && exit 0

missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
else
  echo "deps: not root and no password-less sudo; install them by hand:" >&2
  echo "      apt-get install$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh image has empty package lists: update them once, then install.
$sudo apt-get update -qq || { echo "deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
  { echo "deps: apt-get install$missing failed" >&2; exit 1; }
echo "deps: installed$missing"
