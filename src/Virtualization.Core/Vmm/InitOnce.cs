namespace Virtualization.Core.Vmm;

/// <summary>
/// A process-wide value made on first use, and only remembered once it was made. Unlike <see cref="Lazy{T}"/>, which
/// keeps its factory's exception for good, a failure here is thrown to the caller that met it and the next caller
/// tries again: a first start that meets a passing EMFILE (no descriptor for the watcher's epoll set or the I/O
/// listener's socket) must not refuse every later start of the process. The factory never runs twice at once.
/// </summary>
internal sealed class InitOnce<T>(Func<T> factory)
{
    private readonly Lock _lock = new();
    private T? _value;
    private volatile bool _made;

    /// <summary>The value, made now if no earlier call made it.</summary>
    /// <exception cref="Exception">Whatever the factory threw; nothing is remembered, and the next call tries again.</exception>
    internal T Value
    {
        get
        {
            // Stryker disable once Block : without the fast path every call takes the lock and finds the value made; the result is the same.
            if (_made)
            {
                return _value!;
            }

            lock (_lock)
            {
                if (!_made)
                {
                    _value = factory();
                    _made = true;
                }

                return _value!;
            }
        }
    }

    /// <summary>Whether the value has been made.</summary>
    internal bool IsValueCreated => _made;
}
