// HttpOriginPool: the keep-alive connections of one origin, and the bound on them.
//
// The pool counts units: at most MaxConnectionsPerOrigin connections open at once, idle, in use
// or still connecting (Open). A request takes an idle connection (the most recently used: the
// likeliest to be alive), or else, under the bound, the right to open one (a slot). Over the
// bound it parks in a FIFO WaitQueue. Whatever frees a unit (a connection put back idle, one
// closed, a connect that failed) wakes the first waiter and counts a handoff; until the woken
// waiter has run and taken its unit, a newcomer queues behind it instead of taking that unit, so
// the order is first come, first served even though the waiter runs a little later.
//
// Idle connections are closed after IdleTimeout by one loop timer per pool (not one per
// connection), set for the oldest idle connection and set again for the next when it fires. The
// stream of an idle connection keeps reading in the background, so a server that closed it is
// noticed when the connection is taken (HasEnded) and it is not handed out; a close that crosses
// the request on the wire is the request's to handle (HttpSession retries idempotent ones once).
//
// Must never: hand one connection to two requests, leave a waiter parked while a unit is free, or
// let Open differ from the connections and slots that exist.

using System.Diagnostics;
using System.Text;

namespace Evergreen.IO.Http;

/// <summary>The connections of one origin in an <see cref="HttpSession"/>, and the waiters for one.</summary>
[DebuggerDisplay("{ToString(),nq}")]
internal sealed class HttpOriginPool
{
    private readonly HttpSession _session;
    private readonly EventLoop _loop;
    private readonly List<HttpSessionConnection> _idle = new(); // oldest first; taken from the end
    private readonly WaitQueue _waiters;
    private readonly Action _sweepAction;
    private int _open;           // connections open or connecting: idle + in use
    private int _handoffs;       // waiters woken for a unit and not yet run
    private LoopCallback? _sweep;
    private bool _disposed;
    private byte[]? _commonHead; // "Host: ...\r\nUser-Agent: ...\r\nAccept-Encoding: ...\r\n"
    private string? _commonAgent;
    private bool _commonDecompress;

    public HttpOriginPool(HttpSession session, EventLoop loop, HttpOrigin origin)
    {
        _session = session;
        _loop = loop;
        Origin = origin;
        _waiters = new WaitQueue(this);
        _sweepAction = Sweep;
    }

    /// <summary>The origin whose connections these are.</summary>
    public HttpOrigin Origin { get; }

    /// <summary>Idle connections, ready for a request.</summary>
    public int IdleCount => _idle.Count;

    /// <summary>Connections in use by a request or a streamed response, or connecting.</summary>
    public int ActiveCount => _open - _idle.Count;

    /// <summary>Requests parked for a connection.</summary>
    public int WaitingCount => _waiters.Count;

    /// <summary>
    /// Takes an idle connection, or the right to open a new one (null: connect, then use the
    /// connection, or call <see cref="ReleaseSlot"/> if the connect fails). Parks while the bound
    /// is reached. A yield point only when it parks; a cancelled call takes nothing.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    public ValueTask<HttpSessionConnection?> TakeAsync()
    {
        if (_disposed) throw Disposed();
        if (_handoffs == 0 && _waiters.IsEmpty && TryTake(out var connection)) return new ValueTask<HttpSessionConnection?>(connection);
        return TakeInTurnAsync();
    }

    private async ValueTask<HttpSessionConnection?> TakeInTurnAsync()
    {
        while (true)
        {
            await _waiters.ParkAsync(); // a kill or timeout leaves the queue; woken means a handoff was counted
            _handoffs--;
            if (_disposed) throw Disposed();
            if (TryTake(out var connection)) return connection;
            // The bound was lowered meanwhile: wait for the next unit.
        }
    }

    private bool TryTake(out HttpSessionConnection? connection)
    {
        while (_idle.Count > 0)
        {
            var c = _idle[^1];
            _idle.RemoveAt(_idle.Count - 1);
            if (c.CanReuse)
            {
                connection = c;
                return true;
            }
            c.Close(); // the server closed it while it was idle
            _open--;
        }
        connection = null;
        if (_open >= _session.Options.MaxConnectionsPerOrigin) return false;
        _open++;
        return true;
    }

    /// <summary>
    /// Takes back a connection a request is done with: idle if <paramref name="reusable"/> (the
    /// response said keep-alive and its body was read to the end), else closed. Wakes the next
    /// waiter. Not a yield point.
    /// </summary>
    public void Return(HttpSessionConnection connection, bool reusable)
    {
        Debug.Assert(_loop.CheckAccess() && !_idle.Contains(connection));
        if (reusable && !_disposed && connection.CanReuse)
        {
            connection.IdleSince = _loop.Time;
            _idle.Add(connection);
            ArmSweep();
        }
        else
        {
            connection.Close();
            _open--;
        }
        UnitFreed();
    }

    /// <summary>Gives back the right to open a connection (the connect failed). Not a yield point.</summary>
    public void ReleaseSlot()
    {
        _open--;
        UnitFreed();
    }

    private void UnitFreed()
    {
        Debug.Assert(_open >= _idle.Count && _idle.Count >= 0);
        if (!_disposed && _waiters.UnparkOne())
        {
            _handoffs++;
            return;
        }
        ForgetIfEmpty();
    }

    private void ForgetIfEmpty()
    {
        if (_open != 0 || _handoffs != 0 || !_waiters.IsEmpty) return;
        // Nothing idle is left to time out: a pending timer would only keep the loop alive.
        _sweep?.Cancel();
        _sweep = null;
        _session.Forget(this);
    }

    // --- idle timeout ------------------------------------------------------------------------------

    private void ArmSweep()
    {
        if (_sweep is not null || _idle.Count == 0 || _disposed) return;
        var idleFor = _loop.Time - _idle[0].IdleSince;
        var wait = _session.Options.IdleTimeout - idleFor; // no overflow: idleFor is small and positive
        _sweep = _loop.CallLater(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _sweepAction);
    }

    /// <summary>The idle timer: closes the connections idle for IdleTimeout (and any the server closed).</summary>
    private void Sweep()
    {
        _sweep = null;
        if (_disposed) return;
        var now = _loop.Time;
        var timeout = _session.Options.IdleTimeout;
        int kept = 0;
        for (int i = 0; i < _idle.Count; i++)
        {
            var c = _idle[i];
            if (now - c.IdleSince >= timeout || !c.CanReuse)
            {
                c.Close();
                _open--;
            }
            else
            {
                _idle[kept++] = c;
            }
        }
        _idle.RemoveRange(kept, _idle.Count - kept);
        ArmSweep();
        ForgetIfEmpty();
    }

    // --- the request head's fixed part -------------------------------------------------------------

    /// <summary>
    /// The header lines every request to this origin starts with (Host, User-Agent and, when
    /// decompressing, Accept-Encoding), as bytes built once and rebuilt only when the options change.
    /// </summary>
    public ReadOnlySpan<byte> CommonHead(HttpSessionOptions options)
    {
        if (_commonHead is null || !ReferenceEquals(_commonAgent, options.UserAgent) || _commonDecompress != options.AutomaticDecompression)
        {
            var text = new StringBuilder();
            text.Append("Host: ").Append(Origin.HostHeader).Append("\r\n");
            text.Append("User-Agent: ").Append(options.UserAgent).Append("\r\n");
            if (options.AutomaticDecompression) text.Append("Accept-Encoding: ").Append(HttpSession.AcceptEncoding).Append("\r\n");
            _commonHead = Encoding.Latin1.GetBytes(text.ToString());
            _commonAgent = options.UserAgent;
            _commonDecompress = options.AutomaticDecompression;
        }
        return _commonHead;
    }

    // --- disposal ----------------------------------------------------------------------------------

    /// <summary>
    /// Closes the idle connections (adding their streams to <paramref name="closing"/>, to wait
    /// for), stops the timer, and fails the waiters. Connections in use are closed when returned.
    /// </summary>
    public void Dispose(List<IOStream> closing)
    {
        if (_disposed) return;
        _disposed = true;
        _sweep?.Cancel();
        _sweep = null;
        foreach (var c in _idle)
        {
            c.Close();
            closing.Add(c.Stream);
            _open--;
        }
        _idle.Clear();
        _waiters.UnparkAll(Disposed());
    }

    private ObjectDisposedException Disposed() => new(nameof(HttpSession), $"the HttpSession was disposed while a request to {Origin} waited for a connection.");

    public override string ToString() => $"HTTP connection pool {Origin}: {IdleCount} idle, {ActiveCount} active, {WaitingCount} waiting";
}
