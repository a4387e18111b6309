using System.Globalization;
using System.Text;
using System.Text.Json;
using Medallion.Shell;
using Medallion.Shell.Streams;

namespace Virtualization.Core.Crosvm;

/// <summary>
/// crosvm's control subcommands (<c>crosvm suspend|resume|balloon|balloon_stats ... SOCKET</c>, crosvm.md §3.2), run as
/// child processes: the command speaks crosvm's internal control protocol (whose enum names have changed across
/// versions), exits 0 on an <c>Ok</c> reply, and prints results on stdout. Each runs under <see cref="Timeout"/>.
/// </summary>
internal static class CrosvmControl
{
    /// <summary>How long one control command may take before it is killed and reported as failed.</summary>
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The most a control command may print, on stdout and on stderr each, in characters.</summary>
    internal const int MaxOutputChars = 1 << 20;

    /// <summary>Runs <c>crosvm ARGS... SOCKET</c>; returns its stdout.</summary>
    /// <exception cref="VirtualMachineControlException">It exited with an error or timed out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the command is killed).</exception>
    internal static Task<string> RunAsync(
        string crosvmPath, string socket, string operation, IReadOnlyList<string> arguments, int cid, CancellationToken cancellationToken) =>
        RunAsync(crosvmPath, socket, operation, arguments, cid, Timeout, cancellationToken);

    /// <summary>Runs <c>crosvm ARGS... SOCKET</c> under <paramref name="timeout"/>; returns its stdout.</summary>
    internal static async Task<string> RunAsync(
        string crosvmPath, string socket, string operation, IReadOnlyList<string> arguments, int cid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        (int ExitCode, string StandardOutput, string StandardError) result;
        try
        {
            result = await RunBoundedAsync(crosvmPath, [.. arguments, socket], operation, cid, limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new VirtualMachineControlException(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"crosvm {operation} for VM with CID {cid} did not finish within {timeout.TotalSeconds:0.###} s and was killed; the VM may be stuck. Kill it if it does not recover."),
                operation,
                string.Empty,
                e);
        }

        if (result.ExitCode != 0)
        {
            string detail = (result.StandardError + result.StandardOutput).Trim();
            throw new VirtualMachineControlException(
                $"crosvm {operation} for VM with CID {cid} failed (exit code {result.ExitCode}): {(detail.Length == 0 ? "it said nothing" : detail)}",
                operation,
                detail);
        }

        return result.StandardOutput;
    }

    /// <summary>
    /// Runs <c>crosvm ARGV...</c> to its exit and returns its exit code and both outputs. The outputs are read as they
    /// come and never held beyond <see cref="MaxOutputChars"/> each: crosvm's replies are a few hundred bytes, and a
    /// program that prints without end must not grow this process (MedallionShell would buffer all of it).
    /// </summary>
    /// <exception cref="VirtualMachineControlException">It printed more than that on stdout or stderr; it was killed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the command is killed).</exception>
    internal static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunBoundedAsync(
        string crosvmPath, IReadOnlyList<string> argv, string operation, int cid, CancellationToken cancellationToken)
    {
        Command command = Command.Run(crosvmPath, argv, options => options
            .ThrowOnError(false)
            .CancellationToken(cancellationToken));
        command.StandardOutput.StopBuffering();
        command.StandardError.StopBuffering();
        Task<string?> stdout = ReadAtMostAsync(command.StandardOutput, command);
        Task<string?> stderr = ReadAtMostAsync(command.StandardError, command);
        CommandResult result;
        try
        {
            result = await command.Task.ConfigureAwait(false);
        }
        catch
        {
            // Cancelled or timed out: the readers end once the killed command's pipes close, and are not awaited.
            ObserveFault(stdout);
            ObserveFault(stderr);
            throw;
        }

        string? output = await stdout.ConfigureAwait(false);
        string? error = await stderr.ConfigureAwait(false);
        if (output is null || error is null)
        {
            throw new VirtualMachineControlException(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"crosvm {operation} for VM with CID {cid} printed more than {MaxOutputChars / 1024} KiB on {(output is null ? "stdout" : "stderr")} and was killed; check that '{crosvmPath}' is crosvm."),
                operation,
                string.Empty);
        }

        return (result.ExitCode, output, error);

        static void ObserveFault(Task task) =>
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    /// <summary>
    /// Reads <paramref name="reader"/> to its end; past <see cref="MaxOutputChars"/> kills the command, discards the rest
    /// (the command's task completes only once its outputs are drained) and returns null.
    /// </summary>
    private static async Task<string?> ReadAtMostAsync(ProcessStreamReader reader, Command command)
    {
        var text = new StringBuilder();
        char[] buffer = new char[4096];
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
            {
                if (text.Length + read > MaxOutputChars)
                {
                    command.Kill();
                    reader.Discard();
                    return null;
                }

                text.Append(buffer, 0, read);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe went away with a killed command: what was read is all there is.
        }

        return text.ToString();
    }

    /// <summary>The argv of <c>crosvm balloon SIZE</c> (SIZE in bytes, the memory taken from the guest).</summary>
    internal static string[] Balloon(long balloonBytes) => ["balloon", balloonBytes.ToString(CultureInfo.InvariantCulture)];

    /// <summary>
    /// Parses <c>crosvm balloon_stats</c> output: <c>{"BalloonStats":{"stats":{...},"balloon_actual":N}}</c>, where
    /// each statistic is a number or null.
    /// </summary>
    /// <exception cref="VirtualMachineControlException">The output is not that.</exception>
    internal static MemoryBalloonStats ParseStats(string output, long guestMemoryBytes)
    {
        try
        {
            using var document = JsonDocument.Parse(output);
            JsonElement stats = document.RootElement.GetProperty("BalloonStats");
            JsonElement values = stats.GetProperty("stats");
            return new MemoryBalloonStats(
                stats.GetProperty("balloon_actual").GetInt64(),
                guestMemoryBytes,
                Optional(values, "total_memory"),
                Optional(values, "free_memory"),
                Optional(values, "available_memory"),
                Optional(values, "disk_caches"),
                Optional(values, "major_faults"),
                Optional(values, "minor_faults"));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new VirtualMachineControlException(
                $"crosvm balloon_stats printed something that is not balloon statistics: {output.Trim()}", "balloon_stats", output.Trim(), e);
        }
    }

    private static long? Optional(JsonElement values, string name) =>
        values.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;
}
