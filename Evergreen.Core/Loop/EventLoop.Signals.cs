using Evergreen.Native;

namespace Evergreen;

public sealed partial class EventLoop
{
    private readonly Dictionary<int, SignalWatch> _signals = new();

    private sealed class SignalWatch(UvSignal handle)
    {
        internal readonly UvSignal Handle = handle;
        internal readonly List<LoopCallback> Handlers = new();
    }

    /// <summary>
    /// Runs <paramref name="handler"/> on the loop whenever signal <paramref name="signum"/>
    /// arrives. Several handlers per signal run in the order added; cancelling the returned
    /// callback removes only that handler. A signal handler does not keep <see cref="Run()"/> alive.
    /// libuv replaces the process's handler for that signal while one is installed, and restores
    /// the default when the last is removed.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="signum"/> is not positive.</exception>
    /// <exception cref="UvException">libuv cannot watch that signal (EINVAL).</exception>
    public LoopCallback AddSignalHandler(int signum, Action handler)
    {
        if (signum <= 0) throw new ArgumentOutOfRangeException(nameof(signum), signum, "a signal number is positive");
        ArgumentNullException.ThrowIfNull(handler);
        CheckThread("EventLoop.AddSignalHandler");
        ThrowIfDisposed();
        if (!_signals.TryGetValue(signum, out var watch))
        {
            var handle = new UvSignal(this, signum, OnSignal);
            handle.Start();
            handle.Unref();
            watch = new SignalWatch(handle);
            _signals.Add(signum, watch);
        }
        var cb = new LoopCallback(this, handler, "signal", timed: false, signum);
        watch.Handlers.Add(cb);
        return cb;
    }

    /// <summary>Removes every handler of signal <paramref name="signum"/>.</summary>
    /// <returns>True if there was one.</returns>
    public bool RemoveSignalHandler(int signum)
    {
        CheckThread("EventLoop.RemoveSignalHandler");
        if (!_signals.Remove(signum, out var watch)) return false;
        foreach (var cb in watch.Handlers.ToArray()) cb.Cancel();
        watch.Handle.Close();
        return true;
    }

    internal void RemoveSignalCallback(LoopCallback cb)
    {
        if (!_signals.TryGetValue(cb.Signum, out var watch)) return;
        watch.Handlers.Remove(cb);
        if (watch.Handlers.Count == 0)
        {
            _signals.Remove(cb.Signum);
            watch.Handle.Close();
        }
    }

    private void OnSignal(int signum)
    {
        if (!_signals.TryGetValue(signum, out var watch)) return;
        foreach (var cb in watch.Handlers) EnqueueCallback(cb);
    }
}
