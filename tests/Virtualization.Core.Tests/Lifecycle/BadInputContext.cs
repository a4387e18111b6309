using System.Net.Sockets;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>Files of every kind for one cell of the bad-input matrix, in the cell's own <see cref="TestHarness"/>.</summary>
internal sealed class BadInputContext : IDisposable
{
    /// <summary>A file name with every character that could matter to an argv or option parser, and a leading '-'.</summary>
    public const string AwkwardName = "-x=--mem,a \"q\" 'b' [c]\nd";

    /// <summary>A file name with non-ASCII characters.</summary>
    public const string NonAsciiName = "ünï-日本-é";

    private readonly List<Socket> _sockets = [];

    public BadInputContext(TestHarness harness)
    {
        H = harness;
        ParsedPath = Path.Combine(harness.Root, "parsed.json");
        Kernel = Scenario(Path.Combine(harness.Root, "kernel"));
    }

    public TestHarness H { get; }

    /// <summary>Where the fake crosvm writes what it parsed.</summary>
    public string ParsedPath { get; }

    /// <summary>A kernel that makes the fake record what it parsed.</summary>
    public string Kernel { get; }

    public string Missing => Path.Combine(H.Root, "missing");

    /// <summary>A folder whose own name is awkward too.</summary>
    public string AwkwardDirectory
    {
        get
        {
            string dir = Path.Combine(H.Root, "-d=,\"' x");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>Writes the recording scenario at <paramref name="path"/> (a kernel or bootloader) and returns the path.</summary>
    public string Scenario(string path) => new FakeScenario { Parsed = ParsedPath }.WriteKernel(path);

    /// <summary>A regular file of <paramref name="size"/> bytes at <paramref name="path"/>.</summary>
    public static string File(string path, int size = 4096)
    {
        System.IO.File.WriteAllBytes(path, new byte[size]);
        return path;
    }

    public string File(int size = 4096) => File(Path.Combine(H.Root, $"file-{Guid.NewGuid():N}.img"), size);

    public Task<string> FifoAsync() => SpecialFiles.FifoAsync(Path.Combine(H.Root, $"fifo-{Guid.NewGuid():N}"));

    /// <summary>A unix socket file, kept until this context is disposed.</summary>
    public string Socket()
    {
        string path = Path.Combine(H.Root, $"s-{Guid.NewGuid():N}.sock");
        _sockets.Add(SpecialFiles.BoundSocket(path));
        return path;
    }

    public string Symlink(string target)
    {
        string link = Path.Combine(H.Root, $"link-{Guid.NewGuid():N}");
        System.IO.File.CreateSymbolicLink(link, target);
        return link;
    }

    public void Dispose() => _sockets.ForEach(s => s.Dispose());
}
