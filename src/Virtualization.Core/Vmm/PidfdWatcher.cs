using System.Collections.Concurrent;

namespace Virtualization.Core.Vmm;

/// <summary>
/// Learns when processes exit from their pidfds, for every VM of the process on one thread: one epoll instance, one
/// blocking <c>epoll_wait</c> loop. A pidfd becomes readable when its process exits, whatever its pipes do, so a VM's
/// death never waits for its console. Registration is one <c>epoll_ctl</c>; no thread or kernel object per VM besides
/// the pidfd itself.
/// </summary>
internal static class PidfdWatcher
{
    private static readonly ConcurrentDictionary<long, Watch> s_watches = new();
    private static readonly InitOnce<int> s_epoll = new(Create);
    private static long s_nextId;

    /// <summary>Completes (never faults) when the process behind <paramref name="pidfd"/> has exited.</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">epoll refused the descriptor.</exception>
    internal static unsafe Task WhenExitedAsync(PidfdHandle pidfd)
    {
        int epoll = s_epoll.Value;
        long id = Interlocked.Increment(ref s_nextId);
        var watch = new Watch(pidfd);
        s_watches[id] = watch;
        byte* ev = stackalloc byte[16];
        *(uint*)ev = Interop.Epoll.EPOLLIN | Interop.Epoll.EPOLLONESHOT;
        *(long*)(ev + Interop.Epoll.EpollEventDataOffset) = id;
        bool added = false;
        try
        {
            pidfd.DangerousAddRef(ref added);
            if (Interop.Epoll.EpollCtl(epoll, Interop.Epoll.EPOLL_CTL_ADD, pidfd.Fd, ev) != 0)
            {
                Interop.Errno errno = Interop.LastErrno;
                s_watches.TryRemove(id, out _);
                throw Interop.CreateExceptionForErrno(errno, "epoll_ctl", "pidfd");
            }
        }
        catch
        {
            if (added)
            {
                pidfd.DangerousRelease();
            }

            throw;
        }

        // The reference taken above keeps the descriptor number from being reused until the event arrived.
        return watch.Exited.Task;
    }

    /// <summary>Creates the process's epoll set and its watcher thread if no earlier call did.</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">epoll_create1 failed (EMFILE, say); the next call tries again.</exception>
    internal static void EnsureStarted() => _ = s_epoll.Value;

    /// <summary>Creates an epoll instance and starts its watcher thread (once per process; tests call it directly).</summary>
    internal static int Create() => Create(Interop.Epoll.EPOLL_CLOEXEC);

    /// <summary><see cref="Create()"/> with <c>epoll_create1</c>'s flags given (tests pass bad ones to see the failure).</summary>
    internal static int Create(int flags) => Create(flags, CreateLoopThread);

    /// <summary><see cref="Create(int)"/> with the watcher thread's making given (tests hand it one that cannot start).</summary>
    internal static int Create(int flags, Func<int, Thread> createThread)
    {
        int epoll = Interop.Epoll.EpollCreate1(flags);
        if (epoll < 0)
        {
            throw Interop.CreateExceptionForErrno(Interop.LastErrno, "epoll_create1");
        }

        try
        {
            createThread(epoll).Start();
        }
        catch
        {
            // No thread, no watcher: the next start tries again with a new epoll set, so this one must not stay open.
            _ = Interop.Sys.Close(epoll);
            throw;
        }

        return epoll;
    }

    /// <summary>The watcher's thread (not started): a background thread, so that it never keeps the host alive.</summary>
    internal static Thread CreateLoopThread(int epoll) => new(() => Loop(epoll))
    {
        IsBackground = true,
        Name = "Virtualization.Core pidfd watcher",
    };

    private static unsafe void Loop(int epoll)
    {
        // 64 events at their largest (16 bytes on arm64, 12 packed on x86-64). The kernel is told how many fit in the
        // buffer as it is, so the two can never disagree.
        const int Capacity = 64 * 16;
        int size = Interop.Epoll.EpollEventSize;
        byte* events = stackalloc byte[Capacity];
        int maxEvents = Capacity / size;
        while (true)
        {
            // Stryker disable once Unary : a 1 ms timeout instead of none only wakes the thread more often; the events are the same.
            int count = Interop.Epoll.EpollWait(epoll, events, maxEvents, -1);
            // Stryker disable once Equality : one slot past the events holds an earlier, already removed id (or none); TryRemove then does nothing.
            for (int i = 0; i < count; i++)
            {
                long id = *(long*)(events + (i * size) + Interop.Epoll.EpollEventDataOffset);
                if (s_watches.TryRemove(id, out Watch? watch))
                {
                    // One-shot: the descriptor is disarmed; remove it so its owner may close it at any time.
                    _ = Interop.Epoll.EpollCtl(epoll, Interop.Epoll.EPOLL_CTL_DEL, watch.Pidfd.Fd, null);
                    watch.Pidfd.DangerousRelease();
                    watch.Exited.TrySetResult();
                }
            }
        }
    }

    private sealed class Watch(PidfdHandle pidfd)
    {
        internal PidfdHandle Pidfd { get; } = pidfd;

        internal TaskCompletionSource Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
