using System.Globalization;

namespace FakeCrosvm;

/// <summary>
/// Writes log lines to stderr in today's crosvm format:
/// <c>[&lt;UTC RFC3339 timestamp with ns&gt; &lt;LEVEL&gt; crosvm] message</c>.
/// </summary>
internal static class Log
{
    private static int s_threshold = 3; // 1 error, 2 warn, 3 info, 4 debug, 5 trace; 0 = off

    /// <summary>Applies a <c>--log-level</c> filter. Only the plain level names change anything.</summary>
    public static void Configure(string? filter)
    {
        s_threshold = filter switch
        {
            "off" => 0,
            "error" => 1,
            "warn" => 2,
            "info" => 3,
            "debug" => 4,
            "trace" => 5,
            _ => 3,
        };
    }

    public static void Info(string message) => Write(3, "INFO", message);

    public static void Warn(string message) => Write(2, "WARN", message);

    /// <summary>Errors are always written, whatever the filter, so failures are never silent.</summary>
    public static void Error(string message) => Write(0, "ERROR", message);

    private static void Write(int level, string name, string message)
    {
        if (level > s_threshold)
        {
            return;
        }

        string stamp = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture);
        Console.Error.WriteLine($"[{stamp}00Z {name} crosvm] {message}");
    }
}
