using Virtualization.Core.Vmm;

namespace Virtualization.Core.Crosvm;

/// <summary>Runs VMs under crosvm.</summary>
internal sealed class CrosvmRunner : IVmmRunner
{
    private readonly string _crosvmPath;

    internal CrosvmRunner(string crosvmPath) => _crosvmPath = crosvmPath;

    /// <inheritdoc/>
    public bool ReadsCompositeDisks => true;

    /// <inheritdoc/>
    public string Name => "crosvm";

    /// <summary>
    /// crosvm's command line is at most 2048 bytes with its NUL; crosvm prepends <c>panic=-1 console=ttyS0 </c> (and
    /// <c>root=</c> for root disks, which this library does not use), so 64 bytes are kept for it.
    /// </summary>
    public int MaxParamsLength => 2048 - 64;

    /// <inheritdoc/>
    public void Validate(VirtualMachineRawConfig config)
    {
        // Every path crosvm takes is expressible: plain-path options take any bytes, and key=value paths are quoted.
    }

    /// <inheritdoc/>
    public async Task<IVmmProcess> LaunchAsync(VmmLaunchRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string socket = Path.Combine(request.TemporaryDirectory, CrosvmCommandLine.ControlSocketName);

        // A socket left by a VMM that was killed makes crosvm fail with EADDRINUSE.
        File.Delete(socket);
        string crosvm = ExecutableResolver.Resolve(_crosvmPath);
        List<string> args = CrosvmCommandLine.Build(request, consoleToStdout: request.ConsoleOutput is not null);
        VmmChildProcess child = await VmmChildProcess.StartAsync(crosvm, args, request.ConsoleOutput, request.Logger, request.Cid)
            .ConfigureAwait(false);
        return new CrosvmProcess(child, crosvm, socket, request.Logger, request.Cid);
    }
}
