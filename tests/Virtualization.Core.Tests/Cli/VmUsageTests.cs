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
}
