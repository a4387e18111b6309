namespace FakeCrosvm.Vm;

/// <summary>One destination of fake guest console output.</summary>
internal sealed record ConsoleTarget(ConsoleTargetKind Kind, string? Path);
