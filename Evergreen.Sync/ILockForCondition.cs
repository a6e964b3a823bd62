namespace Evergreen.Sync;

/// <summary>
/// A lock an <see cref="AsyncCondition"/> can wait with: <see cref="AsyncLock"/> or
/// <see cref="AsyncRLock"/> (Python's condition protocol: <c>_release_save</c>,
/// <c>_acquire_restore</c>, <c>_is_owned</c>). Its condition-only members are internal, so only
/// Evergreen's locks implement it; the public members are the lock's own.
/// </summary>
public interface ILockForCondition
{
    /// <summary>Acquires the lock; see the lock's own <c>AcquireAsync</c>.</summary>
    ValueTask<bool> AcquireAsync(TimeSpan? timeout = null);

    /// <summary>Acquires the lock if that needs no wait; see the lock's own <c>TryAcquire</c>.</summary>
    bool TryAcquire();

    /// <summary>Releases the lock; see the lock's own <c>Release</c>.</summary>
    void Release();

    /// <summary>Acquires the lock for a <c>using</c> block; see the lock's own <c>LockAsync</c>.</summary>
    ValueTask<AsyncReleaser> LockAsync();

    /// <summary>True when the current tasklet may wait on or notify a condition over this lock.</summary>
    internal bool IsHeldForCondition { get; }

    /// <summary>Releases the lock fully (an RLock whatever its recursion) and returns what restores it.</summary>
    internal int ReleaseForWait();

    /// <summary>
    /// Re-acquires the lock with the state <see cref="ReleaseForWait"/> returned, and does not give
    /// up: a kill or an expired scope that arrives meanwhile is returned (the first one, or
    /// <paramref name="pending"/>), for the caller to throw once the lock is held again.
    /// </summary>
    internal ValueTask<Exception?> RestoreAfterWaitAsync(int saved, Exception? pending);
}
