#!/usr/bin/env bash
# Builds the test bed's real components from the Go module proxy, cached by version, for real minikube
# (scripts/testbed/minikube-up) and the tests: opa; kube-apiserver, kube-controller-manager, kube-scheduler,
# kube-proxy, kubelet, kubeadm and kubectl (one `go build` of all the Kubernetes commands, so they share their
# packages); etcd (at the version that Kubernetes release pins); minikube itself (a wrapper module: its go.mod has
# replace lines, so `go install` is refused), crictl and coredns.
# kube-mgmt is not among them: the Go module proxy refuses github.com/open-policy-agent/kube-mgmt here
# (403 "This module version is not available"), so the test bed's kube-mgmt image holds
# test/testbed/kube-mgmt-standin.ts.
# Usage: scripts/testbed/build-tools.sh [opa|kube|minikube|all]   (default: all; minikube = everything real
#        minikube needs: the Kubernetes commands above, minikube, crictl, coredns)
# Prints the cache directory's bin path last. A second run with the same versions takes seconds.
set -euo pipefail

OPA_VERSION="${OPA_VERSION:-v1.22.3}"
KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
MINIKUBE_VERSION="${MINIKUBE_VERSION:-v1.37.0}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.37.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.6}"
KUBE_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl)
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
      { printf '//go:build tools\n\npackage tools\n\nimport (\n'
        for c in "${KUBE_COMMANDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
        printf ')\n'; } > tools.go
      printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > etcd/main.go
      go mod tidy
    )
    touch "$dir/.ready"
  fi
  echo "$dir"
}

# build_kube_all: every Kubernetes command in one `go build` (they share most packages: one build of all is
# far quicker than one each), with the version ldflags so `/version` and `kubelet --version` tell the truth.
build_kube_all() {
  local dir out="$BIN/kube-$KUBE_VERSION" minor="${KUBE_VERSION#v1.}" missing=0 c; minor="${minor%%.*}"
  for c in "${KUBE_COMMANDS[@]}"; do [[ -x $BIN/$c-$KUBE_VERSION ]] || missing=1; done
  if (( missing )); then
    local start=$SECONDS
    log "Kubernetes $KUBE_VERSION (${KUBE_COMMANDS[*]}): building (first run only; ~15 min on 2 cores)"
    dir=$(kube_module)
    rm -rf "$out.tmp"; mkdir -p "$out.tmp"
    (cd "$dir" && go build -trimpath -o "$out.tmp/" -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
      -X k8s.io/component-base/version.gitTreeState=clean" "${KUBE_COMMANDS[@]/#/k8s.io/kubernetes/cmd/}")
    for c in "${KUBE_COMMANDS[@]}"; do mv "$out.tmp/$c" "$BIN/$c-$KUBE_VERSION"; done
    rm -rf "$out.tmp"
    log "Kubernetes $KUBE_VERSION: built in $((SECONDS - start))s"
  else
    log "Kubernetes $KUBE_VERSION (${KUBE_COMMANDS[*]}): cached"
  fi
  for c in "${KUBE_COMMANDS[@]}"; do ln -sf "$c-$KUBE_VERSION" "$BIN/$c"; done
}

# minikube: its go.mod replaces docker/machine and two drivers with minikube's forks, so `go install` is
# refused; a wrapper module requires it and copies those replaces. The checksum database has no entry for
# it (GONOSUMDB). Without the version ldflags it calls itself v0.0.0-unset and its storage-provisioner
# manifest gets an empty tag.
build_minikube() {
  local dir="$CACHE/src/minikube-$MINIKUBE_VERSION" pkg=k8s.io/minikube/pkg/version
  export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}k8s.io/minikube,github.com/minikube-machine"
  if [[ ! -f "$dir/.ready" ]]; then
    rm -rf "$dir"; mkdir -p "$dir"
    local gomod
    gomod=$(go mod download -json "k8s.io/minikube@$MINIKUBE_VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')
    (
      cd "$dir"
      printf 'module bootstrap.local/minikube-tools\n\ngo 1.26.0\n' > go.mod
      go mod edit -require="k8s.io/minikube@$MINIKUBE_VERSION"
      go mod edit -json "$gomod" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const r of JSON.parse(s).Replace||[]) console.log(`${r.Old.Path}${r.Old.Version?"@"+r.Old.Version:""}=${r.New.Path}${r.New.Version?"@"+r.New.Version:""}`)})' \
        | while read -r rep; do go mod edit -replace="$rep"; done
      printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/minikube/cmd/minikube"\n' > tools.go
      go mod tidy
    )
    touch "$dir/.ready"
  fi
  (cd "$dir" && go build -trimpath -o "$1" -ldflags "-s -w -X $pkg.version=$MINIKUBE_VERSION \
    -X $pkg.isoVersion=$MINIKUBE_VERSION -X $pkg.storageProvisionerVersion=v5" k8s.io/minikube/cmd/minikube)
}

# go_install_to OUT MODULE@VERSION [LDFLAGS]: `go install` into a scratch GOBIN, then moved to OUT.
go_install_to() {
  local out=$1 target=$2 ldflags=${3:-} tmp; tmp=$(mktemp -d)
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w $ldflags" "$target"
  mv "$tmp"/* "$out"; rm -rf "$tmp"
}
build_crictl() { go_install_to "$1" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"; }
build_coredns() { go_install_to "$1" "github.com/coredns/coredns@$COREDNS_VERSION"; }

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
  kube|minikube|all)
    build_kube_all
    cached etcd "$(etcd_version)" build_etcd ;;&
  minikube|all)
    cached minikube "$MINIKUBE_VERSION" build_minikube
    cached crictl "$CRICTL_VERSION" build_crictl
    cached coredns "$COREDNS_VERSION" build_coredns ;;
  opa|kube) ;;
  *) echo "usage: $0 [opa|kube|minikube|all]" >&2; exit 2 ;;
esac
echo "$BIN"
