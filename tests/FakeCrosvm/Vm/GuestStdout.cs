using Microsoft.Win32.SafeHandles;

namespace FakeCrosvm.Vm;

/// <summary>
/// The guest's serial output on crosvm's stdout, written straight to descriptor 1. Not <c>Console.OpenStandardOutput</c>:
/// .NET's console stream holds a process-wide console lock during each write, so a guest blocked on a full stdout
/// would also block every log line on stderr, which crosvm's own logging never is.
/// </summary>
internal static class GuestStdout
{
    /// <summary>A new unbuffered stream on descriptor 1 (which it does not close).</summary>
    public static Stream Open() => new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
}
