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
    public Task WaitUntilReadyAsync(CancellationToken cancellationToken) =>
        ReadinessProbe.WaitAsync(IsUpAsync, Child.ProcessExited, DescribeEarlyExitAsync, cancellationToken);

    /// <inheritdoc/>
    public abstract Task RequestStopAsync(CancellationToken cancellationToken);

    /// <inheritdoc/>
    public void Kill() => Child.Kill();

    /// <summary>One readiness check: true once the VMM's control channel works.</summary>
    protected abstract ValueTask<bool> IsUpAsync(CancellationToken cancellationToken);

    /// <summary>What the exit code (and anything else the VMM said) means for the VM.</summary>
    protected abstract ValueTask<DeathReason> ToDeathReasonAsync(int exitCode);

    /// <summary>Appends the VMM's last stderr lines to a message.</summary>
    protected string DescribeStandardError()
    {
        string tail = Child.StandardErrorTail;
        return tail.Length == 0 ? " It wrote nothing to stderr." : $" Its stderr ended with:\n{tail}";
    }

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
