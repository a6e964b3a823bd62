// Cancel scopes (trio's), the one way deadlines reach parks.
//
// A scope belongs to the tasklet that opened it and sits on that tasklet's stack of scopes
// (innermost first, linked through Parent). Its deadline is a node in the loop's timer heap.
// When the deadline passes the scope is expired for good (level-triggered): the tasklet's
// current park is aborted, and so is every later park inside the scope, until the scope is
// disposed. The exception a park gets is that of the *outermost* expired scope, so the scope
// whose deadline covers the most is the one that fires, and MoveOnAfterAsync catches only the
// exception of its own scope: code outside an unexpired scope never sees another scope's timeout.
//
// A TaskGroup opens an internal scope with no deadline and a listener (ScopeHooks.cs). The group
// cancels it when a child fails (its parks then throw TaskletExit, not a timeout), and is told
// when cancellation reaches it from outside: an enclosing scope expiring or the tasklet being
// killed. Listeners run after the tasklet's own park was aborted and never while it is parked in
// the middle of registering, so a listener may end other tasklets without waking this one twice.

using System.Diagnostics;

using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>
/// A deadline over a block of code in the current tasklet: every park inside it is aborted once
/// the deadline passes (Evergreen's <c>Timeout</c>, trio's cancel scope). Scopes nest.
/// <code>
/// using (CancelScope.FailAfter(TimeSpan.FromSeconds(5))) { await stream.ReadLineAsync(); }
/// bool done = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), () => WorkAsync());
/// </code>
/// </summary>
[DebuggerDisplay("CancelScope {Origin,nq}, deadline {Deadline}{IsExpired ? \" (expired)\" : \"\",nq}")]
public sealed class CancelScope : IDisposable
{
    private readonly Tasklet _owner;
    private readonly EventLoop _loop;
    private readonly TimerNode? _node;       // null with no deadline (a group's scope, an infinite timeout)
    private readonly TimeSpan? _timeout;
    private readonly IScopeListener? _listener;
    private string? _cancelMessage;           // set when a group cancels its scope
    private CancellationTokenSource? _source;
    private bool _closed;
    private bool _listenerTold;

    /// <summary>The due time of a scope with no deadline (a timeout of <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>).</summary>
    private const long NoDeadline = long.MaxValue;

    private CancelScope(Tasklet owner, long due, TimeSpan? timeout, string origin)
    {
        _owner = owner;
        _loop = owner.Loop!;
        _timeout = timeout;
        Origin = origin;
        var x = owner.Extras;
        Parent = x.Scope;
        x.Scope = this;
        if (due == NoDeadline)
        {
            Deadline = TimeSpan.MaxValue;
            return;
        }
        _node = new TimerNode(this, TimerKind.ScopeDeadline);
        if (due <= _loop.NowTicks) IsExpired = true;
        else _loop.AddTimer(_node, due);
        Deadline = EventLoop.TicksToSpan(due);
    }

    /// <summary>The due time of a scope of <paramref name="timeout"/> opened now: <see cref="NoDeadline"/> for an infinite one.</summary>
    private static long DueAfter(Tasklet owner, TimeSpan timeout) =>
        timeout == System.Threading.Timeout.InfiniteTimeSpan ? NoDeadline : owner.Loop!.NowTicks + EventLoop.SpanToTicks(timeout);

    private CancelScope(Tasklet owner, IScopeListener listener, string origin)
    {
        _owner = owner;
        _loop = owner.Loop!;
        _listener = listener;
        Origin = origin;
        var x = owner.Extras;
        Parent = x.Scope;
        x.Scope = this;
        Deadline = TimeSpan.MaxValue;
    }

    /// <summary>
    /// Opens a scope with no deadline in <paramref name="owner"/> (the current tasklet) for a
    /// structured-concurrency owner such as a TaskGroup: <see cref="Cancel"/> cancels it, and
    /// <paramref name="listener"/> hears of cancellation arriving from outside.
    /// </summary>
    internal static CancelScope OpenListening(Tasklet owner, IScopeListener listener, string origin) =>
        new(owner, listener, origin);

    /// <summary>
    /// Cancels the scope for good: the tasklet's current park (unless shielded) and every later
    /// park inside the scope throw <see cref="TaskletExit"/> with <paramref name="message"/>.
    /// </summary>
    internal void Cancel(string message)
    {
        if (_closed || IsExpired) return;
        _cancelMessage = message;
        Expire();
        if (_owner.IsParked && !_owner.IsShielded && ExpiredException() is { } error) _owner.Abort(error);
        TellListeners(_owner, upTo: this);
    }

    /// <summary>
    /// Opens a scope in the current tasklet whose parks throw <see cref="TimeoutException"/> once
    /// <paramref name="timeout"/> has passed; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// is no limit, as for every wait. Dispose it (with <c>using</c>) to close it. Not a yield point.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static CancelScope FailAfter(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "a timeout cannot be negative (Timeout.InfiniteTimeSpan means no limit)");
        }
        var t = Tasklet.RequireCurrent("CancelScope.FailAfter");
        return new CancelScope(t, DueAfter(t, timeout), timeout, "FailAfter");
    }

    /// <summary>Like <see cref="FailAfter"/>, with a deadline on the loop's clock (<see cref="EventLoop.Time"/>).</summary>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static CancelScope FailAt(TimeSpan deadline)
    {
        var t = Tasklet.RequireCurrent("CancelScope.FailAt");
        return new CancelScope(t, EventLoop.SpanToTicks(deadline), null, "FailAt");
    }

    /// <summary>
    /// Runs <paramref name="body"/> in the current tasklet under a scope of <paramref name="timeout"/>;
    /// if the deadline aborts it, returns false instead of throwing (move-on-after). Exceptions of
    /// other scopes, and every other exception, propagate.
    /// </summary>
    /// <returns>True if <paramref name="body"/> completed, false if it was cut short by this timeout.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>, no limit).</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public static async Task<bool> MoveOnAfterAsync(TimeSpan timeout, Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (timeout < TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "a timeout cannot be negative (Timeout.InfiniteTimeSpan means no limit)");
        }
        var t = Tasklet.RequireCurrent("CancelScope.MoveOnAfterAsync");
        var scope = new CancelScope(t, DueAfter(t, timeout), timeout, "MoveOnAfterAsync");
        try
        {
            await body();
            return true;
        }
        catch (TimeoutException e) when (ReferenceEquals(e.Data[ScopeKey], scope))
        {
            return false;
        }
        finally
        {
            scope.Dispose();
        }
    }

    /// <summary>Like <see cref="MoveOnAfterAsync(TimeSpan, Func{Task})"/>, keeping the body's value.</summary>
    /// <returns>(true, value) if <paramref name="body"/> completed; (false, default) if it was cut short by this timeout.</returns>
    [OverloadResolutionPriority(1)]
    public static async Task<(bool Completed, T? Result)> MoveOnAfterAsync<T>(TimeSpan timeout, Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        T? result = default;
        bool completed = await MoveOnAfterAsync(timeout, async () => { result = await body(); });
        return (completed, result);
    }

    /// <summary>
    /// Like <see cref="MoveOnAfterAsync(TimeSpan, Func{Task})"/>, for a <paramref name="body"/> that
    /// returns a <see cref="ValueTask"/> (say <c>() =&gt; Tasklet.Sleep(span)</c>).
    /// </summary>
    /// <returns>True if <paramref name="body"/> completed, false if it was cut short by this timeout.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>, no limit).</exception>
    public static Task<bool> MoveOnAfterAsync(TimeSpan timeout, Func<ValueTask> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return MoveOnAfterAsync(timeout, () => body().AsTask());
    }

    /// <summary>Like <see cref="MoveOnAfterAsync{T}(TimeSpan, Func{Task{T}})"/>, for a <paramref name="body"/> that returns a <see cref="ValueTask{TResult}"/>.</summary>
    /// <returns>(true, value) if <paramref name="body"/> completed; (false, default) if it was cut short by this timeout.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>, no limit).</exception>
    public static Task<(bool Completed, T? Result)> MoveOnAfterAsync<T>(TimeSpan timeout, Func<ValueTask<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return MoveOnAfterAsync(timeout, () => body().AsTask());
    }

    /// <summary>The enclosing scope in the same tasklet, or null.</summary>
    internal CancelScope? Parent { get; }

    /// <summary>The nearest enclosing scope still open (one disposed out of order is closed but still linked).</summary>
    private CancelScope? OpenParent
    {
        get
        {
            var p = Parent;
            while (p is { _closed: true }) p = p.Parent;
            return p;
        }
    }

    /// <summary>Which factory opened it ("FailAfter", "FailAt", "MoveOnAfterAsync"), or "TaskGroup" for the scope a TaskGroup opens over its block (no deadline; cancelled when a child fails).</summary>
    public string Origin { get; }

    /// <summary>The deadline on the loop's clock (<see cref="EventLoop.Time"/>); <see cref="TimeSpan.MaxValue"/> for a TaskGroup's scope or an infinite timeout.</summary>
    public TimeSpan Deadline { get; }

    /// <summary>The timeout it was opened with; null for <see cref="FailAt"/>.</summary>
    public TimeSpan? Timeout => _timeout;

    /// <summary>True once the deadline has passed; every park inside the scope then throws.</summary>
    public bool IsExpired { get; private set; }

    /// <summary>Fires when this scope (or an enclosing one) expires or the tasklet is killed.</summary>
    public CancellationToken Token
    {
        get
        {
            if (_source is null)
            {
                _source = CancellationTokenSource.CreateLinkedTokenSource(OpenParent?.Token ?? _owner.KillToken);
                if (IsExpired) _source.Cancel();
            }
            return _source.Token;
        }
    }

    /// <summary>The deadline passed (the timer heap fired it).</summary>
    internal void OnDeadline()
    {
        if (_closed) return;
        Expire();
        if (_owner.IsParked && !_owner.IsShielded && ExpiredException() is { } error) _owner.Abort(error);
        TellListeners(_owner, upTo: this);
    }

    /// <summary>
    /// Tells the listening scopes of <paramref name="owner"/> from the innermost out to
    /// <paramref name="upTo"/> (all of them when null: the tasklet was killed) that cancellation
    /// reached them. Each listener hears it once.
    /// </summary>
    internal static void TellListeners(Tasklet owner, CancelScope? upTo)
    {
        for (var s = owner._x?.Scope; s is not null; s = s.Parent)
        {
            if (s._listener is { } listener && !s._listenerTold && !s._closed)
            {
                s._listenerTold = true;
                try { listener.OnScopeCanceled(); }
                catch (Exception e) { s._loop.Report(e, null, $"the cancellation of a {s.Origin} in {owner.Describe()}"); }
            }
            if (ReferenceEquals(s, upTo)) break;
        }
    }

    private void Expire()
    {
        IsExpired = true;
        if (_node is not null) _loop.RemoveTimer(_node);
        if (_source is { } source)
        {
            try { source.Cancel(); }
            catch (Exception e) { _loop.Report(e, null, $"a cancellation callback of a CancelScope in {_owner.Describe()}"); }
        }
    }

    /// <summary>
    /// The exception for a new park inside this scope: the outermost expired scope's, or null.
    /// Deadlines are read against the clock here too, so a tasklet that held the loop past its
    /// deadline gets the timeout at its very next park, not one park later.
    /// </summary>
    internal Exception? ExpiredException()
    {
        CancelScope? fired = null, lateExpired = null;
        long now = 0;
        for (var s = this; s is not null; s = s.Parent)
        {
            if (s._closed) continue; // disposed out of order: it no longer applies
            if (!s.IsExpired && s._node is { IsScheduled: true } node)
            {
                if (now == 0) now = _loop.NowTicks;
                if (node.Due <= now)
                {
                    s.Expire();
                    lateExpired = s;
                }
            }
            if (s.IsExpired) fired = s;
        }
        if (fired is null) return null;
        // Called while a park registers (the tasklet is not parked yet), so listeners may run here.
        if (lateExpired is not null) TellListeners(_owner, upTo: lateExpired);
        Exception error = fired._cancelMessage is { } message ? new TaskletExit(message) : new TimeoutException(fired.Message());
        error.Data[ScopeKey] = fired;
        return error;
    }

    /// <summary>The key under which a scope's TimeoutException names its scope (in <see cref="Exception.Data"/>).</summary>
    internal const string ScopeKey = "Evergreen.CancelScope";

    /// <summary>
    /// Whether <paramref name="error"/>, or an exception it wraps (SslStream, stream adapters and
    /// relabelling callers such as HttpSession wrap what the parks under them threw), is this
    /// scope's expiry: the TimeoutException a park threw when this scope's deadline passed.
    /// </summary>
    public bool IsExpiryOf(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is TimeoutException && ReferenceEquals(e.Data[ScopeKey], this)) return true;
        }
        return false;
    }

    private string Message() => _timeout is { } span
        ? $"timed out after {Timeouts.Describe(span)} (CancelScope.{Origin} in {_owner.Describe()})"
        : $"the deadline passed (CancelScope.{Origin} at {Deadline.TotalSeconds:F3} in {_owner.Describe()})";

    /// <summary>
    /// Closes the scope: its deadline no longer applies. Scopes must be closed innermost first,
    /// in the tasklet that opened them (<c>using</c> does both). Disposed out of order, it throws,
    /// and is closed anyway: its deadline no longer applies, and the scopes opened inside it stay
    /// open until they are disposed. Not a yield point. Disposing twice does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">It is not the tasklet's innermost open scope, or this is another thread.</exception>
    public void Dispose()
    {
        if (_closed) return;
        _loop.CheckThread("CancelScope.Dispose");
        var x = _owner.Extras;
        if (!ReferenceEquals(x.Scope, this))
        {
            // Still closed: what opened the scope (a TaskGroup's DisposeAsync) is done with it, and
            // it must neither cancel later parks nor be reported as never disposed.
            Abandon();
            throw new InvalidOperationException(
                $"a CancelScope must be disposed innermost first, in the tasklet that opened it ({_owner.Describe()}); this {Origin} is not its innermost open scope (it is closed anyway).");
        }
        x.Scope = OpenParent;
        Abandon();
    }

    /// <summary>Releases the timer and token source (on dispose, or when the tasklet ended with the scope open).</summary>
    internal void Abandon(bool ownerEnded = false)
    {
        if (_closed) return;
        _closed = true;
        if (_node is not null) _loop.RemoveTimer(_node);
        _source?.Dispose();
        _source = null;
        if (ownerEnded && _listener is { } listener)
        {
            try { listener.OnScopeAbandoned(); }
            catch (Exception e) { _loop.Report(e, null, $"a {Origin} left open when {_owner.Describe()} ended"); }
        }
    }
}
