namespace FakeCrosvm;

/// <summary>An argument parsing failure: reported as <c>arg parsing failed: ...</c>, exit 35.</summary>
internal sealed class InvalidArgsException : Exception
{
    public InvalidArgsException()
    {
    }

    public InvalidArgsException(string message)
        : base(message)
    {
    }

    public InvalidArgsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
