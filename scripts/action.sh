#!/usr/bin/env bash
# The run steps of the reusable GitHub Action (action.yml): its inputs, passed in as environment variables, turned
# into the options of scripts/install-minikube.sh and scripts/smoke.sh, so the Action and `npm run smoke` are one
# code path.
#
# Usage: bash scripts/action.sh install-minikube|up|verify|down|diagnose
#   MINIKUBE_VERSION         install-minikube: the release to install (e.g. v1.37.0)
#   BOOTSTRAP_CONFIG         a config file (relative paths are taken from the current directory, the workspace)
#   BOOTSTRAP_SUITE          verify --suite (article or extended)
#   BOOTSTRAP_REQUIRE_DIGEST true: up and verify --require-digest
#   BOOTSTRAP_TRUST          registries to trust as well, separated by commas, spaces or newlines
#   BOOTSTRAP_RESULTS_DIR    where verify writes junit.xml (relative: from the current directory)
set -euo pipefail -f # -f: the trust list is split on purpose, never globbed

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
absolute() { if [[ $1 == /* ]]; then printf '%s' "$1"; else printf '%s/%s' "$PWD" "$1"; fi; }

options=()
if [[ -n ${BOOTSTRAP_CONFIG:-} ]]; then options+=(--config "$(absolute "$BOOTSTRAP_CONFIG")"); fi

step=${1:?usage: action.sh install-minikube|up|verify|down|diagnose}
case $step in
  install-minikube)
    exec bash "$here/install-minikube.sh" "${MINIKUBE_VERSION:?MINIKUBE_VERSION is not set}"
    ;;
  up)
    if [[ ${BOOTSTRAP_REQUIRE_DIGEST:-false} == true ]]; then options+=(--require-digest); fi
    trust=${BOOTSTRAP_TRUST:-} # unset outside the Action (it always sets its inputs, if only to '')
    for registry in ${trust//,/ }; do options+=(--trust "$registry"); done
    ;;
  verify)
    if [[ ${BOOTSTRAP_REQUIRE_DIGEST:-false} == true ]]; then options+=(--require-digest); fi
    if [[ -n ${BOOTSTRAP_SUITE:-} ]]; then options+=(--suite "$BOOTSTRAP_SUITE"); fi
    options+=(--junit "$(absolute "${BOOTSTRAP_RESULTS_DIR:-bootstrap-results}")/junit.xml")
    ;;
  down) ;;
  diagnose)
    # After a failure, before down removes the evidence: what is there and what OPA said.
    cd "$here/.."
    npx bootstrap status "${options[@]}" || true
    if command -v minikube >/dev/null; then
      k() { minikube -p "${BOOTSTRAP_PROFILE:-trusted-registry}" kubectl -- "$@" || true; }
      k -n opa get pods,endpoints,events -o wide
      k -n opa logs deployment/opa --all-containers --tail=200
      k get validatingwebhookconfigurations
    fi
    exit 0
    ;;
  *)
    echo "action.sh: unknown step '$step'; use install-minikube, up, verify, down or diagnose" >&2
    exit 2
    ;;
esac
exec bash "$here/smoke.sh" --step "$step" "${options[@]}"
