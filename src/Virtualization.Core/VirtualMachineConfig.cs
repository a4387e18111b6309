namespace Virtualization.Core;

/// <summary>
/// The configuration of a virtual machine. <see cref="VirtualMachineRawConfig"/> is the only kind today.
/// </summary>
public abstract record VirtualMachineConfig
{
    /// <summary>Only this assembly defines configuration kinds.</summary>
    private protected VirtualMachineConfig()
    {
    }
}
