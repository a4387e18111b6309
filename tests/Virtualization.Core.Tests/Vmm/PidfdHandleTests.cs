using System.ComponentModel;
using System.Diagnostics;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary><c>pidfd_open</c> and <c>pidfd_send_signal</c> on a real short-lived child (<c>/bin/sleep</c>), killed and reaped by each test.</summary>
public sealed class PidfdHandleTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    internal static Process StartSleep() => Process.Start(new ProcessStartInfo("/bin/sleep", "30") { UseShellExecute = false })!;

    internal static void KillAndReap(Process child)
    {
        try
        {
            child.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        child.WaitForExit();
        child.Dispose();
    }

    [Fact]
    public void Open_ALiveProcess_GivesAnOpenDescriptorOnIt()
    {
        Process child = StartSleep();
        try
        {
            using PidfdHandle pidfd = PidfdHandle.Open(child.Id);

            pidfd.IsInvalid.Should().BeFalse();
            pidfd.IsClosed.Should().BeFalse();
            pidfd.Fd.Should().BeGreaterThan(2);
            File.ReadAllText($"/proc/self/fdinfo/{pidfd.Fd}").Should().Contain($"Pid:\t{child.Id}\n");
        }
        finally
        {
            KillAndReap(child);
        }
    }

    [Fact]
    public void Open_APidAbovePidMax_ThrowsWin32Exception_NamingTheCallAndThePid()
    {
        // pid_max is at most 2^22 = 4194304: no process can have this pid.
        Action act = () => PidfdHandle.Open(4194305);

        act.Should().ThrowExactly<Win32Exception>()
            .Which.Should().Match<Win32Exception>(e => e.NativeErrorCode == 3
                && e.Message.StartsWith("pidfd_open (pid 4194305) failed: ", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task TrySignal_ALiveProcess_DeliversTheSignal()
    {
        Process child = StartSleep();
        try
        {
            using PidfdHandle pidfd = PidfdHandle.Open(child.Id);

            pidfd.TrySignal(Interop.Sys.Signal.SIGTERM).Should().BeTrue();

            await child.WaitForExitAsync().WaitAsync(Bound);
            child.ExitCode.Should().Be(128 + 15, ".NET reports death by SIGTERM (15) as 128 + 15");
        }
        finally
        {
            KillAndReap(child);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task TrySignal_AReapedProcess_IsFalse()
    {
        Process child = StartSleep();
        try
        {
            using PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            child.Kill();
            await child.WaitForExitAsync().WaitAsync(Bound);

            pidfd.TrySignal(Interop.Sys.Signal.SIGTERM).Should().BeFalse();
        }
        finally
        {
            KillAndReap(child);
        }
    }

    [Fact]
    public void TrySignal_AfterDispose_IsFalse_AndSendsNothing()
    {
        Process child = StartSleep();
        try
        {
            PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            pidfd.Dispose();

            pidfd.IsClosed.Should().BeTrue();
            pidfd.TrySignal(Interop.Sys.Signal.SIGKILL).Should().BeFalse();
            ProcessProbe.IsAlive(child.Id).Should().BeTrue();
        }
        finally
        {
            KillAndReap(child);
        }
    }

    [Fact]
    public void Dispose_ClosesTheDescriptor()
    {
        Process child = StartSleep();
        try
        {
            PidfdHandle pidfd = PidfdHandle.Open(child.Id);
            int fd = pidfd.Fd;
            string? inode = PidfdWatcherTests.Inode(fd);
            inode.Should().NotBeNull();

            pidfd.Dispose();

            PidfdWatcherTests.Inode(fd).Should().NotBe(inode);
        }
        finally
        {
            KillAndReap(child);
        }
    }
}
