using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// An <see cref="ILogger"/> whose <see cref="Log"/>, <see cref="IsEnabled"/> and <see cref="BeginScope"/> (and the
/// scope's <see cref="IDisposable.Dispose"/>) never throw: exceptions from the wrapped logger are swallowed, because the
/// library must go on (see <see cref="SafeLoggerFactory"/>). Made only by <see cref="SafeLoggerFactory"/>.
/// </summary>
internal sealed class SafeLogger : ILogger
{
    private readonly ILogger _inner;

    internal SafeLogger(ILogger inner) => _inner = inner;

    /// <inheritdoc/>
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            _inner.Log(logLevel, eventId, state, exception, formatter);
        }
#pragma warning disable CA1031 // A broken logger must not stop the library; see SafeLoggerFactory.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Whether the wrapped logger takes <paramref name="logLevel"/>; <see langword="false"/> if asking it throws.</summary>
    /// <param name="logLevel">The level.</param>
    /// <returns>The wrapped logger's answer, or <see langword="false"/>.</returns>
    public bool IsEnabled(LogLevel logLevel)
    {
        try
        {
            return _inner.IsEnabled(logLevel);
        }
#pragma warning disable CA1031 // See SafeLoggerFactory.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    /// <summary>The wrapped logger's scope, made safe to dispose; <see langword="null"/> if beginning it throws.</summary>
    /// <typeparam name="TState">The scope's state type.</typeparam>
    /// <param name="state">The scope's state.</param>
    /// <returns>The scope, or <see langword="null"/>.</returns>
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        try
        {
            return _inner.BeginScope(state) is { } scope ? new SafeScope(scope) : null;
        }
#pragma warning disable CA1031 // See SafeLoggerFactory.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    /// <summary>A scope whose disposal never throws.</summary>
    private sealed class SafeScope(IDisposable inner) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                inner.Dispose();
            }
#pragma warning disable CA1031 // See SafeLoggerFactory.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
