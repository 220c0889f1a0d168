#!/usr/bin/env bash
# Builds the node image that minikube's docker driver boots (`--base-image`), since minikube's own kicbase
# cannot be pulled here. It is minikube v1.37.0's deploy/kicbase done with Debian bookworm and debootstrap:
# systemd as PID 1, sshd, containerd + runc, the CNI plugins, crictl, minikube's own kicbase entrypoint,
# sysctl files and user `docker`. Differences from kicbase, each for this machine only:
#   - no docker/cri-o/podman/buildkit inside (the test bed runs `--container-runtime=containerd`);
#   - containerd mirrors registry.k8s.io, docker.io and gcr.io to the test bed's image registry
#     (http://host.minikube.internal:$TESTBED_IMAGES_PORT), so every image keeps its real name offline;
#   - containerd.toml with restrict_oom_score_adj (see node/containerd.toml);
#   - node/testbed-entrypoint first (see there: no --privileged on these VMs);
#   - user docker's password is '*' instead of locked (Debian's adduser locks it and sshd then refuses it)
#     and sshd gives it a PATH with sbin (kubeadm's preflight looks for losetup there).
# Usage: node-image.sh            prints the image reference (repo:tag) last; cached by content.
# Needs: root, debootstrap, Docker, crictl in $TESTBED_CACHE/bin (build-tools.sh minikube).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE="${TESTBED_CACHE:-$HOME/.cache/bootstrap-testbed}"
MINIKUBE_VERSION="${MINIKUBE_VERSION:-v1.37.0}"
IMAGES_PORT="${TESTBED_IMAGES_PORT:-5001}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=systemd,systemd-sysv,dbus,sudo,openssh-server,iptables,conntrack,socat,containerd,runc,containernetworking-plugins,ca-certificates,iproute2,procps,kmod,ethtool,ebtables,iputils-ping,netcat-openbsd,curl,openssl,util-linux,mount,bash,rsync
KICBASE="$(go env GOMODCACHE)/k8s.io/minikube@$MINIKUBE_VERSION/deploy/kicbase"

log() { printf '[node-image] %s\n' "$*" >&2; }
die() { printf '[node-image] error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
[[ -x $CACHE/bin/crictl ]] || die "crictl is missing: scripts/testbed/build-tools.sh minikube"
if [[ ! -d $KICBASE ]]; then
  GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}k8s.io/minikube,github.com/minikube-machine" go mod download "k8s.io/minikube@$MINIKUBE_VERSION" >&2
fi
[[ -f $KICBASE/entrypoint ]] || die "minikube's kicbase entrypoint not found at $KICBASE"

# The tag names the content: this script, the files beside it, the package list, the mirror port and crictl.
hash=$( { cat "${BASH_SOURCE[0]}" "$here"/node/*; echo "$PACKAGES $IMAGES_PORT $MINIKUBE_VERSION"; sha256sum "$CACHE/bin/crictl"; } | sha256sum | cut -c1-12)
tag="bootstrap-testbed/kicbase:$MINIKUBE_VERSION-$hash"
if docker image inspect "$tag" >/dev/null 2>&1; then log "$tag: present"; echo "$tag"; exit 0; fi

# 1. Debian by debootstrap, cached (about a minute; the only slow part).
base="$CACHE/node/rootfs-$SUITE-$(echo "$PACKAGES" | sha256sum | cut -c1-12)"
if [[ ! -f $base/.complete ]]; then
  log "debootstrap $SUITE into $base (first run only)"
  rm -rf "$base.tmp"; mkdir -p "$(dirname "$base")"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$base.tmp" "$MIRROR" >"$CACHE/node/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/node/debootstrap.log" >&2; die "debootstrap failed (log $CACHE/node/debootstrap.log)"; }
  touch "$base.tmp/.complete"; rm -rf "$base"; mv "$base.tmp" "$base"
fi

# 2. kicbase's changes on a copy.
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
cp -a "$base" "$root"; rm -f "$root/.complete"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

install -m 0755 "$KICBASE/entrypoint" "$root/usr/local/bin/entrypoint"
install -m 0755 "$here/node/testbed-entrypoint" "$root/usr/local/bin/testbed-entrypoint"
install -m 0644 "$KICBASE/10-network-security.conf" "$KICBASE/11-tcp-mtu-probing.conf" "$root/etc/sysctl.d/"
install -D -m 0644 "$here/node/containerd.toml" "$root/etc/containerd/config.toml"
for registry in registry.k8s.io docker.io gcr.io; do
  upstream="https://$registry"; [[ $registry == docker.io ]] && upstream=https://registry-1.docker.io
  install -d "$root/etc/containerd/certs.d/$registry"
  printf 'server = "%s"\n\n[host."http://host.minikube.internal:%s"]\n  capabilities = ["pull", "resolve"]\n' \
    "$upstream" "$IMAGES_PORT" >"$root/etc/containerd/certs.d/$registry/hosts.toml"
done
install -m 0755 "$CACHE/bin/crictl" "$root/usr/local/bin/crictl"
install -d "$root/opt/cni/bin"; cp -a /usr/lib/cni/. "$root/opt/cni/bin/" 2>/dev/null || cp -a "$root/usr/lib/cni/." "$root/opt/cni/bin/"

# systemd units pruned as kicbase prunes them; ssh enabled again afterwards.
find "$root/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
  "$root"/lib/systemd/system/local-fs.target.wants/* "$root"/lib/systemd/system/sockets.target.wants/*udev* \
  "$root"/lib/systemd/system/sockets.target.wants/*initctl* "$root"/lib/systemd/system/basic.target.wants/*
install -d "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /lib/systemd/system/ssh.service "$root/etc/systemd/system/multi-user.target.wants/ssh.service"
echo "ReadKMsg=no" >>"$root/etc/systemd/journald.conf"
[[ -e $root/sbin/init ]] || ln -s /lib/systemd/systemd "$root/sbin/init"
mkdir -p "$root/etc/kubernetes/manifests" "$root/kind" "$root/var/run/sshd"
sed -i -r 's#^(hosts:\s*).*#\1files dns#' "$root/etc/nsswitch.conf"
sed -ri 's/^UsePAM yes/#UsePAM yes/' "$root/etc/ssh/sshd_config"
echo 'SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' >>"$root/etc/ssh/sshd_config"
in_root groupadd -f docker
id_line=$(in_root getent passwd docker || true)
[[ -n $id_line ]] || in_root useradd --create-home --shell /bin/bash --gid docker --groups sudo docker
in_root usermod -p '*' docker
echo '%sudo ALL=(ALL) NOPASSWD:ALL' >>"$root/etc/sudoers"
install -d -m 0700 -o "$(in_root id -u docker)" -g "$(in_root id -g docker)" "$root/home/docker/.ssh"
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/var/cache/apt/archives/*.deb
echo "bootstrap test bed node image ($MINIKUBE_VERSION kicbase on Debian $SUITE), $hash" >"$root/kic.txt"

# 3. Import, then the settings `docker import --change` refuses (STOPSIGNAL) through a one-line build.
log "importing $tag"
tar --numeric-owner -C "$root" -cf - . | docker import - "$tag-rootfs" >/dev/null
mkdir "$work/context"
printf 'FROM %s\nENV container=docker\nSTOPSIGNAL SIGRTMIN+3\nEXPOSE 22\nENTRYPOINT ["/usr/local/bin/testbed-entrypoint", "/sbin/init"]\n' "$tag-rootfs" >"$work/context/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work/context" >/dev/null 2>"$work/build.log" \
  || { cat "$work/build.log" >&2; die "docker build of $tag failed"; }
docker rmi "$tag-rootfs" >/dev/null 2>&1 || true
# Earlier builds of the node image are no use any more (one still in use by a node stays).
docker image ls --format '{{.Repository}}:{{.Tag}}' "${tag%%:*}" | grep -vxF "$tag" | xargs -r docker rmi >/dev/null 2>&1 || true
log "$tag: built ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$tag"
