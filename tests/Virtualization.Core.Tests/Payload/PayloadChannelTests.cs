using Microsoft.Extensions.Logging;
using Virtualization.Core.Payload;
using Virtualization.Core.Tests.Infrastructure;
using static Virtualization.Core.Tests.Payload.PayloadTestStreams;

namespace Virtualization.Core.Tests.Payload;

/// <summary>The lifecycle channel against every kind of input: good, truncated, oversize, garbage, wrong version, out of order.</summary>
public sealed class PayloadChannelTests : IDisposable
{
    private readonly ListLogger _log = new();
    private readonly ModelSink _sink = new();

    public void Dispose()
    {
        _log.Dispose();
        _sink.AcceptedSignal.Dispose();
    }

    private async Task<PayloadChannelEnd> RunAsync(byte[] bytes, bool expectHello = true)
    {
        using var stream = new MemoryStream(bytes);
        var channel = new PayloadChannel(stream, _sink, _log, "test port");
        return await channel.RunAsync(expectHello, CancellationToken.None);
    }

    private string[] Warnings => [.. _log.Entries.Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message)];

    [Fact(Timeout = 10_000)]
    public async Task GoodSequence_IsDeliveredInOrder_AndEndsCleanly()
    {
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Ready(), PayloadWire.Finished(3)));

        end.Should().Be(PayloadChannelEnd.EndOfStream);
        _sink.Accepted.Should().Equal(new PayloadReport(PayloadReportKind.Started), new PayloadReport(PayloadReportKind.Ready), new PayloadReport(PayloadReportKind.Finished, 3));
        Warnings.Should().BeEmpty();
    }

    [Fact(Timeout = 10_000)]
    public async Task TruncatedHeader_EndsAsTruncated_AfterDeliveringWholeFrames()
    {
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, PayloadWire.Started(), [0x03, 0x00]));

        end.Should().Be(PayloadChannelEnd.Truncated);
        _sink.Accepted.Should().Equal(new PayloadReport(PayloadReportKind.Started));
        Warnings.Should().ContainSingle(w => w.Contains("truncated frame", StringComparison.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task TruncatedBody_EndsAsTruncated_AndTheHalfFrameIsNotDelivered()
    {
        byte[] finished = PayloadWire.Finished(7);
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, finished[..6]));

        end.Should().Be(PayloadChannelEnd.Truncated);
        _sink.Received.Should().BeEmpty();
    }

    [Fact(Timeout = 10_000)]
    public async Task OversizeHeader_ClosesTheChannel_WithoutReadingTheBody()
    {
        byte[] oversize = [(byte)PayloadFrameType.Error, 0, 0xFD, 0x03]; // 1021 bytes announced, 1020 allowed
        byte[] bytes = Concat(ControlHello, oversize, PayloadWire.Started());
        using var stream = new MemoryStream(bytes);
        var channel = new PayloadChannel(stream, _sink, _log, "test port");

        PayloadChannelEnd end = await channel.RunAsync(expectHello: true, CancellationToken.None);

        end.Should().Be(PayloadChannelEnd.Oversize);
        stream.Position.Should().Be(ControlHello.Length + 4, "nothing after the oversize header is read");
        _sink.Received.Should().BeEmpty();
        Warnings.Should().ContainSingle(w => w.Contains("announces 1021 body bytes", StringComparison.Ordinal) && w.Contains("keeps running", StringComparison.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task MaximumFrame_IsAccepted()
    {
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, PayloadWire.Error(9, new string('m', 2000))));

        end.Should().Be(PayloadChannelEnd.EndOfStream);
        _sink.Accepted.Should().ContainSingle().Which.Message.Should().HaveLength(PayloadWire.MaxBodySize - 4);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("Linux version 6.1.0 (console text on the wrong port)\n")]
    [InlineData("\u0002\u0000\u0000\u0000")]
    [InlineData("\u0001\u0000\u0006\u0000XXXX\u0001\u0000")]
    public async Task Garbage_BeforeAnyHello_ClosesTheChannel_AndDeliversNothing(string garbage)
    {
        PayloadChannelEnd end = await RunAsync(Concat(System.Text.Encoding.Latin1.GetBytes(garbage), ControlHello, PayloadWire.Started()));

        end.Should().BeOneOf(PayloadChannelEnd.Oversize, PayloadChannelEnd.BeforeHello, PayloadChannelEnd.Malformed);
        _sink.Received.Should().BeEmpty();
        Warnings.Should().ContainSingle(w => w.Contains("Closed the payload channel", StringComparison.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task ReportBeforeHello_ClosesTheChannel()
    {
        PayloadChannelEnd end = await RunAsync(Concat(PayloadWire.Started(), ControlHello));

        end.Should().Be(PayloadChannelEnd.BeforeHello);
        _sink.Received.Should().BeEmpty();
        Warnings.Should().ContainSingle(w => w.Contains("must be a hello", StringComparison.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task WrongVersion_ClosesTheChannel()
    {
        PayloadChannelEnd end = await RunAsync(Concat(PayloadWire.Hello(PayloadChannelKind.Control, version: 2), PayloadWire.Started()));

        end.Should().Be(PayloadChannelEnd.WrongVersion);
        _sink.Received.Should().BeEmpty();
        Warnings.Should().ContainSingle(w => w.Contains("protocol version 2", StringComparison.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task WrongVersionLater_ClosesTheChannel_AfterWhatCameBefore()
    {
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Hello(PayloadChannelKind.Control, version: 3), PayloadWire.Ready()));

        end.Should().Be(PayloadChannelEnd.WrongVersion);
        _sink.Accepted.Should().Equal(new PayloadReport(PayloadReportKind.Started));
    }

    [Fact(Timeout = 10_000)]
    public async Task StdioHello_OnTheLifecyclePort_ClosesTheChannel()
    {
        PayloadChannelEnd end = await RunAsync(Concat(PayloadWire.Hello(PayloadChannelKind.Stdio), PayloadWire.Started()));

        end.Should().Be(PayloadChannelEnd.WrongKind);
        _sink.Received.Should().BeEmpty();
    }

    [Fact(Timeout = 10_000)]
    public async Task MalformedReport_ClosesTheChannel_AfterWhatCameBefore()
    {
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Frame(PayloadFrameType.Finished, [1]), PayloadWire.Ready()));

        end.Should().Be(PayloadChannelEnd.Malformed);
        _sink.Accepted.Should().Equal(new PayloadReport(PayloadReportKind.Started));
        Warnings.Should().ContainSingle(w => w.Contains("finished frame of 1 bytes", StringComparison.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task UnknownTypeAndRepeatedHello_AreLoggedAndSkipped()
    {
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, PayloadWire.Frame(77, [1, 2, 3]), ControlHello, PayloadWire.Started()));

        end.Should().Be(PayloadChannelEnd.EndOfStream);
        _sink.Accepted.Should().Equal(new PayloadReport(PayloadReportKind.Started));
        Warnings.Should().HaveCount(2).And.Contain(w => w.Contains("unknown frame type 77", StringComparison.Ordinal)).And.Contain(w => w.Contains("repeated hello", StringComparison.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task DuplicateReports_AreIgnoredAndLogged()
    {
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Started(), PayloadWire.Ready(), PayloadWire.Ready(), PayloadWire.Finished(0), PayloadWire.Finished(1)));

        end.Should().Be(PayloadChannelEnd.EndOfStream);
        _sink.Accepted.Should().Equal(new PayloadReport(PayloadReportKind.Started), new PayloadReport(PayloadReportKind.Ready), new PayloadReport(PayloadReportKind.Finished, 0));
        Warnings.Where(w => w.Contains("repeated report", StringComparison.Ordinal)).Should().HaveCount(3);
    }

    [Fact(Timeout = 10_000)]
    public async Task OutOfOrderReports_NeverMoveBackward_SkippedStatesAreFine()
    {
        PayloadChannelEnd end = await RunAsync(Concat(ControlHello, PayloadWire.Ready(), PayloadWire.Started(), PayloadWire.Error(2, "boom"), PayloadWire.Ready(), PayloadWire.Finished(0)));

        end.Should().Be(PayloadChannelEnd.EndOfStream);
        _sink.Accepted.Should().Equal(new PayloadReport(PayloadReportKind.Ready), new PayloadReport(PayloadReportKind.Error, 2, "boom"));
        _sink.History.Should().Equal(VirtualMachineState.Starting, VirtualMachineState.Ready, VirtualMachineState.Finished);
        Warnings.Should().Contain(w => w.Contains("only move forward", StringComparison.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task ManyIgnoredFrames_AreLoggedOnlyUpToTheThrottle()
    {
        byte[][] unknown = [.. Enumerable.Range(0, 50).Select(_ => PayloadWire.Frame(99, []))];
        PayloadChannelEnd end = await RunAsync(Concat([ControlHello, .. unknown, PayloadWire.Started()]));

        end.Should().Be(PayloadChannelEnd.EndOfStream);
        _sink.Accepted.Should().ContainSingle();
        Warnings.Should().HaveCount(PayloadChannel.LoggedIgnoredFrames + 1);
        Warnings[^1].Should().Contain("further ignored frames are not logged");
    }

    [Theory(Timeout = 10_000)]
    [InlineData(typeof(IOException))]
    [InlineData(typeof(ObjectDisposedException))]
    [InlineData(typeof(InvalidOperationException))]
    public async Task FailingStream_NeverThrows_EndsAsFailed(Type exceptionType)
    {
        var exception = (Exception)Activator.CreateInstance(exceptionType, "boom")!;
        var channel = new PayloadChannel(Failing(exception), _sink, _log, "test port");

        PayloadChannelEnd end = await channel.RunAsync(expectHello: true, CancellationToken.None);

        end.Should().Be(PayloadChannelEnd.Failed);
        _log.Entries.Should().Contain(e => e.Exception == exception);
    }

    [Fact(Timeout = 10_000)]
    public async Task Cancellation_EndsTheChannelAsCancelled()
    {
        var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.In);
        using var client = new System.IO.Pipes.AnonymousPipeClientStream(System.IO.Pipes.PipeDirection.Out, pipe.ClientSafePipeHandle);
        using var cts = new CancellationTokenSource();
        var channel = new PayloadChannel(pipe, _sink, _log, "test port");
        Task<PayloadChannelEnd> run = channel.RunAsync(expectHello: true, cts.Token);

        await client.WriteAsync(Concat(ControlHello, PayloadWire.Started()));
        await client.FlushAsync();
        await _sink.AcceptedSignal.WaitAsync();

        await cts.CancelAsync();
        (await run).Should().Be(PayloadChannelEnd.Cancelled);
        await pipe.DisposeAsync();
    }

    [Fact(Timeout = 10_000)]
    public async Task ReadHello_ConsumesExactlyTheHello()
    {
        byte[] raw = "payload output"u8.ToArray();
        using var stream = new MemoryStream(Concat(PayloadWire.Hello(PayloadChannelKind.Stdio), raw));
        var channel = new PayloadChannel(stream, _sink, _log, "test port");

        (PayloadChannelEnd? end, PayloadChannelKind kind) = await channel.ReadHelloAsync(CancellationToken.None);

        end.Should().BeNull();
        kind.Should().Be(PayloadChannelKind.Stdio);
        stream.Position.Should().Be(PayloadWire.HeaderSize + PayloadWire.HelloSize, "the stdio bytes after the hello belong to the payload");
    }
}
