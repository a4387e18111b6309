namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>The syscall number of <c>pidfd_send_signal</c> (the same on x86_64 and aarch64; Linux 5.1+).</summary>
        internal const long SYS_pidfd_send_signal = 424;

        /// <summary>
        /// <c>pidfd_send_signal(2)</c>: signals exactly the process the descriptor was opened on, or fails with ESRCH once it
        /// has exited; unlike <c>kill(2)</c> it can never reach a process that reused the pid.
        /// </summary>
        internal static int PidfdSendSignal(Vmm.PidfdHandle pidfd, Signal signal)
        {
            bool added = false;
            try
            {
                pidfd.DangerousAddRef(ref added);
                return (int)Syscall(SYS_pidfd_send_signal, pidfd.DangerousGetHandle(), (long)signal, 0, 0);
            }
            finally
            {
                if (added)
                {
                    pidfd.DangerousRelease();
                }
            }
        }
    }
}
