namespace FakeCrosvm.Cli;

/// <summary>A command-line option: its long name, optional short name and arity.</summary>
internal sealed record OptionSpec(string Long, string? Short, OptionArity Arity);
