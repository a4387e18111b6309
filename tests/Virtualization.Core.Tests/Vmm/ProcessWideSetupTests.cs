using Microsoft.Extensions.Logging;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// What every start of a process shares, made when a service is built (<see cref="ProcessWideSetup"/>), and a first
/// start that meets a descriptor shortage (EMFILE) in a fresh process (<c>VmHost emfile</c>): the runtime remembers a
/// failed assembly load and a failed static initializer for the life of the process, so such a start used to make
/// every later start fail.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class ProcessWideSetupTests
{
    [Fact]
    public void ReferencedAssemblies_AreExactlyWhatTheLibraryAndItsPackagesReference()
    {
        System.Reflection.Assembly[] referencing =
        [
            typeof(VirtualizationService).Assembly,
            typeof(Medallion.Shell.Command).Assembly,
            typeof(Google.Protobuf.CodedInputStream).Assembly,
            typeof(Microsoft.Extensions.Logging.ILogger).Assembly,
        ];
        string[] references = [.. referencing.SelectMany(a => a.GetReferencedAssemblies()).Select(n => n.Name!).Distinct()];

        ProcessWideSetup.ReferencedAssemblies.Should().BeEquivalentTo(references, "each one is loaded before the first start needs it");
    }

    [Fact]
    public void Steps_MakeEachSharedPiece_AssembliesFirst()
    {
        string[] steps = [.. ProcessWideSetup.Steps.Select(s => $"{s.Method.DeclaringType!.Name}.{s.Method.Name}")];

        steps.Should().Equal(
            "ProcessWideSetup.LoadReferencedAssemblies",
            "ProcessWideSetup.LocateHelper",
            "ProcessWideSetup.StartListener",
            "PidfdWatcher.EnsureStarted",
            "SpawnThread.EnsureStarted");
    }

    [Fact]
    public void TryRun_StopsAtTheFirstStepThatThrows_LogsIt_AndSaysSo()
    {
        using var log = new ListLogger();
        var ran = new List<int>();
        var failure = new IOException("Too many open files");

        bool done = ProcessWideSetup.TryRun([() => ran.Add(1), () => throw failure, () => ran.Add(3)], log);

        done.Should().BeFalse();
        ran.Should().Equal(1);
        log.Entries.Should().ContainSingle().Which.Should().Be((
            LogLevel.Debug,
            "Could not prepare the process-wide VMM launch state ahead of the first start; the first start will try again",
            (Exception?)failure,
            (string?)null));

        ProcessWideSetup.TryRun([() => ran.Add(1), () => ran.Add(2)], log).Should().BeTrue();
        ran.Should().Equal(1, 1, 2);
        log.Entries.Should().HaveCount(1);
    }

    [Fact]
    public void LoadMissing_LoadsOnlyTheAssembliesNotLoadedYet()
    {
        var asked = new List<string>();

        ProcessWideSetup.LoadMissing(
            ["System.Linq", "Not.Loaded.Yet", "System.Private.CoreLib", "Another.One"],
            [typeof(Enumerable).Assembly, typeof(object).Assembly],
            name =>
            {
                asked.Add(name.Name!);
                return typeof(object).Assembly;
            });

        asked.Should().Equal("Not.Loaded.Yet", "Another.One");
    }

    [Fact]
    public void LoadMissing_PassesOverAnAssemblyThatIsNotDeployed()
    {
        var asked = new List<string>();

        ProcessWideSetup.LoadMissing(
            ["Not.Deployed", "Deployed"],
            [],
            name =>
            {
                asked.Add(name.Name!);
                return name.Name == "Deployed" ? typeof(object).Assembly : throw new FileNotFoundException("no such assembly", name.Name);
            });

        asked.Should().Equal("Not.Deployed", "Deployed");
    }

    [Fact]
    public void BuildingAService_MakesEverySharedPiece()
    {
        using var dir = new TempDir();
        _ = new VirtualizationService(new VirtualizationServiceOptions { Vmm = VmmKind.Crosvm, CrosvmPath = TestPaths.StubVmm, TemporaryDirectory = dir.Path });

        ProcessWideSetup.IsDone.Should().BeTrue();
        SpawnThread.ManagedThreadId.Should().NotBe(0, "the spawn thread runs");
        string[] loaded = [.. AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name!)];
        loaded.Should().Contain(ProcessWideSetup.ReferencedAssemblies);
    }

    [Fact]
    public void PidfdWatcherCreate_WhenItsThreadCannotStart_ClosesTheEpollSet()
    {
        int epoll = -1;
        Thread Finished(int fd)
        {
            epoll = fd;
            var thread = new Thread(() => { });
            thread.Start();
            thread.Join();
            return thread; // Start() again throws ThreadStateException
        }

        Action act = () => PidfdWatcher.Create(Interop.Epoll.EPOLL_CLOEXEC, Finished);

        act.Should().Throw<ThreadStateException>();
        epoll.Should().BeGreaterThan(2);
        File.Exists($"/proc/self/fd/{epoll}").Should().BeFalse("the epoll set of a watcher that never ran is closed, not leaked");
    }

    [Fact(Timeout = 120_000)]
    public async Task AFirstStartDuringADescriptorShortage_DoesNotStopLaterStarts()
    {
        using var dir = new TempDir();
        string kernel = new StubScenario().WriteKernel(dir.File("kernel"));

        (int exit, string stdout, string stderr) = await TestProcess.RunAsync(TestPaths.VmHost, TimeSpan.FromSeconds(90), "emfile", TestPaths.StubVmm, kernel, dir.File("vms"));

        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        exit.Should().Be(0, "VmHost emfile ends cleanly; it printed:\n{0}\n{1}", stdout, stderr);
        lines.Should().NotBeEmpty();
        lines[^4].Should().MatchRegex(@"^LIMIT \d+ started$", "a start during a passing shortage comes up once the shortage is over");
        lines[^3].Should().Be("AFTER Starting", "a start under the normal limit works afterwards");
        lines[^2].Should().MatchRegex("^STOP-DURING-SHORTAGE (Shutdown|Killed)$", "a stop whose `crosvm stop` cannot run kills after the grace period");
        lines[^1].Should().Be("STOP-AFTER Shutdown", "the next graceful stop works: its first one did not leave MedallionShell's netstandard unloadable");
        stdout.Should().NotContain("Could not load file or assembly").And.NotContain("type initializer");
    }
}
