namespace Virtualization.Core.Payload;

/// <summary>Where a channel delivers the reports it decoded: the VM the channel belongs to, and nobody else.</summary>
internal interface IPayloadReportSink
{
    /// <summary>Applies one report. Never throws.</summary>
    /// <param name="report">The report.</param>
    /// <param name="cancellationToken">Cancels a wait the sink may need (the stdio stream of a <c>started</c>).</param>
    /// <returns><see langword="null"/> when applied; otherwise why it was ignored (for the channel's throttled log).</returns>
    ValueTask<string?> ReportAsync(PayloadReport report, CancellationToken cancellationToken);
}
