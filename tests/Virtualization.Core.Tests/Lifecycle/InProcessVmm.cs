using Virtualization.Core.Disks;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// A VMM runner that runs nothing: every launch returns an <see cref="InProcessVmmProcess"/> the test drives by hand
/// (ready, exit, control replies), so <c>VmInstance</c>'s state machine can be tested step by step without a process.
/// </summary>
internal sealed class InProcessVmm : IVmmRunner
{
    private readonly TaskCompletionSource _launchStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<InProcessVmmProcess> _launched = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What a launch does instead of returning <see cref="Next"/> (null: return it).</summary>
    public Func<CancellationToken, Task<IVmmProcess>>? Launch { get; init; }

    /// <summary>The process the next launch returns.</summary>
    public InProcessVmmProcess Next { get; } = new();

    /// <summary>Completes when a launch began (before <see cref="Launch"/> runs).</summary>
    public Task LaunchStarted => _launchStarted.Task;

    /// <summary>Completes when a launch returned <see cref="Next"/>.</summary>
    public Task<InProcessVmmProcess> Launched => _launched.Task;

    public string Name => "in-process";

    public int MaxParamsLength => 4096;

    public void CheckSocketPaths(string longestVmFolder)
    {
    }

    public void Validate(VirtualMachineRawConfig config)
    {
    }

    public Task<VmmDisk[]> PrepareDisksAsync(VirtualMachineRawConfig config, IReadOnlyList<CompositeDiskPlan?> plans, string folder, CancellationToken cancellationToken) =>
        Task.FromResult(Array.Empty<VmmDisk>());

    public async Task<IVmmProcess> LaunchAsync(VmmLaunchRequest request, CancellationToken cancellationToken)
    {
        _launchStarted.TrySetResult();
        if (Launch is not null)
        {
            return await Launch(cancellationToken);
        }

        _launched.TrySetResult(Next);
        return Next;
    }
}
