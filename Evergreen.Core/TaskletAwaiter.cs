using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>
/// Awaits a <see cref="Tasklet"/>: parks the current tasklet until it ends, then returns or
/// rethrows its exception (<see cref="TaskletKilledException"/> if it was killed). A tasklet
/// awaited when it fails does not count as unhandled.
/// </summary>
public readonly struct TaskletAwaiter : ICriticalNotifyCompletion
{
    private readonly Tasklet _target;

    internal TaskletAwaiter(Tasklet target) => _target = target;

    /// <summary>True when the awaited tasklet has ended.</summary>
    public bool IsCompleted => _target.IsDone;

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => Park(_target, continuation);

    /// <summary>Returns when the tasklet completed; throws its exception otherwise.</summary>
    public void GetResult()
    {
        EndPark();
        _target.ThrowIfUnsuccessful();
    }

    internal static void Park(Tasklet target, Action continuation)
    {
        var me = Tasklet.CurrentForPark("await tasklet");
        if (ReferenceEquals(me, target)) throw new InvalidOperationException($"{target.Describe()} cannot await itself: it would wait forever.");
        if (target._life == Tasklet.Lifecycle.Created)
        {
            throw new InvalidOperationException($"{target.Describe()} was never started: start it before awaiting it.");
        }
        me.BeginPark(target.Joiners, -1, yielding: false);
        target.Joiners.Append(me);
        me._flags |= Tasklet.TaskletFlags.AwaitingResult;
        me.RegisterAction(continuation);
    }

    /// <summary>Ends the awaiting tasklet's park, if it parked (it did not when the target had already ended).</summary>
    internal static void EndPark()
    {
        if (Tasklet.Current is { _park: Tasklet.ParkState.Woken } me) me.EndPark();
    }
}

/// <summary>Awaits a <see cref="Tasklet{T}"/> for its value.</summary>
public readonly struct TaskletAwaiter<T> : ICriticalNotifyCompletion
{
    private readonly Tasklet<T> _target;

    internal TaskletAwaiter(Tasklet<T> target) => _target = target;

    /// <summary>True when the awaited tasklet has ended.</summary>
    public bool IsCompleted => _target.IsDone;

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => TaskletAwaiter.Park(_target, continuation);

    /// <summary>Returns the tasklet's value; throws its exception if it did not complete.</summary>
    public T GetResult()
    {
        TaskletAwaiter.EndPark();
        _target.ThrowIfUnsuccessful();
        return _target.ResultUnchecked;
    }
}
