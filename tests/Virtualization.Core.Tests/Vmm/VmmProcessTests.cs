using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// What <see cref="VmmProcess"/> adds to every VMM kind, over a test subclass whose "VMM" is a shell script launched
/// through the real <c>vcore-exec</c> (no VM): the stderr sentence of start failures, the early-exit exception, an
/// exit code that shows the VM ran, and the exit mapped to a <see cref="VmmExit"/>.
/// </summary>
public sealed class VmmProcessTests : IDisposable
{
    private const string NotUsable = "\nThe VM is dead and cannot be started again; fix the cause and create a new VM.";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("", " It wrote nothing to stderr.")]
    [InlineData(" ", " Its stderr ended with:\n ")]
    [InlineData("   \t", " Its stderr ended with:\n   \t")]
    [InlineData("one line", " Its stderr ended with:\none line")]
    [InlineData("first\nsecond\n\nfourth", " Its stderr ended with:\nfirst\nsecond\n\nfourth")]
    public void DescribeStandardError_SaysWhatTheTailHolds(string tail, string expected)
    {
        VmmProcess.DescribeStandardError(tail).Should().Be(expected);
    }

    [Fact]
    public void DescribeStandardError_ALongTail_IsKeptWhole()
    {
        string tail = new('x', 5000);

        VmmProcess.DescribeStandardError(tail).Should().Be(" Its stderr ended with:\n" + tail);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitUntilReady_ExitBeforeUp_ThrowsNamingTheVmmTheCodeAndItsStderr()
    {
        TestProcess process = await StartAsync("printf 'bad flag\\nusage: vmm\\n' >&2; exit 3", ranCodes: []);

        Func<Task> act = () => process.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Bound);

        VirtualMachineStartException e = (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which;
        e.Message.Should().Be("testvmm exited with code 3 before the VM was up. Its stderr ended with:\nbad flag\nusage: vmm" + NotUsable);
        e.ExitCode.Should().Be(3);
        e.StandardErrorTail.Should().Be("bad flag\nusage: vmm");
        process.StandardErrorTail.Should().Be("bad flag\nusage: vmm");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitUntilReady_ExitBeforeUpWithoutStderr_SaysItWroteNothing()
    {
        TestProcess process = await StartAsync("exit 4", ranCodes: []);

        Func<Task> act = () => process.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Bound);

        VirtualMachineStartException e = (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which;
        e.Message.Should().Be("testvmm exited with code 4 before the VM was up. It wrote nothing to stderr." + NotUsable);
        e.StandardErrorTail.Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitUntilReady_ExitWithACodeThatShowsTheVmRan_Returns()
    {
        TestProcess process = await StartAsync("exit 33", ranCodes: [33]);

        await process.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Bound);

        process.RanAsked.Should().Equal(33);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitUntilReady_TheProbeSaysUp_Returns_WithoutLookingAtAnExit()
    {
        TestProcess process = await StartAsync("exec sleep 600", ranCodes: [], up: true);
        try
        {
            await process.WaitUntilReadyAsync(CancellationToken.None).WaitAsync(Bound);

            process.RanAsked.Should().BeEmpty();
            process.Exited.IsCompleted.Should().BeFalse();
        }
        finally
        {
            process.Kill();
            await process.Exited.WaitAsync(Bound);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Exited_IsTheExitCodeWithTheKindsDeathReason_AndKillEndsTheVmm()
    {
        TestProcess process = await StartAsync("exec sleep 600", ranCodes: []);
        process.ProcessId.Should().BePositive();
        ProcessProbe.IsAlive(process.ProcessId).Should().BeTrue();

        process.Kill();

        (await process.Exited.WaitAsync(Bound)).Should().Be(new VmmExit(128 + 9, DeathReason.Crash));
        process.Exited.Should().BeSameAs(process.Exited, "the exit is mapped once");
        process.DeathReasonAsked.Should().Equal(137);
    }

    private async Task<TestProcess> StartAsync(string body, int[] ranCodes, bool up = false)
    {
        VmmChildProcess child = await ShellScript.StartVmmAsync(_dir.Path, body);
        return new TestProcess(child, ranCodes, up);
    }

    /// <summary>A VMM kind whose probe says <c>up</c> as told, and whose run codes and death reasons are recorded.</summary>
    private sealed class TestProcess(VmmChildProcess child, int[] ranCodes, bool up) : VmmProcess(child, "testvmm")
    {
        public List<int> RanAsked { get; } = [];

        public List<int> DeathReasonAsked { get; } = [];

        public override Task RequestStopAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task SuspendAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task ResumeAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task SetBalloonAsync(long balloonBytes, CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task<MemoryBalloonStats> GetBalloonStatsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        protected override ValueTask<bool> IsUpAsync(CancellationToken cancellationToken) => ValueTask.FromResult(up);

        protected override bool ExitCodeShowsTheVmRan(int exitCode)
        {
            RanAsked.Add(exitCode);
            return ranCodes.Contains(exitCode);
        }

        protected override ValueTask<DeathReason> ToDeathReasonAsync(int exitCode)
        {
            DeathReasonAsked.Add(exitCode);
            return ValueTask.FromResult(DeathReason.Crash);
        }
    }
}
