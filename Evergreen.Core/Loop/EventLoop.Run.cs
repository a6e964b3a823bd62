// The run loop (docs/design.md, "The loop").
//
// Ready work (tasklet steps and callbacks) lives in one managed FIFO, run in batches on this
// thread; libuv is entered only to poll: uv_run(NOWAIT) between batches while work is ready or a
// timer is overdue, so I/O and signals keep flowing under load, and uv_run(ONCE), which blocks,
// when nothing is ready.
// Batches are bounded (BatchSize) so a busy queue cannot starve I/O, and large enough that a
// tight yield loop pays for one epoll_wait per batch rather than per yield.
//
// Timers are a managed heap; one libuv timer is armed for the earliest entry just before
// blocking, and due entries are fired here, from managed code, before each batch.
//
// The loop ends (Run returns) when nothing is ready and libuv says nothing is alive: no
// referenced handle, no active timer, no foreign wait (those ref the async handle). If tasklets
// are still parked then, nothing can ever wake them: that is a deadlock, reported, never a
// silent return.
//
// Must never: run a callback from inside a native callback (those only move work to the ready
// queue), block while work is ready, or return from Run with parked tasklets.

using Evergreen.Native;

using System.Runtime.CompilerServices;

namespace Evergreen;

public sealed partial class EventLoop
{
    private const int BatchSize = 128;

    private bool _running;
    private bool _forever;
    private bool _stopRequested;

    /// <summary>True while <see cref="Run()"/> or <see cref="RunForever"/> is running.</summary>
    public bool IsRunning => _running;

    /// <summary>
    /// Runs until no tasklet, timer or referenced handle is left.
    /// </summary>
    /// <exception cref="DeadlockException">Tasklets are parked and nothing can wake them.</exception>
    /// <exception cref="InvalidOperationException">Called from another thread, or while already running.</exception>
    public void Run() => RunCore(forever: false);

    /// <summary>Runs until <see cref="Stop"/>, even when there is nothing to do.</summary>
    /// <exception cref="InvalidOperationException">Called from another thread, or while already running.</exception>
    public void RunForever() => RunCore(forever: true);

    /// <summary>
    /// Makes <see cref="Run()"/> or <see cref="RunForever"/> return after the current step. Does
    /// nothing when the loop is not running. From another thread: <c>loop.CallFromThread(loop.Stop)</c>.
    /// </summary>
    public void Stop()
    {
        CheckThread("EventLoop.Stop");
        if (!_running) return;
        _stopRequested = true;
        LibUv.uv_stop(_loop);
    }

    /// <summary>
    /// Creates a loop for this thread, runs <paramref name="main"/> as a tasklet until the loop has
    /// nothing left to do, disposes the loop, and rethrows <paramref name="main"/>'s exception.
    /// The form scripts use.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="DeadlockException">Tasklets ended up parked with nothing to wake them.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public static void Run(Func<Task> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        RunMain(loop => loop.Spawn(main, "main"));
    }

    /// <summary>Like <see cref="Run(Func{Task})"/>, for a <paramref name="main"/> that returns a <see cref="ValueTask"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="DeadlockException">Tasklets ended up parked with nothing to wake them.</exception>
    public static void Run(Func<ValueTask> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        RunMain(loop => loop.Spawn(main, "main"));
    }

    /// <summary>Like <see cref="Run(Func{Task})"/>, returning <paramref name="main"/>'s value.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="DeadlockException">Tasklets ended up parked with nothing to wake them.</exception>
    [OverloadResolutionPriority(1)]
    public static T Run<T>(Func<Task<T>> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        var t = (Tasklet<T>)RunMain(loop => loop.Spawn(main, "main"));
        return t.ResultUnchecked;
    }

    /// <summary>Like <see cref="Run{T}(Func{Task{T}})"/>, for a <paramref name="main"/> that returns a <see cref="ValueTask{TResult}"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="DeadlockException">Tasklets ended up parked with nothing to wake them.</exception>
    public static T Run<T>(Func<ValueTask<T>> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        var t = (Tasklet<T>)RunMain(loop => loop.Spawn(main, "main"));
        return t.ResultUnchecked;
    }

    private static Tasklet RunMain(Func<EventLoop, Tasklet> spawn)
    {
        using var loop = new EventLoop();
        var main = spawn(loop);
        main.MarkObserved();
        loop.Run();
        main.ThrowIfUnsuccessful();
        return main;
    }

    private void RunCore(bool forever)
    {
        CheckThread(forever ? "EventLoop.RunForever" : "EventLoop.Run");
        ThrowIfDisposed();
        if (_running) throw new InvalidOperationException("the EventLoop is already running: Run and RunForever are not reentrant.");
        var saved = SynchronizationContext.Current;
        _running = true;
        _forever = forever;
        _stopRequested = false;
        UpdateAsyncRef();
        try
        {
            Loop();
        }
        finally
        {
            _running = false;
            _forever = false;
            _current = null;
            UpdateAsyncRef();
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    private void Loop()
    {
        while (!_stopRequested)
        {
            if (_timers.Count > 0) FireDueTimers();
            if (_ready.Count > 0)
            {
                RunBatch();
                // Poll between batches whenever the loop will not block next: more work is ready,
                // or a timer is already due (a tasklet sleeping in a loop on a slow machine).
                if (!_stopRequested && (_ready.Count > 0 || TimerOverdue())) LibUv.uv_run(_loop, UvRunMode.NoWait);
                continue;
            }
            if (HasCrossThreadWork)
            {
                DrainCrossThread();
                continue;
            }
            ArmTimer();
            if (LibUv.uv_loop_alive(_loop) == 0 && !HasCrossThreadWork)
            {
                if (LiveTaskletCount > 0) throw new DeadlockException(LiveTasklets);
                return;
            }
            LibUv.uv_run(_loop, UvRunMode.Once);
        }
    }

    /// <summary>True when the earliest managed timer is due: poll without blocking, then fire it.</summary>
    private bool TimerOverdue() => _timers.Count > 0 && _timers.Peek().Due <= NowTicks;

    /// <summary>
    /// Runs up to <see cref="BatchSize"/> steps, counting work enqueued during the batch: a lone
    /// tasklet yielding in a loop pays for one poll per batch, not one per yield. FIFO order is
    /// the same either way.
    /// </summary>
    private void RunBatch()
    {
        for (int i = 0; i < BatchSize && _ready.Count > 0 && !_stopRequested; i++) RunOne(_ready.Dequeue());
    }

    /// <summary>Runs one ready item: a tasklet step or a callback.</summary>
    internal void RunOne(ReadyItem item)
    {
        var t = item.Tasklet;
        if (t is null)
        {
            RunCallback(item);
            return;
        }
        t._queued--;
        // A tasklet killed before its first step never runs. Work posted to a tasklet that has
        // ended (a fire-and-forget async method it left behind) still runs, in its context.
        if (item.Kind == ReadyKind.Start && t._life != Tasklet.Lifecycle.Started) return;
        _current = t;
        SynchronizationContext.SetSynchronizationContext(t._ctx);
        try
        {
            switch (item.Kind)
            {
                case ReadyKind.Start:
                    t.RunFirstStep();
                    break;
                case ReadyKind.Continuation:
                    ((Action<object?>)item.Work!)(item.State);
                    break;
                case ReadyKind.Post:
                    ((SendOrPostCallback)item.Work!)(item.State);
                    break;
                default:
                    ((Action)item.Work!)();
                    break;
            }
        }
        catch (Exception e)
        {
            // Async continuations never throw (their exceptions go to their task); a callback
            // posted to the tasklet's context may.
            Report(e, null, $"a callback posted to {t.Describe()}");
        }
        finally
        {
            _current = null;
        }
        t.AfterStep(this);
    }

    private void RunCallback(in ReadyItem item)
    {
        SynchronizationContext.SetSynchronizationContext(_loopContext);
        try
        {
            switch (item.Kind)
            {
                case ReadyKind.Callback:
                    ((LoopCallback)item.Work!).Invoke();
                    break;
                case ReadyKind.Post:
                    ((SendOrPostCallback)item.Work!)(item.State);
                    break;
                case ReadyKind.FromThread:
                    FromThreadRuns();
                    ((Action)item.Work!)();
                    break;
                default:
                    ((Action)item.Work!)();
                    break;
            }
        }
        catch (Exception e)
        {
            Report(e, null, item.Work is LoopCallback cb ? cb.Describe() : "a CallFromThread callback");
        }
    }

    // --- scheduling (loop thread) ---------------------------------------------------------------

    internal void EnqueueStart(Tasklet t)
    {
        t._queued++;
        _ready.Enqueue(new ReadyItem(t, null, null, ReadyKind.Start));
    }

    internal void ScheduleContinuation(Tasklet t)
    {
        t.TakeContinuation(out var cont, out var state);
        t._queued++;
        _ready.Enqueue(new ReadyItem(t, cont, state, ReadyKind.Continuation));
    }

    internal void EnqueueCallback(LoopCallback callback) =>
        _ready.Enqueue(new ReadyItem(null, callback, null, ReadyKind.Callback));
}
