namespace Evergreen;

/// <summary>
/// Delivered to a tasklet by <see cref="Tasklet.Kill"/> at its current (or next) park. Let it
/// propagate: a tasklet that ends with it is <see cref="TaskletState.Killed"/>, and it is never
/// reported as unhandled. (Evergreen's and greenlet's <c>TaskletExit</c>/<c>GreenletExit</c>.)
/// Not named <c>…Exception</c> on purpose: it is a control-flow signal, like Stackless's
/// <c>TaskletExit</c> and trio's <c>Cancelled</c>, not an error to handle. Clean up in
/// <c>finally</c>; code that catches it must rethrow it. What an awaiter of the killed tasklet
/// sees is an error, and follows the convention: <see cref="TaskletKilledException"/>.
/// </summary>
public sealed class TaskletExit : Exception
{
    /// <summary>Creates the exception with the default message.</summary>
    public TaskletExit() : base("the tasklet was killed") { }

    /// <summary>Creates the exception with a message.</summary>
    public TaskletExit(string message) : base(message) { }
}
