namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Where the repository and the test programs built next to this suite are.</summary>
internal static class TestPaths
{
    private static readonly string[] s_compilers = ["/usr/bin/cc", "/usr/local/bin/cc", "/usr/bin/gcc"];

    private static readonly Lazy<string> s_repoRoot = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Virtualization.Core.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root above " + AppContext.BaseDirectory);
    });

    /// <summary>The repository root (the folder of Virtualization.Core.sln).</summary>
    internal static string RepoRoot => s_repoRoot.Value;

    /// <summary>Debug or Release: the configuration this suite was built in.</summary>
    internal static string Configuration =>
        AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The fake crosvm executable.</summary>
    internal static string FakeCrosvm => Program("FakeCrosvm");

    /// <summary>The helper host executable.</summary>
    internal static string VmHost => Program("VmHost");

    /// <summary>The C compiler the layout tests build their probes with, or null when this machine has none.</summary>
    internal static string? CCompiler => s_compilers.FirstOrDefault(File.Exists);

    /// <summary>The C stub VMM (tests/StubVmm), built next to this suite.</summary>
    internal static string StubVmm => Path.Combine(AppContext.BaseDirectory, "stub-vmm");

    private static string Program(string name)
    {
        string path = Path.Combine(RepoRoot, "tests", name, "bin", Configuration, "net10.0", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{name} was not built; build the solution first.", path);
    }
}
