using Microsoft.Extensions.Logging;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// A service whose VMs run on an <see cref="InProcessVmm"/>: its own folder, CID namespace and log; on dispose it
/// disposes the service and asserts that no VM folder and no CID is left.
/// </summary>
internal sealed class InProcessWorld : IAsyncDisposable
{
    public InProcessWorld(InProcessVmm? vmm = null, Func<VirtualizationServiceOptions, VirtualizationServiceOptions>? configure = null)
    {
        Vmm = vmm ?? new InProcessVmm();
        Root = Directory.CreateTempSubdirectory("vct-inproc-").FullName;
        Kernel = Path.Combine(Root, "kernel");
        File.WriteAllBytes(Kernel, new byte[512]);
        var options = new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = TestPaths.FakeCrosvm,
            TemporaryDirectory = Path.Combine(Root, "vms"),
            CidNamespace = "t" + Guid.NewGuid().ToString("N"),
            StopGracePeriod = TimeSpan.FromSeconds(20),
            StartTimeout = TimeSpan.FromSeconds(20),
        };
        Options = configure is null ? options : configure(options);
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Log).SetMinimumLevel(LogLevel.Trace));
        Service = new VirtualizationService(Options, LoggerFactory, new Virtualization.Core.Vsock.UnixSocketVsockConnector((cid, port) => Path.Combine(Root, $"vsock-{cid}-{port}.sock")), Vmm);
    }

    public InProcessVmm Vmm { get; }

    public string Root { get; }

    public string Kernel { get; }

    public VirtualizationServiceOptions Options { get; }

    public ListLogger Log { get; } = new();

    public ILoggerFactory LoggerFactory { get; }

    public VirtualizationService Service { get; }

    /// <summary>The messages logged so far, in order.</summary>
    public string[] Messages => [.. Log.Entries.Select(e => e.Message)];

    public async Task<VmInstance> CreateAsync(Stream? console = null, PayloadChannelOptions? payload = null) =>
        (VmInstance)await Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = Kernel, PayloadChannel = payload }, console);

    /// <summary>Creates a VM and starts it on <see cref="InProcessVmm.Next"/>, made ready at once.</summary>
    public async Task<VmInstance> StartAsync()
    {
        VmInstance vm = await CreateAsync();
        Vmm.Next.Ready.TrySetResult();
        await vm.StartAsync();
        return vm;
    }

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        string vms = Options.TemporaryDirectory;
        (Directory.Exists(vms) ? Directory.GetDirectories(vms) : []).Should().BeEmpty("no VM folder may outlive the service");
        Service.HeldCidCount.Should().Be(0, "every CID is released");
        LoggerFactory.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
