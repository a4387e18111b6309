namespace FakeCrosvm.KeyValues;

/// <summary>The parsed fields of one key=value option, by canonical field name.</summary>
internal sealed class KeyValues
{
    private readonly Dictionary<string, object> _values;

    public KeyValues(Dictionary<string, object> values) => _values = values;

    public bool Has(string name) => _values.ContainsKey(name);

    public string? GetString(string name) => _values.TryGetValue(name, out object? v) ? (string)v : null;

    public bool? GetBool(string name) => _values.TryGetValue(name, out object? v) ? (bool)v : null;

    public long? GetNumber(string name) => _values.TryGetValue(name, out object? v) ? (long)v : null;
}
