using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Vmm;

/// <summary>A Linux process file descriptor (<c>pidfd_open(2)</c>): refers to one process for its whole life, never to a pid's next owner.</summary>
internal sealed class PidfdHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Wraps a descriptor this handle now owns.</summary>
    internal PidfdHandle(int fd)
        : base(ownsHandle: true) => SetHandle(fd);

    /// <summary>The descriptor number (valid while the handle is open).</summary>
    internal int Fd => (int)handle;

    /// <summary>Opens a pidfd on <paramref name="pid"/>.</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The process is gone (ESRCH) or the kernel is older than 5.3 (ENOSYS).</exception>
    internal static PidfdHandle Open(int pid)
    {
        int fd = Interop.Sys.PidfdOpen(pid);
        if (fd < 0)
        {
            throw Interop.CreateExceptionForErrno(Interop.LastErrno, "pidfd_open", $"pid {pid}");
        }

        return new PidfdHandle(fd);
    }

    /// <summary>Sends <paramref name="signal"/> to the process; false when it has already exited.</summary>
    internal bool TrySignal(Interop.Sys.Signal signal)
    {
        try
        {
            return !IsClosed && Interop.Sys.PidfdSendSignal(this, signal) == 0;
        }
        catch (ObjectDisposedException)
        {
            return false; // Closed concurrently: the process has exited.
        }
    }

    /// <inheritdoc/>
    // Stryker disable once Equality : the runtime ignores ReleaseHandle's result outside a debugger's release-failure probe.
    protected override bool ReleaseHandle() => Interop.Sys.Close((int)handle) == 0;
}
