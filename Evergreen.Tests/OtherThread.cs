namespace Evergreen.Tests;

/// <summary>Uses primitives from a plain thread, to check that they refuse it.</summary>
internal static class OtherThread
{
    /// <summary>Runs <paramref name="action"/> on a new thread; returns what it threw (an InvalidOperationException is expected).</summary>
    public static Exception? Call(Action action)
    {
        var seen = CallEach(action)[0];
        Assert.IsType<InvalidOperationException>(seen);
        return seen;
    }

    /// <summary>Runs each action on one new thread, in order; returns what each threw (null where nothing was).</summary>
    public static List<Exception?> CallEach(params Action[] actions)
    {
        var seen = new List<Exception?>();
        var thread = new Thread(() =>
        {
            foreach (var action in actions)
            {
                try { action(); seen.Add(null); }
                catch (Exception e) { seen.Add(e); }
            }
        }) { IsBackground = true };
        thread.Start();
        thread.Join();
        return seen;
    }
}
