using System.Text;
using Virtualization.Cli;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Drive;

/// <summary><c>vm run --console-in</c>: the tool's stdin is typed into the guest console.</summary>
public sealed class VmRunConsoleInTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task Run_WithConsoleInput_GuestGetsTheLinesAndPowersOff_Exit0()
    {
        new FakeScenario { ConsoleEcho = true, ConsoleLines = 0 }.WriteKernel(_dir.File("kernel"));
        string config = _dir.File("vm.json");
        await File.WriteAllTextAsync(config, """{ "kernel": "kernel", "memory_mib": 256 }""");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var options = new RunOptions(config)
        {
            CrosvmPath = TestPaths.FakeCrosvm,
            TemporaryDirectory = _dir.File("vms"),
            ConsoleInput = new MemoryStream(Encoding.UTF8.GetBytes("hello\npoweroff\n")),
        };

        int code = await new RunCommand(TextWriter.Synchronized(stdout), TextWriter.Synchronized(stderr)).RunAsync(options, CancellationToken.None, CancellationToken.None);

        code.Should().Be(0, stderr.ToString());
        stdout.ToString().Should().Contain("echo: hello\necho: poweroff\n");
        stderr.ToString().Should().Contain("VM died: Shutdown");
    }
}
