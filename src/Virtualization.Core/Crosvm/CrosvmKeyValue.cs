using System.Text;

namespace Virtualization.Core.Crosvm;

/// <summary>
/// Writes values for crosvm's <c>key=value</c> option lists (<c>--block</c>, <c>--serial</c>, ...), following
/// crosvm's <c>serde_keyvalue</c> rules: unquoted values may not contain <c>, " ' [ ]</c>; anything else is double-quoted
/// with <c>\"</c> and <c>\\</c> as the only escapes.
/// </summary>
/// <remarks>
/// Checked against crosvm's <c>serde_keyvalue</c> (today): an unquoted string runs while the character is none of
/// <c>, " ' [ ]</c>, so <c>=</c>, spaces, newlines and non-ASCII stay unquoted safely; a value that starts with a quote
/// is read as a quoted string, which is why quotes force quoting.
/// </remarks>
internal static class CrosvmKeyValue
{
    private static readonly System.Buffers.SearchValues<char> s_needsQuoting = System.Buffers.SearchValues.Create(",\"'[]");

    /// <summary>Returns <paramref name="value"/> quoted if it has to be.</summary>
    internal static string Quote(string value)
    {
        if (value.Length > 0 && value.AsSpan().IndexOfAny(s_needsQuoting) < 0)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 8).Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.Append('"').ToString();
    }

    /// <summary>Formats a boolean the way both the 2021 and today's parsers accept (<c>true</c>/<c>false</c>).</summary>
    internal static string Bool(bool value) => value ? "true" : "false";
}
