using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Crosvm;
using Virtualization.Core.Disks;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Vmm;
using Virtualization.Core.Vsock;

namespace Virtualization.Core;

/// <summary>
/// Creates and tracks virtual machines run by a VMM process (crosvm or QEMU, see <see cref="VirtualizationServiceOptions.Vmm"/>:
/// by default crosvm when it is installed and KVM is usable, else QEMU). Thread-safe. Dispose it to stop every VM it created.
/// </summary>
/// <remarks>
/// In an application with a host, register it with <c>services.AddVirtualization(...)</c> (package
/// Virtualization.Core.Hosting): the host then stops every VM on shutdown. Telemetry: docs/telemetry.md.
/// </remarks>
/// <example>
/// On a machine with QEMU (<c>apt-get install qemu-system-x86</c>) or crosvm:
/// <code>
/// await using var service = new VirtualizationService();
/// await using IVirtualMachine vm = await service.CreateVmAsync(
///     new VirtualMachineRawConfig { Kernel = "vmlinuz", Initrd = "initramfs.cpio.gz", Params = "quiet" },
///     Console.OpenStandardOutput());
/// await vm.StartAsync();
/// DeathReason reason = await vm.WaitForDeathAsync();
/// </code>
/// </example>
public sealed class VirtualizationService : IVirtualizationService, IDisposable
{
    private readonly Lock _gate = new();
    // By identity, with the order of creation: a dead VM that was not disposed stays until it is, while its CID may
    // already belong to a newer VM.
    private readonly Dictionary<VmInstance, long> _vms = new(ReferenceEqualityComparer.Instance);
    private readonly VirtualizationServiceOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly IVmmRunner _runner;
    private readonly CidAllocator _cids;
    private readonly IVsockConnector _vsock;
    private readonly TagList _tags;
    private long _created;
    private bool _disposed;

    /// <summary>Creates a service.</summary>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Where logs go; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="PlatformNotSupportedException">The host is not Linux.</exception>
    public VirtualizationService(VirtualizationServiceOptions? options = null, ILoggerFactory? loggerFactory = null)
        : this(options, loggerFactory, VsockConnector.Instance)
    {
    }

    /// <summary>Creates a service whose VMs connect to guests through <paramref name="vsock"/> (tests use unix sockets).</summary>
    internal VirtualizationService(VirtualizationServiceOptions? options, ILoggerFactory? loggerFactory, IVsockConnector vsock)
        : this(options, loggerFactory, vsock, runner: null)
    {
    }

    /// <summary>
    /// Creates a service whose VMs run on <paramref name="runner"/> instead of the VMM the options name (tests drive
    /// <see cref="VmInstance"/> with an in-process fake VMM); null for the VMM the options name.
    /// </summary>
    internal VirtualizationService(VirtualizationServiceOptions? options, ILoggerFactory? loggerFactory, IVsockConnector vsock, IVmmRunner? runner)
    {
        _vsock = vsock;
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Virtualization.Core runs VMs on Linux hosts only.");
        }

        // A copy: the caller (or the Options pattern) may change its instance later; this service keeps what it was built with.
        _options = (options ?? new VirtualizationServiceOptions()) with { };
        IReadOnlyList<string> problems = _options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        Vmm = VmmSelection.Resolve(_options.Vmm, _options.CrosvmPath, _options.QemuPath, Qemu.QemuRunner.KvmUsable(), out bool found);
        _runner = runner ?? CreateRunner(_options, Vmm, found);
        _tags = VirtualizationTelemetry.Tags(_runner.Name, _options.CidNamespace);
        _runner.CheckSocketPaths(Path.Combine(Path.GetFullPath(_options.TemporaryDirectory), "vm-" + _options.LastGuestCid));
        _loggerFactory = SafeLoggerFactory.Wrap(loggerFactory);
        _logger = _loggerFactory.CreateLogger("Virtualization.Core");
        if (runner is null)
        {
            Core.Vmm.ProcessWideSetup.TryPrepare(_logger);
        }

        _cids = new CidAllocator(
            _options.CidNamespace,
            _options.FirstGuestCid,
            _options.LastGuestCid,
            Path.Combine(Path.GetFullPath(_options.TemporaryDirectory), CidAllocator.CursorFileName),
            _logger);
    }

    /// <summary>The settings this service runs with (a copy of those it was given; changing it has no effect).</summary>
    public VirtualizationServiceOptions Options => _options with { };

    /// <summary>
    /// The VMM this service runs: <see cref="VirtualizationServiceOptions.Vmm"/>, or for <see cref="VmmKind.Auto"/>
    /// what it resolved to when the service was built (crosvm when found and KVM is usable, else QEMU).
    /// </summary>
    public VmmKind Vmm { get; }

    /// <summary>The telemetry tags of this service's measurements.</summary>
    internal TagList Tags => _tags;

    /// <inheritdoc/>
    public async Task<IVirtualMachine> CreateVmAsync(
        VirtualMachineConfig config,
        Stream? consoleOutput = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        if (config is not VirtualMachineRawConfig raw)
        {
            throw new VirtualMachineConfigException(nameof(config), $"{config.GetType().Name} is not supported; use VirtualMachineRawConfig.");
        }

        if (consoleOutput is { CanWrite: false })
        {
            throw new ArgumentException("The console output stream must be writable.", nameof(consoleOutput));
        }

        // Everything is validated before anything is reserved: bad input leaves nothing behind.
        VirtualMachineRawConfig validated = ConfigValidator.Validate(raw, _runner.MaxParamsLength, out CompositeDiskPlan?[] plans);
        _runner.Validate(validated);
        Payload.PayloadOptionsValidator.Validate(validated.PayloadChannel);

        using Activity? activity = VirtualizationTelemetry.StartActivity("virtualization.vm.create", null, _runner.Name);

        // The root holds the CID cursor and the VM folders: it is checked before either is used.
        string root = OpenTemporaryRoot();
        CidLease lease = await _cids.AllocateAsync(cancellationToken).ConfigureAwait(false);
        activity?.SetTag(VirtualizationTelemetry.CidTag, lease.Cid);
        string? folder = null;
        try
        {
            folder = CreateVmFolder(root, lease.Cid);
            VmmDisk[] disks = await _runner.PrepareDisksAsync(validated, plans, folder, cancellationToken).ConfigureAwait(false);
            ILogger logger = new VmLogger(_loggerFactory.CreateLogger("Virtualization.Core.VirtualMachine"), lease.Cid);
            var launch = new VmmLaunchRequest(lease.Cid, validated, disks, folder, consoleOutput, logger)
            {
                Console = new GuestConsole(consoleOutput, logger, new VmLogger(_loggerFactory.CreateLogger(ConsoleLog.LineCategory), lease.Cid), lease.Cid),
            };
            var vm = new VmInstance(this, _runner, launch, lease, _options, _vsock, logger);
            lock (_gate)
            {
                ThrowIfDisposed();
                _vms.Add(vm, _created++);
            }

            VirtualizationTelemetry.Created.Add(1, _tags);
            Log.VmCreated(vm.Logger, folder);
            return vm;
        }
        catch (Exception e)
        {
            VirtualizationTelemetry.Fail(activity, e);
            if (folder is not null)
            {
                TryDeleteFolder(folder);
            }

            lease.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<VirtualMachineDebugInfo> DebugListVms()
    {
        KeyValuePair<VmInstance, long>[] vms;
        lock (_gate)
        {
            vms = [.. _vms];
        }

        return [.. vms.OrderBy(vm => vm.Key.Cid).ThenBy(vm => vm.Value).Select(vm => vm.Key.DebugInfo)];
    }

    /// <summary>
    /// Stops every VM this service holds, all at once: each gracefully (crosvm <c>stop</c>, QEMU power-down), killed when it
    /// has not exited within <see cref="VirtualizationServiceOptions.StopGracePeriod"/> or as soon as
    /// <paramref name="cancellationToken"/> fires. Completes when every one is dead and cleaned up. The service stays usable.
    /// </summary>
    /// <param name="cancellationToken">Ends the grace period early: the VMs still running are killed (the call still waits for their deaths).</param>
    /// <returns>A task that completes when no VM of this service is running.</returns>
    public Task StopAllAsync(CancellationToken cancellationToken = default) =>
        Task.WhenAll(Snapshot(markDisposed: false).Select(vm => vm.StopAsync(cancellationToken)));

    /// <summary>Stops every VM (gracefully, then killing after the grace period) and waits until none is left.</summary>
    /// <returns>A task that completes when every VM is dead, cleaned up and disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        VmInstance[] vms = Snapshot(markDisposed: true);
        await Task.WhenAll(vms.Select(vm => vm.StopAsync())).ConfigureAwait(false);
        await Task.WhenAll(vms.Select(vm => vm.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    /// <summary>
    /// The synchronous way out, for containers that only call <see cref="IDisposable.Dispose"/>: kills every VM at once
    /// (SIGKILL to each VMM's process group, no graceful stop) and returns without waiting for their deaths to be
    /// processed, so it never blocks on asynchronous work and cannot deadlock on a synchronization context. The VMMs die
    /// right away; each VM's folder and CID are released moments later by its own monitor. Prefer
    /// <see cref="DisposeAsync"/> (or, in a host, let the hosted service stop the VMs gracefully first).
    /// </summary>
    public void Dispose()
    {
        foreach (VmInstance vm in Snapshot(markDisposed: true))
        {
            vm.MarkDisposedAndKill();
        }
    }

    /// <summary>How many CIDs this service holds now (tests check that none leak).</summary>
    internal int HeldCidCount => _cids.HeldCount;

    /// <summary>Called by a VM when it is disposed: removes that VM (not another one that has its CID now). Idempotent.</summary>
    internal void Forget(VmInstance vm)
    {
        lock (_gate)
        {
            _vms.Remove(vm);
        }
    }

    private static IVmmRunner CreateRunner(VirtualizationServiceOptions options, VmmKind vmm, bool found) => vmm switch
    {
        VmmKind.Crosvm => new CrosvmRunner(options.CrosvmPath),
        _ => new Qemu.QemuRunner(options.QemuPath, options.Acceleration, options.StopGracePeriod)
        {
            NotFoundHint = found ? null : VmmSelection.InstallHint,
        },
    };

    private VmInstance[] Snapshot(bool markDisposed)
    {
        lock (_gate)
        {
            _disposed |= markDisposed;
            return [.. _vms.Keys];
        }
    }

    /// <summary>
    /// The temporary root, created (0700) if missing; refused if it is a link or another user's; tightened to 0700 if
    /// others could enter it.
    /// </summary>
    /// <exception cref="UnsafeDirectoryException">The root is a symbolic link, not a directory, or not ours.</exception>
    private string OpenTemporaryRoot()
    {
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.TemporaryDirectory));
        if (PrivateDirectory.Ensure(root) is { } loosened)
        {
            Log.TemporaryDirectoryTightened(_logger, root, "0" + Convert.ToString(loosened, 8));
        }

        return root;
    }

    /// <summary>Creates <c>vm-&lt;cid&gt;</c> (0700) in the checked root.</summary>
    private string CreateVmFolder(string root, int cid)
    {
        string folder = Path.Combine(root, "vm-" + cid.ToString(CultureInfo.InvariantCulture));

        // We hold the CID, so anything of that name was left by a VM whose process died: reclaim it, without following a
        // link that might be there.
        if (PrivateDirectory.RemoveLeftover(folder))
        {
            Log.LeftoverVmFolderRemoved(_logger, cid, folder);
        }

        PrivateDirectory.CreateNew(folder);
        return folder;
    }

    private void TryDeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException e)
        {
            Log.TemporaryDirectoryNotDeleted(_logger, folder, e);
        }
        catch (UnauthorizedAccessException e)
        {
            Log.TemporaryDirectoryNotDeleted(_logger, folder, e);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
