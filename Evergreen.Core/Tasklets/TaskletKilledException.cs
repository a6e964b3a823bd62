namespace Evergreen;

/// <summary>
/// Thrown by <c>await tasklet</c> when that tasklet was killed. It is an
/// <see cref="OperationCanceledException"/>, not a <see cref="TaskletExit"/>: the awaiting tasklet
/// was not itself killed, and letting it escape makes the awaiter <see cref="TaskletState.Failed"/>.
/// </summary>
public sealed class TaskletKilledException : OperationCanceledException
{
    /// <summary>Creates the exception for a killed tasklet.</summary>
    public TaskletKilledException(Tasklet tasklet)
        : base($"{tasklet.Describe()} was killed")
    {
        Tasklet = tasklet;
    }

    /// <summary>The tasklet that was killed.</summary>
    public Tasklet Tasklet { get; }
}
