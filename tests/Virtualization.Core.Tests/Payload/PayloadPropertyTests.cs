using CsCheck;
using Virtualization.Core.Payload;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Payload;

/// <summary>
/// Property tests: whatever bytes a guest sends, the channel never throws, the payload state never moves backward, each
/// callback comes at most once and in order, and nothing of another VM changes.
/// </summary>
public sealed class PayloadPropertyTests
{
    /// <summary>Pieces a stream is made of: mostly well-formed frames (so the interesting paths are reached), plus garbage.</summary>
    private static readonly Gen<byte[]> Piece = Gen.Frequency(
        (4, Gen.Const(PayloadWire.Hello(PayloadChannelKind.Control))),
        (1, Gen.Const(PayloadWire.Hello(PayloadChannelKind.Stdio))),
        (1, Gen.Byte.Select(v => PayloadWire.Hello(PayloadChannelKind.Control, v))),
        (3, Gen.Const(PayloadWire.Started())),
        (3, Gen.Const(PayloadWire.Ready())),
        (2, Gen.Int.Select(PayloadWire.Finished)),
        (2, Gen.Select(Gen.Int, Gen.String[0, 30], PayloadWire.Error)),
        (2, Gen.Select(Gen.Byte, Gen.Byte.Array[0, 12], (type, body) => PayloadWire.Frame(type, body))),
        (1, Gen.Select(Gen.Byte, Gen.Byte, Gen.UShort, (type, flags, length) => new[] { type, flags, (byte)length, (byte)(length >> 8) })),
        (1, Gen.Byte.Array[1, 16]));

    /// <summary>A guest's whole output: pieces, sometimes cut short anywhere (a truncated last frame).</summary>
    private static readonly Gen<byte[]> GuestOutput = Gen.Select(Piece.Array[0, 24], Gen.Bool, Gen.Int[0, int.MaxValue], (pieces, cut, at) =>
    {
        byte[] all = PayloadTestStreams.Concat(pieces);
        return cut && all.Length > 0 ? all[..(at % all.Length)] : all;
    });

    private static readonly Gen<byte[]> RawBytes = Gen.Byte.Array[0, 2048];

    [Fact(Timeout = 120_000)]
    public async Task AnyByteStream_NeverThrows_NeverMovesBackward_NeverReachesAnotherSink()
    {
        await Gen.Frequency((3, GuestOutput), (1, RawBytes)).SampleAsync(
            async bytes =>
            {
                var target = new ModelSink();
                var bystander = new ModelSink();
                using var log = new ListLogger();
                using var stream = new MemoryStream(bytes);
                var channel = new PayloadChannel(stream, target, log, "property");

                PayloadChannelEnd end = await channel.RunAsync(expectHello: true, CancellationToken.None);

                Enum.IsDefined(end).Should().BeTrue();
                target.History.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("each state is entered at most once, moving forward");
                target.Accepted.Count.Should().BeLessThanOrEqualTo(3);
                bystander.Received.Should().BeEmpty();
                if (end is not (PayloadChannelEnd.EndOfStream or PayloadChannelEnd.Truncated))
                {
                    log.Entries.Should().Contain(e => e.Message.Contains("Closed the payload channel", StringComparison.Ordinal), "every refusal is logged");
                }

                target.AcceptedSignal.Dispose();
                bystander.AcceptedSignal.Dispose();
            },
            iter: 1000,
            threads: 1);
    }

    /// <summary>
    /// The same property end to end, on real VM objects: the fake crosvm writes random bytes to one VM's lifecycle port
    /// while a second VM reports a fixed sequence. The first VM's callbacks must be exactly what the model accepts from
    /// those bytes; the second VM's must be its own sequence, whatever the first one received.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task AnyByteStream_OnRealVms_DeliversExactlyWhatTheModelAccepts_AndLeavesTheOtherVmAlone()
    {
        await using var h = new TestHarness();
        var payload = new PayloadChannelOptions { StartTimeout = Timeout.InfiniteTimeSpan };
        byte[] goodSequence = PayloadTestStreams.Concat(PayloadTestStreams.ControlHello, PayloadWire.Started(), PayloadWire.Finished(5));

        await Gen.Frequency((4, GuestOutput), (1, RawBytes)).SampleAsync(
            async bytes =>
            {
                var model = new ModelSink();
                using (var log = new ListLogger())
                {
                    await new PayloadChannel(new MemoryStream(bytes), model, log, "model").RunAsync(expectHello: true, CancellationToken.None);
                }

                // Both run until stopped; stopping them makes the VMM close the ports, and the host reads everything before
                // OnDied, so the comparison does not depend on timing.
                IVirtualMachine target = await h.Service.CreateVmAsync(
                    h.Config(new FakeScenario { VirtioConsoleWrites = [(1, bytes)], ConsoleLines = 0 }) with { PayloadChannel = payload });
                IVirtualMachine bystander = await h.Service.CreateVmAsync(
                    h.Config(new FakeScenario { VirtioConsoleWrites = [(1, goodSequence)], ConsoleLines = 0 }) with { PayloadChannel = payload });
                var targetEvents = new PayloadRecorder(target);
                var bystanderEvents = new PayloadRecorder(bystander);
                target.RegisterCallback(targetEvents);
                bystander.RegisterCallback(bystanderEvents);
                await Task.WhenAll(target.StartAsync(), bystander.StartAsync());
                h.TrackPid(target);
                h.TrackPid(bystander);
                await Task.WhenAll(target.StopAsync(), bystander.StopAsync());
                await target.DisposeAsync();
                await bystander.DisposeAsync();

                string[] expected = [.. model.Accepted.Select(Describe), "died:Shutdown"];
                targetEvents.Events.Should().Equal(expected);
                targetEvents.StatesSeen.Should().BeInAscendingOrder();
                bystanderEvents.Events.Should().Equal("payload-started", "payload-finished:5", "died:Shutdown");
                model.AcceptedSignal.Dispose();
            },
            iter: 12,
            threads: 2);
    }

    private static string Describe(PayloadReport report) => report.Kind switch
    {
        PayloadReportKind.Started => "payload-started",
        PayloadReportKind.Ready => "payload-ready",
        PayloadReportKind.Finished => $"payload-finished:{report.Code}",
        _ => $"error:{report.Code}:{report.Message}",
    };
}
