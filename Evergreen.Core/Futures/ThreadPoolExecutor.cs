// The thread pool executor: calls run on .NET thread-pool threads, at most maxWorkers at once,
// and their outcomes come back to the loop through its one thread-safe door.
//
// Everything but the call itself happens on the loop thread: taking a call from the queue and
// marking its future running (so Cancel works until the very moment of dispatch), counting the
// calls out, finishing the future, dispatching the next call. A pool thread only runs the call
// (the ExecutorCall node is the work item) and posts the node back with TryCallFromThread. An
// async call is started on the pool thread, and its task's completion is posted back the same
// way. While calls are out the loop is held open, as Offload does, so a tasklet awaiting a
// future is never mistaken for a deadlock.
//
// Must never: touch a future or the queue from a pool thread. A call still out when the loop is
// disposed finishes on its thread, and its outcome is dropped.

using System.Diagnostics;

namespace Evergreen;

/// <summary>
/// An <see cref="Executor"/> whose calls run on .NET thread-pool threads, at most
/// <see cref="MaxWorkers"/> at once (Python's <c>ThreadPoolExecutor</c>): for blocking or
/// CPU-bound code (a synchronous library, file I/O, hashing) while the loop keeps serving its
/// tasklets. Each future is finished on the loop (results come back through
/// <see cref="EventLoop.CallFromThread"/>), so tasklets simply await it. A call runs on a thread:
/// it must not use Evergreen objects (only <see cref="EventLoop.CallFromThread"/>). An async call
/// is started on a pool thread and counts as running until its task completes. A running call
/// cannot be cancelled: <see cref="Future.Cancel"/> returns false and its result still arrives.
/// For a single call, <see cref="Offload.RunAsync{T}(Func{T})"/> is lighter. Loop thread only.
/// </summary>
public sealed class ThreadPoolExecutor : Executor
{
    private int _running; // calls out on the thread pool

    /// <summary>Creates an executor that runs at most <paramref name="maxWorkers"/> calls at once, for the current thread's loop.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWorkers"/> is zero or negative.</exception>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    public ThreadPoolExecutor(int maxWorkers)
    {
        if (maxWorkers <= 0) throw new ArgumentOutOfRangeException(nameof(maxWorkers), maxWorkers, "a ThreadPoolExecutor needs at least one worker");
        MaxWorkers = maxWorkers;
    }

    /// <summary>How many calls run at once at most.</summary>
    public int MaxWorkers { get; }

    private protected override void OnQueued() => Dispatch();

    /// <summary>Sends queued calls to the pool while fewer than MaxWorkers are out (loop thread).</summary>
    private void Dispatch()
    {
        while (_running < MaxWorkers && TryTakeNext(out var call))
        {
            _running++;
            call.Pool = this;
            _loop.AddHold();
            ThreadPool.UnsafeQueueUserWorkItem(call, preferLocal: false);
        }
    }

    /// <summary>On a pool thread: runs the call (an async one to its first await), then posts it back.</summary>
    internal void RunOnPoolThread(ExecutorCall call)
    {
        var task = call.Start();
        if (task is null)
        {
            PostBack(call);
            return;
        }
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() =>
        {
            call.End(task);
            PostBack(call);
        });
    }

    private void PostBack(ExecutorCall call)
    {
        // False when the loop is gone: nobody waits any more, and the outcome is dropped.
        _loop.PostFromThread(() => CompleteOnLoop(call));
    }

    private void CompleteOnLoop(ExecutorCall call)
    {
        Debug.Assert(ReferenceEquals(call.Pool, this) && _running > 0);
        call.Pool = null;
        _running--;
        _loop.ReleaseHold();
        Finish(call);
        Dispatch();
        CheckIdle();
    }

    private protected override bool IsIdle => _running == 0 && QueuedCount == 0;

    private protected override string StateDisplay => $"{MaxWorkers} {(MaxWorkers == 1 ? "thread" : "threads")} at most, {_running} running";
}
