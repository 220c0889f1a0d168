#!/usr/bin/env bash
# The project's full test run on a fresh machine (README: `npm ci && npm run test:full`; CI: .ci/run).
#   1. installs the Debian packages the test bed needs, when missing (apt-get update once, only then)
#   2. starts a Docker engine            scripts/docker/ensure-dockerd.sh
#   3. builds the Go tools               scripts/testbed/build-tools.sh all   (cached by version; times printed)
#   4. builds the local stand-in images  scripts/images/build-standins.sh
#   5. readies real minikube offline     scripts/testbed/minikube-up (node image, pod images, wrappers)
#   6. runs the unit, integration and lint tiers, as TAP (shown as they come)
#   7. runs test/e2e/minikube-*.test.ts  real minikube, docker driver (appended to the same TAP)
#   8. runs test/e2e/none-*.test.ts      real minikube, none driver: minikube-down, minikube-up --driver none;
#                                        then the benchmark once (npm run bench -- --quick; a smoke run, not counted)
#   9. undoes minikube-up                scripts/testbed/minikube-down (always, from the EXIT trap)
# The last line of output is always `N passed, N failed`, counted from the TAP. A skipped test
# (`# SKIP` / `# TODO`) counts as failed: in this full run every test has what it needs, so a skip
# means a setup that went wrong silently (a suite that found no cluster proves nothing). Exit
# status is non-zero when a test failed or was skipped, when ava failed or ran no test, or when a
# setup step failed. The TAP and the up/down logs are kept in a
# fresh directory under $TMPDIR (printed), not in .testbed/, which scripts/testbed/minikube-down deletes.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
logs=$(mktemp -d "${TMPDIR:-/tmp}/bootstrap-test.XXXXXX")
tap="$logs/ava.tap"

step="setup"
ava_status=""
minikube_ready=0

say() { printf '==> %s\n' "$*"; }

# run_logged NAME CMD...: runs CMD with its output in $logs/NAME.log, then shows that log.
# minikube-up starts daemons (dockerd's containers, the none driver's kubelet); writing to a file keeps them from
# holding our stdout (a CI pipe would otherwise stay open, and their late output could land after the summary line).
run_logged() {
  local name=$1 status=0; shift
  "$@" </dev/null >"$logs/$name.log" 2>&1 || status=$?
  cat "$logs/$name.log"
  return "$status"
}

# summary: the final line, counted from the TAP ava wrote.
finish() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [[ $minikube_ready == 1 ]]; then
    say "undoing scripts/testbed/minikube-up (scripts/testbed/minikube-down)"
    run_logged minikube-down bash scripts/testbed/minikube-down || echo "warning: scripts/testbed/minikube-down failed (see $logs/minikube-down.log)"
  fi
  local passed=0 failed=0 skipped=0
  if [[ -f $tap ]]; then
    # ava prints test points at column 0; directives are case-insensitive per TAP.
    read -r passed failed skipped < <(awk '
      /^(not )?ok( |$)/ {
        if (tolower($0) ~ /#[ \t]*(skip|todo)/) s++
        else if ($1 == "not") f++
        else p++
      }
      END { printf "%d %d %d\n", p, f, s }' "$tap")
  fi
  local final=0
  if [[ -z $ava_status ]]; then
    echo "error: stopped during '$step' (status $status) before the tests ran"
    final=$(( status == 0 ? 1 : status ))
  else
    if (( passed + failed + skipped == 0 )); then
      echo "error: no test ran (ava exited with status $ava_status)"
      final=1
    elif (( ava_status != 0 && failed == 0 )); then
      echo "error: ava exited with status $ava_status although no test point failed (see the TAP above)"
      final=$ava_status
    elif (( failed + skipped > 0 )); then
      (( skipped > 0 )) && echo "error: $skipped tests skipped, counted as failed (each says why after '# SKIP' in the TAP above)"
      final=1
    fi
  fi
  printf '%s passed, %s failed\n' "$passed" "$(( failed + skipped ))"
  exit "$final"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. Debian packages --------------------------------------------------------------------------
step="packages"
# The second line is real minikube's: the node image (debootstrap), and for --driver none the node itself.
packages=(docker.io docker-compose docker-registry busybox-static iproute2 openssl curl
  debootstrap containerd runc containernetworking-plugins conntrack iptables socat ethtool ebtables sudo tmux)
missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true) == "install ok installed" ]] || missing+=("$p")
done
if (( ${#missing[@]} )); then
  say "installing Debian packages: ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "error: need root (or sudo) to apt-get install ${missing[*]}"; exit 1; }
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "Debian packages present: ${packages[*]}"
fi
for tool in go node; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is not on PATH (scripts/testbed/build-tools.sh needs Go and Node)"; exit 1; }
done

# 2. Docker engine ----------------------------------------------------------------------------
step="dockerd"
say "starting the Docker engine (scripts/docker/ensure-dockerd.sh)"
bash scripts/docker/ensure-dockerd.sh

# 3. Test-bed tools ---------------------------------------------------------------------------
step="build-tools"
say "building test-bed tools (scripts/testbed/build-tools.sh all)"
started=$SECONDS
bin=$(bash scripts/testbed/build-tools.sh all </dev/null | tail -n 1)
say "build-tools took $((SECONDS - started))s (binaries in $bin)"
[[ -d $bin ]] && export PATH="$bin:$PATH"

# 4. Stand-in images --------------------------------------------------------------------------
step="stand-in images"
say "building stand-in images (scripts/images/build-standins.sh)"
bash scripts/images/build-standins.sh </dev/null

# 5. Real minikube, offline -------------------------------------------------------------------
step="minikube-up"
say "readying real minikube (scripts/testbed/minikube-up --driver docker)"
minikube_ready=1
started=$SECONDS
run_logged minikube-up bash scripts/testbed/minikube-up --driver docker
say "minikube-up took $((SECONDS - started))s"

# 6. The tiers that need no cluster ----------------------------------------------------------------
step="ava"
say "running the unit, integration and lint tiers (npx ava --tap; TAP kept in $tap)"
set +e
npx --no-install ava --tap 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/lint/**/*.test.ts' </dev/null 2>&1 | tee "$tap"
ava_status=${PIPESTATUS[0]}
set -e

# 7 and 8. Real minikube ------------------------------------------------------------------------
# run_minikube_suite PATTERN...: one file at a time, in order (they share the profile), in the environment a user gets
# from `set -a; . .testbed/minikube.env; set +a`; TAP appended.
run_minikube_suite() {
  local status
  if [[ ! -f .testbed/minikube.env ]]; then
    echo "error: .testbed/minikube.env is missing (scripts/testbed/minikube-up did not run, or something removed it)"
    ava_status=1
    return
  fi
  set +e
  (
    set -a; . .testbed/minikube.env; set +a
    export MINIKUBE_PROFILE=trusted-registry
    # workloads-any-cluster.test.ts: the cluster that minikube-heal leaves up.
    export E2E_KUBECONFIG="$KUBECONFIG" E2E_CONTEXT=trusted-registry E2E_REGISTRY_HOST=host.minikube.internal:5000
    npx --no-install ava --tap --concurrency=1 "$@" </dev/null 2>&1
  ) | tee -a "$tap"
  status=${PIPESTATUS[0]}
  set -e
  (( status == 0 )) || ava_status=$status
}
step="ava (minikube, docker driver)"
say "running the real-minikube tests, docker driver (test/e2e/minikube-*.test.ts, workloads-any-cluster; TAP appended to $tap)"
run_minikube_suite 'test/e2e/minikube-*.test.ts' 'test/e2e/workloads-any-cluster.test.ts'

step="minikube-up --driver none"
say "readying this machine as the node (scripts/testbed/minikube-down; scripts/testbed/minikube-up --driver none)"
run_logged minikube-down bash scripts/testbed/minikube-down
run_logged minikube-up-none bash scripts/testbed/minikube-up --driver none
step="ava (minikube, none driver)"
say "running the real-minikube tests, none driver (test/e2e/none-*.test.ts)"
run_minikube_suite 'test/e2e/none-*.test.ts'

# One iteration on the none driver's cluster, so the benchmark cannot rot; its figures and exit status do not count.
step="bench smoke"
say "benchmark smoke run (npm run bench -- --quick; not counted)"
(set -a; . .testbed/minikube.env; set +a; npm run --silent bench -- --quick --out "$logs/bench.json" </dev/null 2>&1) | sed 's/^/[bench] /' || true
# finish (EXIT trap) undoes minikube-up and prints the summary as the last line.
