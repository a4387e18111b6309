namespace Virtualization.Cli;

/// <summary>The exit codes of the <c>vm</c> tool.</summary>
internal static class ExitCodes
{
    /// <summary>Success; for <c>vm run</c>, the VM shut down normally.</summary>
    public const int Success = 0;

    /// <summary>For <c>vm run</c>: the VM did not shut down normally (crash, kill, failed start, ...).</summary>
    public const int Failure = 1;

    /// <summary>Bad command line, bad configuration, or a file that cannot be used.</summary>
    public const int Usage = 2;
}
