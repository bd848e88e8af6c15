# shellcheck shell=bash
#
# Shared helpers that provide the backing services the tests need on a Debian
# machine: PostgreSQL, MinIO and Chromium. Source this file (do not run it);
# it is used by .ci/run and scripts/dev-services.sh.
#
#   ensure_tools      installs curl and make when missing; checks for go
#   ensure_postgres   install/start PostgreSQL on 127.0.0.1:5432 with trust auth
#                     for user postgres over TCP; exports KAOWU_TEST_POSTGRES
#   ensure_minio      install/start MinIO on 127.0.0.1:9100; exports
#                     KAOWU_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY and, when it
#                     started the server, KAOWU_MINIO_STARTED_PID
#   stop_minio        stops the MinIO server ensure_minio started (if any)
#   ensure_chromium   installs /usr/bin/chromium; exports KAOWU_CHROMIUM
#   ensure_web_deps   npm ci in web/ (if web/package.json exists), never
#                     downloading Playwright browsers
#   service_versions  prints the versions of go, node, the services, chromium
#
# Every step is idempotent and skipped when the thing is already there. All
# messages go to stderr, so callers may print machine-readable output on stdout.
# The functions return non-zero on failure (callers run with set -e).

KAOWU_PG_HOST=127.0.0.1
KAOWU_PG_PORT=5432
KAOWU_PG_CLUSTER=main # Debian cluster name (/etc/postgresql/<version>/<name>)
KAOWU_MINIO_HOST=127.0.0.1
KAOWU_MINIO_PORT=9100
KAOWU_MINIO_CONSOLE_PORT=9101
KAOWU_MINIO_USER=kaowutest
KAOWU_MINIO_PASSWORD=kaowutestsecret
KAOWU_MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c

_services_apt_updated=${_services_apt_updated:-0}

# Go lives in /usr/local/go on our machines; a non-login shell may lack it.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

svc_log() { printf '[services] %s\n' "$*" >&2; }
svc_err() { printf '[services] ERROR: %s\n' "$*" >&2; }

# as_root runs a command as root (directly when we are root, else with sudo).
as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		svc_err "need root (or sudo) to run: $*"
		return 1
	fi
}

# apt_install PKG... installs Debian packages (apt-get update once per shell).
apt_install() {
	local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q)
	if [[ "$_services_apt_updated" != 1 ]]; then
		svc_log "apt-get update"
		as_root "${apt[@]}" update >&2
		_services_apt_updated=1
	fi
	svc_log "apt-get install -y $*"
	as_root "${apt[@]}" install -y --no-install-recommends "$@" >&2
}

# tcp_open HOST PORT succeeds when something accepts TCP connections there.
tcp_open() {
	# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
	timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# ensure_tools installs the basic tools the other steps and `make test` use.
ensure_tools() {
	local missing=() tool
	# command → Debian package (pdftotext/pdftoppm read PDFs back in tests)
	local -A pkg=([curl]=curl [make]=make [pdftotext]=poppler-utils [pdftoppm]=poppler-utils)
	for tool in "${!pkg[@]}"; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("${pkg[$tool]}")
	done
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
	if ((${#missing[@]} > 0)); then
		apt_install "${missing[@]}"
	fi
	command -v go >/dev/null 2>&1 || { svc_err "go not found (expected /usr/local/go/bin/go)"; return 1; }
}

# ---------------------------------------------------------------- PostgreSQL

pg_answers() {
	if command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -h "$KAOWU_PG_HOST" -p "$KAOWU_PG_PORT" -t 3
	else
		tcp_open "$KAOWU_PG_HOST" "$KAOWU_PG_PORT"
	fi
}

# pg_local_version prints the newest PostgreSQL version with a config for our
# cluster under /etc/postgresql (empty when there is none).
pg_local_version() {
	local d
	[[ -d /etc/postgresql ]] || return 0
	for d in /etc/postgresql/*/"$KAOWU_PG_CLUSTER"; do
		if [[ -f "$d/postgresql.conf" ]]; then
			basename "$(dirname "$d")"
		fi
	done | sort -V | tail -n 1
}

# pg_auth_ok succeeds when user postgres can log in over TCP without a
# password prompt. Without psql it cannot tell and assumes yes.
pg_auth_ok() {
	command -v psql >/dev/null 2>&1 || return 0
	PGCONNECT_TIMEOUT=5 psql -w -X -q -h "$KAOWU_PG_HOST" -p "$KAOWU_PG_PORT" \
		-U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1
}

# pg_trust_localhost makes pg_hba.conf of the local cluster trust user postgres
# on 127.0.0.1 (first matching line wins, so it is put first) and reloads.
pg_trust_localhost() {
	local ver=$1 hba="/etc/postgresql/$1/$KAOWU_PG_CLUSTER/pg_hba.conf"
	local marker='# kaowu scripts/services.sh: trust postgres over TCP on localhost (tests)'
	if ! grep -qF "$marker" "$hba"; then
		svc_log "adding trust for postgres@127.0.0.1/32 to $hba"
		local tmp
		tmp=$(mktemp)
		{
			printf '%s\n' "$marker"
			printf 'host    all    postgres    127.0.0.1/32    trust\n\n'
			cat "$hba"
		} >"$tmp"
		as_root cp "$tmp" "$hba"
		rm -f "$tmp"
	fi
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$KAOWU_PG_CLUSTER" reload >&2
}

ensure_postgres() {
	local ver="" i
	if pg_answers; then
		svc_log "PostgreSQL answers on $KAOWU_PG_HOST:$KAOWU_PG_PORT"
	else
		if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
			apt_install postgresql
		fi
		ver=$(pg_local_version)
		if [[ -z "$ver" ]]; then
			# Package installed but no cluster (e.g. it was dropped): create one.
			ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
			[[ -n "$ver" ]] || { svc_err "no PostgreSQL server under /usr/lib/postgresql"; return 1; }
			svc_log "creating cluster $ver/$KAOWU_PG_CLUSTER"
			as_root pg_createcluster -p "$KAOWU_PG_PORT" "$ver" "$KAOWU_PG_CLUSTER" >&2
		fi
		# The package's postinst may already have started it.
		if ! pg_answers; then
			svc_log "starting cluster $ver/$KAOWU_PG_CLUSTER"
			as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$KAOWU_PG_CLUSTER" start >&2 || true
		fi
		for ((i = 0; i < 60; i++)); do
			pg_answers && break
			sleep 1
		done
		if ! pg_answers; then
			svc_err "PostgreSQL $ver does not answer on $KAOWU_PG_HOST:$KAOWU_PG_PORT"
			command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters >&2
			tail -n 30 "/var/log/postgresql/postgresql-$ver-$KAOWU_PG_CLUSTER.log" >&2 2>/dev/null || true
			return 1
		fi
		svc_log "PostgreSQL $ver started"
	fi

	if ! pg_auth_ok; then
		[[ -n "$ver" ]] || ver=$(pg_local_version)
		if [[ -z "$ver" ]]; then
			svc_err "cannot log in as postgres on $KAOWU_PG_HOST:$KAOWU_PG_PORT and there is no local cluster config to fix"
			return 1
		fi
		pg_trust_localhost "$ver"
		for ((i = 0; i < 10; i++)); do
			pg_auth_ok && break
			sleep 1
		done
		if ! pg_auth_ok; then
			svc_err "still cannot log in as postgres over TCP after enabling trust:"
			psql -w -X -h "$KAOWU_PG_HOST" -p "$KAOWU_PG_PORT" -U postgres -d postgres -c 'SELECT 1' >&2 || true
			return 1
		fi
	fi
	svc_log "PostgreSQL login as postgres over TCP works"
	export KAOWU_TEST_POSTGRES="postgres://postgres@$KAOWU_PG_HOST:$KAOWU_PG_PORT/postgres?sslmode=disable"
}

# --------------------------------------------------------------------- MinIO

minio_url() { printf 'http://%s:%s' "$KAOWU_MINIO_HOST" "$KAOWU_MINIO_PORT"; }

minio_live() {
	curl -fsS -o /dev/null --max-time 3 "$(minio_url)/minio/health/live" 2>/dev/null
}

# minio_bin prints where `go install` puts the minio binary.
minio_bin() {
	local gobin gopath
	gobin=$(go env GOBIN)
	if [[ -z "$gobin" ]]; then
		gopath=$(go env GOPATH)
		gobin="${gopath%%:*}/bin"
	fi
	printf '%s/minio\n' "$gobin"
}

ensure_minio() {
	local bin dir i code
	export KAOWU_TEST_S3_ENDPOINT="$KAOWU_MINIO_HOST:$KAOWU_MINIO_PORT"
	export KAOWU_TEST_S3_ACCESS_KEY="$KAOWU_MINIO_USER"
	export KAOWU_TEST_S3_SECRET_KEY="$KAOWU_MINIO_PASSWORD"

	if minio_live; then
		svc_log "MinIO answers on $KAOWU_TEST_S3_ENDPOINT"
	else
		if tcp_open "$KAOWU_MINIO_HOST" "$KAOWU_MINIO_PORT"; then
			svc_err "something that is not MinIO listens on $KAOWU_TEST_S3_ENDPOINT"
			return 1
		fi
		bin=$(minio_bin)
		if [[ ! -x "$bin" ]]; then
			svc_log "installing $KAOWU_MINIO_MODULE (takes a few minutes)"
			(cd / && GOFLAGS='' go install "$KAOWU_MINIO_MODULE") >&2
		fi
		dir=$(mktemp -d "${TMPDIR:-/tmp}/kaowu-minio.XXXXXX")
		mkdir -p "$dir/data"
		svc_log "starting MinIO (data $dir/data, log $dir/minio.log)"
		MINIO_ROOT_USER="$KAOWU_MINIO_USER" MINIO_ROOT_PASSWORD="$KAOWU_MINIO_PASSWORD" \
			MINIO_UPDATE=off \
			nohup "$bin" server \
			--address "$KAOWU_MINIO_HOST:$KAOWU_MINIO_PORT" \
			--console-address "$KAOWU_MINIO_HOST:$KAOWU_MINIO_CONSOLE_PORT" \
			"$dir/data" </dev/null >"$dir/minio.log" 2>&1 &
		export KAOWU_MINIO_STARTED_PID=$!
		export KAOWU_MINIO_LOG="$dir/minio.log"
		export KAOWU_MINIO_DIR="$dir"
		for ((i = 0; i < 60; i++)); do
			minio_live && break
			if ! kill -0 "$KAOWU_MINIO_STARTED_PID" 2>/dev/null; then
				break
			fi
			sleep 1
		done
		if ! minio_live; then
			svc_err "MinIO did not become live within 60 s; log $dir/minio.log:"
			tail -n 30 "$dir/minio.log" >&2 || true
			stop_minio
			return 1
		fi
		svc_log "MinIO started (pid $KAOWU_MINIO_STARTED_PID)"
	fi

	# Check the credentials with a signed ListBuckets request.
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
		--aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$KAOWU_TEST_S3_ACCESS_KEY:$KAOWU_TEST_S3_SECRET_KEY" "$(minio_url)/" || true)
	if [[ "$code" != 200 ]]; then
		svc_err "MinIO on $KAOWU_TEST_S3_ENDPOINT rejects access key $KAOWU_TEST_S3_ACCESS_KEY (HTTP $code); is it a server with other credentials?"
		return 1
	fi
	svc_log "MinIO accepts the test credentials"
}

# stop_minio stops the server ensure_minio started in this shell, if any, and
# removes its data (the log is kept).
stop_minio() {
	local pid=${KAOWU_MINIO_STARTED_PID:-} i
	[[ -n "$pid" ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		svc_log "stopping MinIO (pid $pid)"
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 20; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [[ -n "${KAOWU_MINIO_DIR:-}" && -d "$KAOWU_MINIO_DIR/data" ]]; then
		rm -rf "$KAOWU_MINIO_DIR/data"
	fi
	unset KAOWU_MINIO_STARTED_PID KAOWU_MINIO_DIR
}

# ------------------------------------------------------------------ Chromium

ensure_chromium() {
	if [[ -x /usr/bin/chromium ]]; then
		svc_log "Chromium present at /usr/bin/chromium"
	else
		# Without recommends, but with a font so pages render text.
		apt_install chromium fonts-liberation
	fi
	export KAOWU_CHROMIUM=/usr/bin/chromium
}

# ensure_web_deps [REPO_ROOT] runs `npm ci` in web/ unless node_modules is
# already up to date with package-lock.json.
ensure_web_deps() {
	local web="${1:-.}/web"
	export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
	if [[ ! -f "$web/package.json" ]]; then
		svc_log "no web/package.json; skipping npm ci"
		return 0
	fi
	local stamp="$web/node_modules/.package-lock.json"
	if [[ -f "$stamp" && "$stamp" -nt "$web/package-lock.json" && "$stamp" -nt "$web/package.json" ]]; then
		svc_log "web/node_modules is up to date; skipping npm ci"
		return 0
	fi
	svc_log "npm ci in web/"
	(cd "$web" && npm ci --no-audit --no-fund) >&2
}

# ------------------------------------------------------------------ versions

service_versions() {
	local v bin
	printf 'go:         %s\n' "$(go version 2>&1)"
	printf 'node:       %s\n' "$(node --version 2>/dev/null || echo 'not found')"
	printf 'npm:        %s\n' "$(npm --version 2>/dev/null || echo 'not found')"
	if command -v psql >/dev/null 2>&1; then
		v=$(psql -w -X -h "$KAOWU_PG_HOST" -p "$KAOWU_PG_PORT" -U postgres -d postgres -tAc 'SELECT version()' 2>/dev/null || echo 'not reachable')
	else
		v='psql not installed'
	fi
	printf 'postgresql: %s\n' "$v"
	bin=$(minio_bin)
	if [[ -x "$bin" ]]; then
		v=$("$bin" --version 2>/dev/null | awk 'NR <= 2' ORS=' ' || true)
	else
		v="$bin not installed (a server already running was used)"
	fi
	printf 'minio:      %s\n' "$v"
	if [[ -x /usr/bin/chromium ]]; then
		v=$(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')
	else
		v='not installed'
	fi
	printf 'chromium:   %s\n' "$v"
}
