using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Evergreen;

/// <summary>
/// A tasklet: sequential, thread-like code (an async method) that runs on an <see cref="EventLoop"/>
/// and parks, instead of blocking, whenever it waits. Mirrors <see cref="Thread"/>: construct and
/// <see cref="Start()"/>, or <see cref="Spawn(Func{Task}, string?)"/>; subclass and override
/// <see cref="RunAsync"/>; <see cref="JoinAsync"/>, <see cref="Kill"/>, or <c>await</c> it for its
/// outcome. (Evergreen's <c>Task</c>; Stackless's tasklet.)
/// </summary>
/// <remarks>
/// All members except the constructors are for the loop's own thread. Spawn order is first-run
/// order, and every yield point puts the tasklet at the back of one FIFO ready queue.
/// </remarks>
[DebuggerDisplay("{Describe(),nq} {State}{WaitingOnDisplay,nq}")]
public partial class Tasklet : WaitNode, IValueTaskSource<bool>, IValueTaskSource
{
    private static int s_nextId;

    // Hot fields only: everything else lives in _x (TaskletExtras), allocated on first use.
    // A parked tasklet is this object (104 B) and its context (40 B), plus the body's own box.
    internal TaskletContext? _ctx;        // set by Start: the loop, and the SynchronizationContext
    private protected object? _body;      // the body delegate before start, the body's Task after
    internal object? _contState;          // the parked continuation's state (see Tasklet.Park.cs)
    internal IParkOwner? _owner;          // what the park waits on
    internal Tasklet? _allPrev, _allNext;    // links in the loop's list of live tasklets
    internal TaskletExtras? _x;
    private readonly int _id;
    internal Lifecycle _life;
    internal ParkState _park;
    internal TaskletFlags _flags;
    internal int _queued;                 // ready-queue entries for this tasklet
    internal short _version;              // ValueTask token of the current park

    internal enum Lifecycle : byte { Created, Started, Completed, Failed, Killed }

    internal enum ParkState : byte { None, Parking, Parked, Woken }

    [Flags]
    internal enum TaskletFlags : ushort
    {
        None = 0,
        TimedOut = 1,         // the current park ended by its own timeout
        Yielding = 2,         // the current park is a yield: woken as soon as it is registered
        Foreign = 4,          // counted in the loop's foreign waits (awaits an ordinary Task)
        AwaitingResult = 8,   // parked in another tasklet's joiners by `await tasklet`
        Observed = 16,        // its failure is observed by a runner (EventLoop.Run's main)
        BodyEntered = 32,     // its first step has begun: the body runs (or ran)
        Shielded = 64,        // the current park ignores expired cancel scopes (kills still land)
        ContinuationMask = 0x700, // which known continuation delegate the park holds (Tasklet.Park.cs)
    }

    /// <summary>Creates a tasklet that will run <paramref name="body"/> when started.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public Tasklet(Func<Task> body, string? name = null) : this(name)
    {
        ArgumentNullException.ThrowIfNull(body);
        _body = body;
    }

    /// <summary>Creates a tasklet that will run <paramref name="body"/>, which returns a <see cref="ValueTask"/>, when started.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    public Tasklet(Func<ValueTask> body, string? name = null) : this(name)
    {
        ArgumentNullException.ThrowIfNull(body);
        _body = body;
    }

    /// <summary>For subclasses, which override <see cref="RunAsync"/>.</summary>
    protected Tasklet(string? name = null)
    {
        _id = Interlocked.Increment(ref s_nextId);
        if (name is not null) Extras.Name = name;
    }

    /// <summary>The tasklet that is running on this thread's loop, or null outside tasklets.</summary>
    public static Tasklet? Current => EventLoop.t_current?._current;

    /// <summary>A number unique in this process, in creation order.</summary>
    public int Id => _id;

    /// <summary>The tasklet's name: the one given, or <c>tasklet-{Id}</c>.</summary>
    public string Name
    {
        get => _x?.Name ?? $"tasklet-{_id}";
        set => Extras.Name = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Where the tasklet is in its life.</summary>
    public TaskletState State => _life switch
    {
        Lifecycle.Created => TaskletState.Created,
        Lifecycle.Started => _park is ParkState.Parked or ParkState.Parking ? TaskletState.Parked : TaskletState.Running,
        Lifecycle.Completed => TaskletState.Completed,
        Lifecycle.Failed => TaskletState.Failed,
        _ => TaskletState.Killed,
    };

    /// <summary>True once started and until it has ended.</summary>
    public bool IsAlive => _life == Lifecycle.Started;

    /// <summary>True once it has ended: completed, failed or killed.</summary>
    public bool IsDone => _life >= Lifecycle.Completed;

    /// <summary>The exception it failed or was killed with, or null.</summary>
    public Exception? Exception => _x?.Error;

    /// <summary>The loop it was started on, or null before <see cref="Start()"/>.</summary>
    public EventLoop? Loop => _ctx?.Loop;

    /// <summary>What it is parked on ("AsyncLock#3", "sleep"), or null when it is not parked.</summary>
    public string? WaitingOn => _park switch
    {
        ParkState.Parked or ParkState.Parking => _owner?.ToString()
            ?? ((_x?.ParkTimeout ?? -1) >= 0 || _x?.ParkTimer?.IsScheduled == true ? "sleep" : "an abandoned park"),
        _ => IsAlive && (_flags & TaskletFlags.Foreign) != 0 ? "a foreign task (an await of an ordinary Task)" : null,
    };

    private string WaitingOnDisplay => WaitingOn is { } w ? $" on {w}" : "";

    internal TaskletExtras Extras => _x ??= new TaskletExtras();

    /// <summary>"tasklet 'name' (#id)", the way messages name a tasklet.</summary>
    public string Describe() => _x?.Name is { } n ? $"tasklet '{n}' (#{_id})" : $"tasklet #{_id}";

    /// <inheritdoc/>
    public override string ToString() => $"{Describe()} {State}";

    /// <summary>
    /// Spawns a tasklet on the current thread's loop: it runs after the tasklets already ready.
    /// The one way to spawn from a tasklet (or a callback on the loop's thread);
    /// <see cref="EventLoop.Spawn(Func{Task}, string?)"/> is for starting work on a loop from
    /// outside its tasklets (before <see cref="EventLoop.Run()"/>, from a test or a host).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public static Tasklet Spawn(Func<Task> body, string? name = null)
    {
        var t = new Tasklet(body, name);
        t.Start();
        return t;
    }

    /// <summary>
    /// Spawns a tasklet whose body returns a <see cref="ValueTask"/> (say
    /// <c>() =&gt; Tasklet.Sleep(TimeSpan.FromSeconds(1))</c>); see <see cref="Spawn(Func{Task}, string?)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    public static Tasklet Spawn(Func<ValueTask> body, string? name = null)
    {
        var t = new Tasklet(body, name);
        t.Start();
        return t;
    }

    /// <summary>Spawns a tasklet that produces a <typeparamref name="T"/>; <c>await</c> it for the value.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public static Tasklet<T> Spawn<T>(Func<Task<T>> body, string? name = null)
    {
        var t = new Tasklet<T>(body, name);
        t.Start();
        return t;
    }

    /// <summary>Spawns a tasklet whose body returns a <see cref="ValueTask{TResult}"/>; <c>await</c> it for the value.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    public static Tasklet<T> Spawn<T>(Func<ValueTask<T>> body, string? name = null)
    {
        var t = new Tasklet<T>(body, name);
        t.Start();
        return t;
    }

    /// <summary>Starts the tasklet on the current thread's loop.</summary>
    /// <exception cref="InvalidOperationException">It was already started (or killed), or there is no loop on this thread.</exception>
    public void Start() => Start(EventLoop.Current);

    internal void Start(EventLoop loop)
    {
        loop.CheckThread("Tasklet.Start");
        if (_life != Lifecycle.Created || _ctx is not null)
        {
            throw new InvalidOperationException(
                $"{Describe()} is {State}: a tasklet can be started only once.");
        }
        loop.ThrowIfDisposed();
        _ctx = new TaskletContext(loop, this);
        _life = Lifecycle.Started;
        loop.AddLive(this);
        loop.EnqueueStart(this);
    }

    /// <summary>
    /// The tasklet's body. The default runs the function given to the constructor; a subclass
    /// overrides it (Evergreen's <c>Task.run</c>).
    /// </summary>
    protected virtual Task RunAsync() => _body switch
    {
        Func<Task> f => f(),
        Func<ValueTask> f => f().AsTask(), // the loop tracks a body as a Task
        _ => throw new InvalidOperationException($"{Describe()} has no body: pass a function to the constructor or override RunAsync."),
    };

    /// <summary>Runs the body's synchronous part; called by the loop for the tasklet's first step.</summary>
    internal void RunFirstStep()
    {
        _flags |= TaskletFlags.BodyEntered;
        Task task;
        try
        {
            task = RunAsync() ?? throw new InvalidOperationException($"{Describe()}: RunAsync returned null instead of a Task.");
        }
        catch (Exception e)
        {
            _body = null;
            Complete(e);
            return;
        }
        _body = task;
    }

    /// <summary>The body's task once started; null before and after.</summary>
    internal Task? BodyTask => _body as Task;

    /// <summary>Stores the result of a successful body (Tasklet&lt;T&gt; keeps its value).</summary>
    internal virtual void CaptureResult(Task body) { }

    /// <summary>Called after every step: finishes the tasklet if its body is done, or notes a foreign wait.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AfterStep(EventLoop loop)
    {
        if (_life != Lifecycle.Started) return;
        if (_body is Task task && task.IsCompleted)
        {
            Finish(task);
        }
        // A park still Parking was never awaited (the body awaits something else first): not a wait.
        else if ((_park is ParkState.None or ParkState.Parking) && _queued == 0 && (_flags & TaskletFlags.Foreign) == 0)
        {
            loop.EnterForeignWait(this);
        }
    }
}
