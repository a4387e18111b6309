using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Payload;

/// <summary>
/// One guest→host connection of one VM: reads frames, enforces the protocol rules and hands reports to that VM's
/// <see cref="IPayloadReportSink"/>. Bad input never throws out of it: a protocol violation closes the channel (the
/// caller disposes the stream) and is logged; a harmless oddity (unknown frame type, repeated hello, a report the VM
/// refuses) is logged, throttled, and skipped. See docs/payload-protocol.md for the full table.
/// </summary>
internal sealed class PayloadChannel
{
    /// <summary>Ignored frames logged one by one before the channel goes quiet about them.</summary>
    internal const int LoggedIgnoredFrames = 8;

    private readonly PayloadFrameReader _reader;
    private readonly IPayloadReportSink _sink;
    private readonly ILogger _logger;
    private readonly string _name;
    private int _ignored;

    /// <summary>A channel over <paramref name="stream"/> (not owned) that reports to <paramref name="sink"/>.</summary>
    /// <param name="stream">The connection.</param>
    /// <param name="sink">The VM this connection belongs to.</param>
    /// <param name="logger">The VM's logger.</param>
    /// <param name="name">How the log names the connection (e.g. <c>serial port payload.sock</c>).</param>
    public PayloadChannel(Stream stream, IPayloadReportSink sink, ILogger logger, string name)
    {
        _reader = new PayloadFrameReader(stream);
        _sink = sink;
        _logger = logger;
        _name = name;
    }

    /// <summary>How many frames were ignored (unknown types, repeated hellos, refused reports).</summary>
    public int IgnoredFrames => _ignored;

    /// <summary>
    /// Reads the first frame, which must be a version-1 hello. Reads exactly that frame and nothing after it. Never throws
    /// (except for cancellation, which the caller owns).
    /// </summary>
    /// <returns>The channel kind the hello names, or why the connection must be closed (already logged).</returns>
    public async Task<(PayloadChannelEnd? End, PayloadChannelKind Kind)> ReadHelloAsync(CancellationToken cancellationToken)
    {
        try
        {
            (PayloadReadStatus status, PayloadFrame frame) = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (status != PayloadReadStatus.Frame)
            {
                return (EndOfRead(status), default);
            }

            PayloadDecoded decoded = PayloadDecoder.Decode(frame);
            switch (decoded.Verdict)
            {
                case PayloadFrameVerdict.Hello:
                    PayloadLog.ChannelOpened(_logger, _name);
                    return (null, decoded.Kind);
                case PayloadFrameVerdict.WrongVersion:
                    return (Refuse(PayloadChannelEnd.WrongVersion, decoded.Problem!), default);
                case PayloadFrameVerdict.Malformed:
                    return (Refuse(PayloadChannelEnd.Malformed, decoded.Problem!), default);
                default:
                    return (Refuse(PayloadChannelEnd.BeforeHello, string.Create(CultureInfo.InvariantCulture, $"the first frame has type {frame.Type}; it must be a hello")), default);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A broken connection must never escape: it is logged and the channel ends.
        catch (Exception e)
#pragma warning restore CA1031
        {
            PayloadLog.ChannelFailed(_logger, _name, e);
            return (PayloadChannelEnd.Failed, default);
        }
    }

    /// <summary>Reads reports until the connection ends, is refused, or <paramref name="cancellationToken"/> fires. Never throws.</summary>
    /// <param name="expectHello">Whether the hello is still to be read (it was already read on vsock connections).</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>Why the channel ended.</returns>
    public async Task<PayloadChannelEnd> RunAsync(bool expectHello, CancellationToken cancellationToken)
    {
        try
        {
            if (expectHello)
            {
                (PayloadChannelEnd? end, PayloadChannelKind kind) = await ReadHelloAsync(cancellationToken).ConfigureAwait(false);
                if (end is { } failed)
                {
                    return failed;
                }

                if (kind != PayloadChannelKind.Control)
                {
                    return Refuse(PayloadChannelEnd.WrongKind, $"the hello names a {kind} channel, but this port carries lifecycle reports (control)");
                }
            }

            while (true)
            {
                (PayloadReadStatus status, PayloadFrame frame) = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (status != PayloadReadStatus.Frame)
                {
                    return EndOfRead(status);
                }

                PayloadDecoded decoded = PayloadDecoder.Decode(frame);
                switch (decoded.Verdict)
                {
                    case PayloadFrameVerdict.Report:
                        if (await _sink.ReportAsync(decoded.Report, cancellationToken).ConfigureAwait(false) is { } refused)
                        {
                            Ignore($"{decoded.Report} ignored: {refused}");
                        }

                        break;
                    case PayloadFrameVerdict.Hello:
                        Ignore("repeated hello ignored");
                        break;
                    case PayloadFrameVerdict.Unknown:
                        Ignore(decoded.Problem!);
                        break;
                    case PayloadFrameVerdict.WrongVersion:
                        return Refuse(PayloadChannelEnd.WrongVersion, decoded.Problem!);
                    default:
                        return Refuse(PayloadChannelEnd.Malformed, decoded.Problem!);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return PayloadChannelEnd.Cancelled;
        }
#pragma warning disable CA1031 // A broken connection must never escape: it is logged and the channel ends.
        catch (Exception e)
#pragma warning restore CA1031
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return PayloadChannelEnd.Cancelled; // Disposing the stream to stop the read can surface as an I/O error.
            }

            PayloadLog.ChannelFailed(_logger, _name, e);
            return PayloadChannelEnd.Failed;
        }
    }

    private PayloadChannelEnd EndOfRead(PayloadReadStatus status)
    {
        switch (status)
        {
            case PayloadReadStatus.EndOfStream:
                PayloadLog.ChannelEnded(_logger, _name, _reader.Position);
                return PayloadChannelEnd.EndOfStream;
            case PayloadReadStatus.Oversize:
                return Refuse(
                    PayloadChannelEnd.Oversize,
                    string.Create(CultureInfo.InvariantCulture, $"a frame header announces {_reader.AnnouncedLength} body bytes; the maximum frame is {PayloadWire.MaxFrameSize} bytes"));
            default:
                return Refuse(PayloadChannelEnd.Truncated, "the connection ended inside a frame (truncated frame)");
        }
    }

    private PayloadChannelEnd Refuse(PayloadChannelEnd end, string problem)
    {
        PayloadLog.ChannelRefused(_logger, _name, _reader.Position, problem);
        return end;
    }

    private void Ignore(string problem)
    {
        _ignored++;
        if (_ignored <= LoggedIgnoredFrames)
        {
            PayloadLog.FrameIgnored(_logger, _name, problem);
        }
        else if (_ignored == LoggedIgnoredFrames + 1)
        {
            PayloadLog.IgnoredFramesNotLogged(_logger, _name, _ignored);
        }
    }
}
