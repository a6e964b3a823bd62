using System.Diagnostics;

namespace Evergreen;

public sealed partial class EventLoop
{
    private bool _timerArmed;
    private long _armedDue;

    /// <summary>Runs <paramref name="callback"/> soon, after the work already ready (FIFO with tasklets).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    public LoopCallback CallSoon(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        CheckThread("EventLoop.CallSoon");
        ThrowIfDisposed();
        var cb = new LoopCallback(this, callback, "CallSoon", timed: false);
        EnqueueCallback(cb);
        return cb;
    }

    /// <summary>Runs <paramref name="callback"/> after <paramref name="delay"/>. Equal due times run in call order.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    public LoopCallback CallLater(TimeSpan delay, Action callback)
    {
        if (delay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(delay), delay, "a delay cannot be negative");
        ArgumentNullException.ThrowIfNull(callback);
        CheckThread("EventLoop.CallLater");
        return ScheduleTimed(callback, NowTicks + SpanToTicks(delay), "CallLater");
    }

    /// <summary>Runs <paramref name="callback"/> at <paramref name="when"/> on the loop's clock (<see cref="Time"/>); a time in the past runs soon.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    public LoopCallback CallAt(TimeSpan when, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        CheckThread("EventLoop.CallAt");
        return ScheduleTimed(callback, SpanToTicks(when), "CallAt");
    }

    private LoopCallback ScheduleTimed(Action callback, long due, string kind)
    {
        ThrowIfDisposed();
        var cb = new LoopCallback(this, callback, kind, timed: true);
        AddTimer(cb.Node!, due);
        return cb;
    }

    internal void AddTimer(TimerNode node, long due)
    {
        if (node.IsScheduled) _timers.Remove(node);
        _timers.Add(node, due);
    }

    internal void RemoveTimer(TimerNode node) => _timers.Remove(node);

    /// <summary>Fires every timer that is due, in (due, insertion) order.</summary>
    private void FireDueTimers()
    {
        long now = NowTicks;
        while (_timers.Count > 0 && _timers.Peek().Due <= now)
        {
            var node = _timers.Pop();
            switch (node.Kind)
            {
                case TimerKind.ParkTimeout:
                    ((Tasklet)node.Target).OnParkTimeout();
                    break;
                case TimerKind.ScopeDeadline:
                    ((CancelScope)node.Target).OnDeadline();
                    break;
                default:
                    EnqueueCallback((LoopCallback)node.Target);
                    break;
            }
        }
    }

    /// <summary>Arms the libuv timer for the earliest entry (before blocking), or stops it.</summary>
    private void ArmTimer()
    {
        if (_timers.Count == 0)
        {
            if (_timerArmed)
            {
                _timer.Stop();
                _timerArmed = false;
            }
            return;
        }
        long due = _timers.Peek().Due;
        if (_timerArmed && due == _armedDue) return;
        long delta = due - NowTicks;
        ulong ms = delta <= 0 ? 0 : (ulong)Math.Ceiling(delta * 1000.0 / Stopwatch.Frequency);
        Native.LibUv.uv_update_time(_loop);
        _timer.Start(ms);
        _timerArmed = true;
        _armedDue = due;
    }

    private void OnTimerFired()
    {
        _timerArmed = false;
        // libuv 1.44 runs due timers at the top of uv_run's iteration, before it polls. When this
        // timer is already due there (a millisecond boundary passed since ArmTimer, often during
        // a GC pause), it fires before the poll, and the poll, seeing no active libuv timer,
        // would block until I/O arrives - forever if none does - with the heap's entry overdue.
        // uv_stop makes that poll return at once (uv_backend_timeout is 0 while the stop flag is
        // set; uv_run clears it on return), and Loop fires the entry and re-arms.
        Native.LibUv.uv_stop(_loop);
    }
}
