using System.Diagnostics;

namespace Evergreen;

/// <summary>
/// The few continuation delegates a park is ever handed (the runtime's state-machine-box invoker,
/// its Action invoker, ValueTask.AsTask's, ours), learned on first sight so that a tasklet keeps a
/// 3-bit index instead of a delegate field. Lock-free and process-wide: loops on several threads
/// may learn the same delegate at once, and the first one in wins. When it is full,
/// <see cref="IndexOf"/> says so and the caller pays for a pair object instead.
/// </summary>
[DebuggerDisplay("ContinuationTable: {Count} of {_slots.Length} learned")]
internal sealed class ContinuationTable
{
    private readonly Action<object?>?[] _slots;

    internal ContinuationTable(int capacity, params Action<object?>[] seeds)
    {
        Debug.Assert(seeds.Length <= capacity);
        _slots = new Action<object?>?[capacity];
        seeds.CopyTo(_slots, 0);
    }

    /// <summary>The delegate's index (learning it if there is room), or -1 when the table is full.</summary>
    internal int IndexOf(Action<object?> continuation)
    {
        var slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            var known = Volatile.Read(ref slots[i]);
            if (ReferenceEquals(known, continuation)) return i;
            if (known is null)
            {
                known = Interlocked.CompareExchange(ref slots[i], continuation, null);
                if (known is null || ReferenceEquals(known, continuation)) return i;
            }
        }
        return -1;
    }

    internal Action<object?> this[int index] => _slots[index]!;

    internal int Count => _slots.Count(s => s is not null);
}
