using System.ComponentModel;
using System.Diagnostics;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>The one epoll thread that learns of process exits, on real short-lived children (<c>/bin/sleep</c>).</summary>
public sealed class PidfdWatcherTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The <c>ino:</c> line of descriptor <paramref name="fd"/>'s fdinfo, or null when it is closed. On pidfs (Linux 6.9+)
    /// every process has its own inode, so a closed descriptor whose number was reused by a parallel test shows another
    /// one; fdinfo's <c>Pid:</c> is no use here (it reads -1 for any reaped process).
    /// </summary>
    internal static string? Inode(int fd)
    {
        try
        {
            return File.ReadAllLines($"/proc/self/fdinfo/{fd}").FirstOrDefault(l => l.StartsWith("ino:", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExitedAsync_PendingWhileTheProcessRuns_CompletesWhenItIsKilled()
    {
        Process child = PidfdHandleTests.StartSleep();
        try
        {
            using PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            Task exited = PidfdWatcher.WhenExitedAsync(pidfd);

            Infrastructure.ProcessProbe.IsAlive(child.Id).Should().BeTrue();
            exited.IsCompleted.Should().BeFalse();

            child.Kill();
            await exited.WaitAsync(Bound);

            exited.IsCompletedSuccessfully.Should().BeTrue();
        }
        finally
        {
            PidfdHandleTests.KillAndReap(child);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExitedAsync_AProcessThatHasExited_Completes()
    {
        Process child = PidfdHandleTests.StartSleep();
        try
        {
            using PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            child.Kill();
            await child.WaitForExitAsync().WaitAsync(Bound);

            await PidfdWatcher.WhenExitedAsync(pidfd).WaitAsync(Bound);
        }
        finally
        {
            PidfdHandleTests.KillAndReap(child);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExitedAsync_ThirtyTwoAtOnce_AllComplete()
    {
        var children = new List<Process>();
        var pidfds = new List<PidfdHandle>();
        try
        {
            for (int i = 0; i < 32; i++)
            {
                children.Add(PidfdHandleTests.StartSleep());
                pidfds.Add(PidfdHandle.Open(children[^1].Id));
            }

            var exits = pidfds.Select(PidfdWatcher.WhenExitedAsync).ToList();
            exits.Should().OnlyContain(t => !t.IsCompleted);

            foreach (Process child in children)
            {
                child.Kill();
            }

            await Task.WhenAll(exits).WaitAsync(Bound);
        }
        finally
        {
            pidfds.ForEach(p => p.Dispose());
            children.ForEach(PidfdHandleTests.KillAndReap);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExitedAsync_AfterTheExit_ReleasesTheHandle_SoDisposeClosesIt()
    {
        Process child = PidfdHandleTests.StartSleep();
        try
        {
            PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            int fd = pidfd.Fd;
            string? inode = Inode(fd);
            inode.Should().NotBeNull();
            Task exited = PidfdWatcher.WhenExitedAsync(pidfd);
            child.Kill();
            await exited.WaitAsync(Bound);

            pidfd.Dispose();

            Inode(fd).Should().NotBe(inode);
        }
        finally
        {
            PidfdHandleTests.KillAndReap(child);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExitedAsync_AgainAfterTheExitWasSeen_CompletesAgain()
    {
        // The watcher removes a descriptor from epoll once its exit arrived (before it completes the task), so the same
        // descriptor can be watched again; left registered, the second epoll_ctl(ADD) would fail with EEXIST.
        Process child = PidfdHandleTests.StartSleep();
        try
        {
            using PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            Task first = PidfdWatcher.WhenExitedAsync(pidfd);
            child.Kill();
            await first.WaitAsync(Bound);

            await PidfdWatcher.WhenExitedAsync(pidfd).WaitAsync(Bound);
        }
        finally
        {
            PidfdHandleTests.KillAndReap(child);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExitedAsync_WhileWatched_KeepsTheDescriptorOpenPastDispose()
    {
        Process child = PidfdHandleTests.StartSleep();
        try
        {
            PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            int fd = pidfd.Fd;
            string? inode = Inode(fd);
            inode.Should().NotBeNull();
            Task exited = PidfdWatcher.WhenExitedAsync(pidfd);

            pidfd.Dispose();

            Inode(fd).Should().Be(inode, "the watch holds a reference until the exit arrives");
            child.Kill();
            await exited.WaitAsync(Bound);
            Inode(fd).Should().NotBe(inode);
        }
        finally
        {
            PidfdHandleTests.KillAndReap(child);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExitedAsync_TheSameDescriptorTwice_ThrowsForTheSecond_AndTheFirstStillCompletes()
    {
        Process child = PidfdHandleTests.StartSleep();
        try
        {
            PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            int fd = pidfd.Fd;
            string? inode = Inode(fd);
            inode.Should().NotBeNull();
            Task first = PidfdWatcher.WhenExitedAsync(pidfd);

            Action again = () => PidfdWatcher.WhenExitedAsync(pidfd);

            again.Should().ThrowExactly<Win32Exception>()
                .Which.Should().Match<Win32Exception>(e => e.NativeErrorCode == 17
                    && e.Message.StartsWith("epoll_ctl (pidfd) failed: ", StringComparison.Ordinal));
            child.Kill();
            await first.WaitAsync(Bound);
            pidfd.Dispose();
            Inode(fd).Should().NotBe(inode, "the failed watch gave its reference back");
        }
        finally
        {
            PidfdHandleTests.KillAndReap(child);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExitedAsync_CompletesForAZombie_ThatNobodyReaps()
    {
        // A child of `sleep 30` (after exec) that exits soon after: its parent never reaps it, so the pidfd reports the
        // exit as readable (EPOLLIN) and never as hung up (which only comes with the reaping). (Its short life only keeps
        // the shell from reaping it before the exec; whenever it ends, the wait below is for its exit.)
        Process parent = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "sleep 0.3 & echo $!; exec sleep 30"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        })!;
        try
        {
            int zombie = int.Parse((await parent.StandardOutput.ReadLineAsync().WaitAsync(Bound))!, System.Globalization.CultureInfo.InvariantCulture);
            using PidfdHandle pidfd = PidfdHandle.Open(zombie);

            await PidfdWatcher.WhenExitedAsync(pidfd).WaitAsync(Bound);

            Infrastructure.ProcessProbe.State(zombie).Should().Be('Z', "it is still unreaped");
        }
        finally
        {
            PidfdHandleTests.KillAndReap(parent);
        }
    }

    [Fact]
    public void TheWatcherThread_IsANamedBackgroundThread()
    {
        Thread thread = PidfdWatcher.CreateLoopThread(-1); // never started

        thread.IsBackground.Should().BeTrue("a watcher must never keep the host process alive");
        thread.Name.Should().Be("Virtualization.Core pidfd watcher");
    }

    [Fact]
    public void Create_ReturnsAnEpollDescriptor()
    {
        // A second watcher (its thread waits on an empty set for the rest of the test run).
        int epoll = PidfdWatcher.Create();

        epoll.Should().BeGreaterThan(2);
        new FileInfo($"/proc/self/fd/{epoll}").LinkTarget.Should().Be("anon_inode:[eventpoll]");
        string flags = File.ReadAllLines($"/proc/self/fdinfo/{epoll}").Single(l => l.StartsWith("flags:", StringComparison.Ordinal));
        (Convert.ToInt32(flags["flags:".Length..].Trim(), 8) & 0x80000).Should().Be(0x80000, "O_CLOEXEC: a VMM must not inherit the watcher");
    }

    [Fact]
    public void Create_WhenEpollCreate1Fails_ThrowsTheErrno_NamingTheCall()
    {
        // epoll_create1 refuses unknown flags with EINVAL (no thread is started for a failed create).
        Action act = () => PidfdWatcher.Create(-1);

        act.Should().ThrowExactly<ArgumentException>().Which.Message.Should().Be("epoll_create1 failed: Invalid argument (errno 22).");
    }
}
