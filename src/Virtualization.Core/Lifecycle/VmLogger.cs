using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// The logger of one VM: every message is written inside a <see cref="VmLogScope"/> carrying the VM's CID, so that
/// messages need no CID parameter and work the same from any thread (the scope is opened around each message rather
/// than held across awaits). Wraps a <see cref="SafeLogger"/>, so it never throws.
/// </summary>
internal sealed class VmLogger(ILogger inner, int cid) : ILogger
{
    private readonly VmLogScope _scope = new(cid);

    /// <inheritdoc/>
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    /// <inheritdoc/>
    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    /// <inheritdoc/>
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }

        using (inner.BeginScope(_scope))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
