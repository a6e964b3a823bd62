using System.Diagnostics;

namespace Evergreen;

/// <summary>
/// A callback scheduled on the loop by <see cref="EventLoop.CallSoon"/>,
/// <see cref="EventLoop.CallLater"/>, <see cref="EventLoop.CallAt"/> or
/// <see cref="EventLoop.AddSignalHandler"/>; <see cref="Cancel"/> unschedules it.
/// </summary>
[DebuggerDisplay("{Describe(),nq}{IsCanceled ? \" (cancelled)\" : \"\",nq}")]
public sealed class LoopCallback
{
    private readonly EventLoop _loop;
    private readonly Action _action;
    private readonly string _kind;
    internal readonly TimerNode? Node;

    internal LoopCallback(EventLoop loop, Action action, string kind, bool timed, int signum = 0)
    {
        _loop = loop;
        _action = action;
        _kind = kind;
        Signum = signum;
        if (timed) Node = new TimerNode(this, TimerKind.Callback);
    }

    /// <summary>True once <see cref="Cancel"/> was called.</summary>
    public bool IsCanceled { get; private set; }

    /// <summary>When a timed callback is due, on the loop's clock (<see cref="EventLoop.Time"/>); null for others.</summary>
    public TimeSpan? When => Node is null ? null : EventLoop.TicksToSpan(Node.Due);

    /// <summary>The signal number of a signal handler; 0 for others.</summary>
    public int Signum { get; }

    /// <summary>
    /// Unschedules the callback: it will not run (again). Cancelling a signal handler removes only
    /// that handler. Cancelling twice, or after it ran, does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the loop's.</exception>
    public void Cancel()
    {
        _loop.CheckThread("LoopCallback.Cancel");
        if (IsCanceled) return;
        IsCanceled = true;
        if (Node is not null) _loop.RemoveTimer(Node);
        if (Signum != 0) _loop.RemoveSignalCallback(this);
    }

    internal void Invoke()
    {
        if (!IsCanceled) _action();
    }

    internal string Describe() => Signum != 0 ? $"a signal {Signum} handler" : $"a {_kind} callback";
}
