namespace Virtualization.Core;

/// <summary>How QEMU runs guest code.</summary>
public enum VmAcceleration
{
    /// <summary>KVM when <c>/dev/kvm</c> can be opened for reading and writing, else TCG.</summary>
    Auto = 0,

    /// <summary>Hardware virtualisation through <c>/dev/kvm</c>; fails to start when KVM is unavailable.</summary>
    Kvm = 1,

    /// <summary>
    /// QEMU's software emulator: slower, but works everywhere, including in VMs whose nested KVM is present but broken
    /// (where a KVM guest hangs). Tests force it.
    /// </summary>
    Tcg = 2,
}
