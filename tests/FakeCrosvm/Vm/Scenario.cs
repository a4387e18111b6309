using System.Globalization;

namespace FakeCrosvm.Vm;

/// <summary>
/// What the fake VM does, read from the kernel file. A kernel whose first line is
/// <see cref="Marker"/> carries <c>key=value</c> lines; any other kernel gets the defaults.
/// </summary>
internal sealed class Scenario
{
    public const string Marker = "FAKE-CROSVM-SCENARIO";

    public static Scenario Default { get; } = new();

    public int StartupMs { get; private set; }

    public int? FailAtStart { get; private set; }

    public bool NoSocket { get; private set; }

    public int? RunMs { get; private set; }

    public int Exit { get; private set; }

    public int? Signal { get; private set; }

    public bool IgnoreStop { get; private set; }

    public int ConsoleLines { get; private set; } = 3;

    public long ConsoleBytes { get; private set; }

    public int StderrLines { get; private set; } = 2;

    /// <summary>Once the VM runs, writes <c>fake guest tick &lt;i&gt;</c> to stdout every N ms, except while suspended.</summary>
    public int? ConsoleTickMs { get; private set; }

    /// <summary>Reads stdin (if a serial port has <c>stdin</c>) and answers each line like a shell guest would.</summary>
    public bool ConsoleEcho { get; private set; }

    public string? Record { get; private set; }

    public string? Parsed { get; private set; }

    public string? PidFile { get; private set; }

    public bool SpawnChild { get; private set; }

    public string? ChildPidFile { get; private set; }

    /// <summary>Bytes written, in order, to a virtio-console unix-stream port once the VM runs: (num, bytes).</summary>
    public List<(long Num, byte[] Bytes)> VirtioConsoleWrites { get; } = [];

    /// <summary>Virtio-console ports (by num) whose input is echoed back as output.</summary>
    public List<long> VirtioConsoleEchoes { get; } = [];

    /// <summary>Parses the lines after the marker. Blank lines and lines starting with <c>#</c> are ignored.</summary>
    /// <exception cref="CommandFailedException">A line is malformed or has an unknown key.</exception>
    public static Scenario Parse(IEnumerable<string> lines)
    {
        var scenario = new Scenario();
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CommandFailedException($"fake-crosvm: invalid scenario line '{line}' (expected key=value)");
            }

            scenario.Set(line[..equals].Trim(), line[(equals + 1)..].Trim());
        }

        return scenario;
    }

    private void Set(string key, string value)
    {
        switch (key)
        {
            case "startup_ms": StartupMs = Int(key, value); break;
            case "fail_at_start": FailAtStart = Int(key, value); break;
            case "no_socket": NoSocket = Bool(key, value); break;
            case "run_ms": RunMs = Int(key, value); break;
            case "exit": Exit = Int(key, value); break;
            case "signal": Signal = Int(key, value); break;
            case "ignore_stop": IgnoreStop = Bool(key, value); break;
            case "console_lines": ConsoleLines = Int(key, value); break;
            case "console_bytes": ConsoleBytes = Long(key, value); break;
            case "stderr_lines": StderrLines = Int(key, value); break;
            case "console_tick_ms": ConsoleTickMs = Int(key, value); break;
            case "console_echo": ConsoleEcho = Bool(key, value); break;
            case "record": Record = value; break;
            case "parsed": Parsed = value; break;
            case "pid_file": PidFile = value; break;
            case "spawn_child": SpawnChild = Bool(key, value); break;
            case "child_pid_file": ChildPidFile = value; break;
            case "vconsole_write": VirtioConsoleWrites.Add(PortBytes(key, value)); break;
            case "vconsole_echo": VirtioConsoleEchoes.Add(Long(key, value)); break;
            default: throw new CommandFailedException($"fake-crosvm: unknown scenario key '{key}'");
        }
    }

    private static int Int(string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int result) && result >= 0
            ? result
            : throw new CommandFailedException($"fake-crosvm: scenario key '{key}' needs a non-negative integer, got '{value}'");

    private static long Long(string key, string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long result) && result >= 0
            ? result
            : throw new CommandFailedException($"fake-crosvm: scenario key '{key}' needs a non-negative integer, got '{value}'");

    /// <summary><c>NUM:HEX</c>, e.g. <c>1:0100</c>.</summary>
    private static (long, byte[]) PortBytes(string key, string value)
    {
        int colon = value.IndexOf(':', StringComparison.Ordinal);
        try
        {
            if (colon > 0)
            {
                return (Long(key, value[..colon]), Convert.FromHexString(value[(colon + 1)..]));
            }
        }
        catch (FormatException)
        {
        }

        throw new CommandFailedException($"fake-crosvm: scenario key '{key}' needs NUM:HEX, got '{value}'");
    }

    private static bool Bool(string key, string value) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new CommandFailedException($"fake-crosvm: scenario key '{key}' needs true or false, got '{value}'"),
    };
}
