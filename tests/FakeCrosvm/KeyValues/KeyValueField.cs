namespace FakeCrosvm.KeyValues;

/// <summary>One field of a key=value option. <see cref="Aliases"/> are accepted spellings of the same field.</summary>
internal sealed record KeyValueField(string Name, FieldKind Kind, bool Required = false)
{
    public IReadOnlyList<string> Aliases { get; init; } = [];

    public IReadOnlyList<string> Variants { get; init; } = [];

    public bool Matches(string key) => key == Name || Aliases.Contains(key);
}
