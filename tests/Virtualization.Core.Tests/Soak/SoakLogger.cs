using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Tests.Soak;

/// <summary>
/// A logger for long runs: counts messages by event instead of keeping them (the soak logs hundreds of thousands), and
/// keeps the first few that no soak should produce. Debug (the VMM's stderr lines) is off.
/// </summary>
internal sealed class SoakLogger : ILoggerProvider, ILogger
{
    /// <summary>Events that mean the library had to give up on something: the soak fails on any of them.</summary>
    private static readonly HashSet<int> s_alarming =
    [
        9,  // Could not delete the temporary folder
        15, // Watching the VMM failed
    ];

    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentQueue<string> _alarms = new();

    public IReadOnlyDictionary<string, int> Counts => _counts;

    public IReadOnlyCollection<string> Alarms => _alarms;

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        _counts.AddOrUpdate($"log {logLevel} {eventId.Id} {eventId.Name}", 1, (_, n) => n + 1);
        if (s_alarming.Contains(eventId.Id) && _alarms.Count < 20)
        {
            _alarms.Enqueue($"{logLevel} {formatter(state, exception)} {exception}");
        }
    }

    public void Dispose()
    {
    }
}
