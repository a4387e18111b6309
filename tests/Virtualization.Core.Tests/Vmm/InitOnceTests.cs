using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary><see cref="InitOnce{T}"/>: made once, never remembered as failed, never made twice at once.</summary>
public sealed class InitOnceTests
{
    [Fact]
    public void AFailure_IsThrownToItsCaller_AndNotRemembered()
    {
        int calls = 0;
        var failure = new IOException("Too many open files");
        var once = new InitOnce<string>(() => ++calls == 1 ? throw failure : $"made by call {calls}");

        Func<string> first = () => once.Value;

        first.Should().Throw<IOException>().Which.Should().BeSameAs(failure);
        once.IsValueCreated.Should().BeFalse();
        once.Value.Should().Be("made by call 2");
        once.Value.Should().Be("made by call 2");
        calls.Should().Be(2, "the value is made once it was made, never again");
        once.IsValueCreated.Should().BeTrue();
    }

    [Fact(Timeout = 30_000)]
    public async Task ConcurrentCallers_RunTheFactoryOnce_AndAllGetItsValue()
    {
        int calls = 0;
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var once = new InitOnce<object>(() =>
        {
            Interlocked.Increment(ref calls);
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(20));
            return new object();
        });

        Task<object>[] callers = [.. Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(() => once.Value, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
        entered.Wait(TimeSpan.FromSeconds(20)).Should().BeTrue();
        release.Set();
        object[] values = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(20));

        calls.Should().Be(1);
        values.Should().OnlyContain(v => ReferenceEquals(v, values[0]));
    }
}
