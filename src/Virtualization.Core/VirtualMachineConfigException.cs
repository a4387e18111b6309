namespace Virtualization.Core;

/// <summary>
/// A <see cref="VirtualMachineConfig"/> was rejected. <see cref="ArgumentException.ParamName"/> names the field
/// (for example <c>Disks[1].Partitions[0].Label</c>) and the message says what is wrong with it. Nothing was reserved.
/// </summary>
public sealed class VirtualMachineConfigException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="field"/>.</summary>
    /// <param name="field">The configuration field at fault.</param>
    /// <param name="message">What is wrong and how to fix it.</param>
    public VirtualMachineConfigException(string field, string message)
        : base($"Invalid VM configuration: {field}: {message}", field)
    {
        Field = field;
    }

    /// <summary>Creates the exception for <paramref name="field"/> with the error that revealed the problem.</summary>
    /// <param name="field">The configuration field at fault.</param>
    /// <param name="message">What is wrong and how to fix it.</param>
    /// <param name="innerException">The underlying error.</param>
    public VirtualMachineConfigException(string field, string message, Exception innerException)
        : base($"Invalid VM configuration: {field}: {message}", field, innerException)
    {
        Field = field;
    }

    /// <summary>The configuration field at fault.</summary>
    public string Field { get; }
}
