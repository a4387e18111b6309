using System.Globalization;
using System.Text;
using Virtualization.Core.Disks;

namespace Virtualization.Core.Vmm;

/// <summary>The skeleton every runner shares; a VMM kind fills in its sockets, disks, argv and process type.</summary>
internal abstract class VmmRunner : IVmmRunner
{
    /// <summary>Unix socket paths hold at most 107 bytes.</summary>
    private const int MaxSocketPathLength = 107;

    private readonly string _executable;

    /// <summary>A runner of <paramref name="executable"/> (a path, or a name looked up on <c>PATH</c> at launch).</summary>
    protected VmmRunner(string executable) => _executable = executable;

    /// <summary>What to tell the user when the executable is missing (the VMM was chosen by <see cref="VmmKind.Auto"/>); null for the default message.</summary>
    internal string? NotFoundHint { get; init; }

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract int MaxParamsLength { get; }

    /// <summary>The file names of the sockets this VMM creates in the VM's folder.</summary>
    protected abstract IReadOnlyList<string> SocketNames { get; }

    /// <inheritdoc/>
    public void CheckSocketPaths(string longestVmFolder)
    {
        foreach (string name in SocketNames.Concat(Payload.PayloadSockets.Names))
        {
            string path = Path.Combine(longestVmFolder, name);
            if (Encoding.UTF8.GetByteCount(path) > MaxSocketPathLength)
            {
                throw new ArgumentException(
                    $"TemporaryDirectory is too long: {Name}'s socket '{path}' would exceed the {MaxSocketPathLength}-byte limit of "
                    + "Unix socket paths. Use a shorter folder.");
            }
        }
    }

    /// <inheritdoc/>
    public virtual void Validate(VirtualMachineRawConfig config)
    {
    }

    /// <inheritdoc/>
    public async Task<VmmDisk[]> PrepareDisksAsync(
        VirtualMachineRawConfig config, IReadOnlyList<CompositeDiskPlan?> plans, string folder, CancellationToken cancellationToken)
    {
        var disks = new VmmDisk[config.Disks.Count];
        for (int i = 0; i < disks.Length; i++)
        {
            DiskImage disk = config.Disks[i];
            disks[i] = plans[i] is { } plan
                ? new VmmDisk(await WritePartitionedDiskAsync(plan, folder, i.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false), disk.Writable)
                : new VmmDisk(disk.Image!, disk.Writable);
        }

        return disks;
    }

    /// <inheritdoc/>
    public async Task<IVmmProcess> LaunchAsync(VmmLaunchRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // A socket left by a VMM that was killed makes the next one fail with EADDRINUSE.
        foreach (string name in SocketNames)
        {
            File.Delete(Path.Combine(request.TemporaryDirectory, name));
        }

        string executable = ExecutableResolver.Resolve(_executable, NotFoundHint);
        List<string> arguments = BuildArguments(request);
        VmmChildProcess child = await VmmChildProcess.StartAsync(
            executable, arguments, request.Console, request.Logger, cancellationToken).ConfigureAwait(false);
        return CreateProcess(child, executable, request);
    }

    /// <summary>Assembles a disk made of partitions in <paramref name="folder"/>; returns the path the VMM opens.</summary>
    protected abstract Task<string> WritePartitionedDiskAsync(CompositeDiskPlan plan, string folder, string index, CancellationToken cancellationToken);

    /// <summary>The VMM's argv (without argv[0]).</summary>
    protected abstract List<string> BuildArguments(VmmLaunchRequest request);

    /// <summary>Wraps the launched child in this VMM's process type.</summary>
    protected abstract IVmmProcess CreateProcess(VmmChildProcess child, string executable, VmmLaunchRequest request);
}
