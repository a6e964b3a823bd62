namespace Evergreen.Sync;

/// <summary>
/// Binds a primitive to the loop of the first thread that uses it, and refuses every later use
/// from another thread with an <see cref="InvalidOperationException"/> stating the rule. A field
/// of each primitive (a mutable struct: never copy it, never make it readonly).
/// </summary>
internal struct LoopAffinity
{
    private EventLoop? _loop;

    /// <summary>The primitive's loop; binds it on first use.</summary>
    /// <exception cref="InvalidOperationException">No loop on this thread, or another loop's thread.</exception>
    public EventLoop Check(string member)
    {
        var loop = _loop ??= EventLoop.Current;
        loop.VerifyAccess(member);
        return loop;
    }

    /// <summary>The loop, if bound.</summary>
    public readonly EventLoop? Loop => _loop;
}
