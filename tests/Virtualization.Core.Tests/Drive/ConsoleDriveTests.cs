using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Tests.Payload;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Drive;

/// <summary>Console input and console-line waits, on the crosvm path (tests/FakeCrosvm with its echo guest).</summary>
public sealed class ConsoleDriveTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task ConsoleInput_TypedLines_AreEchoedAndPoweroffShutsDown()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleEcho = true });
        await using Stream input = vm.OpenConsoleInput();

        await input.WriteAsync(Encoding.UTF8.GetBytes("hello guest\n"));
        (await vm.WaitForConsoleLineAsync("echo: hello", Wait)).Should().Be("echo: hello guest");
        await input.WriteAsync(Encoding.UTF8.GetBytes("poweroff\n"));

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyToConsoleInput_SourceEnds_GuestSeesEndOfInputAndVmKeepsRunning()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleEcho = true });

        await vm.CopyToConsoleInputAsync(new MemoryStream(Encoding.UTF8.GetBytes("one\ntwo\n")));

        (await vm.WaitForConsoleLineAsync("fake guest console input ended", Wait)).Should().Be("fake guest console input ended");
        (await vm.WaitForConsoleLineAsync("echo: two", Wait)).Should().Be("echo: two");
        vm.State.Should().Be(VirtualMachineState.Starting, "end of input does not stop the VM");
        vm.Kill();
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyToConsoleInput_SourceThrows_CopyFaultsInputEndsVmKeepsRunning()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleEcho = true });

        Func<Task> copy = () => vm.CopyToConsoleInputAsync(PayloadTestStreams.Failing(new IOException("the console input source is broken")));

        await copy.Should().ThrowAsync<IOException>().WithMessage("the console input source is broken");
        (await vm.WaitForConsoleLineAsync("fake guest console input ended", Wait)).Should().Be("fake guest console input ended", "a failed source ends the input");
        vm.State.Should().Be(VirtualMachineState.Starting);
        await vm.StopAsync();
        vm.DeathReason.Should().Be(DeathReason.Shutdown);
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyToConsoleInput_SourceStalls_KillIsNotHeldUpAndTheCopyCompletes()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleEcho = true });
        var source = new StalledSource();
        Task copy = vm.CopyToConsoleInputAsync(source);
        await source.FirstRead;

        vm.Kill();

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        await copy; // completes (abandoning the stalled read) once the VM is gone
        copy.IsCompletedSuccessfully.Should().BeTrue();
    }

    [Fact(Timeout = 60_000)]
    public async Task ConsoleInput_AfterDeath_WritesFailAndOpeningThrowsNotRunning()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleEcho = true });
        Stream input = vm.OpenConsoleInput();
        vm.Kill();
        await vm.WaitForDeathAsync();

        Func<Task> write = async () => await input.WriteAsync(new byte[] { (byte)'x' });
        await write.Should().ThrowAsync<IOException>().WithMessage("*has exited*");
        Action open = () => vm.OpenConsoleInput();
        open.Should().Throw<VirtualMachineNotRunningException>().Which.DeathReason.Should().Be(DeathReason.Killed);
        await input.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task ConsoleInput_TakenTwice_SecondThrows_NotStarted_Throws()
    {
        await using var h = new TestHarness();
        IVirtualMachine created = await h.CreateAsync();
        Action early = () => created.OpenConsoleInput();
        early.Should().Throw<VirtualMachineNotRunningException>().Which.State.Should().Be(VirtualMachineState.NotStarted);

        IVirtualMachine vm = await h.StartAsync();
        await using Stream first = vm.OpenConsoleInput();
        Func<Task> second = () => vm.CopyToConsoleInputAsync(Stream.Null);
        await second.Should().ThrowAsync<InvalidOperationException>().WithMessage("*already taken*");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForConsoleLine_LinePrintedBeforeTheCall_IsFound_WithoutAConsoleStream()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleLines = 3 }); // no console stream given
        (await vm.WaitForConsoleLineAsync(new Regex(@"line \d$"), Wait)).Should().Be("fake guest console line 1");
        (await vm.WaitForConsoleLineAsync("console line 3", Wait)).Should().Be("fake guest console line 3");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForConsoleLine_BeganBeforeStart_CompletesOnceTheGuestPrints_NeverStartedVmFailsKilled()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync(new FakeScenario { ConsoleLines = 2 });
        Task<string> early = vm.WaitForConsoleLineAsync("console line 2", Wait);
        await vm.StartAsync();
        h.TrackPid(vm);
        (await early).Should().Be("fake guest console line 2");

        IVirtualMachine never = await h.CreateAsync();
        Task<string> waiting = never.WaitForConsoleLineAsync("anything", Wait);
        await never.DisposeAsync();
        (await waiting.Invoking(t => t).Should().ThrowAsync<VirtualMachineDiedException>()).Which.Reason.Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 60_000)]
    public async Task ConsoleLines_AreLoggedAtDebugToTheGuestConsoleCategory()
    {
        var categories = new CategoryRecorder();
        await using var h = new TestHarness(loggerProvider: categories);
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleLines = 1 });
        await vm.WaitForConsoleLineAsync("console line 1", Wait);
        categories.Lines.Should().Contain(("Virtualization.Core.GuestConsole", Microsoft.Extensions.Logging.LogLevel.Debug, "Console: fake guest console line 1"));
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForConsoleLine_ConsoleStreamStillGetsEverything()
    {
        await using var h = new TestHarness();
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleLines = 2 }, console);
        await vm.WaitForConsoleLineAsync("console line 2", Wait);
        await console.WaitForAsync("fake guest console line 2\n");
        console.Text.Should().Be("fake guest console line 1\nfake guest console line 2\n");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForConsoleLine_VmDiesFirst_FailsWithTheDeathReason()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { RunMs = 300, Exit = 0 });

        Func<Task> wait = () => vm.WaitForConsoleLineAsync("never printed", Timeout.InfiniteTimeSpan);

        (await wait.Should().ThrowAsync<VirtualMachineDiedException>()).Which.Reason.Should().Be(DeathReason.Shutdown);
        Func<Task> late = () => vm.WaitForConsoleLineAsync("never printed", Wait);
        (await late.Should().ThrowAsync<VirtualMachineDiedException>()).Which.Message.Should().Contain("never printed");
        (await vm.WaitForConsoleLineAsync("console line 1", Wait)).Should().Be("fake guest console line 1", "lines seen before the death still count");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForConsoleLine_TimeoutOrCancellation_LeaveTheVmRunning()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();

        Func<Task> timeout = () => vm.WaitForConsoleLineAsync("never printed", TimeSpan.FromMilliseconds(200));
        await timeout.Should().ThrowAsync<TimeoutException>().WithMessage("*still running*");
        using var cts = new CancellationTokenSource();
        Task<string> cancelled = vm.WaitForConsoleLineAsync("never printed", Timeout.InfiniteTimeSpan, cts.Token);
        await cts.CancelAsync();
        await cancelled.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        vm.State.Should().Be(VirtualMachineState.Starting);
        Func<Task> bad = () => vm.WaitForConsoleLineAsync("x", TimeSpan.FromSeconds(-2));
        await bad.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitForConsoleLine_FourMiBOfOutput_LinesAreObserved()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleLines = 0, ConsoleBytes = 4 * 1024 * 1024 });
        (await vm.WaitForConsoleLineAsync(new Regex("^0123456789abcdef"), Wait)).Length.Should().Be(63, "the filler is 64-byte lines");
    }

    [Fact(Timeout = 10_000)]
    public async Task LineWatcher_AVeryLongLine_IsCutAndTheRestDropped_MemoryBounded()
    {
        var watcher = new ConsoleLineWatcher(NullLogger.Instance, 3);
        byte[] chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
        for (int i = 0; i < 160; i++)
        {
            watcher.Observe(chunk); // 10 MiB without a newline
            watcher.PartialLength.Should().BeLessThanOrEqualTo(ConsoleLineWatcher.MaxLineBytes);
        }

        watcher.Observe("tail of the long line\nmarker line\n"u8);
        watcher.HistoryCount.Should().Be(2, "the cut 4 KiB head and the marker; the rest of the long line was dropped");
        Task<string> found = watcher.WaitAsync(l => l.StartsWith("marker", StringComparison.Ordinal), "marker", TimeSpan.FromSeconds(5), CancellationToken.None);
        found.IsCompletedSuccessfully.Should().BeTrue("the line is in the history");
        (await found).Should().Be("marker line");
        Task<string> head = watcher.WaitAsync(l => l.StartsWith('x'), "x", TimeSpan.FromSeconds(5), CancellationToken.None);
        (await head).Should().Be(new string('x', ConsoleLineWatcher.MaxLineBytes));
    }

    [Fact(Timeout = 10_000)]
    public async Task LineWatcher_ManyLines_HistoryIsBounded()
    {
        var watcher = new ConsoleLineWatcher(NullLogger.Instance, 3);
        for (int i = 0; i < 100_000; i++)
        {
            watcher.Observe(Encoding.ASCII.GetBytes($"line {i}\r\n"));
        }

        watcher.HistoryCount.Should().BeLessThanOrEqualTo(ConsoleLineWatcher.HistoryChars / "line 0".Length);
        (await watcher.WaitAsync(l => l == "line 99999", "last", TimeSpan.FromSeconds(1), CancellationToken.None)).Should().Be("line 99999", "\\r is trimmed");
    }

    /// <summary>Records (category, level, message) of every log entry.</summary>
    private sealed class CategoryRecorder : Microsoft.Extensions.Logging.ILoggerProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string Category, Microsoft.Extensions.Logging.LogLevel Level, string Message)> Lines { get; } = new();

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Recorder(CategoryRecorder owner, string category) : Microsoft.Extensions.Logging.ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

            public void Log<TState>(
                Microsoft.Extensions.Logging.LogLevel logLevel,
                Microsoft.Extensions.Logging.EventId eventId,
                TState state,
                Exception? exception,
                Func<TState, Exception?, string> formatter) => owner.Lines.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
