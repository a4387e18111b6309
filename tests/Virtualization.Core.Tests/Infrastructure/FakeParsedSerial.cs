namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>One <c>--serial</c> option as the fake crosvm parsed it.</summary>
internal sealed record FakeParsedSerial(string Type, string? Path, bool Console);
