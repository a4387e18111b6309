namespace FakeCrosvm.Vm;

/// <summary>A validated run: the options, where things go, and the disk images held open (and locked).</summary>
internal sealed class VmPlan : IDisposable
{
    public VmPlan(
        RunOptions options,
        string? socketPath,
        string commandLine,
        IReadOnlyList<ConsoleTarget> consoles,
        IReadOnlyList<FileStream> disks,
        IReadOnlyList<SerialStream> serialStreams)
    {
        Options = options;
        SocketPath = socketPath;
        CommandLine = commandLine;
        Consoles = consoles;
        Disks = disks;
        SerialStreams = serialStreams;
    }

    public RunOptions Options { get; }

    /// <summary>The resolved control socket path (a directory becomes <c>DIR/crosvm-&lt;pid&gt;.sock</c>).</summary>
    public string? SocketPath { get; }

    /// <summary>The kernel command line crosvm would pass.</summary>
    public string CommandLine { get; }

    public IReadOnlyList<ConsoleTarget> Consoles { get; }

    /// <summary>Whether a serial port has <c>stdin</c> (after defaulting): only then does the guest read crosvm's stdin.</summary>
    public bool ReadsStdin { get; init; }

    public IReadOnlyList<FileStream> Disks { get; }

    /// <summary>The connected <c>type=unix-stream</c> ports (crosvm connects them once, when it creates the devices).</summary>
    public IReadOnlyList<SerialStream> SerialStreams { get; }

    public void Dispose()
    {
        foreach (FileStream disk in Disks)
        {
            disk.Dispose();
        }

        foreach (SerialStream stream in SerialStreams)
        {
            stream.Dispose();
        }
    }
}
