#!/bin/sh
# /init for the Virtualization.Core test guest (busybox sh).
# Markers on the console start with "VCORE-GUEST: " so host tests can wait on them.
# Kernel command line:
#   vcore.payload=<base64>  run /bin/vcore-agent (guest/vcore-agent.c): it reports the payload's lifecycle to the
#                           host over the payload channel and powers off (vcore.payload.poweroff=0: stay up)
#   vcore.script=<base64>   decode and run with sh, then power off
#   vcore.action=poweroff|reboot|panic|hang|shell
#   (nothing)               print a line and power off

export PATH=/sbin:/bin:/usr/sbin:/usr/bin
umask 022

mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp 2>/dev/null
mount -t tmpfs tmpfs /run 2>/dev/null
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2>/dev/null

# If the initramfs had no usable /dev/console, the kernel gave us no stdio.
if [ ! -e /proc/self/fd/1 ] && [ -c /dev/console ]; then
    exec </dev/console >/dev/console 2>&1
fi

say() { echo "VCORE-GUEST: $*"; }

# Never let init exit: the kernel would panic with "Attempted to kill init".
halt_now() {
    sync 2>/dev/null
    poweroff -f
    sleep 5
    say "poweroff failed"
    while :; do sleep 3600; done
}

# Modules, already in dependency order (written by build-image.sh).
if [ -f /lib/modules/load.list ]; then
    while read -r ko; do
        [ -n "$ko" ] || continue
        name=${ko##*/}; name=${name%.ko}
        # Kernel reports loaded modules with '_' instead of '-'.
        sysname=$(echo "$name" | tr - _)
        [ -d "/sys/module/$sysname" ] && continue
        insmod "/lib/modules/$ko" 2>/dev/null || echo "vcore-init: insmod $name failed" >&2
    done </lib/modules/load.list
fi
# Let deferred probing (virtio-mmio, ACPI) settle.
mdev -s 2>/dev/null

# ACPI power button (QMP system_powerdown) -> clean poweroff.
if [ -e /dev/input/event0 ]; then
    mkdir -p /etc/acpi
    cat >/etc/acpi/powerbtn <<'PWR'
#!/bin/sh
echo "VCORE-GUEST: power button" >/dev/console
sync
poweroff -f
PWR
    chmod +x /etc/acpi/powerbtn
    echo "PWRF powerbtn" >/etc/acpid.conf
    acpid -c /etc/acpi -a /etc/acpid.conf -l /dev/null 2>/dev/null
fi

hostname vcore-guest 2>/dev/null
ip link set lo up 2>/dev/null

say booted

script=
action=
payload=
payload_poweroff=1
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        vcore.script=*) script=${arg#vcore.script=} ;;
        vcore.action=*) action=${arg#vcore.action=} ;;
        vcore.payload=*) payload=1 ;;
        vcore.payload.poweroff=*) payload_poweroff=${arg#vcore.payload.poweroff=} ;;
    esac
done

# The payload agent powers the VM off itself when the payload ends (unless vcore.payload.poweroff=0).
if [ -n "$payload" ]; then
    say "running payload agent"
    /bin/vcore-agent
    say "payload agent exited with $?"
    if [ "$payload_poweroff" = 0 ]; then
        while :; do sleep 3600; done
    fi
    halt_now
fi

if [ -n "$script" ]; then
    if echo "$script" | base64 -d >/tmp/vcore-script.sh 2>/dev/null; then
        say "running script"
        sh /tmp/vcore-script.sh
        rc=$?
    else
        say "script decode failed"
        rc=255
    fi
    say "script exited with $rc"
    halt_now
fi

case "$action" in
    poweroff)
        say "action poweroff"
        halt_now ;;
    reboot)
        say "action reboot"
        sync
        reboot -f
        sleep 5; halt_now ;;
    panic)
        say "action panic"
        echo 1 >/proc/sys/kernel/sysrq
        echo c >/proc/sysrq-trigger
        sleep 5; halt_now ;;
    hang)
        say "action hang"
        while :; do sleep 3600; done ;;
    shell)
        say "action shell"
        setsid cttyhack sh -l
        say "shell exited with $?"
        halt_now ;;
    "")
        say "no vcore.script or vcore.action, powering off"
        halt_now ;;
    *)
        say "unknown action $action, powering off"
        halt_now ;;
esac
