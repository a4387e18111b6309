using Microsoft.Extensions.Logging;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Qemu;

/// <summary>Runs VMs under QEMU (<c>microvm</c>), behind the same abstraction as crosvm.</summary>
internal sealed partial class QemuRunner : IVmmRunner
{
    private const string KvmDevice = "/dev/kvm";
    private const string VhostVsockDevice = "/dev/vhost-vsock";
    private readonly string _qemuPath;
    private readonly VmAcceleration _acceleration;
    private readonly TimeSpan _stopGracePeriod;

    internal QemuRunner(string qemuPath, VmAcceleration acceleration, TimeSpan stopGracePeriod)
    {
        _qemuPath = qemuPath;
        _acceleration = acceleration;
        _stopGracePeriod = stopGracePeriod;
    }

    /// <inheritdoc/>
    public bool ReadsCompositeDisks => false;

    /// <inheritdoc/>
    public string Name => "qemu";

    /// <summary>Linux's x86 command line limit is 2048 bytes; <c>console=ttyS0 panic=-1 </c> is prepended.</summary>
    public int MaxParamsLength => 2048 - 64;

    /// <summary>Whether <c>/dev/kvm</c> opens for reading and writing (which does not prove that KVM guests run: nested KVM may hang).</summary>
    internal static bool KvmUsable()
    {
        try
        {
            using var kvm = File.Open(KvmDevice, FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Whether the host can give guests a vsock device.</summary>
    internal static bool VhostVsockAvailable() => File.Exists(VhostVsockDevice);

    /// <inheritdoc/>
    public void Validate(VirtualMachineRawConfig config)
    {
        if (config.Protected)
        {
            throw new VirtualMachineConfigException(nameof(config.Protected), "protected VMs need crosvm with pKVM; QEMU cannot run them.");
        }

        for (int i = 0; i < config.Disks.Count; i++)
        {
            if (config.Disks[i].Partitions.FirstOrDefault(p => p.Writable) is { } writable)
            {
                throw new NotSupportedException(
                    $"Disks[{i}]: partition '{writable.Label}' is writable, but QEMU cannot read composite disks, so partitions are "
                    + "copied into one raw image and writes would be lost. Use crosvm, or make the partition read-only.");
            }
        }
    }

    /// <inheritdoc/>
    public async Task<IVmmProcess> LaunchAsync(VmmLaunchRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool useKvm = _acceleration switch
        {
            VmAcceleration.Kvm => true,
            VmAcceleration.Tcg => false,
            _ => KvmUsable(),
        };
        bool withVsock = VhostVsockAvailable();
        if (!withVsock)
        {
            LogNoVsock(request.Logger, request.Cid);
        }

        string qmp = Path.Combine(request.TemporaryDirectory, QemuCommandLine.QmpSocketName);
        File.Delete(qmp);
        List<string> args = QemuCommandLine.Build(request, useKvm, withVsock);
        VmmChildProcess child = await VmmChildProcess.StartAsync(ExecutableResolver.Resolve(_qemuPath), args, request.ConsoleOutput, request.Logger, request.Cid)
            .ConfigureAwait(false);
        return new QemuProcess(child, qmp, _stopGracePeriod);
    }

    [LoggerMessage(100, LogLevel.Warning, "CID {Cid}: /dev/vhost-vsock is missing (load vhost_vsock), so the guest gets no vsock device and ConnectVsockAsync will not reach it")]
    private static partial void LogNoVsock(ILogger logger, int cid);
}
