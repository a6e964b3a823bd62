using System.Text;

namespace Evergreen;

/// <summary>
/// Thrown by <see cref="EventLoop.Run()"/> when tasklets are parked and nothing can ever wake them:
/// nothing is ready, no timer or referenced handle is active, no <see cref="EventLoop.CallFromThread"/>
/// work is pending and no tasklet awaits a foreign task. The message lists each stuck tasklet and
/// what it waits on.
/// </summary>
public sealed class DeadlockException : Exception
{
    internal DeadlockException(IReadOnlyList<Tasklet> stuck) : base(Describe(stuck))
    {
        Tasklets = stuck;
    }

    /// <summary>The tasklets that can never wake.</summary>
    public IReadOnlyList<Tasklet> Tasklets { get; }

    private static string Describe(IReadOnlyList<Tasklet> stuck)
    {
        var text = new StringBuilder();
        text.Append("deadlock: ").Append(stuck.Count)
            .Append(stuck.Count == 1 ? " tasklet is" : " tasklets are")
            .Append(" parked and nothing can wake them:");
        foreach (var t in stuck)
        {
            text.Append("\n  - ").Append(t.Describe()).Append(" waiting on ").Append(t.WaitingOn ?? "nothing");
        }
        return text.ToString();
    }
}
