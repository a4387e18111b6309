using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// A logger that records every call made to it (with the event id, which <c>ListLogger</c> drops), takes the levels
/// from <paramref name="minimum"/> up, and hands out the scopes it is told to (or none).
/// </summary>
internal sealed class RecordingLogger(LogLevel minimum = LogLevel.Trace) : ILogger
{
    public ConcurrentQueue<(LogLevel Level, EventId Event, string Message, Exception? Exception)> Entries { get; } = new();

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>What <see cref="BeginScope"/> returns.</summary>
    public IDisposable? Scope { get; init; }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        Calls.Enqueue($"BeginScope({state})");
        return Scope;
    }

    public bool IsEnabled(LogLevel logLevel)
    {
        Calls.Enqueue($"IsEnabled({logLevel})");
        return logLevel >= minimum;
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        Calls.Enqueue($"Log({logLevel})");
        Entries.Enqueue((logLevel, eventId, formatter(state, exception), exception));
    }
}
