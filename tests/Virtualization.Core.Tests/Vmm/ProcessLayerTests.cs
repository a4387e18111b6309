using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// Regression tests for the process layer (the fault-injection findings): resources per start, death from the process
/// rather than its pipes, signals only to processes the library owns, one outcome per start race.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class ProcessLayerTests
{
    /// <summary>The runtime's thread for registered waits (Process.WaitForExitAsync holds one per process).</summary>
    private const string RuntimeWaitThread = ".NET TP Wait";

    private static readonly Type[] s_documentedStartExceptions =
    [
        typeof(VirtualMachineStartException), typeof(OperationCanceledException), typeof(TaskCanceledException),
        typeof(ObjectDisposedException), typeof(InvalidOperationException),
    ];

    [Fact(Timeout = 240_000)]
    [Trait("Category", "Slow")]
    public async Task EarlyEndingStarts_1000_LeaveFdAndThreadAndInotifyCountsWhereTheyWere()
    {
        await using var h = TestHarness.OverStub();
        await WarmUpAsync(h);
        int fdsBefore = ProcessProbe.OpenFileDescriptors();
        int threadsBefore = ProcessProbe.Threads();
        int inotifyBefore = InotifyInstances();

        var random = new Random(8);
        int[] plan = [.. Enumerable.Range(0, 1000).Select(_ => random.Next(5))];
        int[] delays = [.. Enumerable.Range(0, 1000).Select(_ => random.Next(0, 4))];
        await InFlight.ForEachAsync(1000, 16, async i =>
        {
            StubScenario scenario = plan[i] == 0 ? new StubScenario { FailAtStart = 1 } : new StubScenario { NoSocket = true };
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.StubKernel(scenario) });
            using var cancel = new CancellationTokenSource();
            Task start = vm.StartAsync(cancel.Token);
            await Task.Delay(delays[i]);
            switch (plan[i])
            {
                case 1: vm.Kill(); break;
                case 2: await vm.DisposeAsync(); break;
                case 3: await cancel.CancelAsync(); break;
                case 4: await vm.StopAsync(); break;
            }

            Exception? thrown = await Record(start);
            thrown.Should().NotBeNull("every one of these starts ends early");
            thrown.Should().Match<Exception>(e => s_documentedStartExceptions.Contains(e.GetType()), $"plan {plan[i]} threw {thrown}");
            (await vm.WaitForDeathAsync()).Should().BeOneOf(DeathReason.StartFailed, DeathReason.Killed);
            await vm.DisposeAsync();
        });

        ProcessProbe.OpenFileDescriptors().Should().BeLessThanOrEqualTo(fdsBefore + 8, "starts that end early must not leak descriptors");
        ProcessProbe.Threads().Should().BeLessThanOrEqualTo(threadsBefore + 24, "starts that end early must not leak threads (one per start was leaked)");
        InotifyInstances().Should().Be(inotifyBefore, "no start may hold an inotify instance (128 per user, host-wide)");
        h.Service.DebugListVms().Should().BeEmpty();
    }

    [Fact(Timeout = 240_000)]
    [Trait("Category", "Slow")]
    public async Task ConcurrentStarts_500_AllComeUp_AndEachLiveVmHoldsAtMostFourDescriptors()
    {
        await using var h = TestHarness.OverStub();
        await WarmUpAsync(h);
        int fdsBefore = ProcessProbe.OpenFileDescriptors();
        int inotifyBefore = InotifyInstances();
        int waitThreadsBefore = ProcessProbe.ThreadsNamed(RuntimeWaitThread);

        IVirtualMachine[] vms = await Task.WhenAll(Enumerable.Range(0, 500).Select(async _ =>
        {
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.StubKernel(new StubScenario()) });
            await vm.StartAsync();
            h.TrackPid(vm);
            return vm;
        }));

        vms.Select(vm => vm.State).Should().AllBeEquivalentTo(VirtualMachineState.Starting);
        vms.Select(vm => vm.Cid).Should().OnlyHaveUniqueItems();
        int perVm = (ProcessProbe.OpenFileDescriptors() - fdsBefore) / vms.Length;
        perVm.Should().BeLessThanOrEqualTo(4, "a live VM holds its CID lock, its pidfd, its stderr connection and its console connection (always open: observed, and it takes input)");
        InotifyInstances().Should().Be(inotifyBefore);
        ProcessProbe.ThreadsNamed(RuntimeWaitThread).Should().BeLessThanOrEqualTo(
            waitThreadsBefore + 2, "a live VM holds no runtime wait registration (one wait thread serves 63 of them)");

        await Task.WhenAll(vms.Select(vm => vm.DisposeAsync().AsTask()));
        vms.Select(vm => vm.DeathReason).Should().AllBeEquivalentTo(DeathReason.Killed);
    }

    [Fact(Timeout = 60_000)]
    public async Task StalledConsoleStream_DoesNotDelayDeath_AfterKill()
    {
        var h = TestHarness.OverStub();
        var console = new StalledStream();
        IVirtualMachine vm = await h.Service.CreateVmAsync(
            new VirtualMachineRawConfig { Kernel = h.StubKernel(new StubScenario { ConsoleBytes = 8L << 20 }) }, console);
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);
        await vm.StartAsync();
        h.TrackPid(vm);
        await console.FirstWrite;

        vm.Kill();

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        (await callback.Died).Should().Be(DeathReason.Killed);
        await vm.DisposeAsync();
        await h.DisposeAsync(); // The service's dispose too, with the harness's leak checks.
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StalledOrThrowingConsoleStream_VmmExitsByItself_OnDiedArrives(bool throwing)
    {
        await using var h = TestHarness.OverStub();
        var stalled = new StalledStream();
        var broken = new ThrowingStream();
        Stream console = throwing ? broken : stalled;
        IVirtualMachine vm = await h.Service.CreateVmAsync(
            new VirtualMachineRawConfig { Kernel = h.StubKernel(new StubScenario { ConsoleBytes = 64 * 1024, ExitAfterMs = 20, ExitCode = 0 }) },
            console);
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);
        await vm.StartAsync();
        h.TrackPid(vm);

        (await callback.Died).Should().Be(DeathReason.Shutdown);
        (throwing ? broken.FirstWrite : stalled.FirstWrite).IsCompleted.Should().BeTrue("the console reached the sink before it stalled or failed");
    }

    [Fact(Timeout = 60_000)]
    public async Task VmmExitsWhileAChildItForkedHoldsItsOutput_IsReportedDeadWithoutKill()
    {
        await using var h = TestHarness.OverStub();
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.Service.CreateVmAsync(
            new VirtualMachineRawConfig { Kernel = h.StubKernel(new StubScenario { ForkChild = true, ExitAfterMs = 1500, ExitCode = 0 }) }, console);
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);
        await vm.StartAsync();
        int pid = h.ProcessIdOf(vm)!.Value;
        h.TrackPid(vm);
        ProcessProbe.InSession(pid).Count.Should().BeGreaterThanOrEqualTo(3, "vcore-exec, the VMM and the VMM's child are alive");

        (await callback.Died).Should().Be(DeathReason.Shutdown, "the VMM exited 0 by itself");
        // vcore-exec SIGKILLs the group before it reaps the VMM; delivery takes a moment on a loaded machine.
        (await ProcessProbe.WaitUntilAsync(() => ProcessProbe.InSession(pid).Count == 0, TimeSpan.FromSeconds(10)))
            .Should().BeTrue("the child the VMM left behind is killed with its process group");
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Kill_AfterTheVmmWasReaped_DoesNotSignalTheProcessThatReusedItsPid()
    {
        const string LastPid = "/proc/sys/kernel/ns_last_pid";
        Requirement.Require(Requirement.PidControl, Environment.IsPrivilegedProcess && File.Exists(LastPid), "needs root to choose the next pid (ns_last_pid)");
        VmmChildProcess child = await VmmChildProcess.StartAsync(
            "/bin/sh", ["-c", "exit 0"], new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 3), NullLogger.Instance, CancellationToken.None);
        int pid = child.ProcessId;
        (await child.Exited).Should().Be(0);

        // Give the pid to an unrelated process (other processes may take it first: retry a few times).
        Process? squatter = null;
        for (int attempt = 0; attempt < 50 && squatter is null; attempt++)
        {
            await File.WriteAllTextAsync(LastPid, (pid - 1).ToString(CultureInfo.InvariantCulture));
            var candidate = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
            if (candidate.Id == pid)
            {
                squatter = candidate;
            }
            else
            {
                candidate.Kill();
                await candidate.WaitForExitAsync();
                candidate.Dispose();
            }
        }

        Skip.If(squatter is null, "could not place a process on the reaped pid (the machine is too busy)");
        try
        {
            child.Kill();
            child.Kill();
            ProcessProbe.IsAlive(pid).Should().BeTrue("the process that reused the pid is not the library's");
            squatter.HasExited.Should().BeFalse();
        }
        finally
        {
            squatter.Kill();
            await squatter.WaitForExitAsync();
            squatter.Dispose();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Qemu_QmpSocketAcceptsButNeverGreets_StartTimesOut()
    {
        await using var h = new TestHarness(o => o with
        {
            Vmm = VmmKind.Qemu,
            QemuPath = TestPaths.StubVmm,
            Acceleration = VmAcceleration.Tcg,
            StartTimeout = TimeSpan.FromSeconds(2),
        });
        IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.StubKernel(new StubScenario { QmpSilent = true }) });
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);

        Func<Task> start = () => vm.StartAsync();

        (await start.Should().ThrowAsync<VirtualMachineStartException>()).Which.Message.Should().Contain("StartTimeout");
        (await callback.Died).Should().Be(DeathReason.StartFailed);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(0, DeathReason.Shutdown)]
    [InlineData(36, DeathReason.Watchdog)]
    [InlineData(32, DeathReason.Reboot)]
    public async Task VmmThatComesUpAndExitsAtOnce_StartSucceeds_AndDeathCarriesItsOwnReason(int exitCode, DeathReason expected)
    {
        await using var h = TestHarness.OverStub();
        string kernel = h.StubKernel(new StubScenario { SocketThenExit = true, ExitCode = exitCode });
        await InFlight.ForEachAsync(100, 16, async _ =>
        {
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel });
            var callback = new RecordingCallback();
            vm.RegisterCallback(callback);
            await vm.StartAsync(); // Must not throw: the VMM did come up.
            (await callback.Died).Should().Be(expected);
            callback.Events.Should().Equal($"died:{expected}");
            await vm.DisposeAsync();
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task VmmThatExitsAtOnceWithAFailure_StartThrowsOnlyTheStartException()
    {
        await using var h = new TestHarness(o => o with { CrosvmPath = "/bin/false" });
        for (int i = 0; i < 20; i++)
        {
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.File($"kernel-{i}") });
            Func<Task> start = () => vm.StartAsync();
            (await start.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which.Message.Should().Contain("exited with code 1 before the VM was up");
            vm.DeathReason.Should().Be(DeathReason.StartFailed);
            await vm.DisposeAsync();
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(0, DeathReason.Shutdown)]
    [InlineData(32, DeathReason.Reboot)]
    [InlineData(36, DeathReason.Watchdog)]
    public async Task VmmWhoseSocketIsGoneBeforeTheFirstProbe_ButWhoseExitCodeShowsItRan_StartSucceeds(int exitCode, DeathReason expected)
    {
        // crosvm unlinks its control socket on a clean exit: a VM that ran and stopped before the first probe left no
        // socket behind, only its exit code.
        await using var h = new TestHarness(o => o with { CrosvmPath = TestPaths.StubVmm });
        string kernel = h.StubKernel(new StubScenario { FailAtStart = exitCode });
        for (int i = 0; i < 10; i++)
        {
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel });
            await vm.StartAsync();
            (await vm.WaitForDeathAsync()).Should().Be(expected);
            await vm.DisposeAsync();
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task StartAsync_UnderRandomKillDisposeStopAndCancel_ThrowsOnlyDocumentedExceptions_AndDiesOnce()
    {
        await using var h = TestHarness.OverStub();
        var random = new Random(2024);
        var cases = Enumerable.Range(0, 300).Select(_ => (Action: random.Next(6), Delay: random.Next(0, 6), Behaviour: random.Next(5))).ToArray();
        await InFlight.ForEachAsync(cases.Length, 16, async i =>
        {
            (int action, int delay, int behaviour) = cases[i];
            StubScenario scenario = behaviour switch
            {
                0 => new StubScenario { FailAtStart = 3 },
                1 => new StubScenario { SocketThenExit = true, ExitCode = 0 },
                2 => new StubScenario { StartupMs = delay },
                3 => new StubScenario { ExitAfterMs = delay, Signal = 11 },
                _ => new StubScenario(),
            };
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.StubKernel(scenario) });
            var callback = new RecordingCallback();
            vm.RegisterCallback(callback);
            using var cancel = new CancellationTokenSource();
            Task start = vm.StartAsync(cancel.Token);
            await Task.Delay(delay);
            switch (action)
            {
                case 0: vm.Kill(); break;
                case 1: await vm.DisposeAsync(); break;
                case 2: await cancel.CancelAsync(); break;
                case 3: await vm.StopAsync(); break;
                case 4: vm.Kill(); vm.Kill(); break;
                default: break;
            }

            Exception? thrown = await Record(start);
            if (thrown is not null)
            {
                s_documentedStartExceptions.Should().Contain(thrown.GetType(), $"case {cases[i]} threw {thrown}");
            }

            await vm.DisposeAsync();
            await callback.Died;
            callback.Events.Count(e => e.StartsWith("died:", StringComparison.Ordinal)).Should().Be(1, "OnDied arrives exactly once");
        });
    }

    /// <summary>Brings up the process-wide parts (helper listener, pidfd watcher, thread pool) before counting.</summary>
    private static async Task WarmUpAsync(TestHarness h)
    {
        await InFlight.ForEachAsync(32, 16, async _ =>
        {
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.StubKernel(new StubScenario()) });
            await vm.StartAsync();
            await vm.DisposeAsync();
        });
    }

    private static int InotifyInstances() =>
        Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget == "anon_inode:inotify";
            }
            catch (IOException)
            {
                return false;
            }
        });

    private static async Task<Exception?> Record(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
