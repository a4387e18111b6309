namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>Signal numbers the library sends (the same on x86_64 and aarch64).</summary>
        internal enum Signal
        {
            /// <summary><c>SIGINT</c>.</summary>
            SIGINT = 2,

            /// <summary><c>SIGKILL</c>: cannot be caught.</summary>
            SIGKILL = 9,

            /// <summary><c>SIGTERM</c>: asks vcore-exec to kill its VMM's process group.</summary>
            SIGTERM = 15,
        }
    }
}
