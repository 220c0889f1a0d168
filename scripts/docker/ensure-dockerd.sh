#!/usr/bin/env bash
# Starts a Docker engine in the background unless one already answers; waits until it does.
# Machines without systemd (CI, these sandboxes) have dockerd installed but not running.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd is not installed: apt-get install -y docker.io" >&2; exit 1
fi
log="${DOCKERD_LOG:-/var/log/dockerd.log}"
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "dockerd did not answer within 30s; see $log" >&2
tail -20 "$log" >&2
exit 1
