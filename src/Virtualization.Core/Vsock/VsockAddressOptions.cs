namespace Virtualization.Core;

/// <summary>The <c>svm_flags</c> byte of <c>struct sockaddr_vm</c>.</summary>
[Flags]
#pragma warning disable CA1028 // The kernel field is one byte; the enum mirrors it.
public enum VsockAddressOptions : byte
#pragma warning restore CA1028
{
    /// <summary>No flags.</summary>
    None = 0,

    /// <summary>
    /// <c>VMADDR_FLAG_TO_HOST</c>: route the connection to the host even when the CID names another guest
    /// (nested virtualization; Linux 5.10 and later).
    /// </summary>
    ToHost = 1,
}
