namespace FakeCrosvm.Vm;

/// <summary>A block device from <c>--block</c> or one of the deprecated disk options.</summary>
/// <param name="Option">The option it came from, for messages.</param>
internal sealed record DiskOption(string Option, string Path, bool ReadOnly, bool Root, bool Lock);
