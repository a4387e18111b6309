using System.Globalization;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// The independent oracle for the library's hand-written native layouts and constants: compiles a small C program
/// against this machine's headers, runs it, and reads the <c>name value</c> lines it prints (sizes, offsets, flags).
/// Without a C compiler or a header the test skips, or fails when CI requires <see cref="Requirement.CCompiler"/>.
/// </summary>
internal static class CHeaderProbe
{
    /// <summary>Compiles and runs <paramref name="program"/>; returns its values by name.</summary>
    /// <param name="program">C source whose <c>main</c> prints one <c>name value</c> line per value (decimal).</param>
    /// <param name="headers">Headers under <c>/usr/include</c> (or its multiarch folder) it needs (e.g. <c>linux/vm_sockets.h</c>), checked first so
    /// that a missing one is a skip that names the package rather than a compiler error.</param>
    public static async Task<Values> RunAsync(string program, params string[] headers)
    {
        string? cc = TestPaths.CCompiler;
        Requirement.Require(
            Requirement.CCompiler, cc is not null, $"no C compiler (cc) on this machine: cannot compare with <{string.Join(">, <", headers)}>");
        foreach (string header in headers)
        {
            Requirement.Require(
                Requirement.CCompiler, IsInstalled(header), $"<{header}> is not installed (linux-libc-dev, libc6-dev)");
        }

        using var temp = new TempDir("vct-cprobe-");
        string source = temp.File("probe.c");
        string binary = temp.File("probe");
        await File.WriteAllTextAsync(source, program);
        (int ccExit, string ccOut, string ccErr) = await TestProcess.RunAsync(cc!, "-o", binary, source);
        ccExit.Should().Be(0, "the probe program must compile: {0}{1}", ccOut, ccErr);
        (int exit, string output, string stderr) = await TestProcess.RunAsync(binary);
        exit.Should().Be(0, "the probe program must run: {0}", stderr);

        return new Values(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2))
            .ToDictionary(pair => pair[0], pair => pair[1]));
    }

    // In /usr/include, or in its multiarch folder (/usr/include/x86_64-linux-gnu/sys/stat.h).
    private static bool IsInstalled(string header) =>
        File.Exists(Path.Combine("/usr/include", header))
        || Directory.EnumerateDirectories("/usr/include", "*-linux-*").Any(dir => File.Exists(Path.Combine(dir, header)));

    /// <summary>What the probe printed: <c>probe["name"]</c> for a number, <see cref="Text"/> for anything else.</summary>
    internal sealed class Values(IReadOnlyDictionary<string, string> printed)
    {
        /// <summary>The decimal value printed for <paramref name="name"/>.</summary>
        public long this[string name] => long.Parse(Text(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

        /// <summary>The text printed for <paramref name="name"/>, as it is.</summary>
        public string Text(string name) =>
            printed.TryGetValue(name, out string? value) ? value : throw new KeyNotFoundException($"the probe printed no line for {name}");
    }
}
