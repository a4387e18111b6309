using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// <see cref="VmmChildProcess"/> launching a shell script through the real <c>vcore-exec</c> (no VMM, no VM): the
/// exit code, the stderr pump (line splitting, the 1 KiB line cut, CR, a last line without newline) and the console
/// copy to the caller's stream.
/// </summary>
public sealed class VmmChildProcessTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly TempDir _dir = new();
    private readonly ListLogger _log = new();

    public void Dispose()
    {
        _dir.Dispose();
        _log.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task Exit_IsTheScriptsExitCode_AndProcessExitedCompletes()
    {
        VmmChildProcess child = await StartAsync("exit 3");

        (await child.Exited.WaitAsync(Bound)).Should().Be(3);
        child.ProcessExited.IsCompleted.Should().BeTrue();
        child.ProcessId.Should().BePositive();
        child.StandardErrorTail.Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task Exit_KilledBySignal_Is128PlusTheSignal()
    {
        VmmChildProcess child = await StartAsync("kill -SEGV $$");

        (await child.Exited.WaitAsync(Bound)).Should().Be(128 + 11);
    }

    [Fact(Timeout = 60_000)]
    public async Task Kill_EndsTheVmm_WithSigkill()
    {
        var console = new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 5);
        VmmChildProcess child = await StartAsync("echo up; exec sleep 600", console: console);
        await console.Lines.WaitAsync(l => l == "up", "up", Bound, CancellationToken.None);

        child.Kill();

        (await child.Exited.WaitAsync(Bound)).Should().Be(128 + 9);
        child.Kill(); // after the exit: does nothing, does not throw
    }

    [Fact(Timeout = 60_000)]
    public async Task StandardError_IsSplitIntoLines_CrStripped_LastLineWithoutNewlineKept()
    {
        VmmChildProcess child = await StartAsync("printf 'one\\r\\ntwo\\n\\nthree' >&2; exit 1");

        (await child.Exited.WaitAsync(Bound)).Should().Be(1);

        child.StandardErrorTail.Should().Be("one\ntwo\n\nthree");
        StderrLogLines().Should().Equal("VMM: one", "VMM: two", "VMM: ", "VMM: three");
    }

    [Fact(Timeout = 60_000)]
    public async Task StandardError_ALineLongerThan1KiB_IsCutAt1024Bytes_AndTheNextLineIsIntact()
    {
        // 1,500 'x' then a newline, then 1,024 'y' exactly, then "next". The pump keeps 1,024 bytes of a line.
        VmmChildProcess child = await StartAsync(
            "x=$(printf '%1500s' '' | tr ' ' x); y=$(printf '%1024s' '' | tr ' ' y); printf '%s\\n%s\\nnext\\n' \"$x\" \"$y\" >&2; exit 0");

        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        StderrLogLines().Should().Equal("VMM: " + new string('x', 1024), "VMM: " + new string('y', 1024), "VMM: next");
    }

    [Fact(Timeout = 60_000)]
    public async Task StandardError_ALineSpanningSeveralReads_IsJoined_AndCutAt1KiBInAll()
    {
        // Two writes of 1,000 bytes of one line with the script's own pause between them, so that the pump most likely
        // reads them apart (the expected lines are the same if it does not).
        VmmChildProcess child = await StartAsync(
            "a=$(printf '%1000s' '' | tr ' ' a); printf '%s' \"$a\" >&2; sleep 0.05; printf '%s\\nafter\\n' \"$a\" >&2; exit 0");

        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        StderrLogLines().Should().Equal("VMM: " + new string('a', 1024), "VMM: after");
    }

    [Fact(Timeout = 60_000)]
    public async Task Console_ReachesTheCallersStream_AndTheLineWatcher()
    {
        var output = new MemoryStream();
        var console = new GuestConsole(output, NullLogger.Instance, NullLogger.Instance, 5);
        VmmChildProcess child = await StartAsync("printf 'hello\\nworld\\n'; exit 0", console: console);

        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        System.Text.Encoding.UTF8.GetString(output.ToArray()).Should().Be("hello\nworld\n");
        (await console.Lines.WaitAsync(l => l == "world", "world", Bound, CancellationToken.None)).Should().Be("world");
        console.Lines.HistoryCount.Should().Be(2);
    }

    [Fact(Timeout = 60_000)]
    public async Task Console_EveryChunkWrittenToTheCallersStream_IsFlushed()
    {
        var output = new RecordingStream();
        var console = new GuestConsole(output, NullLogger.Instance, NullLogger.Instance, 5);
        VmmChildProcess child = await StartAsync("printf 'a\\n'; sleep 0.05; printf 'b\\n'; exit 0", console: console);

        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        string[] calls = output.Calls();
        calls.Should().NotBeEmpty();
        calls.Where((_, i) => i % 2 == 0).Should().OnlyContain(c => c.StartsWith("write ", StringComparison.Ordinal));
        calls.Where((_, i) => i % 2 == 1).Should().OnlyContain(c => c == "flush");
        calls.Should().HaveCount(2 * calls.Count(c => c != "flush"), "every write is followed by a flush");
        string.Concat(calls.Where(c => c != "flush").Select(c => c["write ".Length..])).Should().Be("a\nb\n");
    }

    [Fact(Timeout = 60_000)]
    public async Task Console_ALastLineWithoutNewline_CountsOnceTheConsoleEnds()
    {
        var console = new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 5);
        VmmChildProcess child = await StartAsync("printf 'no newline'; exit 0", console: console);

        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        (await console.Lines.WaitAsync(l => l == "no newline", "it", Bound, CancellationToken.None)).Should().Be("no newline");
    }

    [Fact(Timeout = 60_000)]
    public async Task Console_ACallerStreamThatThrows_IsLoggedOnce_AndTheConsoleIsStillObserved()
    {
        var console = new GuestConsole(new ThrowingStream(), _log, NullLogger.Instance, 5);
        VmmChildProcess child = await StartAsync("printf 'a\\n'; sleep 0.05; printf 'b\\n'; exit 0", console: console);

        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        (await console.Lines.WaitAsync(l => l == "b", "b", Bound, CancellationToken.None)).Should().Be("b");
        _log.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message)
            .Should().Equal("Copying the console failed; the rest of it is lost");
    }

    [Fact(Timeout = 60_000)]
    public async Task StartAsync_CancelledBeforehand_LaunchesNothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        string script = ShellScript.Write(_dir.File("vmm"), $"touch '{_dir.File("ran")}'");

        Func<Task> start = () => VmmChildProcess.StartAsync(
            script, [], new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 5), _log, cancelled.Token);

        await start.Should().ThrowAsync<OperationCanceledException>();
        _log.Entries.Should().BeEmpty("nothing was launched");
    }

    [Fact(Timeout = 60_000)]
    public async Task StartAsync_LogsTheLaunch_WithTheExecutableAndItsArguments()
    {
        string script = ShellScript.Write(_dir.File("vmm"), "exit 0");

        VmmChildProcess child = await VmmChildProcess.StartAsync(
            script, ["--one", "two words"], new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 5), _log, CancellationToken.None);
        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        _log.Entries.Where(e => e.Level == LogLevel.Information).Select(e => e.Message)
            .Should().Equal($"Launching VMM: {script} --one two words");
    }

    [Fact(Timeout = 60_000)]
    public async Task StartAsync_CancelledOnceTheLaunchHasBegun_ThrowsCancellation_RunsNothing_AndTheHelperExits()
    {
        // The token fires from inside the "Launching VMM" log call: after the checks at the top, before the helper is
        // spawned, so the wait for its connections sees it. No timing involved.
        using var cancel = new CancellationTokenSource();
        var logger = new CallbackLogger(message =>
        {
            if (message.StartsWith("Launching VMM:", StringComparison.Ordinal))
            {
                cancel.Cancel();
            }
        });
        string ran = _dir.File("ran");
        string script = ShellScript.Write(_dir.File("vmm"), $"touch '{ran}'");

        Func<Task> start = () => VmmChildProcess.StartAsync(
            script, [], new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 5), logger, cancel.Token);

        (await start.Should().ThrowAsync<OperationCanceledException>()).Which.CancellationToken.Should().Be(cancel.Token);
        File.Exists(ran).Should().BeFalse("without the go byte the helper never executes the VMM");
        logger.Messages.Should().Equal(new[] { $"Launching VMM: {script} " }, "the helper exited by itself (no 'did not exit' error)");
    }

    [Fact(Timeout = 60_000)]
    public async Task Console_InputWrittenByTheHost_ReachesTheVmmsStandardInput()
    {
        var console = new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 5);
        VmmChildProcess child = await StartAsync("read line; echo \"got:$line\"; exit 0", console: console);

        await console.WriteAsync("hello there\n"u8.ToArray(), CancellationToken.None);

        (await console.Lines.WaitAsync(l => l.StartsWith("got:", StringComparison.Ordinal), "got", Bound, CancellationToken.None))
            .Should().Be("got:hello there");
        (await child.Exited.WaitAsync(Bound)).Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task Exited_ReleasesTheSocketsThePidfdAndTheProcess()
    {
        VmmChildProcess child = await StartAsync("echo out; echo err >&2; exit 0");

        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        child.HandlesReleased.Should().BeTrue();
    }

    [Fact(Timeout = 60_000)]
    public async Task StandardError_MoreThanOneReadBufferInOneWrite_KeepsEveryLine()
    {
        // 100 lines of 64 bytes (6,400 bytes, more than the pump's 4 KiB buffer) in one write(2) by cat: a read fills the buffer.
        string[] lines = [.. Enumerable.Range(100, 100).Select(i => $"line-{i:D3}-{new string('0', 54)}")];
        string text = _dir.File("stderr.txt");
        await File.WriteAllTextAsync(text, string.Join("\n", lines) + "\n");
        VmmChildProcess child = await StartAsync($"cat '{text}' >&2; exit 0");

        (await child.Exited.WaitAsync(Bound)).Should().Be(0);

        StderrLogLines().Should().Equal(lines.Select(l => "VMM: " + l));
    }

    [Fact(Timeout = 60_000)]
    public async Task VmmExit_WhileADaemonKeepsTheConsoleOpen_FailsAPendingInputWriteAtOnce_AndAbandonsTheOutputAfterTheDrainTimeout()
    {
        // The VMM leaves a process in its own session holding the console socket (the helper's group kill misses it),
        // so the console never reaches end-of-file: the exit alone must end input writes, before the 1 s drain wait.
        // "up" waits for the daemon's pid file, which it writes after setsid: until then the daemon is still in the
        // VMM's group, and a kill that came first would take it too (seen once on a loaded CI machine).
        string daemonPid = _dir.File("daemon.pid");
        var console = new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 5);
        VmmChildProcess child = await StartAsync(
            $"setsid -f sh -c 'echo $$ > {daemonPid}.tmp; mv {daemonPid}.tmp {daemonPid}; exec sleep 120'; " +
            $"while [ ! -e {daemonPid} ]; do sleep 0.01; done; echo up; exec sleep 600",
            console: console);
        try
        {
            await console.Lines.WaitAsync(l => l == "up", "up", Bound, CancellationToken.None);
            // Nobody reads the VMM's stdin: 8 MiB cannot fit in the socket buffers, so the write stays pending.
            Task write = console.WriteAsync(new byte[8 << 20], CancellationToken.None).AsTask();
            // Whether the drain had already given up when the write failed, read where it failed (not after this test's
            // thread is scheduled again, which a loaded machine can delay past the 1 s drain wait).
            Task<bool> drainOverAtWriteFailure = write.ContinueWith(
                _ => child.Exited.IsCompleted || _log.Entries.Any(e => e.Level == LogLevel.Warning),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);

            child.Kill();

            Func<Task> pendingWrite = () => write.WaitAsync(Bound);
            await pendingWrite.Should().ThrowAsync<IOException>();
            (await drainOverAtWriteFailure).Should().BeFalse("the output drain waits 1 s for a console that stays open");
            (await child.Exited.WaitAsync(Bound)).Should().Be(128 + 9);
            _log.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message).Should().Equal(
                "The VMM exited but its console or stderr was not drained within 00:00:01; the rest is dropped");
        }
        finally
        {
            if (File.Exists(daemonPid) && int.TryParse(File.ReadAllText(daemonPid).Trim(), out int pid))
            {
                try
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                }
                catch (ArgumentException)
                {
                }
            }
        }
    }

    private Task<VmmChildProcess> StartAsync(string body, Stream? output = null, GuestConsole? console = null) =>
        ShellScript.StartVmmAsync(_dir.Path, body, console ?? new GuestConsole(output, NullLogger.Instance, NullLogger.Instance, 5), _log);

    private string[] StderrLogLines() =>
        [.. _log.Entries.Where(e => e.Level == LogLevel.Debug && e.Message.StartsWith("VMM: ", StringComparison.Ordinal)).Select(e => e.Message)];

    /// <summary>A logger that hands every message to a callback as it is logged, and keeps them.</summary>
    private sealed class CallbackLogger(Action<string> onMessage) : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string message = formatter(state, exception);
            lock (Messages)
            {
                Messages.Add(message);
            }

            onMessage(message);
        }
    }

    /// <summary>A caller's console stream that records its writes and flushes in order.</summary>
    private sealed class RecordingStream : WriteOnlyStream
    {
        private readonly List<string> _calls = [];

        public string[] Calls()
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Add("write " + System.Text.Encoding.UTF8.GetString(buffer, offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Add("write " + System.Text.Encoding.UTF8.GetString(buffer.Span));
            return ValueTask.CompletedTask;
        }

        public override void Flush() => Add("flush");

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Add("flush");
            return Task.CompletedTask;
        }

        private void Add(string call)
        {
            lock (_calls)
            {
                _calls.Add(call);
            }
        }
    }
}
