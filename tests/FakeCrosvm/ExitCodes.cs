namespace FakeCrosvm;

/// <summary>Exit codes used by crosvm (enum CommandStatus plus the generic error code).</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Error = 1;
    public const int VmReset = 32;
    public const int VmCrash = 33;
    public const int GuestPanic = 34;
    public const int InvalidArgs = 35;
    public const int WatchdogReset = 36;

    /// <summary>
    /// Without <c>--extended-status</c> crosvm reports every VM outcome as 0.
    /// Other codes (errors) pass through unchanged.
    /// </summary>
    public static int ForVmOutcome(int code, bool extendedStatus)
    {
        if (extendedStatus)
        {
            return code;
        }

        return code is VmReset or VmCrash or GuestPanic or WatchdogReset ? Success : code;
    }
}
