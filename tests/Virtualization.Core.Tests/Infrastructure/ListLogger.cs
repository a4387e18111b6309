using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>An <see cref="ILoggerProvider"/> that keeps every message, for assertions.</summary>
internal sealed class ListLogger : ILoggerProvider, ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception), exception));

    public void Dispose()
    {
    }
}
