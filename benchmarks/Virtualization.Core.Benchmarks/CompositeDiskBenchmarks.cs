using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Virtualization.Core.Disks;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// Building a crosvm composite disk of 8 partitions with the internal <see cref="CompositeDiskBuilder"/>, against
/// writing 4 plain files of the sizes it writes.
/// </summary>
/// <remarks>
/// <c>Build(partitions, …)</c> validates (opens and sizes each of the 8 images, checks labels), renders the GPT
/// header and footer, encodes the descriptor and creates 4 files: header (0x5000 B), zero filler (4096 B, sparse,
/// because one read-only image is not 4 KiB aligned), footer (0x5000 B) and descriptor. Partition data is never
/// copied. Each invocation builds <see cref="N"/> disks under distinct names; the untimed iteration cleanup deletes
/// them. The baseline writes 4 files of the same sizes with <c>File.WriteAllBytes</c> per disk.
/// </remarks>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 25, id: "Short25")]
[MemoryDiagnoser]
public class CompositeDiskBenchmarks
{
    /// <summary>Disks built per invocation.</summary>
    public const int N = 20;

    private static readonly int[] s_sizes =
    [
        4096, 64 * 1024, 1024 * 1024, 12_345 /* read-only, unaligned: needs the filler */,
        8192, 256 * 1024, 4096 * 3, 512 * 1024,
    ];

    private BenchTemp _temp = null!;
    private Partition[] _partitions = null!;
    private CompositeDiskPlan _plan = null!;
    private string _output = null!;
    private byte[][] _floorContents = null!;
    private int _iteration;

    /// <summary>Where the scratch folder (VM folders, CID cursor, images, output) lives.</summary>
    [Params(BenchTemp.Tmpfs, BenchTemp.Disk)]
    public string Fs { get; set; } = BenchTemp.Tmpfs;

    [GlobalSetup]
    public void Setup()
    {
        _temp = new BenchTemp("disk", Fs);
        _partitions = new Partition[s_sizes.Length];
        for (int i = 0; i < s_sizes.Length; i++)
        {
            string image = _temp.File($"part{i}.img", s_sizes[i]);
            _partitions[i] = new Partition($"partition_{i}", image, Writable: s_sizes[i] % 4096 == 0 && i % 2 == 0);
        }

        _plan = CompositeDiskBuilder.Validate(_partitions);
        _output = _temp.Folder("out");

        // One build to learn the sizes of the 4 files the baseline writes.
        string probe = _temp.Folder("probe");
        CompositeDiskBuildResult result = CompositeDiskBuilder.Build(_partitions, probe, "composite");
        string[] files = ["composite-header.img", "composite-filler.img", "composite-footer.img", "composite.img"];
        _floorContents = [.. files.Select(f => new byte[new FileInfo(Path.Combine(probe, f)).Length])];
        if (result.DescriptorPath != Path.Combine(probe, "composite.img"))
        {
            throw new InvalidOperationException($"Unexpected descriptor path {result.DescriptorPath}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _temp.Dispose();

    [IterationCleanup]
    public void DeleteOutput()
    {
        Directory.Delete(_output, recursive: true);
        Directory.CreateDirectory(_output);
        _iteration++;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = N)]
    [BenchmarkCategory("Composite8")]
    public void Floor_Write4Files()
    {
        for (int d = 0; d < N; d++)
        {
            string stem = Path.Combine(_output, $"f{_iteration}-{d}");
            File.WriteAllBytes(stem + "-header.img", _floorContents[0]);
            File.WriteAllBytes(stem + "-filler.img", _floorContents[1]);
            File.WriteAllBytes(stem + "-footer.img", _floorContents[2]);
            File.WriteAllBytes(stem + ".img", _floorContents[3]);
        }
    }

    [Benchmark(OperationsPerInvoke = N)]
    [BenchmarkCategory("Composite8")]
    public void Build_ValidateAndWrite()
    {
        for (int d = 0; d < N; d++)
        {
            CompositeDiskBuilder.Build(_partitions, _output, $"c{_iteration}-{d}");
        }
    }

    [Benchmark(OperationsPerInvoke = N)]
    [BenchmarkCategory("Composite8")]
    public void Build_FromPlan()
    {
        for (int d = 0; d < N; d++)
        {
            CompositeDiskBuilder.Build(_plan, _output, $"p{_iteration}-{d}");
        }
    }
}
