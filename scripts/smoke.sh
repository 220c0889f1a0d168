#!/usr/bin/env bash
# Smoke test of the whole setup on this machine: the README's commands, in order. The reusable GitHub Action
# (action.yml, through scripts/action.sh) runs its steps through this script too, one --step at a time.
#
#   npx bootstrap up               set up everything (ends with the article's three checks)
#   npx bootstrap verify --json    the checks again; one summary line is printed from its JSON
#   npx bootstrap down             always, from the EXIT trap, unless --keep is given
#
# Usage: bash scripts/smoke.sh [OPTIONS] [ARGS...]        (or: npm run smoke -- [OPTIONS] [ARGS...])
#   --keep              leave the environment running (no `down`), e.g. to look around afterwards
#   --step STEP         run only `up`, `verify` or `down` (no trap: the caller runs down itself, as action.yml does)
#   --suite SUITE       verify --suite SUITE (article or extended)
#   --require-digest    up and verify --require-digest
#   --trust HOST        up --trust HOST (repeatable)
#   --junit FILE        verify --junit FILE (a relative FILE is taken from the current directory)
#   ARGS                passed unchanged to up, verify and down alike, so only the options all three take:
#                       --cluster, --profile, --context, --registry-port, --registry-host, --state-dir,
#                       --verify-namespace, --config, --yes, --dry-run. For example, on the test bed's minikube:
#                         set -a; . .testbed/minikube.env; set +a
#                         bash scripts/smoke.sh
#
# Exit status: 0 when up, verify (every check as expected) and down all succeed; otherwise the
# status of the first command that failed. The verify JSON is kept in a temporary file (printed).
# With GITHUB_OUTPUT set (in GitHub Actions), the verify step also writes the outputs passed, failed,
# json and junit there.
# Runs from the repository root (so `npx bootstrap` is this checkout's): relative paths in ARGS are
# taken from there.
set -uo pipefail

keep=0
step=all
args=()
up_args=()
verify_args=()
junit=
while (($#)); do
  case $1 in
    --keep) keep=1 ;;
    --step)
      step=${2:?--step needs up, verify or down}
      shift
      ;;
    --suite)
      verify_args+=(--suite "${2:?--suite needs a suite}")
      shift
      ;;
    --require-digest)
      up_args+=(--require-digest)
      verify_args+=(--require-digest)
      ;;
    --trust)
      up_args+=(--trust "${2:?--trust needs a host}")
      shift
      ;;
    --junit)
      junit=${2:?--junit needs a file}
      [[ $junit == /* ]] || junit="$PWD/$junit"
      verify_args+=(--junit "$junit")
      shift
      ;;
    *) args+=("$1") ;;
  esac
  shift
done
case $step in all | up | verify | down) ;; *)
  echo "smoke.sh: --step must be up, verify or down, not '$step'" >&2
  exit 2
  ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
status=0

say() { printf '==> smoke: %s\n' "$*" >&2; }

# run CMD...: runs a step; remembers the first failure's status.
run() {
  say "$*"
  "$@"
  local rc=$?
  if ((rc != 0)); then
    say "FAILED (exit $rc): $*"
    ((status == 0)) && status=$rc
  fi
  return "$rc"
}

step_down() {
  run npx bootstrap down "${args[@]}"
}

step_up() {
  run npx bootstrap up "${up_args[@]}" "${args[@]}"
}

step_verify() {
  local json summary
  json=$(mktemp "${TMPDIR:-/tmp}/bootstrap-smoke.XXXXXX.json")
  # --json keeps progress off stdout; the JSON is the object that starts at the first line opening with "{".
  run npx bootstrap verify --json "${verify_args[@]}" "${args[@]}" >"$json"
  # shellcheck disable=SC2016 # the node program is single-quoted on purpose
  summary=$(node -e '
    const fs = require("fs");
    const [file, out, junit] = process.argv.slice(1);
    const text = fs.readFileSync(file, "utf8");
    const start = text.search(/^\{/m);
    const output = (pairs) => out && fs.appendFileSync(out, pairs.map(([k, v]) => `${k}=${v}\n`).join(""));
    output([["json", file], ...(junit ? [["junit", junit]] : [])]);
    if (start < 0) { console.log("no JSON from verify"); process.exit(1); }
    const r = JSON.parse(text.slice(start));
    output([["passed", r.passed], ["failed", r.failed]]);
    const missed = r.checks.filter((c) => !c.passed).map((c) => `${c.name} (expected ${c.expected}, got ${c.actual})`);
    console.log(`${r.passed}/${r.checks.length} checks as expected against ${r.registryHost}` + (missed.length ? `; missed: ${missed.join("; ")}` : ""));
    process.exit(missed.length || r.failed ? 1 : 0);
  ' "$json" "${GITHUB_OUTPUT:-}" "$junit") || { ((status == 0)) && status=1; }
  say "verify: $summary (JSON: $json${junit:+, JUnit: $junit})"
}

if [[ $step != all ]]; then
  "step_$step"
  exit "$status"
fi

finish() {
  trap - EXIT INT TERM
  if ((keep)); then
    say "--keep: leaving everything running; remove it with: npx bootstrap down ${args[*]}"
  else
    step_down
  fi
  if ((status == 0)); then say "passed"; else say "failed (exit $status)"; fi
  exit "$status"
}
trap finish EXIT
trap 'status=130; exit 130' INT
trap 'status=143; exit 143' TERM

step_up || exit
step_verify
