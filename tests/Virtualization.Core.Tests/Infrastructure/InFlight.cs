namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Runs many async bodies with a bounded number in flight.</summary>
internal static class InFlight
{
    /// <summary>Runs <paramref name="body"/> for 0..<paramref name="count"/>-1, at most <paramref name="inFlight"/> at a time.</summary>
    public static async Task ForEachAsync(int count, int inFlight, Func<int, Task> body)
    {
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await body(i);
            }
        }));
    }
}
