#!/usr/bin/env bash
# Local PostgreSQL 15 + Redis for development and tests, without Docker.
#
# Usage:
#   scripts/services.sh start DIR [PGPORT] [REDISPORT]
#       Install missing packages (postgresql-15, redis-server) via apt-get,
#       initialise PostgreSQL in DIR/pg if needed, start PostgreSQL and Redis
#       (Redis data in DIR/redis), wait until both accept connections, create
#       database "inspectonce" if missing and write DIR/env with
#       INSPECTONCE_DATABASE_URL and INSPECTONCE_REDIS_URL.
#       Defaults: PGPORT=55432, REDISPORT=56379.
#       Idempotent: if the services of DIR already run on those ports it just
#       succeeds. TEST_TUNING=1 turns off fsync/synchronous_commit/
#       full_page_writes (test instances only!).
#   scripts/services.sh stop DIR     Stop both services (ok if not running).
#   scripts/services.sh purge DIR    Stop and delete DIR (and a /tmp fallback
#                                    PostgreSQL data dir, see below).
#   scripts/services.sh freeport     Print a free TCP port on 127.0.0.1.
#
# Running as root: initdb refuses to run as root, so the PostgreSQL data dir is
# owned by the "postgres" user and initdb/pg_ctl run via `runuser -u postgres`.
# That user must be able to traverse DIR's parents. If it can't (e.g. the repo
# lives under a 0700 home directory), the data dir falls back to
# /tmp/inspectonce-pg-<hash of DIR>; its path is recorded in DIR/pg.path so
# that later start/stop/purge calls find it.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PATH="$PGBIN:/usr/local/go/bin:$PATH"
DEFAULT_PGPORT=55432
DEFAULT_REDISPORT=56379
DBNAME=inspectonce
PGUSER_OS=postgres

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- installing

APT_UPDATED=0
apt_install() {
	local sudo=()
	if ! is_root; then
		command -v sudo >/dev/null 2>&1 || die "need to install $*, but not root and no sudo"
		sudo=(sudo)
	fi
	command -v apt-get >/dev/null 2>&1 || die "need to install $*, but apt-get is not available"
	if [ "$APT_UPDATED" -eq 0 ]; then
		log "apt-get update"
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
		APT_UPDATED=1
	fi
	log "apt-get install $*"
	# RUNLEVEL=1 keeps invoke-rc.d from starting the distro services; we run our own.
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
		apt-get install -y -q --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

ensure_installed() {
	local pkgs=()
	if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ] || [ ! -x "$PGBIN/pg_isready" ]; then
		pkgs+=(postgresql-15)
	fi
	if ! command -v psql >/dev/null 2>&1; then
		pkgs+=(postgresql-client-15)
	fi
	if ! command -v redis-server >/dev/null 2>&1; then
		pkgs+=(redis-server)
	fi
	if ! command -v redis-cli >/dev/null 2>&1; then
		pkgs+=(redis-tools)
	fi
	if [ "${#pkgs[@]}" -gt 0 ]; then
		apt_install "${pkgs[@]}"
	fi
	[ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 binaries not found in $PGBIN after install"
	command -v redis-server >/dev/null 2>&1 || die "redis-server not found after install"
	command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found after install"
	if is_root; then
		id "$PGUSER_OS" >/dev/null 2>&1 || die "running as root but OS user '$PGUSER_OS' does not exist (install postgresql-15)"
		command -v runuser >/dev/null 2>&1 || die "running as root but runuser is missing"
	fi
}

# ---------------------------------------------------------------- ports

port_in_use() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]
		return
	fi
	# Fallback: something accepts connections on it.
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

check_port_arg() {
	case "$1" in
	'' | *[!0-9]*) die "invalid port '$1'" ;;
	esac
	[ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "invalid port '$1'"
}

cmd_freeport() {
	# Prefer ports below the kernel's ephemeral range (32768+ on Linux) so that
	# outgoing connections opened later cannot grab the port we hand out.
	if command -v python3 >/dev/null 2>&1; then
		python3 - <<'EOF' && return 0
import random, socket
for _ in range(200):
    p = random.randint(20000, 32000)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    raise SystemExit(0)
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
	fi
	local i p
	for i in $(seq 1 500); do
		p=$((20000 + RANDOM % 12000))
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "could not find a free port"
}

# ---------------------------------------------------------------- helpers

abspath() {
	mkdir -p "$1"
	(cd "$1" && pwd -P)
}

# Run a command as the PostgreSQL OS user (root) or as ourselves.
# Runs from / so the server never inherits a cwd that user cannot access.
as_pg() {
	if is_root; then
		(cd / && runuser -u "$PGUSER_OS" -- "$@")
	else
		"$@"
	fi
}

# Data directory of the PostgreSQL instance belonging to DIR.
pgdata_for() {
	local dir=$1
	if [ -f "$dir/pg.path" ]; then
		cat "$dir/pg.path"
	else
		echo "$dir/pg"
	fi
}

pg_log_tail() {
	local pgdata=$1
	if [ -f "$pgdata/server.log" ]; then
		log "---- last lines of $pgdata/server.log ----"
		tail -n 40 "$pgdata/server.log" >&2 || true
		log "------------------------------------------"
	fi
}

redis_log_tail() {
	local rdir=$1
	if [ -f "$rdir/redis.log" ]; then
		log "---- last lines of $rdir/redis.log ----"
		tail -n 40 "$rdir/redis.log" >&2 || true
		log "---------------------------------------"
	fi
}

pg_running() { [ -f "$1/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" status -D "$1" >/dev/null 2>&1; }

# PID of our redis (from the pidfile) if that process is alive and is redis.
redis_pid() {
	local rdir=$1 pid
	[ -f "$rdir/redis.pid" ] || return 1
	pid=$(cat "$rdir/redis.pid" 2>/dev/null) || return 1
	case "$pid" in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$pid" 2>/dev/null || return 1
	grep -q redis "/proc/$pid/comm" 2>/dev/null || [ ! -d /proc ] || return 1
	echo "$pid"
}

# ---------------------------------------------------------------- postgres

pg_choose_datadir() {
	local dir=$1
	if [ -f "$dir/pg.path" ] || [ -f "$dir/pg/PG_VERSION" ] || ! is_root; then
		pgdata_for "$dir"
		return
	fi
	# Root: the postgres user must be able to reach DIR.
	chmod 0755 "$dir" 2>/dev/null || true
	if runuser -u "$PGUSER_OS" -- test -x "$dir" 2>/dev/null; then
		echo "$dir/pg"
		return
	fi
	local hash
	hash=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
	local fallback="/tmp/inspectonce-pg-$hash"
	log "user $PGUSER_OS cannot traverse $dir; using $fallback for PostgreSQL data (recorded in $dir/pg.path)"
	echo "$fallback" >"$dir/pg.path"
	echo "$fallback"
}

pg_init() {
	local pgdata=$1
	if [ -f "$pgdata/PG_VERSION" ]; then
		return 0
	fi
	log "initdb $pgdata"
	mkdir -p "$pgdata"
	if is_root; then
		chown "$PGUSER_OS:" "$pgdata"
	fi
	chmod 0700 "$pgdata"
	if ! as_pg "$PGBIN/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$pgdata.initdb.log" 2>&1; then
		# Retry with the C locale in case C.UTF-8 is unavailable.
		if ! as_pg "$PGBIN/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C >"$pgdata.initdb.log" 2>&1; then
			cat "$pgdata.initdb.log" >&2 || true
			die "initdb failed for $pgdata"
		fi
	fi
	rm -f "$pgdata.initdb.log"
	# Our settings live in inspectonce.conf, rewritten on every start.
	printf "\n# added by scripts/services.sh\ninclude_if_exists = 'inspectonce.conf'\n" >>"$pgdata/postgresql.conf"
}

pg_write_conf() {
	local pgdata=$1 port=$2 sockdir
	# Unix socket paths are limited to ~107 bytes; use /tmp for long paths.
	sockdir=$pgdata
	if [ "${#pgdata}" -gt 80 ] || [[ $pgdata == *[\ \'\"]* ]]; then
		sockdir=/tmp
	fi
	{
		echo "# generated by scripts/services.sh start; do not edit"
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$sockdir'"
		echo "max_connections = 200"
		echo "logging_collector = off"
		if [ "${TEST_TUNING:-0}" = 1 ]; then
			echo "# TEST_TUNING=1: unsafe on crash, fine for throwaway test instances"
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		fi
	} >"$pgdata/inspectonce.conf"
	if is_root; then
		chown "$PGUSER_OS:" "$pgdata/inspectonce.conf"
	fi
}

pg_start() {
	local pgdata=$1 port=$2
	if pg_running "$pgdata"; then
		local running_port
		running_port=$(sed -n 4p "$pgdata/postmaster.pid" 2>/dev/null || true)
		if [ "$running_port" = "$port" ]; then
			log "PostgreSQL already running on port $port ($pgdata)"
			return 0
		fi
		die "PostgreSQL of $pgdata already runs on port ${running_port:-?}, not $port; run 'scripts/services.sh stop' first"
	fi
	if port_in_use "$port"; then
		die "port $port is already in use by another process; choose another PostgreSQL port: set PGPORT, e.g. make run PGPORT=$((port + 1))"
	fi
	pg_write_conf "$pgdata" "$port"
	log "starting PostgreSQL on 127.0.0.1:$port ($pgdata)"
	if ! as_pg "$PGBIN/pg_ctl" start -D "$pgdata" -l "$pgdata/server.log" -w -t 60 >/dev/null; then
		pg_log_tail "$pgdata"
		die "PostgreSQL failed to start (data dir $pgdata, port $port)"
	fi
	local i
	for i in $(seq 1 60); do
		if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
			return 0
		fi
		sleep 0.5
	done
	pg_log_tail "$pgdata"
	die "PostgreSQL on port $port did not become ready"
}

pg_createdb() {
	local port=$1 exists
	exists=$(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$DBNAME'") ||
		die "cannot query PostgreSQL on port $port"
	if [ "$exists" != 1 ]; then
		log "creating database $DBNAME"
		psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
			-c "CREATE DATABASE $DBNAME" >/dev/null || die "CREATE DATABASE $DBNAME failed"
	fi
}

pg_stop() {
	local pgdata=$1
	if ! pg_running "$pgdata"; then
		log "PostgreSQL not running ($pgdata)"
		return 0
	fi
	log "stopping PostgreSQL ($pgdata)"
	if ! as_pg "$PGBIN/pg_ctl" stop -D "$pgdata" -m fast -w -t 60 >/dev/null 2>&1; then
		log "fast shutdown failed, trying immediate"
		as_pg "$PGBIN/pg_ctl" stop -D "$pgdata" -m immediate -w -t 30 >/dev/null 2>&1 || {
			pg_log_tail "$pgdata"
			log "WARNING: could not stop PostgreSQL ($pgdata)"
			return 1
		}
	fi
}

# ---------------------------------------------------------------- redis

redis_start() {
	local rdir=$1 port=$2 pid
	mkdir -p "$rdir"
	if pid=$(redis_pid "$rdir"); then
		local d
		d=$(redis-cli -h 127.0.0.1 -p "$port" --raw config get dir 2>/dev/null | sed -n 2p || true)
		if [ "$d" = "$rdir" ]; then
			log "Redis already running on port $port ($rdir)"
			return 0
		fi
		die "Redis of $rdir already runs (pid $pid) but not on port $port (port file says $(cat "$rdir/port" 2>/dev/null || echo '?')); run 'scripts/services.sh stop' first"
	fi
	rm -f "$rdir/redis.pid"
	if port_in_use "$port"; then
		die "port $port is already in use by another process; choose another Redis port: set REDISPORT, e.g. make run REDISPORT=$((port + 1))"
	fi
	log "starting Redis on 127.0.0.1:$port ($rdir)"
	echo "$port" >"$rdir/port"
	if ! redis-server --bind 127.0.0.1 --port "$port" --dir "$rdir" \
		--appendonly yes --maxmemory-policy noeviction \
		--daemonize yes --pidfile "$rdir/redis.pid" --logfile "$rdir/redis.log" \
		--save "" >/dev/null 2>"$rdir/redis.stderr"; then
		cat "$rdir/redis.stderr" >&2 || true
		redis_log_tail "$rdir"
		die "redis-server failed to start (port $port)"
	fi
	local i
	for i in $(seq 1 60); do
		if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" = PONG ]; then
			return 0
		fi
		sleep 0.5
	done
	redis_log_tail "$rdir"
	die "Redis on port $port did not answer PING"
}

redis_stop() {
	local rdir=$1 pid port i
	if ! pid=$(redis_pid "$rdir"); then
		log "Redis not running ($rdir)"
		rm -f "$rdir/redis.pid"
		return 0
	fi
	log "stopping Redis (pid $pid)"
	port=$(cat "$rdir/port" 2>/dev/null || true)
	if [ -n "$port" ]; then
		redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
	fi
	for i in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || return 0
		[ "$i" = 10 ] && kill -TERM "$pid" 2>/dev/null || true
		sleep 0.25
	done
	log "Redis did not exit, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$rdir/redis.pid"
}

# ---------------------------------------------------------------- commands

cmd_start() {
	[ $# -ge 1 ] && [ $# -le 3 ] || usage
	local dir pgport=${2:-$DEFAULT_PGPORT} redisport=${3:-$DEFAULT_REDISPORT}
	check_port_arg "$pgport"
	check_port_arg "$redisport"
	[ "$pgport" != "$redisport" ] || die "PostgreSQL and Redis ports must differ"
	ensure_installed
	dir=$(abspath "$1")
	local pgdata
	pgdata=$(pg_choose_datadir "$dir")
	if ! pg_running "$pgdata" && port_in_use "$pgport"; then
		die "port $pgport is already in use by another process; choose another PostgreSQL port"
	fi
	if ! redis_pid "$dir/redis" >/dev/null && port_in_use "$redisport"; then
		die "port $redisport is already in use by another process; choose another Redis port"
	fi
	pg_init "$pgdata"
	pg_start "$pgdata" "$pgport"
	pg_createdb "$pgport"
	redis_start "$dir/redis" "$redisport"
	{
		echo "# written by scripts/services.sh start $dir $pgport $redisport"
		echo "export INSPECTONCE_DATABASE_URL='postgres://postgres@127.0.0.1:$pgport/$DBNAME?sslmode=disable'"
		echo "export INSPECTONCE_REDIS_URL='redis://127.0.0.1:$redisport/0'"
	} >"$dir/env.tmp"
	mv "$dir/env.tmp" "$dir/env"
	log "ready: PostgreSQL 127.0.0.1:$pgport, Redis 127.0.0.1:$redisport (source $dir/env)"
}

cmd_stop() {
	[ $# -eq 1 ] || usage
	local dir=$1 rc=0
	if [ ! -d "$dir" ]; then
		log "$dir does not exist; nothing to stop"
		return 0
	fi
	dir=$(cd "$dir" && pwd -P)
	[ -x "$PGBIN/pg_ctl" ] && { pg_stop "$(pgdata_for "$dir")" || rc=1; }
	redis_stop "$dir/redis" || rc=1
	return "$rc"
}

cmd_purge() {
	[ $# -eq 1 ] || usage
	local dir=$1 rc=0
	[ -d "$dir" ] || return 0
	cmd_stop "$dir" || rc=1
	dir=$(cd "$dir" && pwd -P)
	if [ -f "$dir/pg.path" ]; then
		rm -rf -- "$(cat "$dir/pg.path")"
	fi
	rm -rf -- "$dir"
	return "$rc"
}

main() {
	[ $# -ge 1 ] || usage
	local cmd=$1
	shift
	case "$cmd" in
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	purge) cmd_purge "$@" ;;
	freeport) cmd_freeport ;;
	-h | --help | help) usage ;;
	*) log "unknown command '$cmd'"; usage ;;
	esac
}

main "$@"
