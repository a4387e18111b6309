namespace Virtualization.Core.Vmm;

/// <summary>
/// What every VMM process has in common: the <see cref="VmmChildProcess"/> under it, readiness by polling a probe, and
/// the exit mapped to a <see cref="DeathReason"/>. A VMM kind adds its probe, its graceful stop and its exit mapping.
/// </summary>
internal abstract class VmmProcess : IVmmProcess
{
    private readonly Lazy<Task<VmmExit>> _exited;

    /// <summary>Wraps <paramref name="child"/>, a VMM named <paramref name="name"/> in messages.</summary>
    protected VmmProcess(VmmChildProcess child, string name)
    {
        Child = child;
        Name = name;
        _exited = new Lazy<Task<VmmExit>>(MapExitAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <inheritdoc/>
    public int ProcessId => Child.ProcessId;

    /// <inheritdoc/>
    public Task<VmmExit> Exited => _exited.Value;

    /// <inheritdoc/>
    public string StandardErrorTail => Child.StandardErrorTail;

    /// <summary>The process under this VMM.</summary>
    protected VmmChildProcess Child { get; }

    /// <summary>The VMM's name for messages (<c>crosvm</c>, <c>qemu</c>).</summary>
    protected string Name { get; }

    /// <inheritdoc/>
    /// <remarks>
    /// A VMM that ran and exited before the first probe (crosvm removes its control socket on a clean exit) did come
    /// up: when the probe never succeeded, an exit code that only a VM that ran can produce
    /// (<see cref="ExitCodeShowsTheVmRan"/>) still counts as up, so the death carries the VMM's own reason.
    /// </remarks>
    public async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ReadinessProbe.WaitAsync(IsUpAsync, Child.ProcessExited, DescribeEarlyExitAsync, cancellationToken).ConfigureAwait(false);
        }
        catch (VirtualMachineStartException e) when (e.ExitCode is { } code && ExitCodeShowsTheVmRan(code))
        {
        }
    }

    /// <inheritdoc/>
    public abstract Task RequestStopAsync(CancellationToken cancellationToken);

    /// <inheritdoc/>
    public void Kill() => Child.Kill();

    /// <inheritdoc/>
    public abstract Task SuspendAsync(CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract Task ResumeAsync(CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract Task SetBalloonAsync(long balloonBytes, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract Task<MemoryBalloonStats> GetBalloonStatsAsync(CancellationToken cancellationToken);

    /// <summary>One readiness check, as <see cref="WaitUntilReadyAsync"/> makes it (for tests of each kind's probe).</summary>
    internal ValueTask<bool> ProbeOnceAsync(CancellationToken cancellationToken) => IsUpAsync(cancellationToken);

    /// <summary>One readiness check: true once the VMM's control channel works.</summary>
    protected abstract ValueTask<bool> IsUpAsync(CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="exitCode"/> can only come from a VMM whose VM ran (not from a failed start).</summary>
    protected abstract bool ExitCodeShowsTheVmRan(int exitCode);

    /// <summary>What the exit code (and anything else the VMM said) means for the VM.</summary>
    protected abstract ValueTask<DeathReason> ToDeathReasonAsync(int exitCode);

    /// <summary>Appends the VMM's last stderr lines to a message.</summary>
    protected string DescribeStandardError() => DescribeStandardError(Child.StandardErrorTail);

    /// <summary>The sentence about a stderr tail (<paramref name="tail"/>) that is appended to a message.</summary>
    internal static string DescribeStandardError(string tail) =>
        tail.Length == 0 ? " It wrote nothing to stderr." : $" Its stderr ended with:\n{tail}";

    private async Task<VmmExit> MapExitAsync()
    {
        int exitCode = await Child.Exited.ConfigureAwait(false);
        return new VmmExit(exitCode, await ToDeathReasonAsync(exitCode).ConfigureAwait(false));
    }

    private async Task<VirtualMachineStartException> DescribeEarlyExitAsync()
    {
        int exitCode = await Child.Exited.ConfigureAwait(false);
        return new VirtualMachineStartException(
            $"{Name} exited with code {exitCode} before the VM was up." + DescribeStandardError(),
            exitCode,
            Child.StandardErrorTail);
    }
}
