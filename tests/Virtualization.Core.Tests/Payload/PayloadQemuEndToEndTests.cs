using System.Text;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Tests.Qemu;

namespace Virtualization.Core.Tests.Payload;

/// <summary>
/// The payload channel on real guests: QEMU (TCG), the Debian kernel and the busybox initramfs with guest/vcore-agent.c,
/// over the serial transport (named virtio-serial ports wired to the VM folder's sockets). The vsock variant runs only
/// where /dev/vhost-vsock exists.
/// </summary>
[Collection(QemuGuests.Name)]
[Trait("Category", "E2E")]
public sealed class PayloadQemuEndToEndTests
{
    /// <summary>Generous: a loaded 2-core CI host boots this guest in 4-30 s under TCG.</summary>
    private static readonly TimeSpan BootAllowance = TimeSpan.FromSeconds(120);

    /// <summary>A guest whose agent runs <paramref name="argv"/> as the payload.</summary>
    private static VirtualMachineRawConfig Payload(string extraParams, params string[] argv) => new()
    {
        Kernel = GuestImage.Kernel,
        Initrd = GuestImage.Initrd,
        Params = $"quiet {extraParams} vcore.payload={Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\0', argv)))}".Replace("  ", " ", StringComparison.Ordinal),
        PayloadChannel = new PayloadChannelOptions { Stdio = true, StartTimeout = BootAllowance },
    };

    private static async Task<(IVirtualMachine Vm, PayloadRecorder Events, ConsoleCapture Console)> StartAsync(TestHarness h, VirtualMachineRawConfig config)
    {
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.Service.CreateVmAsync(config, console);
        var events = new PayloadRecorder(vm);
        vm.RegisterCallback(events);
        await vm.StartAsync();
        h.TrackPid(vm);
        return (vm, events, console);
    }

    [SkippableFact(Timeout = 240_000)]
    public async Task ReadyPayload_EchoesItsStdio_ExitsThree_CallbacksInOrder()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        (IVirtualMachine vm, PayloadRecorder events, ConsoleCapture console) = await StartAsync(
            h, Payload(string.Empty, "/bin/sh", "-c", "vm-payload ready; read line; echo \"echo:$line\"; exit 3"));

        Stream? stdio = await events.Started;
        stdio.Should().NotBeNull("the payload has a stdio port; console:\n" + console.Text);
        (await vm.WaitForStateAsync(VirtualMachineState.Ready)).Should().Be(VirtualMachineState.Ready, "the payload waits for its input before it exits");
        events.Events.Should().NotContain(e => e.StartsWith("payload-finished", StringComparison.Ordinal), "WaitForStateAsync(Ready) completes before the payload finishes");

        await using (stdio)
        {
            await stdio!.WriteAsync("hello\n"u8.ToArray());
            using var reader = new StreamReader(stdio, Encoding.UTF8, leaveOpen: true);
            (await reader.ReadLineAsync()).Should().Be("echo:hello");
        }

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown, "the agent powers the VM off; console:\n" + console.Text);
        events.Events.Should().Equal("payload-started:stdio", "payload-ready", "payload-finished:3", "died:Shutdown");
        events.StatesSeen.Should().BeInAscendingOrder();
        console.Text.Should().Contain("VCORE-GUEST: payload exited with 3");
    }

    [SkippableFact(Timeout = 240_000)]
    public async Task PayloadThatNeverStarts_IsKilledWithHangup_AfterTheConfiguredTimeout()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        (IVirtualMachine vm, PayloadRecorder events, _) = await StartAsync(
            h, GuestImage.Action("hang") with { PayloadChannel = new PayloadChannelOptions { StartTimeout = TimeSpan.FromSeconds(3) } });

        Func<Task> started = () => vm.WaitForStateAsync(VirtualMachineState.Started);

        (await started.Should().ThrowAsync<VirtualMachineDiedException>()).Which.Reason.Should().Be(DeathReason.Hangup);
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Hangup);
        events.Events.Should().Equal("died:Hangup");
    }

    [SkippableFact(Timeout = 240_000)]
    public async Task MissingPayload_ReportsAnError_ThenTheVmShutsDown()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        (IVirtualMachine vm, PayloadRecorder events, ConsoleCapture console) = await StartAsync(h, Payload(string.Empty, "/bin/no-such-payload"));

        (await vm.WaitForStateAsync(VirtualMachineState.Started)).Should().BeOneOf(
            [VirtualMachineState.Finished, VirtualMachineState.Dead], "an error ends the payload; Started was skipped");
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown, "console:\n" + console.Text);
        events.Events.Should().Equal(
            $"error:{PayloadErrorCodes.PayloadNotFound}:cannot execute /bin/no-such-payload: No such file or directory", "died:Shutdown");
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task TwoGuestsAtOnce_EachReportsOnlyForItself()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        var configs = Enumerable.Range(0, 2)
            .Select(i => Payload(string.Empty, "/bin/sh", "-c", $"vm-payload ready; echo guest-{i}; exit 1{i}"))
            .ToArray();
        (IVirtualMachine Vm, PayloadRecorder Events, ConsoleCapture Console)[] guests = await Task.WhenAll(configs.Select(c => StartAsync(h, c)));

        string?[] lines = await Task.WhenAll(guests.Select(async g =>
        {
            Stream? stdio = await g.Events.Started;
            if (stdio is null)
            {
                return null;
            }

            await using (stdio)
            {
                using var reader = new StreamReader(stdio);
                return await reader.ReadLineAsync();
            }
        }));
        await Task.WhenAll(guests.Select(g => g.Vm.WaitForDeathAsync()));

        lines.Should().Equal("guest-0", "guest-1");
        for (int i = 0; i < 2; i++)
        {
            guests[i].Events.Events.Should().Equal(["payload-started:stdio", "payload-ready", $"payload-finished:1{i}", "died:Shutdown"], "console:\n" + guests[i].Console.Text);
        }
    }

    [SkippableFact(Timeout = 240_000)]
    public async Task OverVsock_ReadyPayload_EchoesItsStdio_ExitsThree()
    {
        Skip.IfNot(File.Exists("/dev/vhost-vsock"), "/dev/vhost-vsock is absent: this host cannot give guests a vsock device (modprobe vhost_vsock), so the vsock transport cannot be tested end to end here");
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness(realVsock: true);
        VirtualMachineRawConfig config = Payload("vcore.payload.transport=vsock vcore.payload.stdio=vsock", "/bin/sh", "-c", "vm-payload ready; read line; echo \"echo:$line\"; exit 3");
        (IVirtualMachine vm, PayloadRecorder events, ConsoleCapture console) = await StartAsync(
            h, config with { PayloadChannel = config.PayloadChannel! with { Transport = PayloadTransport.Vsock } });

        Stream? stdio = await events.Started;
        stdio.Should().NotBeNull("console:\n" + console.Text);
        await vm.WaitForStateAsync(VirtualMachineState.Ready);
        await using (stdio)
        {
            await stdio!.WriteAsync("hello\n"u8.ToArray());
            using var reader = new StreamReader(stdio, Encoding.UTF8, leaveOpen: true);
            (await reader.ReadLineAsync()).Should().Be("echo:hello");
        }

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
        events.Events.Should().Equal("payload-started:stdio", "payload-ready", "payload-finished:3", "died:Shutdown");
    }
}
