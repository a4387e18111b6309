using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// Wraps the caller's <see cref="ILoggerFactory"/> so that logging can never break the library: every logger it hands
/// out is a <see cref="SafeLogger"/>, and a <see cref="CreateLogger"/> that throws yields a logger that logs nothing.
/// </summary>
/// <remarks>
/// Logging here is a side channel. It runs inside cleanup, state transitions, the monitor and callbacks; an exception
/// from it there would leave VM folders and CIDs behind, skip <c>OnDied</c>, or surface as an unobserved task exception
/// in a continuation nobody awaits. None of that would help the caller find out that their logger is broken, and there is
/// nowhere else to report it (reporting it would mean logging it). So logging failures are swallowed, by design.
/// </remarks>
internal sealed class SafeLoggerFactory : ILoggerFactory
{
    private readonly ILoggerFactory _inner;

    private SafeLoggerFactory(ILoggerFactory inner) => _inner = inner;

    /// <summary>
    /// The factory the library uses for <paramref name="loggerFactory"/>: <see cref="NullLoggerFactory.Instance"/> when it
    /// is <see langword="null"/> (that one never throws), else a wrapper.
    /// </summary>
    internal static ILoggerFactory Wrap(ILoggerFactory? loggerFactory) => loggerFactory switch
    {
        null => NullLoggerFactory.Instance,
        SafeLoggerFactory or NullLoggerFactory => loggerFactory,
        _ => new SafeLoggerFactory(loggerFactory),
    };

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName)
    {
        try
        {
            return new SafeLogger(_inner.CreateLogger(categoryName));
        }
#pragma warning disable CA1031 // A broken logger factory must not stop the library; see the remarks on the class.
        catch (Exception)
#pragma warning restore CA1031
        {
            return NullLogger.Instance;
        }
    }

    /// <summary>Not used by the library; forwarded, with the same guarantee as everything else here.</summary>
    /// <param name="provider">The provider to add.</param>
    public void AddProvider(ILoggerProvider provider)
    {
        try
        {
            _inner.AddProvider(provider);
        }
#pragma warning disable CA1031 // See the remarks on the class.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Does nothing: the caller owns the factory it passed in and disposes it.</summary>
    public void Dispose()
    {
    }
}
