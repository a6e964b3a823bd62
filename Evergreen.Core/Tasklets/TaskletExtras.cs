namespace Evergreen;

/// <summary>
/// The parts of a tasklet that most tasklets never use, allocated on first use so that a plain
/// parked tasklet stays small: its name, joiners, outcome, pending kill, timed-park node, cancel
/// scopes, cancellation source and locals.
/// </summary>
internal sealed class TaskletExtras
{
    internal string? Name;

    /// <summary>Tasklets parked in JoinAsync or <c>await tasklet</c>.</summary>
    internal WaitQueue? Joiners;

    /// <summary>How the tasklet ended (Failed or Killed).</summary>
    internal Exception? Error;

    /// <summary>A kill not yet delivered (the tasklet was not parked when killed).</summary>
    internal Exception? PendingKill;

    /// <summary>The exception the current park was aborted with, thrown by its GetResult.</summary>
    internal Exception? ParkError;

    /// <summary>The reusable timer node for timed parks; -1 in <see cref="ParkTimeout"/> means none.</summary>
    internal TimerNode? ParkTimer;
    internal long ParkTimeout = -1;

    /// <summary>The innermost open cancel scope.</summary>
    internal CancelScope? Scope;

    internal CancellationTokenSource? KillSource;

    internal LocalSlot[]? Locals;
    internal int LocalCount;

    /// <summary>True once a completion callback is registered on the body task (foreign waits only).</summary>
    internal bool WatchingBody;

    /// <summary>Who owns the tasklet's outcome (a TaskGroup), told when it ends.</summary>
    internal ITaskletSupervisor? Supervisor;
}

/// <summary>One <see cref="TaskletLocal{T}"/> value held by a tasklet.</summary>
internal struct LocalSlot
{
    internal object Key;
    internal object Box;
}
