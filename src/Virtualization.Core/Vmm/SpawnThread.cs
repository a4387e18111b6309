using System.Collections.Concurrent;

namespace Virtualization.Core.Vmm;

/// <summary>
/// The one thread (per process) that forks VMM processes. A VMM is launched with <c>PR_SET_PDEATHSIG</c> so it dies
/// with its host, and Linux sends that signal when the <em>thread</em> that forked it exits. Forking from a thread-pool
/// thread would kill the VMM whenever the pool retires that thread; this thread lives as long as the process.
/// </summary>
internal static class SpawnThread
{
    // Made on first use, and made again after a failure (a thread that cannot start for want of a descriptor, say):
    // a static initializer's exception would be rethrown by every later start of the process.
    private static readonly InitOnce<BlockingCollection<Action>> s_work = new(() =>
    {
        BlockingCollection<Action> work = StartNew();
        work.Add(() => ManagedThreadId = Environment.CurrentManagedThreadId);
        return work;
    });

    /// <summary>Starts the spawn thread if no earlier call did.</summary>
    /// <exception cref="Exception">The thread could not be started; the next call tries again.</exception>
    internal static void EnsureStarted() => _ = s_work.Value;

    /// <summary>Runs <paramref name="spawn"/> on the spawn thread.</summary>
    /// <typeparam name="T">What <paramref name="spawn"/> returns.</typeparam>
    /// <param name="spawn">The work: keep it short (a fork and exec).</param>
    /// <returns>The result of <paramref name="spawn"/>, or its exception.</returns>
    internal static Task<T> RunAsync<T>(Func<T> spawn)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        s_work.Value.Add(() =>
        {
            try
            {
                completion.SetResult(spawn());
            }
#pragma warning disable CA1031 // The exception is handed to the caller.
            catch (Exception e)
#pragma warning restore CA1031
            {
                completion.SetException(e);
            }
        });
        return completion.Task;
    }

    /// <summary>The managed id of the spawn thread (for tests).</summary>
    internal static int ManagedThreadId { get; private set; }

    /// <summary>
    /// A new work queue and the started thread that runs its items until the queue is completed (the process has one;
    /// tests make their own to look at the thread as it is made).
    /// </summary>
    internal static BlockingCollection<Action> StartNew()
    {
        var work = new BlockingCollection<Action>();
        var thread = new Thread(() =>
        {
            foreach (Action item in work.GetConsumingEnumerable())
            {
                item();
            }
        })
        {
            IsBackground = true,
            Name = "Virtualization.Core VMM spawner",
        };
        thread.Start();
        return work;
    }
}
