using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Virtualization.Core.Qemu;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>
/// <see cref="QemuProcess"/> over a shell child (the process under vcore-exec) and a <see cref="ScriptedQmpServer"/> in
/// place of QEMU's QMP socket: readiness, the death reason from QMP events, the control commands' exact bytes and
/// failures, and the graceful stop. No QEMU, no guest.
/// </summary>
public sealed class QemuProcessTests
{
    private const long GuestMemory = 268435456; // 256 MiB

    /// <summary>What <see cref="QemuProcess"/> sends as soon as it is up (id 1): the balloon statistics polling.</summary>
    private const string EnableStats =
        "{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"/machine/peripheral/balloon0\",\"property\":\"guest-stats-polling-interval\",\"value\":1},\"id\":1}\n";

    private static readonly TimeSpan LongGrace = TimeSpan.FromMinutes(10);

    [Theory(Timeout = 60_000)]
    [InlineData("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}", DeathReason.Shutdown)]
    [InlineData("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}", DeathReason.Reboot)]
    [InlineData("{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\"}}", DeathReason.GuestPanic)]
    [InlineData("{\"event\": \"STOP\"}", DeathReason.Error)]
    public async Task Exited_WaitsForTheQmpSocketToClose_AndMapsItsEventsAndTheExitCode(string lastEvent, DeathReason expected)
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, VmmChildProcess child, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exit 3");
        await using var cleanup = KillAtEnd(server, process);
        (await child.Exited).Should().Be(3);
        Task<VmmExit> exited = process.Exited;
        exited.IsCompleted.Should().BeFalse("QEMU's last events are only known once its QMP socket closes");

        await qemu.SendLineAsync(lastEvent);
        qemu.CloseOutput();

        (await exited).Should().Be(new VmmExit(3, expected));
        (await qemu.ReadToEndAsync()).Should().BeEmpty("the QMP connection is closed once the death is known");
    }

    [Fact(Timeout = 60_000)]
    public async Task NeverUp_ExitCode1_StartFailsNamingQemu_StopIsANoOp_ControlFailsWithoutQmp()
    {
        await using var server = new ScriptedQmpServer();
        VmmChildProcess child = await LaunchChildAsync("exit 1");
        var process = new QemuProcess(child, Path.Combine(server.Folder, "absent.sock"), LongGrace, GuestMemory);

        VirtualMachineStartException e = (await process.Awaiting(p => p.WaitUntilReadyAsync(CancellationToken.None))
            .Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which;
        e.Message.Should().Be(
            "qemu exited with code 1 before the VM was up. It wrote nothing to stderr.\nThe VM is dead and cannot be started again; fix the cause and create a new VM.");
        e.ExitCode.Should().Be(1);

        await process.RequestStopAsync(CancellationToken.None); // nothing to ask: returns
        VirtualMachineControlException control = (await process.Awaiting(p => p.SuspendAsync(CancellationToken.None))
            .Should().ThrowExactlyAsync<VirtualMachineControlException>()).Which;
        control.Message.Should().Be("QEMU's QMP connection is not open, so suspend cannot be sent.");
        control.Operation.Should().Be("suspend");
        control.Detail.Should().BeEmpty();
        (await process.Exited).Should().Be(new VmmExit(1, DeathReason.Error));
    }

    [Fact(Timeout = 60_000)]
    public async Task NeverUp_ExitCode0_CountsAsUp_AndDiesShutdown()
    {
        await using var server = new ScriptedQmpServer();
        VmmChildProcess child = await LaunchChildAsync("exit 0");
        var process = new QemuProcess(child, Path.Combine(server.Folder, "absent.sock"), LongGrace, GuestMemory);

        await process.WaitUntilReadyAsync(CancellationToken.None); // exit 0 only comes from a QEMU whose guest ran

        (await process.Exited).Should().Be(new VmmExit(0, DeathReason.Shutdown));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(null)]
    [InlineData("QEMU is starting")]
    public async Task WaitUntilReadyAsync_FirstConnectionHangsUpOrGarbles_ProbesAgain(string? firstWords)
    {
        await using var server = new ScriptedQmpServer();
        VmmChildProcess child = await LaunchChildAsync("exec sleep 600");
        var process = new QemuProcess(child, server.SocketPath, LongGrace, GuestMemory);
        await using var cleanup = KillAtEnd(server, process);
        Task ready = process.WaitUntilReadyAsync(CancellationToken.None);
        using (ScriptedQmpConnection first = await server.AcceptAsync())
        {
            if (firstWords is not null)
            {
                await first.SendLineAsync(firstWords);
            }
        }

        ScriptedQmpConnection second = await server.AcceptNegotiatedAsync();
        await ready;
        (await second.ReadLineAsync()).Should().Be(EnableStats);
    }

    [Fact(Timeout = 60_000)]
    public async Task ControlCommands_SendTheirExactQmpAndParseTheReplies()
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600");
        await using var cleanup = KillAtEnd(server, process);
        await AnsweredAsync(process.SuspendAsync(CancellationToken.None), qemu, "stop", 2);

        await AnsweredAsync(process.ResumeAsync(CancellationToken.None), qemu, "cont", 3);

        // 64 MiB of balloon: the guest keeps 256 - 64 = 192 MiB.
        Task balloon = process.SetBalloonAsync(67108864, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"balloon\",\"arguments\":{\"value\":201326592},\"id\":4}\n");
        await qemu.SendLineAsync("{\"return\": {}, \"id\": 4}");
        await balloon;

        Task<MemoryBalloonStats> stats = process.GetBalloonStatsAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-balloon\",\"id\":5}\n");
        await qemu.SendLineAsync("{\"return\": {\"actual\": 201326592}, \"id\": 5}");
        (await qemu.ReadLineAsync()).Should().Be(
            "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/balloon0\",\"property\":\"guest-stats\"},\"id\":6}\n");
        await qemu.SendLineAsync(
            "{\"return\": {\"stats\": {\"stat-swap-in\": 0, \"stat-total-memory\": 198000000, \"stat-free-memory\": 18446744073709551615, "
            + "\"stat-available-memory\": 150000000, \"stat-disk-caches\": 9223372036854775808, \"stat-major-faults\": 9223372036854775807, "
            + "\"stat-minor-faults\": 3456}, \"last-update\": 1700000000}, \"id\": 6}");
        (await stats).Should().Be(new MemoryBalloonStats(67108864, 268435456, 198000000, null, 150000000, null, 9223372036854775807, 3456));
    }

    [Fact(Timeout = 60_000)]
    public async Task StatsPollingRefused_IsSwallowed_AndTheVmStaysControllable()
    {
        const string Desc = "Device 'balloon0' not found (QemuProcessTests)";
        using var unobserved = new UnobservedExceptions();
        await using var server = new ScriptedQmpServer();
        VmmChildProcess child = await LaunchChildAsync("exec sleep 600");
        var process = new QemuProcess(child, server.SocketPath, LongGrace, GuestMemory);
        await using var cleanup = KillAtEnd(server, process);
        Task<ScriptedQmpConnection> accepted = server.AcceptNegotiatedAsync();
        await process.WaitUntilReadyAsync(CancellationToken.None);
        ScriptedQmpConnection qemu = await accepted;
        (await qemu.ReadLineAsync()).Should().Be(EnableStats);
        await qemu.SendLineAsync($"{{\"error\": {{\"class\": \"DeviceNotFound\", \"desc\": \"{Desc}\"}}, \"id\": 1}}");

        await AnsweredAsync(process.SuspendAsync(CancellationToken.None), qemu, "stop", 2);

        await process.Invoking(p => p.StatsSwitch.WaitAsync(TimeSpan.FromSeconds(20))).Should().NotThrowAsync("a refusal is swallowed");
        UnobservedExceptions.Flush();
        unobserved.Matching<QmpErrorException>().Should().NotContain(
            e => e.Flatten().InnerExceptions.Any(i => i.Message.Contains(Desc, StringComparison.Ordinal)));
    }

    [Fact]
    public void ParseStats_GuestStatsWithoutStats_LeavesEveryStatisticUnknown()
    {
        using var balloon = JsonDocument.Parse("{\"actual\": 268435456}");
        using var noStats = JsonDocument.Parse("{\"last-update\": 0}");
        using var notAnObject = JsonDocument.Parse("{\"stats\": [1, 2]}");

        QemuProcess.ParseStats(balloon.RootElement, noStats.RootElement, 268435456)
            .Should().Be(new MemoryBalloonStats(0, 268435456, null, null, null, null, null, null));
        QemuProcess.ParseStats(balloon.RootElement, notAnObject.RootElement, 536870912)
            .Should().Be(new MemoryBalloonStats(268435456, 536870912, null, null, null, null, null, null));
    }

    [Fact]
    public void ParseStats_EveryStatistic_IsReadFromItsOwnField()
    {
        using var balloon = JsonDocument.Parse("{\"actual\": 1000}");
        using var guestStats = JsonDocument.Parse(
            "{\"stats\": {\"stat-swap-in\": 9, \"stat-total-memory\": 101, \"stat-free-memory\": 102, \"stat-available-memory\": 103, "
            + "\"stat-disk-caches\": 104, \"stat-major-faults\": 105, \"stat-minor-faults\": 106}}");

        QemuProcess.ParseStats(balloon.RootElement, guestStats.RootElement, 5000)
            .Should().Be(new MemoryBalloonStats(4000, 5000, 101, 102, 103, 104, 105, 106));
    }

    [Fact(Timeout = 60_000)]
    public async Task ControlCommands_QemuRefusesOrHangsUp_ThrowControlExceptionsWithWhatItSaid()
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600");
        await using var cleanup = KillAtEnd(server, process);
        Task suspend = process.SuspendAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"stop\",\"id\":2}\n");
        await qemu.SendLineAsync("{\"error\": {\"class\": \"GenericError\", \"desc\": \"the guest is migrating\"}, \"id\": 2}");
        VirtualMachineControlException refused = (await suspend.Awaiting(t => t).Should().ThrowExactlyAsync<VirtualMachineControlException>()).Which;
        refused.Message.Should().Be("QEMU refused suspend (QMP stop): GenericError: the guest is migrating");
        refused.Operation.Should().Be("suspend");
        refused.Detail.Should().Be("GenericError: the guest is migrating");
        refused.InnerException.Should().BeOfType<QmpErrorException>();

        // Not paused (the stop was refused): the stop asks the guest at once, without a cont.
        Task stop = process.RequestStopAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");
        process.Kill();
        await stop;

        Task balloon = process.SetBalloonAsync(0, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"balloon\",\"arguments\":{\"value\":268435456},\"id\":3}\n");
        qemu.CloseOutput();
        VirtualMachineControlException gone = (await balloon.Awaiting(t => t).Should().ThrowExactlyAsync<VirtualMachineControlException>()).Which;
        gone.Message.Should().Be("QEMU did not answer balloon (QMP balloon): QEMU closed its QMP socket before it answered (it exited).");
        gone.Operation.Should().Be("balloon");
        gone.Detail.Should().BeEmpty();
        gone.InnerException.Should().BeOfType<IOException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task ControlCommand_CallerCancels_ThrowsOperationCanceled()
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600");
        await using var cleanup = KillAtEnd(server, process);
        using var cts = new CancellationTokenSource();
        Task<MemoryBalloonStats> stats = process.GetBalloonStatsAsync(cts.Token);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-balloon\",\"id\":2}\n");

        await cts.CancelAsync();

        await stats.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStopAsync_QemuExitsAfterThePowerButton_SendsNoQuit()
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600");
        await using var cleanup = KillAtEnd(server, process);
        Task stop = process.RequestStopAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");
        process.Kill(); // the guest powers off

        await stop;
        qemu.CloseOutput();
        await process.Exited;
        (await qemu.ReadToEndAsync()).Should().BeEmpty("no quit after QEMU exited");
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStopAsync_GuestIgnoresThePowerButton_QuitsAfterHalfTheGrace()
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600", TimeSpan.FromMilliseconds(200));
        await using var cleanup = KillAtEnd(server, process);
        Task stop = process.RequestStopAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"quit\"}\n");
        await stop;
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStopAsync_QuitComesWhenHalfTheGraceIsOver_NotLater()
    {
        var time = new FakeTimeProvider();
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600", TimeSpan.FromSeconds(10), time);
        await using var cleanup = KillAtEnd(server, process);
        Task stop = process.RequestStopAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");

        time.Advance(TimeSpan.FromSeconds(5));

        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"quit\"}\n");
        await stop;
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStopAsync_GuestPowersOffBeforeHalfTheGrace_SendsNoQuit()
    {
        var time = new FakeTimeProvider();
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600", TimeSpan.FromSeconds(10), time);
        await using var cleanup = KillAtEnd(server, process);
        Task stop = process.RequestStopAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");

        time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        process.Kill(); // the guest powers off

        await stop;
        qemu.CloseOutput();
        await process.Exited;
        (await qemu.ReadToEndAsync()).Should().BeEmpty("half the grace was not over when QEMU exited");
    }

    [Fact(Timeout = 60_000)]
    public async Task ControlCommand_NoAnswerWithinTheControlTimeout_IsAControlErrorThatSaysSo()
    {
        QemuProcess.ControlTimeout.Should().Be(TimeSpan.FromSeconds(30));
        var time = new FakeTimeProvider();
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600", time: time);
        await using var cleanup = KillAtEnd(server, process);
        Task<MemoryBalloonStats> stats = process.GetBalloonStatsAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-balloon\",\"id\":2}\n");

        time.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromTicks(1));
        stats.IsCompleted.Should().BeFalse("the control timeout is not over");
        time.Advance(TimeSpan.FromTicks(1));

        VirtualMachineControlException e = (await stats.Awaiting(t => t).Should().ThrowExactlyAsync<VirtualMachineControlException>()).Which;
        e.Message.Should().Be("QEMU did not answer balloon_stats (QMP query-balloon) within 30 s; the VM may be stuck.");
        e.Operation.Should().Be("balloon_stats");
        e.Detail.Should().BeEmpty();
        e.InnerException.Should().BeAssignableTo<OperationCanceledException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStopAsync_CancelledWhileWaitingForTheGuest_ThrowsAndSendsNoQuit()
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600");
        await using var cleanup = KillAtEnd(server, process);
        using var cts = new CancellationTokenSource();
        Task stop = process.RequestStopAsync(cts.Token);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");

        await cts.CancelAsync();

        await stop.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        process.Kill();
        qemu.CloseOutput();
        await process.Exited;
        (await qemu.ReadToEndAsync()).Should().BeEmpty("a cancelled stop sends no quit");
    }

    [Theory(Timeout = 60_000)]
    [InlineData("{\"return\": {}, \"id\": 3}")]
    [InlineData("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Resetting the Virtual Machine is required\"}, \"id\": 3}")]
    public async Task RequestStopAsync_SuspendedGuest_ContinuesItFirst_EvenWhenTheContIsRefused(string contReply)
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600");
        await using var cleanup = KillAtEnd(server, process);
        await AnsweredAsync(process.SuspendAsync(CancellationToken.None), qemu, "stop", 2);

        Task stop = process.RequestStopAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"cont\",\"id\":3}\n");
        await qemu.SendLineAsync(contReply);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");
        process.Kill();
        await stop;
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStopAsync_AfterSuspendAndResume_SendsNoCont()
    {
        await using var server = new ScriptedQmpServer();
        (QemuProcess process, _, ScriptedQmpConnection qemu) = await StartUpAsync(server, "exec sleep 600");
        await using var cleanup = KillAtEnd(server, process);
        await AnsweredAsync(process.SuspendAsync(CancellationToken.None), qemu, "stop", 2);
        await AnsweredAsync(process.ResumeAsync(CancellationToken.None), qemu, "cont", 3);

        Task stop = process.RequestStopAsync(CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");
        process.Kill();
        await stop;
    }

    [Theory]
    [InlineData(1, "guest-shutdown", false, DeathReason.Shutdown)]
    [InlineData(1, "host-qmp-quit", false, DeathReason.Shutdown)]
    [InlineData(1, "host-signal", false, DeathReason.Shutdown)]
    [InlineData(1, "host-ui", false, DeathReason.Shutdown)]
    [InlineData(1, "guest-reset", false, DeathReason.Reboot)]
    [InlineData(0, "host-qmp-system-reset", false, DeathReason.Reboot)]
    [InlineData(1, "host-qmp-system-reset", false, DeathReason.Reboot)]
    [InlineData(0, "guest-shutdown", true, DeathReason.GuestPanic)]
    [InlineData(0, "subsystem-reset", false, DeathReason.Shutdown)]
    [InlineData(1, "subsystem-reset", false, DeathReason.Error)]
    public void ToDeathReason_ReasonsThatDecideWhateverTheExitCode(int exitCode, string? reason, bool panicked, DeathReason expected) =>
        QemuProcess.ToDeathReason(exitCode, reason, panicked).Should().Be(expected);

    private static Task<VmmChildProcess> LaunchChildAsync(string script) =>
        VmmChildProcess.StartAsync(
            "/bin/sh", ["-c", script], new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 3), NullLogger.Instance, CancellationToken.None);

    /// <summary>Launches <paramref name="script"/>, lets the process come up over <paramref name="server"/>, answers the statistics switch.</summary>
    private static async Task<(QemuProcess Process, VmmChildProcess Child, ScriptedQmpConnection Qemu)> StartUpAsync(
        ScriptedQmpServer server, string script, TimeSpan? grace = null, TimeProvider? time = null)
    {
        VmmChildProcess child = await LaunchChildAsync(script);
        var process = new QemuProcess(child, server.SocketPath, grace ?? LongGrace, GuestMemory, time);
        Task<ScriptedQmpConnection> accepted = server.AcceptNegotiatedAsync();
        await process.WaitUntilReadyAsync(CancellationToken.None);
        ScriptedQmpConnection qemu = await accepted;
        (await qemu.ReadLineAsync()).Should().Be(EnableStats);
        await qemu.SendLineAsync("{\"return\": {}, \"id\": 1}");
        return (process, child, qemu);
    }

    /// <summary>At the end of the test, whatever happened: kills the process, hangs up QMP, and waits for the death.</summary>
    private static KilledAtEnd KillAtEnd(ScriptedQmpServer server, QemuProcess process) => new(server, process);

    private sealed class KilledAtEnd(ScriptedQmpServer server, QemuProcess process) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            process.Kill();
            server.CloseConnections();
            await process.Exited;
        }
    }

    /// <summary>Awaits a control call after checking the exact QMP command it sent (<c>{"execute":"CMD","id":ID}</c>) and answering it with an empty return.</summary>
    private static async Task AnsweredAsync(Task call, ScriptedQmpConnection qemu, string command, int id)
    {
        (await qemu.ReadLineAsync()).Should().Be($"{{\"execute\":\"{command}\",\"id\":{id}}}\n");
        await qemu.SendLineAsync($"{{\"return\": {{}}, \"id\": {id}}}");
        await call;
    }
}
