namespace Virtualization.Core.Tests.Cli;

public sealed class VmUsageTests
{
    [Fact(Timeout = 30000)]
    public async Task Help_ListsEveryCommand_Exit0()
    {
        CliResult result = await CliRunner.RunAsync("--help");

        result.ExitCode.Should().Be(0);
        result.Stdout.Should().Contain("run").And.Contain("info").And.Contain("create-partition").And.Contain("create-composite").And.Contain("inspect");
    }

    [Theory(Timeout = 30000)]
    [InlineData("frobnicate")]
    [InlineData("run")]
    [InlineData("create-partition", "only-a-path")]
    [InlineData("create-composite", "out.img")]
    public async Task BadCommandLine_Exit2_WithAMessage(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().StartWith("vm: ").And.Contain("vm --help");
    }

    [Theory(Timeout = 30000)]
    [InlineData("--help")]
    [InlineData("run", "--help")]
    [InlineData("guest", "build", "--help")]
    public async Task Help_ListsTheExitCodesAndExamples_Exit0(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);

        result.ExitCode.Should().Be(0, result.Stderr);
        result.Stderr.Should().BeEmpty();
        result.StdoutLines.Should().Contain("Examples:").And.Contain("Exit codes:")
            .And.Contain(l => l.StartsWith("  0  success", StringComparison.Ordinal))
            .And.Contain(l => l.StartsWith("  1  ", StringComparison.Ordinal))
            .And.Contain(l => l.StartsWith("  2  bad command line", StringComparison.Ordinal))
            .And.Contain(l => l.StartsWith("  N  ", StringComparison.Ordinal));
        result.StdoutLines.Should().Contain(l => l.TrimStart().StartsWith($"vm {args[0]}", StringComparison.Ordinal) || args[0] == "--help");
    }

    [Theory(Timeout = 30000)]
    [InlineData("--cpus", "abc")]
    [InlineData("--cpus", "0")]
    [InlineData("--memory-mib", "-5")]
    [InlineData("--memory-mib", "1.5")]
    public async Task Run_BadNumber_Exit2_SaysWhatTheOptionTakes(string option, string value)
    {
        CliResult result = await CliRunner.RunAsync("run", "vm.json", option, value);

        result.ExitCode.Should().Be(2);
        result.StderrLines.Should().Equal($"vm: {option} takes a positive whole number, not '{value}'.", "Run 'vm --help' for usage.");
    }
}
