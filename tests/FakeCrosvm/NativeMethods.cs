using System.Runtime.InteropServices;

namespace FakeCrosvm;

/// <summary>The few libc calls the BCL has no equivalent for (sending arbitrary signals to ourselves).</summary>
internal static partial class NativeMethods
{
    public const int SigHup = 1;
    public const int SigInt = 2;
    public const int SigTerm = 15;
    private const int RlimitCore = 4;
    private static readonly nint s_sigDefault = 0;

    /// <summary>
    /// Terminates this process with <paramref name="signal"/>, the way a crash would:
    /// the default disposition is restored first (the .NET runtime handles several signals itself)
    /// and core dumps are disabled so a SIGSEGV or SIGABRT leaves no core file behind.
    /// </summary>
    public static void DieBySignal(int signal)
    {
        var noCore = new RLimit { Current = 0, Maximum = 0 };
        _ = SetRLimit(RlimitCore, ref noCore);
        _ = SetSignalHandler(signal, s_sigDefault);
        _ = Kill(GetPid(), signal);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "getpid")]
    private static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SetSignalHandler(int signal, nint handler);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, ref RLimit limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
