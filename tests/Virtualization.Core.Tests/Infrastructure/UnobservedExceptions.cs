namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Collects <see cref="TaskScheduler.UnobservedTaskException"/> events while alive. Other tests run in parallel, so
/// callers filter for exceptions of their own (for example by type) with <see cref="Matching"/>.
/// </summary>
internal sealed class UnobservedExceptions : IDisposable
{
    private readonly List<AggregateException> _seen = [];

    public UnobservedExceptions() => TaskScheduler.UnobservedTaskException += OnUnobserved;

    /// <summary>Collects garbage twice around the finalizers, so tasks nobody observed report their exceptions now.</summary>
    public static void Flush()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>The unobserved exceptions so far that contain (at any depth) an exception of type <typeparamref name="T"/>.</summary>
    public IReadOnlyList<AggregateException> Matching<T>()
        where T : Exception
    {
        lock (_seen)
        {
            return [.. _seen.Where(Contains<T>)];
        }
    }

    public void Dispose() => TaskScheduler.UnobservedTaskException -= OnUnobserved;

    private static bool Contains<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T)
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(Contains<T>))
            {
                return true;
            }
        }

        return false;
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        lock (_seen)
        {
            _seen.Add(e.Exception);
        }
    }
}
