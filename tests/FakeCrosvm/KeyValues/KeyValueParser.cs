using System.Globalization;
using System.Text;

namespace FakeCrosvm.KeyValues;

/// <summary>
/// Parser for today's crosvm key=value lists (serde_keyvalue): entries split on <c>,</c>, bare keys
/// only for booleans, an implicit first key, unquoted / double-quoted / single-quoted strings,
/// integers with radix prefixes, exact booleans and unknown keys rejected.
/// </summary>
internal sealed class KeyValueParser
{
    private readonly string _text;
    private readonly KeyValueSchema _schema;
    private int _pos;

    private KeyValueParser(string text, KeyValueSchema schema)
    {
        _text = text;
        _schema = schema;
    }

    private bool AtEnd => _pos >= _text.Length;

    /// <summary>Parses <paramref name="text"/> against <paramref name="schema"/>.</summary>
    /// <exception cref="KeyValueSyntaxException">The text is not valid for the schema.</exception>
    public static KeyValues Parse(string text, KeyValueSchema schema) => new KeyValueParser(text, schema).ParseAll();

    private KeyValues ParseAll()
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        bool first = true;
        while (!AtEnd)
        {
            KeyValueField field;
            object value;
            if (first && TryImplicitFirstField())
            {
                field = _schema.First;
                value = ReadValue(field);
            }
            else
            {
                field = ReadKey();
                if (!AtEnd && _text[_pos] == '=')
                {
                    _pos++;
                    value = ReadValue(field);
                }
                else if (AtEnd || _text[_pos] == ',')
                {
                    if (field.Kind != FieldKind.Bool)
                    {
                        throw Fail($"key `{field.Name}` needs a value");
                    }

                    value = true;
                }
                else
                {
                    throw Fail("expected ',' or '='");
                }
            }

            first = false;
            if (!values.TryAdd(field.Name, value))
            {
                throw Fail($"duplicate field `{field.Name}`");
            }

            if (AtEnd)
            {
                break;
            }

            if (_text[_pos] != ',')
            {
                throw Fail("expected ','");
            }

            _pos++;
            if (AtEnd)
            {
                throw Fail("expected a key after ','");
            }
        }

        foreach (KeyValueField field in _schema.Fields)
        {
            if (field.Required && !values.ContainsKey(field.Name))
            {
                throw new KeyValueSyntaxException($"missing field `{field.Name}`");
            }
        }

        return new KeyValues(values);
    }

    /// <summary>
    /// The implicit-first-key rule: text that starts with an identifier followed by <c>=</c>, or with an
    /// identifier that names a field, starts with a key. Anything else is the first field's value.
    /// </summary>
    private bool TryImplicitFirstField()
    {
        int end = IdentifierEnd(_pos);
        if (end == _pos)
        {
            return true;
        }

        string identifier = _text[_pos..end];
        bool followedByEquals = end < _text.Length && _text[end] == '=';
        return !followedByEquals && _schema.Find(identifier) is null;
    }

    private int IdentifierEnd(int start)
    {
        int i = start;
        if (i < _text.Length && _text[i] == '-')
        {
            return start;
        }

        while (i < _text.Length && (char.IsAsciiLetterOrDigit(_text[i]) || _text[i] == '_' || _text[i] == '-'))
        {
            i++;
        }

        return i;
    }

    private KeyValueField ReadKey()
    {
        int end = IdentifierEnd(_pos);
        if (end == _pos)
        {
            throw Fail("expected an identifier");
        }

        string key = _text[_pos..end];
        KeyValueField? field = _schema.Find(key)
            ?? throw Fail($"unknown field `{key}`, expected one of {_schema.ExpectedList()}");
        _pos = end;
        return field;
    }

    private object ReadValue(KeyValueField field)
    {
        switch (field.Kind)
        {
            case FieldKind.String:
                return ReadString();
            case FieldKind.Bool:
                {
                    int start = _pos;
                    string token = ReadBareToken();
                    return token switch
                    {
                        "true" => true,
                        "false" => false,
                        _ => throw FailAt(start, $"invalid boolean `{token}` for `{field.Name}`: expected true or false"),
                    };
                }

            case FieldKind.Number:
                {
                    int start = _pos;
                    string token = ReadBareToken();
                    return ParseNumber(token) ?? throw FailAt(start, $"invalid number `{token}` for `{field.Name}`");
                }

            case FieldKind.Enum:
                {
                    int start = _pos;
                    string token = ReadString();
                    if (!field.Variants.Contains(token))
                    {
                        string expected = string.Join(", ", field.Variants.Select(v => $"`{v}`"));
                        throw FailAt(start, $"unknown variant `{token}`, expected one of {expected}");
                    }

                    return token;
                }

            case FieldKind.Bracketed:
                return ReadBracketed();
            default:
                throw new InvalidOperationException($"unhandled field kind {field.Kind}");
        }
    }

    /// <summary>An unquoted token for numbers and booleans: up to <c>,</c>, <c>]</c> or the end.</summary>
    private string ReadBareToken()
    {
        int start = _pos;
        while (!AtEnd && _text[_pos] is not (',' or ']'))
        {
            _pos++;
        }

        return _text[start.._pos];
    }

    private string ReadString()
    {
        if (AtEnd)
        {
            return string.Empty;
        }

        return _text[_pos] switch
        {
            '"' => ReadDoubleQuoted(),
            '\'' => ReadSingleQuoted(),
            _ => ReadUnquoted(),
        };
    }

    private string ReadUnquoted()
    {
        int start = _pos;
        while (!AtEnd && _text[_pos] is not (',' or ']'))
        {
            if (_text[_pos] is '"' or '\'' or '[')
            {
                throw Fail($"unexpected character '{_text[_pos]}' in unquoted value (quote the value)");
            }

            _pos++;
        }

        return _text[start.._pos];
    }

    private string ReadDoubleQuoted()
    {
        int open = _pos;
        _pos++;
        var builder = new StringBuilder();
        while (true)
        {
            if (AtEnd)
            {
                throw FailAt(open, "unterminated double-quoted string");
            }

            char c = _text[_pos];
            if (c == '"')
            {
                _pos++;
                return builder.ToString();
            }

            if (c == '\\')
            {
                if (_pos + 1 >= _text.Length || _text[_pos + 1] is not ('"' or '\\'))
                {
                    throw Fail("invalid escape sequence: only \\\" and \\\\ are allowed");
                }

                builder.Append(_text[_pos + 1]);
                _pos += 2;
                continue;
            }

            builder.Append(c);
            _pos++;
        }
    }

    private string ReadSingleQuoted()
    {
        int open = _pos;
        int close = _text.IndexOf('\'', _pos + 1);
        if (close < 0)
        {
            throw FailAt(open, "unterminated single-quoted string");
        }

        _pos = close + 1;
        return _text[(open + 1)..close];
    }

    /// <summary>A list or nested struct: balanced brackets, quotes respected. Kept as raw text.</summary>
    private string ReadBracketed()
    {
        int start = _pos;
        if (AtEnd || _text[_pos] != '[')
        {
            throw Fail("expected '['");
        }

        int depth = 0;
        while (!AtEnd)
        {
            char c = _text[_pos];
            if (c == '"')
            {
                _ = ReadDoubleQuoted();
                continue;
            }

            if (c == '\'')
            {
                _ = ReadSingleQuoted();
                continue;
            }

            _pos++;
            if (c == '[')
            {
                depth++;
            }
            else if (c == ']')
            {
                depth--;
                if (depth == 0)
                {
                    return _text[start.._pos];
                }
            }
        }

        throw FailAt(start, "unterminated '['");
    }

    private static long? ParseNumber(string token)
    {
        ReadOnlySpan<char> span = token;
        bool negative = span.StartsWith("-", StringComparison.Ordinal);
        if (negative)
        {
            span = span[1..];
        }

        int radix = 10;
        if (span.Length > 2 && span[0] == '0' && span[1] is 'x' or 'o' or 'b')
        {
            radix = span[1] switch
            {
                'x' => 16,
                'o' => 8,
                _ => 2,
            };
            span = span[2..];
        }

        if (span.IsEmpty)
        {
            return null;
        }

        long result = 0;
        foreach (char c in span)
        {
            int digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (digit >= radix)
            {
                return null;
            }

            try
            {
                result = checked((result * radix) + digit);
            }
            catch (OverflowException)
            {
                return null;
            }
        }

        return negative ? -result : result;
    }

    private KeyValueSyntaxException Fail(string reason) => FailAt(_pos, reason);

    private static KeyValueSyntaxException FailAt(int position, string reason) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{reason} at position {position}"));
}
