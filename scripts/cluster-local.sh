#!/usr/bin/env bash
# One command for a local Blobasaur cluster to try out:
#   bash scripts/cluster-local.sh          start NODES nodes (default 3) on PORT.. (default 7000..)
#                                          with their buses on PORT+10000.., and create the cluster
#   bash scripts/cluster-local.sh stop     stop them (the data stays in $DIR)
#   bash scripts/cluster-local.sh clean    stop them and delete $DIR
# Needs bun (on PATH, or node_modules/.bin/bun after npm install) and redis-cli
# (Debian/Ubuntu: apt install redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
NODES="${NODES:-3}"
PORT="${PORT:-7000}"
DIR="${DIR:-./data/cluster-local}"
SECRET="${SECRET:-local-cluster-secret}"
# The bun binary itself (not an npx wrapper), so the pid files name the servers.
BUN="$(command -v bun || true)"
[ -n "$BUN" ] || BUN="node_modules/.bin/bun"
[ -x "$BUN" ] || { echo "bun not found: run npm install first" >&2; exit 1; }

stop() {
  for pidfile in "$DIR"/node-*/server.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    # Wait for the graceful shutdown (it writes nodes.conf a last time).
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
  done
}

case "${1:-start}" in
  stop) stop; echo "stopped"; exit 0 ;;
  clean) stop; rm -rf "$DIR"; echo "removed $DIR"; exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|clean]" >&2; exit 2 ;;
esac

command -v redis-cli >/dev/null || { echo "redis-cli is needed (apt install redis-tools)" >&2; exit 1; }
addrs=()
for i in $(seq 0 $((NODES - 1))); do
  port=$((PORT + i))
  node="$DIR/node-$port"
  mkdir -p "$node"
  cat > "$node/config.toml" <<CONF
data_dir = "$node/data"
num_shards = 2
addr = "127.0.0.1:$port"

[cluster]
enabled = true
node_id = "node-$port"
port = $((port + 10000))
secret = "$SECRET"
node_timeout_ms = 5000
CONF
  if [ -f "$node/server.pid" ] && kill -0 "$(cat "$node/server.pid")" 2>/dev/null; then
    echo "node $port already running"
  else
    "$BUN" src/main.ts serve --config "$node/config.toml" >"$node/server.log" 2>&1 &
    echo $! > "$node/server.pid"
  fi
  addrs+=("127.0.0.1:$port")
done

for a in "${addrs[@]}"; do
  for _ in $(seq 1 100); do
    redis-cli -p "${a##*:}" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
done

if [ "$(redis-cli -p "$PORT" cluster info | tr -d '\r' | grep cluster_slots_assigned | cut -d: -f2)" = "0" ]; then
  redis-cli --cluster create "${addrs[@]}" --cluster-yes
else
  echo "cluster already created; checking it"
  redis-cli --cluster check "${addrs[0]}"
fi
echo
echo "Try:  redis-cli -c -p $PORT set foo bar"
echo "Logs: $DIR/node-*/server.log   Stop: bash scripts/cluster-local.sh stop"
