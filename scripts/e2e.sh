#!/usr/bin/env bash
# Runs the browser end-to-end test: starts the given kaowu binary on a free
# port with a temporary data directory and demo data, then drives Chromium
# through web/e2e/run.mjs. Skips (exit 0) when Chromium or the web
# dependencies are missing, unless KAOWU_REQUIRE_SERVICES=1.
set -euo pipefail
bin=${1:?usage: scripts/e2e.sh path/to/kaowu}
root=$(cd "$(dirname "$0")/.." && pwd)
chromium=${KAOWU_CHROMIUM:-/usr/bin/chromium}

missing=""
[ -x "$chromium" ] || missing="chromium ($chromium)"
[ -d "$root/web/node_modules/playwright-core" ] || missing="${missing:+$missing, }web/node_modules (npm ci in web/)"
if [ -n "$missing" ]; then
  if [ "${KAOWU_REQUIRE_SERVICES:-}" = 1 ]; then
    echo "e2e: missing $missing" >&2; exit 1
  fi
  echo "e2e: skipped, missing $missing (set KAOWU_REQUIRE_SERVICES=1 to fail instead)"
  exit 0
fi

data=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 18431)
log="$data/kaowu.log"
KAOWU_ADDR="127.0.0.1:$port" KAOWU_DATA_DIR="$data" DEMO=1 KAOWU_ARGON2=fast "$bin" serve >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "e2e: server exited" >&2; exit 1; }
  sleep 0.2
done
status=0
KAOWU_URL="http://127.0.0.1:$port" KAOWU_CHROMIUM="$chromium" node "$root/web/e2e/run.mjs" || status=$?
if [ "$status" != 0 ]; then echo "--- server log"; tail -50 "$log"; fi
exit "$status"
