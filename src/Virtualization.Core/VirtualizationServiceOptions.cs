
namespace Virtualization.Core;

/// <summary>
/// Settings of a <see cref="VirtualizationService"/>. Settable, so that the Options pattern can bind and configure
/// them (<c>services.AddVirtualization(o =&gt; o.Vmm = VmmKind.Qemu)</c>); the service takes a copy when it is built, so
/// changing an instance afterwards does not affect a service already built from it.
/// </summary>
public sealed record VirtualizationServiceOptions
{
    /// <summary>
    /// The VMM that runs VMs. Default <see cref="VmmKind.Auto"/>: crosvm when it is found and KVM is usable, else QEMU
    /// (resolved once, when the service is built; see <see cref="VirtualizationService.Vmm"/>).
    /// </summary>
    public VmmKind Vmm { get; set; } = VmmKind.Auto;

    /// <summary>The QEMU executable (used when <see cref="Vmm"/> is <see cref="VmmKind.Qemu"/>). Default <c>qemu-system-x86_64</c>.</summary>
    public string QemuPath { get; set; } = "qemu-system-x86_64";

    /// <summary>How QEMU runs guest code. Default <see cref="VmAcceleration.Auto"/>; ignored by crosvm (always KVM).</summary>
    public VmAcceleration Acceleration { get; set; } = VmAcceleration.Auto;

    /// <summary>The crosvm executable: a path, or a name looked up on <c>PATH</c>. Default <c>crosvm</c>.</summary>
    public string CrosvmPath { get; set; } = "crosvm";

    /// <summary>
    /// Root of the per-VM temporary folders (<c>&lt;root&gt;/vm-&lt;cid&gt;</c>) and of the CID cursor file. Default:
    /// <c>$XDG_RUNTIME_DIR/virtualization-core</c>, else <c>&lt;temp&gt;/virtualization-core-&lt;uid&gt;</c>.
    /// Keep it short: the VMM's control socket lives there and Unix socket paths are limited to 107 bytes.
    /// </summary>
    /// <remarks>
    /// Checked at every <see cref="IVirtualizationService.CreateVmAsync"/>: created with mode 0700 if missing; it must be
    /// a directory (not a symbolic link) owned by the process's effective user, else <see cref="UnsafeDirectoryException"/>;
    /// if it is ours but open to others, it is tightened to 0700, unless it is sticky (a shared folder like <c>/tmp</c>),
    /// which is refused. Services of the same user sharing this folder share the round-robin CID cursor; other users'
    /// services have their own (CIDs stay unique host-wide either way).
    /// </remarks>
    public string TemporaryDirectory { get; set; } = DefaultTemporaryDirectory();

    /// <summary>
    /// Which CID space the service's VMs share. Default <c>default</c>. VMs of services with different namespaces may get
    /// the same CID; change it only to isolate tests. 1-64 characters of <c>A-Z a-z 0-9 . _ -</c>.
    /// </summary>
    /// <remarks>
    /// A CID is held by binding a unix socket to the abstract name <c>virtualization-core/&lt;namespace&gt;/cid/&lt;cid&gt;</c>,
    /// so CIDs are unique among every process of every user that uses the same namespace in the same network namespace.
    /// Abstract names are per network namespace while vsock CIDs are host-wide: services in different network namespaces
    /// (containers) do not see each other's CIDs. Any local user can bind such a name; the service skips CIDs held that
    /// way (see docs/reliability.md). VM folders are named by CID alone: services with different namespaces must not share
    /// a <see cref="TemporaryDirectory"/>.
    /// </remarks>
    public string CidNamespace { get; set; } = "default";

    /// <summary>The first guest CID handed out. Default 10 (lower CIDs are reserved for the host).</summary>
    public int FirstGuestCid { get; set; } = 10;

    /// <summary>The last guest CID handed out. Default 65535.</summary>
    public int LastGuestCid { get; set; } = 65535;

    /// <summary>How long <see cref="IVirtualMachine.StopAsync"/> waits for a graceful exit before killing. Default 5 s.</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long <see cref="IVirtualMachine.StartAsync"/> waits for the VMM to come up (its control socket to appear)
    /// before killing it and failing. Default 30 s.
    /// </summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <see cref="IVirtualMachine.ConnectVsockAsync"/> tries to connect. Default 5 s.</summary>
    public TimeSpan VsockConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// For VMs with a <see cref="VirtualMachineRawConfig.PayloadChannel"/>: how long after <see cref="IVirtualMachine.StartAsync"/>
    /// returns the payload may take to report that it started before the VM is killed with <see cref="DeathReason.Hangup"/>
    /// (Android's boot-hangup watchdog). Default 30 s; <see cref="Timeout.InfiniteTimeSpan"/> turns it off.
    /// <see cref="PayloadChannelOptions.StartTimeout"/> overrides it per VM.
    /// </summary>
    public TimeSpan PayloadStartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Checks the settings exactly as the <see cref="VirtualizationService"/> constructor does (which throws
    /// <see cref="ArgumentException"/> with these messages). The Options pattern's validation uses it too.
    /// </summary>
    /// <returns>One message per problem, each starting with the name of the setting; empty when the settings are valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();

        // CIDs 0-2 are the hypervisor, local and host.
        if (FirstGuestCid < 3)
        {
            problems.Add($"FirstGuestCid must be at least 3 (0-2 are the hypervisor, local and host); got {FirstGuestCid}.");
        }

        if (LastGuestCid < FirstGuestCid)
        {
            problems.Add($"LastGuestCid must not be below FirstGuestCid; got {FirstGuestCid}..{LastGuestCid}.");
        }

        if (!Enum.IsDefined(Vmm))
        {
            problems.Add($"Vmm must be Auto, Crosvm or Qemu; got {Vmm}.");
        }

        if (!Enum.IsDefined(Acceleration))
        {
            problems.Add($"Acceleration must be Auto, Kvm or Tcg; got {Acceleration}.");
        }

        if (string.IsNullOrWhiteSpace(CrosvmPath))
        {
            problems.Add("CrosvmPath must name an executable (a path, or a name looked up on PATH).");
        }

        if (string.IsNullOrWhiteSpace(QemuPath))
        {
            problems.Add("QemuPath must name an executable (a path, or a name looked up on PATH).");
        }

        if (StopGracePeriod < TimeSpan.Zero)
        {
            problems.Add($"StopGracePeriod must not be negative; got {StopGracePeriod}.");
        }

        if (StartTimeout <= TimeSpan.Zero)
        {
            problems.Add($"StartTimeout must be positive; got {StartTimeout}.");
        }

        if (VsockConnectTimeout <= TimeSpan.Zero)
        {
            problems.Add($"VsockConnectTimeout must be positive; got {VsockConnectTimeout}.");
        }

        if (!Payload.PayloadOptionsValidator.IsValidTimeout(PayloadStartTimeout))
        {
            problems.Add($"PayloadStartTimeout must be positive (at most int.MaxValue ms) or Timeout.InfiniteTimeSpan; got {PayloadStartTimeout}.");
        }

        try
        {
            Lifecycle.CidAllocator.ValidateNamespace(CidNamespace, nameof(CidNamespace));
        }
        catch (ArgumentException e)
        {
            problems.Add(e.Message);
        }

        if (string.IsNullOrWhiteSpace(TemporaryDirectory))
        {
            problems.Add("TemporaryDirectory must name a folder.");
        }
        else if (problems.Count == 0)
        {
            // Both VMMs' sockets must fit: Auto may pick either.
            string longest = Path.Combine(Path.GetFullPath(TemporaryDirectory), "vm-" + LastGuestCid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            try
            {
                new Crosvm.CrosvmRunner(CrosvmPath).CheckSocketPaths(longest);
                new Qemu.QemuRunner(QemuPath, Acceleration, StopGracePeriod).CheckSocketPaths(longest);
            }
            catch (ArgumentException e)
            {
                problems.Add(e.Message);
            }
        }

        return problems;
    }

    internal static string DefaultTemporaryDirectory()
    {
        string? runtimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (!string.IsNullOrEmpty(runtimeDir) && Directory.Exists(runtimeDir))
        {
            return Path.Combine(runtimeDir, "virtualization-core");
        }

        return Path.Combine(Path.GetTempPath(), $"virtualization-core-{Interop.Sys.GetEUid()}");
    }
}
