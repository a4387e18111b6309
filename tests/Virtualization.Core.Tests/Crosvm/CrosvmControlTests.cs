using Virtualization.Core.Crosvm;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Crosvm;

/// <summary>
/// crosvm's control subcommands (<c>crosvm suspend|resume|balloon|balloon_stats SOCKET</c>) run against a script that
/// stands in for crosvm, and the parsing of <c>balloon_stats</c> output. Expected values are written out.
/// </summary>
public sealed class CrosvmControlTests : IDisposable
{
    private readonly TempDir _temp = new("vct-crosvm-control-");

    public void Dispose() => _temp.Dispose();

    [Fact(Timeout = 30_000)]
    public async Task RunAsync_Success_ReturnsStdout_AndPassesTheSocketLast()
    {
        string argvFile = Path.Combine(_temp.Path, "argv");
        string crosvm = Script($"printf '%s\\n' \"$@\" > '{argvFile}'; printf 'out-text'; exit 0");

        string output = await CrosvmControl.RunAsync(crosvm, "/vm/crosvm.sock", "balloon", CrosvmControl.Balloon(1 << 20), 7, CancellationToken.None);

        output.Should().Be("out-text");
        (await File.ReadAllLinesAsync(argvFile)).Should().Equal("balloon", "1048576", "/vm/crosvm.sock");
    }

    [Fact(Timeout = 30_000)]
    public async Task RunAsync_Failure_SaysWhatCrosvmSaid()
    {
        string crosvm = Script("echo 'no such socket' >&2; exit 1");

        Func<Task> run = () => CrosvmControl.RunAsync(crosvm, "/vm/crosvm.sock", "suspend", ["suspend"], 12, CancellationToken.None);

        VirtualMachineControlException e = (await run.Should().ThrowAsync<VirtualMachineControlException>()).Which;
        e.Message.Should().Be("crosvm suspend for VM with CID 12 failed (exit code 1): no such socket");
        e.Operation.Should().Be("suspend");
        e.Detail.Should().Be("no such socket");
    }

    [Fact(Timeout = 30_000)]
    public async Task RunAsync_FailureWithoutOutput_SaysItSaidNothing()
    {
        string crosvm = Script("exit 3");

        Func<Task> run = () => CrosvmControl.RunAsync(crosvm, "/vm/crosvm.sock", "resume", ["resume"], 5, CancellationToken.None);

        VirtualMachineControlException e = (await run.Should().ThrowAsync<VirtualMachineControlException>()).Which;
        e.Message.Should().Be("crosvm resume for VM with CID 5 failed (exit code 3): it said nothing");
        e.Detail.Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task RunAsync_CancelledByTheCaller_ThrowsOperationCanceled_NotAControlError()
    {
        string started = Path.Combine(_temp.Path, "started");
        string crosvm = Script($"touch '{started}'; exec sleep 60");
        using var cts = new CancellationTokenSource();

        Task<string> run = CrosvmControl.RunAsync(crosvm, "/vm/crosvm.sock", "suspend", ["suspend"], 5, cts.Token);
        (await ProcessProbe.WaitUntilAsync(() => File.Exists(started), TimeSpan.FromSeconds(20))).Should().BeTrue("the stand-in for crosvm started");
        cts.Cancel();

        await run.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact(Timeout = 30_000)]
    public async Task RunAsync_NotDoneWithinTheTimeout_IsKilled_AndIsAControlErrorThatSaysSo()
    {
        string pidFile = Path.Combine(_temp.Path, "pid");
        string crosvm = Script($"echo $$ > '{pidFile}'; exec sleep 60");

        Func<Task> run = () => CrosvmControl.RunAsync(crosvm, "/vm/crosvm.sock", "balloon_stats", ["balloon_stats"], 9, TimeSpan.FromMilliseconds(1500), CancellationToken.None);

        VirtualMachineControlException e = (await run.Should().ThrowAsync<VirtualMachineControlException>()).Which;
        e.Message.Should().Be("crosvm balloon_stats for VM with CID 9 did not finish within 1.5 s and was killed; the VM may be stuck. Kill it if it does not recover.");
        e.Operation.Should().Be("balloon_stats");
        e.Detail.Should().BeEmpty();
        e.InnerException.Should().BeAssignableTo<OperationCanceledException>();
        // The script may not have run yet when the timeout came on a loaded machine; if it did, it must be gone.
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid))
        {
            (await ProcessProbe.WaitUntilAsync(() => !ProcessProbe.IsAlive(pid), TimeSpan.FromSeconds(20))).Should().BeTrue("the command is killed, not left running");
        }
    }

    /// <summary>
    /// A program that prints without end (a wrong binary at the crosvm path) is killed as soon as it has printed more
    /// than 1 MiB on either stream, instead of growing this process until the 30 s timeout: this one never exits by
    /// itself, so only the bound can end the call before the test's own timeout.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [InlineData("exec yes", "stdout")]
    [InlineData("exec yes >&2", "stderr")]
    [InlineData("head -c 2097152 /dev/zero; exec sleep 600", "stdout")] // floods, then would hang: only the kill ends it
    [InlineData("head -c 2097152 /dev/zero >&2; exec sleep 600", "stderr")]
    public async Task RunAsync_PrintsWithoutEnd_IsKilledPastTheBound_AndIsAControlErrorThatSaysSo(string body, string stream)
    {
        string pidFile = Path.Combine(_temp.Path, "pid");
        string crosvm = Script($"echo $$ > '{pidFile}'; {body}");

        Func<Task> run = () => CrosvmControl.RunAsync(crosvm, "/vm/crosvm.sock", "balloon_stats", ["balloon_stats"], 4, TimeSpan.FromMinutes(10), CancellationToken.None);

        VirtualMachineControlException e = (await run.Should().ThrowAsync<VirtualMachineControlException>()).Which;
        e.Message.Should().Be($"crosvm balloon_stats for VM with CID 4 printed more than 1024 KiB on {stream} and was killed; check that '{crosvm}' is crosvm.");
        e.Operation.Should().Be("balloon_stats");
        e.Detail.Should().BeEmpty("nothing of what it printed is kept");
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        (await ProcessProbe.WaitUntilAsync(() => !ProcessProbe.IsAlive(pid), TimeSpan.FromSeconds(20))).Should().BeTrue("the command is killed, not left running");
    }

    [Theory(Timeout = 30_000)]
    [InlineData("stdout")]
    [InlineData("stderr")]
    public async Task RunAsync_OutputExactlyAtTheBound_ArrivesWhole(string stream)
    {
        int size = CrosvmControl.MaxOutputChars;
        string redirect = stream == "stderr" ? " >&2" : string.Empty;
        string crosvm = Script($"head -c {size} /dev/zero | tr '\\0' 'x'{redirect}; exit {(stream == "stderr" ? 1 : 0)}");

        Func<Task<string>> run = () => CrosvmControl.RunAsync(crosvm, "/vm/crosvm.sock", "balloon_stats", ["balloon_stats"], 4, CancellationToken.None);

        if (stream == "stdout")
        {
            (await run()).Should().HaveLength(size).And.MatchRegex("^x+$");
        }
        else
        {
            // A failure carries what it said: all of it, since it is within the bound.
            (await run.Should().ThrowAsync<VirtualMachineControlException>()).Which.Detail.Should().HaveLength(size);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task RunAsync_OneCharacterPastTheBound_IsRefused()
    {
        string crosvm = Script($"head -c {CrosvmControl.MaxOutputChars + 1} /dev/zero | tr '\\0' 'x'; exit 0");

        Func<Task> run = () => CrosvmControl.RunAsync(crosvm, "/vm/crosvm.sock", "balloon_stats", ["balloon_stats"], 4, CancellationToken.None);

        (await run.Should().ThrowAsync<VirtualMachineControlException>()).Which.Message.Should().Contain("printed more than 1024 KiB on stdout");
    }

    [Fact]
    public void MaxOutput_Is1MiBOfCharacters() => CrosvmControl.MaxOutputChars.Should().Be(1 << 20);

    [Fact]
    public void Timeout_Is30Seconds() => CrosvmControl.Timeout.Should().Be(TimeSpan.FromSeconds(30));

    [Fact]
    public void ParseStats_ReadsEveryField_AndNullOrMissingOrNonNumberAsNull()
    {
        const string output = """
            {"BalloonStats":{"stats":{"swap_in":null,"total_memory":1000,"free_memory":null,"available_memory":"700",
            "disk_caches":40,"major_faults":5,"minor_faults":6},"balloon_actual":4096}}
            """;

        MemoryBalloonStats stats = CrosvmControl.ParseStats(output, guestMemoryBytes: 1 << 30);

        stats.Should().Be(new MemoryBalloonStats(
            BalloonBytes: 4096,
            GuestMemoryBytes: 1 << 30,
            TotalMemoryBytes: 1000,
            FreeMemoryBytes: null,
            AvailableMemoryBytes: null,
            DiskCachesBytes: 40,
            MajorFaults: 5,
            MinorFaults: 6));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"Other":{}}""")]
    [InlineData("""{"BalloonStats":{"stats":{}}}""")]
    [InlineData("""{"BalloonStats":{"stats":{},"balloon_actual":"x"}}""")]
    [InlineData("""{"BalloonStats":{"stats":{},"balloon_actual":1.5}}""")]
    public void ParseStats_SomethingElse_IsAControlErrorQuotingIt(string output)
    {
        Action parse = () => CrosvmControl.ParseStats("  " + output + "\n", guestMemoryBytes: 1);

        VirtualMachineControlException e = parse.Should().Throw<VirtualMachineControlException>().Which;
        e.Message.Should().Be($"crosvm balloon_stats printed something that is not balloon statistics: {output}");
        e.Operation.Should().Be("balloon_stats");
        e.Detail.Should().Be(output);
    }

    [Theory]
    [InlineData("", "\"\"")]
    [InlineData(",leading", "\",leading\"")]
    [InlineData("\"x", "\"\\\"x\"")]
    [InlineData("x", "x")]
    public void Quote_EmptyOrStartingWithASpecialCharacter_IsQuoted(string value, string expected) =>
        CrosvmKeyValue.Quote(value).Should().Be(expected);

    [Fact]
    public void Runner_NameAndKernelCommandLineLimit()
    {
        var runner = new CrosvmRunner("/usr/bin/crosvm");

        runner.Name.Should().Be("crosvm");
        runner.MaxParamsLength.Should().Be(1984, "Linux's 2048-byte x86 command line, less 64 for what crosvm prepends");
    }

    private string Script(string body) => ShellScript.Write(Path.Combine(_temp.Path, $"crosvm-{Guid.NewGuid():N}"), body);
}
