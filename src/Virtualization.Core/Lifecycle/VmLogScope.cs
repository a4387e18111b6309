using System.Collections;
using System.Globalization;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// The logger scope of one VM's messages: a single property <c>Cid</c>; formats as <c>CID 12</c> (what a console
/// logger with scopes on prints).
/// </summary>
internal sealed class VmLogScope(int cid) : IReadOnlyList<KeyValuePair<string, object?>>
{
    /// <summary>The name of the scope's property.</summary>
    internal const string CidKey = "Cid";

    private readonly string _text = "CID " + cid.ToString(CultureInfo.InvariantCulture);

    /// <summary>The VM's CID.</summary>
    public int Cid { get; } = cid;

    /// <inheritdoc/>
    public int Count => 1;

    /// <inheritdoc/>
    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new KeyValuePair<string, object?>(CidKey, Cid) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    /// <inheritdoc/>
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() => _text;
}
