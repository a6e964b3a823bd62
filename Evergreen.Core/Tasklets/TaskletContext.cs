using System.Diagnostics;

namespace Evergreen;

/// <summary>
/// The <see cref="SynchronizationContext"/> installed while a tasklet runs, one per tasklet. An
/// <c>await</c> of an ordinary <see cref="Task"/> captures it, so the continuation comes back to the
/// loop thread as a step of the same tasklet, from whatever thread completed the task. That is what
/// keeps <see cref="Tasklet.Current"/> right across awaits of foreign tasks.
/// </summary>
internal sealed class TaskletContext : SynchronizationContext
{
    internal TaskletContext(EventLoop loop, Tasklet? tasklet)
    {
        Loop = loop;
        Tasklet = tasklet;
    }

    internal EventLoop Loop { get; }

    /// <summary>The tasklet, or null for the loop's own context (callbacks outside tasklets).</summary>
    internal Tasklet? Tasklet { get; }

    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        Loop.PostToContext(Tasklet, d, state);
    }

    public override void Send(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (Loop.IsLoopThread)
        {
            d(state);
            return;
        }
        // Another thread: Send's contract is to block the caller until the loop has run d. This
        // never runs on the loop thread (handled above), so the loop itself never blocks here.
        using var done = new ManualResetEventSlim();
        Exception? error = null;
        Loop.PostToContext(Tasklet, s =>
        {
            try { d(s); }
            catch (Exception e) { error = e; }
            finally { done.Set(); }
        }, state);
        done.Wait();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }

    public override SynchronizationContext CreateCopy() => this;

    public override string ToString() => Tasklet is null ? "EventLoop context" : $"context of {Tasklet.Describe()}";
}
