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
