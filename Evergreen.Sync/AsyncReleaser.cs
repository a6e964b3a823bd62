using System.Threading.Tasks.Sources;

namespace Evergreen.Sync;

/// <summary>
/// What <c>LockAsync</c> of every Evergreen lock and semaphore returns: disposing it releases the
/// lock (or the permit) once, so <c>using (await l.LockAsync()) { ... }</c> holds it for the block
/// (Python's <c>with lock:</c>). A value, not an object: taking and disposing it allocates nothing.
/// Dispose each value once, as <c>using</c> does: a second Dispose of the same value is a second
/// Release. <c>default(AsyncReleaser).Dispose()</c> does nothing.
/// </summary>
public readonly struct AsyncReleaser : IDisposable
{
    private readonly IReleasable? _target;

    internal AsyncReleaser(IReleasable target) => _target = target;

    /// <summary>Releases the lock or permit this value was taken for. Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">The release breaks the primitive's rule (see its <c>Release</c>).</exception>
    public void Dispose() => _target?.Release();
}

/// <summary>A lock or semaphore that an <see cref="AsyncReleaser"/> can release.</summary>
internal interface IReleasable
{
    void Release();
}

/// <summary>
/// The <see cref="ValueTask{TResult}"/> source of a <c>LockAsync</c> that must wait, one per lock.
/// It keeps no state per waiter: the waiter is always the tasklet that awaits (it is
/// <see cref="Tasklet.Current"/> both when the await registers and when it resumes), so every call
/// forwards to that tasklet's own park and maps its outcome to a releaser. An async method would
/// allocate on every wake: completing it posts the caller's continuation through the tasklet's
/// SynchronizationContext.
/// </summary>
internal sealed class ReleaserSource(IReleasable target) : IValueTaskSource<AsyncReleaser>
{
    /// <summary>
    /// The releaser-valued form of <paramref name="park"/>, a park the current tasklet has just
    /// begun (await the result at once, as with any park).
    /// </summary>
    internal ValueTask<AsyncReleaser> After(ValueTask<bool> park)
    {
        _ = park; // the park is the current tasklet's: the forwarding below registers and ends it
        var tasklet = Tasklet.Current!;
        return new ValueTask<AsyncReleaser>(this, tasklet._version);
    }

    private static IValueTaskSource<bool> Park() => Tasklet.Current ?? throw new InvalidOperationException(
        "a LockAsync that waits must be awaited by the tasklet that called it");

    public ValueTaskSourceStatus GetStatus(short token) => Park().GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        Park().OnCompleted(continuation, state, token, flags);

    public AsyncReleaser GetResult(short token)
    {
        Park().GetResult(token); // throws the kill or the scope's timeout
        return new AsyncReleaser(target);
    }
}
