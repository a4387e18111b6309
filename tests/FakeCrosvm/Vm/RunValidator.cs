using System.Globalization;
using System.Text;

namespace FakeCrosvm.Vm;

/// <summary>
/// The checks crosvm makes after parsing (all exit 1): executable choice, vsock options, root disks,
/// serial ports, kernel command line, control socket path, and that the files exist (disks are opened
/// and flock'ed like crosvm: shared when read-only, exclusive when writable).
/// </summary>
internal static class RunValidator
{
    private const int MaxCommandLineBytes = 2048; // including the terminating NUL
    private static readonly string[] s_earlyconPorts = ["0x3f8", "0x2f8", "0x3e8", "0x2e8"];

    /// <exception cref="CommandFailedException">The configuration is not valid.</exception>
    public static VmPlan Validate(RunOptions options)
    {
        if (options.Kernel is not null && options.Bios is not null)
        {
            throw new CommandFailedException("'KERNEL' and '--bios' cannot be given together");
        }

        if (options.Kernel is null && options.Bios is null)
        {
            throw new CommandFailedException("Executable is not specified");
        }

        if (options.Cid is not null && options.VsockCid is not null)
        {
            throw new CommandFailedException("'--cid' and '--vsock' cannot be given together");
        }

        if (options.Disks.Count(d => d.Root) > 1)
        {
            throw new CommandFailedException("only one root disk can be specified");
        }

        List<SerialOption> ports = EffectiveSerialPorts(options.Serials);
        string commandLine = BuildCommandLine(options, ports);
        string? socketPath = ResolveSocketPath(options.Socket);

        RequireFile(options.Kernel, "kernel image");
        RequireFile(options.Initrd, "initrd image");
        RequireFile(options.Bios, "BIOS image");

        CreateSerialFiles(ports);

        var disks = new List<FileStream>();
        var streams = new List<SerialStream>();
        try
        {
            foreach (DiskOption disk in options.Disks)
            {
                disks.Add(OpenDisk(disk));
            }

            foreach (SerialOption port in ports.Where(p => p.Type == "unix-stream"))
            {
                streams.Add(SerialStream.Connect(port));
            }
        }
        catch
        {
            disks.ForEach(d => d.Dispose());
            streams.ForEach(s => s.Dispose());
            throw;
        }

        return new VmPlan(options, socketPath, commandLine, ConsoleTargets(ports), disks, streams) { ReadsStdin = ports.Any(p => p.Stdin) };
    }

    /// <summary>The ports after crosvm's defaulting: without any console port and without COM1, COM1 is stdout+console+stdin.</summary>
    private static List<SerialOption> EffectiveSerialPorts(IReadOnlyList<SerialOption> given)
    {
        var seen = new HashSet<(string, long)>();
        foreach (SerialOption port in given)
        {
            string hardware = port.IsVirtioConsole ? "virtio-console" : port.Hardware;
            if (!seen.Add((hardware, port.Num)))
            {
                throw new CommandFailedException($"serial hardware {hardware} num {port.Num} is given more than once");
            }

            long max = port.Hardware == "serial" ? 4 : long.MaxValue;
            if (port.Num < 1 || port.Num > max)
            {
                throw new CommandFailedException($"serial num {port.Num} is out of range");
            }

            if (port.Type is "file" or "unix" or "unix-stream" && port.Path is null)
            {
                throw new CommandFailedException($"serial type {port.Type} needs a path");
            }

            if (port.Earlycon && port.Hardware != "serial")
            {
                throw new CommandFailedException("earlycon is only supported for hardware=serial");
            }

            if (port.Stdin && port.Input is not null)
            {
                throw new CommandFailedException("serial 'stdin' and 'input' cannot be combined");
            }

            if (port.InputUnixStream && port.Input is not null)
            {
                throw new CommandFailedException("Invalid serial config specified: input-unix-stream can't be passed when input is specified");
            }

            if (port.InputUnixStream && port.Type != "unix-stream")
            {
                throw new CommandFailedException("Invalid serial config specified: input-unix-stream must be used with type=unix-stream");
            }
        }

        if (given.Count(p => p.Earlycon) > 1)
        {
            throw new CommandFailedException("'earlycon' may be set on only one serial port");
        }

        if (given.Count(p => p.Stdin) > 1)
        {
            throw new CommandFailedException("'stdin' may be set on only one serial port");
        }

        var ports = given.ToList();
        bool anyConsole = ports.Exists(p => p.Console);
        bool hasCom1 = ports.Exists(p => p.Hardware == "serial" && p.Num == 1);
        if (!anyConsole && !hasCom1)
        {
            ports.Add(new SerialOption("stdout", "serial", 1, null, null, Console: true, Earlycon: false, Stdin: true));
        }

        return ports;
    }

    private static string BuildCommandLine(RunOptions options, List<SerialOption> ports)
    {
        var parts = new List<string> { "panic=-1" };
        parts.AddRange(ports.Where(p => p.Console).Select(p => $"console={p.KernelDevice}"));
        SerialOption? early = ports.Find(p => p.Earlycon);
        if (early is not null)
        {
            parts.Add($"earlycon=uart8250,io,{s_earlyconPorts[early.Num - 1]}");
        }

        foreach (string param in options.Params)
        {
            if (param.Any(c => c is < ' ' or > '~'))
            {
                throw new CommandFailedException($"the parameter '{param}' contains a character that is not printable ASCII");
            }

            parts.Add(param);
        }

        int rootIndex = options.Disks.FindIndex(d => d.Root);
        if (rootIndex >= 0)
        {
            parts.Add($"root=/dev/vd{DiskLetters(rootIndex)} {(options.Disks[rootIndex].ReadOnly ? "ro" : "rw")}");
        }

        string commandLine = string.Join(' ', parts);
        int length = Encoding.ASCII.GetByteCount(commandLine) + 1;
        if (length > MaxCommandLineBytes)
        {
            throw new CommandFailedException(string.Create(
                CultureInfo.InvariantCulture,
                $"the kernel command line is too long: {length} bytes including the NUL, the maximum is {MaxCommandLineBytes}"));
        }

        return commandLine;
    }

    /// <summary>0 → a, 25 → z, 26 → aa, like crosvm's virtio disk names.</summary>
    private static string DiskLetters(int index)
    {
        var builder = new StringBuilder();
        int n = index + 1;
        while (n > 0)
        {
            n--;
            builder.Insert(0, (char)('a' + (n % 26)));
            n /= 26;
        }

        return builder.ToString();
    }

    private static string? ResolveSocketPath(string? socket)
    {
        if (socket is null)
        {
            return null;
        }

        if (Directory.Exists(socket))
        {
            return Path.Combine(socket, $"crosvm-{Environment.ProcessId}.sock");
        }

        if (File.Exists(socket))
        {
            throw new CommandFailedException($"failed to create control server at '{socket}': Address already in use (os error 98)");
        }

        return socket;
    }

    private static void RequireFile(string? path, string what)
    {
        if (path is not null && !File.Exists(path))
        {
            throw new CommandFailedException($"failed to open {what} '{path}': No such file or directory (os error 2)");
        }
    }

    /// <summary>crosvm opens every <c>type=file</c> port append+create at startup, console or not.</summary>
    private static void CreateSerialFiles(List<SerialOption> ports)
    {
        foreach (SerialOption port in ports.Where(p => p.Type == "file"))
        {
            try
            {
                using var file = new FileStream(port.Path!, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CommandFailedException($"failed to open serial output file '{port.Path}': {e.Message}", e);
            }
        }
    }

    private static FileStream OpenDisk(DiskOption disk)
    {
        if (!File.Exists(disk.Path))
        {
            throw new CommandFailedException($"failed to load disk image '{disk.Path}': No such file or directory (os error 2)");
        }

        // .NET on Unix takes flock(LOCK_EX|LOCK_NB) for FileShare.None and LOCK_SH otherwise, which is
        // exactly crosvm's locking (exclusive for writable disks, shared for read-only ones).
        FileAccess access = disk.ReadOnly ? FileAccess.Read : FileAccess.ReadWrite;
        FileShare share = disk.ReadOnly || !disk.Lock ? FileShare.ReadWrite : FileShare.None;
        try
        {
            return new FileStream(disk.Path, FileMode.Open, access, share, 1, FileOptions.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException($"failed to load disk image '{disk.Path}': {e.Message}", e);
        }
    }

    private static List<ConsoleTarget> ConsoleTargets(List<SerialOption> ports)
    {
        var targets = new List<ConsoleTarget>();
        if (ports.Exists(p => p.Type == "stdout"))
        {
            targets.Add(new ConsoleTarget(ConsoleTargetKind.Stdout, null));
        }

        foreach (SerialOption port in ports.Where(p => p.Console))
        {
            if (port.Type == "file")
            {
                targets.Add(new ConsoleTarget(ConsoleTargetKind.File, port.Path));
            }
            else if (port.Type == "unix")
            {
                targets.Add(new ConsoleTarget(ConsoleTargetKind.UnixDatagram, port.Path));
            }
        }

        return targets;
    }
}
