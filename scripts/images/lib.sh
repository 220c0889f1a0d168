# Shared by the scripts that build images without pulling anything (sourced, not run):
# scripts/images/build-standins.sh and scripts/testbed/minikube/images.sh.

# copy_with_libs ROOT SRC DEST: copies the executable SRC to ROOT/DEST plus every shared library
# (and the loader) that ldd reports, at the same paths. A static binary needs nothing more.
copy_with_libs() {
  local root=$1 src=$2 dest=$3 lib
  install -D -m 0755 "$src" "$root$dest"
  copy_libs_of "$root" "$src"
}

# copy_libs_of ROOT FILE: the shared libraries (and the loader) FILE needs, at their paths under ROOT.
copy_libs_of() {
  local root=$1 file=$2 lib
  if ldd "$file" >/dev/null 2>&1; then
    for lib in $(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
      [[ -e $root$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
    done
  fi
}

# base_rootfs ROOT: the few files every image here needs: /tmp, passwd/group (root, nobody and uid 1000 as
# the upstream OPA image runs), and nsswitch so Go programs and glibc read /etc/hosts.
base_rootfs() {
  local root=$1
  mkdir -p "$root"/{bin,etc,tmp,var/lib}
  chmod 1777 "$root/tmp"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:user:/tmp:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nuser:x:1000:\n' >"$root/etc/group"
}

# import_rootfs ROOT TAG DESCRIPTION CHANGE...: packs ROOT (owned by root) into an image TAG, labelled
# with DESCRIPTION (org.opencontainers.image.description) so nobody takes it for the upstream image.
import_rootfs() {
  local root=$1 tag=$2 description=$3; shift 3
  local changes=() c
  for c in "$@" "LABEL org.opencontainers.image.description=\"$description\""; do changes+=(--change "$c"); done
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . \
    | docker import "${changes[@]}" --message "$description" - "$tag" >/dev/null
}
