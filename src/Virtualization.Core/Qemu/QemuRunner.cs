using Microsoft.Extensions.Logging;
using Virtualization.Core.Disks;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Qemu;

/// <summary>Runs VMs under QEMU (<c>microvm</c>), behind the same abstraction as crosvm.</summary>
internal sealed partial class QemuRunner : VmmRunner
{
    private const string KvmDevice = "/dev/kvm";
    private const string VhostVsockDevice = "/dev/vhost-vsock";
    private static readonly string[] s_socketNames = [QemuCommandLine.QmpSocketName];
    private readonly VmAcceleration _acceleration;
    private readonly TimeSpan _stopGracePeriod;

    internal QemuRunner(string qemuPath, VmAcceleration acceleration, TimeSpan stopGracePeriod)
        : base(qemuPath)
    {
        _acceleration = acceleration;
        _stopGracePeriod = stopGracePeriod;
    }

    /// <inheritdoc/>
    public override string Name => "qemu";

    /// <summary>Linux's x86 command line limit is 2048 bytes; <c>console=ttyS0 panic=-1 </c> is prepended.</summary>
    public override int MaxParamsLength => 2048 - 64;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SocketNames => s_socketNames;

    /// <summary>Whether <c>/dev/kvm</c> opens for reading and writing (which does not prove that KVM guests run: nested KVM may hang).</summary>
    internal static bool KvmUsable() => KvmUsable(KvmDevice);

    /// <summary>Whether <paramref name="device"/> opens for reading and writing.</summary>
    internal static bool KvmUsable(string device)
    {
        try
        {
            using var kvm = File.Open(device, FileMode.Open, FileAccess.ReadWrite);
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
    public override void Validate(VirtualMachineRawConfig config)
    {
        if (config.Protected)
        {
            throw new VirtualMachineConfigException(nameof(config.Protected), "protected VMs need crosvm with pKVM; QEMU cannot run them.");
        }

        if (config.PayloadChannel is { Transport: PayloadTransport.Vsock } && !VhostVsockAvailable())
        {
            throw new VirtualMachineConfigException(
                "PayloadChannel.Transport",
                $"the vsock transport needs {VhostVsockDevice} on the host (sudo modprobe vhost_vsock); without it QEMU gives the guest no vsock device. Use PayloadTransport.Serial.");
        }

        for (int i = 0; i < config.Disks.Count; i++)
        {
            if (config.Disks[i].Partitions.FirstOrDefault(p => p.Writable) is { } writable)
            {
                throw new VirtualMachineConfigException(
                    $"Disks[{i}].Partitions",
                    $"partition '{writable.Label}' is writable, but QEMU cannot read composite disks, so partitions are copied into one "
                    + "raw image and writes would be lost. Use crosvm, or make the partition read-only.");
            }
        }
    }

    /// <inheritdoc/>
    protected override async Task<string> WritePartitionedDiskAsync(CompositeDiskPlan plan, string folder, string index, CancellationToken cancellationToken)
    {
        RawGptImageResult image = await RawGptImageWriter.WriteAsync(plan, folder, $"disk-{index}.img", null, cancellationToken).ConfigureAwait(false);
        return image.ImagePath;
    }

    /// <inheritdoc/>
    protected override List<string> BuildArguments(VmmLaunchRequest request)
    {
        bool useKvm = _acceleration switch
        {
            VmAcceleration.Kvm => true,
            VmAcceleration.Tcg => false,
            _ => KvmUsable(),
        };
        bool withVsock = VhostVsockAvailable();
        if (!withVsock)
        {
            LogNoVsock(request.Logger);
        }

        return QemuCommandLine.Build(request, useKvm, withVsock);
    }

    /// <inheritdoc/>
    protected override IVmmProcess CreateProcess(VmmChildProcess child, string executable, VmmLaunchRequest request) =>
        new QemuProcess(child, Path.Combine(request.TemporaryDirectory, QemuCommandLine.QmpSocketName), _stopGracePeriod, request.GuestMemoryBytes);

    [LoggerMessage(100, LogLevel.Warning, "/dev/vhost-vsock is missing (load vhost_vsock), so the guest gets no vsock device and ConnectVsockAsync will not reach it")]
    private static partial void LogNoVsock(ILogger logger);
}
