#!/usr/bin/env bash
# Builds the test bed's real components from the Go module proxy, cached by version:
#   opa, kube-apiserver, kube-controller-manager and etcd (etcd at the version that Kubernetes release pins).
# kube-mgmt is not among them: the Go module proxy refuses github.com/open-policy-agent/kube-mgmt here
# (403 "This module version is not available"), so the test bed runs test/testbed/kube-mgmt-standin.ts.
# Usage: scripts/testbed/build-tools.sh [opa|kube|all]   (default: all)
# Prints the cache directory's bin path last. A second run with the same versions takes seconds.
set -euo pipefail

OPA_VERSION="${OPA_VERSION:-v1.22.3}"
KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
CACHE="${TESTBED_CACHE:-$HOME/.cache/bootstrap-testbed}"
BIN="$CACHE/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
mkdir -p "$BIN"

log() { printf '[build-tools] %s\n' "$*" >&2; }

# build NAME VERSION CMD... : runs CMD only when $BIN/NAME-VERSION is missing, then links NAME to it.
cached() {
  local name=$1 version=$2; shift 2
  local target="$BIN/$name-$version"
  if [[ -x "$target" ]]; then
    log "$name $version: cached"
  else
    local start=$SECONDS
    log "$name $version: building (first run only)"
    "$@" "$target.tmp"
    mv "$target.tmp" "$target"
    log "$name $version: built in $((SECONDS - start))s"
  fi
  ln -sf "$name-$version" "$BIN/$name"
}

build_opa() {
  GOBIN= go build -trimpath -ldflags "-s -w -X github.com/open-policy-agent/opa/v1/version.Version=${OPA_VERSION#v}" \
    -o "$1" "github.com/open-policy-agent/opa@$OPA_VERSION" 2>/dev/null && return 0
  # `go build pkg@version` needs Go 1.25+ support; fall back to go install into a temp GOBIN.
  local tmp; tmp=$(mktemp -d)
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X github.com/open-policy-agent/opa/v1/version.Version=${OPA_VERSION#v}" \
    "github.com/open-policy-agent/opa@$OPA_VERSION"
  mv "$tmp/opa" "$1"; rm -rf "$tmp"
}

# kube-apiserver cannot be `go install`ed (its go.mod replaces staging modules with local paths), so a
# wrapper module requires k8s.io/kubernetes and replaces each staging module with its published v0.x.
# etcd is built in the same module graph, at the version that Kubernetes release itself requires.
kube_module() {
  local dir="$CACHE/src/kube-$KUBE_VERSION"
  if [[ ! -f "$dir/.ready" ]]; then
    rm -rf "$dir"; mkdir -p "$dir/etcd"
    local gomod staging="v0.${KUBE_VERSION#v1.}"
    gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')
    (
      cd "$dir"
      printf 'module bootstrap.local/testbed-tools\n\ngo 1.26.0\n' > go.mod
      go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
      for p in $(go mod edit -json "$gomod" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const r of JSON.parse(s).Replace||[]) if(r.New.Path.startsWith("./staging")) console.log(r.Old.Path)})'); do
        go mod edit -replace="$p=$p@$staging"
      done
      printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n)\n' > tools.go
      printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > etcd/main.go
      go mod tidy
    )
    touch "$dir/.ready"
  fi
  echo "$dir"
}

# build_kube CMD OUT: one of k8s.io/kubernetes/cmd/*, with the version ldflags so /version tells the truth.
build_kube() {
  local cmd=$1 out=$2 dir minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  dir=$(kube_module)
  (cd "$dir" && go build -trimpath -o "$out" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
    -X k8s.io/component-base/version.gitTreeState=clean" "k8s.io/kubernetes/cmd/$cmd")
}

build_etcd() {
  local dir; dir=$(kube_module)
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$1" ./etcd)
}

etcd_version() {
  local dir; dir=$(kube_module)
  (cd "$dir" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
}

what="${1:-all}"
case "$what" in
  opa|all) cached opa "$OPA_VERSION" build_opa ;;&
  kube|all)
    cached kube-apiserver "$KUBE_VERSION" build_kube kube-apiserver
    cached kube-controller-manager "$KUBE_VERSION" build_kube kube-controller-manager
    cached etcd "$(etcd_version)" build_etcd ;;
  opa) ;;
  *) echo "usage: $0 [opa|kube|all]" >&2; exit 2 ;;
esac
echo "$BIN"
