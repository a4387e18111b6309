namespace Virtualization.Core.Disks;

/// <summary>Random version-4 GUIDs, or a reproducible sequence of them from a seed (for tests and reproducible images).</summary>
internal struct GuidSource
{
    private readonly Random? _random;

    public GuidSource(int? seed) => _random = seed is int s ? new Random(s) : null;

    public readonly Guid Next()
    {
        if (_random is null)
        {
            return Guid.NewGuid();
        }

        Span<byte> b = stackalloc byte[16];
#pragma warning disable CA5394 // Deterministic GUIDs on request; not a security boundary.
        _random.NextBytes(b);
#pragma warning restore CA5394
        // Mixed-endian layout: byte 7 holds the high byte of the third field (version nibble), byte 8 the variant.
        b[7] = (byte)((b[7] & 0x0F) | 0x40);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return new Guid(b);
    }
}
