namespace Evergreen;

public static partial class Futures
{
    /// <summary>
    /// Yields <paramref name="futures"/> as they complete (Python's <c>as_completed</c>): first
    /// those already done when the enumeration starts, in input order, then the others in the
    /// order they finish or are cancelled; duplicates once. The <paramref name="timeout"/> starts
    /// at the first <c>MoveNextAsync</c>: a step that finds futures still pending past it throws
    /// <see cref="TimeoutException"/>, and the enumeration ends. Each step is a yield point unless
    /// a done future is waiting to be yielded; a kill or an expired <see cref="CancelScope"/> ends
    /// the step and leaves nothing behind once the enumerator is disposed (<c>await foreach</c>
    /// does it). Every enumeration is independent. Yielded futures count as observed.
    /// </summary>
    /// <param name="futures">The futures; may be empty.</param>
    /// <param name="timeout">How long the whole enumeration may take; null or <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <exception cref="ArgumentNullException"><paramref name="futures"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="futures"/> contains null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">A future belongs to another thread's loop.</exception>
    public static IAsyncEnumerable<TFuture> AsCompleted<TFuture>(IEnumerable<TFuture> futures, TimeSpan? timeout = null)
        where TFuture : Future
    {
        ArgumentNullException.ThrowIfNull(futures);
        Timeouts.ToTicks(timeout, nameof(timeout));
        return new CompletionOrder<TFuture>(Distinct(futures, "Futures.AsCompleted"), timeout);
    }

    private sealed class CompletionOrder<TFuture>(List<TFuture> futures, TimeSpan? timeout) : IAsyncEnumerable<TFuture>
        where TFuture : Future
    {
        public IAsyncEnumerator<TFuture> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
            new Enumerator(futures, timeout, cancellationToken);

        /// <summary>
        /// One enumeration: a queue of futures ready to yield, fed by hooks on the pending ones;
        /// a step parks (owner: the enumerator) only when the queue is empty.
        /// </summary>
        private sealed class Enumerator(List<TFuture> futures, TimeSpan? timeout, CancellationToken cancellation)
            : IAsyncEnumerator<TFuture>, IParkOwner
        {
            private readonly Queue<TFuture> _ready = new();
            private Hook[]? _hooks;
            private long _deadline = -1;
            private int _pending;
            private bool _started;
            private bool _finished;
            private Tasklet? _parked;
            private EventLoop? _loop;

            public TFuture Current { get; private set; } = null!;

            public async ValueTask<bool> MoveNextAsync()
            {
                if (_finished) return false;
                try
                {
                    cancellation.ThrowIfCancellationRequested();
                    if (!_started) Start();
                    while (true)
                    {
                        if (_ready.TryDequeue(out var future))
                        {
                            future.MarkObserved();
                            Current = future;
                            return true;
                        }
                        if (_pending == 0)
                        {
                            Finish();
                            return false;
                        }
                        long ticks = -1;
                        if (_deadline >= 0)
                        {
                            ticks = _deadline - _loop!.NowTicks;
                            if (ticks <= 0)
                            {
                                throw new TimeoutException(
                                    $"Futures.AsCompleted: {_pending} of {futures.Count} futures were not done within {Future.Describe(timeout)}");
                            }
                        }
                        var me = Tasklet.RequireCurrent("Futures.AsCompleted");
                        me.BeginPark(this, ticks, yielding: false);
                        _parked = me;
                        await new ValueTask<bool>(me, me._version); // woken by a hook, or the deadline: look again
                    }
                }
                catch
                {
                    Finish();
                    throw;
                }
                finally
                {
                    _parked = null;
                }
            }

            /// <summary>The first step: the done futures go first, in input order; the others are hooked.</summary>
            private void Start()
            {
                _started = true;
                if (futures.Count == 0) return;
                var loop = _loop = futures[0].Loop;
                loop.CheckThread("Futures.AsCompleted");
                long ticks = Timeouts.ToTicks(timeout, nameof(timeout));
                if (ticks >= 0) _deadline = loop.NowTicks + ticks;
                foreach (var future in futures)
                {
                    if (future.IsDoneCore) _ready.Enqueue(future);
                    else _pending++;
                }
                _hooks = new Hook[_pending];
                int n = 0;
                foreach (var future in futures)
                {
                    if (future.IsDoneCore) continue;
                    var hook = _hooks[n++] = new Hook(this);
                    future.AddHook(hook);
                }
            }

            private void OnDone(Future future)
            {
                _pending--;
                _ready.Enqueue((TFuture)future);
                if (_parked is { } t)
                {
                    _parked = null;
                    t.Unpark();
                }
            }

            void IParkOwner.AbortPark(Tasklet tasklet) => _parked = null;

            /// <summary>Ends the enumeration: unhooks from the futures still pending.</summary>
            private void Finish()
            {
                if (_finished) return;
                _finished = true;
                if (_hooks is null) return;
                foreach (var hook in _hooks) hook.Future?.RemoveHook(hook);
                _hooks = null;
            }

            public ValueTask DisposeAsync()
            {
                Finish();
                return default;
            }

            public override string ToString() => $"Futures.AsCompleted on {futures.Count} futures, {_pending} not done";

            private sealed class Hook(Enumerator owner) : FutureHook
            {
                internal override void OnDone(Future future) => owner.OnDone(future);
            }
        }
    }
}
