using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    internal const int SIGKILL = 9;
    internal const int SIGTERM = 15;

    /// <summary><c>kill(2)</c>: a negative <paramref name="pid"/> signals the whole process group.</summary>
    [LibraryImport(Libc, EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
