using System.Diagnostics;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

public sealed class HostDeathTests
{
    [Fact(Timeout = 60_000)]
    public async Task HostKilled_VmmAndTheChildItForkedDie_AfterSurvivingTheirSpawningThread()
    {
        using var temp = new TempDir("vct-host-");
        string root = temp.Path;
        string kernel = new FakeScenario { SpawnChild = true }.WriteKernel(Path.Combine(root, "kernel"));
        var psi = new ProcessStartInfo(TestPaths.VmHost) { RedirectStandardOutput = true };
        foreach (string arg in new[] { "run", TestPaths.FakeCrosvm, kernel, Path.Combine(root, "vms") })
        {
            psi.ArgumentList.Add(arg);
        }

        using Process host = Process.Start(psi)!;
        string line = (await host.StandardOutput.ReadLineAsync())!;
        line.Should().StartWith("VMM ");
        int vmmPid = int.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);

        // The thread that created and started the VM has exited; the VMM must still be alive.
        ProcessProbe.IsAlive(vmmPid).Should().BeTrue("a VMM must survive the thread that started it");
        await ForceThreadPoolChurnAsync();
        ProcessProbe.IsAlive(vmmPid).Should().BeTrue();
        (await ProcessProbe.WaitUntilAsync(() => ProcessProbe.InSession(vmmPid).Count >= 3, TimeSpan.FromSeconds(20)))
            .Should().BeTrue("vcore-exec, the fake VMM and the child it forked are running");

        host.Kill();
        await host.WaitForExitAsync();

        // The latency is measured in docs/reliability.md; here only that everything goes (bounded generously).
        (await ProcessProbe.WaitUntilAsync(() => ProcessProbe.InSession(vmmPid).Count == 0, TimeSpan.FromSeconds(20)))
            .Should().BeTrue("the VMM and everything it started must die with its host");
    }

    [Fact(Timeout = 60_000)]
    public async Task VmStartedFromExitingThreads_KeepsRunning()
    {
        await using var h = new TestHarness();
        IVirtualMachine? vm = null;
        var thread = new Thread(() =>
        {
            // Deliberately blocking: this thread must exit right after starting the VM.
            vm = h.StartAsync().GetAwaiter().GetResult();
        });
        thread.Start();
        thread.Join();
        await ForceThreadPoolChurnAsync();

        vm!.State.Should().Be(VirtualMachineState.Starting);
        ProcessProbe.IsAlive(h.ProcessIdOf(vm)!.Value).Should().BeTrue();
        await vm.StopAsync();
        vm.DeathReason.Should().Be(DeathReason.Shutdown, "it was still running until we stopped it");
    }

    private static async Task ForceThreadPoolChurnAsync()
    {
        // Threads that exit: if a VMM were tied to one of them by PR_SET_PDEATHSIG, it would be killed here.
        for (int i = 0; i < 8; i++)
        {
            var t = new Thread(() => { });
            t.Start();
            t.Join();
        }

        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => Thread.SpinWait(1000))));
    }
}
