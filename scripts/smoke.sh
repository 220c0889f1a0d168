#!/usr/bin/env bash
# Smoke test of the whole setup on this machine: the README's commands in the order that
# .github/workflows/smoke.yml runs them in CI.
#
#   npx bootstrap up               set up everything (ends with the article's three checks)
#   npx bootstrap verify --json    the checks again; one summary line is printed from its JSON
#   npx bootstrap down             always, from the EXIT trap, unless --keep is given
#
# Usage: bash scripts/smoke.sh [--keep] [ARGS...]        (or: npm run smoke -- [--keep] [ARGS...])
#   --keep   leave the environment running (no `down`), e.g. to look around afterwards
#   ARGS     passed unchanged to up, verify and down alike, so only the options all three take:
#            --cluster, --profile, --context, --registry-port, --registry-host, --state-dir,
#            --verify-namespace, --config, --yes, --dry-run. For example, against the test bed:
#              set -a; . .testbed/env; set +a
#              bash scripts/smoke.sh --cluster existing --registry-host "$REGISTRY_HOST"
#
# Exit status: 0 when up, verify (every check as expected) and down all succeed; otherwise the
# status of the first command that failed. The verify JSON is kept in a temporary file (printed).
# Runs from the repository root (so `npx bootstrap` is this checkout's): relative paths in ARGS are
# taken from there.
set -uo pipefail

keep=0
args=()
for arg in "$@"; do
  if [[ $arg == --keep ]]; then keep=1; else args+=("$arg"); fi
done

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
json=$(mktemp "${TMPDIR:-/tmp}/bootstrap-smoke.XXXXXX.json")
status=0

say() { printf '==> smoke: %s\n' "$*" >&2; }

# run CMD...: runs a step; remembers the first failure's status.
run() {
  say "$*"
  "$@"
  local rc=$?
  if (( rc != 0 )); then
    say "FAILED (exit $rc): $*"
    (( status == 0 )) && status=$rc
  fi
  return "$rc"
}

finish() {
  trap - EXIT INT TERM
  if (( keep )); then
    say "--keep: leaving everything running; remove it with: npx bootstrap down ${args[*]}"
  else
    run npx bootstrap down "${args[@]}"
  fi
  if (( status == 0 )); then say "passed"; else say "failed (exit $status)"; fi
  exit "$status"
}
trap finish EXIT
trap 'status=130; exit 130' INT
trap 'status=143; exit 143' TERM

run npx bootstrap up "${args[@]}" || exit

# --json keeps progress off stdout; the JSON is the object that starts at the first line opening with "{".
run npx bootstrap verify --json "${args[@]}" >"$json"
# shellcheck disable=SC2016 # the node program is single-quoted on purpose
summary=$(node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8");
  const start = text.search(/^\{/m);
  if (start < 0) { console.log("no JSON from verify"); process.exit(1); }
  const r = JSON.parse(text.slice(start));
  const missed = r.checks.filter((c) => !c.passed).map((c) => `${c.name} (expected ${c.expected}, got ${c.actual})`);
  console.log(`${r.passed}/${r.checks.length} checks as expected against ${r.registryHost}` + (missed.length ? `; missed: ${missed.join("; ")}` : ""));
  process.exit(missed.length || r.failed ? 1 : 0);
' "$json") || { (( status == 0 )) && status=1; }
say "verify: $summary (JSON: $json)"
