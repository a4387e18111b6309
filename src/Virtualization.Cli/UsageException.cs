namespace Virtualization.Cli;

/// <summary>A problem with what the user asked for; printed without a stack trace and exits with <see cref="ExitCodes.Usage"/>.</summary>
internal sealed class UsageException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, for the user.</param>
    public UsageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the error behind it.</summary>
    /// <param name="message">What is wrong, for the user.</param>
    /// <param name="innerException">The underlying error.</param>
    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public UsageException()
        : base("Invalid usage.")
    {
    }
}
