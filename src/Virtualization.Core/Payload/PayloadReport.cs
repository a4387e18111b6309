namespace Virtualization.Core.Payload;

/// <summary>One lifecycle report of a guest, decoded from a frame.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Code">The exit code (<see cref="PayloadReportKind.Finished"/>) or error code (<see cref="PayloadReportKind.Error"/>).</param>
/// <param name="Message">The error message (<see cref="PayloadReportKind.Error"/>), else <see langword="null"/>.</param>
internal readonly record struct PayloadReport(PayloadReportKind Kind, int Code = 0, string? Message = null)
{
    /// <summary>The payload state this report moves to (an error ends the payload: Finished).</summary>
    public VirtualMachineState Target => Kind switch
    {
        PayloadReportKind.Started => VirtualMachineState.Started,
        PayloadReportKind.Ready => VirtualMachineState.Ready,
        _ => VirtualMachineState.Finished,
    };

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        PayloadReportKind.Finished => $"finished({Code})",
        PayloadReportKind.Error => $"error({Code})",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
