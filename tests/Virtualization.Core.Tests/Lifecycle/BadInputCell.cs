using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// One cell of the bad-input matrix (docs/reliability.md (Bad-input matrix)): how to build the config, and either the field and
/// message fragment of the expected <see cref="VirtualMachineConfigException"/>, or checks of what reached crosvm.
/// </summary>
/// <param name="Id">The cell's name: field, then input.</param>
/// <param name="Build">Makes the config in the cell's context.</param>
/// <param name="Field">The field the exception names; <see langword="null"/> when the config is accepted.</param>
/// <param name="Fragment">A part of the exception's message.</param>
/// <param name="Check">For an accepted config: checks what the fake crosvm parsed (the VM was started and stopped).</param>
/// <param name="CheckFolder">For an accepted config: checks the VM's folder before the VM starts.</param>
internal sealed record BadInputCell(
    string Id,
    Func<BadInputContext, Task<VirtualMachineRawConfig>> Build,
    string? Field = null,
    string? Fragment = null,
    Action<VirtualMachineRawConfig, FakeParsedRun>? Check = null,
    Action<VirtualMachineRawConfig, string>? CheckFolder = null)
{
    public override string ToString() => Id;
}
