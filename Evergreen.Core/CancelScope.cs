// Cancel scopes (trio's), the one way deadlines reach parks.
//
// A scope belongs to the tasklet that opened it and sits on that tasklet's stack of scopes
// (innermost first, linked through Parent). Its deadline is a node in the loop's timer heap.
// When the deadline passes the scope is expired for good (level-triggered): the tasklet's
// current park is aborted, and so is every later park inside the scope, until the scope is
// disposed. The exception a park gets is that of the *outermost* expired scope, so the scope
// whose deadline covers the most is the one that fires, and MoveOnAfterAsync catches only the
// exception of its own scope: code outside an unexpired scope never sees another scope's timeout.

using System.Diagnostics;

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
    private readonly TimerNode _node;
    private readonly TimeSpan? _timeout;
    private CancellationTokenSource? _source;
    private bool _closed;

    private CancelScope(Tasklet owner, long due, TimeSpan? timeout, string origin)
    {
        _owner = owner;
        _loop = owner.Loop!;
        _timeout = timeout;
        Origin = origin;
        _node = new TimerNode(this, TimerKind.ScopeDeadline);
        var x = owner.Extras;
        Parent = x.Scope;
        x.Scope = this;
        if (due <= _loop.NowTicks) IsExpired = true;
        else _loop.AddTimer(_node, due);
        Deadline = due / (double)Stopwatch.Frequency;
    }

    /// <summary>
    /// Opens a scope in the current tasklet whose parks throw <see cref="TimeoutException"/> once
    /// <paramref name="timeout"/> has passed. Dispose it (with <c>using</c>) to close it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static CancelScope FailAfter(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "a timeout cannot be negative");
        var t = Tasklet.CurrentForPark("CancelScope.FailAfter");
        return new CancelScope(t, t.Loop!.NowTicks + EventLoop.SpanToTicks(timeout), timeout, "FailAfter");
    }

    /// <summary>Like <see cref="FailAfter"/>, with a deadline on the loop's clock (<see cref="EventLoop.Time"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="deadline"/> is not a number.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static CancelScope FailAt(double deadline)
    {
        if (double.IsNaN(deadline)) throw new ArgumentOutOfRangeException(nameof(deadline), deadline, "a deadline must be a number");
        var t = Tasklet.CurrentForPark("CancelScope.FailAt");
        return new CancelScope(t, EventLoop.SecondsToTicks(deadline), null, "FailAt");
    }

    /// <summary>
    /// Runs <paramref name="body"/> in the current tasklet under a scope of <paramref name="timeout"/>;
    /// if the deadline aborts it, returns false instead of throwing (move-on-after). Exceptions of
    /// other scopes, and every other exception, propagate.
    /// </summary>
    /// <returns>True if <paramref name="body"/> completed, false if it was cut short by this timeout.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public static async Task<bool> MoveOnAfterAsync(TimeSpan timeout, Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (timeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "a timeout cannot be negative");
        var t = Tasklet.CurrentForPark("CancelScope.MoveOnAfterAsync");
        var scope = new CancelScope(t, t.Loop!.NowTicks + EventLoop.SpanToTicks(timeout), timeout, "MoveOnAfterAsync");
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
    public static async Task<(bool Completed, T? Result)> MoveOnAfterAsync<T>(TimeSpan timeout, Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        T? result = default;
        bool completed = await MoveOnAfterAsync(timeout, async () => { result = await body(); });
        return (completed, result);
    }

    /// <summary>The enclosing scope in the same tasklet, or null.</summary>
    internal CancelScope? Parent { get; }

    /// <summary>Which factory opened it ("FailAfter", "FailAt", "MoveOnAfterAsync").</summary>
    public string Origin { get; }

    /// <summary>The deadline on the loop's clock (<see cref="EventLoop.Time"/>).</summary>
    public double Deadline { get; }

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
                _source = CancellationTokenSource.CreateLinkedTokenSource(Parent?.Token ?? _owner.KillToken);
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
    }

    private void Expire()
    {
        IsExpired = true;
        _loop.RemoveTimer(_node);
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
        CancelScope? fired = null;
        long now = 0;
        for (var s = this; s is not null; s = s.Parent)
        {
            if (!s.IsExpired && s._node.IsScheduled)
            {
                if (now == 0) now = _loop.NowTicks;
                if (s._node.Due <= now) s.Expire();
            }
            if (s.IsExpired) fired = s;
        }
        if (fired is null) return null;
        var error = new TimeoutException(fired.Message());
        error.Data[ScopeKey] = fired;
        return error;
    }

    /// <summary>The key under which a scope's TimeoutException names its scope (in <see cref="Exception.Data"/>).</summary>
    internal const string ScopeKey = "Evergreen.CancelScope";

    private string Message() => _timeout is { } span
        ? $"timed out after {Format(span)} (CancelScope.{Origin} in {_owner.Describe()})"
        : $"the deadline passed (CancelScope.{Origin} at {Deadline:F3} in {_owner.Describe()})";

    internal static string Format(TimeSpan span) => span.TotalSeconds >= 1
        ? $"{span.TotalSeconds:0.###} s"
        : $"{span.TotalMilliseconds:0.###} ms";

    /// <summary>
    /// Closes the scope: its deadline no longer applies. Scopes must be closed innermost first,
    /// in the tasklet that opened them (<c>using</c> does both).
    /// </summary>
    /// <exception cref="InvalidOperationException">It is not the tasklet's innermost open scope, or this is another thread.</exception>
    public void Dispose()
    {
        if (_closed) return;
        _loop.CheckThread("CancelScope.Dispose");
        var x = _owner.Extras;
        if (!ReferenceEquals(x.Scope, this))
        {
            throw new InvalidOperationException(
                $"a CancelScope must be disposed innermost first, in the tasklet that opened it ({_owner.Describe()}); this one is not its innermost open scope.");
        }
        x.Scope = Parent;
        Abandon();
    }

    /// <summary>Releases the timer and token source (on dispose, or when the tasklet ended with the scope open).</summary>
    internal void Abandon()
    {
        _closed = true;
        _loop.RemoveTimer(_node);
        _source?.Dispose();
        _source = null;
    }
}
