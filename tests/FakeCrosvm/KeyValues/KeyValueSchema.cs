namespace FakeCrosvm.KeyValues;

/// <summary>The fields of one key=value option. The first field is the one whose key may be omitted.</summary>
internal sealed class KeyValueSchema
{
    public KeyValueSchema(params KeyValueField[] fields)
    {
        if (fields.Length == 0)
        {
            throw new ArgumentException("A schema needs at least one field.", nameof(fields));
        }

        Fields = fields;
    }

    public IReadOnlyList<KeyValueField> Fields { get; }

    public KeyValueField First => Fields[0];

    public KeyValueField? Find(string key) => Fields.FirstOrDefault(f => f.Matches(key));

    public string ExpectedList() => string.Join(", ", Fields.Select(f => $"`{f.Name}`"));
}
