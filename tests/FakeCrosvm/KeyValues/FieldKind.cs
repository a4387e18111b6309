namespace FakeCrosvm.KeyValues;

/// <summary>How the value of a key=value field is parsed.</summary>
internal enum FieldKind
{
    /// <summary>Unquoted, double-quoted or single-quoted string.</summary>
    String,

    /// <summary>Exactly <c>true</c> or <c>false</c>; a bare key means <c>true</c>.</summary>
    Bool,

    /// <summary>Integer: decimal or 0x/0o/0b prefixed, optional leading <c>-</c>.</summary>
    Number,

    /// <summary>One of a fixed set of lower-case names.</summary>
    Enum,

    /// <summary>A bracketed list or nested struct (<c>[...]</c>); kept as raw text.</summary>
    Bracketed,
}
