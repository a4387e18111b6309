using Virtualization.Core.Tests.Infrastructure;
using System.Diagnostics;
using System.Net.Sockets;
using Virtualization.Core.Vsock;
using static Virtualization.Core.Tests.Vsock.VsockTestSupport;

namespace Virtualization.Core.Tests.Vsock;

/// <summary>Scale and leak checks; alone in their collection because they count process-wide fds and threads.</summary>
[Collection(ProcessWideCounts.Name)]
public sealed class ResourceTests : IDisposable
{
    private const int Concurrency = 200;
    private readonly string _dir = NewSocketDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact(Timeout = 20000)]
    public async Task TwoHundredConcurrentConnections_CompleteWithoutStarvingThePool()
    {
        NativeAddress address = NativeAddress.ForUnix(Path.Combine(_dir, "many.sock"));
        await using NativeListener listener = NativeListener.Start(address, backlog: 512);
        int threadsBefore = ThreadPool.ThreadCount;

        Task acceptLoop = Task.Run(async () =>
        {
            var handlers = new List<Task>();
            for (int i = 0; i < Concurrency; i++)
            {
                Socket accepted = await listener.AcceptAsync(CancellationToken.None);
                handlers.Add(Task.Run(async () =>
                {
                    using (accepted)
                    {
                        byte[] buffer = new byte[4];
                        int read = 0;
                        while (read < 4)
                        {
                            read += await accepted.ReceiveAsync(buffer.AsMemory(read));
                        }

                        await accepted.SendAsync(buffer);
                    }
                }));
            }

            await Task.WhenAll(handlers);
        });

        // All 200 clients connect first and wait together on the server's reply, so 200 reads pend at once.
        using var release = new CancellationTokenSource();
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int connectedCount = 0;
        Task<int>[] clients = Enumerable.Range(0, Concurrency).Select(async i =>
        {
            await using NetworkStream stream = await NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(10), CancellationToken.None);
            if (Interlocked.Increment(ref connectedCount) == Concurrency)
            {
                connected.SetResult();
            }

            await connected.Task;
            await stream.WriteAsync(BitConverter.GetBytes(i));
            byte[] echo = new byte[4];
            await stream.ReadExactlyAsync(echo);
            return BitConverter.ToInt32(echo);
        }).ToArray();

        await connected.Task;
        // While 200 connections are open and being served, the pool still runs new work (no thread is blocked per connection).
        await Task.Run(() => { });

        int[] echoed = await Task.WhenAll(clients);
        await acceptLoop;

        echoed.Should().Equal(Enumerable.Range(0, Concurrency));
        (ThreadPool.ThreadCount - threadsBefore).Should().BeLessThan(
            16, "no thread is held per connection (before: {0}, after: {1})", threadsBefore, ThreadPool.ThreadCount);
    }

    [Fact(Timeout = 20000)]
    public async Task TwoHundredPendingAcceptsAndConnects_HoldNoThreads()
    {
        var listeners = new List<NativeListener>();
        var cts = new CancellationTokenSource();
        await using FullBacklogTcpTarget target = await FullBacklogTcpTarget.CreateAsync();
        int threadsBefore = ThreadPool.ThreadCount;
        try
        {
            var accepts = new List<Task>();
            var connects = new List<Task>();
            for (int i = 0; i < Concurrency; i++)
            {
                NativeListener listener = NativeListener.Start(NativeAddress.ForUnix(Path.Combine(_dir, $"p{i}.sock")), backlog: 1);
                listeners.Add(listener);
                accepts.Add(listener.AcceptAsync(cts.Token));
                connects.Add(NativeSockets.ConnectAsync(target.Address, Timeout.InfiniteTimeSpan, cts.Token));
            }

            await Task.Run(() => { }); // Runs although 400 operations pend: they occupy no pool thread.
            accepts.Should().OnlyContain(t => !t.IsCompleted);
            connects.Should().OnlyContain(t => !t.IsCompleted);

            await cts.CancelAsync();
            foreach (Task task in accepts.Concat(connects))
            {
                await task.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
            }

            (ThreadPool.ThreadCount - threadsBefore).Should().BeLessThan(16);
        }
        finally
        {
            foreach (NativeListener listener in listeners)
            {
                await listener.DisposeAsync();
            }

            cts.Dispose();
        }
    }

    [Fact(Timeout = 30000)]
    public async Task Descriptors_AcrossSuccessErrorCancellationAndDisposal_DoNotLeak()
    {
        await RunEveryPathOnce(0); // warm-up: the socket engine opens its epoll descriptors on first use
        string[] before = ListOpenFds();

        for (int round = 1; round <= 10; round++)
        {
            await RunEveryPathOnce(round);
        }

        string[] after = ListOpenFds();
        before.Should().Contain(e => e.Contains("socket:", StringComparison.Ordinal), "the listing sees sockets");

        // Only sockets are this layer's: pipes and files of other tests' processes may come and go meanwhile.
        string[] newSockets = [.. after.Except(before).Where(e => e.Contains("socket:", StringComparison.Ordinal))];
        newSockets.Should().BeEmpty("no socket may outlive its operation (gone meanwhile: [{0}])", string.Join(", ", before.Except(after)));
    }

    private async Task RunEveryPathOnce(int round)
    {
        NativeAddress address = NativeAddress.ForUnix(Path.Combine(_dir, $"leak{round}.sock"));

        // Success: connect, accept, echo, dispose.
        await using (NativeListener listener = NativeListener.Start(address, backlog: 4))
        {
            Task<Socket> accept = listener.AcceptAsync(CancellationToken.None);
            await using (NetworkStream client = await NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None))
            using (Socket accepted = await accept)
            {
                await client.WriteAsync(new byte[] { 1 });
                (await accepted.ReceiveAsync(new byte[1])).Should().Be(1);
            }

            // Cancelled accept.
            using var cts = new CancellationTokenSource();
            Task<Socket> cancelled = listener.AcceptAsync(cts.Token);
            await cts.CancelAsync();
            await cancelled.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();

            // Accept pending at disposal.
            Task<Socket> orphan = listener.AcceptAsync(CancellationToken.None);
            await listener.DisposeAsync();
            await orphan.Invoking(t => t).Should().ThrowAsync<ObjectDisposedException>();
        }

        // Refused (the socket file remains), and missing file.
        await FluentActions.Invoking(() => NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None))
            .Should().ThrowAsync<VsockException>();
        await FluentActions.Invoking(() => NativeSockets.ConnectAsync(NativeAddress.ForUnix(Path.Combine(_dir, "none.sock")), TimeSpan.FromSeconds(5), CancellationToken.None))
            .Should().ThrowAsync<VsockException>();

        // Timed out and cancelled connects.
        await using (FullBacklogTcpTarget target = await FullBacklogTcpTarget.CreateAsync())
        {
            using var cts = new CancellationTokenSource();
            Task<NetworkStream> connect = NativeSockets.ConnectAsync(target.Address, Timeout.InfiniteTimeSpan, cts.Token);
            await cts.CancelAsync();
            await connect.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        }

        // Real vsock: listener, pending accept cancelled, disposal; the local CID ioctl.
        if (VsockAvailable(out _))
        {
            await using VsockListener vsock = VsockListener.Start(VsockEndPoint.AnyPort);
            using var cts = new CancellationTokenSource();
            Task<VsockConnection> accept = vsock.AcceptAsync(cts.Token);
            await cts.CancelAsync();
            await accept.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
            VsockEndPoint.GetLocalCid();
        }
    }
}
