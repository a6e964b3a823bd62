// Waiting on many futures (Python's concurrent.futures.wait and as_completed).
//
// A tasklet waits on one thing at a time, so a wait on N futures is one park whose owner is the
// wait itself, plus one hook node per pending future (Future.cs: an intrusive list, O(1) to add and
// remove). The hooks are called synchronously by whatever completes a future; they only count and,
// once the wait's condition holds, unpark the tasklet. When the wait returns (condition, timeout,
// kill, expired scope) it unhooks from the futures still pending, so nothing is left behind and the
// whole wait costs O(N). AsCompleted keeps its hooks between steps and queues the futures in the
// order they complete.

namespace Evergreen;

/// <summary>
/// Waits on many <see cref="Future"/>s at once (Python's <c>concurrent.futures.wait</c> and
/// <c>as_completed</c>). The futures can be of different types and from different executors.
/// <code>
/// var (done, notDone) = await Futures.WaitAsync(futures, TimeSpan.FromSeconds(5), ReturnWhen.FirstException);
/// await foreach (var f in Futures.AsCompleted(futures)) Console.WriteLine(await f);
/// </code>
/// Loop thread only.
/// </summary>
public static partial class Futures
{
    /// <summary>
    /// Waits until <paramref name="returnWhen"/> holds for <paramref name="futures"/>, or until
    /// <paramref name="timeout"/> passes, and returns which are done and which are not (both in
    /// input order, duplicates removed). A timeout is not an error: it returns what is done then,
    /// as Python's <c>wait</c> does. Returns at once, without yielding, when the condition already
    /// holds or the timeout is zero (then it may be called outside a tasklet); otherwise a yield
    /// point. A kill (<see cref="TaskletExit"/>) or an expired <see cref="CancelScope"/>
    /// (<see cref="TimeoutException"/>) ends the wait and leaves nothing behind. The futures in
    /// <c>Done</c> count as observed (their failures are the caller's to read).
    /// </summary>
    /// <param name="futures">The futures; may be empty (returns at once).</param>
    /// <param name="timeout">How long to wait at most; null or <see cref="Timeout.InfiniteTimeSpan"/> waits as long as it takes.</param>
    /// <param name="returnWhen">
    /// <see cref="ReturnWhen.AllCompleted"/> (all done), <see cref="ReturnWhen.FirstCompleted"/>
    /// (any done), or <see cref="ReturnWhen.FirstException"/> (any finished with an exception, a
    /// cancellation not counting, or all done).
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="futures"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="futures"/> contains null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative, or <paramref name="returnWhen"/> is not a defined value.</exception>
    /// <exception cref="InvalidOperationException">A future belongs to another thread's loop, or it must wait outside a tasklet.</exception>
    public static ValueTask<(IReadOnlyList<TFuture> Done, IReadOnlyList<TFuture> NotDone)> WaitAsync<TFuture>(
        IEnumerable<TFuture> futures, TimeSpan? timeout = null, ReturnWhen returnWhen = ReturnWhen.AllCompleted)
        where TFuture : Future
    {
        ArgumentNullException.ThrowIfNull(futures);
        if (returnWhen is not (ReturnWhen.AllCompleted or ReturnWhen.FirstCompleted or ReturnWhen.FirstException))
        {
            throw new ArgumentOutOfRangeException(nameof(returnWhen), returnWhen, "returnWhen must be AllCompleted, FirstCompleted or FirstException");
        }
        long ticks = Timeouts.ToTicks(timeout, nameof(timeout));
        var wait = new ManyWait<TFuture>(Distinct(futures, "Futures.WaitAsync"), returnWhen);
        if (wait.IsSatisfied || ticks == 0) return new(wait.Split());
        return wait.ParkAsync(ticks);
    }

    /// <summary>The futures without duplicates, in input order, each checked to be on this thread's loop.</summary>
    internal static List<TFuture> Distinct<TFuture>(IEnumerable<TFuture> futures, string member) where TFuture : Future
    {
        var list = futures.TryGetNonEnumeratedCount(out int count) ? new List<TFuture>(count) : new List<TFuture>();
        var seen = new HashSet<Future>(ReferenceEqualityComparer.Instance);
        foreach (var future in futures)
        {
            if (future is null) throw new ArgumentException($"{member}: the futures contain a null", nameof(futures));
            future.Loop.CheckThread(member);
            if (seen.Add(future)) list.Add(future);
        }
        return list;
    }

    /// <summary>One WaitAsync: counts the futures as they complete and wakes the tasklet when its condition holds.</summary>
    private sealed class ManyWait<TFuture> : IParkOwner where TFuture : Future
    {
        private readonly List<TFuture> _futures;
        private readonly ReturnWhen _returnWhen;
        private int _pending;
        private bool _anyDone;
        private bool _anyFailed;
        private Tasklet? _parked;

        internal ManyWait(List<TFuture> futures, ReturnWhen returnWhen)
        {
            _futures = futures;
            _returnWhen = returnWhen;
            foreach (var future in futures)
            {
                if (!future.IsDoneCore) _pending++;
                else
                {
                    _anyDone = true;
                    _anyFailed |= future.IsFailedCore;
                }
            }
        }

        internal bool IsSatisfied => _pending == 0 || _returnWhen switch
        {
            ReturnWhen.FirstCompleted => _anyDone,
            ReturnWhen.FirstException => _anyFailed,
            _ => false,
        };

        internal async ValueTask<(IReadOnlyList<TFuture> Done, IReadOnlyList<TFuture> NotDone)> ParkAsync(long ticks)
        {
            var me = Tasklet.RequireCurrent("Futures.WaitAsync");
            var hooks = new Hook[_pending];
            int n = 0;
            foreach (var future in _futures)
            {
                if (future.IsDoneCore) continue;
                var hook = hooks[n++] = new Hook(this);
                future.AddHook(hook);
            }
            try
            {
                me.BeginPark(this, ticks, yielding: false);
                _parked = me;
                await new ValueTask<bool>(me, me._version); // true: the condition holds; false: the timeout
            }
            finally
            {
                _parked = null;
                foreach (var hook in hooks) hook.Future?.RemoveHook(hook);
            }
            return Split();
        }

        private void OnDone(Future future)
        {
            _pending--;
            _anyDone = true;
            _anyFailed |= future.IsFailedCore;
            if (_parked is { } t && IsSatisfied)
            {
                _parked = null;
                t.Unpark();
            }
        }

        void IParkOwner.AbortPark(Tasklet tasklet) => _parked = null;

        internal (IReadOnlyList<TFuture> Done, IReadOnlyList<TFuture> NotDone) Split()
        {
            var done = new List<TFuture>(_futures.Count - _pending);
            var notDone = new List<TFuture>(_pending);
            foreach (var future in _futures)
            {
                if (future.IsDoneCore)
                {
                    future.MarkObserved();
                    done.Add(future);
                }
                else
                {
                    notDone.Add(future);
                }
            }
            return (done, notDone);
        }

        public override string ToString() =>
            $"Futures.WaitAsync({_returnWhen}) on {_futures.Count} futures, {_pending} not done";

        private sealed class Hook(ManyWait<TFuture> wait) : FutureHook
        {
            internal override void OnDone(Future future) => wait.OnDone(future);
        }
    }
}
