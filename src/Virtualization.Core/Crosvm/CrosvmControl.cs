using System.Globalization;
using System.Text.Json;
using Medallion.Shell;

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
        Command command = Command.Run(crosvmPath, [.. arguments, socket], options => options
            .ThrowOnError(false)
            .CancellationToken(limit.Token));
        CommandResult result;
        try
        {
            result = await command.Task.ConfigureAwait(false);
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

        if (!result.Success)
        {
            string detail = (result.StandardError + result.StandardOutput).Trim();
            throw new VirtualMachineControlException(
                $"crosvm {operation} for VM with CID {cid} failed (exit code {result.ExitCode}): {(detail.Length == 0 ? "it said nothing" : detail)}",
                operation,
                detail);
        }

        return result.StandardOutput;
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
