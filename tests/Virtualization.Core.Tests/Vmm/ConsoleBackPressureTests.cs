using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// The guest console under a slow consumer and under none. The C stub's "guest" (<c>console_loop=1</c>) only moves on
/// when its console write completes, as a vCPU stalls on a full serial FIFO; it reports how many bytes it wrote and for
/// how many polls in a row it has been stalled. Memory is measured as bytes the guest got rid of minus bytes the
/// consumer took: whatever sits between them (kernel socket buffers, the library's pump) must stay bounded.
/// </summary>
public sealed class ConsoleBackPressureTests
{
    /// <summary>
    /// What may sit between the guest and a consumer that stopped: the console socket's kernel buffers (an AF_UNIX
    /// stream socket's send buffer, 208 KiB by default), the pump's one 16 KiB read and the write the consumer holds.
    /// Measured: 48 KiB. A pump that buffered without bound let the guest write 1.4-1.8 MiB before the first check.
    /// </summary>
    private const long InFlightBound = 512 * 1024;

    /// <summary>Polls in a row (each at most 1 ms) the guest must have been stalled to count as blocked by the console.</summary>
    private const long Stalled = 50;

    [Fact(Timeout = 120_000)]
    public async Task SlowConsumer_GuestStallsWithABoundedAmountInFlight_AndMovesOnOnlyAsTheConsumerReads()
    {
        await using var h = TestHarness.OverStub();
        using var console = new GatedStream();
        IVirtualMachine vm = await h.StartStubAsync(new StubScenario { ConsoleLoop = true }, console);
        string socket = StubControl.SocketOf(h.Service, vm)!;

        long lastWritten = -1;
        for (int round = 0; round < 5; round++)
        {
            (long written, long inFlight) = await WaitUntilStalledOrOverBoundAsync(socket, () => console.Consumed, after: lastWritten);
            inFlight.Should().BeLessThanOrEqualTo(InFlightBound,
                $"round {round}: the guest wrote {written} bytes, the consumer took {console.Consumed}: the console pump must not buffer without bound");
            lastWritten = written;
            console.Allow(64); // 64 more writes of at most 16 KiB: the guest may move on by that much.
        }

        vm.Kill();
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 120_000)]
    public async Task StalledConsumer_GuestStallsWithABoundedAmountInFlight_AndKillStillEndsIt()
    {
        await using var h = TestHarness.OverStub();
        var console = new StalledStream();
        IVirtualMachine vm = await h.StartStubAsync(new StubScenario { ConsoleLoop = true }, console);
        string socket = StubControl.SocketOf(h.Service, vm)!;

        (long written, long inFlight) = await WaitUntilStalledOrOverBoundAsync(socket, consumed: () => 0, after: -1);

        inFlight.Should().BeLessThanOrEqualTo(InFlightBound,
            $"the guest wrote {written} bytes to a consumer that took none: the console pump must not buffer without bound");
        console.FirstWrite.IsCompleted.Should().BeTrue("the console reached the sink before it stalled");
        vm.Kill();
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
    }

    /// <summary>
    /// No console stream: the contract (IVirtualizationService.CreateVmAsync) is that the console is discarded, so the
    /// guest must never stall on it. It must write far more than any buffer between it and the library could hold.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task NoConsoleStream_GuestNeverStallsOnItsConsole()
    {
        const long FarMoreThanAnyBuffer = 64L << 20;
        await using var h = TestHarness.OverStub();
        IVirtualMachine vm = await h.StartStubAsync(new StubScenario { ConsoleLoop = true });
        string socket = StubControl.SocketOf(h.Service, vm)!;

        // A pump that never reads leaves the guest stuck at a few hundred KiB for good; one that reads, however late on a
        // loaded host, lets it through. Stalls of a moment are only scheduling, so only a very long one ends the wait early.
        const long StuckForGood = 20_000;
        (long Written, long Stalled) progress = (0, 0);
        await ProcessProbe.WaitUntilAsync(
            () => (progress = StubControl.Progress(socket)).Written >= FarMoreThanAnyBuffer || progress.Stalled >= StuckForGood,
            TimeSpan.FromSeconds(90));

        progress.Written.Should().BeGreaterThanOrEqualTo(
            FarMoreThanAnyBuffer, $"with no console stream nobody may leave the guest's console unread (stalled for {progress.Stalled} polls)");
        vm.Kill();
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
    }

    /// <summary>
    /// Waits until the guest, having written more than <paramref name="after"/> bytes (it moved on), is stalled on its
    /// console, or has more in flight than any bounded pump allows. A guest that never moves on fails the wait.
    /// </summary>
    private static async Task<(long Written, long InFlight)> WaitUntilStalledOrOverBoundAsync(string socket, Func<long> consumed, long after)
    {
        (long Written, long Stalled) progress = (0, 0);
        long inFlight = 0;
        bool settled = await ProcessProbe.WaitUntilAsync(
            () =>
            {
                progress = StubControl.Progress(socket);
                inFlight = progress.Written - consumed();
                return (progress.Stalled >= Stalled && progress.Written > after) || inFlight > InFlightBound;
            },
            TimeSpan.FromSeconds(90));
        settled.Should().BeTrue($"the guest must move on past {after} bytes and stall on its console, or run past the bound; it wrote {progress.Written}");
        return (progress.Written, inFlight);
    }
}
