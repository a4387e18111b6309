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

    /// <summary>
    /// A library message in the tool's words: where the library names a <see cref="Virtualization.Core.VirtualizationServiceOptions"/>
    /// property, the tool names the command-line option that sets it (the library's wording is right for library users).
    /// </summary>
    /// <param name="message">The library's message.</param>
    /// <param name="vmm">The VMM the tool was told to use (decides which executable option to name).</param>
    public static string ForCli(string message, Virtualization.Core.VmmKind vmm)
    {
        ArgumentNullException.ThrowIfNull(message);
        string executableOption = vmm == Virtualization.Core.VmmKind.Qemu ? "--qemu PATH" : "--crosvm PATH";
        return message
            .Replace("Install it or point VirtualizationServiceOptions at it.", $"Install it, or pass {executableOption}.", StringComparison.Ordinal)
            .Replace("TemporaryDirectory is too long", "--temp-dir is too long", StringComparison.Ordinal)
            .Replace("Choose another TemporaryDirectory", "Choose another --temp-dir", StringComparison.Ordinal)
            .Replace("Dispose VMs you no longer need, or widen VirtualizationServiceOptions.FirstGuestCid/LastGuestCid.",
                "Stop VMs you no longer need (the vm tool uses the library's default CID range).", StringComparison.Ordinal);
    }
}
