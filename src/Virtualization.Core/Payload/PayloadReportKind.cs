namespace Virtualization.Core.Payload;

/// <summary>What a guest reported about its payload.</summary>
internal enum PayloadReportKind
{
    /// <summary>The payload started.</summary>
    Started,

    /// <summary>The payload is ready.</summary>
    Ready,

    /// <summary>The payload exited with <see cref="PayloadReport.Code"/>.</summary>
    Finished,

    /// <summary>The payload failed: <see cref="PayloadReport.Code"/> and <see cref="PayloadReport.Message"/>.</summary>
    Error,
}
