// TaskGroup: trio's nursery, structured concurrency for tasklets.
//
// A group belongs to the tasklet that creates it (its parent) and is two things to the core
// (Evergreen.Core/ScopeHooks.cs):
//   - a cancel scope with no deadline, open in the parent from construction to DisposeAsync. When
//     a child fails the group cancels it, so every park of the parent inside the block throws
//     TaskletExit (level-triggered, like an expired deadline) and the block unwinds to
//     DisposeAsync. The scope also hears cancellation arriving from outside - the parent killed,
//     an enclosing deadline passing, an enclosing group cancelled - and the group then kills its
//     children, as trio cancels everything inside a cancelled scope;
//   - the supervisor of its children: told when each one ends, and the owner of their failures,
//     which are never reported as unhandled, because DisposeAsync throws them.
// DisposeAsync waits for every child. If its wait is cut short (a kill, a deadline, the group's
// own cancellation), it kills the children and goes on waiting, shielded from deadlines, so no
// child outlives the block. It then throws: the children's real failures first (one: itself;
// several: an AggregateException); else the exception that cut its wait short; else nothing.
// TaskletExit is never a failure: siblings killed by the group end quietly.
//
// C# does not tell DisposeAsync that the block is unwinding with an exception, so in the
// `await using` form a block that throws its own exception still waits for its children;
// RunAsync catches the block's exception and kills them first.
//
// Must never: let a child outlive DisposeAsync, lose a child's failure (a group whose parent
// ended without disposing it reports them), or kill a child twice (a second kill would cut its
// cleanup short). Everything runs on the loop thread.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Evergreen;

/// <summary>
/// Structured concurrency (trio's nursery): tasklets spawned into a group live inside a block of
/// the tasklet that made it, and leaving the block waits for all of them.
/// <code>
/// await using (var group = new TaskGroup())
/// {
///     foreach (var url in urls) group.Spawn(() => FetchAsync(url));
/// } // waits for every fetch; the first failure kills the others and is thrown here
/// </code>
/// The first child that fails kills its siblings and cancels the block (its parks throw
/// <see cref="TaskletExit"/>); leaving the block then throws that failure, or an
/// <see cref="AggregateException"/> if several children failed for real. Killing the parent or
/// an enclosing <see cref="CancelScope"/> deadline kills the children. Loop thread only.
/// </summary>
/// <remarks>
/// If the block itself throws, the children are not killed: C# does not tell
/// <see cref="DisposeAsync"/> that an exception is on its way, so it waits for them. Use
/// <see cref="RunAsync(Func{TaskGroup, Task}, string?)"/>, which kills them first, or call <see cref="CancelAll"/> in a catch.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class TaskGroup : IAsyncDisposable, IParkOwner, IScopeListener, ITaskletSupervisor
{
    private static int s_lastId;

    private readonly int _id = Interlocked.Increment(ref s_lastId);
    private readonly string? _name;
    private readonly Tasklet _parent;
    private readonly EventLoop _loop;
    private readonly CancelScope _scope;
    private Tasklet? _first;  // the live children, linked through IGroupChild (TaskGroupChild.cs)
    private int _count;
    private List<Exception>? _failures;
    private bool _killing;    // the children were killed (CancelAll, a failure, cancellation from outside)
    private bool _failed;     // a child failed for real
    private bool _disposing;  // DisposeAsync is waiting
    private bool _closed;     // DisposeAsync is done: no more children
    private bool _abandoned;  // the parent ended without disposing the group

    /// <summary>
    /// Opens a group in the current tasklet, its parent. Dispose it in the same tasklet, with
    /// <c>await using</c>, after (inside-out) any <see cref="CancelScope"/> opened after it.
    /// </summary>
    /// <param name="name">Shown in diagnostics and error messages.</param>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public TaskGroup(string? name = null)
    {
        _name = name;
        _parent = Tasklet.RequireCurrent("new TaskGroup");
        _loop = _parent.Loop!;
        _scope = CancelScope.OpenListening(_parent, this, "TaskGroup");
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a new group and waits for the group's children. Unlike
    /// the <c>await using</c> form, an exception thrown by <paramref name="body"/> kills the
    /// children first; it is then rethrown, or, if children failed too, thrown together with
    /// their failures in an <see cref="AggregateException"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public static async Task RunAsync(Func<TaskGroup, Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var group = new TaskGroup(name);
        Exception? blockError = null;
        try
        {
            await body(group);
        }
        catch (Exception e)
        {
            blockError = e;
            group.KillChildren();
        }
        try
        {
            await group.DisposeAsync();
        }
        catch (Exception groupError) when (blockError is not null && !IsCancellation(blockError))
        {
            var all = new List<Exception> { blockError };
            if (groupError is AggregateException aggregate && group._failed) all.AddRange(aggregate.InnerExceptions);
            else all.Add(groupError);
            throw new AggregateException($"the block of {group} failed, and so did its children", all);
        }
        if (blockError is not null) ExceptionDispatchInfo.Throw(blockError);
    }

    /// <summary>
    /// Like <see cref="RunAsync(Func{TaskGroup, Task}, string?)"/>, for a <paramref name="body"/>
    /// that returns a <see cref="ValueTask"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static Task RunAsync(Func<TaskGroup, ValueTask> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunAsync(group => body(group).AsTask(), name);
    }

    /// <summary>A kill or a scope's cancellation: superseded by the real failures it caused.</summary>
    private static bool IsCancellation(Exception e) => e is TaskletExit || e.Data.Contains(CancelScope.ScopeKey);

    /// <summary>The group's name, or null.</summary>
    public string? Name => _name;

    /// <summary>The tasklet that opened the group; the block and DisposeAsync run in it.</summary>
    public Tasklet Parent => _parent;

    /// <summary>How many children are alive. Not a yield point.</summary>
    /// <exception cref="InvalidOperationException">Called from another thread.</exception>
    public int Count
    {
        get
        {
            _loop.CheckThread("TaskGroup.Count");
            return _count;
        }
    }

    /// <summary>The children alive now, in spawn order (a copy).</summary>
    /// <exception cref="InvalidOperationException">Called from another thread.</exception>
    public IReadOnlyList<Tasklet> Children
    {
        get
        {
            _loop.CheckThread("TaskGroup.Children");
            return Snapshot();
        }
    }

    /// <summary>The live children, oldest first (the list is newest first).</summary>
    private Tasklet[] Snapshot()
    {
        var all = new Tasklet[_count];
        int i = _count;
        for (var t = _first; t is not null; t = ((IGroupChild)t).Next) all[--i] = t;
        return all;
    }

    /// <summary>
    /// True once the group has killed its children: <see cref="CancelAll"/>, a child's failure,
    /// or cancellation from outside (the parent killed, an enclosing deadline). Children spawned
    /// after that are killed before they run.
    /// </summary>
    public bool IsCanceled => _killing;

    /// <summary>True once <see cref="DisposeAsync"/> has finished: the group takes no more children.</summary>
    public bool IsClosed => _closed;

    /// <summary>
    /// Spawns <paramref name="body"/> as a child of the group (trio's <c>start_soon</c>). Any
    /// tasklet of the loop may spawn into the group, children included, until
    /// <see cref="DisposeAsync"/> has finished. In a cancelled group (<see cref="IsCanceled"/>)
    /// the child is killed before it runs. Returns nothing, so that the usual
    /// <c>group.Spawn(...)</c> in a loop is not an un-awaited awaitable (CS4014); use
    /// <see cref="SpawnTasklet(Func{Task}, string?)"/> to keep the child.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group is closed, or this is another thread.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public void Spawn(Func<Task> body, string? name = null) => SpawnTasklet(body, name);

    /// <summary>
    /// Spawns <paramref name="body"/>, which returns a <see cref="ValueTask"/> (say
    /// <c>() =&gt; Tasklet.Sleep(TimeSpan.FromSeconds(1))</c>), as a child of the group; see <see cref="Spawn(Func{Task}, string?)"/>.
    /// </summary>
    /// <inheritdoc cref="Spawn(Func{Task}, string?)"/>
    public void Spawn(Func<ValueTask> body, string? name = null) => SpawnTasklet(body, name);

    /// <summary>
    /// Like <see cref="Spawn(Func{Task}, string?)"/>, returning the child: to kill it alone, join
    /// it, or read its state. Its failure still belongs to the group (awaiting it rethrows it too).
    /// </summary>
    /// <inheritdoc cref="Spawn(Func{Task}, string?)"/>
    [OverloadResolutionPriority(1)]
    public Tasklet SpawnTasklet(Func<Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckOpen("TaskGroup.SpawnTasklet");
        return Adopt(new GroupChild(body, name, this));
    }

    /// <summary>Like <see cref="SpawnTasklet(Func{Task}, string?)"/>, for a body that returns a <see cref="ValueTask"/>.</summary>
    /// <inheritdoc cref="Spawn(Func{Task}, string?)"/>
    public Tasklet SpawnTasklet(Func<ValueTask> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckOpen("TaskGroup.SpawnTasklet");
        return Adopt(new GroupChild(body, name, this));
    }

    /// <summary>Spawns a child that produces a value; <c>await</c> the returned tasklet for it.</summary>
    /// <inheritdoc cref="Spawn(Func{Task}, string?)"/>
    [OverloadResolutionPriority(1)]
    public Tasklet<T> SpawnTasklet<T>(Func<Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckOpen("TaskGroup.SpawnTasklet");
        return (Tasklet<T>)Adopt(new GroupChild<T>(body, name, this));
    }

    /// <summary>Spawns a child whose body returns a <see cref="ValueTask{TResult}"/>; <c>await</c> the returned tasklet for its value.</summary>
    /// <inheritdoc cref="Spawn(Func{Task}, string?)"/>
    public Tasklet<T> SpawnTasklet<T>(Func<ValueTask<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckOpen("TaskGroup.SpawnTasklet");
        return (Tasklet<T>)Adopt(new GroupChild<T>(body, name, this));
    }

    private void CheckOpen(string member)
    {
        _loop.CheckThread(member);
        if (_closed)
        {
            throw new InvalidOperationException($"{this} is closed: its block has ended, so it takes no more children. Spawn into a group whose block is still running.");
        }
    }

    private Tasklet Adopt(Tasklet child)
    {
        child.Start(_loop);
        if (_first is not null) ((IGroupChild)_first).Prev = child;
        ((IGroupChild)child).Next = _first;
        _first = child;
        _count++;
        if (_killing || _abandoned) child.Kill();
        return child;
    }

    private void Remove(Tasklet child)
    {
        var links = (IGroupChild)child;
        if (links.Prev is { } prev) ((IGroupChild)prev).Next = links.Next;
        else _first = links.Next;
        if (links.Next is { } next) ((IGroupChild)next).Prev = links.Prev;
        links.Prev = links.Next = null;
        _count--;
    }

    /// <summary>
    /// Kills every child (each gets <see cref="TaskletExit"/> at its current or next park), and
    /// every child spawned from now on. Their exits are not failures: leaving the block then
    /// throws nothing, unless a child failed for real. The block itself is not cancelled. Not a
    /// yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread.</exception>
    public void CancelAll()
    {
        _loop.CheckThread("TaskGroup.CancelAll");
        KillChildren();
    }

    private void KillChildren()
    {
        if (_killing) return;
        _killing = true;
        if (_count == 0) return;
        foreach (var child in Snapshot()) child.Kill(); // a child that never ran leaves the list at once
    }

    /// <summary>
    /// Leaves the block: waits until every child has ended, then throws the children's failure
    /// (one: itself; several: an <see cref="AggregateException"/>), or what cut the wait short (a
    /// kill of the parent, an enclosing deadline), or returns. If the wait is cut short, the
    /// children are killed and waited for before it throws. A yield point while children are
    /// alive. Disposing twice does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not called from the group's parent tasklet, or a scope opened inside the block is still open.</exception>
    public async ValueTask DisposeAsync()
    {
        _loop.CheckThread("TaskGroup.DisposeAsync");
        if (_closed || _disposing) return;
        if (!ReferenceEquals(Tasklet.Current, _parent))
        {
            throw new InvalidOperationException($"{this} must be disposed by its parent, {_parent.Describe()}, which opened it; this is {Tasklet.Current?.Describe() ?? "not a tasklet"}.");
        }
        _disposing = true;
        Exception? interrupted = null;
        while (_count > 0)
        {
            try
            {
                await Tasklet.ParkAsync(this, shielded: interrupted is not null);
            }
            catch (Exception e)
            {
                // A kill of the parent, an enclosing deadline, or this group's own cancellation:
                // no child may outlive the block, so kill them and wait on, shielded.
                interrupted ??= e;
                KillChildren();
            }
        }
        _closed = true;
        _disposing = false;
        Exception? misuse = null;
        try
        {
            _scope.Dispose();
        }
        catch (InvalidOperationException e)
        {
            misuse = e;
        }
        var failures = _failures;
        if (misuse is not null)
        {
            // Disposed out of order: the group's scope is closed anyway (CancelScope.Dispose).
            if (failures is null) throw misuse;
            failures.Insert(0, misuse);
            throw new AggregateException(
                $"{this} was disposed out of order, and {(failures.Count == 2 ? "a child" : $"{failures.Count - 1} children")} failed", failures);
        }
        if (failures is { Count: 1 }) ExceptionDispatchInfo.Throw(failures[0]);
        if (failures is { Count: > 1 }) throw new AggregateException($"{failures.Count} children of {this} failed", failures);
        if (interrupted is not null) ExceptionDispatchInfo.Throw(interrupted);
    }

    void ITaskletSupervisor.OnChildDone(Tasklet child, Exception? error)
    {
        Remove(child);
        if (error is not null and not TaskletExit)
        {
            if (_abandoned)
            {
                _loop.Report(error, child, $"{child.Describe()}, a child of {this}, whose parent ended without disposing it");
            }
            else
            {
                (_failures ??= new List<Exception>()).Add(error);
                if (!_failed)
                {
                    _failed = true;
                    KillChildren();
                    _scope.Cancel($"{child.Describe()}, a child of {this}, failed ({error.GetType().Name}: {error.Message}); the group's block is cancelled");
                }
            }
        }
        if (_count == 0 && _parent.IsParked && ReferenceEquals(_parent.ParkOwner, this)) _parent.Unpark();
    }

    void IScopeListener.OnScopeCanceled() => KillChildren();

    void IScopeListener.OnScopeAbandoned()
    {
        // The parent ended and never disposed the group (no `await using`): nobody will ever see
        // the children's failures, so they are reported, and the orphans are killed.
        _abandoned = true;
        _loop.Report(new InvalidOperationException($"{this} was never disposed: its parent ended with the group open (use `await using`); its children are killed."),
            _parent, $"{this} in {_parent.Describe()}");
        if (_failures is { } failures)
        {
            foreach (var failure in failures) _loop.Report(failure, null, $"a child of {this}, whose parent ended without disposing it");
            _failures = null;
        }
        KillChildren();
    }

    void IParkOwner.AbortPark(Tasklet tasklet)
    {
        // DisposeAsync's wait: the children set is the state, nothing to undo.
    }

    /// <inheritdoc/>
    public override string ToString() =>
        (_name is null ? $"TaskGroup #{_id}" : $"TaskGroup '{_name}' (#{_id})") + $" of {_parent.Describe()} ({_count} children)";
}
