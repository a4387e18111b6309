namespace Virtualization.Core;

/// <summary>
/// The VMM could not be launched, or exited before the VM was up. The VM is dead (it cannot be started again);
/// create a new VM after fixing the cause, which the message and <see cref="StandardErrorTail"/> describe.
/// </summary>
public sealed class VirtualMachineStartException : Exception
{
    private const string NotUsable = "The VM is dead and cannot be started again; fix the cause and create a new VM.";

    /// <summary>Creates the exception. The message is followed by a sentence saying that the VM is not usable.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="exitCode">The VMM's exit code, if it ran and exited.</param>
    /// <param name="standardErrorTail">The last lines the VMM wrote to its standard error.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public VirtualMachineStartException(string message, int? exitCode, string standardErrorTail, Exception? innerException = null)
        : base(message.TrimEnd() + "\n" + NotUsable, innerException)
    {
        ExitCode = exitCode;
        StandardErrorTail = standardErrorTail;
    }

    /// <summary>The VMM's exit code, or <see langword="null"/> when it never ran or did not exit.</summary>
    public int? ExitCode { get; }

    /// <summary>The last lines of the VMM's standard error (empty when it wrote none).</summary>
    public string StandardErrorTail { get; }
}
