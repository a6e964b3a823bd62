// Internal hooks for structured concurrency, used by TaskGroup (Evergreen.Sync) and, later, by
// supervisors. A group is two things to the core: a cancel scope in its parent tasklet (so that
// a failing child can cancel the parent's body, level-triggered like a deadline) that listens
// for cancellation reaching it from outside (a kill of the parent, an enclosing deadline or
// group), and the supervisor of its children (told when each ends, and owning their failures,
// which are then not reported as unhandled).
//
// Must never: throw out of a hook (the core reports what escapes, but a hook runs in the middle
// of a kill or a tasklet's end), or park. Everything here runs on the loop thread.

namespace Evergreen;

/// <summary>Told when cancellation reaches a listening <see cref="CancelScope"/>.</summary>
internal interface IScopeListener
{
    /// <summary>
    /// The scope was cancelled, or an enclosing one expired, or its tasklet was killed. Called at
    /// most once per scope, after the tasklet's own park (if any) was aborted.
    /// </summary>
    void OnScopeCanceled();

    /// <summary>The tasklet ended with the scope still open: it was never disposed.</summary>
    void OnScopeAbandoned();
}

/// <summary>Owns the outcome of the tasklets it supervises.</summary>
internal interface ITaskletSupervisor
{
    /// <summary>
    /// A supervised tasklet ended: <paramref name="error"/> is null on success, a
    /// <see cref="TaskletExit"/> if it was killed, its exception if it failed. Its failure is not
    /// reported as unhandled: the supervisor owns it.
    /// </summary>
    void OnChildDone(Tasklet child, Exception? error);
}
