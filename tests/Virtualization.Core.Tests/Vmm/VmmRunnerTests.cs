using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Disks;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// The skeleton every runner shares (<see cref="VmmRunner"/>), over a test subclass whose "VMM" is a shell script: the
/// Unix socket path limit (107 bytes), disk preparation, stale sockets removed at launch, the executable resolved
/// with the runner's hint, and cancellation before anything runs.
/// </summary>
public sealed class VmmRunnerTests : IDisposable
{
    private const string NotUsable = "\nThe VM is dead and cannot be started again; fix the cause and create a new VM.";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void CheckSocketPaths_TheLongestPayloadSocketAt107Bytes_IsAccepted()
    {
        // "payload-stdio.sock" (18 bytes) is the longest name: 88 + "/" + 18 = 107 bytes.
        string folder = "/" + new string('d', 87);

        new TestRunner("/bin/true", ["c.sock"]).CheckSocketPaths(folder);
    }

    [Fact]
    public void CheckSocketPaths_TheLongestPayloadSocketAt108Bytes_IsRefusedNamingIt()
    {
        string folder = "/" + new string('d', 88);

        Action act = () => new TestRunner("/bin/true", ["c.sock"]).CheckSocketPaths(folder);

        act.Should().ThrowExactly<ArgumentException>().Which.Message.Should().Be(
            $"TemporaryDirectory is too long: testvmm's socket '{folder}/payload-stdio.sock' would exceed the 107-byte limit of "
            + "Unix socket paths. Use a shorter folder.");
    }

    [Fact]
    public void CheckSocketPaths_TheRunnersOwnSocketAt107Bytes_IsAccepted_At108Refused()
    {
        // A 30-byte socket name, longer than the payload ones: 76 + "/" + 30 = 107 bytes.
        string name = new string('s', 25) + ".sock";
        var runner = new TestRunner("/bin/true", ["c.sock", name]);

        runner.CheckSocketPaths("/" + new string('d', 75));
        string folder = "/" + new string('d', 76);
        Action act = () => runner.CheckSocketPaths(folder);

        act.Should().ThrowExactly<ArgumentException>().Which.Message.Should().StartWith(
            $"TemporaryDirectory is too long: testvmm's socket '{folder}/{name}' would exceed");
    }

    [Fact]
    public void CheckSocketPaths_CountsUtf8Bytes_NotCharacters()
    {
        // 'é' is two bytes: 86 characters + 'é' are 88 bytes (107 with the socket), one more 'd' is 108.
        new TestRunner("/bin/true", []).CheckSocketPaths("/" + new string('d', 85) + "é");
        Action act = () => new TestRunner("/bin/true", []).CheckSocketPaths("/" + new string('d', 86) + "é");

        act.Should().ThrowExactly<ArgumentException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task PrepareDisks_ImagesAsGiven_PartitionedDisksWrittenUnderTheirIndex()
    {
        var plan0 = new CompositeDiskPlan([], 4096);
        var plan3 = new CompositeDiskPlan([], 8192);
        var config = new VirtualMachineRawConfig
        {
            Kernel = "/k",
            Disks =
            [
                new DiskImage(null, true, [new Partition("p", "/p.img", false)]),
                new DiskImage("/img/b.raw", writable: true),
                new DiskImage("/img/c.qcow2", writable: false),
                new DiskImage(null, false, [new Partition("q", "/q.img", false)]),
            ],
        };
        var runner = new TestRunner("/bin/true", []);
        using var cts = new CancellationTokenSource();

        VmmDisk[] disks = await runner.PrepareDisksAsync(config, [plan0, null, null, plan3], "/vm/folder", cts.Token);

        disks.Should().Equal(
            new VmmDisk("/vm/folder/composite-0.img", true),
            new VmmDisk("/img/b.raw", true),
            new VmmDisk("/img/c.qcow2", false),
            new VmmDisk("/vm/folder/composite-3.img", false));
        runner.Written.Should().Equal((plan0, "/vm/folder", "0", cts.Token), (plan3, "/vm/folder", "3", cts.Token));
    }

    [Fact(Timeout = 60_000)]
    public async Task PrepareDisks_NoDisks_IsEmpty()
    {
        (await new TestRunner("/bin/true", []).PrepareDisksAsync(new VirtualMachineRawConfig { Kernel = "/k" }, [], "/vm", CancellationToken.None))
            .Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task Launch_DeletesItsStaleSockets_RunsTheVmmWithItsArguments_AndWrapsTheChild()
    {
        string vm = Directory.CreateDirectory(_dir.File("vm-4")).FullName;
        File.WriteAllText(Path.Combine(vm, "control.sock"), "left by a VMM that was killed");
        File.WriteAllText(Path.Combine(vm, "other.sock"), "left by a VMM that was killed");
        File.WriteAllText(Path.Combine(vm, "unrelated.sock"), "not this runner's");
        string argv = _dir.File("argv");
        // The script records whether the stale sockets were still there when it ran, and its argv.
        string script = ShellScript.Write(
            _dir.File("vmm"),
            $"ls '{vm}' > '{argv}.ls'; printf '%s\\n' \"$@\" > '{argv}'; exit 0");
        var runner = new TestRunner(script, ["control.sock", "other.sock"]) { Arguments = ["--one", "two words"] };
        VmmLaunchRequest request = Request(vm);

        IVmmProcess process = await runner.LaunchAsync(request, CancellationToken.None);

        process.Should().BeSameAs(runner.Created);
        runner.CreatedWith.Should().Be((script, request));
        runner.ArgumentsFor.Should().Equal(request);
        (await runner.Created!.Exited.WaitAsync(Bound)).ExitCode.Should().Be(0);
        File.ReadAllLines(argv).Should().Equal("--one", "two words");
        File.ReadAllLines(argv + ".ls").Should().Equal("unrelated.sock");
    }

    [Fact(Timeout = 60_000)]
    public async Task Launch_MissingExecutable_ThrowsWithTheRunnersHint()
    {
        string missing = _dir.File("no-such-vmm");
        var runner = new TestRunner(missing, []) { NotFoundHint = "Install testvmm." };

        Func<Task> act = () => runner.LaunchAsync(Request(Directory.CreateDirectory(_dir.File("vm-5")).FullName), CancellationToken.None);

        (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which.Message.Should().Be(
            $"Cannot launch the VMM: '{missing}' does not exist or is not executable. Install testvmm." + NotUsable);
        runner.ArgumentsFor.Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task Launch_CancelledBeforehand_Throws_LeavingTheSocketsAndLaunchingNothing()
    {
        string vm = Directory.CreateDirectory(_dir.File("vm-6")).FullName;
        File.WriteAllText(Path.Combine(vm, "control.sock"), "stale");
        string ran = _dir.File("ran");
        var runner = new TestRunner(ShellScript.Write(_dir.File("vmm"), $"touch '{ran}'"), ["control.sock"]);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Func<Task> act = () => runner.LaunchAsync(Request(vm), cts.Token);

        (await act.Should().ThrowAsync<OperationCanceledException>()).Which.CancellationToken.Should().Be(cts.Token);
        File.Exists(Path.Combine(vm, "control.sock")).Should().BeTrue("nothing is done once cancelled");
        runner.ArgumentsFor.Should().BeEmpty();
        runner.Created.Should().BeNull();
        File.Exists(ran).Should().BeFalse();
    }

    [Fact(Timeout = 60_000)]
    public async Task Launch_CancelledWhileTheArgumentsAreBuilt_Throws_AndNothingRuns()
    {
        string vm = Directory.CreateDirectory(_dir.File("vm-7")).FullName;
        string ran = _dir.File("ran");
        string script = ShellScript.Write(_dir.File("vmm"), $"touch '{ran}'; exec sleep 600");
        using var cts = new CancellationTokenSource();
        var runner = new TestRunner(script, []) { OnBuildArguments = cts.Cancel };

        Func<Task> act = () => runner.LaunchAsync(Request(vm), cts.Token);

        (await act.Should().ThrowAsync<OperationCanceledException>()).Which.CancellationToken.Should().Be(cts.Token);
        runner.Created.Should().BeNull();
        File.Exists(ran).Should().BeFalse();
        ProcessProbe.WithArgumentContaining(script).Should().BeEmpty("neither vcore-exec nor the VMM is running");
    }

    private static VmmLaunchRequest Request(string folder) =>
        new(4, new VirtualMachineRawConfig { Kernel = "/k" }, [], folder, null, NullLogger.Instance);

    /// <summary>A runner whose sockets and arguments the test chooses, recording what the skeleton hands it.</summary>
    private sealed class TestRunner(string executable, IReadOnlyList<string> socketNames) : VmmRunner(executable)
    {
        public List<(CompositeDiskPlan Plan, string Folder, string Index, CancellationToken Token)> Written { get; } = [];

        public List<string> Arguments { get; init; } = [];

        public Action? OnBuildArguments { get; init; }

        public List<VmmLaunchRequest> ArgumentsFor { get; } = [];

        public (string Executable, VmmLaunchRequest Request)? CreatedWith { get; private set; }

        public ChildProcess? Created { get; private set; }

        public override string Name => "testvmm";

        public override int MaxParamsLength => 1000;

        protected override IReadOnlyList<string> SocketNames => socketNames;

        protected override Task<string> WritePartitionedDiskAsync(CompositeDiskPlan plan, string folder, string index, CancellationToken cancellationToken)
        {
            Written.Add((plan, folder, index, cancellationToken));
            return Task.FromResult($"{folder}/composite-{index}.img");
        }

        protected override List<string> BuildArguments(VmmLaunchRequest request)
        {
            ArgumentsFor.Add(request);
            OnBuildArguments?.Invoke();
            return Arguments;
        }

        protected override IVmmProcess CreateProcess(VmmChildProcess child, string executable, VmmLaunchRequest request)
        {
            CreatedWith = (executable, request);
            Created = new ChildProcess(child);
            return Created;
        }
    }

    /// <summary>The launched child, seen through <see cref="VmmProcess"/> (nothing VMM-specific).</summary>
    private sealed class ChildProcess(VmmChildProcess child) : VmmProcess(child, "testvmm")
    {
        public override Task RequestStopAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task SuspendAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task ResumeAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task SetBalloonAsync(long balloonBytes, CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task<MemoryBalloonStats> GetBalloonStatsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        protected override ValueTask<bool> IsUpAsync(CancellationToken cancellationToken) => ValueTask.FromResult(false);

        protected override bool ExitCodeShowsTheVmRan(int exitCode) => false;

        protected override ValueTask<DeathReason> ToDeathReasonAsync(int exitCode) => ValueTask.FromResult(DeathReason.Unknown);
    }
}
