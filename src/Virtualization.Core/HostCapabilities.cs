using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Virtualization.Core.Vmm;

namespace Virtualization.Core;

/// <summary>
/// What this host offers for running VMs: the VMMs (found and answering), KVM, vsock, the temporary root and the VMM
/// launcher, each with the fix when it is missing. <c>vm info</c> prints it; the Hosting package's health check reports it.
/// </summary>
/// <example>
/// <code>
/// HostCapabilities host = await HostCapabilities.ProbeAsync(service.Options, ct);
/// foreach (HostCapability item in host.Items)
/// {
///     Console.WriteLine(item.IsAvailable ? $"ok: {item}" : $"missing: {item} (fix: {item.Fix})");
/// }
/// </code>
/// </example>
public sealed class HostCapabilities
{
    private const string CrosvmFix = "build crosvm (https://crosvm.dev/book/building_crosvm/; no distribution packages it) and put it on PATH, or set CrosvmPath (vm: --crosvm PATH)";
    private const string QemuFix = "apt-get install qemu-system-x86 (or dnf install qemu-system-x86-core), or set QemuPath (vm: --qemu PATH)";

    private HostCapabilities(IReadOnlyList<HostCapability> items, int? localCid, VmmKind? autoVmm)
    {
        Items = items;
        LocalCid = localCid;
        AutoVmm = autoVmm;
    }

    /// <summary>Every item, in report order: crosvm, QEMU, KVM, vhost-vsock, vsock, local CID (when there is a vsock device), temporary directory, launcher.</summary>
    public IReadOnlyList<HostCapability> Items { get; }

    /// <summary>crosvm: found and answering <c>crosvm version</c>.</summary>
    public HostCapability Crosvm => Item("crosvm");

    /// <summary>QEMU: found and answering <c>--version</c>.</summary>
    public HostCapability Qemu => Item("QEMU");

    /// <summary>KVM: the device opens for reading and writing. (This does not prove that KVM guests run: under nested KVM they may hang.)</summary>
    public HostCapability Kvm => Item("KVM");

    /// <summary>vhost-vsock: the device guests get vsock through.</summary>
    public HostCapability VhostVsock => Item("vhost-vsock");

    /// <summary>The temporary root: usable (or creatable) by this user.</summary>
    public HostCapability TemporaryDirectory => Item("temporary directory");

    /// <summary>The VMM launcher (<c>vcore-exec</c>) shipped with the package.</summary>
    public HostCapability Launcher => Item("launcher");

    /// <summary>This host's vsock CID (<see cref="VsockEndPoint.GetLocalCid"/>), or <see langword="null"/> without vsock.</summary>
    public int? LocalCid { get; }

    /// <summary>
    /// What <see cref="VmmKind.Auto"/> picks here: crosvm when it is found and KVM is usable, else QEMU when it is found,
    /// else crosvm when it is found; <see langword="null"/> when neither is.
    /// </summary>
    public VmmKind? AutoVmm { get; }

    /// <summary>Whether a VM can be started: a VMM <see cref="AutoVmm"/> would pick (crosvm only with KVM), the launcher and the temporary root are all there.</summary>
    public bool CanRunVms =>
        AutoVmm is { } vmm
        && (vmm == VmmKind.Qemu || Kvm.IsAvailable)
        && Launcher.IsAvailable
        && TemporaryDirectory.IsAvailable;

    /// <summary>Probes the host for a service with <paramref name="options"/> (its VMM paths and temporary root).</summary>
    /// <param name="options">The service's settings; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Stops the probe (a running version query is killed).</param>
    /// <returns>What was found.</returns>
    public static Task<HostCapabilities> ProbeAsync(VirtualizationServiceOptions? options = null, CancellationToken cancellationToken = default) =>
        ProbeAsync(HostProbeOptions.ForService(options ?? new VirtualizationServiceOptions()), cancellationToken);

    /// <summary>Probes the host: looks the VMMs up and asks their versions, opens the devices, checks the temporary root and the launcher.</summary>
    /// <param name="options">What to look at.</param>
    /// <param name="cancellationToken">Stops the probe (a running version query is killed).</param>
    /// <returns>What was found. Nothing is created or changed.</returns>
    public static async Task<HostCapabilities> ProbeAsync(HostProbeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Virtualization.Core runs VMs on Linux hosts only.");
        }

        var items = new List<HostCapability>();
        Task<HostCapability> crosvm = ProbeExecutableAsync("crosvm", options.CrosvmPath, "version", CrosvmFix, options.VersionTimeout, cancellationToken);
        Task<HostCapability> qemu = ProbeExecutableAsync("QEMU", options.QemuPath, "--version", QemuFix, options.VersionTimeout, cancellationToken);
        items.Add(await crosvm.ConfigureAwait(false));
        items.Add(await qemu.ConfigureAwait(false));
        HostCapability kvm = ProbeKvm(options.KvmDevice);
        items.Add(kvm);
        items.Add(ProbeDevice(
            "vhost-vsock", options.VhostVsockDevice,
            "modprobe vhost_vsock (and add it to /etc/modules-load.d to keep it across reboots)"));
        items.Add(ProbeDevice("vsock", options.VsockDevice, "modprobe vhost_vsock (it loads the vsock core module)"));
        int? localCid = null;
        if (File.Exists(options.VsockDevice))
        {
            items.Add(ProbeLocalCid(out localCid));
        }

        items.Add(ProbeTemporaryDirectory(options.TemporaryDirectory));
        items.Add(ProbeLauncher(options.LauncherPath));

        return new HostCapabilities(items, localCid, VmmSelection.Pick(items[0].IsAvailable, items[1].IsAvailable, kvm.IsAvailable));
    }

    private HostCapability Item(string name) => Items.First(i => i.Name == name);

    private static async Task<HostCapability> ProbeExecutableAsync(
        string name, string executable, string versionArgument, string fix, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!ExecutableResolver.TryResolve(executable, out string? path))
        {
            string where = executable.Contains('/', StringComparison.Ordinal) ? $"'{executable}' is not an executable" : $"'{executable}' not found on PATH";
            return new HostCapability(name, false, where, fix);
        }

        string? version = await GetFirstLineAsync(path, versionArgument, timeout, cancellationToken).ConfigureAwait(false);
        return new HostCapability(name, true, version is null ? $"{path} (version unknown: '{versionArgument}' failed)" : $"{path} ({version})", null);
    }

    private static HostCapability ProbeKvm(string device)
    {
        if (!File.Exists(device))
        {
            return new HostCapability(
                "KVM", false, $"{device} does not exist",
                "enable VT-x/AMD-V in the firmware and modprobe kvm_intel or kvm_amd (in a cloud VM, enable nested virtualization); "
                + "without KVM only QEMU with TCG works (VmAcceleration.Auto picks it; vm: --accel tcg)");
        }

        try
        {
            using SafeFileHandle handle = File.OpenHandle(device, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            string hint = RunsUnderHypervisor()
                ? "this host is itself a VM (nested KVM): if KVM guests hang, use Acceleration = Tcg (vm: --accel tcg)"
                : "if KVM guests hang (nested KVM), run with --accel tcg";
            return new HostCapability("KVM", true, $"{device} is usable (read-write); {hint}", null);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return new HostCapability(
                "KVM", false, $"{device} cannot be opened read-write: {e.Message}",
                "add your user to the kvm group: sudo usermod -aG kvm $USER, then log in again");
        }
    }

    private static HostCapability ProbeDevice(string name, string device, string fix) =>
        File.Exists(device)
            ? new HostCapability(name, true, $"{device} is present", null)
            : new HostCapability(name, false, $"{device} is missing", fix);

    private static HostCapability ProbeLocalCid(out int? cid)
    {
        cid = null;
        try
        {
            cid = VsockEndPoint.GetLocalCid();
            return new HostCapability("local CID", true, unchecked((uint)cid.Value).ToString(CultureInfo.InvariantCulture), null);
        }
        catch (VsockException e)
        {
            return new HostCapability("local CID", false, e.Message, "modprobe vhost_vsock (or vmw_vsock_virtio_transport inside a VM)");
        }
    }

    private static HostCapability ProbeTemporaryDirectory(string root)
    {
        const string name = "temporary directory";
        const string fix = "set TemporaryDirectory to a short folder of your own that you can write";
        string path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is not null)
        {
            return new HostCapability(name, false, $"{path} is a symbolic link (refused: it could point anywhere)", fix);
        }

        if (info.Exists)
        {
            return Interop.Sys.Access(path, Interop.Sys.W_OK | Interop.Sys.X_OK) == 0
                ? new HostCapability(name, true, $"{path} is writable", null)
                : new HostCapability(name, false, $"{path} is not writable by this user", fix);
        }

        if (File.Exists(path))
        {
            return new HostCapability(name, false, $"{path} is a file, not a directory", fix);
        }

        string? parent = Path.GetDirectoryName(path);
        while (parent is not null && !Directory.Exists(parent))
        {
            parent = Path.GetDirectoryName(parent);
        }

        return parent is not null && Interop.Sys.Access(parent, Interop.Sys.W_OK | Interop.Sys.X_OK) == 0
            ? new HostCapability(name, true, $"{path} will be created (mode 0700) when the first VM is", null)
            : new HostCapability(name, false, $"{path} does not exist and {parent ?? "/"} is not writable by this user", fix);
    }

    private static HostCapability ProbeLauncher(string? launcher)
    {
        string? problem = null;
        if (launcher is null)
        {
            try
            {
                launcher = NativeHelper.Path;
            }
            catch (VirtualMachineStartException e)
            {
                problem = e.Message;
            }
        }
        else if (!ExecutableResolver.TryResolve(launcher, out _))
        {
            problem = $"'{launcher}' is missing or not executable";
        }

        return problem is null
            ? new HostCapability("launcher", true, $"{launcher} (VMs and everything they start die with the process that runs them)", null)
            : new HostCapability(
                "launcher", false, problem,
                "reinstall the Virtualization.Core package: it ships vcore-exec under runtimes/<rid>/native/ (chmod +x it if needed)");
    }

    /// <summary>Whether the CPU flags say this machine is a VM (the <c>hypervisor</c> flag), where nested KVM may hang.</summary>
    private static bool RunsUnderHypervisor()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo")
                .Any(l => l.StartsWith("flags", StringComparison.Ordinal) && l.Split(' ').Contains("hypervisor"));
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// The first line <paramref name="path"/> prints for <paramref name="argument"/>, or null when it fails or takes
    /// longer than <paramref name="timeout"/> (then it is killed).
    /// </summary>
    private static async Task<string?> GetFirstLineAsync(string path, string argument, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(path, [argument])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }

        using (process)
        {
            process.StandardInput.Close();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                Task<string> stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
                Task<string> stderr = process.StandardError.ReadToEndAsync(deadline.Token);
                await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
                string text = await stdout.ConfigureAwait(false);
                _ = await stderr.ConfigureAwait(false);
                string? first = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
                return process.ExitCode == 0 ? first : null;
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                return null;
            }
        }
    }
}
