namespace Virtualization.Core;

/// <summary>
/// What <see cref="HostCapabilities.ProbeAsync(HostProbeOptions, CancellationToken)"/> looks at. The defaults are what a
/// <see cref="VirtualizationService"/> with default options uses; <see cref="ForService"/> copies a service's settings.
/// The device paths can be changed (tests point them at files of their own).
/// </summary>
public sealed record HostProbeOptions
{
    /// <summary>The crosvm executable: a path, or a name looked up on <c>PATH</c>. Default <c>crosvm</c>.</summary>
    public string CrosvmPath { get; set; } = "crosvm";

    /// <summary>The QEMU executable: a path, or a name looked up on <c>PATH</c>. Default <c>qemu-system-x86_64</c>.</summary>
    public string QemuPath { get; set; } = "qemu-system-x86_64";

    /// <summary>The service's temporary root (see <see cref="VirtualizationServiceOptions.TemporaryDirectory"/>).</summary>
    public string TemporaryDirectory { get; set; } = VirtualizationServiceOptions.DefaultTemporaryDirectory();

    /// <summary>The KVM device. Default <c>/dev/kvm</c>.</summary>
    public string KvmDevice { get; set; } = "/dev/kvm";

    /// <summary>The device crosvm and QEMU give guests vsock through. Default <c>/dev/vhost-vsock</c>.</summary>
    public string VhostVsockDevice { get; set; } = "/dev/vhost-vsock";

    /// <summary>The host's <c>AF_VSOCK</c> device (and the local CID's source). Default <c>/dev/vsock</c>.</summary>
    public string VsockDevice { get; set; } = "/dev/vsock";

    /// <summary>The VMM launcher (<c>vcore-exec</c>) to check; <see langword="null"/> (the default) for the one the library uses.</summary>
    public string? LauncherPath { get; set; }

    /// <summary>
    /// How long each VMM may take to print its version (<c>crosvm version</c>, <c>qemu-system-x86_64 --version</c>) before
    /// it is killed and its version reported unknown. Default 30 s (a loaded machine can be slow to start a process).
    /// </summary>
    public TimeSpan VersionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The probe settings matching a service's: its VMM paths and temporary root.</summary>
    /// <param name="options">The service's settings.</param>
    /// <returns>New probe settings with the default devices.</returns>
    public static HostProbeOptions ForService(VirtualizationServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HostProbeOptions
        {
            CrosvmPath = options.CrosvmPath,
            QemuPath = options.QemuPath,
            TemporaryDirectory = options.TemporaryDirectory,
        };
    }
}
