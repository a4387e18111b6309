using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Crosvm;
using Virtualization.Core.Disks;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Crosvm;

/// <summary>
/// <see cref="CrosvmProcess"/> and <see cref="CrosvmRunner"/> over shell scripts: the "VMM" is a script launched through
/// the real <c>vcore-exec</c>, and a second script stands in for the <c>crosvm</c> control tool. What crosvm-specific
/// behaviour adds to <see cref="VmmProcess"/>: its name in messages, the exit codes of a run loop, the control-socket
/// probe, <c>crosvm stop</c> (refusals logged, not thrown) and the control subcommands' operation names.
/// </summary>
public sealed class CrosvmProcessTests : IDisposable
{
    private const string NotUsable = "\nThe VM is dead and cannot be started again; fix the cause and create a new VM.";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly TempDir _dir = new();
    private readonly ListLogger _log = new();

    public void Dispose()
    {
        _dir.Dispose();
        _log.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitUntilReady_ExitBeforeUp_NamesCrosvm()
    {
        CrosvmProcess process = await StartAsync("echo 'bad argument' >&2; exit 35", controlTool: "/bin/false");

        Func<Task> act = () => process.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Bound);

        (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which.Message.Should().Be(
            "crosvm exited with code 35 before the VM was up. Its stderr ended with:\nbad argument" + NotUsable);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(0)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(34)]
    [InlineData(36)]
    public async Task WaitUntilReady_ExitCodeOfARunLoop_BeforeTheFirstProbe_CountsAsUp(int code)
    {
        // crosvm removes its control socket when it exits, so a fast guest can be gone before the first probe.
        CrosvmProcess process = await StartAsync($"exit {code}", controlTool: "/bin/false");

        await process.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Bound);

        (await process.Exited.WaitAsync(Bound)).ExitCode.Should().Be(code);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(35)]
    [InlineData(37)]
    public async Task WaitUntilReady_ExitCodeOfAFailedStart_IsAStartFailure(int code)
    {
        CrosvmProcess process = await StartAsync($"exit {code}", controlTool: "/bin/false");

        Func<Task> act = () => process.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Bound);

        (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which.ExitCode.Should().Be(code);
    }

    [Fact(Timeout = 60_000)]
    public async Task Probe_IsUpOnlyOnceTheControlSocketListens()
    {
        await WhileRunningAsync(controlTool: "/bin/false", async process =>
        {
            (await process.ProbeOnceAsync(CancellationToken.None)).Should().BeFalse("there is no control socket yet");

            // crosvm binds before it listens: the file exists, a connection is refused.
            using var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
            socket.Bind(new UnixDomainSocketEndPoint(ControlSocket));
            (await process.ProbeOnceAsync(CancellationToken.None)).Should().BeFalse("the socket is bound but not listening");

            socket.Listen();
            (await process.ProbeOnceAsync(CancellationToken.None)).Should().BeTrue();
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task Probe_ARegularFileAtTheSocketPath_IsNotUp()
    {
        await WhileRunningAsync(controlTool: "/bin/false", async process =>
        {
            File.WriteAllText(ControlSocket, "not a socket");

            (await process.ProbeOnceAsync(CancellationToken.None)).Should().BeFalse();
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStop_RunsCrosvmStopOnTheControlSocket_AndLogsNothingWhenItWorks()
    {
        string argv = _dir.File("argv");
        await WhileRunningAsync(ShellScript.Write(_dir.File("crosvm"), $"printf '%s\\n' \"$@\" > '{argv}'; exit 0"), async process =>
        {
            await process.RequestStopAsync(CancellationToken.None).WaitAsync(Bound);

            (await File.ReadAllLinesAsync(argv)).Should().Equal("stop", ControlSocket);
            _log.Entries.Should().BeEmpty();
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStop_StopPrintsWithoutEnd_IsKilledPastTheBound_AndThrowsAControlError()
    {
        // The VM then logs the failed request and kills the VM (VmInstance.StopAsync); nothing grows meanwhile.
        await WhileRunningAsync(ShellScript.Write(_dir.File("crosvm"), "exec yes >&2"), async process =>
        {
            Func<Task> stop = () => process.RequestStopAsync(CancellationToken.None).WaitAsync(Bound);

            (await stop.Should().ThrowAsync<VirtualMachineControlException>())
                .Which.Message.Should().StartWith("crosvm stop for VM with CID ").And.Contain("printed more than 1024 KiB on stderr and was killed");
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task RequestStop_CrosvmStopFails_IsLoggedWithItsCodeAndStderr_NotThrown()
    {
        // The grace period and the kill that follow a stop request do the work; a refused request is only worth a warning.
        await WhileRunningAsync(ShellScript.Write(_dir.File("crosvm"), "echo '  no such socket ' >&2; exit 2"), async process =>
        {
            await process.RequestStopAsync(CancellationToken.None).WaitAsync(Bound);

            _log.Entries.Select(e => (e.Level, e.Message)).Should().Equal(
                (LogLevel.Warning, "Graceful stop was refused (exit code 2): no such socket"));
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task ControlCommands_RunTheirSubcommandOnTheControlSocket_AndFailuresNameTheOperation()
    {
        string argv = _dir.File("argv");
        string crosvm = ShellScript.Write(_dir.File("crosvm"), $"printf '%s\\n' \"$@\" >> '{argv}'; echo refused >&2; exit 1");
        await WhileRunningAsync(crosvm, async process =>
        {
            (await Operation(() => process.SuspendAsync(CancellationToken.None))).Should().Be("suspend");
            (await Operation(() => process.ResumeAsync(CancellationToken.None))).Should().Be("resume");
            (await Operation(() => process.SetBalloonAsync(4096, CancellationToken.None))).Should().Be("balloon");
            (await Operation(() => process.GetBalloonStatsAsync(CancellationToken.None))).Should().Be("balloon_stats");

            (await File.ReadAllLinesAsync(argv)).Should().Equal(
                "suspend", ControlSocket, "resume", ControlSocket, "balloon", "4096", ControlSocket, "balloon_stats", ControlSocket);
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task Runner_PartitionedDisk_IsACompositeDescriptorNamedAfterItsIndex()
    {
        string partition = _dir.CreateImage("part.img", 8192, 1);
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate([new Partition("data", partition, false)]);
        var config = new VirtualMachineRawConfig
        {
            Kernel = "/k",
            Disks = [new DiskImage("/img/raw.img", writable: true), new DiskImage(null, false, [new Partition("data", partition, false)])],
        };
        string folder = Directory.CreateDirectory(_dir.File("vm")).FullName;

        VmmDisk[] disks = await new CrosvmRunner("/usr/bin/crosvm").PrepareDisksAsync(config, [null, plan], folder, CancellationToken.None);

        disks.Should().Equal(new VmmDisk("/img/raw.img", true), new VmmDisk(Path.Combine(folder, "composite-1.img"), false));
        CompositeDisk.IsDescriptor(disks[1].Path).Should().BeTrue();
    }

    private string ControlSocket => _dir.File("crosvm.sock");

    private static async Task<string> Operation(Func<Task> control) =>
        (await control.Should().ThrowAsync<VirtualMachineControlException>()).Which.Operation;

    /// <summary>Runs <paramref name="test"/> against a VMM that runs until the test is over, then kills it.</summary>
    private async Task WhileRunningAsync(string controlTool, Func<CrosvmProcess, Task> test)
    {
        CrosvmProcess process = await StartAsync("exec sleep 600", controlTool);
        try
        {
            await test(process);
        }
        finally
        {
            process.Kill();
            await process.Exited.WaitAsync(Bound);
        }
    }

    private async Task<CrosvmProcess> StartAsync(string body, string controlTool)
    {
        VmmChildProcess child = await ShellScript.StartVmmAsync(_dir.Path, body);
        return new CrosvmProcess(child, controlTool, ControlSocket, _log, cid: 7, guestMemoryBytes: 1 << 30);
    }
}
