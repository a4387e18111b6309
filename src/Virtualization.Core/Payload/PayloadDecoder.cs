using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Virtualization.Core.Payload;

/// <summary>Turns a frame into a hello, a report, or the reason it is refused. Pure; never throws.</summary>
internal static class PayloadDecoder
{
    public static PayloadDecoded Decode(PayloadFrame frame)
    {
        ReadOnlySpan<byte> body = frame.Body.Span;
        if (frame.Flags != 0)
        {
            return Malformed($"frame type {frame.Type} has flags 0x{frame.Flags:x2}; version 1 requires 0");
        }

        switch ((PayloadFrameType)frame.Type)
        {
            case PayloadFrameType.Hello:
                if (body.Length < PayloadWire.Magic.Length + 1 || !body.StartsWith(PayloadWire.Magic))
                {
                    return Malformed("hello without the VCPL magic (is something else writing to this port?)");
                }

                if (body[4] != PayloadWire.Version)
                {
                    return new PayloadDecoded(
                        PayloadFrameVerdict.WrongVersion,
                        Problem: string.Create(CultureInfo.InvariantCulture, $"the guest speaks protocol version {body[4]}; this host speaks only version {PayloadWire.Version}"));
                }

                if (body.Length != PayloadWire.HelloSize)
                {
                    return Malformed(Length("hello", body.Length, PayloadWire.HelloSize));
                }

                if (body[5] > (byte)PayloadChannelKind.Stdio)
                {
                    return Malformed(string.Create(CultureInfo.InvariantCulture, $"hello names channel kind {body[5]}; version 1 has 0 (control) and 1 (stdio)"));
                }

                return new PayloadDecoded(PayloadFrameVerdict.Hello, Kind: (PayloadChannelKind)body[5]);
            case PayloadFrameType.Started:
                return body.Length == 0 ? Report(new(PayloadReportKind.Started)) : Malformed(Length("started", body.Length, 0));
            case PayloadFrameType.Ready:
                return body.Length == 0 ? Report(new(PayloadReportKind.Ready)) : Malformed(Length("ready", body.Length, 0));
            case PayloadFrameType.Finished:
                return body.Length == 4
                    ? Report(new(PayloadReportKind.Finished, BinaryPrimitives.ReadInt32LittleEndian(body)))
                    : Malformed(Length("finished", body.Length, 4));
            case PayloadFrameType.Error:
                if (body.Length < 4)
                {
                    return Malformed(string.Create(CultureInfo.InvariantCulture, $"error frame of {body.Length} bytes; it needs at least 4 (the code)"));
                }

                // Invalid UTF-8 becomes U+FFFD: a garbled message is still worth reporting.
                return Report(new(PayloadReportKind.Error, BinaryPrimitives.ReadInt32LittleEndian(body), Encoding.UTF8.GetString(body[4..])));
            default:
                return new PayloadDecoded(
                    PayloadFrameVerdict.Unknown,
                    Problem: string.Create(CultureInfo.InvariantCulture, $"unknown frame type {frame.Type} ({body.Length} bytes) skipped"));
        }
    }

    private static PayloadDecoded Report(PayloadReport report) => new(PayloadFrameVerdict.Report, report);

    private static PayloadDecoded Malformed(string problem) => new(PayloadFrameVerdict.Malformed, Problem: problem);

    private static string Length(string what, int actual, int expected) =>
        string.Create(CultureInfo.InvariantCulture, $"{what} frame of {actual} bytes; version 1 defines {expected}");
}
