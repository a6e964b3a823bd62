using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Evergreen.Native;

namespace Evergreen;

/// <summary>
/// One libuv loop on one thread, running tasklets and callbacks (Evergreen's <c>EventLoop</c>).
/// Create one per thread (<see cref="Current"/>), spawn tasklets, then <see cref="Run()"/>; or
/// let <see cref="Run(Func{Task})"/> do all of that for a script. Every member except
/// <see cref="CallFromThread"/> must be called on the loop's own thread.
/// </summary>
/// <remarks>A handle (libuv's word): long-lived, owns native memory, freed by <see cref="Dispose"/>.</remarks>
[DebuggerDisplay("EventLoop (thread {_threadId}): {LiveTaskletCount} tasklets, {_ready.Count} ready, {_timers.Count} timers")]
public sealed partial class EventLoop : IDisposable
{
    [ThreadStatic] internal static EventLoop? t_current;

    private readonly int _threadId;
    private readonly UvTimer _timer;
    private readonly UvAsync _async;
    private readonly TaskletContext _loopContext;
    internal readonly ReadyQueue _ready = new();
    internal readonly TimerHeap _timers = new();
    internal Tasklet? _current;
    /// <summary>How many <see cref="Tasklet.WaitAllParkedAsync"/> callers are in the ready queue on their own yield.</summary>
    internal int _waitAllParkedYielding;
    private IntPtr _loop;
    private bool _disposed;

    /// <summary>Creates the loop for the calling thread.</summary>
    /// <exception cref="InvalidOperationException">This thread already has a loop.</exception>
    /// <exception cref="DllNotFoundException">libuv 1.x is not installed (the message says how to install it).</exception>
    public unsafe EventLoop()
    {
        if (t_current is { } existing)
        {
            throw new InvalidOperationException(
                $"thread {Environment.CurrentManagedThreadId} already has an EventLoop: one loop per thread (dispose the old one first).");
        }
        LibUvLoader.Load();
        _threadId = Environment.CurrentManagedThreadId;
        _loop = (IntPtr)NativeMemory.AllocZeroed(LibUv.uv_loop_size());
        int rc = LibUv.uv_loop_init(_loop);
        if (rc < 0)
        {
            NativeMemory.Free((void*)_loop);
            throw new UvException(rc, "uv_loop_init");
        }
        t_current = this;
        _loopContext = new TaskletContext(this, null);
        try
        {
            _timer = new UvTimer(this, OnTimerFired, "the loop's timer heap", isInternal: true);
            _async = new UvAsync(this, DrainCrossThread, "CallFromThread wake-up", isInternal: true);
            _async.Unref();
        }
        catch
        {
            t_current = null;
            throw;
        }
    }

    /// <summary>This thread's loop.</summary>
    /// <exception cref="InvalidOperationException">This thread has no loop (the message names ConfigureAwait(false) when that is the likely cause).</exception>
    public static EventLoop Current => t_current ?? throw new InvalidOperationException(NoLoopMessage(
        "there is no EventLoop on this thread", "create one with `new EventLoop()`, or use EventLoop.Run(async () => ...)."));

    /// <summary>
    /// "{what} (thread N): {advice}", or, on a thread-pool thread while some tasklet awaits an
    /// ordinary Task, the likely cause instead of the advice: a ConfigureAwait(false) in a
    /// tasklet, which moved the rest of its method off the loop thread.
    /// </summary>
    internal static string NoLoopMessage(string what, string advice) =>
        LikelyLeftATasklet()
            ? $"{what} (thread {Environment.CurrentManagedThreadId}, a thread-pool thread): {ConfigureAwaitHint}"
            : $"{what} (thread {Environment.CurrentManagedThreadId}): {advice}";

    private const string ConfigureAwaitHint =
        "the likely cause is an `await ... .ConfigureAwait(false)` in a tasklet, which resumed the rest of its method here instead of on " +
        "its loop; do not use ConfigureAwait(false) in tasklets (they resume on their loop by themselves).";

    /// <summary>How many tasklets of every loop in the process await an ordinary (foreign) Task.</summary>
    private static int s_foreignWaitsEverywhere;

    /// <summary>A thread-pool thread, while a tasklet somewhere awaits a foreign Task: probably that tasklet's continuation.</summary>
    private static bool LikelyLeftATasklet() =>
        Volatile.Read(ref s_foreignWaitsEverywhere) > 0 && Thread.CurrentThread.IsThreadPoolThread;

    /// <summary>The native <c>uv_loop_t*</c>.</summary>
    internal IntPtr NativeLoop => _loop;

    /// <summary>
    /// The native <c>uv_loop_t*</c>, for handle-based primitives that call libuv themselves
    /// (<c>uv_tcp_init(loop.NativeHandle, ...)</c>). Valid until <see cref="Dispose"/>; loop thread only.
    /// </summary>
    public IntPtr NativeHandle => _loop;

    internal bool IsLoopThread => Environment.CurrentManagedThreadId == _threadId;

    /// <summary>
    /// True when called on the loop's own thread, where tasklets, handles and every primitive may
    /// be used (advanced: for primitive authors; as WPF's <c>Dispatcher.CheckAccess</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CheckAccess() => Environment.CurrentManagedThreadId == _threadId;

    /// <summary>
    /// Throws a clear <see cref="InvalidOperationException"/> naming <paramref name="member"/> when
    /// called off the loop's thread (advanced: for primitive authors; as WPF's <c>Dispatcher.VerifyAccess</c>).
    /// </summary>
    /// <param name="member">The caller, as the user wrote it ("MyQueue.Put").</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void VerifyAccess(string member)
    {
        if (Environment.CurrentManagedThreadId != _threadId) ThrowWrongThread(member);
    }

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>True once <see cref="Dispose"/> has begun, while it unwinds the live tasklets too: no new work should start.</summary>
    internal bool IsClosing => _doorClosed; // set under _crossGate, read here on the loop thread

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckThread(string member)
    {
        if (Environment.CurrentManagedThreadId != _threadId) ThrowWrongThread(member);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowWrongThread(string member) => throw new InvalidOperationException(
        $"{member} must be called on the loop's own thread (thread {_threadId}, not thread {Environment.CurrentManagedThreadId}): " +
        (LikelyLeftATasklet() ? ConfigureAwaitHint + " " : "") +
        "CallFromThread is the only EventLoop member that other threads may call.");

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the loop is disposed: for primitives that create handles on it.</summary>
    /// <exception cref="ObjectDisposedException">The loop has been disposed.</exception>
    public void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(EventLoop), "the EventLoop has been disposed.");
    }

    // --- the clock ---------------------------------------------------------------------------

    /// <summary>
    /// The loop's monotonic clock: the time since an arbitrary start, the same for every reading
    /// on this machine (the time base of <see cref="CallAt"/> and <see cref="CancelScope.FailAt"/>).
    /// </summary>
    public TimeSpan Time => TicksToSpan(NowTicks);

    internal long NowTicks => Stopwatch.GetTimestamp();

    internal static long SpanToTicks(TimeSpan span) => SpanToTicks(span, Stopwatch.Frequency);

    /// <summary>
    /// The longest span the loop schedules, in clock ticks: far enough to mean "never", and short
    /// enough that <c>now + MaxTicks</c> cannot overflow.
    /// </summary>
    internal const long MaxTicks = long.MaxValue / 4;

    /// <summary><paramref name="span"/> in ticks of a clock of <paramref name="frequency"/> Hz, clamped to <see cref="MaxTicks"/>.</summary>
    internal static long SpanToTicks(TimeSpan span, long frequency)
    {
        // Windows' Stopwatch ticks are TimeSpan ticks: no conversion, but TimeSpan.MaxValue must still be clamped.
        if (frequency == TimeSpan.TicksPerSecond) return Math.Min(span.Ticks, MaxTicks);
        double ticks = span.Ticks * (frequency / (double)TimeSpan.TicksPerSecond);
        return ticks >= MaxTicks ? MaxTicks : (long)ticks;
    }

    /// <summary>A reading of the loop's clock (<paramref name="ticks"/>, Stopwatch ticks) as a <see cref="TimeSpan"/>.</summary>
    internal static TimeSpan TicksToSpan(long ticks)
    {
        long f = Stopwatch.Frequency;
        if (f == TimeSpan.TicksPerSecond) return TimeSpan.FromTicks(ticks);
        if (f % TimeSpan.TicksPerSecond == 0) return TimeSpan.FromTicks(ticks / (f / TimeSpan.TicksPerSecond)); // Linux: ns
        return TimeSpan.FromTicks((long)(ticks * ((double)TimeSpan.TicksPerSecond / f)));
    }

    // --- spawning ----------------------------------------------------------------------------

    /// <summary>
    /// Spawns a tasklet on this loop; it runs after the tasklets already ready. For starting work
    /// on a loop from outside its tasklets (before <see cref="Run()"/>, from a test or a host);
    /// inside a tasklet use <see cref="Tasklet.Spawn(Func{Task}, string?)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public Tasklet Spawn(Func<Task> body, string? name = null)
    {
        var t = new Tasklet(body, name);
        t.Start(this);
        return t;
    }

    /// <summary>Spawns a tasklet whose body returns a <see cref="ValueTask"/> on this loop; it runs after the tasklets already ready.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    public Tasklet Spawn(Func<ValueTask> body, string? name = null)
    {
        var t = new Tasklet(body, name);
        t.Start(this);
        return t;
    }

    /// <summary>Spawns a tasklet that produces a value; <c>await</c> it for the value.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public Tasklet<T> Spawn<T>(Func<Task<T>> body, string? name = null)
    {
        var t = new Tasklet<T>(body, name);
        t.Start(this);
        return t;
    }

    /// <summary>Spawns a tasklet whose body returns a <see cref="ValueTask{TResult}"/>; <c>await</c> it for the value.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    public Tasklet<T> Spawn<T>(Func<ValueTask<T>> body, string? name = null)
    {
        var t = new Tasklet<T>(body, name);
        t.Start(this);
        return t;
    }

    // --- the live tasklets (for deadlock reports, dumps and Dispose) ----------------------------

    private Tasklet? _liveHead;

    /// <summary>How many tasklets are started and not yet ended.</summary>
    public int LiveTaskletCount { get; private set; }

    internal void AddLive(Tasklet t)
    {
        t._allNext = _liveHead;
        if (_liveHead is not null) _liveHead._allPrev = t;
        _liveHead = t;
        LiveTaskletCount++;
    }

    internal void RemoveLive(Tasklet t)
    {
        if (t._allPrev is null && !ReferenceEquals(_liveHead, t)) return;
        if (t._allPrev is null) _liveHead = t._allNext; else t._allPrev._allNext = t._allNext;
        if (t._allNext is not null) t._allNext._allPrev = t._allPrev;
        t._allPrev = t._allNext = null;
        LiveTaskletCount--;
    }

    /// <summary>The tasklets that are started and not yet ended, oldest first.</summary>
    public IReadOnlyList<Tasklet> LiveTasklets
    {
        get
        {
            CheckThread("EventLoop.LiveTasklets");
            var list = new List<Tasklet>(LiveTaskletCount);
            for (var t = _liveHead; t is not null; t = t._allNext) list.Add(t);
            list.Reverse();
            return list;
        }
    }

    // --- disposal ----------------------------------------------------------------------------

    /// <summary>
    /// Closes the loop to other threads (<see cref="CallFromThread"/> refuses from here on), runs
    /// the callbacks they queued before that and the work that is ready, on this thread, then kills
    /// the tasklets still alive and lets them unwind (their <c>finally</c> blocks run), cancels every
    /// timer, closes every handle, and frees the native loop. Ready work still queued after that
    /// (a tasklet that will not die) is dropped and reported through <see cref="UnhandledException"/>.
    /// The thread may then create a new loop.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread, or while the loop is running.</exception>
    public unsafe void Dispose()
    {
        if (_disposed) return;
        CheckThread("EventLoop.Dispose");
        if (_doorClosed) return; // a callback or an unwinding tasklet disposing the loop again: the outer Dispose goes on
        if (_running) throw new InvalidOperationException("EventLoop.Dispose cannot be called while the loop runs: call Stop() and dispose after Run returns.");
        // Under the lock, so that every post either got in before (and runs below) or is refused.
        lock (_crossGate) _doorClosed = true;
        var saved = SynchronizationContext.Current;
        try
        {
            RunLastTurn();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
        lock (_crossGate)
        {
            _disposed = true;
        }
        // Tasklets left in a foreign wait no longer wait on anything of this process's loops.
        Interlocked.Add(ref s_foreignWaitsEverywhere, -_foreignWaits);
        _foreignWaits = 0;
        _timers.Clear();
        foreach (var signal in _signals.Values) signal.Handle.Close();
        _signals.Clear();
        foreach (var handle in _handles.ToArray()) handle.Close();
        CloseForeignHandles();
        // Run the close callbacks: handles are freed there, and nothing else is left to run.
        for (int i = 0; i < 16 && _handles.Count > 0; i++) LibUv.uv_run(_loop, UvRunMode.NoWait);
        LibUv.uv_run(_loop, UvRunMode.Default);
        int rc = LibUv.uv_loop_close(_loop);
        if (rc < 0)
        {
            Report(new UvException(rc, "uv_loop_close"), null, "EventLoop.Dispose (a native handle outlived its owner)");
        }
        else
        {
            NativeMemory.Free((void*)_loop);
        }
        _loop = IntPtr.Zero;
        if (ReferenceEquals(t_current, this)) t_current = null;
    }

    /// <summary>
    /// Dispose's last turn of the loop: what was accepted runs (the callbacks other threads queued,
    /// then ready work), then every live tasklet is killed and the ready queue runs until they have
    /// unwound. What is still queued after that is dropped, and said so.
    /// </summary>
    private void RunLastTurn()
    {
        DrainCrossThread();
        RunReadyOnly();
        for (int round = 0; round < 8 && LiveTaskletCount > 0; round++)
        {
            foreach (var t in LiveTasklets) t.Kill();
            RunReadyOnly();
        }
        int dropped = _ready.Count;
        while (_ready.Count > 0) _ready.Dequeue();
        if (dropped > 0)
        {
            Report(new InvalidOperationException(
                    $"EventLoop.Dispose dropped {dropped} ready callbacks or tasklet steps: still queued after the tasklets were killed and unwound " +
                    $"(a tasklet that catches TaskletExit and goes on?); live tasklets left: {LiveTaskletCount}."),
                null, "EventLoop.Dispose");
        }
    }

    /// <summary>
    /// Runs ready work only: no polling, so no new I/O or timer work starts. Everything queued at
    /// entry runs, and at most a million steps more (a callback that keeps re-queueing itself).
    /// </summary>
    private void RunReadyOnly()
    {
        long budget = _ready.Count + 1_000_000L;
        for (long steps = 0; _ready.Count > 0 && steps < budget; steps++) RunOne(_ready.Dequeue());
    }
}
