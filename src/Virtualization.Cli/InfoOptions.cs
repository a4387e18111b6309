namespace Virtualization.Cli;

/// <summary>What <c>vm info</c> probes. The device paths can be changed for tests.</summary>
internal sealed record InfoOptions
{
    /// <summary>The crosvm executable (a path, or a name looked up on PATH).</summary>
    public string CrosvmPath { get; init; } = "crosvm";

    /// <summary>The QEMU executable (a path, or a name looked up on PATH).</summary>
    public string QemuPath { get; init; } = "qemu-system-x86_64";

    /// <summary>The KVM device.</summary>
    public string KvmDevice { get; init; } = "/dev/kvm";

    /// <summary>The vhost-vsock device crosvm and QEMU use for guest sockets.</summary>
    public string VhostVsockDevice { get; init; } = "/dev/vhost-vsock";

    /// <summary>The host's AF_VSOCK device.</summary>
    public string VsockDevice { get; init; } = "/dev/vsock";

    /// <summary>The VMM launcher (vcore-exec) to check, or <see langword="null"/> for the one the library uses.</summary>
    public string? LauncherPath { get; init; }
}
