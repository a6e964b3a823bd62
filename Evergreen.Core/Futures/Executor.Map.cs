// MapAsync (Python's Executor.map): every item is submitted when MapAsync is called, and the
// results come back in input order through a single-use async enumerator. A step whose future is
// done returns at once; otherwise the enumerator, itself a ParkedOperation (as FutureWaiter is),
// parks the tasklet in that future's wait list, so a step allocates nothing. The timeout is one deadline from the call, as in Python. When the consumer stops early
// (break, exception, dispose) or a step throws, the futures not yet consumed are cancelled (those
// already running go on) and marked observed: the consumer chose not to look at them.

using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Evergreen;

public abstract partial class Executor
{
    /// <summary>
    /// Runs <paramref name="call"/> on every item (Python's <c>Executor.map</c>): all items are
    /// submitted now, when MapAsync is called, and the results are yielded in input order. A
    /// call's exception is rethrown when the enumeration reaches its position. The
    /// <paramref name="timeout"/> runs from this call: a step whose result is not ready by then
    /// throws <see cref="TimeoutException"/>. When the enumeration stops early (break, an
    /// exception, disposing the enumerator), the calls not yet started are cancelled, and none of
    /// the remaining futures is reported as unobserved. Not a yield point itself; each step of the
    /// enumeration is a yield point unless its result is ready. Enumerate the result once. An
    /// async function (an <c>async</c> lambda, or one returning a <see cref="Task{TResult}"/> or
    /// <see cref="ValueTask{TResult}"/>) binds to the async overloads, which await each call.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> or <paramref name="items"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <typeparamref name="TResult"/> is a <see cref="Task"/> or <see cref="ValueTask"/> type (named
    /// explicitly): each result would be a task still running outside the executor's bound.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    public IAsyncEnumerable<TResult> MapAsync<TItem, TResult>(Func<TItem, TResult> call, IEnumerable<TItem> items, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(items);
        RefuseTaskResult<TResult>("Executor.MapAsync", nameof(call));
        return SubmitAll<TItem, TResult>(items, timeout, (future, item) => new MapCall<TItem, TResult>(future, call, item));
    }

    /// <summary>
    /// Runs the async <paramref name="call"/> on every item; see
    /// <see cref="MapAsync{TItem, TResult}(Func{TItem, TResult}, IEnumerable{TItem}, TimeSpan?)"/>.
    /// This is the crawler's <c>executor.map(fetch, urls)</c>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> or <paramref name="items"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits the synchronous, Task and ValueTask forms: it is a Task
    public IAsyncEnumerable<TResult> MapAsync<TItem, TResult>(Func<TItem, Task<TResult>> call, IEnumerable<TItem> items, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(items);
        return SubmitAll<TItem, TResult>(items, timeout, (future, item) => new AsyncMapCall<TItem, TResult>(future, call, item));
    }

    /// <summary>
    /// Runs the async <paramref name="call"/> returning a <see cref="ValueTask{TResult}"/> on every
    /// item (say <c>url =&gt; session.GetAsync(url)</c>); each call counts as running until its
    /// ValueTask completes. See
    /// <see cref="MapAsync{TItem, TResult}(Func{TItem, TResult}, IEnumerable{TItem}, TimeSpan?)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> or <paramref name="items"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The executor is shut down, or called from another thread than its loop.</exception>
    public IAsyncEnumerable<TResult> MapAsync<TItem, TResult>(Func<TItem, ValueTask<TResult>> call, IEnumerable<TItem> items, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(items);
        return SubmitAll<TItem, TResult>(items, timeout, (future, item) => new ValueTaskMapCall<TItem, TResult>(future, call, item));
    }

    private MapResults<TResult> SubmitAll<TItem, TResult>(IEnumerable<TItem> items, TimeSpan? timeout, Func<Future<TResult>, TItem, ExecutorCall> make)
    {
        const string member = "Executor.MapAsync";
        _loop.CheckThread(member);
        long ticks = Timeouts.ToTicks(timeout, nameof(timeout));
        long deadline = ticks < 0 ? -1 : _loop.NowTicks + ticks;
        var futures = items.TryGetNonEnumeratedCount(out int count) ? new List<Future<TResult>>(count) : new List<Future<TResult>>();
        try
        {
            foreach (var item in items)
            {
                var future = NewFuture<TResult>(member);
                Enqueue(make(future, item));
                futures.Add(future);
            }
        }
        catch
        {
            // The items threw (or the executor was shut down meanwhile): nobody will get these results.
            foreach (var future in futures)
            {
                future.Cancel();
                future.MarkObserved();
            }
            throw;
        }
        return new MapResults<TResult>(_loop, futures, deadline, timeout);
    }

    /// <summary>The results of one MapAsync call: enumerable once, in input order.</summary>
    private sealed class MapResults<T>(EventLoop loop, List<Future<T>> futures, long deadline, TimeSpan? timeout)
        : ParkedOperation<bool>, IFutureWaiter, IAsyncEnumerable<T>, IAsyncEnumerator<T>
    {
        private int _next;          // the position of the next result
        private bool _enumerated;
        private bool _finished;
        private CancellationToken _cancellation;

        public T Current { get; private set; } = default!;

        public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            loop.CheckThread("Executor.MapAsync results");
            if (_enumerated)
            {
                throw new InvalidOperationException("the results of a MapAsync call can be enumerated once: they are the outcomes of its calls, handed over in order.");
            }
            _enumerated = true;
            _cancellation = cancellationToken;
            return this;
        }

        public ValueTask<bool> MoveNextAsync()
        {
            loop.CheckThread("Executor.MapAsync results");
            if (IsBusy) throw new InvalidOperationException("a MapAsync enumerator moves one step at a time (await MoveNextAsync before calling it again).");
            if (_finished || _next == futures.Count)
            {
                Finish();
                return new ValueTask<bool>(false);
            }
            try
            {
                _cancellation.ThrowIfCancellationRequested();
                var future = futures[_next];
                if (future.IsDoneCore) return new ValueTask<bool>(Take(future));
                long ticks = -1;
                if (deadline >= 0)
                {
                    ticks = deadline - loop.NowTicks;
                    if (ticks <= 0) throw TimeoutError();
                }
                var wait = ParkAsync("Executor.MapAsync results", ticks < 0 ? null : TimeSpan.FromSeconds(ticks / (double)Stopwatch.Frequency));
                future.AddWaiter(this);
                return wait;
            }
            catch (Exception e)
            {
                Finish();
                return ValueTask.FromException<bool>(e);
            }
        }

        /// <summary>Consumes the done future at the current position: its value, or its exception.</summary>
        private bool Take(Future<T> future)
        {
            futures[_next++] = null!; // let the GC have it once consumed
            future.ThrowIfUnsuccessful();
            Current = future.ValueUnchecked;
            return true;
        }

        private TimeoutException TimeoutError() => new(
            $"MapAsync: the result for item {_next} (of {futures.Count}) was not ready within {Future.Describe(timeout)} of the call");

        void IFutureWaiter.OnFutureDone() => Complete();

        protected override bool Finish(bool completed)
        {
            try
            {
                if (!completed) throw TimeoutError();
                return Take(futures[_next]);
            }
            catch
            {
                Finish();
                throw;
            }
        }

        protected override bool TryRecall()
        {
            futures[_next].RemoveWaiter(this);
            Finish(); // a kill or an expired scope ends the enumeration, as any failed step does
            return true;
        }

        /// <summary>Ends the enumeration: cancels the calls not yet started; nobody will look at the rest.</summary>
        private void Finish()
        {
            if (_finished) return;
            _finished = true;
            for (int i = _next; i < futures.Count; i++)
            {
                var future = futures[i];
                if (future is null) continue;
                future.Cancel();
                future.MarkObserved();
            }
        }

        public override string ToString() => $"the MapAsync result for item {_next} (of {futures.Count})";

        public ValueTask DisposeAsync()
        {
            loop.CheckThread("Executor.MapAsync results");
            Finish();
            return default;
        }
    }
}
