#!/usr/bin/env bash
# Run the Go test suite against throwaway PostgreSQL + Redis instances.
#
#   scripts/test.sh [extra go test args...]
#
# Starts PostgreSQL and Redis (fsync off) in a fresh temp dir on free ports,
# exports
#   INSPECTONCE_TEST_DATABASE_URL  postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#                                  (superuser, trust auth; tests create their own databases)
#   INSPECTONCE_TEST_REDIS_URL     redis://127.0.0.1:PORT/0
# runs `go vet ./...` and `go test -count=1 -timeout 40m ./... "$@"`, then stops
# the services and removes the temp dir (also on failure / Ctrl-C).
#
# Exit status: go test's status if it failed; otherwise 1 if go vet failed
# (tests still run after a vet failure, so both are reported); otherwise 0.
#
# Environment knobs:
#   BENCH=1        run `go test -count=1 -run '^$' -bench . -benchmem -timeout 40m ./... "$@"`
#                  instead (no vet)
#   SKIP_VET=1     do not run go vet
#   TEST_TIMEOUT   go test -timeout value (default 40m)
#   KEEP_SERVICES=1  leave services running and the temp dir in place (debugging)
#   SKIP_BROWSER_DEPS=1  do not install the browser-test tools (see below)
#
# The browser tests (web/*_browser_test.go) need Debian's chromium, a CJK font
# (fonts-noto-cjk: without it Chinese pages render as empty boxes) and
# pdftotext/pdftoppm (poppler-utils) to read printed PDFs; missing ones are
# installed with apt-get (as root, or via sudo), as scripts/services.sh does
# for PostgreSQL and Redis.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:$PATH"

log() { printf '[test] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "ERROR: go not found (expected /usr/local/go/bin/go)"; exit 1; }

SVC=scripts/services.sh

# ensure_browser_deps installs what the browser tests need when it is missing.
ensure_browser_deps() {
	local pkgs=() sudo=()
	command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
	command -v pdftotext >/dev/null 2>&1 || pkgs+=(poppler-utils)
	command -v fc-list >/dev/null 2>&1 || pkgs+=(fontconfig)
	if ! command -v fc-list >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then
		pkgs+=(fonts-noto-cjk)
	fi
	[ "${#pkgs[@]}" -gt 0 ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { log "ERROR: need to install ${pkgs[*]}, but not root and no sudo"; return 1; }
		sudo=(sudo)
	fi
	command -v apt-get >/dev/null 2>&1 || { log "ERROR: need to install ${pkgs[*]}, but apt-get is not available"; return 1; }
	log "apt-get install ${pkgs[*]} (browser tests)"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || { log "ERROR: apt-get update failed"; return 1; }
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2 || { log "ERROR: apt-get install ${pkgs[*]} failed"; return 1; }
	# A new font is found by chromium only once fontconfig's cache knows it.
	command -v fc-cache >/dev/null 2>&1 && "${sudo[@]}" fc-cache -f >/dev/null 2>&1 || true
}

if [ "${BENCH:-0}" != 1 ] && [ "${SKIP_BROWSER_DEPS:-0}" != 1 ]; then
	ensure_browser_deps || exit 1
fi

TMPDIR_SVC=$(mktemp -d "${TMPDIR:-/tmp}/inspectonce-test.XXXXXX")
# mktemp creates 0700; the postgres OS user (when running as root) must traverse it.
chmod 0755 "$TMPDIR_SVC"

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "${KEEP_SERVICES:-0}" = 1 ]; then
		log "KEEP_SERVICES=1: services left running in $TMPDIR_SVC (stop with: $SVC purge $TMPDIR_SVC)"
	else
		"$SVC" purge "$TMPDIR_SVC" >/dev/null 2>&1 || {
			log "WARNING: cleanup of $TMPDIR_SVC failed; retrying verbosely"
			"$SVC" purge "$TMPDIR_SVC" || true
		}
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PGPORT=$("$SVC" freeport)
REDISPORT=$("$SVC" freeport)
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ "$REDISPORT" != "$PGPORT" ] && break
	REDISPORT=$("$SVC" freeport)
done

log "starting PostgreSQL :$PGPORT and Redis :$REDISPORT in $TMPDIR_SVC"
TEST_TUNING=1 "$SVC" start "$TMPDIR_SVC" "$PGPORT" "$REDISPORT" || {
	log "ERROR: could not start test services"
	exit 1
}

export INSPECTONCE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
export INSPECTONCE_TEST_REDIS_URL="redis://127.0.0.1:$REDISPORT/0"
# Integration tests fail instead of skipping when they cannot reach these servers.
export INSPECTONCE_TEST_REQUIRE=1
log "INSPECTONCE_TEST_DATABASE_URL=$INSPECTONCE_TEST_DATABASE_URL"
log "INSPECTONCE_TEST_REDIS_URL=$INSPECTONCE_TEST_REDIS_URL"

timeout=${TEST_TIMEOUT:-40m}

if [ "${BENCH:-0}" = 1 ]; then
	log "go test -count=1 -run '^\$' -bench . -benchmem -timeout $timeout ./... $*"
	set +e
	go test -count=1 -run '^$' -bench . -benchmem -timeout "$timeout" ./... "$@"
	rc=$?
	set -e
	exit "$rc"
fi

vet_rc=0
if [ "${SKIP_VET:-0}" != 1 ]; then
	log "go vet ./..."
	go vet ./... || vet_rc=$?
	[ "$vet_rc" -eq 0 ] || log "go vet failed (exit $vet_rc); running tests anyway"
fi

log "go test -count=1 -timeout $timeout ./... $*"
set +e
go test -count=1 -timeout "$timeout" ./... "$@"
rc=$?
set -e

if [ "$rc" -ne 0 ]; then
	log "go test failed (exit $rc)"
	exit "$rc"
fi
if [ "$vet_rc" -ne 0 ]; then
	log "tests passed but go vet failed"
	exit 1
fi
log "ok"
exit 0
