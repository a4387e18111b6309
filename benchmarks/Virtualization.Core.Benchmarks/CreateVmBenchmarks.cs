using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// <c>CreateVmAsync</c> of a VM without disks (validation, CID, VM folder), against the floor of the file-system
/// work it has to do.
/// </summary>
/// <remarks>
/// Category <c>Create</c> measures creation alone: each invocation creates <see cref="N"/> VMs (or folders) and the
/// iteration cleanup, which is not timed, disposes them. Category <c>CreateDispose</c> times the round trip.
/// What a create does on disk: open the kernel file (readability check), open/create <c>&lt;cid&gt;.lock</c> and
/// <c>flock</c> it, read and rewrite the <c>next</c> cursor file, check the root and VM folders, <c>mkdir</c> the VM
/// folder. The baseline <c>mkdir</c> + <c>File.WriteAllText</c> is a lower bound of that work (two metadata
/// operations and one small write), not an equivalent of it.
/// </remarks>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 25, id: "Short25")]
[MemoryDiagnoser]
public class CreateVmBenchmarks
{
    /// <summary>VMs (or folders) created per invocation in the <c>Create</c> category.</summary>
    public const int N = 100;

    private BenchTemp _temp = null!;
    private VirtualizationService _service = null!;
    private VirtualMachineRawConfig _config = null!;
    private readonly IVirtualMachine[] _vms = new IVirtualMachine[N];
    private string _floorRoot = null!;
    private int _iteration;

    /// <summary>Where the scratch folder (VM folders, CID cursor, images, output) lives.</summary>
    [Params(BenchTemp.Tmpfs, BenchTemp.Disk)]
    public string Fs { get; set; } = BenchTemp.Tmpfs;

    [GlobalSetup]
    public void Setup()
    {
        _temp = new BenchTemp("create", Fs);
        _config = new VirtualMachineRawConfig { Kernel = _temp.File("vmlinuz", 4096), Params = "console=ttyS0 quiet" };
        _service = new VirtualizationService(new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = "/bin/true",
            TemporaryDirectory = _temp.Folder("vms"),
            CidNamespace = "bench-" + Guid.NewGuid().ToString("N"),
            FirstGuestCid = 10,
            LastGuestCid = 10 + (4 * N),
        });
        _floorRoot = _temp.Folder("floor");
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _service.DisposeAsync();
        _temp.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = N)]
    [BenchmarkCategory("Create")]
    public void Floor_MkdirAndWriteFile()
    {
        string prefix = Path.Combine(_floorRoot, "it" + _iteration + "-");
        for (int i = 0; i < N; i++)
        {
            string folder = prefix + i;
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "next"), "42");
        }
    }

    [IterationCleanup(Target = nameof(Floor_MkdirAndWriteFile))]
    public void DeleteFloorFolders()
    {
        string prefix = Path.Combine(_floorRoot, "it" + _iteration + "-");
        for (int i = 0; i < N; i++)
        {
            Directory.Delete(prefix + i, recursive: true);
        }

        _iteration++;
    }

    [Benchmark(OperationsPerInvoke = N)]
    [BenchmarkCategory("Create")]
    public async Task CreateVmAsync()
    {
        for (int i = 0; i < N; i++)
        {
            _vms[i] = await _service.CreateVmAsync(_config);
        }
    }

    [IterationCleanup(Target = nameof(CreateVmAsync))]
    public void DisposeVms()
    {
        for (int i = 0; i < N; i++)
        {
            _vms[i].DisposeAsync().AsTask().GetAwaiter().GetResult();
            _vms[i] = null!;
        }
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("CreateDispose")]
    public void Floor_MkdirWriteFileDelete()
    {
        string folder = Path.Combine(_floorRoot, "rt");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "next"), "42");
        Directory.Delete(folder, recursive: true);
    }

    [Benchmark]
    [BenchmarkCategory("CreateDispose")]
    public async Task CreateVmAsyncThenDisposeAsync()
    {
        IVirtualMachine vm = await _service.CreateVmAsync(_config);
        await vm.DisposeAsync();
    }
}
