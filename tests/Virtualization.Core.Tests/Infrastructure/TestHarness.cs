using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// One test's private world: a service over the fake crosvm with its own temporary folder, CID namespace and log. On
/// dispose it disposes the service and asserts that nothing leaked: no VM folder, no CID held, no VMM process alive.
/// </summary>
internal sealed class TestHarness : IAsyncDisposable
{
    private readonly List<int> _pids = [];

    /// <param name="configure">Changes to the default options.</param>
    /// <param name="realVsock">Connect to guests over AF_VSOCK instead of the test's unix sockets.</param>
    /// <param name="loggerProvider">Another provider the service logs to, besides <see cref="Log"/> (for example one that throws).</param>
    /// <param name="vsock">The connector VMs use for ConnectVsockAsync instead of the test's unix sockets (overrides <paramref name="realVsock"/>).</param>
    public TestHarness(
        Func<VirtualizationServiceOptions, VirtualizationServiceOptions>? configure = null,
        bool realVsock = false,
        ILoggerProvider? loggerProvider = null,
        Virtualization.Core.Vsock.IVsockConnector? vsock = null)
    {
        Root = Directory.CreateTempSubdirectory("vct-").FullName;
        Options = new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm, // the fake; Auto would pick QEMU on hosts without KVM
            CrosvmPath = TestPaths.FakeCrosvm,
            TemporaryDirectory = Path.Combine(Root, "vms"),
            CidNamespace = "t" + Guid.NewGuid().ToString("N"),
            StopGracePeriod = TimeSpan.FromSeconds(20), // a graceful stop runs the .NET fake once more: slow on a loaded machine
            StartTimeout = TimeSpan.FromSeconds(20),
        };
        if (configure is not null)
        {
            Options = configure(Options);
        }

        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(builder =>
        {
            builder.AddProvider(Log).SetMinimumLevel(LogLevel.Trace);
            if (loggerProvider is not null)
            {
                builder.AddProvider(loggerProvider);
            }
        });
        // Guests of the fake have no vsock: (CID, port) maps to a unix socket in the test's folder instead.
        Service = vsock is not null ? new VirtualizationService(Options, LoggerFactory, vsock)
            : realVsock ? new VirtualizationService(Options, LoggerFactory)
            : new VirtualizationService(Options, LoggerFactory, new Virtualization.Core.Vsock.UnixSocketVsockConnector(VsockPath));
    }

    public string Root { get; }

    /// <summary>A harness whose VMM is the C stub (tests/StubVmm) instead of the .NET fake crosvm.</summary>
    public static TestHarness OverStub(Func<VirtualizationServiceOptions, VirtualizationServiceOptions>? configure = null) =>
        new(o =>
        {
            o = o with { CrosvmPath = TestPaths.StubVmm, StopGracePeriod = TimeSpan.FromSeconds(2) };
            return configure is null ? o : configure(o);
        });

    /// <summary>Where a test listens to play the guest's vsock port <paramref name="port"/> of VM <paramref name="cid"/>.</summary>
    public string VsockPath(int cid, int port) => Path.Combine(Root, $"vsock-{cid}-{port}.sock");

    public VirtualizationServiceOptions Options { get; }

    public ListLogger Log { get; } = new();

    public ILoggerFactory LoggerFactory { get; }

    public VirtualizationService Service { get; }

    /// <summary>A kernel file for <paramref name="scenario"/> (default: run until stopped).</summary>
    public string Kernel(FakeScenario? scenario = null) =>
        (scenario ?? new FakeScenario()).WriteKernel(Path.Combine(Root, $"kernel-{Guid.NewGuid():N}"));

    /// <summary>A kernel file telling the C stub VMM to behave as <paramref name="scenario"/> (see <see cref="OverStub"/>).</summary>
    public string StubKernel(StubScenario scenario) =>
        scenario.WriteKernel(Path.Combine(Root, $"kernel-{Guid.NewGuid():N}"));

    /// <summary>Creates and starts a VM over the C stub (see <see cref="OverStub"/>), remembering its pid for the leak check.</summary>
    public async Task<IVirtualMachine> StartStubAsync(StubScenario scenario, Stream? console = null)
    {
        IVirtualMachine vm = await Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = StubKernel(scenario) }, console);
        await vm.StartAsync();
        TrackPid(vm);
        return vm;
    }

    /// <summary>A file with some content, for initrd/disk paths.</summary>
    public string File(string name, int size = 4096)
    {
        string path = Path.Combine(Root, name);
        System.IO.File.WriteAllBytes(path, new byte[size]);
        return path;
    }

    public VirtualMachineRawConfig Config(FakeScenario? scenario = null) => new() { Kernel = Kernel(scenario) };

    public async Task<IVirtualMachine> CreateAsync(FakeScenario? scenario = null, Stream? console = null) =>
        await Service.CreateVmAsync(Config(scenario), console);

    /// <summary>Creates and starts a VM, remembering its VMM pid for the leak check.</summary>
    public async Task<IVirtualMachine> StartAsync(FakeScenario? scenario = null, Stream? console = null)
    {
        IVirtualMachine vm = await CreateAsync(scenario, console);
        await vm.StartAsync();
        TrackPid(vm);
        return vm;
    }

    /// <summary>The VMM pid of <paramref name="vm"/> while it runs (only one live VM has a given CID; dead ones have no pid).</summary>
    public int? ProcessIdOf(IVirtualMachine vm) =>
        vm.State == VirtualMachineState.Dead ? null : Service.DebugListVms().SingleOrDefault(i => i.Cid == vm.Cid && i.ProcessId is not null)?.ProcessId;

    public void TrackPid(IVirtualMachine vm)
    {
        if (ProcessIdOf(vm) is { } pid)
        {
            lock (_pids)
            {
                _pids.Add(pid);
            }
        }
    }

    /// <summary>
    /// Live processes started for this harness: every VMM (and vcore-exec, and anything a VMM forked) has a path under
    /// <see cref="Root"/> in its argv (kernel, control socket), so this accounts for all of them, including a VMM killed
    /// while it was being spawned or one whose start failed, whose pid the test never saw.
    /// </summary>
    public IReadOnlyList<int> LiveProcesses() => ProcessProbe.WithArgumentContaining(Root + "/");

    /// <summary>Asserts that nothing is left: called at the end of every test.</summary>
    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        string vms = Options.TemporaryDirectory;
        (Directory.Exists(vms) ? Directory.GetDirectories(vms) : []).Should().BeEmpty("no VM folder may outlive the service");
        Service.HeldCidCount.Should().Be(0, "every CID is released");
        Service.DebugListVms().Should().BeEmpty();
        int[] pids;
        lock (_pids)
        {
            pids = [.. _pids];
        }

        pids.Where(ProcessProbe.IsAlive).Should().BeEmpty("no VMM process may outlive the service");
        (await ProcessProbe.WaitUntilAsync(() => ProcessProbe.InSessions(pids).Count == 0, TimeSpan.FromSeconds(10)))
            .Should().BeTrue("nothing a VMM started may outlive the service (SIGKILL sent, delivery may take a moment)");
        (await ProcessProbe.WaitUntilAsync(() => LiveProcesses().Count == 0, TimeSpan.FromSeconds(10)))
            .Should().BeTrue($"no process started for this test may outlive the service; left: {string.Join(", ", LiveProcesses())}");
        LoggerFactory.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
