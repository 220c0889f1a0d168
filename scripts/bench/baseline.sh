#!/usr/bin/env bash
# The 2021 article's manual steps, the way a reader types them, against the cluster in $KUBECONFIG:
# openssl for the CA and the server certificate (exactly the article's commands), kubectl create namespace/secret,
# kubectl apply of the SAME modernised manifests bootstrap applies (rendered by render-manifests.ts from the tool's
# own desiredObjects), waiting by hand (rollout status, polling the kube-mgmt status annotation), the webhook last,
# then the three pods as server-side dry runs. The registry container and the image push are not part of it
# (the registry and its image are already there, as for the tool's measured runs).
#
#   scripts/bench/baseline.sh up   WORKDIR   # prints "BENCH_EXCLUDED_MS=<n>" (the rendering, not a reader's step)
#   scripts/bench/baseline.sh down WORKDIR   # removes what `up` made (kubectl delete), waits for namespace opa to go
#
# Env: KUBECONFIG, REGISTRY_HOST (default 127.0.0.1:5000), TRUSTED_IMAGE (default nginx:1.21.1), KUBECTL (default kubectl).
set -euo pipefail

cmd=${1:?usage: baseline.sh up|down WORKDIR}
work=${2:?usage: baseline.sh up|down WORKDIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
registry=${REGISTRY_HOST:-127.0.0.1:5000}
trusted_image=${TRUSTED_IMAGE:-nginx:1.21.1}
kubectl=${KUBECTL:-kubectl}
wait_seconds=180

now_ms() { date +%s%3N; }
die() { echo "baseline: $*" >&2; exit 1; }

if ! command -v "$kubectl" >/dev/null 2>&1; then
  echo "baseline: kubectl not found; skipped" >&2
  exit 3
fi

down() {
  "$kubectl" delete validatingwebhookconfiguration opa-validating-webhook --ignore-not-found --wait=false
  "$kubectl" delete clusterrolebinding opa-viewer --ignore-not-found --wait=false
  "$kubectl" label ns kube-system openpolicyagent.org/webhook- >/dev/null 2>&1 || true
  "$kubectl" delete namespace opa --ignore-not-found --timeout="${wait_seconds}s"
}

up() {
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
  cd "$work"

  # --- The article's certificates, command for command.
  openssl genrsa -out ca.key 2048
  openssl req -x509 -new -nodes -key ca.key -days 100000 -out ca.crt -subj "/CN=admission_ca"
  cat >server.conf <<'EOF'
[req]
req_extensions = v3_req
distinguished_name = req_distinguished_name
prompt = no
[req_distinguished_name]
CN = opa.opa.svc
[ v3_req ]
basicConstraints = CA:FALSE
keyUsage = nonRepudiation, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth, serverAuth
subjectAltName = @alt_names
[alt_names]
DNS.1 = opa.opa.svc
EOF
  openssl genrsa -out server.key 2048
  openssl req -new -key server.key -out server.csr -config server.conf
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 100000 \
    -extensions v3_req -extfile server.conf
  # kube-mgmt's token for OPA's API (the modernised manifests; the article's OPA API was open).
  token=$(openssl rand -hex 32)

  # --- The manifests (a reader has them as files already; the time spent rendering them is reported and excluded).
  local t0 t1
  t0=$(now_ms)
  (cd "$repo" && node --import tsx "$here/render-manifests.ts" --certs "$work" --registry-host "$registry" --token "$token" --out-dir "$work")
  for pod in pod-bad-repo pod-bad-tag pod-ok; do
    sed -e "s|{{ registry }}|$registry|g" -e "s|{{ trustedImage }}|$trusted_image|g" "$repo/templates/pods/$pod.yaml" >"$pod.yaml"
  done
  t1=$(now_ms)

  # --- Namespace, TLS secret, OPA + kube-mgmt.
  "$kubectl" create namespace opa
  "$kubectl" label ns opa openpolicyagent.org/webhook=ignore
  "$kubectl" label ns kube-system openpolicyagent.org/webhook=ignore --overwrite
  "$kubectl" -n opa create secret tls opa-server --cert=server.crt --key=server.key
  "$kubectl" apply -f authz-secret.yaml
  "$kubectl" apply -f workload.yaml
  # The policy goes with the workload: OPA reports ready (/health/ready) only once kube-mgmt has loaded it.
  "$kubectl" apply -f policy.yaml
  "$kubectl" -n opa rollout status deployment/opa --timeout="${wait_seconds}s"

  # --- Check by hand that kube-mgmt loaded the policy.
  local deadline=$(($(date +%s) + wait_seconds)) cm status
  for cm in opa-default-system-main image-policy; do
    until status=$("$kubectl" -n opa get configmap "$cm" -o jsonpath='{.metadata.annotations.openpolicyagent\.org/kube-mgmt-status}') &&
      [[ $status == *'"status":"ok"'* ]]; do
      [[ $status == *'"status":"error"'* ]] && die "policy $cm rejected: $status"
      (($(date +%s) < deadline)) || die "policy $cm not loaded after ${wait_seconds}s"
      sleep 0.5
    done
  done

  # --- The webhook, then the article's three pods. A reader whose first bad pod gets in (the API server has not
  # picked the webhook up yet) tries again.
  "$kubectl" apply -f webhook.yaml
  local out
  deadline=$(($(date +%s) + 30))
  until out=$("$kubectl" apply --dry-run=server -f pod-bad-repo.yaml 2>&1); [[ $out == *"Image 'nginx:1.21.1' comes from untrusted registry"* ]]; do
    (($(date +%s) < deadline)) || die "pod-bad-repo.yaml not denied: $out"
    sleep 0.2
  done
  echo "$out"
  out=$("$kubectl" apply --dry-run=server -f pod-bad-tag.yaml 2>&1) && die "pod-bad-tag.yaml admitted: $out"
  [[ $out == *"Image '$registry/nginx:latest' used latest image"* ]] || die "pod-bad-tag.yaml: unexpected: $out"
  echo "$out"
  "$kubectl" apply --dry-run=server -f pod-ok.yaml || die "pod-ok.yaml denied"

  echo "BENCH_EXCLUDED_MS=$((t1 - t0))"
}

case $cmd in
  up) up ;;
  down) down ;;
  *) die "unknown command $cmd (up|down)" ;;
esac
