using Virtualization.Cli;

namespace Virtualization.Core.Tests.Cli;

/// <summary>The in-place status line of <c>vm run</c> and the writers that share the terminal with it.</summary>
public sealed class TerminalStatusTests
{
    private const string Erase = "\r\e[K";

    [Fact]
    public void Show_AtTheStartOfALine_DrawsInPlace()
    {
        var terminal = new StringWriter();
        var status = new TerminalStatus(terminal);

        status.Show("vm: 0:01 STARTING");
        status.Show("vm: 0:02 STARTED");

        terminal.ToString().Should().Be("\rvm: 0:01 STARTING\e[K\rvm: 0:02 STARTED\e[K");
    }

    [Fact]
    public void WriteThroughTheTerminal_ErasesTheStatusFirst_ThenItComesBack()
    {
        var terminal = new StringWriter();
        var status = new TerminalStatus(terminal);
        var writer = new StatusAwareWriter(terminal, status);

        status.Show("vm: 0:01 STARTING");
        writer.WriteLine("guest line");
        status.Show("vm: 0:02 STARTING");

        terminal.ToString().Should().Be("\rvm: 0:01 STARTING\e[K" + Erase + "guest line\n" + "\rvm: 0:02 STARTING\e[K");
    }

    [Fact]
    public void Show_MidLine_DrawsNothing_SoAPromptIsNotOverwritten()
    {
        var terminal = new StringWriter();
        var status = new TerminalStatus(terminal);
        var writer = new StatusAwareWriter(terminal, status);

        writer.Write("login: ");
        status.Show("vm: 0:01 STARTED");

        terminal.ToString().Should().Be("login: ");
    }

    [Fact]
    public void Clear_ErasesOnlyAShownStatus()
    {
        var terminal = new StringWriter();
        var status = new TerminalStatus(terminal);

        status.Clear();
        status.Show("s");
        status.Clear();
        status.Clear();

        terminal.ToString().Should().Be("\rs\e[K" + Erase);
    }
}
