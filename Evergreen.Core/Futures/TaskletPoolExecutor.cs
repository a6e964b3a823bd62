// The tasklet pool: calls run as tasklets on the loop, at most maxWorkers at once.
//
// Workers are spawned on demand, when a call is queued and fewer workers exist than calls that
// could run (running + queued, up to the bound). A worker takes calls from the queue until it is
// empty and then ends, so an idle executor keeps no tasklet alive: the loop can finish, and no
// parked worker shows up in a deadlock report. A call that never parks (CPU-bound, or already
// done) is followed by a yield, so a queue of such calls shares the loop with everyone else
// instead of running as one long step.
//
// A worker killed while it runs a call fails that call's future with the TaskletExit (consumers
// get a TaskletKilledException, as for `await tasklet`), ends, and is replaced if calls are still
// queued. The executor supervises its workers: it hears of every end (done, failed, killed, killed
// before its first step, when no finally of its body runs) after the worker has left the loop's
// live tasklets, and only then spawns a replacement, so live workers never outnumber MaxWorkers.
// A worker's own failure (not a call's: those are in their futures) is reported by the executor.

using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Evergreen;

/// <summary>
/// An <see cref="Executor"/> whose calls run as tasklets on the loop, at most
/// <see cref="MaxWorkers"/> at once (Evergreen's <c>TaskPoolExecutor</c>): for I/O-bound code that
/// parks, like fetching many URLs with a bound on concurrent connections. Workers are tasklets
/// named "TaskletPoolExecutor worker N", spawned when calls are queued and ended when the queue is
/// empty: an idle executor keeps nothing alive. A call runs in its worker tasklet
/// (<see cref="Tasklet.Current"/> is the worker), so kills, cancel scopes and tasklet locals apply
/// to it as to any tasklet. A call that returns without parking is followed by a yield of its
/// worker. Loop thread only.
/// </summary>
public sealed class TaskletPoolExecutor : Executor, ITaskletSupervisor
{
    private readonly List<Tasklet> _workers = new();
    private int _running;      // calls being run
    private int _nextWorker;

    /// <summary>Creates an executor that runs at most <paramref name="maxWorkers"/> calls at once, on the current thread's loop.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWorkers"/> is zero or negative.</exception>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    public TaskletPoolExecutor(int maxWorkers)
    {
        if (maxWorkers <= 0) throw new ArgumentOutOfRangeException(nameof(maxWorkers), maxWorkers, "a TaskletPoolExecutor needs at least one worker");
        MaxWorkers = maxWorkers;
    }

    /// <summary>How many calls run at once at most.</summary>
    public int MaxWorkers { get; }

    private protected override void OnQueued()
    {
        // One worker per call that could run now, up to the bound; workers not started yet count.
        int wanted = Math.Min(MaxWorkers, _running + QueuedCount);
        while (_workers.Count < wanted) SpawnWorker();
    }

    private void SpawnWorker()
    {
        Debug.Assert(_workers.Count < MaxWorkers);
        var worker = new Tasklet(WorkAsync, $"TaskletPoolExecutor worker {++_nextWorker}");
        worker.SetSupervisor(this);
        worker.Start(_loop);
        _workers.Add(worker);
    }

    private async Task WorkAsync()
    {
        var me = Tasklet.Current!;
        while (true)
        {
            // A kill that arrived while a call awaited a foreign task lands here, not in the next call.
            if (me._x?.PendingKill is not null) await Tasklet.Yield();
            if (!TryTakeNext(out var call)) break;
            _running++;
            bool parked;
            try
            {
                parked = await RunAsync(call, me);
            }
            finally
            {
                _running--;
            }
            if (!parked) await Tasklet.Yield();
        }
    }

    /// <summary>A worker has ended, however it ended (it is no longer live): forget it, replace it if calls are queued, report its own failure.</summary>
    void ITaskletSupervisor.OnChildDone(Tasklet child, Exception? error)
    {
        _workers.Remove(child);
        // Not while the loop is being disposed: it kills every tasklet, and a replacement would only be killed in turn.
        if (QueuedCount > 0 && !_loop.IsClosing) OnQueued();
        if (error is not null and not TaskletExit)
        {
            _loop.Report(error, child, $"{child.Describe()}, a worker of {Describe()}");
        }
        CheckIdle();
    }

    /// <summary>Runs one call in this worker and finishes its future; true if the call parked (it yielded already).</summary>
    private async ValueTask<bool> RunAsync(ExecutorCall call, Tasklet me)
    {
        var task = call.Start();
        bool parked = task is not null;
        if (task is not null)
        {
            try
            {
                await task;
            }
            catch
            {
                // The outcome is read from the task by End.
            }
            call.End(task);
        }
        var exit = KillOf(call.Error, me);
        if (exit is not null)
        {
            call.Error = exit;
            call.KilledWorker = me;
        }
        Finish(call);
        if (exit is not null) ExceptionDispatchInfo.Throw(exit); // the worker was killed: it ends
        return parked;
    }

    /// <summary>The kill that ended the call, if it was one: its TaskletExit, or a cancellation caused by a pending kill.</summary>
    private static Exception? KillOf(Exception? error, Tasklet me)
    {
        if (error is TaskletExit) return error;
        if (error is OperationCanceledException && me._x?.PendingKill is { } kill) return kill;
        return null;
    }

    private protected override bool IsIdle
    {
        get
        {
            Debug.Assert(_running >= 0 && _running <= _workers.Count && _workers.Count <= MaxWorkers);
            return _workers.Count == 0 && QueuedCount == 0;
        }
    }

    private protected override void CheckCanWait(Tasklet waiter, string member)
    {
        if (_workers.Contains(waiter))
        {
            throw new InvalidOperationException(
                $"{member}: {waiter.Describe()} is a worker of {Describe()}, and would wait for itself to end (shut the executor down from outside its calls, or pass wait: false).");
        }
    }

    private protected override string StateDisplay => $"{MaxWorkers} {(MaxWorkers == 1 ? "worker" : "workers")} at most, {_running} running";
}
