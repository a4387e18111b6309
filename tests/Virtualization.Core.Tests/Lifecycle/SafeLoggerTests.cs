using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// <see cref="SafeLogger"/> and <see cref="SafeLoggerFactory"/> alone: everything is forwarded as given, every exception
/// of the wrapped logger or factory is swallowed, and the answers when it throws are exact (false, null, a null logger).
/// The service-level cases are in <see cref="ThrowingLoggerTests"/>.
/// </summary>
public sealed class SafeLoggerTests
{
    [Fact]
    public void IsEnabled_IsTheWrappedLoggersAnswer()
    {
        var logger = new SafeLogger(new RecordingLogger(LogLevel.Warning));

        logger.IsEnabled(LogLevel.Warning).Should().BeTrue();
        logger.IsEnabled(LogLevel.Information).Should().BeFalse();
    }

    [Fact]
    public void Log_IsForwardedWithEveryArgument()
    {
        var inner = new RecordingLogger();
        var logger = new SafeLogger(inner);
        var error = new InvalidOperationException("x");

        logger.Log(LogLevel.Critical, new EventId(42, "Named"), "state", error, (s, e) => $"{s}/{e!.Message}");

        inner.Entries.Should().ContainSingle().Which.Should().Be((LogLevel.Critical, new EventId(42, "Named"), "state/x", (Exception?)error));
    }

    [Fact]
    public void BeginScope_WrappedLoggerHasNoScope_IsNull()
    {
        new SafeLogger(new RecordingLogger()).BeginScope("s").Should().BeNull();
    }

    [Fact]
    public void BeginScope_WrappedScope_IsDisposedOnceThroughTheWrapper()
    {
        var scope = new CountingScope();
        var inner = new RecordingLogger { Scope = scope };

        IDisposable? wrapper = new SafeLogger(inner).BeginScope("s");

        wrapper.Should().NotBeNull().And.NotBeSameAs(scope);
        inner.Calls.Should().Equal("BeginScope(s)");
        scope.Disposals.Should().Be(0);
        wrapper!.Dispose();
        scope.Disposals.Should().Be(1);
    }

    [Fact]
    public void BeginScope_WrappedScopeThrowsOnDispose_IsSwallowed()
    {
        IDisposable? wrapper = new SafeLogger(new RecordingLogger { Scope = new ThrowingScope() }).BeginScope("s");

        wrapper.Should().NotBeNull().And.NotBeOfType<ThrowingScope>("the scope is handed out wrapped, so that its Dispose cannot throw");
        wrapper!.Invoking(w => w.Dispose()).Should().NotThrow();
    }

    [Fact]
    public void EveryMethod_OfALoggerThatThrows_IsSwallowed_WithFalseAndNullAnswers()
    {
        var inner = new ThrowingLogger();
        var logger = new SafeLogger(inner);

        logger.IsEnabled(LogLevel.Critical).Should().BeFalse();
        logger.BeginScope("s").Should().BeNull();
        logger.Invoking(l => l.Log(LogLevel.Critical, default, "s", null, (s, _) => s)).Should().NotThrow();
        inner.Calls.Should().Be(3, "each call reached the wrapped logger");
    }

    [Fact]
    public void Factory_CreateLogger_WrapsTheInnerFactorysLoggerOfThatCategory()
    {
        var provider = new CategoryProvider();
        using var inner = LoggerFactory.Create(b => b.AddProvider(provider));

        ILogger logger = SafeLoggerFactory.Wrap(inner).CreateLogger("Virtualization.Core.Test");

        logger.Should().BeOfType<SafeLogger>();
        provider.Categories.Should().Equal("Virtualization.Core.Test");
    }

    [Fact]
    public void Factory_CreateLoggerThrows_GivesTheNullLogger()
    {
        using var inner = LoggerFactory.Create(b => b.AddProvider(new ThrowingLoggerProvider(throwFromCreateLogger: true)));

        SafeLoggerFactory.Wrap(inner).CreateLogger("x").Should().BeSameAs(NullLogger.Instance);
    }

    [Fact]
    public void Factory_Wrap_WrapsOnlyWhatIsNotSafeAlready()
    {
        SafeLoggerFactory.Wrap(NullLoggerFactory.Instance).Should().BeSameAs(NullLoggerFactory.Instance);
        using var inner = new LoggerFactory();
        SafeLoggerFactory.Wrap(inner).Should().BeOfType<SafeLoggerFactory>();
    }

    [Fact]
    public void Factory_Dispose_LeavesTheCallersFactoryAlone()
    {
        var provider = new CategoryProvider();
        using var inner = LoggerFactory.Create(b => b.AddProvider(provider));

        SafeLoggerFactory.Wrap(inner).Dispose();

        provider.Disposed.Should().BeFalse("the caller owns the factory it passed in");
    }

    private sealed class CountingScope : IDisposable
    {
        public int Disposals { get; private set; }

        public void Dispose() => Disposals++;
    }

    private sealed class ThrowingScope : IDisposable
    {
        public void Dispose() => throw new LoggerBoomException("scope dispose throws (test)");
    }

    private sealed class CategoryProvider : ILoggerProvider
    {
        public List<string> Categories { get; } = [];

        public bool Disposed { get; private set; }

        public ILogger CreateLogger(string categoryName)
        {
            Categories.Add(categoryName);
            return NullLogger.Instance;
        }

        public void Dispose() => Disposed = true;
    }
}
