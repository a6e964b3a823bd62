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
    private readonly Tasklet? _waiter;

    internal TaskletAwaiter(Tasklet target)
    {
        _target = target;
        _waiter = BeginPark(target);
    }

    /// <summary>True when the awaited tasklet had already ended.</summary>
    public bool IsCompleted => _waiter is null;

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _waiter!.RegisterAction(continuation);

    /// <summary>Returns when the tasklet completed; throws its exception otherwise.</summary>
    public void GetResult()
    {
        _waiter?.EndPark();
        _target.ThrowIfUnsuccessful();
    }

    /// <summary>
    /// Parks the current tasklet in <paramref name="target"/>'s joiners, unless it has ended.
    /// Every check happens here, before the await: an exception thrown from OnCompleted would be
    /// rethrown by the runtime on the thread pool and take the process down.
    /// </summary>
    internal static Tasklet? BeginPark(Tasklet target)
    {
        if (target.IsDone) return null;
        var me = Tasklet.RequireCurrent("await tasklet");
        if (ReferenceEquals(me, target)) throw new InvalidOperationException($"{target.Describe()} cannot await itself: it would wait forever.");
        if (target._life == Tasklet.Lifecycle.Created)
        {
            throw new InvalidOperationException($"{target.Describe()} was never started: start it before awaiting it.");
        }
        var joiners = target.Joiners;
        me.BeginPark(joiners, -1, yielding: false);
        joiners.List.AddLast(me);
        me._flags |= Tasklet.TaskletFlags.AwaitingResult;
        return me;
    }
}

/// <summary>Awaits a <see cref="Tasklet{T}"/> for its value.</summary>
public readonly struct TaskletAwaiter<T> : ICriticalNotifyCompletion
{
    private readonly Tasklet<T> _target;
    private readonly Tasklet? _waiter;

    internal TaskletAwaiter(Tasklet<T> target)
    {
        _target = target;
        _waiter = TaskletAwaiter.BeginPark(target);
    }

    /// <summary>True when the awaited tasklet had already ended.</summary>
    public bool IsCompleted => _waiter is null;

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _waiter!.RegisterAction(continuation);

    /// <summary>Returns the tasklet's value; throws its exception if it did not complete.</summary>
    public T GetResult()
    {
        _waiter?.EndPark();
        _target.ThrowIfUnsuccessful();
        return _target.ResultUnchecked;
    }
}
