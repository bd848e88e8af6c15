#!/usr/bin/env bash
# Starts (if not running) the services the tests use on this machine, the same
# way CI does: PostgreSQL on 127.0.0.1:5432 (trust auth for user postgres over
# TCP) and MinIO on 127.0.0.1:9100. Installs what is missing (apt, go install).
# Prints the environment to use on stdout; progress goes to stderr:
#
#   eval "$(scripts/dev-services.sh)"              # PostgreSQL + MinIO
#   eval "$(scripts/dev-services.sh --chromium)"   # also Chromium + web deps
#
# A MinIO started here keeps running after the script exits (its data and log
# are in a temporary directory, shown when it starts); stop it with kill.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT=$(pwd)

# shellcheck source=scripts/services.sh
source "$REPO_ROOT/scripts/services.sh"

export GOTOOLCHAIN=local

with_chromium=0
for arg in "$@"; do
	case "$arg" in
	--chromium) with_chromium=1 ;;
	-h | --help)
		sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
		exit 0
		;;
	*)
		echo "unknown argument: $arg (try --help)" >&2
		exit 2
		;;
	esac
done

ensure_tools
ensure_postgres
ensure_minio
if [[ -n "${KAOWU_MINIO_STARTED_PID:-}" ]]; then
	svc_log "MinIO keeps running: pid $KAOWU_MINIO_STARTED_PID, log $KAOWU_MINIO_LOG (stop: kill $KAOWU_MINIO_STARTED_PID)"
fi

vars=(KAOWU_TEST_POSTGRES KAOWU_TEST_S3_ENDPOINT KAOWU_TEST_S3_ACCESS_KEY KAOWU_TEST_S3_SECRET_KEY)
if [[ "$with_chromium" == 1 ]]; then
	ensure_chromium
	ensure_web_deps "$REPO_ROOT"
	vars+=(KAOWU_CHROMIUM PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD)
fi

for v in "${vars[@]}"; do
	printf 'export %s=%s\n' "$v" "${!v@Q}"
done
