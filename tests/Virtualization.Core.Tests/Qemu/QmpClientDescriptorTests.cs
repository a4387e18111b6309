using System.Net.Sockets;
using Virtualization.Core.Qemu;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>
/// <see cref="QmpClient.TryConnectAsync"/> is the QEMU readiness probe, run every few milliseconds while QEMU starts: a
/// refused probe must close its socket at once, not leave it to the finalizer. Counts this process's descriptors, so it
/// runs alone.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class QmpClientDescriptorTests
{
    [Fact(Timeout = 60_000)]
    public async Task TryConnectAsync_Refused_ClosesItsSocket()
    {
        const int Probes = 100;
        await using var server = new ScriptedQmpServer();
        string path = Path.Combine(server.Folder, "bound.sock");
        using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bound.Bind(new UnixDomainSocketEndPoint(path)); // bound, never listening: every connect is refused
        (await QmpClient.TryConnectAsync(path, CancellationToken.None)).Should().BeNull(); // first-call set-up out of the count
        int before = ProcessProbe.OpenFileDescriptors();
        int after;

        // No garbage collection during the count: a leaked socket's finalizer would close it and hide the leak.
        bool noGc = GC.TryStartNoGCRegion(16 << 20);
        try
        {
            for (int i = 0; i < Probes; i++)
            {
                (await QmpClient.TryConnectAsync(path, CancellationToken.None)).Should().BeNull();
            }

            after = ProcessProbe.OpenFileDescriptors();
        }
        finally
        {
            if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }

        noGc.Should().BeTrue("the count needs the collector held off");
        after.Should().BeLessThan(before + (Probes / 2), $"each of {Probes} refused probes closes its socket");
    }
}
