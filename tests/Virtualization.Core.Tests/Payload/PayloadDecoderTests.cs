using System.Text;
using Virtualization.Core.Payload;

namespace Virtualization.Core.Tests.Payload;

public sealed class PayloadDecoderTests
{
    private static PayloadDecoded Decode(byte[] frame) =>
        PayloadDecoder.Decode(new PayloadFrame(frame[0], frame[1], frame.AsMemory(PayloadWire.HeaderSize)));

    [Fact]
    public void WireFormat_IsLittleEndianHeaderThenBody()
    {
        PayloadWire.Hello(PayloadChannelKind.Control).Should().Equal(0x01, 0x00, 0x06, 0x00, (byte)'V', (byte)'C', (byte)'P', (byte)'L', 0x01, 0x00);
        PayloadWire.Started().Should().Equal(0x02, 0x00, 0x00, 0x00);
        PayloadWire.Ready().Should().Equal(0x03, 0x00, 0x00, 0x00);
        PayloadWire.Finished(-2).Should().Equal(0x04, 0x00, 0x04, 0x00, 0xFE, 0xFF, 0xFF, 0xFF);
        PayloadWire.Error(3, "é").Should().Equal(0x05, 0x00, 0x06, 0x00, 0x03, 0x00, 0x00, 0x00, 0xC3, 0xA9);
    }

    [Fact]
    public void Reports_DecodeToTheirStates()
    {
        Decode(PayloadWire.Started()).Report.Should().Be(new PayloadReport(PayloadReportKind.Started));
        Decode(PayloadWire.Ready()).Report.Should().Be(new PayloadReport(PayloadReportKind.Ready));
        Decode(PayloadWire.Finished(3)).Report.Should().Be(new PayloadReport(PayloadReportKind.Finished, 3));
        PayloadDecoded error = Decode(PayloadWire.Error(2, "not found"));
        error.Verdict.Should().Be(PayloadFrameVerdict.Report);
        error.Report.Should().Be(new PayloadReport(PayloadReportKind.Error, 2, "not found"));
        error.Report.Target.Should().Be(VirtualMachineState.Finished, "an error ends the payload");
    }

    [Fact]
    public void Hello_NamesTheChannelKind()
    {
        PayloadDecoded control = Decode(PayloadWire.Hello(PayloadChannelKind.Control));
        control.Verdict.Should().Be(PayloadFrameVerdict.Hello);
        control.Kind.Should().Be(PayloadChannelKind.Control);
        Decode(PayloadWire.Hello(PayloadChannelKind.Stdio)).Kind.Should().Be(PayloadChannelKind.Stdio);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(255)]
    public void Hello_WrongVersion_IsRefusedAsWrongVersion(byte version)
    {
        PayloadDecoded decoded = Decode(PayloadWire.Hello(PayloadChannelKind.Control, version));
        decoded.Verdict.Should().Be(PayloadFrameVerdict.WrongVersion);
        decoded.Problem.Should().Contain($"version {version}").And.Contain("only version 1");
    }

    [Fact]
    public void Hello_WrongVersionWithALongerBody_IsStillWrongVersion()
    {
        // A future version may grow the hello; the version check comes before the length check.
        byte[] body = [.. "VCPL"u8, 2, 0, 9, 9, 9];
        Decode(PayloadWire.Frame(PayloadFrameType.Hello, body)).Verdict.Should().Be(PayloadFrameVerdict.WrongVersion);
    }

    public static TheoryData<string, byte[]> MalformedFrames => new()
    {
        { "bad magic", PayloadWire.Frame(PayloadFrameType.Hello, [.. "XXXX"u8, 1, 0]) },
        { "short hello", PayloadWire.Frame(PayloadFrameType.Hello, [.. "VCP"u8]) },
        { "long v1 hello", PayloadWire.Frame(PayloadFrameType.Hello, [.. "VCPL"u8, 1, 0, 0]) },
        { "unknown channel kind", PayloadWire.Frame(PayloadFrameType.Hello, [.. "VCPL"u8, 1, 7]) },
        { "started with a body", PayloadWire.Frame(PayloadFrameType.Started, [1]) },
        { "ready with a body", PayloadWire.Frame(PayloadFrameType.Ready, [1, 2]) },
        { "finished of 3 bytes", PayloadWire.Frame(PayloadFrameType.Finished, [1, 2, 3]) },
        { "finished of 5 bytes", PayloadWire.Frame(PayloadFrameType.Finished, [1, 2, 3, 4, 5]) },
        { "error without a whole code", PayloadWire.Frame(PayloadFrameType.Error, [1, 2]) },
        { "flags set", [(byte)PayloadFrameType.Started, 0x80, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(MalformedFrames))]
    public void MalformedFrames_AreRefused(string what, byte[] frame)
    {
        PayloadDecoded decoded = Decode(frame);
        decoded.Verdict.Should().Be(PayloadFrameVerdict.Malformed, what);
        decoded.Problem.Should().NotBeNullOrEmpty();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(200)]
    public void UnknownTypes_AreSkippedNotRefused(byte type)
    {
        PayloadDecoded decoded = Decode(PayloadWire.Frame(type, [1, 2, 3]));
        decoded.Verdict.Should().Be(PayloadFrameVerdict.Unknown);
        decoded.Problem.Should().Contain($"unknown frame type {type}");
    }

    [Fact]
    public void Error_WithInvalidUtf8_IsDecodedWithReplacementCharacters()
    {
        byte[] frame = PayloadWire.Frame(PayloadFrameType.Error, [4, 0, 0, 0, (byte)'o', 0xFF, (byte)'k']);
        PayloadDecoded decoded = Decode(frame);
        decoded.Verdict.Should().Be(PayloadFrameVerdict.Report);
        decoded.Report.Message.Should().Be("o\uFFFDk");
    }

    [Fact]
    public void Error_LongMessage_IsCutToTheMaximumFrame()
    {
        byte[] frame = PayloadWire.Error(1, new string('x', 5000));
        frame.Length.Should().Be(PayloadWire.MaxFrameSize);
        Decode(frame).Report.Message.Should().HaveLength(PayloadWire.MaxBodySize - 4);
    }

    [Fact]
    public void Frame_LongerThanTheMaximum_CannotBeEncoded()
    {
        Action encode = () => PayloadWire.Frame(PayloadFrameType.Error, new byte[PayloadWire.MaxBodySize + 1]);
        encode.Should().Throw<ArgumentOutOfRangeException>();
        Encoding.ASCII.GetString(PayloadWire.Magic).Should().Be("VCPL");
    }
}
