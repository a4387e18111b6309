using System.Diagnostics;

namespace Virtualization.Core.Benchmarks;

/// <summary>Compiles <c>stub-vmm.c</c> (copied next to the benchmark binary) with <c>cc</c> into a folder.</summary>
internal static class StubVmm
{
    public static string Compile(string outputFolder)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "stub-vmm.c");
        if (!File.Exists(source))
        {
            throw new FileNotFoundException("stub-vmm.c is not next to the benchmark binary.", source);
        }

        string output = Path.Combine(outputFolder, "stub-vmm");
        var startInfo = new ProcessStartInfo("cc") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "-O2", "-Wall", "-Werror", "-o", output, source })
        {
            startInfo.ArgumentList.Add(argument);
        }

        using Process cc = Process.Start(startInfo) ?? throw new InvalidOperationException("cc did not start.");
        string errors = cc.StandardError.ReadToEnd();
        cc.WaitForExit();
        if (cc.ExitCode != 0)
        {
            throw new InvalidOperationException($"cc failed with exit code {cc.ExitCode}:\n{errors}");
        }

        return output;
    }
}
