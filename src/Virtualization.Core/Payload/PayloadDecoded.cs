namespace Virtualization.Core.Payload;

/// <summary>A decoded frame.</summary>
/// <param name="Verdict">What the frame is.</param>
/// <param name="Report">For <see cref="PayloadFrameVerdict.Report"/>: the report.</param>
/// <param name="Kind">For <see cref="PayloadFrameVerdict.Hello"/>: the channel kind.</param>
/// <param name="Problem">For the other verdicts: what is wrong, for the log.</param>
internal readonly record struct PayloadDecoded(PayloadFrameVerdict Verdict, PayloadReport Report = default, PayloadChannelKind Kind = default, string? Problem = null);
