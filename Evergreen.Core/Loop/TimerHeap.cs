using System.Diagnostics;

namespace Evergreen;

/// <summary>What a <see cref="TimerNode"/> does when it is due.</summary>
internal enum TimerKind : byte
{
    /// <summary>A park's timeout (<see cref="Tasklet.Sleep(TimeSpan)"/>, a wait with a timeout).</summary>
    ParkTimeout,
    /// <summary>A <see cref="CancelScope"/>'s deadline.</summary>
    ScopeDeadline,
    /// <summary>A <see cref="EventLoop.CallLater"/> or <see cref="EventLoop.CallAt"/> callback.</summary>
    Callback,
}

/// <summary>
/// One entry of the loop's timer heap. Owners keep their node and reuse it (a tasklet reuses one
/// node for all its timed parks), so timed waits allocate nothing in steady state.
/// </summary>
[DebuggerDisplay("{Kind} due {Due} (index {Index})")]
internal sealed class TimerNode(object target, TimerKind kind)
{
    /// <summary>Due time in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    internal long Due;
    internal long Seq;
    /// <summary>Position in the heap, or -1 when not scheduled.</summary>
    internal int Index = -1;
    internal readonly object Target = target;
    internal readonly TimerKind Kind = kind;

    internal bool IsScheduled => Index >= 0;
}

/// <summary>
/// The loop's timers: a binary min-heap ordered by (due time, insertion order), with O(log n)
/// removal because every node knows its index. One libuv timer is armed for the earliest node;
/// thousands of sleeping tasklets cost one native handle.
/// </summary>
[DebuggerDisplay("Count = {Count}")]
internal sealed class TimerHeap
{
    private TimerNode[] _heap = new TimerNode[64];
    private long _seq;

    public int Count { get; private set; }

    public TimerNode Peek() => _heap[0];

    public void Add(TimerNode node, long due)
    {
        Debug.Assert(node.Index < 0, "a timer node is scheduled at most once");
        node.Due = due;
        node.Seq = _seq++;
        if (Count == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
        node.Index = Count;
        _heap[Count++] = node;
        SiftUp(node.Index);
    }

    public void Remove(TimerNode node)
    {
        int i = node.Index;
        if (i < 0) return;
        Debug.Assert(ReferenceEquals(_heap[i], node));
        node.Index = -1;
        int last = --Count;
        if (i != last)
        {
            _heap[i] = _heap[last];
            _heap[i].Index = i;
            _heap[last] = null!;
            if (!SiftUp(i)) SiftDown(i);
        }
        else
        {
            _heap[last] = null!;
        }
    }

    public TimerNode Pop()
    {
        var node = _heap[0];
        Remove(node);
        return node;
    }

    public void Clear()
    {
        for (int i = 0; i < Count; i++)
        {
            _heap[i].Index = -1;
            _heap[i] = null!;
        }
        Count = 0;
    }

    private static bool Less(TimerNode a, TimerNode b) => a.Due < b.Due || (a.Due == b.Due && a.Seq < b.Seq);

    private bool SiftUp(int i)
    {
        bool moved = false;
        var node = _heap[i];
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(node, _heap[parent])) break;
            _heap[i] = _heap[parent];
            _heap[i].Index = i;
            i = parent;
            moved = true;
        }
        _heap[i] = node;
        node.Index = i;
        return moved;
    }

    private void SiftDown(int i)
    {
        var node = _heap[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= Count) break;
            if (child + 1 < Count && Less(_heap[child + 1], _heap[child])) child++;
            if (!Less(_heap[child], node)) break;
            _heap[i] = _heap[child];
            _heap[i].Index = i;
            i = child;
        }
        _heap[i] = node;
        node.Index = i;
    }
}
