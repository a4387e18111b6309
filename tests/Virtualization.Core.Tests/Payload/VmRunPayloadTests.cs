using Virtualization.Core.Payload;
using Virtualization.Core.Tests.Cli;
using Virtualization.Core.Tests.Infrastructure;
using static Virtualization.Core.Tests.Payload.PayloadTestStreams;

namespace Virtualization.Core.Tests.Payload;

/// <summary><c>vm run</c> with a payload channel: events on stderr, payload output on stdout, the payload's exit code as its own.</summary>
public sealed class VmRunPayloadTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string[] Run(byte[] lifecycle, byte[]? stdio = null)
    {
        var writes = new List<(int, byte[])> { (1, lifecycle) };
        if (stdio is not null)
        {
            writes.Insert(0, (2, stdio));
        }

        new FakeScenario { VirtioConsoleWrites = writes, RunMs = 1000, Exit = 0, ConsoleLines = 0 }.WriteKernel(_dir.File("kernel"));
        string config = _dir.File("vm.json");
        File.WriteAllText(config, """{ "kernel": "kernel", "payload_channel": { "stdio": true } }""");
        return ["run", config, "--crosvm", TestPaths.FakeCrosvm, "--temp-dir", _dir.File("vms")];
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadFinishes_ToolPrintsEventsAndOutput_AndExitsWithThePayloadsCode()
    {
        CliResult result = await CliRunner.RunAsync(Run(
            Concat(ControlHello, PayloadWire.Started(), PayloadWire.Ready(), PayloadWire.Finished(7)),
            "payload says hi\n"u8.ToArray()));

        result.ExitCode.Should().Be(7, result.Stderr);
        result.StderrLines.Should().Equal("payload is ready", "payload finished with exit code 7", "VM died: Shutdown");
        result.StdoutLines.Should().Contain("payload says hi");
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadFails_ToolPrintsTheError_AndExitsOne()
    {
        CliResult result = await CliRunner.RunAsync(Run(Concat(ControlHello, PayloadWire.Error(PayloadErrorCodes.PayloadNotFound, "cannot execute /x"))));

        result.ExitCode.Should().Be(1);
        result.StderrLines.Should().Equal("VM error 2: cannot execute /x", "VM died: Shutdown");
    }

    [Fact(Timeout = 30_000)]
    public async Task NoReport_ToolExitsFromTheDeathReasonAsBefore()
    {
        CliResult result = await CliRunner.RunAsync(Run(ControlHello));

        result.ExitCode.Should().Be(0, result.Stderr);
        result.StderrLines.Should().Equal("VM died: Shutdown");
    }
}
