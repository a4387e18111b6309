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
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Seen)> _waits = [];

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

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string message = formatter(state, exception);
        lock (_waits)
        {
            Entries.Enqueue((logLevel, message, exception, _scope.Value));
            _waits.RemoveAll(w =>
            {
                if (!w.Match(message))
                {
                    return false;
                }

                w.Seen.TrySetResult();
                return true;
            });
        }
    }

    /// <summary>Completes when a message that <paramref name="match"/> accepts has been logged (before or after the call).</summary>
    public Task WaitForAsync(Func<string, bool> match)
    {
        lock (_waits)
        {
            if (Entries.Any(e => match(e.Message)))
            {
                return Task.CompletedTask;
            }

            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Add((match, seen));
            return seen.Task;
        }
    }

    public void Dispose()
    {
    }

    private sealed class Restore(ListLogger owner, string? outer) : IDisposable
    {
        public void Dispose() => owner._scope.Value = outer;
    }
}
