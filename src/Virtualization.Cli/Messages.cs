namespace Virtualization.Cli;

/// <summary>Error messages as the user should read them.</summary>
internal static class Messages
{
    /// <summary>The message of <paramref name="exception"/> without the <c> (Parameter 'x')</c> suffix .NET appends to argument errors.</summary>
    public static string Of(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        string message = exception.Message;
        if (exception is ArgumentException { ParamName: { } name })
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal))
            {
                message = message[..^suffix.Length];
            }
        }

        return message;
    }
}
