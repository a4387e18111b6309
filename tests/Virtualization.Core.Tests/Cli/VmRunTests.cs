using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Cli;

public sealed class VmRunTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string WriteConfig(FakeScenario scenario, string extraJson = "")
    {
        scenario.WriteKernel(_dir.File("kernel"));
        string path = _dir.File("vm.json");
        File.WriteAllText(path, $$"""{ "kernel": "kernel", "memory_mib": 256 {{extraJson}} }""");
        return path;
    }

    private string[] RunArgs(string config, params string[] extra) =>
        ["run", config, "--crosvm", TestPaths.FakeCrosvm, "--temp-dir", _dir.File("vms"), .. extra];

    [Fact(Timeout = 30000)]
    public async Task Run_VmShutsDown_PrintsAndroidLinesConsoleAndDeath_Exit0()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 500, Exit = 0 });

        CliResult result = await CliRunner.RunAsync(RunArgs(config));

        result.ExitCode.Should().Be(0, result.Stderr);
        string[] lines = result.StdoutLines;
        lines.Should().HaveCount(5, result.Stdout);
        lines[0].Should().MatchRegex($"^Created VM from {System.Text.RegularExpressions.Regex.Escape(config)} with CID [0-9]+, state is NOT_STARTED\\.$");
        lines[1].Should().Be("Started VM, state now STARTING.");
        lines[2..].Should().Equal("fake guest console line 1", "fake guest console line 2", "fake guest console line 3");
        result.StderrLines.Should().Equal("VM died: Shutdown");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_VmCrashes_PrintsReason_ExitNonZero()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 500, Exit = 33 });

        CliResult result = await CliRunner.RunAsync(RunArgs(config));

        result.ExitCode.Should().Be(1);
        result.StderrLines.Should().Contain("VM died: Crash");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_ConsoleOption_WritesTheConsoleToTheFile()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 500, Exit = 0 });
        string console = _dir.File("console.log");

        CliResult result = await CliRunner.RunAsync(RunArgs(config, "--console", console));

        result.ExitCode.Should().Be(0, result.Stderr);
        result.StdoutLines.Should().HaveCount(2);
        File.ReadAllLines(console).Should().Equal("fake guest console line 1", "fake guest console line 2", "fake guest console line 3");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_OverridesMemoryAndCpus_OnTheVmmCommandLine()
    {
        string record = _dir.File("argv.json");
        string config = WriteConfig(new FakeScenario { RunMs = 200, Exit = 0, Record = record });

        CliResult result = await CliRunner.RunAsync(RunArgs(config, "--memory-mib", "768", "--cpus", "2"));

        result.ExitCode.Should().Be(0, result.Stderr);
        string[] argv = System.Text.Json.JsonSerializer.Deserialize<string[]>(File.ReadAllText(record))!;
        argv.SkipWhile(a => a != "--mem").Take(2).Should().Equal("--mem", "768");
        argv.SkipWhile(a => a != "--cpus").Take(2).Should().Equal("--cpus", "2");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_Cancelled_StopsTheVmGracefully_Exit0()
    {
        string config = WriteConfig(new FakeScenario());
        using var cts = new CancellationTokenSource();
        var stdout = new ObservedWriter();
        var stderr = new ObservedWriter();
        Task<int> run = Virtualization.Cli.Program.RunAsync(RunArgs(config), stdout, stderr, cts.Token);

        // Cancelled once the VM runs (or the command ended early, which the exit code below then shows).
        await Task.WhenAny(stdout.WaitForAsync("Started VM"), run);
        await cts.CancelAsync();
        int code = await run;

        code.Should().Be(0, stderr.ToString());
        stderr.ToString().Should().Contain("Stopping VM...").And.Contain("VM died: Shutdown");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_IgnoredAndroidFields_AreReportedOnStderr()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 200, Exit = 0 }, """, "platform_version": "~1.0", "name": "x" """);

        CliResult result = await CliRunner.RunAsync(RunArgs(config));

        result.ExitCode.Should().Be(0, result.Stderr);
        result.Stderr.Should().Contain("platform_version, name");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_UnknownConfigField_Exit2_WithTheFieldAndNoStackTrace()
    {
        string config = _dir.File("typo.json");
        File.WriteAllText(config, """{ "kernel": "k", "memroy_mib": 256 }""");

        CliResult result = await CliRunner.RunAsync(RunArgs(config));

        result.ExitCode.Should().Be(2);
        result.Stdout.Should().BeEmpty();
        result.Stderr.Should().Contain("memroy_mib").And.NotContain("   at ").And.NotContain("(Parameter");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_MalformedJson_Exit2_WithLineAndColumn()
    {
        string config = _dir.File("bad.json");
        File.WriteAllText(config, "{\n  \"kernel\" \"k\"\n}");

        CliResult result = await CliRunner.RunAsync(RunArgs(config));

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("line 2, column");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_MissingKernelFile_Exit2_ReportedWhenTheVmIsCreated()
    {
        string config = _dir.File("vm.json");
        File.WriteAllText(config, """{ "kernel": "no-such-kernel" }""");

        CliResult result = await CliRunner.RunAsync(RunArgs(config));

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("no-such-kernel").And.Contain("does not exist");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_MissingConfigFile_Exit2()
    {
        CliResult result = await CliRunner.RunAsync(RunArgs(_dir.File("absent.json")));

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("absent.json");
    }

    [Theory(Timeout = 30000)]
    [InlineData("--vmm", "xen")]
    [InlineData("--accel", "hvf")]
    [InlineData("--memory-mib", "0")]
    [InlineData("--cpus", "-1")]
    public async Task Run_BadOption_Exit2(string option, string value)
    {
        string config = WriteConfig(new FakeScenario { RunMs = 100 });

        CliResult result = await CliRunner.RunAsync(RunArgs(config, option, value));

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().NotBeEmpty();
        result.Stdout.Should().BeEmpty();
    }

    [Fact(Timeout = 30000)]
    public async Task Run_VmmNotFound_SaysWhichOptionToPass_NotTheLibraryOption()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 200, Exit = 0 });
        string missing = _dir.File("no-such-crosvm");

        CliResult result = await CliRunner.RunAsync("run", config, "--crosvm", missing, "--temp-dir", _dir.File("vms"));

        result.ExitCode.Should().Be(1);
        result.StderrLines.Should().Contain(
            $"Failed to start VM: Cannot launch the VMM: '{missing}' does not exist or is not executable. Install it, or pass --crosvm PATH.");
        result.Stderr.Should().NotContain("VirtualizationServiceOptions");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_TempDirTooLong_Exit2_NamesTheOption()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 200, Exit = 0 });

        CliResult result = await CliRunner.RunAsync("run", config, "--crosvm", TestPaths.FakeCrosvm, "--temp-dir", _dir.File(new string('d', 120)));

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().StartWith("vm: --temp-dir is too long").And.NotContain("TemporaryDirectory");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_Verbose_PrintsTheLibrarysLogOnStderr()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 200, Exit = 0 });

        CliResult quiet = await CliRunner.RunAsync(RunArgs(config));
        CliResult verbose = await CliRunner.RunAsync(RunArgs(config, "--verbose"));

        quiet.Stderr.Should().NotContain("vm: info:");
        verbose.ExitCode.Should().Be(0, verbose.Stderr);
        verbose.StderrLines.Should().Contain(l => System.Text.RegularExpressions.Regex.IsMatch(l, "^vm: info: VirtualMachine: CID [0-9]+: Launching VMM: ") && l.Contains(TestPaths.FakeCrosvm, StringComparison.Ordinal))
            .And.Contain(l => System.Text.RegularExpressions.Regex.IsMatch(l, "^vm: info: VirtualMachine: CID [0-9]+: The VM died: Shutdown \\(VMM exit code 0\\)$"));
        verbose.StdoutLines.Should().Equal(quiet.StdoutLines.Select(l => System.Text.RegularExpressions.Regex.Replace(l, "CID [0-9]+", "CID " + CidOf(verbose.StdoutLines[0]))));
    }

    [Fact(Timeout = 30000)]
    public async Task Run_OutputRedirected_HasNoStatusLineOrEscapes()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 1500, Exit = 0 });

        CliResult result = await CliRunner.RunAsync(RunArgs(config, "--console", _dir.File("console.log")));

        result.ExitCode.Should().Be(0, result.Stderr);
        (result.Stdout + result.Stderr).Should().NotContain("\r").And.NotContain("\e");
        result.StderrLines.Should().Equal("VM died: Shutdown");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_OnATerminal_TheStatusLineIsErasedBeforeEveryLine_AndAtTheEnd()
    {
        string config = WriteConfig(new FakeScenario { RunMs = 1500, Exit = 0 });
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int code = await Virtualization.Cli.Program.RunAsync(
            RunArgs(config, "--console", _dir.File("console.log")), stdout, stderr, new Virtualization.Cli.Terminal(false, true), CancellationToken.None, CancellationToken.None);

        code.Should().Be(0, stderr.ToString());
        string err = stderr.ToString();
        // However many statuses were drawn (timing decides), each was erased: "VM died" starts a clean line, and
        // without the drawings and erasures nothing else is left.
        err.Should().MatchRegex("(^|\n|\r\e\\[K)VM died: Shutdown\n$");
        System.Text.RegularExpressions.Regex.Replace(err, "\rvm: [0-9]+:[0-9]{2} [A-Z_]+, CID [0-9]+ \\(Ctrl\\+C stops the VM\\)\e\\[K|\r\e\\[K", string.Empty)
            .Should().Be("VM died: Shutdown\n");
        stdout.ToString().Should().NotContain("\r");
    }

    [Fact]
    public void TheRepositorysSampleConfig_HasNoFieldTheToolIgnores()
    {
        VirtualMachineConfigFile.Load(Path.Combine(TestPaths.RepoRoot, "guest", "sample-vm.json"), out IReadOnlyList<string> ignored);

        ignored.Should().BeEmpty();
    }

    private static string CidOf(string createdLine) =>
        System.Text.RegularExpressions.Regex.Match(createdLine, "CID ([0-9]+)").Groups[1].Value;
}
