namespace Virtualization.Core;

/// <summary>
/// The error codes the reference guest agent (<c>guest/vcore-agent.c</c>) sends with an error report, as delivered to
/// <see cref="IVirtualMachineCallback.OnError"/>. Other agents may define their own codes; the host passes any code through.
/// </summary>
public static class PayloadErrorCodes
{
    /// <summary>An error without a more specific code.</summary>
    public const int Unknown = 0;

    /// <summary>The agent's configuration is invalid (no payload command, or one it cannot decode).</summary>
    public const int InvalidConfig = 1;

    /// <summary>The payload executable does not exist.</summary>
    public const int PayloadNotFound = 2;

    /// <summary>The payload exists but cannot be executed (permissions, not a valid executable).</summary>
    public const int PayloadNotExecutable = 3;

    /// <summary>The payload was killed by a signal (a crash, or killed inside the guest).</summary>
    public const int PayloadCrashed = 4;
}
