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
/// Creates and tracks virtual machines run by a VMM process (crosvm or QEMU, see <see cref="VirtualizationServiceOptions.Vmm"/>). Thread-safe. Dispose it to stop every VM it
/// created.
/// </summary>
/// <example>
/// <code>
/// await using var service = new VirtualizationService();
/// await using IVirtualMachine vm = await service.CreateVmAsync(
///     new VirtualMachineRawConfig { Kernel = "vmlinuz", Initrd = "initramfs.cpio.gz", Params = "quiet" },
///     Console.OpenStandardOutput());
/// await vm.StartAsync();
/// DeathReason reason = await vm.WaitForDeathAsync();
/// </code>
/// </example>
public sealed class VirtualizationService : IVirtualizationService
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
    {
        _vsock = vsock;
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Virtualization.Core runs VMs on Linux hosts only.");
        }

        _options = options ?? new VirtualizationServiceOptions();
        ValidateOptions(_options);
        _runner = CreateRunner(_options);
        _runner.CheckSocketPaths(Path.Combine(Path.GetFullPath(_options.TemporaryDirectory), "vm-" + _options.LastGuestCid));
        _loggerFactory = SafeLoggerFactory.Wrap(loggerFactory);
        _logger = _loggerFactory.CreateLogger("Virtualization.Core");
        _cids = new CidAllocator(
            _options.CidNamespace,
            _options.FirstGuestCid,
            _options.LastGuestCid,
            Path.Combine(Path.GetFullPath(_options.TemporaryDirectory), CidAllocator.CursorFileName),
            _logger);
    }

    /// <summary>The settings this service runs with.</summary>
    public VirtualizationServiceOptions Options => _options;

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

        // The root holds the CID cursor and the VM folders: it is checked before either is used.
        string root = OpenTemporaryRoot();
        CidLease lease = await _cids.AllocateAsync(cancellationToken).ConfigureAwait(false);
        string? folder = null;
        try
        {
            folder = CreateVmFolder(root, lease.Cid);
            VmmDisk[] disks = await _runner.PrepareDisksAsync(validated, plans, folder, cancellationToken).ConfigureAwait(false);
            ILogger logger = _loggerFactory.CreateLogger("Virtualization.Core.VirtualMachine");
            var launch = new VmmLaunchRequest(lease.Cid, validated, disks, folder, consoleOutput, logger)
            {
                Console = new GuestConsole(consoleOutput, logger, _loggerFactory.CreateLogger(ConsoleLog.LineCategory), lease.Cid),
            };
            var vm = new VmInstance(this, _runner, launch, lease, _options, _vsock, logger);
            lock (_gate)
            {
                ThrowIfDisposed();
                _vms.Add(vm, _created++);
            }

            Log.VmCreated(_logger, vm.Cid, folder);
            return vm;
        }
        catch
        {
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

    /// <summary>Stops every VM (gracefully, then killing after the grace period) and waits until none is left.</summary>
    public async ValueTask DisposeAsync()
    {
        VmInstance[] vms;
        lock (_gate)
        {
            _disposed = true;
            vms = [.. _vms.Keys];
        }

        await Task.WhenAll(vms.Select(vm => vm.StopAsync())).ConfigureAwait(false);
        await Task.WhenAll(vms.Select(vm => vm.DisposeAsync().AsTask())).ConfigureAwait(false);
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

    private static IVmmRunner CreateRunner(VirtualizationServiceOptions options) => options.Vmm switch
    {
        VmmKind.Crosvm => new CrosvmRunner(options.CrosvmPath),
        VmmKind.Qemu => new Qemu.QemuRunner(options.QemuPath, options.Acceleration, options.StopGracePeriod),
        _ => throw new ArgumentException($"Unknown VMM {options.Vmm}.", nameof(options)),
    };

    private static void ValidateOptions(VirtualizationServiceOptions options)
    {
        // CIDs 0-2 are the hypervisor, local and host; u32 max is "any".
        if (options.FirstGuestCid < 3 || options.LastGuestCid < options.FirstGuestCid)
        {
            throw new ArgumentException(
                $"Guest CIDs must satisfy 3 <= FirstGuestCid <= LastGuestCid (got {options.FirstGuestCid}..{options.LastGuestCid}).",
                nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.CrosvmPath) || string.IsNullOrWhiteSpace(options.QemuPath))
        {
            throw new ArgumentException("CrosvmPath and QemuPath must name executables.", nameof(options));
        }

        if (options.StopGracePeriod < TimeSpan.Zero || options.StartTimeout <= TimeSpan.Zero || options.VsockConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                "StopGracePeriod must not be negative; StartTimeout and VsockConnectTimeout must be positive.", nameof(options));
        }

        if (!Payload.PayloadOptionsValidator.IsValidTimeout(options.PayloadStartTimeout))
        {
            throw new ArgumentException(
                "PayloadStartTimeout must be positive (at most int.MaxValue ms) or Timeout.InfiniteTimeSpan.", nameof(options));
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
            Log.TemporaryDirectoryNotDeleted(_logger, -1, folder, e);
        }
        catch (UnauthorizedAccessException e)
        {
            Log.TemporaryDirectoryNotDeleted(_logger, -1, folder, e);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
