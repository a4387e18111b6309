using System.Text;
using Virtualization.Cli;

namespace Virtualization.Core.Tests.Cli;

public sealed class PayloadEventPrinterTests
{
    [Fact(Timeout = 30000)]
    public async Task Events_ArePrintedLikeAndroidsVmTool()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        IVirtualMachineCallback printer = new PayloadEventPrinter(TextWriter.Synchronized(stdout), TextWriter.Synchronized(stderr));

        printer.OnPayloadStarted(10, new MemoryStream(Encoding.UTF8.GetBytes("hello\nworld\n")));
        printer.OnPayloadReady(10);
        printer.OnPayloadFinished(10, 7);
        await ((PayloadEventPrinter)printer).DrainAsync(TimeSpan.FromSeconds(10));

        stdout.ToString().ReplaceLineEndings("\n").Should().Be("hello\nworld\n");
        stderr.ToString().ReplaceLineEndings("\n").Should().Be("payload is ready\npayload finished with exit code 7\n");
    }

    [Theory]
    [InlineData(VirtualMachineState.NotStarted, "NOT_STARTED")]
    [InlineData(VirtualMachineState.Starting, "STARTING")]
    [InlineData(VirtualMachineState.Started, "STARTED")]
    [InlineData(VirtualMachineState.Ready, "READY")]
    [InlineData(VirtualMachineState.Finished, "FINISHED")]
    [InlineData(VirtualMachineState.Dead, "DEAD")]
    [InlineData((VirtualMachineState)5, "(invalid state)")]
    public void States_ArePrintedInScreamingCase(VirtualMachineState state, string expected)
    {
        StateNames.Of(state).Should().Be(expected);
    }
}
