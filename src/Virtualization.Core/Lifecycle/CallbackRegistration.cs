namespace Virtualization.Core.Lifecycle;

/// <summary>One registered callback; disposing it unregisters it and stops delivery to it.</summary>
internal sealed class CallbackRegistration : IDisposable
{
    private readonly VmInstance _owner;
    private volatile bool _active = true;

    internal CallbackRegistration(VmInstance owner, IVirtualMachineCallback callback)
    {
        _owner = owner;
        Callback = callback;
    }

    /// <summary>The user's callback.</summary>
    internal IVirtualMachineCallback Callback { get; }

    /// <summary>False once unregistered: queued events are then dropped.</summary>
    internal bool IsActive => _active;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_active)
        {
            _active = false;
            _owner.Unregister(this);
        }
    }
}
