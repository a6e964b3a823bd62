// The internal side of waiting on futures: how a tasklet parks in a future's WaitQueue and how
// the park's outcome becomes the future's (FutureWaiter, Executor.MapAsync), and the hook list
// that Futures.WaitAsync and AsCompleted use to hear about many futures at once. See Future.cs.

using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Evergreen;

public abstract partial class Future
{
    /// <summary>
    /// Parks the current tasklet in the future's waiters (the future must not be done); the
    /// caller returns a ValueTask over the tasklet's park and ends it with <see cref="EndWait"/>.
    /// </summary>
    internal Tasklet BeginWait(string member, long timeoutTicks)
    {
        Debug.Assert(_state < State.Succeeded);
        var t = Tasklet.RequireCurrent(member);
        var waiters = _waiters ??= new WaitQueue(this);
        t.BeginPark(waiters, timeoutTicks, yielding: false);
        waiters.List.AddLast(t);
        return t;
    }

    /// <summary>
    /// Ends a park begun by <see cref="BeginWait"/>: throws its abort (kill, scope); false when its
    /// timeout passed; true when the future is done.
    /// </summary>
    internal bool EndWait(Tasklet t, short token)
    {
        bool woken = ((IValueTaskSource<bool>)t).GetResult(token);
        if (!woken) return false;
        if (_state < State.Succeeded)
        {
            _waiters!.List.Remove(t);
            throw new InvalidOperationException(
                $"{t.Describe()} was woken from its wait on {this} by something other than the future (Tasklet.Unpark?): " +
                "only the future may wake its waiters.");
        }
        return true;
    }

    /// <summary>How many tasklets wait in ResultAsync (tests, dumps).</summary>
    internal int WaiterCount => _waiters?.Count ?? 0;

    /// <summary>How many internal hooks are attached (tests: a wait leaves none behind).</summary>
    internal int HookCount
    {
        get
        {
            int n = 0;
            for (var h = _hooks; h is not null; h = h.Next) n++;
            return n;
        }
    }

    internal TimeoutException TimeoutError(TimeSpan? timeout) =>
        new($"{this} was not done within {Describe(timeout)}");

    internal void AddHook(FutureHook hook)
    {
        Debug.Assert(_state < State.Succeeded && hook.Future is null);
        hook.Future = this;
        hook.Prev = null;
        hook.Next = _hooks;
        if (_hooks is not null) _hooks.Prev = hook;
        _hooks = hook;
    }

    internal void RemoveHook(FutureHook hook)
    {
        if (!ReferenceEquals(hook.Future, this)) return;
        if (hook.Prev is null) _hooks = hook.Next; else hook.Prev.Next = hook.Next;
        if (hook.Next is not null) hook.Next.Prev = hook.Prev;
        hook.Future = null;
        hook.Prev = hook.Next = null;
    }
}

/// <summary>
/// An internal listener on one future (Futures.WaitAsync, AsCompleted): a node of the future's
/// intrusive hook list, told synchronously when the future is done. O(1) to add and remove.
/// </summary>
internal abstract class FutureHook
{
    internal Future? Future;      // set while hooked
    internal FutureHook? Prev, Next;

    /// <summary>Called on the loop thread by the call that completes the future; must not throw or run user code.</summary>
    internal abstract void OnDone(Future future);
}
