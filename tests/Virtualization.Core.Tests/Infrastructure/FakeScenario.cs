using System.Globalization;
using System.Text;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// How the fake crosvm behaves for one VM: written into the "kernel" file it is given (see docs/fake-crosvm.md).
/// </summary>
internal sealed record FakeScenario
{
    public int? StartupMs { get; init; }

    public int? FailAtStart { get; init; }

    public bool NoSocket { get; init; }

    public int? RunMs { get; init; }

    public int? Exit { get; init; }

    public int? Signal { get; init; }

    public bool IgnoreStop { get; init; }

    public int? ConsoleLines { get; init; }

    public int? ConsoleBytes { get; init; }

    public int? StderrLines { get; init; }

    public string? Record { get; init; }

    /// <summary>Where the fake writes what it parsed (see <see cref="FakeParsedRun"/>).</summary>
    public string? Parsed { get; init; }

    public string? PidFile { get; init; }

    public bool SpawnChild { get; init; }

    /// <summary>The fake guest writes <c>fake guest tick &lt;i&gt;</c> every N ms, except while suspended.</summary>
    public int? ConsoleTickMs { get; init; }

    /// <summary>The fake guest answers each console input line with <c>echo: LINE</c>; <c>poweroff</c> shuts it down.</summary>
    public bool ConsoleEcho { get; init; }

    /// <summary>Bytes the fake guest writes to its unix-stream virtio-console ports once it runs, in order: (num, bytes).</summary>
    public IReadOnlyList<(int Num, byte[] Bytes)> VirtioConsoleWrites { get; init; } = [];

    /// <summary>Virtio-console ports (by num) whose input the fake guest echoes back.</summary>
    public IReadOnlyList<int> VirtioConsoleEchoes { get; init; } = [];

    /// <summary>Writes the scenario as a kernel file at <paramref name="path"/> and returns the path.</summary>
    public string WriteKernel(string path)
    {
        var text = new StringBuilder("FAKE-CROSVM-SCENARIO\n");
        void Add(string key, object? value)
        {
            if (value is not null)
            {
                text.Append(key).Append('=').Append(Convert.ToString(value, CultureInfo.InvariantCulture)!.ToLowerInvariant()).Append('\n');
            }
        }

        Add("startup_ms", StartupMs);
        Add("fail_at_start", FailAtStart);
        Add("no_socket", NoSocket ? true : null);
        Add("run_ms", RunMs);
        Add("exit", Exit);
        Add("signal", Signal);
        Add("ignore_stop", IgnoreStop ? true : null);
        Add("console_lines", ConsoleLines);
        Add("console_bytes", ConsoleBytes);
        Add("stderr_lines", StderrLines);
        Add("spawn_child", SpawnChild ? true : null);
        Add("console_tick_ms", ConsoleTickMs);
        Add("console_echo", ConsoleEcho ? true : null);
        if (Record is not null)
        {
            text.Append("record=").Append(Record).Append('\n');
        }

        if (Parsed is not null)
        {
            text.Append("parsed=").Append(Parsed).Append('\n');
        }

        if (PidFile is not null)
        {
            text.Append("pid_file=").Append(PidFile).Append('\n');
        }

        foreach ((int num, byte[] bytes) in VirtioConsoleWrites)
        {
            text.Append(CultureInfo.InvariantCulture, $"vconsole_write={num}:{Convert.ToHexString(bytes)}\n");
        }

        foreach (int num in VirtioConsoleEchoes)
        {
            text.Append(CultureInfo.InvariantCulture, $"vconsole_echo={num}\n");
        }

        File.WriteAllText(path, text.ToString());
        return path;
    }
}
