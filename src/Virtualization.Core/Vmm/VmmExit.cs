namespace Virtualization.Core.Vmm;

/// <summary>How a VMM process ended.</summary>
/// <param name="ExitCode">Its exit code (128 + n for signal n).</param>
/// <param name="Reason">What the exit means for the VM.</param>
internal readonly record struct VmmExit(int ExitCode, DeathReason Reason);
