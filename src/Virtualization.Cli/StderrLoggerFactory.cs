using Microsoft.Extensions.Logging;

namespace Virtualization.Cli;

/// <summary>Hands out <see cref="StderrLogger"/>s: the library's logs on the tool's stderr (<c>vm run --verbose</c>).</summary>
internal sealed class StderrLoggerFactory : ILoggerFactory
{
    private readonly TextWriter _err;

    /// <summary>Creates the factory.</summary>
    /// <param name="stderr">Where every logger writes (must be thread-safe).</param>
    public StderrLoggerFactory(TextWriter stderr) => _err = stderr;

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new StderrLogger(_err, categoryName);

    /// <summary>Not supported: this factory has one destination.</summary>
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("The vm tool logs to stderr only.");

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
