using System.Globalization;

namespace Virtualization.Cli;

/// <summary>Parses sizes such as <c>4096</c>, <c>64K</c>, <c>10M</c> or <c>2G</c> (binary units: KiB, MiB, GiB).</summary>
internal static class SizeParser
{
    /// <summary>The size in bytes.</summary>
    /// <exception cref="UsageException">Not a positive size, or it overflows.</exception>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string digits = text.Trim();
        int shift = 0;
        if (digits.Length > 0)
        {
            shift = char.ToUpperInvariant(digits[^1]) switch
            {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                _ => 0,
            };
            if (shift != 0)
            {
                digits = digits[..^1];
            }
        }

        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long number))
        {
            throw new UsageException($"'{text}' is not a size: give a number of bytes, optionally followed by K, M or G (KiB, MiB, GiB).");
        }

        if (number == 0)
        {
            throw new UsageException($"'{text}': the size must be positive.");
        }

        if (number > (long.MaxValue >> shift))
        {
            throw new UsageException($"'{text}' is too large.");
        }

        return number << shift;
    }
}
