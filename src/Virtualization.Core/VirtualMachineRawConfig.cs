namespace Virtualization.Core;

/// <summary>
/// A VM described by its kernel (or bootloader), initrd, command line and disks. Immutable: use <c>with</c>
/// expressions to derive variants.
/// </summary>
/// <example>
/// <code>
/// var config = new VirtualMachineRawConfig
/// {
///     Kernel = "/var/lib/vms/vmlinuz",
///     Initrd = "/var/lib/vms/initramfs.cpio.gz",
///     Params = "console=ttyS0 quiet",
///     MemoryMib = 256,
/// };
/// </code>
/// </example>
public sealed record VirtualMachineRawConfig : VirtualMachineConfig
{
    /// <summary>Path of the kernel image. Exactly one of <see cref="Kernel"/> and <see cref="Bootloader"/> must be set.</summary>
    public string? Kernel { get; init; }

    /// <summary>Path of the initial ramdisk, if any. Not allowed with a <see cref="Bootloader"/>.</summary>
    public string? Initrd { get; init; }

    /// <summary>The kernel command line: printable ASCII, under 2048 bytes.</summary>
    public string? Params { get; init; }

    /// <summary>Path of a bootloader (BIOS) image that loads the kernel from a disk.</summary>
    public string? Bootloader { get; init; }

    /// <summary>The VM's disks, in the order the guest sees them (<c>/dev/vda</c>, <c>/dev/vdb</c>, ...).</summary>
    public IReadOnlyList<DiskImage> Disks { get; init; } = [];

    /// <summary>Run as a protected VM (pKVM). Needs a hypervisor that supports it.</summary>
    public bool Protected { get; init; }

    /// <summary>Guest memory in MiB; 0 means the VMM's default (256 MiB for crosvm).</summary>
    public int MemoryMib { get; init; }

    /// <summary>Number of virtual CPUs; 0 means the VMM's default (1).</summary>
    public int CpuCount { get; init; }

    /// <summary>
    /// Opts in to the payload lifecycle channel (a guest agent reports started, ready, finished or error; a watchdog
    /// kills a VM whose payload does not start). <see langword="null"/> (the default): no channel, the VM stays
    /// <see cref="VirtualMachineState.Starting"/> until it dies. See docs/payload-protocol.md.
    /// </summary>
    public PayloadChannelOptions? PayloadChannel { get; init; }
}
