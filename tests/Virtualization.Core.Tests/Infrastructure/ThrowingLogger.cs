using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>A logger that throws <see cref="LoggerBoomException"/> from every method.</summary>
internal sealed class ThrowingLogger : ILogger
{
    private int _calls;

    /// <summary>How many times the library called into this logger.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => Throw<IDisposable?>(nameof(BeginScope));

    public bool IsEnabled(LogLevel logLevel) => Throw<bool>(nameof(IsEnabled));

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Throw<bool>(nameof(Log));

    private T Throw<T>(string method)
    {
        Interlocked.Increment(ref _calls);
        throw new LoggerBoomException($"ILogger.{method} throws (test logger).");
    }
}
