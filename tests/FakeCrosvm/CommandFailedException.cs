namespace FakeCrosvm;

/// <summary>A semantic or runtime error found after parsing: logged on stderr, exit 1.</summary>
internal sealed class CommandFailedException : Exception
{
    public CommandFailedException()
    {
    }

    public CommandFailedException(string message)
        : base(message)
    {
    }

    public CommandFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
