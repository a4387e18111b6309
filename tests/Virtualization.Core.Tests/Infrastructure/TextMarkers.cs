namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Waiters for markers in a text that only grows (a captured console, a command's output). Not thread-safe: its owner
/// calls it under the lock that guards the text.
/// </summary>
internal sealed class TextMarkers
{
    private readonly List<(string Marker, TaskCompletionSource Seen)> _waits = [];

    /// <summary>Completes when <paramref name="marker"/> is in the text, which is <paramref name="text"/> now.</summary>
    public Task WaitFor(string text, string marker)
    {
        if (text.Contains(marker, StringComparison.Ordinal))
        {
            return Task.CompletedTask;
        }

        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waits.Add((marker, seen));
        return seen.Task;
    }

    /// <summary>Completes the waits whose marker <paramref name="text"/> (the text after a write) now holds.</summary>
    public void Check(string text) =>
        _waits.RemoveAll(w =>
        {
            if (!text.Contains(w.Marker, StringComparison.Ordinal))
            {
                return false;
            }

            w.Seen.TrySetResult();
            return true;
        });
}
