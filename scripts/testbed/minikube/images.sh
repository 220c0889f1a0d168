#!/usr/bin/env bash
# Builds every image that runs as a pod on the test bed's real minikube, from binaries built here, and
# serves them from the test bed's image registry (container bootstrap-testbed-images, port
# $TESTBED_IMAGES_PORT). The node's containerd mirrors registry.k8s.io, docker.io and gcr.io to it
# (node-image.sh), so each image keeps its real name and nothing in kubeadm, minikube or bootstrap is told
# another one:
#   registry.k8s.io/{kube-apiserver,kube-controller-manager,kube-scheduler,kube-proxy}:$KUBE_VERSION,
#   etcd, pause and coredns at the tags `kubeadm config images list` names: real binaries built by build-tools.sh
#   (pause: pause/main.go, a few lines of Go);
#   openpolicyagent/opa:1.22.3: the real OPA;
#   openpolicyagent/kube-mgmt:11.0.7: test/testbed/kube-mgmt-standin.ts bundled with Node (the Go module
#   proxy refuses kube-mgmt at every version: the one stand-in).
# Usage: images.sh   (idempotent: an image already in the registry is not built again; --force rebuilds)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/testbed/paths.sh
. "$here/../paths.sh"
KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
OPA_VERSION="${OPA_VERSION:-v1.22.3}"
KUBE_MGMT_TAG="${KUBE_MGMT_TAG:-11.0.7}"
PORT="${TESTBED_IMAGES_PORT:-5001}"
NAME=bootstrap-testbed-images
DESCRIPTION="test bed image built by scripts/testbed/minikube/images.sh from binaries built here"
force=0; [[ ${1:-} == --force ]] && force=1

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/images/lib.sh
. "$REPO/scripts/images/lib.sh"

for b in kubeadm kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns opa; do
  [[ -x $BIN/$b ]] || die "$BIN/$b is missing: scripts/testbed/build-tools.sh all"
done
docker image inspect registry:2.7.1 >/dev/null 2>&1 || die "registry:2.7.1 is missing: scripts/images/build-standins.sh"

# The image registry: plain HTTP, published on every address because the node reaches it through its
# network's gateway (host.minikube.internal), which exists only once minikube has made that network.
# Test bed only; the sandbox's own registry is another container.
if [[ $(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null) != true ]]; then
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker run -d --name "$NAME" --restart unless-stopped -p "$PORT:5000" -v "$NAME:/var/lib/registry" \
    --label bootstrap-testbed=images registry:2.7.1 >/dev/null
  for _ in $(seq 1 40); do curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.25; done
fi
curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null || die "the image registry on 127.0.0.1:$PORT does not answer"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

in_registry() { # NAME:TAG
  curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$PORT/v2/${1%%:*}/manifests/${1##*:}" 2>/dev/null
}
# publish NAME:TAG ROOT CHANGE...: image from ROOT, pushed as localhost:$PORT/NAME:TAG.
publish() {
  local ref=$1 root=$2; shift 2
  import_rootfs "$root" "localhost:$PORT/$ref" "$DESCRIPTION" "$@"
  docker push -q "localhost:$PORT/$ref" >/dev/null
  log "$ref: pushed ($(du -sh "$root" | cut -f1))"
}
# binary_image NAME:TAG SRC DEST CHANGE...: one binary (and its libraries) in an otherwise empty image.
binary_image() {
  local ref=$1 src=$2 dest=$3; shift 3
  local root="$work/${ref//[\/:]/_}"
  base_rootfs "$root"; copy_with_libs "$root" "$(readlink -f "$src")" "$dest"
  publish "$ref" "$root" 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$@"
}
wanted() { [[ $force == 1 ]] || ! in_registry "$1"; }

# kubeadm's own list, so the tags are exactly what `kubeadm init` will pull.
mapfile -t kubeadm_images < <("$BIN/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>/dev/null)
(( ${#kubeadm_images[@]} )) || die "kubeadm config images list printed nothing"
for image in "${kubeadm_images[@]}"; do
  ref=${image#registry.k8s.io/}
  wanted "$ref" || { log "$ref: present"; continue; }
  case "$ref" in
    kube-apiserver:* | kube-controller-manager:* | kube-scheduler:*)
      cmd=${ref%%:*}; binary_image "$ref" "$BIN/$cmd" "/usr/local/bin/$cmd" ;;
    kube-proxy:*)
      # kube-proxy runs iptables in the node's network namespace: iptables (nft, as the node's Debian uses),
      # every xtables extension and every library those load, else some rules fail at run time.
      root="$work/kube-proxy"; base_rootfs "$root"
      copy_with_libs "$root" "$BIN/kube-proxy" /usr/local/bin/kube-proxy
      copy_with_libs "$root" /usr/sbin/xtables-nft-multi /usr/sbin/xtables-nft-multi
      for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
        ln -sf xtables-nft-multi "$root/usr/sbin/$t"
      done
      for ext in /usr/lib/x86_64-linux-gnu/xtables/*.so; do
        install -D -m 0644 "$ext" "$root$ext"; copy_libs_of "$root" "$ext"
      done
      [[ -x /usr/sbin/conntrack ]] && copy_with_libs "$root" /usr/sbin/conntrack /usr/sbin/conntrack
      publish "$ref" "$root" 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' ;;
    etcd:*) binary_image "$ref" "$BIN/etcd" /usr/local/bin/etcd ;;
    coredns/coredns:*) binary_image "$ref" "$BIN/coredns" /coredns 'ENTRYPOINT ["/coredns"]' ;;
    pause:*)
      (cd "$here/pause" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/pause" main.go)
      binary_image "$ref" "$work/pause" /pause 'ENTRYPOINT ["/pause"]' ;;
    *) die "kubeadm wants $image, which this script does not know how to build" ;;
  esac
done

ref="openpolicyagent/opa:${OPA_VERSION#v}"
if wanted "$ref"; then
  binary_image "$ref" "$BIN/opa" /opa 'ENTRYPOINT ["/opa"]' 'USER 1000:1000'
else log "$ref: present"; fi

ref="openpolicyagent/kube-mgmt:$KUBE_MGMT_TAG"
if wanted "$ref"; then
  root="$work/kube-mgmt"; base_rootfs "$root"
  copy_with_libs "$root" "$(readlink -f "$(command -v node)")" /usr/local/bin/node
  "$REPO/node_modules/.bin/esbuild" "$REPO/test/testbed/kube-mgmt-standin.ts" --bundle --platform=node --target=node20 \
    --format=esm --log-level=error --outfile="$root/kube-mgmt.mjs" \
    --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
  publish "$ref" "$root" 'ENTRYPOINT ["/usr/local/bin/node", "/kube-mgmt.mjs"]' 'USER 1000:1000'
else log "$ref: present"; fi
log "registry 127.0.0.1:$PORT serves: $(curl -fsS "http://127.0.0.1:$PORT/v2/_catalog")"
