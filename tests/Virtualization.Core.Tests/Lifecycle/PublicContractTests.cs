using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// Public-API promises not covered elsewhere: every CancellationToken parameter, option validation at its boundaries,
/// Protected under QEMU, and the CID range carried by <see cref="CidExhaustedException"/>.
/// </summary>
public sealed class PublicContractTests
{
    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_WithACancelledToken_ThrowsAndReservesNothing()
    {
        await using var h = new TestHarness();

        Func<Task> create = () => h.Service.CreateVmAsync(h.Config(), null, new CancellationToken(canceled: true));

        await create.Should().ThrowAsync<OperationCanceledException>();
        h.Service.HeldCidCount.Should().Be(0);
        h.Service.DebugListVms().Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForDeathAsync_Cancelled_ThrowsButTheVmLivesOn()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        using var cts = new CancellationTokenSource();

        Task<DeathReason> wait = vm.WaitForDeathAsync(cts.Token);
        cts.Cancel();

        await FluentActions.Awaiting(() => wait).Should().ThrowAsync<OperationCanceledException>();
        vm.State.Should().Be(VirtualMachineState.NotStarted, "cancelling a wait does not touch the VM");
        vm.Kill();
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
    }

    /// <summary>The token of StopAsync only gives up the graceful part: the VM is then killed and StopAsync returns once it is dead.</summary>
    [Fact(Timeout = 60_000)]
    public async Task StopAsync_WithACancelledToken_KillsAtOnceInsteadOfWaitingForTheGracefulStop()
    {
        await using var h = new TestHarness(o => o with { StopGracePeriod = TimeSpan.FromMinutes(10) });
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { IgnoreStop = true });

        await vm.StopAsync(new CancellationToken(canceled: true));

        vm.State.Should().Be(VirtualMachineState.Dead);
        vm.DeathReason.Should().Be(DeathReason.Killed, "a VM that ignores stop only dies by the kill that follows the cancellation");
    }

    [Fact(Timeout = 30_000)]
    public async Task ConnectVsockAsync_WithACancelledToken_ThrowsBeforeConnecting()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();
        // Nothing listens at the harness's path for this port: a connect attempt would fail with VsockException instead.

        Func<Task> connect = () => vm.ConnectVsockAsync(5000, new CancellationToken(canceled: true));

        await connect.Should().ThrowAsync<OperationCanceledException>();
        vm.State.Should().NotBe(VirtualMachineState.Dead, "the VM is untouched");
    }

    [Fact]
    public void CidExhaustedException_CarriesTheRange()
    {
        var e = new CidExhaustedException(10, 12);

        e.FirstCid.Should().Be(10);
        e.LastCid.Should().Be(12);
        e.Message.Should().Contain("all 3 CIDs in 10..12");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_RangeExhausted_ThrowsWithTheConfiguredRange()
    {
        await using var h = new TestHarness(o => o with { FirstGuestCid = 20, LastGuestCid = 21 });
        await using IVirtualMachine first = await h.CreateAsync();
        await using IVirtualMachine second = await h.CreateAsync();

        Func<Task> third = () => h.CreateAsync();

        CidExhaustedException e = (await third.Should().ThrowAsync<CidExhaustedException>()).Which;
        e.FirstCid.Should().Be(20);
        e.LastCid.Should().Be(21);
    }

    [Fact(Timeout = 30_000)]
    public async Task ProtectedVm_UnderQemu_IsRefusedAtCreationNamingTheField()
    {
        await using var h = new TestHarness(o => o with { Vmm = VmmKind.Qemu, QemuPath = TestPaths.StubVmm });

        Func<Task> create = () => h.Service.CreateVmAsync(h.Config() with { Protected = true });

        VirtualMachineConfigException e = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        e.Field.Should().Be("Protected");
        e.Message.Should().Contain("QEMU cannot run them");
        h.Service.HeldCidCount.Should().Be(0, "refused input reserves nothing");
    }

    public static TheoryData<string, Func<VirtualizationServiceOptions, VirtualizationServiceOptions>> InvalidOptions => new()
    {
        { "empty CrosvmPath", o => o with { CrosvmPath = string.Empty } },
        { "blank CrosvmPath", o => o with { CrosvmPath = "   " } },
        { "blank QemuPath", o => o with { QemuPath = " " } },
        { "negative StopGracePeriod", o => o with { StopGracePeriod = TimeSpan.FromTicks(-1) } },
        { "zero StartTimeout", o => o with { StartTimeout = TimeSpan.Zero } },
        { "negative StartTimeout", o => o with { StartTimeout = TimeSpan.FromSeconds(-1) } },
        { "zero VsockConnectTimeout", o => o with { VsockConnectTimeout = TimeSpan.Zero } },
        { "negative VsockConnectTimeout", o => o with { VsockConnectTimeout = TimeSpan.FromSeconds(-1) } },
        { "zero PayloadStartTimeout", o => o with { PayloadStartTimeout = TimeSpan.Zero } },
        { "FirstGuestCid 2 (the host)", o => o with { FirstGuestCid = 2 } },
        { "LastGuestCid below FirstGuestCid", o => o with { FirstGuestCid = 10, LastGuestCid = 9 } },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void InvalidOptions_AreRefusedByTheConstructor(string what, Func<VirtualizationServiceOptions, VirtualizationServiceOptions> change)
    {
        VirtualizationServiceOptions options = change(new VirtualizationServiceOptions { TemporaryDirectory = "/tmp/vct-options-never-created" });

        Action create = () => _ = new VirtualizationService(options);

        create.Should().Throw<ArgumentException>(what).Which.ParamName.Should().Be("options");
        Directory.Exists(options.TemporaryDirectory).Should().BeFalse("refused options create nothing");
    }

    [Fact(Timeout = 30_000)]
    public async Task ZeroStopGracePeriod_IsAccepted()
    {
        await using var service = new VirtualizationService(new VirtualizationServiceOptions { StopGracePeriod = TimeSpan.Zero });

        service.Options.StopGracePeriod.Should().Be(TimeSpan.Zero);
    }

    /// <summary>
    /// The longest socket a crosvm VM gets is "payload-stdio.sock" in "&lt;TemporaryDirectory&gt;/vm-&lt;LastGuestCid&gt;"; a
    /// Unix socket path holds at most 107 bytes (sun_path is 108 with the terminating NUL). Exactly 107 is accepted,
    /// 108 refused.
    /// </summary>
    [Theory(Timeout = 30_000)]
    [InlineData(107, true)]
    [InlineData(108, false)]
    public async Task TemporaryDirectory_LongestSocketPathAtTheLimit_IsAccepted_OneOver_IsRefused(int socketPathBytes, bool accepted)
    {
        const string Tail = "/vm-4294967/payload-stdio.sock";
        string prefix = "/tmp/vct-";
        string directory = prefix + new string('d', socketPathBytes - Tail.Length - prefix.Length);
        (directory + Tail).Length.Should().Be(socketPathBytes, "the test builds the path it means to");
        var options = new VirtualizationServiceOptions { TemporaryDirectory = directory, FirstGuestCid = 3, LastGuestCid = 4294967 };

        Func<Task> create = async () => await new VirtualizationService(options).DisposeAsync();

        if (accepted)
        {
            await create.Should().NotThrowAsync();
        }
        else
        {
            await create.Should().ThrowAsync<ArgumentException>().WithMessage("*TemporaryDirectory is too long*107-byte*");
        }
    }
}
