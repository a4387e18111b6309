namespace FakeCrosvm.KeyValues;

/// <summary>A key=value list that does not follow the serde_keyvalue grammar.</summary>
internal sealed class KeyValueSyntaxException : Exception
{
    public KeyValueSyntaxException()
    {
    }

    public KeyValueSyntaxException(string message)
        : base(message)
    {
    }

    public KeyValueSyntaxException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
