using System.Diagnostics;
using System.Globalization;

namespace FakeCrosvm.Vm;

/// <summary>
/// A stand-in for crosvm's jailed device processes: <c>sleep 1000</c> in the fake's own process group
/// (no setsid/setpgid), with its stdio on pipes so it does not hold the launcher's stdout/stderr open.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    private ChildProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public static ChildProcess Start(string? pidFile)
    {
        var info = new ProcessStartInfo("sleep")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add("1000");
        Process process = Process.Start(info) ?? throw new CommandFailedException("failed to spawn the child process");
        if (pidFile is not null)
        {
            AtomicFile.WriteAllText(pidFile, process.Id.ToString(CultureInfo.InvariantCulture) + "\n");
        }

        return new ChildProcess(process);
    }

    /// <summary>Kills the child (used on a clean exit only; a killed fake leaves it to the launcher).</summary>
    public void Dispose()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }
}
