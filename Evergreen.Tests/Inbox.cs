namespace Evergreen.Tests;

// The README's "Building a primitive" example, verbatim but for the two lines marked "for the
// tests": a queue whose TakeAsync waits, built on public Core API only. BuildingAPrimitiveTests
// checks that it behaves like Evergreen's own primitives.

public sealed class Inbox<T>                       // TakeAsync waits; Put never does
{
    private readonly Queue<T> _items = new();
    private WaitList<Taker> _takers;               // waiting takers, longest first
    private WaitList<Taker> _free;                 // idle operations: a wait allocates nothing

    public void Put(T item)
    {
        if (_takers.TakeFirst() is { } taker) taker.Hand(item);   // straight to the longest waiter
        else _items.Enqueue(item);
    }

    public int Waiting => _takers.Count;             // (for the tests)

    public ValueTask<T> TakeAsync(TimeSpan? timeout = null) =>
        _items.TryDequeue(out var item) ? new(item) : (_free.TakeFirst() ?? new Taker(this)).Start(timeout);

    private sealed class Taker(Inbox<T> inbox) : ParkedOperation<T>
    {
        private T? _item;

        public ValueTask<T> Start(TimeSpan? timeout)
        {
            var wait = ParkAsync("Inbox.TakeAsync", timeout);      // a clear error outside a tasklet
            inbox._takers.AddLast(this);
            return wait;
        }

        public void Hand(T item) { _item = item; Complete(); }     // final: even a kill now cannot undo it

        protected override T Finish(bool completed) =>             // false: the timeout passed
            completed ? _item! : throw new TimeoutException("Inbox.TakeAsync: nothing arrived in time");

        protected override bool TryRecall() { inbox._takers.Remove(this); return true; }  // took nothing

        protected override void OnIdle() { _item = default; inbox._free.AddLast(this); }

        public override string ToString() => "an inbox to receive an item";             // (for the tests)
    }
}
