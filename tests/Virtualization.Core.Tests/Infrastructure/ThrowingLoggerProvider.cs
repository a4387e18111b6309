using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// A provider whose loggers throw from every method (optionally CreateLogger too). Logging's own LoggerFactory lets
/// such exceptions out (as an AggregateException), so the library sees them.
/// </summary>
internal sealed class ThrowingLoggerProvider(bool throwFromCreateLogger = false) : ILoggerProvider
{
    public ThrowingLogger Logger { get; } = new();

    public ILogger CreateLogger(string categoryName) =>
        throwFromCreateLogger ? throw new LoggerBoomException("ILoggerProvider.CreateLogger throws (test provider).") : Logger;

    public void Dispose()
    {
    }
}
