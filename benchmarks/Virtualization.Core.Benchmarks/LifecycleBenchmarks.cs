using System.Diagnostics;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// A VM's whole life with a stub VMM (<c>stub-vmm.c</c>: binds the <c>--socket</c> path, then <c>pause()</c>s),
/// against starting and killing the same stub directly.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>Library</c>: <c>CreateVmAsync</c> → <c>RegisterCallback</c> → <c>StartAsync</c> (launch through
/// <c>vcore-exec</c> on the spawn thread, helper handshake over the process-wide abstract socket, pidfd, go byte;
/// returns once <c>crosvm.sock</c> exists, polled at 0.5, 1, 2 … 16 ms) → <c>Kill</c> (SIGTERM to the helper through
/// its pidfd; the helper SIGKILLs the stub's group) → <c>WaitForDeathAsync</c> (pidfd readable, helper reaped, stderr
/// drained, OnDied delivered, folder deleted, CID released) → <c>DisposeAsync</c>.</item>
/// <item>A <c>Raw_StartKillWait</c>: <c>Process.Start(stub)</c> → <c>Kill</c> → <c>WaitForExitAsync</c>.
/// The stub is usually killed before it has bound its socket.</item>
/// <item>Baseline B <c>Raw_StartSocketKillWait</c> (the process-layer issue's baseline): as A, but waits for the socket
/// file first (tight <c>File.Exists</c> poll with <c>Thread.Yield</c>): the floor of "start until up, then kill".</item>
/// <item>D <c>Helper_StartSocketKillWait</c>: B launched through the library's <c>vcore-exec</c> with the least host
/// side its protocol needs (<see cref="RawHelperHost"/>), killed the way the library kills (SIGTERM to the helper):
/// the process tree the library creates, without the library. (C, the old <c>setpriv</c>/<c>setsid</c> wrapper, was
/// dropped with the wrapper.)</item>
/// </list>
/// </remarks>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 20, id: "Short20")]
[MemoryDiagnoser]
public class LifecycleBenchmarks
{
    private BenchTemp _temp = null!;
    private BenchTemp _stubFolder = null!;
    private string _stub = null!;
    private string _rawSocket = null!;
    private VirtualizationService _service = null!;
    private VirtualMachineRawConfig _config = null!;
    private RawHelperHost _helperHost = null!;

    /// <summary>Where the scratch folder (VM folders, CID cursor, images, output) lives.</summary>
    [Params(BenchTemp.Tmpfs, BenchTemp.Disk)]
    public string Fs { get; set; } = BenchTemp.Tmpfs;

    [GlobalSetup]
    public void Setup()
    {
        _temp = new BenchTemp("life", Fs);
        _stubFolder = new BenchTemp("stub"); // on disk: /dev/shm may be mounted noexec
        _stub = StubVmm.Compile(_stubFolder.Path);
        _rawSocket = _temp.Combine("raw.sock");
        _helperHost = new RawHelperHost();
        _config = new VirtualMachineRawConfig { Kernel = _temp.File("vmlinuz", 4096), Params = "console=ttyS0 quiet" };
        _service = new VirtualizationService(new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = _stub,
            TemporaryDirectory = _temp.Folder("vms"),
            CidNamespace = "bench-" + Guid.NewGuid().ToString("N"),
            FirstGuestCid = 10,
            LastGuestCid = 100,
            StartTimeout = TimeSpan.FromSeconds(10),
        });
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _service.DisposeAsync();
        _helperHost.Dispose();
        _temp.Dispose();
        _stubFolder.Dispose();
    }

    [Benchmark]
    [BenchmarkCategory("Lifecycle")]
    public async Task Raw_StartKillWait()
    {
        File.Delete(_rawSocket);
        using Process process = Start(_stub, ["run", "--socket", _rawSocket]);
        process.Kill();
        await process.WaitForExitAsync();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Lifecycle")]
    public async Task Raw_StartSocketKillWait()
    {
        File.Delete(_rawSocket);
        using Process process = Start(_stub, ["run", "--socket", _rawSocket]);
        WaitForSocket(process);
        process.Kill();
        await process.WaitForExitAsync();
    }

    [Benchmark]
    [BenchmarkCategory("Lifecycle")]
    public async Task Helper_StartSocketKillWait()
    {
        File.Delete(_rawSocket);
        (Process helper, Socket stderr) = _helperHost.Start(_stub, ["run", "--socket", _rawSocket]);
        using (helper)
        using (stderr)
        {
            WaitForSocket(helper);
            Signals.Send(helper.Id, Signals.SIGTERM); // the helper SIGKILLs the stub's group, reaps it, exits
            await helper.WaitForExitAsync();
        }
    }

    [Benchmark]
    [BenchmarkCategory("Lifecycle")]
    public async Task Library_CreateStartKillWaitForDeath()
    {
        IVirtualMachine vm = await _service.CreateVmAsync(_config);
        var died = new DiedCallback();
        using (vm.RegisterCallback(died))
        {
            await vm.StartAsync();
            vm.Kill();
            DeathReason reason = await vm.WaitForDeathAsync();
            if (reason != DeathReason.Killed || !died.Delivered.IsCompleted)
            {
                throw new InvalidOperationException($"Expected Killed with OnDied delivered; got {reason}, delivered={died.Delivered.IsCompleted}.");
            }
        }

        await vm.DisposeAsync();
    }

    private static Process Start(string program, string[] arguments)
    {
        var startInfo = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return Process.Start(startInfo) ?? throw new InvalidOperationException($"{program} did not start.");
    }

    private void WaitForSocket(Process process)
    {
        while (!File.Exists(_rawSocket))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The stub exited with {process.ExitCode} before binding its socket.");
            }

            Thread.Yield();
        }
    }

    private sealed class DiedCallback : IVirtualMachineCallback
    {
        private readonly TaskCompletionSource<DeathReason> _died = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<DeathReason> Delivered => _died.Task;

        public void OnDied(int cid, DeathReason reason) => _died.TrySetResult(reason);
    }
}
