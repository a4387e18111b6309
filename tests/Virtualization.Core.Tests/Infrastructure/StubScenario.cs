using System.Globalization;
using System.Text;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>How tests/StubVmm/stub-vmm.c behaves for one VM: written into the file it is given as the kernel.</summary>
internal sealed record StubScenario
{
    public int? StartupMs { get; init; }

    public int? FailAtStart { get; init; }

    public bool NoSocket { get; init; }

    public bool SocketThenExit { get; init; }

    public int? ExitAfterMs { get; init; }

    public int? ExitCode { get; init; }

    public int? Signal { get; init; }

    public bool IgnoreStop { get; init; }

    public bool IgnoreTerm { get; init; }

    public bool ForkChild { get; init; }

    public long? ConsoleBytes { get; init; }

    /// <summary>Writes the console in a loop until killed or told to exit (see stub-vmm.c).</summary>
    public bool ConsoleLoop { get; init; }

    public int? StderrLines { get; init; }

    public bool QmpSilent { get; init; }

    /// <summary>The control socket file exists this long before it accepts connections (see stub-vmm.c).</summary>
    public int? ListenDelayMs { get; init; }

    /// <summary>Writes the scenario to <paramref name="path"/> and returns the path.</summary>
    public string WriteKernel(string path)
    {
        var text = new StringBuilder();
        void Add(string key, object? value)
        {
            if (value is not null and not false)
            {
                text.Append(key).Append('=').Append(value is true ? "1" : Convert.ToString(value, CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        Add("startup_ms", StartupMs);
        Add("fail_at_start", FailAtStart);
        Add("no_socket", NoSocket);
        Add("socket_then_exit", SocketThenExit);
        Add("exit_after_ms", ExitAfterMs);
        Add("exit_code", ExitCode);
        Add("signal", Signal);
        Add("ignore_stop", IgnoreStop);
        Add("ignore_term", IgnoreTerm);
        Add("fork_child", ForkChild);
        Add("console_bytes", ConsoleBytes);
        Add("console_loop", ConsoleLoop);
        Add("stderr_lines", StderrLines);
        Add("qmp_silent", QmpSilent);
        Add("listen_delay_ms", ListenDelayMs);
        File.WriteAllText(path, text.ToString());
        return path;
    }
}
