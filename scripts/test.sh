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
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:$PATH"

log() { printf '[test] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "ERROR: go not found (expected /usr/local/go/bin/go)"; exit 1; }

SVC=scripts/services.sh
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
