using System.Runtime.ExceptionServices;

namespace Evergreen;

public partial class Tasklet
{
    /// <summary>
    /// Kills the tasklet: <see cref="TaskletExit"/> (or <paramref name="error"/>) is thrown at its
    /// current park, or at its next one if it is not parked now (it is running, ready, or awaiting
    /// a foreign task, whose wait cannot be aborted: <see cref="CancellationToken"/> fires for
    /// those). A tasklet that has not run yet never runs its body. Killing a finished tasklet does
    /// nothing. Not a yield point: <c>await tasklet.JoinAsync()</c> to wait until it is gone.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the tasklet's loop.</exception>
    public void Kill(Exception? error = null)
    {
        _ctx?.Loop.CheckThread("Tasklet.Kill");
        if (IsDone) return;
        error ??= new TaskletExit();
        if ((_flags & TaskletFlags.BodyEntered) == 0)
        {
            // Never ran (not started, or its start is still in the ready queue): it never will.
            _body = null;
            if (_life == Lifecycle.Created) _life = Lifecycle.Started; // so Complete can end it
            Complete(error);
            return;
        }
        FireKillToken();
        if (_park == ParkState.Parked)
        {
            Abort(error);
        }
        else
        {
            Extras.PendingKill = error;
        }
        // Task groups open in it kill their children (after its own park was aborted, so a child
        // ending at once cannot wake it a second time).
        if (_x?.Scope is not null) CancelScope.TellListeners(this, upTo: null);
    }

    /// <summary>Makes <paramref name="supervisor"/> the owner of this (not yet started) tasklet's outcome.</summary>
    internal void SetSupervisor(ITaskletSupervisor supervisor) => Extras.Supervisor = supervisor;

    /// <summary>
    /// Who owns the tasklet's outcome, or null. A supervisor that makes many children (TaskGroup)
    /// overrides this in a subclass holding it in a field, instead of allocating the extras.
    /// </summary>
    internal virtual ITaskletSupervisor? Supervisor => _x?.Supervisor;

    private void FireKillToken()
    {
        if (_x?.KillSource is { } source)
        {
            try { source.Cancel(); }
            catch (Exception e) { _ctx?.Loop.Report(e, null, $"a cancellation callback of {Describe()}"); }
        }
    }

    /// <summary>
    /// Fires when the tasklet is killed or when the innermost <see cref="CancelScope"/> open in it
    /// (or any outer one) expires. Pass it to foreign APIs (<see cref="HttpClient"/>, file I/O) so
    /// that their awaits stop too; Evergreen's own waits need no token.
    /// </summary>
    public CancellationToken CancellationToken
    {
        get
        {
            _ctx?.Loop.CheckThread("Tasklet.CancellationToken");
            if (_x?.Scope is { } scope) return scope.Token;
            return KillToken;
        }
    }

    internal CancellationToken KillToken
    {
        get
        {
            var x = Extras;
            if (x.KillSource is null)
            {
                x.KillSource = new CancellationTokenSource();
                if (_life is Lifecycle.Killed or Lifecycle.Failed || x.PendingKill is not null) x.KillSource.Cancel();
            }
            return x.KillSource.Token;
        }
    }

    /// <summary>
    /// Waits until the tasklet has ended, or <paramref name="timeout"/> passes. Does not throw
    /// the tasklet's exception (read <see cref="Exception"/>, or <c>await</c> the tasklet).
    /// A yield point unless the tasklet has already ended; a cancelled join leaves nothing behind.
    /// </summary>
    /// <returns>True if the tasklet has ended.</returns>
    /// <exception cref="InvalidOperationException">The tasklet was never started, or a tasklet joins itself.</exception>
    public async ValueTask<bool> JoinAsync(TimeSpan? timeout = null)
    {
        if (IsDone) return true;
        if (_life == Lifecycle.Created)
        {
            throw new InvalidOperationException($"{Describe()} was never started: start it before joining it.");
        }
        var me = RequireCurrent("Tasklet.JoinAsync");
        if (ReferenceEquals(me, this)) throw new InvalidOperationException($"{Describe()} cannot join itself: it would wait forever.");
        await Joiners.ParkAsync(timeout);
        return IsDone;
    }

    internal WaitQueue Joiners => Extras.Joiners ??= new WaitQueue(this);

    /// <summary>
    /// Awaits the tasklet: completes when it ends, rethrowing its exception. For <c>await</c>
    /// only: unless the tasklet has ended, getting the awaiter parks the current tasklet.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not in a tasklet, the tasklet awaits itself, or it was never started.</exception>
    public TaskletAwaiter GetAwaiter() => new(this);

    /// <summary>Called when the body's task has completed.</summary>
    internal void Finish(Task body)
    {
        _body = null;
        if (body.IsCompletedSuccessfully)
        {
            try
            {
                CaptureResult(body);
            }
            catch (Exception e)
            {
                Complete(e);
                return;
            }
            Complete(null);
            return;
        }
        Exception error;
        try
        {
            body.GetAwaiter().GetResult();
            error = new InvalidOperationException("the body task reported failure without an exception");
        }
        catch (Exception e)
        {
            error = e;
        }
        Complete(error);
    }

    /// <summary>Ends the tasklet: records the outcome, wakes its joiners, reports an unobserved failure.</summary>
    internal void Complete(Exception? error)
    {
        if (IsDone) return;
        if (error is OperationCanceledException && _x?.PendingKill is { } kill)
        {
            // Killed during a foreign await: the kill token cancelled it, so this is the kill.
            error = kill;
        }
        _life = error is null ? Lifecycle.Completed : error is TaskletExit ? Lifecycle.Killed : Lifecycle.Failed;
        AbortLeftoverPark();
        var loop = _ctx?.Loop;
        var supervisor = Supervisor;
        bool observed = (_flags & TaskletFlags.Observed) != 0 || supervisor is not null;
        if ((error is null ? _x : Extras) is { } x) // a failure is kept even by a tasklet that never needed its extras
        {
            x.Error = error;
            x.PendingKill = null;
            x.Locals = null;
            x.LocalCount = 0;
            for (var scope = x.Scope; scope is not null; scope = scope.Parent) scope.Abandon(ownerEnded: true);
            x.Scope = null;
            if (x.ParkTimer is { IsScheduled: true } node) loop?.RemoveTimer(node);
            if (error is not null && x.KillSource is { IsCancellationRequested: false } source)
            {
                try { source.Cancel(); }
                catch (Exception e) { loop?.Report(e, null, $"a cancellation callback of {Describe()}"); }
            }
            if (x.Joiners is { IsEmpty: false } joiners)
            {
                foreach (var waiter in joiners.List)
                {
                    if ((waiter._flags & TaskletFlags.AwaitingResult) != 0) observed = true;
                }
                joiners.UnparkAll();
            }
        }
        if (loop is not null)
        {
            loop.RemoveLive(this);
            if ((_flags & TaskletFlags.Foreign) != 0) loop.LeaveForeignWait(this);
            if (error is not null && error is not TaskletExit && !observed)
            {
                loop.Report(error, this, Describe());
            }
        }
        if (supervisor is not null)
        {
            try { supervisor.OnChildDone(this, error); }
            catch (Exception e) { loop?.Report(e, null, $"the supervisor of {Describe()}"); }
        }
    }

    /// <summary>Marks the failure as observed by whoever runs this tasklet (EventLoop.Run's main).</summary>
    internal void MarkObserved() => _flags |= TaskletFlags.Observed;

    /// <summary>Throws how the tasklet ended, for awaiters.</summary>
    internal void ThrowIfUnsuccessful()
    {
        switch (_life)
        {
            case Lifecycle.Completed:
                return;
            case Lifecycle.Killed:
                throw new TaskletKilledException(this);
            case Lifecycle.Failed:
                ExceptionDispatchInfo.Throw(_x!.Error!);
                return;
            default:
                throw new InvalidOperationException($"{Describe()} has not ended ({State}).");
        }
    }
}
