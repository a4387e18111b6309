using System.Collections;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Lifecycle;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// The logger of one VM (<see cref="VmLogger"/>) and its scope (<see cref="VmLogScope"/>): structured sinks read the
/// scope as a list of properties holding exactly <c>Cid</c>; console sinks print its text.
/// </summary>
public sealed class VmLoggerTests
{
    [Fact]
    public void Scope_IsOnePropertyNamedCid()
    {
        var scope = new VmLogScope(12);

        scope.Count.Should().Be(1);
        scope.Cid.Should().Be(12);
        scope[0].Should().Be(new KeyValuePair<string, object?>("Cid", 12));
        scope.ToString().Should().Be("CID 12");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void Scope_IndexOtherThanZero_Throws(int index)
    {
        var scope = new VmLogScope(12);

        Func<KeyValuePair<string, object?>> read = () => scope[index];

        read.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("index");
    }

    [Fact]
    public void Scope_Enumerates_ExactlyTheCid()
    {
        var scope = new VmLogScope(7);

        scope.Select(p => (p.Key, p.Value)).Should().Equal(("Cid", (object?)7));
        var untyped = new List<object>();
        foreach (object item in (IEnumerable)scope)
        {
            untyped.Add(item);
        }

        untyped.Should().Equal(new KeyValuePair<string, object?>("Cid", 7));
    }

    [Fact]
    public void Log_Enabled_WritesInsideTheScope()
    {
        var inner = new LevelLogger(LogLevel.Information);
        var logger = new VmLogger(inner, 5);

        logger.LogInformation("hello");

        inner.Calls.Should().Equal("scope:CID 5", "log:Information:hello", "end-scope");
    }

    [Fact]
    public void Log_LevelDisabled_NeitherOpensTheScopeNorLogs()
    {
        var inner = new LevelLogger(LogLevel.Information);
        var logger = new VmLogger(inner, 5);

        logger.LogDebug("quiet");

        logger.IsEnabled(LogLevel.Debug).Should().BeFalse();
        inner.Calls.Should().BeEmpty("a disabled level costs nothing, not even a scope");
    }

    [Fact]
    public void IsEnabledAndBeginScope_AreTheWrappedLoggers()
    {
        var inner = new LevelLogger(LogLevel.Information);
        var logger = new VmLogger(inner, 5);

        logger.IsEnabled(LogLevel.Information).Should().BeTrue();
        using (logger.BeginScope("outer"))
        {
        }

        inner.Calls.Should().Equal("scope:outer", "end-scope");
    }

    /// <summary>A logger that records every call, even for levels it says are disabled.</summary>
    private sealed class LevelLogger(LogLevel minimum) : ILogger
    {
        public List<string> Calls { get; } = [];

        public IDisposable BeginScope<TState>(TState state)
            where TState : notnull
        {
            Calls.Add($"scope:{state}");
            return new EndScope(Calls);
        }

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Calls.Add($"log:{logLevel}:{formatter(state, exception)}");

        private sealed class EndScope(List<string> calls) : IDisposable
        {
            public void Dispose() => calls.Add("end-scope");
        }
    }
}
