using System.Buffers.Binary;
using System.Text;

namespace Virtualization.Core.Payload;

/// <summary>
/// The payload channel's wire format (docs/payload-protocol.md): frames of a 4-byte header
/// (<c>type:u8 flags:u8 length:u16le</c>) and <c>length</c> bytes of body, at most <see cref="MaxFrameSize"/> bytes in all.
/// The first frame of a connection is a <see cref="PayloadFrameType.Hello"/> carrying the magic, the version and the
/// channel kind.
/// </summary>
internal static class PayloadWire
{
    /// <summary>The protocol version this host speaks.</summary>
    public const byte Version = 1;

    /// <summary>Bytes of a frame header.</summary>
    public const int HeaderSize = 4;

    /// <summary>The largest frame, header included.</summary>
    public const int MaxFrameSize = 1024;

    /// <summary>The largest frame body.</summary>
    public const int MaxBodySize = MaxFrameSize - HeaderSize;

    /// <summary>Bytes of a version-1 hello body: magic, version, channel kind.</summary>
    public const int HelloSize = 6;

    /// <summary>The hello's magic, ASCII <c>VCPL</c>.</summary>
    public static ReadOnlySpan<byte> Magic => "VCPL"u8;

    /// <summary>Reads a header: the frame type, its flags byte and its body length.</summary>
    public static (byte Type, byte Flags, int Length) ReadHeader(ReadOnlySpan<byte> header) =>
        (header[0], header[1], BinaryPrimitives.ReadUInt16LittleEndian(header[2..]));

    /// <summary>Encodes one frame (used by tests and documentation examples; the guest agent has its own C encoder).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The body is longer than <see cref="MaxBodySize"/>.</exception>
    public static byte[] Frame(PayloadFrameType type, ReadOnlySpan<byte> body) => Frame((byte)type, body);

    /// <summary>Encodes one frame of any type byte, with flags 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The body is longer than <see cref="MaxBodySize"/>.</exception>
    public static byte[] Frame(byte type, ReadOnlySpan<byte> body)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(body.Length, MaxBodySize, nameof(body));
        byte[] frame = new byte[HeaderSize + body.Length];
        frame[0] = type;
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(2), (ushort)body.Length);
        body.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    /// <summary>A version-<paramref name="version"/> hello for a channel of <paramref name="kind"/>.</summary>
    public static byte[] Hello(PayloadChannelKind kind, byte version = Version)
    {
        Span<byte> body = stackalloc byte[HelloSize];
        Magic.CopyTo(body);
        body[4] = version;
        body[5] = (byte)kind;
        return Frame(PayloadFrameType.Hello, body);
    }

    /// <summary>A <c>started</c> frame.</summary>
    public static byte[] Started() => Frame(PayloadFrameType.Started, []);

    /// <summary>A <c>ready</c> frame.</summary>
    public static byte[] Ready() => Frame(PayloadFrameType.Ready, []);

    /// <summary>A <c>finished</c> frame with the payload's exit code.</summary>
    public static byte[] Finished(int exitCode)
    {
        Span<byte> body = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(body, exitCode);
        return Frame(PayloadFrameType.Finished, body);
    }

    /// <summary>An <c>error</c> frame with a code and a UTF-8 message (cut to fit the frame).</summary>
    public static byte[] Error(int code, string message)
    {
        byte[] text = Encoding.UTF8.GetBytes(message);
        int length = Math.Min(text.Length, MaxBodySize - 4);
        byte[] body = new byte[4 + length];
        BinaryPrimitives.WriteInt32LittleEndian(body, code);
        text.AsSpan(0, length).CopyTo(body.AsSpan(4));
        return Frame(PayloadFrameType.Error, body);
    }
}
