using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// Issue #10: a logger that throws must change nothing: folders are removed, CIDs released, OnDied delivered, and no
/// task exception goes unobserved. The harness's dispose asserts that no VM folder, CID or VMM process is left.
/// </summary>
public sealed class ThrowingLoggerTests
{
    [Fact(Timeout = 60_000)]
    public async Task EveryLifecyclePath_WithLoggerThatThrows_LeavesNothingAndDeliversOnDied()
    {
        using var unobserved = new UnobservedExceptions();
        var provider = new ThrowingLoggerProvider();
        await using (var h = new TestHarness(loggerProvider: provider))
        {
            // create, start, stop
            for (int i = 0; i < 3; i++)
            {
                IVirtualMachine vm = await h.CreateAsync();
                var callback = new RecordingCallback();
                vm.RegisterCallback(callback);
                await vm.StartAsync();
                h.TrackPid(vm);
                await vm.StopAsync();
                (await callback.Died).Should().Be(DeathReason.Shutdown);
                await vm.DisposeAsync();
            }

            // create, start, kill
            IVirtualMachine killed = await h.CreateAsync();
            var killedCallback = new RecordingCallback();
            killed.RegisterCallback(killedCallback);
            await killed.StartAsync();
            h.TrackPid(killed);
            killed.Kill();
            (await killed.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
            (await killedCallback.Died).Should().Be(DeathReason.Killed);
            await killed.DisposeAsync();

            // the VMM dies on its own (crash)
            IVirtualMachine crashed = await h.CreateAsync(new FakeScenario { RunMs = 20, Exit = 33 });
            var crashedCallback = new RecordingCallback();
            crashed.RegisterCallback(crashedCallback);
            await crashed.StartAsync();
            h.TrackPid(crashed);
            (await crashedCallback.Died).Should().Be(DeathReason.Crash);
            await crashed.DisposeAsync();

            // a failing start
            IVirtualMachine failed = await h.CreateAsync(new FakeScenario { FailAtStart = 1 });
            var failedCallback = new RecordingCallback();
            failed.RegisterCallback(failedCallback);
            string failedFolder = h.Service.DebugListVms().Single(v => v.Cid == failed.Cid).TemporaryDirectory;
            Func<Task> start = () => failed.StartAsync();
            await start.Should().ThrowAsync<VirtualMachineStartException>();
            (await failedCallback.Died).Should().Be(DeathReason.StartFailed);
            Directory.Exists(failedFolder).Should().BeFalse("a failed start removes the VM's folder");
            await failed.DisposeAsync();

            // created but never started, disposed
            IVirtualMachine unstarted = await h.CreateAsync();
            await unstarted.DisposeAsync();

            // bad input
            Func<Task> bad = () => h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.Kernel(), MemoryMib = -1 });
            await bad.Should().ThrowAsync<VirtualMachineConfigException>();

            // still running when the service is disposed (the harness disposes it, then checks that nothing is left)
            IVirtualMachine running = await h.CreateAsync();
            var runningCallback = new RecordingCallback();
            running.RegisterCallback(runningCallback);
            await running.StartAsync();
            h.TrackPid(running);
            await h.Service.DisposeAsync();
            (await runningCallback.Died).Should().NotBe(DeathReason.StartFailed);

            h.Service.HeldCidCount.Should().Be(0);
            h.Service.DebugListVms().Should().BeEmpty();
        }

        provider.Logger.Calls.Should().BePositive("the library did call the throwing logger");
        UnobservedExceptions.Flush();
        unobserved.Matching<LoggerBoomException>().Should().BeEmpty("no exception of the logger may surface as an unobserved task exception");
    }

    [Fact(Timeout = 60_000)]
    public async Task Service_WithLoggerFactoryWhoseCreateLoggerThrows_RunsVmsAndCleansUp()
    {
        using var unobserved = new UnobservedExceptions();
        await using var h = new TestHarness();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new ThrowingLoggerProvider(throwFromCreateLogger: true)));
        string vms = Path.Combine(h.Root, "other-vms");
        var options = h.Options with { TemporaryDirectory = vms };

        await using (var service = new VirtualizationService(options, factory))
        {
            IVirtualMachine vm = await service.CreateVmAsync(h.Config());
            var callback = new RecordingCallback();
            vm.RegisterCallback(callback);
            await vm.StartAsync();
            h.TrackPid(vm);
            await vm.StopAsync();
            (await callback.Died).Should().Be(DeathReason.Shutdown);
            await vm.DisposeAsync();
            service.HeldCidCount.Should().Be(0);
        }

        Directory.GetDirectories(vms).Should().BeEmpty();
        UnobservedExceptions.Flush();
        unobserved.Matching<LoggerBoomException>().Should().BeEmpty();
    }

    [Fact]
    public void SafeLoggerFactory_SwallowsEveryExceptionOfTheWrappedFactoryAndLoggers()
    {
        using var inner = LoggerFactory.Create(b => b.AddProvider(new ThrowingLoggerProvider()));
        ILoggerFactory safe = SafeLoggerFactory.Wrap(inner);
        ILogger logger = safe.CreateLogger("test");

        logger.IsEnabled(LogLevel.Error).Should().BeFalse("asking a logger that throws gives false");
        logger.Invoking(l => l.Log(LogLevel.Error, new EventId(1), "state", null, (s, _) => s)).Should().NotThrow();
        logger.Invoking(l => l.BeginScope("scope")?.Dispose()).Should().NotThrow();

        using var throwingCreate = LoggerFactory.Create(b => b.AddProvider(new ThrowingLoggerProvider(throwFromCreateLogger: true)));
        SafeLoggerFactory.Wrap(throwingCreate).Invoking(f => f.CreateLogger("test")).Should().NotThrow();
        SafeLoggerFactory.Wrap(null).Should().BeSameAs(NullLoggerFactory.Instance);
        SafeLoggerFactory.Wrap(safe).Should().BeSameAs(safe, "wrapping twice adds nothing");
    }

    [Fact]
    public void SafeLogger_ScopeDisposed_EndsTheWrappedLoggersScope()
    {
        var list = new ListLogger();
        using var inner = LoggerFactory.Create(b => b.AddProvider(list));
        ILogger logger = SafeLoggerFactory.Wrap(inner).CreateLogger("test");

        using (logger.BeginScope("outer"))
        {
            logger.LogInformation("inside");
        }

        logger.LogInformation("after");

        list.Entries.Select(e => (e.Message, e.Scope)).Should().Equal(("inside", "outer"), ("after", null));
    }

    [Fact]
    public void SafeLoggerFactory_AddProvider_IsForwardedToTheWrappedFactory()
    {
        using var inner = new LoggerFactory();
        ILoggerFactory safe = SafeLoggerFactory.Wrap(inner);
        var list = new ListLogger();

        safe.AddProvider(list);
        safe.CreateLogger("test").LogWarning("reached");

        list.Entries.Should().ContainSingle().Which.Message.Should().Be("reached");
        safe.Invoking(f => f.AddProvider(null!)).Should().NotThrow("a factory that throws from AddProvider is swallowed too");
    }
}
