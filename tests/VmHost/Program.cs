// A separate host process for tests that need one: cross-process (and cross-user) CID allocation and "VMs die with
// their host".
//   VmHost alloc <cidNamespace> <tempDir> <count> [<first> <last>]
//                                           create <count> VMs (CIDs <first>..<last>, default 10..65535) in CID namespace
//                                           <cidNamespace> with <tempDir> as TemporaryDirectory, print their CIDs one per
//                                           line, then "READY", and hold them until stdin closes. Every other option keeps
//                                           its default.
//   VmHost run <crosvm> <kernel> <tempDir>  start a VM from a short-lived thread, print "VMM <pid>", then wait forever
//                                           (in a CID namespace of its own).
//   VmHost emfile <vmm> <kernel> <tempDir>  in a process where no VM was started yet: starts a VM with RLIMIT_NOFILE
//                                           lowered to 0, 1, 2, ... descriptors above those open, for the first 200 ms of
//                                           the start (a passing shortage), printing "LIMIT <n> <outcome>" for each, until
//                                           one starts; then starts one more under the normal limit and prints
//                                           "AFTER <state>". Then the process's first graceful stop meets the same
//                                           shortage ("STOP-DURING-SHORTAGE <death reason>") and one more stop runs
//                                           without it ("STOP-AFTER <death reason>"). A start or stop that meets the
//                                           shortage must not stop later ones of the process from working.
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Virtualization.Core;

switch (args.Length > 0 ? args[0] : string.Empty)
{
    case "alloc":
    {
        var options = new VirtualizationServiceOptions { Vmm = VmmKind.Crosvm, CidNamespace = args[1], TemporaryDirectory = args[2] };
        if (args.Length >= 6)
        {
            options = options with
            {
                FirstGuestCid = int.Parse(args[4], CultureInfo.InvariantCulture),
                LastGuestCid = int.Parse(args[5], CultureInfo.InvariantCulture),
            };
        }

        var service = new VirtualizationService(options);
        int count = int.Parse(args[3], CultureInfo.InvariantCulture);
        string kernel = Path.Combine(Path.GetTempPath(), $"vmhost-kernel-{Environment.ProcessId}");
        await File.WriteAllTextAsync(kernel, "kernel");
        try
        {
            var vms = new List<IVirtualMachine>();
            for (int i = 0; i < count; i++)
            {
                vms.Add(await service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel }));
            }

            foreach (IVirtualMachine vm in vms)
            {
                Console.WriteLine(vm.Cid.ToString(CultureInfo.InvariantCulture));
            }

            Console.WriteLine("READY");
            Console.Out.Flush();
            await Console.In.ReadToEndAsync();
        }
        finally
        {
            await service.DisposeAsync();
            File.Delete(kernel);
        }

        return 0;
    }

    case "run":
    {
        var service = new VirtualizationService(new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = args[1],
            TemporaryDirectory = args[3],
            CidNamespace = "vmhost-" + Environment.ProcessId,
        });

        // Create and start from a thread that exits right after: the VMM must outlive it.
        IVirtualMachine? vm = null;
        var thread = new Thread(() =>
        {
            vm = service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = args[2] }).GetAwaiter().GetResult();
            vm.StartAsync().GetAwaiter().GetResult();
        });
        thread.Start();
        thread.Join();
        int pid = service.DebugListVms()[0].ProcessId ?? -1;
        Console.WriteLine($"VMM {pid}");
        Console.Out.Flush();
        await Task.Delay(Timeout.Infinite);
        return 0;
    }

    case "emfile":
    {
        await using var service = new VirtualizationService(new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = args[1],
            TemporaryDirectory = args[3],
            CidNamespace = "vmhost-" + Environment.ProcessId,
        }, new StderrLoggerFactory());
        var config = new VirtualMachineRawConfig { Kernel = args[2] };

        // The runtime's own lazily made state (its socket engine, its child-process handling) is made first: what is
        // under test is the library's.
        using (var a = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            a.Bind(new UnixDomainSocketEndPoint("\0vmhost-warm-" + Environment.ProcessId));
            a.Listen();
            using var b = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await b.ConnectAsync(new UnixDomainSocketEndPoint("\0vmhost-warm-" + Environment.ProcessId));
            using Socket c = await a.AcceptAsync();
            await b.SendAsync("x"u8.ToArray());
            await c.ReceiveAsync(new byte[1]);
        }

        using (var warm = System.Diagnostics.Process.Start("/bin/true")!)
        {
            await warm.WaitForExitAsync();
        }

        // Threads the runtime would otherwise create under the lowered limit, where it cannot (a worker or the timer
        // thread needs a descriptor as it starts): enough pool workers that none is added, and the timer thread.
        ThreadPool.SetMinThreads(16, 16);
        using (var gate = new Barrier(16))
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => gate.SignalAndWait())));
        }

        await Task.Delay(1);

        RLimits.Get(out RLimits.RLimit normal);

        // A passing shortage, as a busy host has: no descriptor beyond `extra` more while `operation` runs, for its first
        // 200 ms (the length of the fault, not a wait for an event) or until it is over; then the limit comes back.
        async Task<string> DuringShortage(int extra, Func<Task> operation, Func<Task<string>> outcome)
        {
            RLimits.Set(new RLimits.RLimit { Current = (ulong)RLimits.LowestFreeDescriptor() + (ulong)extra, Maximum = normal.Maximum });
            Task running;
            try
            {
                running = operation();
                await Task.WhenAny(running, Task.Delay(200));
            }
            finally
            {
                RLimits.Set(normal);
            }

            try
            {
                await running.WaitAsync(TimeSpan.FromSeconds(60));
                return await outcome();
            }
            catch (Exception e)
            {
                return $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
            }
        }

        for (int extra = 0; extra <= 64; extra++)
        {
            IVirtualMachine vm = await service.CreateVmAsync(config);
            string outcome = await DuringShortage(extra, () => vm.StartAsync(), () => Task.FromResult("started"));
            Console.WriteLine($"LIMIT {extra} {outcome}");
            await vm.DisposeAsync();
            if (outcome == "started")
            {
                break;
            }
        }

        IVirtualMachine after = await service.CreateVmAsync(config);
        await after.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Console.WriteLine($"AFTER {after.State}");
        await after.DisposeAsync();

        // The process's first graceful stop (`crosvm stop`, through MedallionShell) during a shortage, then one without.
        IVirtualMachine stopped = await service.CreateVmAsync(config);
        await stopped.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        string stopOutcome = await DuringShortage(
            0, () => stopped.StopAsync(), async () => (await stopped.WaitForDeathAsync().WaitAsync(TimeSpan.FromSeconds(60))).ToString());
        Console.WriteLine($"STOP-DURING-SHORTAGE {stopOutcome}");
        await stopped.DisposeAsync();
        IVirtualMachine last = await service.CreateVmAsync(config);
        await last.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await last.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Console.WriteLine($"STOP-AFTER {await last.WaitForDeathAsync().WaitAsync(TimeSpan.FromSeconds(60))}");
        await last.DisposeAsync();
        return 0;
    }

    default:
        await Console.Error.WriteLineAsync("usage: VmHost alloc <cidNamespace> <tempDir> <count> [<first> <last>] | VmHost run <crosvm> <kernel> <tempDir> | VmHost emfile <vmm> <kernel> <tempDir>");
        return 2;
}

/// <summary>RLIMIT_NOFILE, for the <c>emfile</c> mode.</summary>
internal static partial class RLimits
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>The lowest descriptor number not in use (the next one open() returns).</summary>
    public static int LowestFreeDescriptor()
    {
        using var probe = File.OpenHandle("/dev/null");
        return (int)probe.DangerousGetHandle();
    }

    public static void Get(out RLimit limit)
    {
        if (GetRLimit(RLIMIT_NOFILE, out limit) != 0)
        {
            throw new InvalidOperationException($"getrlimit failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public static void Set(in RLimit limit)
    {
        if (SetRLimit(RLIMIT_NOFILE, limit) != 0)
        {
            throw new InvalidOperationException($"setrlimit failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    /// <summary><c>struct rlimit</c> (64-bit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}

/// <summary>Warnings and errors of the library on stderr (the test shows them when a step fails).</summary>
internal sealed class StderrLoggerFactory : Microsoft.Extensions.Logging.ILoggerFactory, Microsoft.Extensions.Logging.ILogger
{
    public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
    {
    }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Console.Error.WriteLine($"{logLevel}: {formatter(state, exception)} {exception?.GetType().Name}: {exception?.Message}");
        }
    }
}
