namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>One disk option as the fake crosvm parsed it.</summary>
internal sealed record FakeParsedDisk(string Option, string Path, bool ReadOnly, bool Root);
