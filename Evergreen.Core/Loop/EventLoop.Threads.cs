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
// see (a thread that will CallFromThread to wake a parked tasklet).
//
// What the door promises (docs/design.md, "The cross-thread door"): a callback it accepted runs,
// on the loop's next turn, or at the latest in Dispose, which closes the door first (under the
// lock, so no post can slip past it) and then runs everything accepted before it kills the
// tasklets. The queue is bounded for user callbacks (CrossThreadCapacity): past it they are
// refused, never silently dropped. The runtime's own posts (a continuation, an offload's or a
// pool call's completion, a hold's release) are not: each belongs to something already counted
// on the loop (a waiting tasklet, a running call), so they are bounded by those and must never
// be lost. The lock also orders every post against Dispose: no thread touches the async handle
// after it is closed.

namespace Evergreen;

public sealed partial class EventLoop
{
    /// <summary>The default of <see cref="CrossThreadCapacity"/>: 1,048,576 callbacks (32 MiB of queue, plus the callbacks).</summary>
    public const int DefaultCrossThreadCapacity = 1 << 20;

    private readonly object _crossGate = new();
    private Queue<ReadyItem> _incoming = new();
    private Queue<ReadyItem> _draining = new();
    private volatile int _incomingCount;
    private int _crossThreadCapacity = DefaultCrossThreadCapacity;
    private int _fromThreadPending; // user callbacks accepted and not yet run (incremented under the lock, decremented as each runs)
    private bool _doorClosed; // under _crossGate: Dispose has begun, nothing more is accepted
    private int _foreignWaits;
    private int _keepAlive;
    private bool _asyncReferenced;

    /// <summary>
    /// Runs <paramref name="callback"/> on the loop thread, soon. The only member that is safe to
    /// call from any thread; the loop wakes from its poll to run it. Never a yield point, never
    /// blocks. A callback accepted (no exception) runs, in order with the others: on the loop's
    /// next turn, or, if the loop is not run again, when it is disposed, on the disposing thread
    /// and before its tasklets are killed. Once <see cref="Dispose"/> has begun, calls are refused.
    /// At most <see cref="CrossThreadCapacity"/> callbacks wait for the loop thread; past that,
    /// calls are refused too (backpressure, not unbounded memory). An exception the callback
    /// throws goes to <see cref="UnhandledException"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The loop is disposed, or being disposed.</exception>
    /// <exception cref="InvalidOperationException"><see cref="CrossThreadCapacity"/> callbacks already wait: the loop is not running, or not keeping up.</exception>
    public void CallFromThread(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        switch (TryPostCrossThread(new ReadyItem(null, callback, null, ReadyKind.FromThread), bounded: true))
        {
            case Posted.Accepted:
                return;
            case Posted.Closed:
                throw new ObjectDisposedException(nameof(EventLoop), "the EventLoop is disposed (or being disposed): CallFromThread cannot reach it.");
            default:
                throw new InvalidOperationException(
                    $"EventLoop.CallFromThread: {Volatile.Read(ref _crossThreadCapacity)} callbacks already wait for the loop thread (EventLoop.CrossThreadCapacity): " +
                    "the loop is not running or not keeping up; use TryCallFromThread to back off, or raise the capacity.");
        }
    }

    /// <summary>
    /// Like <see cref="CallFromThread"/>, but returns false instead of throwing when the call is
    /// refused: the loop is disposed or being disposed, or <see cref="CrossThreadCapacity"/>
    /// callbacks already wait (<see cref="CallFromThread"/> tells the two apart by its exception).
    /// For threads that may outlive the loop, and producers that back off. True: the callback will
    /// run (see <see cref="CallFromThread"/>). Thread-safe, never a yield point, never blocks.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    public bool TryCallFromThread(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return TryPostCrossThread(new ReadyItem(null, callback, null, ReadyKind.FromThread), bounded: true) == Posted.Accepted;
    }

    /// <summary>
    /// The runtime's own door (an offload's, a pool call's or a stream hop's completion): like
    /// <see cref="TryCallFromThread"/>, refused only once Dispose has begun, never for the capacity,
    /// because what it completes is already counted on the loop and must not be lost.
    /// </summary>
    internal bool PostFromThread(Action callback) =>
        TryPostCrossThread(new ReadyItem(null, callback, null, ReadyKind.Action), bounded: false) == Posted.Accepted;

    /// <summary>
    /// The door for a primitive's completion from another thread (work it handed to a thread and
    /// counted on the loop, as Offload does): like <see cref="TryCallFromThread"/>, but refused only
    /// once <see cref="Dispose"/> has begun, never for the capacity, since what it completes must
    /// not be lost. Thread-safe.
    /// </summary>
    /// <returns>False when the loop is being disposed: the callback will never run.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    public bool CompleteFromThread(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return PostFromThread(callback);
    }

    /// <summary>
    /// How many callbacks from <see cref="CallFromThread"/> and <see cref="TryCallFromThread"/> may
    /// be accepted and not yet run at once (wherever they wait: the cross-thread queue or the ready
    /// queue); more are refused. Default <see cref="DefaultCrossThreadCapacity"/>.
    /// A waiting callback costs 32 bytes of queue (up to twice that while the queue grows) plus the
    /// delegate itself, none for a static lambda or a cached delegate (docs/design.md has the measurements).
    /// Continuations of tasks awaited in tasklets and the completions of offloaded work are not limited.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1.</exception>
    /// <exception cref="InvalidOperationException">Set from another thread than the loop's.</exception>
    public int CrossThreadCapacity
    {
        get => Volatile.Read(ref _crossThreadCapacity);
        set
        {
            CheckThread("EventLoop.CrossThreadCapacity");
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (_crossGate) _crossThreadCapacity = value;
        }
    }

    /// <summary>How many posts from other threads wait to be moved to the ready queue.</summary>
    internal int CrossThreadBacklog => _incomingCount;

    /// <summary>A user callback from another thread is about to run: it no longer counts against the capacity.</summary>
    private void FromThreadRuns() => Interlocked.Decrement(ref _fromThreadPending);

    private enum Posted : byte { Accepted, Closed, Full }

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
            else loop.PostFromThread(loop.ReleaseKeepAlive);
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

    private Posted TryPostCrossThread(in ReadyItem item, bool bounded)
    {
        lock (_crossGate)
        {
            if (_doorClosed) return Posted.Closed;
            if (bounded)
            {
                if (Volatile.Read(ref _fromThreadPending) >= _crossThreadCapacity) return Posted.Full;
                Interlocked.Increment(ref _fromThreadPending);
            }
            _incoming.Enqueue(item);
            _incomingCount = _incoming.Count;
            _async.Send();
            return Posted.Accepted;
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
        if (TryPostCrossThread(item, bounded: false) != Posted.Accepted)
        {
            // Never throw here: the caller is often a thread-pool thread completing a task.
            Console.Error.WriteLine(
                $"Evergreen: a continuation for {(tasklet?.Describe() ?? "a loop callback")} arrived after its EventLoop was disposed (or while it was); it was dropped.");
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
                PostFromThread(() =>
                {
                    if (t.IsAlive && t.BodyTask is { IsCompleted: true } done) t.Finish(done);
                });
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
