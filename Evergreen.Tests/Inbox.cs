namespace Evergreen.Tests;

/// <summary>
/// The README's "Building a primitive" example, verbatim: a queue whose TakeAsync waits, built on
/// public Core API only (one pooled ParkedOperation per waiter, one WaitList for the waiters and
/// one for the pool). BuildingAPrimitiveTests checks that it behaves like a real primitive.
/// </summary>
public sealed class Inbox<T>
{
    private readonly Queue<T> _items = new();
    private WaitList<Taker> _takers;   // tasklets waiting for an item, longest first
    private WaitList<Taker> _free;     // idle operations, reused: a wait allocates nothing

    public void Put(T item)
    {
        if (_takers.TakeFirst() is { } taker) taker.Hand(item); // straight to the longest waiter
        else _items.Enqueue(item);
    }

    public ValueTask<T> TakeAsync(TimeSpan? timeout = null)
    {
        if (_items.TryDequeue(out var item)) return new(item);
        return (_free.TakeFirst() ?? new Taker(this)).Start(timeout);
    }

    public int Waiting => _takers.Count;

    private sealed class Taker(Inbox<T> inbox) : ParkedOperation<T>
    {
        private T? _item;

        public ValueTask<T> Start(TimeSpan? timeout)
        {
            var wait = ParkAsync("Inbox.TakeAsync", timeout); // throws outside a tasklet
            inbox._takers.AddLast(this);
            return wait;
        }

        public void Hand(T item)
        {
            _item = item;
            Complete(); // the taker wakes with it, even if killed before it runs
        }

        protected override T Finish(bool completed) =>
            completed ? _item! : throw new TimeoutException("Inbox.TakeAsync: nothing arrived in time");

        // A kill, an expired scope or the timeout: leave the line, having taken nothing.
        protected override bool TryRecall()
        {
            inbox._takers.Remove(this);
            return true;
        }

        protected override void OnIdle()
        {
            _item = default;
            inbox._free.AddLast(this);
        }

        public override string ToString() => "an inbox to receive an item";
    }
}
