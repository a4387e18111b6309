namespace Virtualization.Core;

/// <summary>
/// The VMM refused or failed a control request on a running VM (suspend, resume, the memory balloon): crosvm's control
/// command exited with an error, or QEMU answered a QMP command with an error, or did not answer in time. The VM is
/// still running. <see cref="Detail"/> holds what the VMM said.
/// </summary>
public sealed class VirtualMachineControlException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and what to do.</param>
    /// <param name="operation">The request (for example <c>suspend</c> or <c>balloon</c>).</param>
    /// <param name="detail">What the VMM said (stderr of the crosvm command, or the QMP error).</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public VirtualMachineControlException(string message, string operation, string detail, Exception? innerException = null)
        : base(message, innerException)
    {
        Operation = operation;
        Detail = detail;
    }

    /// <summary>The request that failed (for example <c>suspend</c>, <c>resume</c>, <c>balloon</c>, <c>balloon_stats</c>).</summary>
    public string Operation { get; }

    /// <summary>What the VMM said: the crosvm command's stderr, or QEMU's QMP error; empty when it said nothing.</summary>
    public string Detail { get; }
}
