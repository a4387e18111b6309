using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary><c>P_PIDFD</c>: <c>waitid</c>'s id is a pidfd (Linux 5.4+).</summary>
        internal const int P_PIDFD = 3;

        /// <summary><c>WNOHANG</c>: return at once when no child has changed state.</summary>
        internal const int WNOHANG = 0x1;

        /// <summary><c>WEXITED</c>: wait for children that have exited.</summary>
        internal const int WEXITED = 0x4;

        /// <summary><c>WNOWAIT</c>: leave the child waitable (a zombie): read its status without reaping it.</summary>
        internal const int WNOWAIT = 0x1000000;

        /// <summary><c>CLD_EXITED</c>: the child called exit; <see cref="SigInfo.Status"/> is its exit code.</summary>
        internal const int CLD_EXITED = 1;

        /// <summary><c>CLD_KILLED</c>: the child was killed by the signal in <see cref="SigInfo.Status"/>.</summary>
        internal const int CLD_KILLED = 2;

        /// <summary><c>CLD_DUMPED</c>: the child was killed by the signal in <see cref="SigInfo.Status"/> and dumped core.</summary>
        internal const int CLD_DUMPED = 3;

        /// <summary>
        /// The fields of <c>siginfo_t</c> that <c>waitid</c> fills in for a child (the same 128-byte layout on x86_64 and
        /// aarch64; the offsets are checked against the C header by a test).
        /// </summary>
        [StructLayout(LayoutKind.Explicit, Size = Size)]
        internal struct SigInfo
        {
            /// <summary><c>sizeof(siginfo_t)</c>.</summary>
            internal const int Size = 128;

            /// <summary><c>si_signo</c>: <c>SIGCHLD</c> once a child was found.</summary>
            [FieldOffset(0)]
            internal int Signo;

            /// <summary><c>si_code</c>: how the child ended (<see cref="CLD_EXITED"/>, <see cref="CLD_KILLED"/>, ...).</summary>
            [FieldOffset(8)]
            internal int Code;

            /// <summary><c>si_pid</c>: the child's pid; 0 when <see cref="WNOHANG"/> found nothing to report.</summary>
            [FieldOffset(16)]
            internal int Pid;

            /// <summary><c>si_status</c>: the exit code, or the signal that killed the child.</summary>
            [FieldOffset(24)]
            internal int Status;
        }

        /// <summary><c>waitid(2)</c> on a pidfd (pass <see cref="P_PIDFD"/> as <paramref name="idType"/>).</summary>
        [LibraryImport(Libc, EntryPoint = "waitid", SetLastError = true)]
        internal static partial int WaitId(int idType, Vmm.PidfdHandle id, out SigInfo info, int options);
    }
}
