using System.Globalization;
using System.Runtime.InteropServices;

namespace FakeCrosvm.Vm;

/// <summary>Runs a validated plan according to its scenario and returns the process exit code.</summary>
internal sealed class FakeVm
{
    private readonly VmPlan _plan;
    private readonly Scenario _scenario;

    public FakeVm(VmPlan plan, Scenario scenario)
    {
        _plan = plan;
        _scenario = scenario;
    }

    public int Run()
    {
        using PosixSignalRegistration term = DieOn(PosixSignal.SIGTERM, NativeMethods.SigTerm);
        using PosixSignalRegistration interrupt = DieOn(PosixSignal.SIGINT, NativeMethods.SigInt);
        using PosixSignalRegistration hangup = DieOn(PosixSignal.SIGHUP, NativeMethods.SigHup);

        foreach (string warning in _plan.Options.Warnings)
        {
            Log.Warn(warning);
        }

        for (int i = 1; i <= _scenario.StderrLines; i++)
        {
            Log.Info(string.Create(CultureInfo.InvariantCulture, $"fake crosvm log line {i}"));
        }

        using ChildProcess? child = _scenario.SpawnChild ? ChildProcess.Start(_scenario.ChildPidFile) : null;

        if (_scenario.StartupMs > 0)
        {
            Thread.Sleep(_scenario.StartupMs);
        }

        if (_scenario.FailAtStart is int failCode)
        {
            Log.Info("fake crosvm: the scenario asks this VM to fail at start");
            Console.Error.WriteLine("[ERROR] failed to start: scenario asked to fail");
            Log.Error(string.Create(CultureInfo.InvariantCulture, $"exiting with error {failCode}: failed to start: scenario asked to fail"));
            return failCode;
        }

        var guest = new FakeGuest(
            _plan.Options.MemoryMib, !_plan.Options.NoBalloon, _plan.Consoles.Any(c => c.Kind == ConsoleTargetKind.Stdout));
        using ControlServer? server = _scenario.NoSocket || _plan.SocketPath is null
            ? null
            : ControlServer.Start(_plan.SocketPath, _scenario.IgnoreStop, guest);

        if (_scenario.PidFile is not null)
        {
            AtomicFile.WriteAllText(_scenario.PidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        }

        Task consoleWritten = new ConsoleOutput(_plan.Consoles, _scenario.ConsoleLines, _scenario.ConsoleBytes).Start();
        PlayVirtioConsoles();
        if (_scenario.ConsoleTickMs is int tick)
        {
            guest.StartTicks(tick);
        }

        if (_scenario.ConsoleEcho && _plan.ReadsStdin)
        {
            guest.StartEcho();
        }

        Task stop = Task.WhenAny(server?.StopRequested ?? Task.Delay(Timeout.Infinite), guest.PoweredOff);
        bool stopped = stop.Wait(_scenario.RunMs ?? Timeout.Infinite);
        if (!stopped && !consoleWritten.IsCompleted)
        {
            // The guest's run is over, but it is still writing its console and cannot get past that write (a vCPU
            // stalls on a full serial FIFO): it ends only once the output is read, or when it is stopped or killed.
            Log.Warn("fake crosvm: the guest's run is over but its console write is blocked; it waits for a reader");
            stopped = Task.WaitAny(stop, consoleWritten) == 0;
        }

        if (stopped)
        {
            Log.Info("fake crosvm: stop requested, exiting");
            return ExitCodes.Success;
        }

        if (_scenario.Signal is int signal)
        {
            NativeMethods.DieBySignal(signal);
            Thread.Sleep(500); // the signal should have ended us; if it was ignored or blocked, fall back to an exit code
            return 128 + signal;
        }

        return ExitCodes.ForVmOutcome(_scenario.Exit, _plan.Options.ExtendedStatus);
    }

    /// <summary>The guest's side of the unix-stream virtio consoles: scripted writes (in order), then echo threads.</summary>
    private void PlayVirtioConsoles()
    {
        foreach ((long num, byte[] bytes) in _scenario.VirtioConsoleWrites)
        {
            try
            {
                VirtioConsole(num).Socket.Send(bytes);
            }
            catch (System.Net.Sockets.SocketException)
            {
                // The host closed its end: a real guest's writes would go nowhere as well.
            }
        }

        foreach (long num in _scenario.VirtioConsoleEchoes)
        {
            SerialStream port = VirtioConsole(num);
            if (!port.Port.InputUnixStream)
            {
                throw new CommandFailedException($"fake-crosvm: vconsole_echo={num} needs input-unix-stream on that port");
            }

            var thread = new Thread(() => Echo(port)) { IsBackground = true, Name = $"vconsole-echo-{num}" };
            thread.Start();
        }
    }

    private SerialStream VirtioConsole(long num) =>
        _plan.SerialStreams.FirstOrDefault(s => s.Port.IsVirtioConsole && s.Port.Num == num)
        ?? throw new CommandFailedException($"fake-crosvm: the scenario uses virtio-console num {num}, which is not a unix-stream port");

    private static void Echo(SerialStream port)
    {
        byte[] buffer = new byte[4096];
        try
        {
            int read;
            while ((read = port.Socket.Receive(buffer)) > 0)
            {
                port.Socket.Send(buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>crosvm has no handler for these signals: die at once by the signal, without any cleanup.</summary>
    private static PosixSignalRegistration DieOn(PosixSignal posix, int number) =>
        PosixSignalRegistration.Create(posix, _ => NativeMethods.DieBySignal(number));
}
