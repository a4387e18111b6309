using Microsoft.Extensions.Logging;

namespace Virtualization.Cli;

/// <summary>
/// One line per log entry on the tool's stderr: <c>vm: info: VirtualMachine: CID 10: Launching VMM: ...</c> (the
/// innermost scope, which the library uses for the VM's CID, comes before the message). What <c>--verbose</c>
/// turns the library's logs into (the VMM's own stderr lines are among them, at <see cref="LogLevel.Debug"/>).
/// </summary>
internal sealed class StderrLogger : ILogger
{
    // The innermost scope of this logical flow (the library opens the VM's CID scope around each message).
    private static readonly AsyncLocal<object?> s_scope = new();
    private readonly TextWriter _err;
    private readonly string _category;

    /// <summary>Creates the logger.</summary>
    /// <param name="stderr">Where lines go (must be thread-safe).</param>
    /// <param name="category">The logger's category; only its last dotted part is printed.</param>
    public StderrLogger(TextWriter stderr, string category)
    {
        _err = stderr;
        _category = category[(category.LastIndexOf('.') + 1)..];
    }

    /// <inheritdoc/>
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        object? outer = s_scope.Value;
        s_scope.Value = state;
        return new ScopeExit(outer);
    }

    /// <inheritdoc/>
    public bool IsEnabled(LogLevel logLevel) => logLevel is >= LogLevel.Debug and < LogLevel.None;

    /// <inheritdoc/>
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        string level = logLevel switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warning",
            LogLevel.Error => "error",
            _ => "critical",
        };
        string scope = s_scope.Value is { } current ? $"{current}: " : string.Empty;
        string line = $"vm: {level}: {_category}: {scope}{formatter(state, exception)}";
        _err.WriteLine(exception is null ? line : $"{line} ({exception.GetType().Name}: {exception.Message})");
    }

    private sealed class ScopeExit(object? outer) : IDisposable
    {
        public void Dispose() => s_scope.Value = outer;
    }
}
