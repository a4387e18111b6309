using System.Diagnostics;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// The suite's one way to run a short-lived program to its exit (a compiler, a probe, sgdisk, mkfifo, dotnet pack, the
/// fake crosvm outside a harness). The wait is bounded: a program that hangs is killed with everything it started, and
/// a <see cref="TimeoutException"/> names it, instead of the test hanging until xunit's own timeout.
/// </summary>
internal static class TestProcess
{
    /// <summary>How long <see cref="RunAsync(string, string[])"/> waits.</summary>
    public static readonly TimeSpan DefaultBound = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Runs <paramref name="exe"/> with <paramref name="args"/> (each one argv element, never re-split) under
    /// <c>LC_ALL=C</c> and returns its exit code and both outputs; killed after <see cref="DefaultBound"/>.
    /// </summary>
    public static Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(string exe, params string[] args) =>
        RunAsync(exe, DefaultBound, args);

    /// <summary><see cref="RunAsync(string, string[])"/> with its bound given (a pack or a whole child host).</summary>
    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(string exe, TimeSpan bound, params string[] args)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["LC_ALL"] = "C";
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(bound);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not exit within {bound.TotalSeconds:0} s and was killed.");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
