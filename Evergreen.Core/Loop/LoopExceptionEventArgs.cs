namespace Evergreen;

/// <summary>
/// An exception that nobody else would see: a tasklet failed with no one awaiting it, or a loop
/// callback threw. Raised through <see cref="EventLoop.UnhandledException"/>.
/// </summary>
public sealed class LoopExceptionEventArgs : EventArgs
{
    internal LoopExceptionEventArgs(Exception exception, Tasklet? tasklet, string source)
    {
        Exception = exception;
        Tasklet = tasklet;
        Source = source;
    }

    /// <summary>The exception.</summary>
    public Exception Exception { get; }

    /// <summary>The tasklet that failed, or null when a callback threw.</summary>
    public Tasklet? Tasklet { get; }

    /// <summary>Where it happened: "tasklet 'name' (#3)", "a CallSoon callback", ...</summary>
    public string Source { get; }

    /// <summary>The line the default handler writes: where, then what.</summary>
    public override string ToString() =>
        $"Evergreen: unhandled exception in {Source}: {Exception.GetType().FullName}: {Exception.Message}";
}
