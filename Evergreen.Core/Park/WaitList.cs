// The one intrusive wait list: every primitive's waiters, whatever they are (docs/design.md,
// "The park and its abort protocol").
//
// A waiter is a WaitNode: a Tasklet (it waits on one thing at a time, so it can be its own node)
// or a pooled ParkedOperation that carries what the wait moves (an item, a byte count). The list
// is a doubly linked FIFO through the nodes' own links, so adding and removing (an abort, a
// timeout) are O(1) and allocate nothing. A node is in at most one list at a time; in debug builds
// a node knows it is linked and a removal walks the list to check it is this one.
//
// Must never: hold a node twice, or keep a node whose park has ended (owners remove it in their
// abort). Loop thread only, like everything that parks.

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>
/// Something that can wait in a <see cref="WaitList{TNode}"/>: a <see cref="Tasklet"/>, or a
/// <see cref="ParkedOperation{TResult}"/>. The links belong to the list; a node is in one list at most.
/// </summary>
public abstract class WaitNode
{
    internal WaitNode? _waitPrev, _waitNext;
#if DEBUG
    internal bool _waitLinked; // in some list: debug builds check every operation against it
#endif

    private protected WaitNode() { }
}

/// <summary>
/// A FIFO of waiting nodes, linked through the nodes themselves: adding, removing any node and
/// taking the first are O(1) and allocate nothing. The building block of every Evergreen wait
/// structure (trio's parking lot, System.Threading.Channels' operation list); see
/// <see cref="ParkedOperation{TResult}"/> for how a primitive uses it. A mutable struct, so a
/// primitive holds its lists inline: keep it in a (non-readonly) field and never copy it.
/// Loop thread only.
/// </summary>
/// <typeparam name="TNode">What waits: <see cref="Tasklet"/>, or a <see cref="ParkedOperation{TResult}"/> type.</typeparam>
[DebuggerDisplay("{Count} waiting")]
public struct WaitList<TNode> where TNode : WaitNode
{
    private WaitNode? _head;
    private WaitNode? _tail;

    /// <summary>How many nodes wait.</summary>
    public int Count { readonly get; private set; }

    /// <summary>True when nobody waits.</summary>
    public readonly bool IsEmpty => _head is null;

    /// <summary>The node that waited longest (the next to take), or null.</summary>
    public readonly TNode? First => Unsafe.As<TNode?>(_head);

    /// <summary>Adds <paramref name="node"/> at the tail.</summary>
    /// <exception cref="InvalidOperationException">The node is already in a list.</exception>
    public void AddLast(TNode node)
    {
        if (node is null || node._waitPrev is not null || node._waitNext is not null || ReferenceEquals(_head, node) || IsLinkedSomewhere(node))
        {
            ThrowNotAddable(node);
        }
        node._waitPrev = _tail;
        if (_tail is null) _head = node; else _tail._waitNext = node;
        _tail = node;
#if DEBUG
        node._waitLinked = true;
#endif
        Count++;
        CheckInvariants();
    }

    [MethodImpl(MethodImplOptions.NoInlining), DoesNotReturn] // keeps AddLast small enough to inline
    private static void ThrowNotAddable(TNode? node)
    {
        ArgumentNullException.ThrowIfNull(node);
        throw new InvalidOperationException($"{node} is already in a wait list: a node waits in one list, once.");
    }

    /// <summary>
    /// Removes <paramref name="node"/> if it is in this list (an aborted wait leaving); O(1).
    /// A node in another list must not be passed (debug builds assert).
    /// </summary>
    /// <returns>False when the node was not in the list.</returns>
    public bool Remove(TNode node)
    {
        if (node._waitPrev is null && !ReferenceEquals(_head, node)) return false; // not linked here
#if DEBUG
        Debug.Assert(node._waitLinked && Walk(node), $"{node} is removed from a wait list it is not in");
        node._waitLinked = false;
#endif
        if (node._waitPrev is null) _head = node._waitNext; else node._waitPrev._waitNext = node._waitNext;
        if (node._waitNext is null) _tail = node._waitPrev; else node._waitNext._waitPrev = node._waitPrev;
        node._waitPrev = node._waitNext = null;
        Count--;
        CheckInvariants();
        return true;
    }

    /// <summary>Removes and returns the node that waited longest, or null when none waits.</summary>
    public TNode? TakeFirst()
    {
        var node = First;
        if (node is not null) Remove(node);
        return node;
    }

    /// <summary>
    /// True when <paramref name="node"/> is in this list; O(1). The node must be in this list or in
    /// none (debug builds assert).
    /// </summary>
    public readonly bool Contains(TNode node)
    {
        bool linked = node._waitPrev is not null || ReferenceEquals(_head, node);
#if DEBUG
        Debug.Assert(linked == (node._waitLinked && Walk(node)), $"{node} is asked about in a wait list it is not in");
#endif
        return linked;
    }

    /// <summary>The nodes, first to last. Do not add or remove while enumerating.</summary>
    public readonly Enumerator GetEnumerator() => new(_head);

    /// <summary>Enumerates a <see cref="WaitList{TNode}"/> without allocating.</summary>
    public struct Enumerator
    {
        private WaitNode? _next;
        private TNode? _current;

        internal Enumerator(WaitNode? head) => _next = head;

        /// <summary>The current node.</summary>
        public readonly TNode Current => _current!;

        /// <summary>Moves to the next node.</summary>
        public bool MoveNext()
        {
            if (_next is null) return false;
            _current = Unsafe.As<TNode>(_next);
            _next = _next._waitNext;
            return true;
        }
    }

    private static bool IsLinkedSomewhere(WaitNode node)
    {
#if DEBUG
        return node._waitLinked;
#else
        return false; // a lone head of another list has no links to show it; debug builds catch it
#endif
    }

    /// <summary>Debug builds: is the node reachable from this list's head (O(n))?</summary>
    private readonly bool Walk(WaitNode node)
    {
        for (var n = _head; n is not null; n = n._waitNext)
        {
            if (ReferenceEquals(n, node)) return true;
        }
        return false;
    }

    [Conditional("DEBUG")]
    private readonly void CheckInvariants()
    {
        Debug.Assert(Count >= 0 && (Count == 0) == (_head is null) && (_head is null) == (_tail is null), "a wait list's count and ends disagree");
        Debug.Assert(_head is null || _head._waitPrev is null, "a wait list's head has a predecessor");
        Debug.Assert(_tail is null || _tail._waitNext is null, "a wait list's tail has a successor");
    }
}
