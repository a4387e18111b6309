namespace Virtualization.Core.Qemu;

/// <summary>QEMU answered a QMP command with <c>{"error": {"class": ..., "desc": ...}}</c>.</summary>
internal sealed class QmpErrorException : IOException
{
    internal QmpErrorException(string errorClass, string description)
        : base($"{errorClass}: {description}")
    {
        ErrorClass = errorClass;
        Description = description;
    }

    /// <summary>The error class (<c>GenericError</c>, <c>DeviceNotActive</c>, ...).</summary>
    internal string ErrorClass { get; }

    /// <summary>QEMU's description.</summary>
    internal string Description { get; }
}
