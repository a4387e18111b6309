namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Thrown by <see cref="ThrowingLogger"/>: tests look for it among unobserved task exceptions.</summary>
internal sealed class LoggerBoomException : Exception
{
    public LoggerBoomException()
        : base("The test logger throws from every method.")
    {
    }

    public LoggerBoomException(string message)
        : base(message)
    {
    }

    public LoggerBoomException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
