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

    /// <summary>
    /// Reads the exit status of the child process behind this pidfd without reaping it (<c>waitid</c> with
    /// <c>P_PIDFD</c> and <c>WNOWAIT</c>): the process stays a zombie for whoever reaps it (the runtime, for a child it
    /// started). The exit code is the process's own, or 128 + n when signal n killed it (as <see cref="System.Diagnostics.Process.ExitCode"/>).
    /// </summary>
    /// <returns>
    /// False when there is no status to read here: the process has not exited, it was already reaped (ECHILD), it is not a
    /// child of this process, or the kernel's <c>waitid</c> does not take a pidfd (EINVAL before Linux 5.4).
    /// </returns>
    internal bool TryGetExitCode(out int exitCode)
    {
        exitCode = 0;
        Interop.Sys.SigInfo info;
        try
        {
            if (Interop.Sys.WaitId(Interop.Sys.P_PIDFD, this, out info, Interop.Sys.WEXITED | Interop.Sys.WNOHANG | Interop.Sys.WNOWAIT) != 0)
            {
                return false;
            }
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        switch (info.Code)
        {
            case Interop.Sys.CLD_EXITED when info.Pid != 0:
                exitCode = info.Status;
                return true;
            case Interop.Sys.CLD_KILLED or Interop.Sys.CLD_DUMPED when info.Pid != 0:
                exitCode = 128 + info.Status;
                return true;
            default:
                return false; // WNOHANG found nothing (si_pid 0): still running.
        }
    }

    /// <inheritdoc/>
    // Stryker disable once Equality : the runtime ignores ReleaseHandle's result outside a debugger's release-failure probe.
    protected override bool ReleaseHandle() => Interop.Sys.Close((int)handle) == 0;
}
