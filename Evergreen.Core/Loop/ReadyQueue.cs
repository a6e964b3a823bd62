using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>What a <see cref="ReadyItem"/> runs.</summary>
internal enum ReadyKind : byte
{
    /// <summary>Start a tasklet's body.</summary>
    Start,
    /// <summary>Resume a tasklet: <c>Action&lt;object?&gt;(State)</c>, from a park or a ValueTask.</summary>
    Continuation,
    /// <summary>A <see cref="SendOrPostCallback"/> posted to a tasklet's (or the loop's) context.</summary>
    Post,
    /// <summary>A <see cref="LoopCallback"/> (CallSoon, a due CallLater, a signal).</summary>
    Callback,
    /// <summary>A plain <see cref="System.Action"/> the runtime posted from another thread.</summary>
    Action,
    /// <summary>A user's <see cref="System.Action"/> from CallFromThread (counted against CrossThreadCapacity).</summary>
    FromThread,
}

/// <summary>One entry of the ready queue: a tasklet step or a loop callback. A struct, so a park
/// and a resume allocate nothing.</summary>
internal readonly struct ReadyItem(Tasklet? tasklet, object? work, object? state, ReadyKind kind)
{
    public readonly Tasklet? Tasklet = tasklet;
    public readonly object? Work = work;
    public readonly object? State = state;
    public readonly ReadyKind Kind = kind;
}

/// <summary>
/// The loop's FIFO of ready work: a growable ring buffer of structs. Single-threaded (the loop
/// thread only); other threads go through <see cref="EventLoop.CallFromThread"/>.
/// </summary>
[DebuggerDisplay("Count = {Count}")]
internal sealed class ReadyQueue
{
    private ReadyItem[] _items = new ReadyItem[256];
    private int _head;
    private int _count;

    public int Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enqueue(in ReadyItem item)
    {
        if (_count == _items.Length) Grow();
        int tail = _head + _count;
        if (tail >= _items.Length) tail -= _items.Length;
        _items[tail] = item;
        _count++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadyItem Dequeue()
    {
        Debug.Assert(_count > 0);
        ref var slot = ref _items[_head];
        var item = slot;
        slot = default;
        if (++_head == _items.Length) _head = 0;
        _count--;
        return item;
    }

    private void Grow()
    {
        var bigger = new ReadyItem[_items.Length * 2];
        for (int i = 0; i < _count; i++) bigger[i] = _items[(_head + i) % _items.Length];
        _items = bigger;
        _head = 0;
    }
}
