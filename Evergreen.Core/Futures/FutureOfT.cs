using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>
/// A future whose call produces a <typeparamref name="T"/> (see <see cref="Future"/>). Executors
/// return these from <see cref="Executor.Submit{T}(Func{T})"/>; a producer makes one with
/// <c>new Future&lt;T&gt;()</c> and finishes it with <see cref="SetResult"/> or
/// <see cref="Future.SetException"/>. A standalone future's failure is its producer's business:
/// unlike an executor's, it is never reported when nobody reads it.
/// <code>
/// var reply = new Future&lt;string&gt;();
/// _ = Tasklet.Spawn(async () => { await Tasklet.Sleep(TimeSpan.FromMilliseconds(100)); reply.SetResult("pong"); });
/// string text = await reply;
/// </code>
/// Loop thread only.
/// </summary>
public sealed class Future<T> : Future
{
    private T _value = default!;

    /// <summary>Creates a pending future on the current thread's loop.</summary>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    public Future() : base(EventLoop.Current, null) { }

    internal Future(EventLoop loop, Executor executor) : base(loop, executor) { }

    /// <summary>
    /// Finishes the future with <paramref name="value"/>: its waiters return it. Allowed while the
    /// future is pending or running. Not a yield point (waiters run after the caller's next yield;
    /// done callbacks are scheduled, not run).
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The future already finished or was cancelled (a future is set once), or called from another
    /// thread than the future's loop.
    /// </exception>
    public void SetResult(T value)
    {
        if (!TrySetResult(value)) throw AlreadyDone("SetResult");
    }

    /// <summary>
    /// Like <see cref="SetResult"/>, but returns false instead of throwing when the future is
    /// already done (finished or cancelled). Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop.</exception>
    public bool TrySetResult(T value)
    {
        _loop.CheckThread("Future.TrySetResult");
        if (IsDoneCore) return false;
        _value = value;
        CompleteSucceeded();
        return true;
    }

    /// <summary>
    /// The value, once the future succeeded. When it failed or was cancelled, throws what
    /// <see cref="ResultAsync"/> would. Reading it counts as observing a failure. Not a yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">The future is not done yet, or called from another thread than the future's loop.</exception>
    /// <exception cref="FutureCanceledException">The future was cancelled.</exception>
    public T Result
    {
        get
        {
            _loop.CheckThread("Future.Result");
            if (!IsDoneCore) throw NotDone("Result");
            ThrowIfUnsuccessful();
            return _value;
        }
    }

    internal T ValueUnchecked => _value;

    /// <summary>
    /// Waits until the future is done and returns its value, or rethrows the call's exception; see
    /// <see cref="Future.ResultAsync"/> for the rules (a done future returns at once, without
    /// yielding, and without allocating when it succeeded; otherwise a yield point).
    /// </summary>
    /// <param name="timeout">How long to wait; null or <see cref="Timeout.InfiniteTimeSpan"/> waits forever.</param>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed first.</exception>
    /// <exception cref="FutureCanceledException">The future was cancelled.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">
    /// Called from another thread than the future's loop, or outside a tasklet while the future is not done.
    /// </exception>
    public new ValueTask<T> ResultAsync(TimeSpan? timeout = null)
    {
        _loop.CheckThread("Future.ResultAsync");
        Timeouts.Check(timeout);
        if (IsDoneCore)
        {
            MarkObserved();
            return Succeeded ? new ValueTask<T>(_value) : ValueTask.FromException<T>(ErrorForConsumer());
        }
        return FutureWaiter<T>.WaitAsync(this, timeout);
    }

    private protected override ValueTask ResultUntypedAsync(TimeSpan? timeout)
    {
        _loop.CheckThread("Future.ResultAsync");
        Timeouts.Check(timeout);
        if (IsDoneCore)
        {
            MarkObserved();
            return Succeeded ? default : ValueTask.FromException(ErrorForConsumer());
        }
        return FutureWaiter<T>.WaitVoidAsync(this, timeout);
    }

    /// <summary>
    /// Makes the future awaitable for its value: <c>T value = await future;</c> is
    /// <c>await future.ResultAsync()</c>. A yield point unless the future is done.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop, or outside a tasklet while the future is not done.</exception>
    public new ValueTaskAwaiter<T> GetAwaiter() => ResultAsync().GetAwaiter();

    /// <summary>
    /// Runs <paramref name="callback"/> on the loop once the future is done, with the typed future
    /// as its argument; see <see cref="Future.AddDoneCallback(Action{Future})"/> for the rules
    /// (soon after completion, never inside it; in order; a throwing callback is reported). Not a
    /// yield point.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Called from another thread than the future's loop.</exception>
    public void AddDoneCallback(Action<Future<T>> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        base.AddDoneCallback(future => callback((Future<T>)future));
    }

    private protected override string TypeName => $"Future<{typeof(T).Name}>";
}
