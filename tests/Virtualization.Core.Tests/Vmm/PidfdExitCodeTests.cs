using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;
using static Virtualization.Core.Interop.Sys;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// A VMM's exit code read through its pidfd (<see cref="PidfdHandle.TryGetExitCode"/>: <c>waitid(P_PIDFD, WNOWAIT)</c>),
/// so that neither the death nor its code waits for the runtime's own reaping. The children here are started with
/// <c>posix_spawn</c> where the runtime must not reap them (<see cref="TestInterop.SpawnUntracked"/>), and each test reaps
/// what it started.
/// </summary>
public sealed class PidfdExitCodeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 60_000)]
    public async Task TryGetExitCode_OfAChildThatExited_IsItsCode_AndLeavesItUnreaped()
    {
        int pid = TestInterop.SpawnUntracked("/bin/sh", "-c", "exit 37");
        using PidfdHandle pidfd = PidfdHandle.Open(pid);
        try
        {
            await PidfdWatcher.WhenExitedAsync(pidfd).WaitAsync(Bound);

            pidfd.TryGetExitCode(out int code).Should().BeTrue();
            code.Should().Be(37);
            pidfd.TryGetExitCode(out int again).Should().BeTrue("WNOWAIT leaves the status to be read again");
            again.Should().Be(37);
            ProcessProbe.State(pid).Should().Be('Z', "reading the code must not reap the child: whoever started it reaps it");
        }
        finally
        {
            TestInterop.Reap(pidfd);
        }

        File.Exists($"/proc/{pid}/stat").Should().BeFalse("the test's own waitid reaped it");
    }

    [Theory(Timeout = 60_000)]
    [InlineData(9, 137)] // SIGKILL
    [InlineData(15, 143)] // SIGTERM
    public async Task TryGetExitCode_OfAChildKilledBySignal_Is128PlusTheSignal(int signal, int expected)
    {
        int pid = TestInterop.SpawnUntracked("/bin/sleep", "30");
        using PidfdHandle pidfd = PidfdHandle.Open(pid);
        try
        {
            pidfd.TrySignal((Signal)signal).Should().BeTrue();
            await PidfdWatcher.WhenExitedAsync(pidfd).WaitAsync(Bound);

            pidfd.TryGetExitCode(out int code).Should().BeTrue();
            code.Should().Be(expected);
        }
        finally
        {
            TestInterop.Reap(pidfd);
        }
    }

    [Fact]
    public void TryGetExitCode_WhileTheChildRuns_IsFalse()
    {
        int pid = TestInterop.SpawnUntracked("/bin/sleep", "30");
        using PidfdHandle pidfd = PidfdHandle.Open(pid);
        try
        {
            pidfd.TryGetExitCode(out int code).Should().BeFalse("WNOHANG finds no status yet");
            code.Should().Be(0);
            ProcessProbe.State(pid).Should().NotBe('Z');
        }
        finally
        {
            TestInterop.Reap(pidfd);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task TryGetExitCode_AfterTheRuntimeReapedTheChild_IsFalse_AndReadExitCodeAsyncAsksTheProcess()
    {
        using Process child = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "read line; exit 6"]) { RedirectStandardInput = true })!;
        using PidfdHandle pidfd = PidfdHandle.Open(child.Id);

        child.StandardInput.Close();
        await child.WaitForExitAsync().WaitAsync(Bound);

        pidfd.TryGetExitCode(out _).Should().BeFalse("the runtime reaped it (ECHILD)");
        (await VmmChildProcess.ReadExitCodeAsync(pidfd, child).WaitAsync(Bound)).Should().Be(6);
    }

    [Fact(Timeout = 60_000)]
    public async Task ReadExitCodeAsync_BeforeTheRuntimeReaped_ReadsThePidfd()
    {
        // An untracked child behind a Process object that can never say anything (a process of our own that never exits):
        // the code can only have come from the pidfd.
        using Process unrelated = PidfdHandleTests.StartSleep();
        int pid = TestInterop.SpawnUntracked("/bin/sh", "-c", "exit 9");
        using PidfdHandle pidfd = PidfdHandle.Open(pid);
        try
        {
            await PidfdWatcher.WhenExitedAsync(pidfd).WaitAsync(Bound);

            (await VmmChildProcess.ReadExitCodeAsync(pidfd, unrelated).WaitAsync(Bound)).Should().Be(9);
        }
        finally
        {
            TestInterop.Reap(pidfd);
            PidfdHandleTests.KillAndReap(unrelated);
        }
    }

    [Fact]
    public void TryGetExitCode_OfAProcessThatIsNotAChild_OrAClosedHandle_IsFalse()
    {
        using (PidfdHandle init = PidfdHandle.Open(1))
        {
            init.TryGetExitCode(out _).Should().BeFalse("pid 1 is not a child of this process (ECHILD)");
        }

        PidfdHandle closed = PidfdHandle.Open(Environment.ProcessId);
        closed.Dispose();
        closed.TryGetExitCode(out _).Should().BeFalse();
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task ManagedSiginfoAndWaitidFlags_MatchTheCHeaders()
    {
        CHeaderProbe.Values c = await CHeaderProbe.RunAsync(
            """
            #define _GNU_SOURCE
            #include <stddef.h>
            #include <stdio.h>
            #include <signal.h>
            #include <linux/wait.h>

            int main(void)
            {
                printf("sizeof %zu\nsi_signo %zu\nsi_code %zu\nsi_pid %zu\nsi_status %zu\n", sizeof(siginfo_t),
                       offsetof(siginfo_t, si_signo), offsetof(siginfo_t, si_code), offsetof(siginfo_t, si_pid), offsetof(siginfo_t, si_status));
                printf("P_PIDFD %d\nWNOHANG %d\nWEXITED %d\nWNOWAIT %d\nCLD_EXITED %d\nCLD_KILLED %d\nCLD_DUMPED %d\n",
                       P_PIDFD, WNOHANG, WEXITED, WNOWAIT, CLD_EXITED, CLD_KILLED, CLD_DUMPED);
                return 0;
            }
            """,
            "signal.h",
            "linux/wait.h");
        c["sizeof"].Should().Be(SigInfo.Size).And.Be(Marshal.SizeOf<SigInfo>());
        c["si_signo"].Should().Be(Marshal.OffsetOf<SigInfo>(nameof(SigInfo.Signo)));
        c["si_code"].Should().Be(Marshal.OffsetOf<SigInfo>(nameof(SigInfo.Code)));
        c["si_pid"].Should().Be(Marshal.OffsetOf<SigInfo>(nameof(SigInfo.Pid)));
        c["si_status"].Should().Be(Marshal.OffsetOf<SigInfo>(nameof(SigInfo.Status)));
        c["P_PIDFD"].Should().Be(P_PIDFD);
        c["WNOHANG"].Should().Be(WNOHANG);
        c["WEXITED"].Should().Be(WEXITED);
        c["WNOWAIT"].Should().Be(WNOWAIT);
        c["CLD_EXITED"].Should().Be(CLD_EXITED);
        c["CLD_KILLED"].Should().Be(CLD_KILLED);
        c["CLD_DUMPED"].Should().Be(CLD_DUMPED);
    }
}
