using System.Text.RegularExpressions;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Tests.Payload;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// <c>VmInstance</c> step by step over an in-process VMM (<see cref="InProcessVmm"/>): each test holds the "VMM" at one
/// point (launching, waiting for readiness, answering a control request) and checks what the VM does there, with the
/// exact exception types, messages and log lines.
/// </summary>
public sealed class VmInstanceStateMachineTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private const string NotUsable = "The VM is dead and cannot be started again; fix the cause and create a new VM.";

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_WhileAnotherStartWaitsForReadiness_ThrowsAlreadyBeingStarted()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();
        Task first = vm.StartAsync();
        await w.Vmm.Next.WaitingForReady.WaitAsync(Wait);

        Func<Task> second = () => vm.StartAsync();

        (await second.Should().ThrowExactlyAsync<InvalidOperationException>())
            .WithMessage($"VM with CID {vm.Cid} is already being started by another call.");
        w.Vmm.Next.Ready.SetResult();
        await first.WaitAsync(Wait);
        vm.State.Should().Be(VirtualMachineState.Starting);
    }

    [Fact(Timeout = 30_000)]
    public async Task DebugInfo_ShowsTheVmmPidOnlyWhileTheVmIsLaunchingOrRunning()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();
        vm.DebugInfo.ProcessId.Should().BeNull("nothing runs yet");
        Task start = vm.StartAsync();
        await w.Vmm.Next.WaitingForReady.WaitAsync(Wait);
        vm.DebugInfo.ProcessId.Should().Be(InProcessVmmProcess.Pid, "the VMM is being waited for");
        w.Vmm.Next.Ready.SetResult();
        await start.WaitAsync(Wait);
        vm.DebugInfo.ProcessId.Should().Be(InProcessVmmProcess.Pid);

        w.Vmm.Next.Exit(0, DeathReason.Shutdown);
        (await vm.WaitForDeathAsync().WaitAsync(Wait)).Should().Be(DeathReason.Shutdown);

        vm.DebugInfo.ProcessId.Should().BeNull("a dead VM's pid may already belong to another process");
        vm.DebugInfo.State.Should().Be(VirtualMachineState.Dead);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_LaunchFailsWithAnErrorWhileTheCallerCancels_ReportsTheErrorNotACancellation()
    {
        using var cts = new CancellationTokenSource();
        var vmm = new InProcessVmm
        {
            Launch = async token =>
            {
                await Task.Delay(Timeout.Infinite, token).ContinueWith(_ => { }, TaskScheduler.Default);
                throw new IOException("the launcher broke");
            },
        };
        await using var w = new InProcessWorld(vmm);
        VmInstance vm = await w.CreateAsync();
        Task start = vm.StartAsync(cts.Token);
        await vmm.LaunchStarted.WaitAsync(Wait);

        await cts.CancelAsync();

        var thrown = (await start.Awaiting(t => t).Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which;
        thrown.Message.Should().Be($"Could not start in-process for VM with CID {vm.Cid}: the launcher broke\n{NotUsable}");
        thrown.StandardErrorTail.Should().Be(string.Empty, "no process was launched");
        thrown.InnerException.Should().BeOfType<IOException>();
        (await vm.WaitForDeathAsync().WaitAsync(Wait)).Should().Be(DeathReason.StartFailed);
        w.Messages.Should().Contain("The VM failed to start");
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_CancelledByTheCallerDuringTheLaunch_RethrowsTheLaunchsOwnCancellation()
    {
        using var cts = new CancellationTokenSource();
        OperationCanceledException? launchThrew = null;
        var vmm = new InProcessVmm
        {
            Launch = async token =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException e)
                {
                    launchThrew = e;
                    throw;
                }

                throw new InvalidOperationException("unreachable");
            },
        };
        await using var w = new InProcessWorld(vmm);
        VmInstance vm = await w.CreateAsync();
        Task start = vm.StartAsync(cts.Token);
        await vmm.LaunchStarted.WaitAsync(Wait);

        await cts.CancelAsync();

        var thrown = (await start.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>()).Which;
        thrown.Should().BeSameAs(launchThrew, "the cancellation that ended the launch is passed on, not a new one");
        (await vm.WaitForDeathAsync().WaitAsync(Wait)).Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_KilledWhileWaitingForReadiness_ThrowsKilledWhileStartingEvenIfTheVmmThenComesUp()
    {
        await using var w = new InProcessWorld();
        InProcessVmmProcess vmm = w.Vmm.Next;
        vmm.IgnoreKill = true;
        VmInstance vm = await w.CreateAsync();
        Task start = vm.StartAsync();
        await vmm.WaitingForReady.WaitAsync(Wait);

        vm.Kill();
        vmm.Kills.Should().Be(1);
        vmm.Ready.SetResult(); // the VMM comes up after all, then dies of the kill
        vmm.Exit(137, DeathReason.Killed);

        (await start.Awaiting(t => t).Should().ThrowExactlyAsync<InvalidOperationException>())
            .WithMessage($"VM with CID {vm.Cid} was killed while it was starting; it is dead.");
        vm.DeathReason.Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task StopAsync_WhileTheVmmIsNotReadyYet_KillsItInsteadOfAskingItToStop()
    {
        await using var w = new InProcessWorld();
        InProcessVmmProcess vmm = w.Vmm.Next;
        VmInstance vm = await w.CreateAsync();
        Task start = vm.StartAsync();
        await vmm.WaitingForReady.WaitAsync(Wait);

        await vm.StopAsync().WaitAsync(Wait);

        vmm.StopRequests.Should().Be(0, "a VMM that is not up cannot be asked to shut its guest down");
        vmm.Kills.Should().BeInRange(1, 2, "killed by the stop, and again by the failed readiness wait (harmless once it exited)");
        vm.DeathReason.Should().Be(DeathReason.Killed);
        await start.Awaiting(t => t).Should().ThrowExactlyAsync<InvalidOperationException>();
        w.Messages.Should().NotContain(m => m.StartsWith("Stopping the VM", StringComparison.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task StopAsync_GracefulRequestFails_LogsTheErrorAndKills()
    {
        await using var w = new InProcessWorld();
        var refused = new IOException("the control socket is gone");
        w.Vmm.Next.OnStopRequest = () => Task.FromException(refused);
        VmInstance vm = await w.StartAsync();

        await vm.StopAsync().WaitAsync(Wait);

        w.Vmm.Next.StopRequests.Should().Be(1);
        w.Vmm.Next.Kills.Should().Be(1);
        vm.DeathReason.Should().Be(DeathReason.Killed);
        w.Log.Entries.Should().ContainSingle(e => e.Message == "Graceful stop failed").Which.Exception.Should().BeSameAs(refused);
    }

    [Fact(Timeout = 30_000)]
    public async Task Lifecycle_LogsEachStepWithItsValues()
    {
        await using var w = new InProcessWorld(configure: o => o with { StopGracePeriod = TimeSpan.FromSeconds(7) });
        VmInstance vm = await w.StartAsync();
        await vm.SuspendAsync();
        await vm.ResumeAsync();
        await vm.StopAsync().WaitAsync(Wait);

        string[] lifecycle = [.. w.Messages.Where(m => !m.StartsWith("Created the VM", StringComparison.Ordinal))];
        lifecycle.Should().Equal(
            $"The VM started: VMM process {InProcessVmmProcess.Pid}",
            "Control request suspend done",
            "Control request resume done",
            "Stopping the VM; killing it if it is still running after 00:00:07",
            "The VM died: Shutdown (VMM exit code 0)");
    }

    [Fact(Timeout = 30_000)]
    public async Task Kill_OfAVmThatNeverStarted_LogsTheKillAndTheDeathOnce()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();

        vm.Kill();
        vm.Kill();
        (await vm.WaitForDeathAsync().WaitAsync(Wait)).Should().Be(DeathReason.Killed);

        w.Messages.Where(m => !m.StartsWith("Created the VM", StringComparison.Ordinal)).Should().Equal(
            "Killing the VM",
            "The VM died: Killed (VMM exit code (null))");
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_VmmExitsBeforeItIsReady_LogsTheStartFailureAndDiesStartFailed()
    {
        await using var w = new InProcessWorld();
        w.Vmm.Next.StandardErrorTail = "crosvm: no such kernel";
        VmInstance vm = await w.CreateAsync();
        Task start = vm.StartAsync();
        await w.Vmm.Next.WaitingForReady.WaitAsync(Wait);

        w.Vmm.Next.Exit(1, DeathReason.Error);

        var thrown = (await start.Awaiting(t => t).Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which;
        thrown.Message.Should().Be($"Could not start in-process for VM with CID {vm.Cid}: the in-process VMM exited before it was ready\n{NotUsable}");
        thrown.StandardErrorTail.Should().Be("crosvm: no such kernel");
        vm.DeathReason.Should().Be(DeathReason.StartFailed);
        w.Log.Entries.Should().ContainSingle(e => e.Message == "The VM failed to start").Which.Exception.Should().BeOfType<IOException>();
        w.Messages.Should().Contain("The VM died: StartFailed (VMM exit code 1)");
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_VmmNeverReady_TimesOutWithTheStderrTailAndKillsIt()
    {
        await using var w = new InProcessWorld(configure: o => o with { StartTimeout = TimeSpan.FromMilliseconds(250) });
        w.Vmm.Next.StandardErrorTail = "qemu: waiting for the disk";
        VmInstance vm = await w.CreateAsync();

        var thrown = (await vm.Awaiting(v => v.StartAsync()).Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which;

        thrown.Message.Should().Be(
            "in-process did not come up within 0.25 s (StartTimeout); it was killed. "
            + "Raise StartTimeout if the host is slow, or check the VMM's stderr in the log.\n" + NotUsable);
        thrown.StandardErrorTail.Should().Be("qemu: waiting for the disk");
        thrown.InnerException.Should().BeAssignableTo<OperationCanceledException>();
        w.Vmm.Next.Kills.Should().Be(1);
        vm.DeathReason.Should().Be(DeathReason.StartFailed);
    }

    [Fact(Timeout = 30_000)]
    public async Task Monitor_WatchingTheVmmFails_TheVmDiesWithErrorAndExitCodeMinusOne()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        var broken = new InvalidOperationException("the pidfd watcher broke");

        w.Vmm.Next.FailWatch(broken);

        (await vm.WaitForDeathAsync().WaitAsync(Wait)).Should().Be(DeathReason.Error);
        w.Log.Entries.Should().ContainSingle(e => e.Message == "Watching the VMM failed; the VM is reported dead with DeathReason.Error")
            .Which.Exception.Should().BeSameAs(broken);
        w.Messages.Should().Contain("The VM died: Error (VMM exit code -1)");
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForStateAsync_NotAState_IsRefusedWithItsMessage()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();

        Action call = () => vm.WaitForStateAsync((VirtualMachineState)99);

        var thrown = call.Should().ThrowExactly<ArgumentOutOfRangeException>().Which;
        thrown.ParamName.Should().Be("state");
        thrown.Message.Should().StartWith("Not a VirtualMachineState.");
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForStateAsync_Cancelled_EndsTheWaitAndLeavesNothingRegistered()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        using var cts = new CancellationTokenSource();
        Task<VirtualMachineState> ready = vm.WaitForStateAsync(VirtualMachineState.Ready, cts.Token);
        vm.PendingStateWaiters.Should().Be(1);

        await cts.CancelAsync();

        await ready.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        vm.PendingStateWaiters.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForStateAsync_SatisfiedByTheStart_IsCompletedAndRemoved()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();
        Task<VirtualMachineState> starting = vm.WaitForStateAsync(VirtualMachineState.Starting);
        vm.PendingStateWaiters.Should().Be(1);

        w.Vmm.Next.Ready.SetResult();
        await vm.StartAsync();

        (await starting.WaitAsync(Wait)).Should().Be(VirtualMachineState.Starting);
        vm.PendingStateWaiters.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForStateAsync_TheVmDiesFirst_FailsTheWaitWithTheDeathAndLeavesNothingRegistered()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        Task<VirtualMachineState> ready = vm.WaitForStateAsync(VirtualMachineState.Ready);
        vm.PendingStateWaiters.Should().Be(1);

        w.Vmm.Next.Exit(0, DeathReason.Shutdown);

        var died = (await ready.Awaiting(t => t).Should().ThrowExactlyAsync<VirtualMachineDiedException>()).Which;
        died.Reason.Should().Be(DeathReason.Shutdown);
        vm.PendingStateWaiters.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task DisposedVm_RefusesEveryCallWithObjectDisposed()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        await vm.DisposeAsync();

        ((Action)(() => vm.ConnectVsockAsync(1))).Should().ThrowExactly<ObjectDisposedException>();
        vm.Invoking(v => v.OpenConsoleInput()).Should().ThrowExactly<ObjectDisposedException>();
        await vm.Awaiting(v => v.SuspendAsync()).Should().ThrowExactlyAsync<ObjectDisposedException>();
        await vm.Awaiting(v => v.SetMemoryBalloonAsync(0)).Should().ThrowExactlyAsync<ObjectDisposedException>();
        vm.Invoking(v => v.RegisterCallback(new RecordingCallback())).Should().ThrowExactly<ObjectDisposedException>();
    }

    [Fact(Timeout = 30_000)]
    public async Task ServiceDispose_MarksItsVmsDisposed()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();

        w.Service.Dispose();
        await vm.WaitForDeathAsync().WaitAsync(Wait);

        vm.Invoking(v => v.RegisterCallback(new RecordingCallback())).Should().ThrowExactly<ObjectDisposedException>(
            "a VM of a disposed service is disposed, not just dead");
    }

    [Fact(Timeout = 30_000)]
    public async Task OpenConsoleInput_BeforeTheStart_SaysWhatToDo_AndASecondTakeIsRefused()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();
        vm.Invoking(v => v.OpenConsoleInput()).Should().ThrowExactly<VirtualMachineNotRunningException>()
            .WithMessage($"Cannot open the console input of VM with CID {vm.Cid}: it has not been started. Await StartAsync first.");
        w.Vmm.Next.Ready.SetResult();
        await vm.StartAsync();
        await using Stream input = vm.OpenConsoleInput();

        vm.Invoking(v => v.OpenConsoleInput()).Should().ThrowExactly<InvalidOperationException>().WithMessage(
            $"The console input of VM with CID {vm.Cid} was already taken (by OpenConsoleInput or CopyToConsoleInputAsync); it can be taken "
            + "once per VM, because ending it ends the VMM's console input for good. Keep the first stream and write to it.");
    }

    [Fact(Timeout = 30_000)]
    public async Task CopyToConsoleInputAsync_NullOrUnreadableSource_IsRefusedNamingSource()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();

        ((Action)(() => vm.CopyToConsoleInputAsync(null!))).Should().ThrowExactly<ArgumentNullException>().Which.ParamName.Should().Be("source");
        using var unreadable = new ConsoleCapture();
        var thrown = ((Action)(() => vm.CopyToConsoleInputAsync(unreadable))).Should().ThrowExactly<ArgumentException>().Which;
        thrown.ParamName.Should().Be("source");
        thrown.Message.Should().StartWith("The console input source must be readable.");
        await using Stream input = vm.OpenConsoleInput(); // the refused calls did not take the input
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForConsoleLineAsync_BadArguments_AreRefused()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();

        ((Action)(() => vm.WaitForConsoleLineAsync((string)null!, Wait))).Should().ThrowExactly<ArgumentNullException>().Which.ParamName.Should().Be("text");
        ((Action)(() => vm.WaitForConsoleLineAsync(string.Empty, Wait))).Should().ThrowExactly<ArgumentException>().Which.ParamName.Should().Be("text");
        ((Action)(() => vm.WaitForConsoleLineAsync((Regex)null!, Wait))).Should().ThrowExactly<ArgumentNullException>().Which.ParamName.Should().Be("pattern");
        foreach (TimeSpan bad in new[] { TimeSpan.FromTicks(-1), TimeSpan.FromMilliseconds(-2), TimeSpan.FromMilliseconds(int.MaxValue + 1.0) })
        {
            var text = ((Action)(() => vm.WaitForConsoleLineAsync("x", bad))).Should().ThrowExactly<ArgumentOutOfRangeException>().Which;
            text.ParamName.Should().Be("timeout");
            text.Message.Should().StartWith("The timeout must be zero or more (at most 24 days), or Timeout.InfiniteTimeSpan.");
            ((Action)(() => vm.WaitForConsoleLineAsync(new Regex("x"), bad))).Should().ThrowExactly<ArgumentOutOfRangeException>()
                .Which.ParamName.Should().Be("timeout");
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForConsoleLineAsync_BoundaryTimeouts_AreAccepted()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();

        // Zero: the wait times out at once, naming what it waited for.
        (await vm.Awaiting(v => v.WaitForConsoleLineAsync("boot ok", TimeSpan.Zero)).Should().ThrowExactlyAsync<TimeoutException>())
            .Which.Message.Should().Contain("matched a console line containing \"boot ok\" within 0 s");
        (await vm.Awaiting(v => v.WaitForConsoleLineAsync(new Regex("bo+t"), TimeSpan.Zero)).Should().ThrowExactlyAsync<TimeoutException>())
            .Which.Message.Should().Contain("matched a console line matching /bo+t/ within 0 s");

        // The largest finite timeout and the infinite one: accepted, ended here by the caller.
        foreach (TimeSpan longest in new[] { TimeSpan.FromMilliseconds(int.MaxValue), Timeout.InfiniteTimeSpan })
        {
            using var cts = new CancellationTokenSource();
            Task<string> text = vm.WaitForConsoleLineAsync("x", longest, cts.Token);
            Task<string> pattern = vm.WaitForConsoleLineAsync(new Regex("x"), longest, cts.Token);
            await cts.CancelAsync();
            await text.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
            await pattern.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task ApplyPayloadReport_BeforeTheStartAndAfterTheDeath_SaysWhy()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();
        var ready = new Virtualization.Core.Payload.PayloadReport(Virtualization.Core.Payload.PayloadReportKind.Ready);

        vm.ApplyPayloadReport(ready, null).Should().Be("the VM has not been started");
        vm.Kill();
        await vm.WaitForDeathAsync().WaitAsync(Wait);
        vm.ApplyPayloadReport(ready, null).Should().Be("the VM is dead");
    }

    [Fact(Timeout = 30_000)]
    public async Task SuspendAndResume_AreIdempotent_WithoutASecondRequest()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();

        await vm.SuspendAsync();
        await vm.SuspendAsync();
        vm.IsSuspended.Should().BeTrue();
        await vm.ResumeAsync();
        await vm.ResumeAsync();

        vm.IsSuspended.Should().BeFalse();
        w.Vmm.Next.Suspends.Should().Be(1);
        w.Vmm.Next.Resumes.Should().Be(1);
    }

    [Fact(Timeout = 30_000)]
    public async Task SuspendAndResume_OfAVmNotStarted_NameTheirOperation()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();

        (await vm.Awaiting(v => v.SuspendAsync()).Should().ThrowExactlyAsync<VirtualMachineNotRunningException>())
            .WithMessage($"Cannot suspend VM with CID {vm.Cid}: it has not been started. Await StartAsync first.");
        (await vm.Awaiting(v => v.ResumeAsync()).Should().ThrowExactlyAsync<VirtualMachineNotRunningException>())
            .WithMessage($"Cannot resume VM with CID {vm.Cid}: it has not been started. Await StartAsync first.");
    }

    [Fact(Timeout = 30_000)]
    public async Task Control_FailsWhileTheVmRuns_ThrowsTheVmmsErrorAndLogsIt()
    {
        await using var w = new InProcessWorld();
        var refused = new VirtualMachineControlException("crosvm refused", "suspend", "no such device");
        w.Vmm.Next.OnControl = () => Task.FromException(refused);
        VmInstance vm = await w.StartAsync();

        (await vm.Awaiting(v => v.SuspendAsync()).Should().ThrowExactlyAsync<VirtualMachineControlException>()).Which.Should().BeSameAs(refused);

        vm.IsSuspended.Should().BeFalse();
        w.Log.Entries.Should().ContainSingle(e => e.Message == "Control request suspend failed").Which.Exception.Should().BeSameAs(refused);
    }

    [Fact(Timeout = 30_000)]
    public async Task Control_FailsBecauseTheVmIsBeingKilled_ThrowsNotRunningWithTheVmmsErrorInside()
    {
        await using var w = new InProcessWorld();
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        w.Vmm.Next.OnControl = () => { asked.TrySetResult(); return answer.Task; };
        VmInstance vm = await w.StartAsync();
        w.Vmm.Next.IgnoreKill = true;
        Task suspend = vm.SuspendAsync();
        await asked.Task.WaitAsync(Wait);

        vm.Kill(); // still Running: the VMM has not exited yet
        var refused = new VirtualMachineControlException("crosvm refused", "suspend", "the VMM is going away");
        answer.SetException(refused);

        var thrown = (await suspend.Awaiting(t => t).Should().ThrowExactlyAsync<VirtualMachineNotRunningException>()).Which;
        thrown.InnerException.Should().BeSameAs(refused);
        thrown.Message.Should().Be(
            $"Cannot suspend VM with CID {vm.Cid}: it is not running (Starting; it is still starting or is being killed). Await StartAsync before driving the VM.");
        w.Messages.Should().NotContain("Control request suspend failed");
        w.Vmm.Next.Exit(137, DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task Control_AfterAKillTheVmmHasNotObeyedYet_IsRefusedWithoutARequest()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        w.Vmm.Next.IgnoreKill = true;

        vm.Kill();

        (await vm.Awaiting(v => v.SetMemoryBalloonAsync(1024)).Should().ThrowExactlyAsync<VirtualMachineNotRunningException>())
            .WithMessage($"Cannot set the memory balloon of VM with CID {vm.Cid}: it is not running (Starting; it is still starting or is being killed). Await StartAsync before driving the VM.");
        w.Vmm.Next.Balloons.Should().Be(0);
        w.Vmm.Next.Exit(137, DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task Control_QueuedBehindAnotherWhenTheVmIsKilled_IsRefusedAndFreesTheSlot()
    {
        await using var w = new InProcessWorld();
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        w.Vmm.Next.OnControl = () => { asked.TrySetResult(); return answer.Task; };
        VmInstance vm = await w.StartAsync();
        w.Vmm.Next.IgnoreKill = true;
        Task suspend = vm.SuspendAsync();
        await asked.Task.WaitAsync(Wait);
        Task balloon = vm.SetMemoryBalloonAsync(1024); // waits for the control slot

        vm.Kill();
        answer.SetResult();
        await suspend.WaitAsync(Wait);

        (await balloon.Awaiting(t => t).Should().ThrowExactlyAsync<VirtualMachineNotRunningException>())
            .Which.Message.Should().StartWith($"Cannot set the memory balloon of VM with CID {vm.Cid}: it is not running");
        w.Vmm.Next.Balloons.Should().Be(0);
        w.Vmm.Next.Exit(137, DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadReports_DeliverTheirCallbacksInOrder_AndLogEachReport()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        var first = new PayloadRecorder(vm);
        var second = new PayloadRecorder(vm);
        vm.RegisterCallback(first);
        vm.RegisterCallback(second);
        using var stdio = new MemoryStream();

        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Started), stdio).Should().BeNull();
        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Ready), null).Should().BeNull();
        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Ready), null).Should().Be("the payload is already Ready (repeated report)");
        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Finished, 3), null).Should().BeNull();
        vm.State.Should().Be(VirtualMachineState.Finished);
        w.Vmm.Next.Exit(0, DeathReason.Shutdown);
        await vm.WaitForDeathAsync().WaitAsync(Wait);

        first.Events.Should().Equal("payload-started:stdio", "payload-ready", "payload-finished:3", "died:Shutdown");
        second.Events.Should().Equal("payload-started", "payload-ready", "payload-finished:3", "died:Shutdown");
        string[] payload = [.. w.Messages.Where(m => m.StartsWith("Payload reported", StringComparison.Ordinal)).Select(m => m[..m.IndexOf(',', StringComparison.Ordinal)])];
        payload.Should().Equal("Payload reported started: state Started", "Payload reported ready: state Ready", "Payload reported finished(3): state Finished");
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadErrorReport_GivesOnErrorItsCodeAndMessage_AndLogsIt()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        var events = new PayloadRecorder(vm);
        vm.RegisterCallback(events);

        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Error, 5, "disk full"), null).Should().BeNull();
        w.Vmm.Next.Exit(0, DeathReason.Shutdown);
        await vm.WaitForDeathAsync().WaitAsync(Wait);

        vm.State.Should().Be(VirtualMachineState.Dead);
        events.Events.Should().Equal("error:5:disk full", "died:Shutdown");
        w.Messages.Should().Contain("Payload reported error 5: disk full");
        w.Messages.Should().Contain(m => m.StartsWith("Payload reported error(5): state Finished,", StringComparison.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadErrorReport_WithoutAMessage_GivesAnEmptyOne()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        var events = new PayloadRecorder(vm);
        vm.RegisterCallback(events);

        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Error, 7), null).Should().BeNull();
        w.Vmm.Next.Exit(0, DeathReason.Shutdown);
        await vm.WaitForDeathAsync().WaitAsync(Wait);

        events.Events.Should().Equal("error:7:", "died:Shutdown");
        w.Messages.Should().Contain("Payload reported error 7: ");
    }

    [Fact(Timeout = 30_000)]
    public async Task RegisterCallback_Null_IsRefusedNamingCallback()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync();

        vm.Invoking(v => v.RegisterCallback(null!)).Should().ThrowExactly<ArgumentNullException>().Which.ParamName.Should().Be("callback");
    }

    [Fact(Timeout = 30_000)]
    public async Task CopyToConsoleInputAsync_FromASourceThatNeverEnds_EndsQuietlyWhenTheVmDies()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.StartAsync();
        var source = new Virtualization.Core.Tests.Drive.StalledSource();
        Task copy = vm.CopyToConsoleInputAsync(source);
        await source.FirstRead.WaitAsync(Wait);

        w.Vmm.Next.Exit(0, DeathReason.Shutdown); // this VMM never disconnects the console itself: the VM's death must

        await copy.WaitAsync(Wait);
        copy.IsCompletedSuccessfully.Should().BeTrue();
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadWatchdog_HangsUp_ThenRefusesALateStartedReport_AndTheVmDiesWithHangup()
    {
        await using var w = new InProcessWorld();
        w.Vmm.Next.IgnoreKill = true;
        VmInstance vm = await w.CreateAsync(payload: new PayloadChannelOptions { StartTimeout = TimeSpan.FromMilliseconds(100) });
        w.Vmm.Next.Ready.SetResult();
        await vm.StartAsync();

        await w.Vmm.Next.Killed.WaitAsync(Wait); // the payload never reports: the watchdog kills the VM

        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Started), null)
            .Should().Be("the VM is being killed because its payload did not start in time (Hangup)");
        vm.State.Should().Be(VirtualMachineState.Starting);
        w.Messages.Should().ContainInOrder(
            "Payload did not report that it started within 00:00:00.1000000 (PayloadStartTimeout); killing the VM (DeathReason.Hangup)",
            "Killing the VM");
        w.Vmm.Next.Exit(137, DeathReason.Killed);
        (await vm.WaitForDeathAsync().WaitAsync(Wait)).Should().Be(DeathReason.Hangup);
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadStarted_StdioTakenByACallback_IsMarkedDelivered_SoTheHostLeavesItOpen()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync(payload: new PayloadChannelOptions { Stdio = true });
        w.Vmm.Next.Ready.SetResult();
        await vm.StartAsync();
        var taker = new PayloadRecorder(vm);
        vm.RegisterCallback(taker);
        using var stdio = new MemoryStream();
        vm.PayloadStdioDelivered.Should().BeFalse();

        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Started), stdio).Should().BeNull();
        w.Vmm.Next.Exit(0, DeathReason.Shutdown);
        await vm.WaitForDeathAsync().WaitAsync(Wait);

        taker.Events.Should().Equal("payload-started:stdio", "died:Shutdown");
        vm.PayloadStdioDelivered.Should().BeTrue();
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadStarted_WithoutAStdioStream_IsNotMarkedDelivered()
    {
        await using var w = new InProcessWorld();
        VmInstance vm = await w.CreateAsync(payload: new PayloadChannelOptions { Stdio = true });
        w.Vmm.Next.Ready.SetResult();
        await vm.StartAsync();
        var taker = new PayloadRecorder(vm);
        vm.RegisterCallback(taker);

        vm.ApplyPayloadReport(new(Virtualization.Core.Payload.PayloadReportKind.Started), null).Should().BeNull();
        w.Vmm.Next.Exit(0, DeathReason.Shutdown);
        await vm.WaitForDeathAsync().WaitAsync(Wait);

        taker.Events.Should().Equal("payload-started", "died:Shutdown");
        vm.PayloadStdioDelivered.Should().BeFalse("no stream was handed over");
    }
}
