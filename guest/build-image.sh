#!/usr/bin/env bash
# Builds the test guest for Virtualization.Core: the distribution's kernel (Debian's or Ubuntu's, x86_64) plus a
# busybox initramfs whose /init is guest/init.sh.
#
# Usage: guest/build-image.sh [OUTDIR]
#   OUTDIR defaults to <repo>/.guest (git-ignored). `vm guest build OUTDIR` runs a copy of this script shipped inside
#   the vm tool (with init.sh, vsock-echo.c and vcore-agent.c next to it).
#   Outputs: OUTDIR/vmlinuz, OUTDIR/initramfs.cpio.gz (plus OUTDIR/kernel-release,
#   OUTDIR/modules.txt, OUTDIR/stamp). Cached: does nothing when both outputs
#   exist and OUTDIR/stamp matches the hash of this script, init.sh, vsock-echo.c and vcore-agent.c.
# Environment:
#   VCORE_KERNEL_PKG   kernel package to use (default: what linux-image-amd64 (Debian) or linux-image-virtual
#                      (Ubuntu) depends on; Ubuntu's modules come from the matching linux-modules-<release> package)
#   VCORE_GUEST_FORCE=1  rebuild even if the stamp matches
# Needs root (apt-get install of missing tools, mknod of /dev/console).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
init_src="$here/init.sh"
outdir=${1:-"$repo/.guest"}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

log() { echo "build-image: $*" >&2; }

echo_src="$here/vsock-echo.c"
agent_src="$here/vcore-agent.c"
stamp_value=$(cat "${BASH_SOURCE[0]}" "$init_src" "$echo_src" "$agent_src" | sha256sum | cut -d' ' -f1)

print_outputs() {
    echo "kernel:    $outdir/vmlinuz"
    echo "initramfs: $outdir/initramfs.cpio.gz"
}

is_fresh() {
    [[ "${VCORE_GUEST_FORCE:-0}" != 1 ]] &&
    [[ -s "$outdir/vmlinuz" && -s "$outdir/initramfs.cpio.gz" && -f "$outdir/stamp" ]] &&
    [[ "$(cat "$outdir/stamp")" == "$stamp_value" ]]
}

if is_fresh; then
    print_outputs
    exit 0
fi

# Serialize concurrent builders (e.g. parallel test runs) on the same OUTDIR.
exec 9>"$outdir/.lock"
flock 9
if is_fresh; then
    print_outputs
    exit 0
fi

# ---- host tools -----------------------------------------------------------
apt_updated=0
apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q "$@"
}
apt_update_once() {
    if [[ $apt_updated == 0 ]]; then
        log "apt-get update"
        apt_get update >&2
        apt_updated=1
    fi
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
need_pkgs=()
# busybox-static, not busybox: the initramfs has no libc.
# gcc + libc6-dev: the guest's vcore-agent and vsock-echo are static C programs built here.
for p in busybox-static cpio kmod gzip xz-utils zstd util-linux qemu-system-x86 gcc libc6-dev; do
    pkg_installed "$p" || need_pkgs+=("$p")
done
if (( ${#need_pkgs[@]} )); then
    log "installing ${need_pkgs[*]}"
    if ! apt_get install --no-install-recommends "${need_pkgs[@]}" >&2; then
        apt_update_once
        apt_get install --no-install-recommends "${need_pkgs[@]}" >&2
    fi
fi

# ---- kernel package -------------------------------------------------------
resolve_kernel_pkg() {
    { apt-cache depends linux-image-amd64 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
      apt-cache depends linux-image-virtual 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-generic$/ { print $2; exit }'
    } | head -n1
}
kpkg=${VCORE_KERNEL_PKG:-}
if [[ -z "$kpkg" ]]; then
    kpkg=$(resolve_kernel_pkg || true)
    if [[ -z "$kpkg" ]]; then
        apt_update_once
        kpkg=$(resolve_kernel_pkg)
    fi
fi
[[ -n "$kpkg" ]] || { log "cannot resolve the kernel package"; exit 1; }
log "kernel package: $kpkg"

cache="$outdir/cache"
mkdir -p "$cache"
# Prints the cached .deb of package $1, downloading it first if needed.
fetch_deb() {
    local pkg=$1 deb dl
    deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
    if [[ -z "$deb" ]]; then
        log "downloading $pkg"
        # apt's _apt user must be able to write the download directory.
        dl=$(mktemp -d)
        chmod 0777 "$dl"
        if ! (cd "$dl" && apt-get download "$pkg" >&2); then
            apt_update_once
            (cd "$dl" && apt-get download "$pkg" >&2)
        fi
        mv "$dl"/*.deb "$cache/"
        rmdir "$dl"
        deb=$(ls "$cache/${pkg}"_*.deb | head -n1)
    fi
    echo "$deb"
}
debs=("$(fetch_deb "$kpkg")")
# Ubuntu ships a kernel's modules (and config) in linux-modules-<release>, not in linux-image-<release>.
modpkg=${kpkg/#linux-image-/linux-modules-}
if [[ "$modpkg" != "$kpkg" ]] && apt-cache show "$modpkg" >/dev/null 2>&1; then
    debs+=("$(fetch_deb "$modpkg")")
fi

work=$(mktemp -d "$outdir/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
kx="$work/kernel"
for deb in "${debs[@]}"; do
    dpkg -x "$deb" "$kx"
done
# Newer packages install modules under /usr/lib/modules (merged /usr).
if [[ ! -d "$kx/lib/modules" && -d "$kx/usr/lib/modules" ]]; then
    mkdir -p "$kx/lib" && mv "$kx/usr/lib/modules" "$kx/lib/modules"
fi

kver=$(ls "$kx/lib/modules" | head -n1)
[[ -n "$kver" && -f "$kx/boot/vmlinuz-$kver" ]] || { log "unexpected package layout"; exit 1; }
mdir="$kx/lib/modules/$kver"
kconfig="$kx/boot/config-$kver"
log "kernel release: $kver"

# The package ships no modules.dep (postinst runs depmod): generate it.
depmod -b "$kx" "$kver"

# ---- modules --------------------------------------------------------------
# Wanted drivers, by config symbol and module name. Built-in ones (=y) need nothing.
wanted=(
    "VIRTIO_MMIO virtio_mmio"
    "VIRTIO_PCI virtio_pci"
    "VIRTIO_BLK virtio_blk"
    "VIRTIO_CONSOLE virtio_console"
    "VSOCKETS vsock"
    "VIRTIO_VSOCKETS_COMMON vmw_vsock_virtio_transport_common"
    "VIRTIO_VSOCKETS vmw_vsock_virtio_transport"
    "PVPANIC pvpanic"
    "PVPANIC_MMIO pvpanic-mmio"
    "PVPANIC_PCI pvpanic-pci"
    # ACPI power button + evdev: lets QMP system_powerdown stop the guest (acpid in init).
    "ACPI_BUTTON button"
    "INPUT_EVDEV evdev"
    # Memory balloon (IVirtualMachine.SetMemoryBalloonAsync; QEMU's virtio-balloon-device).
    "VIRTIO_BALLOON virtio_balloon"
)

# Print the modules.dep path of module $1 ('-' and '_' are interchangeable).
find_module() {
    local pat=${1//[-_]/[-_]}
    grep -oE "^[^:]*/${pat}\.ko(\.xz|\.zst|\.gz)?:" "$mdir/modules.dep" | head -n1 | sed 's/:$//' || true
}

declare -A seen=()
order=()
# Depth-first: dependencies first. modules.dep lists the full closure, the
# last entry being the one to load first; recursion handles ordering anyway.
add_module() {
    local path=$1 line deps d i
    [[ -n "${seen[$path]:-}" ]] && return 0
    seen[$path]=1
    line=$(grep -E "^${path//./\\.}:" "$mdir/modules.dep")
    read -r -a deps <<<"${line#*:}"
    for (( i=${#deps[@]}-1; i>=0; i-- )); do
        add_module "${deps[i]}"
    done
    order+=("$path")
}

: >"$work/modules.txt"
for w in "${wanted[@]}"; do
    sym=${w% *}; mod=${w#* }
    val=$(grep -E "^CONFIG_${sym}=" "$kconfig" | cut -d= -f2 || true)
    p=$(find_module "$mod")
    if [[ -n "$p" ]]; then
        echo "$mod: module $p (CONFIG_$sym=${val:-unset})" >>"$work/modules.txt"
        add_module "$p"
    elif grep -qE "/${mod//[-_]/[-_]}\.ko$" "$mdir/modules.builtin"; then
        echo "$mod: built-in (CONFIG_$sym=${val:-unset})" >>"$work/modules.txt"
    else
        log "warning: $mod is neither a module nor built-in in $kver (CONFIG_$sym=${val:-unset})"
        echo "$mod: absent (CONFIG_$sym=${val:-unset})" >>"$work/modules.txt"
    fi
done

# ---- initramfs tree -------------------------------------------------------
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root,lib/modules}
cp /bin/busybox "$root/bin/busybox"
while read -r applet; do
    [[ "$applet" == bin/busybox ]] && continue
    mkdir -p "$root/$(dirname "$applet")"
    [[ -e "$root/$applet" ]] || ln -s /bin/busybox "$root/$applet"
done < <(/bin/busybox --list-full)
[[ -e "$root/bin/sh" ]] || ln -s busybox "$root/bin/sh"

: >"$root/lib/modules/load.list"
for p in "${order[@]}"; do
    src="$mdir/$p"
    dst_rel=${p%.xz}; dst_rel=${dst_rel%.zst}; dst_rel=${dst_rel%.gz}
    mkdir -p "$root/lib/modules/$(dirname "$dst_rel")"
    case "$p" in
        *.ko.xz)  xz -dc "$src"   >"$root/lib/modules/$dst_rel" ;;
        *.ko.zst) zstd -dcq "$src" >"$root/lib/modules/$dst_rel" ;;
        *.ko.gz)  gzip -dc "$src" >"$root/lib/modules/$dst_rel" ;;
        *)        cp "$src" "$root/lib/modules/$dst_rel" ;;
    esac
    echo "$dst_rel" >>"$root/lib/modules/load.list"
done
{ echo "load order:"; sed 's/^/  /' "$root/lib/modules/load.list"; } >>"$work/modules.txt"

install -m 0755 "$init_src" "$root/init"
# The guest end of the host-to-guest vsock test (needs a C compiler with static glibc; skipped without one).
if command -v cc >/dev/null && cc -static -O2 -o "$root/bin/vsock-echo" "$echo_src" 2>"$work/vsock-echo.log"; then
    log "built vsock-echo"
else
    log "warning: could not build vsock-echo (see $work/vsock-echo.log); the vsock end-to-end test will skip"
fi
# The payload agent (payload lifecycle channel, docs/payload-protocol.md) and its `vm-payload ready` helper (a symlink).
if command -v cc >/dev/null && cc -static -O2 -Wall -Wextra -o "$root/bin/vcore-agent" "$agent_src" 2>"$work/vcore-agent.log"; then
    ln -sf vcore-agent "$root/bin/vm-payload"
    log "built vcore-agent"
else
    log "warning: could not build vcore-agent (see $work/vcore-agent.log); the payload end-to-end tests will fail"
fi
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
echo "$kver" >"$root/etc/vcore-kernel-release"
# Kernel opens /dev/console before running /init; without it init has no stdio
# (init.sh also reopens it from devtmpfs as a fallback).
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || log "warning: mknod /dev/console failed"
mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true

# Reproducible archive: fixed mtimes, sorted names, root ownership.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort \
    | cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n >"$work/initramfs.cpio.gz"

# ---- publish ----------------------------------------------------------------
cp "$kx/boot/vmlinuz-$kver" "$work/vmlinuz"
chmod 0644 "$work/vmlinuz"   # Ubuntu ships it 0600; VMs of any user boot it
mv -f "$work/vmlinuz" "$outdir/vmlinuz"
mv -f "$work/initramfs.cpio.gz" "$outdir/initramfs.cpio.gz"
mv -f "$work/modules.txt" "$outdir/modules.txt"
cp "$kconfig" "$outdir/kernel-config"
echo "$kver" >"$outdir/kernel-release"
echo "$stamp_value" >"$outdir/stamp"
log "built for $kver"
print_outputs
