namespace Evergreen;

/// <summary>Where a <see cref="Tasklet"/> is in its life.</summary>
public enum TaskletState
{
    /// <summary>Constructed, not started.</summary>
    Created,
    /// <summary>Started and runnable: running now, or ready to run at the loop's next turn.</summary>
    Running,
    /// <summary>Waiting in a park (a sleep, a lock, another tasklet, I/O) for something to wake it.</summary>
    Parked,
    /// <summary>Its body returned.</summary>
    Completed,
    /// <summary>Its body threw (or it was killed with an exception other than <see cref="TaskletExit"/>).</summary>
    Failed,
    /// <summary>It was killed with <see cref="TaskletExit"/>, or its body let a <see cref="TaskletExit"/> escape.</summary>
    Killed,
}
