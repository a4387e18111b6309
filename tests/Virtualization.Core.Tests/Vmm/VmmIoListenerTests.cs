using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// The process-wide stderr/console listener, driven by this test connecting to its abstract socket itself (so the
/// peer's pid, from SO_PEERCRED, is this process's) or by <see cref="VmmIoListener.Launch.Offer"/> directly.
/// </summary>
public sealed class VmmIoListenerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly Task Never = new TaskCompletionSource().Task;
    private static readonly int Me = Environment.ProcessId;

    private static async Task<Socket> ConnectAsync()
    {
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await client.ConnectAsync(new UnixDomainSocketEndPoint("\0" + VmmIoListener.Name));
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static byte[] Header(char kind, string token) => [(byte)kind, .. Encoding.ASCII.GetBytes(token)];

    private static async Task<Socket> ConnectWithHeaderAsync(char kind, string token)
    {
        Socket client = await ConnectAsync();
        await client.SendAsync(Header(kind, token));
        return client;
    }

    /// <summary>Sends <paramref name="text"/> on <paramref name="from"/> and reads exactly that many bytes on <paramref name="to"/>.</summary>
    private static async Task<string> RoundTripAsync(Socket from, Socket to, string text)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        await from.SendAsync(bytes);
        byte[] received = new byte[bytes.Length];
        int read = 0;
        while (read < received.Length)
        {
            int n = await to.ReceiveAsync(received.AsMemory(read)).AsTask().WaitAsync(Bound);
            n.Should().BePositive("the other end must not close");
            read += n;
        }

        return Encoding.ASCII.GetString(received);
    }

    /// <summary>Waits for the listener's end of <paramref name="client"/> to close: end-of-file or a reset.</summary>
    private static async Task ShouldSeeEndOfFileAsync(Socket client)
    {
        byte[] buffer = new byte[16];
        int n;
        try
        {
            n = await client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Bound);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            n = 0;
        }

        n.Should().Be(0, "the listener closes the connection");
    }

    [Fact]
    public void Name_IsStable_AndNamesThisProcess()
    {
        string name = VmmIoListener.Name;

        VmmIoListener.Name.Should().Be(name);
        name.Should().MatchRegex($"^virtualization-core/io/{Me}/[0-9a-f]{{16}}$");
    }

    [Fact]
    public void Register_TokenIs32LowercaseHexDigits_DifferentEachTime_AndRegistered_UntilDisposed()
    {
        using VmmIoListener.Launch first = VmmIoListener.Register();
        VmmIoListener.Launch second = VmmIoListener.Register();

        first.Token.Should().MatchRegex("^[0-9a-f]{32}$");
        second.Token.Should().MatchRegex("^[0-9a-f]{32}$");
        second.Token.Should().NotBe(first.Token);
        VmmIoListener.IsRegistered(first.Token).Should().BeTrue();
        VmmIoListener.IsRegistered(second.Token).Should().BeTrue();

        second.Dispose();

        VmmIoListener.IsRegistered(second.Token).Should().BeFalse();
        VmmIoListener.IsRegistered(first.Token).Should().BeTrue();
    }

    [Theory(Timeout = 60_000)]
    [InlineData('E', false)]
    [InlineData('O', true)]
    public async Task WaitForAsync_ReturnsTheListenersEndOfTheConnection(char kind, bool console)
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        using Socket client = await ConnectWithHeaderAsync(kind, launch.Token);

        using Socket server = await launch.WaitForAsync(console, Me, Never, CancellationToken.None).WaitAsync(Bound);

        (await RoundTripAsync(client, server, "hello")).Should().Be("hello");
        (await RoundTripAsync(server, client, "back")).Should().Be("back");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_StartedBeforeTheConnection_WakesWhenItArrives()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        Task<Socket> wait = launch.WaitForAsync(false, Me, Never, CancellationToken.None);
        wait.IsCompleted.Should().BeFalse();

        using Socket client = await ConnectWithHeaderAsync('E', launch.Token);
        using Socket server = await wait.WaitAsync(Bound);

        (await RoundTripAsync(client, server, "late")).Should().Be("late");
    }

    [Fact(Timeout = 60_000)]
    public async Task Connection_HeaderInTwoPieces_IsAccepted()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        Task<Socket> wait = launch.WaitForAsync(true, Me, Never, CancellationToken.None);
        using Socket client = await ConnectAsync();
        byte[] header = Header('O', launch.Token);

        await client.SendAsync(header.AsMemory(0, 10));
        await Task.Yield();
        await client.SendAsync(header.AsMemory(10));
        using Socket server = await wait.WaitAsync(Bound);

        (await RoundTripAsync(client, server, "two")).Should().Be("two");
    }

    [Fact(Timeout = 60_000)]
    public async Task ConsoleAndStderr_GoToTheirOwnWaits_WhateverTheOrderOfArrival()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        using Socket console = await ConnectWithHeaderAsync('O', launch.Token);
        using Socket stderr = await ConnectWithHeaderAsync('E', launch.Token);

        using Socket stderrServer = await launch.WaitForAsync(false, Me, Never, CancellationToken.None).WaitAsync(Bound);
        using Socket consoleServer = await launch.WaitForAsync(true, Me, Never, CancellationToken.None).WaitAsync(Bound);

        (await RoundTripAsync(stderr, stderrServer, "err")).Should().Be("err");
        (await RoundTripAsync(console, consoleServer, "out")).Should().Be("out");
    }

    [Theory(Timeout = 60_000)]
    [InlineData('X')]
    [InlineData('e')]
    public async Task Connection_UnknownKind_IsClosed_AndTheWaitGoesOn(char kind)
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        Task<Socket> stderrWait = launch.WaitForAsync(false, Me, Never, CancellationToken.None);
        Task<Socket> consoleWait = launch.WaitForAsync(true, Me, Never, CancellationToken.None);
        using Socket bad = await ConnectWithHeaderAsync(kind, launch.Token);

        await ShouldSeeEndOfFileAsync(bad);
        stderrWait.IsCompleted.Should().BeFalse();
        consoleWait.IsCompleted.Should().BeFalse();

        using Socket good = await ConnectWithHeaderAsync('E', launch.Token);
        using Socket server = await stderrWait.WaitAsync(Bound);
        (await RoundTripAsync(good, server, "ok")).Should().Be("ok");
    }

    [Fact(Timeout = 60_000)]
    public async Task Connection_UnknownToken_IsClosed()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        Task<Socket> wait = launch.WaitForAsync(false, Me, Never, CancellationToken.None);
        string other = launch.Token[..31] + (launch.Token[31] == '0' ? '1' : '0');
        using Socket bad = await ConnectWithHeaderAsync('E', other);

        await ShouldSeeEndOfFileAsync(bad);
        wait.IsCompleted.Should().BeFalse();
    }

    [Fact(Timeout = 60_000)]
    public async Task Connection_ClosedAfterFiveBytes_IsDropped()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        Task<Socket> wait = launch.WaitForAsync(false, Me, Never, CancellationToken.None);
        using Socket partial = await ConnectAsync();
        await partial.SendAsync(Header('E', launch.Token).AsMemory(0, 5));
        partial.Shutdown(SocketShutdown.Send);

        await ShouldSeeEndOfFileAsync(partial);
        wait.IsCompleted.Should().BeFalse();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_ConnectionOfAnotherPid_IsClosed_AndTheWaitGoesOn()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        int helper = Me + 1;
        Task<Socket> wait = launch.WaitForAsync(false, helper, Never, CancellationToken.None);
        using Socket impostor = await ConnectWithHeaderAsync('E', launch.Token);

        await ShouldSeeEndOfFileAsync(impostor);
        wait.IsCompleted.Should().BeFalse();

        using var pair = UnixSocketPair.Create();
        launch.Offer(false, pair.Local, helper).Should().BeTrue();
        (await wait.WaitAsync(Bound)).Should().BeSameAs(pair.Local);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_ImpostorOfferedFirst_IsClosed_AndTheRightOneBehindIt_IsReturnedAtOnce()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        using var impostor = UnixSocketPair.Create();
        using var right = UnixSocketPair.Create();
        launch.Offer(false, impostor.Local, 4242).Should().BeTrue();
        launch.Offer(false, right.Local, 77).Should().BeTrue();

        Task<Socket> wait = launch.WaitForAsync(false, 77, Never, CancellationToken.None);

        wait.IsCompletedSuccessfully.Should().BeTrue();
        (await wait).Should().BeSameAs(right.Local);
        impostor.Local.SafeHandle.IsClosed.Should().BeTrue();
        right.Local.SafeHandle.IsClosed.Should().BeFalse();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_OtherKind_IsLeftForItsOwnWait()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        using var console = UnixSocketPair.Create();
        using var stderr = UnixSocketPair.Create();
        launch.Offer(true, console.Local, 77).Should().BeTrue();
        launch.Offer(false, stderr.Local, 77).Should().BeTrue();

        Task<Socket> stderrWait = launch.WaitForAsync(false, 77, Never, CancellationToken.None);
        Task<Socket> consoleWait = launch.WaitForAsync(true, 77, Never, CancellationToken.None);

        stderrWait.IsCompletedSuccessfully.Should().BeTrue();
        consoleWait.IsCompletedSuccessfully.Should().BeTrue();
        (await stderrWait).Should().BeSameAs(stderr.Local);
        (await consoleWait).Should().BeSameAs(console.Local);
        console.Local.SafeHandle.IsClosed.Should().BeFalse();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_ATakenConnection_IsTakenOnce_AndNotClosedByDispose()
    {
        VmmIoListener.Launch launch = VmmIoListener.Register();
        using var pair = UnixSocketPair.Create();
        launch.Offer(false, pair.Local, 77).Should().BeTrue();

        Task<Socket> first = launch.WaitForAsync(false, 77, Never, CancellationToken.None);
        first.IsCompletedSuccessfully.Should().BeTrue();
        (await first).Should().BeSameAs(pair.Local);
        using var cts = new CancellationTokenSource();
        Task<Socket> again = launch.WaitForAsync(false, 77, Never, cts.Token);
        again.IsCompleted.Should().BeFalse();
        launch.Dispose();

        pair.Local.SafeHandle.IsClosed.Should().BeFalse();
        await cts.CancelAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_GiveUpBeforeAnyConnection_ThrowsWithTheMessage()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        var giveUp = new TaskCompletionSource();
        using var bound = new CancellationTokenSource(Bound);
        Task<Socket> wait = launch.WaitForAsync(false, Me, giveUp.Task, bound.Token);
        wait.IsCompleted.Should().BeFalse();

        giveUp.SetResult();

        Func<Task> act = () => wait;
        (await act.Should().ThrowExactlyAsync<OperationCanceledException>()).WithMessage("The helper exited before it connected.");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_GiveUpAlreadyDone_AfterAnImpostorArrived_StillThrowsWithTheMessage()
    {
        // The impostor's arrival completed the arrival signal; the wait must renew it, or it would never see the give-up.
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        using var impostor = UnixSocketPair.Create();
        launch.Offer(false, impostor.Local, 4242).Should().BeTrue();
        using var bound = new CancellationTokenSource(Bound);

        Func<Task> act = () => launch.WaitForAsync(false, 77, Task.CompletedTask, bound.Token);

        (await act.Should().ThrowExactlyAsync<OperationCanceledException>()).WithMessage("The helper exited before it connected.");
        impostor.Local.SafeHandle.IsClosed.Should().BeTrue();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_Cancelled_Throws()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        using var cts = new CancellationTokenSource();
        Task<Socket> wait = launch.WaitForAsync(true, Me, Never, cts.Token);
        wait.IsCompleted.Should().BeFalse();

        await cts.CancelAsync();

        Func<Task> act = () => wait.WaitAsync(Bound);
        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_AfterDispose_ThrowsObjectDisposed()
    {
        VmmIoListener.Launch launch = VmmIoListener.Register();
        launch.Dispose();

        Func<Task> act = () => launch.WaitForAsync(false, Me, Task.CompletedTask, CancellationToken.None);

        await act.Should().ThrowExactlyAsync<ObjectDisposedException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task Dispose_ClosesAnOfferedConnectionNobodyTook()
    {
        VmmIoListener.Launch launch = VmmIoListener.Register();
        using var pair = UnixSocketPair.Create();
        launch.Offer(true, pair.Local, Me).Should().BeTrue();

        launch.Dispose();

        pair.Local.SafeHandle.IsClosed.Should().BeTrue();
        await ShouldSeeEndOfFileAsync(pair.Remote);
    }

    [Fact(Timeout = 60_000)]
    public async Task Dispose_AConnectionArrivingAfterwards_IsClosed()
    {
        VmmIoListener.Launch launch = VmmIoListener.Register();
        launch.Dispose();

        using Socket late = await ConnectWithHeaderAsync('E', launch.Token);

        await ShouldSeeEndOfFileAsync(late);
    }

    [Fact]
    public void Offer_AfterDispose_IsRefused()
    {
        VmmIoListener.Launch launch = VmmIoListener.Register();
        launch.Dispose();
        using var pair = UnixSocketPair.Create();

        launch.Offer(false, pair.Local, Me).Should().BeFalse();
        pair.Local.SafeHandle.IsClosed.Should().BeFalse("a refused offer is the caller's to close");
    }

    [Fact]
    public void Offer_TakesEight_ThenRefuses()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        using var pair = UnixSocketPair.Create();

        var results = Enumerable.Range(0, 9).Select(_ => launch.Offer(true, pair.Local, 4242)).ToList();

        results.Should().Equal(true, true, true, true, true, true, true, true, false);
    }

    [Fact(Timeout = 60_000)]
    public async Task Listen_ServesANewAbstractSocket_NamedAfterThisProcess()
    {
        string name = VmmIoListener.Listen();

        name.Should().MatchRegex($"^virtualization-core/io/{Me}/[0-9a-f]{{16}}$");
        name.Should().NotBe(VmmIoListener.Name, "every call binds a new socket");
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint("\0" + name)).WaitAsync(Bound);
        await client.SendAsync(Header('E', new string('0', 32)));
        await ShouldSeeEndOfFileAsync(client); // served: an unknown token is dropped
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_ImpostorsItClosed_NoLongerCountAgainstTheEightOffers()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        var impostors = Enumerable.Range(0, 8).Select(_ => UnixSocketPair.Create()).ToList();
        try
        {
            impostors.Select(p => launch.Offer(false, p.Local, 4242)).ToList().Should().AllBeEquivalentTo(true);
            Task<Socket> wait = launch.WaitForAsync(false, 77, Never, CancellationToken.None);
            impostors.Should().OnlyContain(p => p.Local.SafeHandle.IsClosed);
            wait.IsCompleted.Should().BeFalse();

            using var right = UnixSocketPair.Create();
            launch.Offer(false, right.Local, 77).Should().BeTrue("the closed impostors were removed");
            (await wait.WaitAsync(Bound)).Should().BeSameAs(right.Local);
        }
        finally
        {
            impostors.ForEach(p => p.Dispose());
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForAsync_TheHelperGivesUpAsItsConnectionArrives_TheConnectionWins()
    {
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        using var right = UnixSocketPair.Create();
        var giveUp = new TaskCompletionSource(); // synchronous continuations, run in the order they were registered
        _ = giveUp.Task.ContinueWith(
            _ => launch.Offer(false, right.Local, 77), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Task<Socket> wait = launch.WaitForAsync(false, 77, giveUp.Task, CancellationToken.None);
        wait.IsCompleted.Should().BeFalse();

        giveUp.SetResult(); // offers the connection first, then wakes the wait: both have happened when it looks

        (await wait.WaitAsync(Bound)).Should().BeSameAs(right.Local);
    }
}
