// The one thread-safe door (libuv: only uv_async_send is thread-safe).
//
// Other threads hand work to the loop through a locked queue and one uv_async_t. That covers
// CallFromThread and the continuations of ordinary Tasks awaited inside tasklets: their
// SynchronizationContext (TaskletContext) posts here when the task completes on another thread.
//
// A tasklet that ends a step without parking, without being ready and without finishing is
// awaiting something foreign (an ordinary Task). Such "foreign waits" are counted, and while
// any exist the async handle is referenced, so the loop stays alive until the continuation
// arrives instead of reporting a deadlock. KeepAlive holds do the same for waits the loop cannot
// see (a thread that will CallFromThread to wake a parked tasklet). The lock also orders CallFromThread against Dispose:
// no thread can touch the async handle after it is closed.

namespace Evergreen;

public sealed partial class EventLoop
{
    private readonly object _crossGate = new();
    private Queue<ReadyItem> _incoming = new();
    private Queue<ReadyItem> _draining = new();
    private volatile int _incomingCount;
    private int _foreignWaits;
    private int _keepAlive;
    private bool _asyncReferenced;

    /// <summary>
    /// Runs <paramref name="callback"/> on the loop thread, soon. The only member that is safe to
    /// call from any thread; the loop wakes from its poll to run it.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The loop has been disposed.</exception>
    public void CallFromThread(Action callback)
    {
        if (!TryCallFromThread(callback))
        {
            throw new ObjectDisposedException(nameof(EventLoop), "the EventLoop has been disposed: CallFromThread cannot reach it.");
        }
    }

    /// <summary>
    /// Like <see cref="CallFromThread"/>, but returns false instead of throwing when the loop has
    /// been disposed: for threads that may outlive the loop. Thread-safe.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    public bool TryCallFromThread(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return TryPostCrossThread(new ReadyItem(null, callback, null, ReadyKind.Action));
    }

    /// <summary>
    /// Keeps the loop alive for work it cannot see: a thread (or a native library) that will call
    /// <see cref="CallFromThread"/> later, say to wake a tasklet parked on a <see cref="WaitQueue"/>.
    /// While a hold is open, <see cref="Run()"/> does not return and reports no deadlock. Dispose the
    /// hold (from any thread; twice is harmless) when that work is done. Awaiting an ordinary
    /// <see cref="Task"/> needs no hold: such a foreign wait keeps the loop alive by itself.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the loop's.</exception>
    public IDisposable KeepAlive()
    {
        CheckThread("EventLoop.KeepAlive");
        ThrowIfDisposed();
        _keepAlive++;
        UpdateAsyncRef();
        return new Hold(this);
    }

    private sealed class Hold(EventLoop loop) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            if (loop.IsLoopThread) loop.ReleaseKeepAlive();
            else loop.TryCallFromThread(loop.ReleaseKeepAlive);
        }
    }

    /// <summary>Holds the loop open for work it cannot see, without allocating a hold (Offload).</summary>
    internal void AddHold()
    {
        _keepAlive++;
        UpdateAsyncRef();
    }

    /// <summary>Releases a hold taken with <see cref="AddHold"/> (loop thread).</summary>
    internal void ReleaseHold() => ReleaseKeepAlive();

    private void ReleaseKeepAlive()
    {
        if (_disposed) return;
        _keepAlive--;
        UpdateAsyncRef();
    }

    /// <summary>How many <see cref="KeepAlive"/> holds are open.</summary>
    public int KeepAliveCount => _keepAlive;

    private bool TryPostCrossThread(in ReadyItem item)
    {
        lock (_crossGate)
        {
            if (_disposed) return false;
            _incoming.Enqueue(item);
            _incomingCount = _incoming.Count;
            _async.Send();
            return true;
        }
    }

    internal bool HasCrossThreadWork => _incomingCount > 0;

    /// <summary>Moves work posted from other threads into the ready queue (the async callback).</summary>
    private void DrainCrossThread()
    {
        lock (_crossGate)
        {
            (_incoming, _draining) = (_draining, _incoming);
            _incomingCount = 0;
        }
        while (_draining.Count > 0)
        {
            var item = _draining.Dequeue();
            if (item.Tasklet is { } t) ArriveForTasklet(t);
            _ready.Enqueue(item);
        }
    }

    /// <summary>A SynchronizationContext post for <paramref name="tasklet"/> (null: the loop's own context).</summary>
    internal void PostToContext(Tasklet? tasklet, SendOrPostCallback callback, object? state)
    {
        var item = new ReadyItem(tasklet, callback, state, ReadyKind.Post);
        if (IsLoopThread && !_disposed)
        {
            if (tasklet is not null) ArriveForTasklet(tasklet);
            _ready.Enqueue(item);
            return;
        }
        if (!TryPostCrossThread(item))
        {
            // Never throw here: the caller is often a thread-pool thread completing a task.
            Console.Error.WriteLine(
                $"Evergreen: a continuation for {(tasklet?.Describe() ?? "a loop callback")} arrived after its EventLoop was disposed; it was dropped.");
        }
    }

    private void ArriveForTasklet(Tasklet t)
    {
        t._queued++;
        if ((t._flags & Tasklet.TaskletFlags.Foreign) != 0) LeaveForeignWait(t);
    }

    internal void EnterForeignWait(Tasklet t)
    {
        t._flags |= Tasklet.TaskletFlags.Foreign;
        _foreignWaits++;
        Interlocked.Increment(ref s_foreignWaitsEverywhere);
        UpdateAsyncRef();
        var x = t.Extras;
        if (!x.WatchingBody && t.BodyTask is { } body)
        {
            // If the body completes off the loop thread (a ConfigureAwait(false) somewhere), no
            // step will notice: have the completion come back through CallFromThread.
            x.WatchingBody = true;
            body.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() =>
            {
                if (IsLoopThread) return; // a step is running; AfterStep finishes the tasklet
                TryPostCrossThread(new ReadyItem(null, (Action)(() =>
                {
                    if (t.IsAlive && t.BodyTask is { IsCompleted: true } done) t.Finish(done);
                }), null, ReadyKind.Action));
            });
        }
    }

    internal void LeaveForeignWait(Tasklet t)
    {
        t._flags &= ~Tasklet.TaskletFlags.Foreign;
        _foreignWaits--;
        Interlocked.Decrement(ref s_foreignWaitsEverywhere);
        UpdateAsyncRef();
    }

    /// <summary>How many tasklets await ordinary (foreign) tasks.</summary>
    internal int ForeignWaitCount => _foreignWaits;

    /// <summary>The async handle keeps the loop alive while a foreign wait or RunForever needs it.</summary>
    private void UpdateAsyncRef()
    {
        bool want = _foreignWaits > 0 || _keepAlive > 0 || (_running && _forever);
        if (want == _asyncReferenced || _disposed) return;
        _asyncReferenced = want;
        if (want) _async.Ref(); else _async.Unref();
    }
}
