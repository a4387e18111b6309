using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// An <see cref="ILoggerProvider"/> that keeps every message, for assertions, with the logger scopes open around it
/// (formatted and joined by " => ", as the console logger prints them; null when none).
/// </summary>
internal sealed class ListLogger : ILoggerProvider, ILogger
{
    private readonly AsyncLocal<string?> _scope = new();

    public ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception, string? Scope)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        string? outer = _scope.Value;
        _scope.Value = outer is null ? state.ToString() : $"{outer} => {state}";
        return new Restore(this, outer);
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception), exception, _scope.Value));

    public void Dispose()
    {
    }

    private sealed class Restore(ListLogger owner, string? outer) : IDisposable
    {
        public void Dispose() => owner._scope.Value = outer;
    }
}
