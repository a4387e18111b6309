using System.Diagnostics;
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
/// <c>setpriv --pdeathsig KILL -- setsid --</c>, stdio piped, returns once <c>crosvm.sock</c> exists, polled at
/// 1, 2, 4 … 20 ms) → <c>Kill</c> → <c>WaitForDeathAsync</c> (OnDied delivered, folder deleted, CID released) →
/// <c>DisposeAsync</c>.</item>
/// <item>Baseline A <c>Raw_StartKillWait</c>: <c>Process.Start(stub)</c> → <c>Kill</c> → <c>WaitForExitAsync</c>.
/// The stub is usually killed before it has bound its socket.</item>
/// <item>B <c>Raw_StartSocketKillWait</c>: as A, but waits for the socket file first (tight
/// <c>File.Exists</c> poll with <c>Thread.Yield</c>): the floor of "start until up, then kill".</item>
/// <item>C <c>Wrapped_StartSocketKillWait</c>: as B, launched through the same <c>setpriv</c>/<c>setsid</c> wrapper
/// the library uses, to show what the wrapper itself costs.</item>
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
        _config = new VirtualMachineRawConfig { Kernel = _temp.File("vmlinuz", 4096), Params = "console=ttyS0 quiet" };
        _service = new VirtualizationService(new VirtualizationServiceOptions
        {
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
        _temp.Dispose();
        _stubFolder.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Lifecycle")]
    public async Task Raw_StartKillWait()
    {
        File.Delete(_rawSocket);
        using Process process = Start(_stub, ["run", "--socket", _rawSocket]);
        process.Kill();
        await process.WaitForExitAsync();
    }

    [Benchmark]
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
    public async Task Wrapped_StartSocketKillWait()
    {
        File.Delete(_rawSocket);
        using Process process = Start("/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", "/usr/bin/setsid", "--", _stub, "run", "--socket", _rawSocket]);
        WaitForSocket(process);
        process.Kill();
        await process.WaitForExitAsync();
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
