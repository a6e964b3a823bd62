// TcpServer: a listening socket that accepts connections, one tasklet per connection.
//
// libuv calls OnConnection when a connection is pending. Serving (ServeAsync), the server
// accepts it there and spawns a handler tasklet for it at once. Otherwise the connection is left
// pending and an AcceptAsync caller is woken to take it; while one is pending libuv stops
// watching the socket (it holds one accepted descriptor at a time), so connections nobody
// accepts wait in the kernel's backlog: backpressure instead of a queue.
//
// A handler's connection is closed when the handler ends; a handler that throws fails its own
// tasklet, which the loop reports (nobody awaits it), and nothing else is affected. A handler
// ended by its peer going away (ECONNRESET, EPIPE, ECONNABORTED, however wrapped) is routine for
// a server, not a crash: it goes to PeerDisconnected, by default one line on stderr at most every
// second, and the handler's tasklet ends normally. CloseAsync
// stops accepting, waits for the handlers up to the drain deadline, kills the rest, waits for
// them to unwind, and releases the socket.
//
// Running out of file descriptors does not stop the server. libuv, when accept fails with EMFILE,
// closes a reserve descriptor and uses it to accept and drop the pending connections, silently.
// So the server watches its own headroom: when an accepted connection's descriptor comes near
// the process limit (probed with dup on the listening socket), it reports it (AcceptError; by
// default a line on stderr at most every second) and backs off: it leaves the next connection
// pending, so libuv stops accepting and new connections wait in the kernel's backlog instead of
// being dropped, and retries after 50 ms, doubling up to 1 s, until descriptors are free again.
// If libuv does pass EMFILE on (its reserve descriptor was gone), the server reports it, closes
// the listening socket (the only way out of libuv's accept loop) and listens again on the same
// address after the same back-off.
//
// Must never: leave a handler running or a handle open after CloseAsync, or accept after close.

using System.Diagnostics;
using System.Net;
using Evergreen.IO.Native;
using Evergreen.Native;

namespace Evergreen.IO;

/// <summary>
/// A TCP server. Bind, listen, then serve each connection in its own tasklet:
/// <code>
/// var server = new TcpServer();
/// server.Bind(new IPEndPoint(IPAddress.Loopback, 8000));
/// server.Listen();
/// await server.ServeAsync(async conn =>
/// {
///     while (await conn.ReadLineAsync() is { } line) await conn.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
/// });
/// </code>
/// or take connections one by one with <see cref="AcceptAsync"/>. Loop thread only.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class TcpServer : IAsyncDisposable
{
    private readonly EventLoop _loop;
    private UvTcpHandle _handle;
    private readonly HashSet<TcpConnection> _connections = new();
    private readonly HashSet<Tasklet> _handlers = new();
    private readonly WaitQueue _acceptors;
    private readonly WaitQueue _drained;
    private Func<TcpConnection, Task>? _handler;
    private IPEndPoint? _local;
    private IPEndPoint? _bindEndPoint;
    private bool _bound, _listening, _pending, _closing, _closed;
    private long _lastErrorLine, _lastDisconnectLine;
    private int _backlog;
    private TimeSpan _backoff;         // the current back-off while out of descriptors; zero when not backing off
    private LoopCallback? _retry;

    /// <summary>Creates a server on the current thread's loop; <see cref="Bind"/> and <see cref="Listen"/> it next.</summary>
    /// <exception cref="InvalidOperationException">There is no loop on this thread.</exception>
    public TcpServer()
    {
        _loop = EventLoop.Current;
        _handle = new UvTcpHandle(_loop, "tcp server") { Server = this };
        _acceptors = new WaitQueue(this);
        _drained = new WaitQueue(this);
    }

    internal EventLoop Loop => _loop;

    /// <summary>Whether accepted connections get TCP_NODELAY (on by default, as for <see cref="TcpStream"/>).</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// Called for an accept error (such as EMFILE, out of file descriptors) instead of the
    /// default, one line on stderr at most every second. The server keeps accepting either way.
    /// </summary>
    public Action<UvException>? AcceptError { get; set; }

    /// <summary>How many accept errors happened.</summary>
    public long AcceptErrorCount { get; private set; }

    /// <summary>
    /// Called when a <see cref="ServeAsync"/> handler ends with its peer gone away: the
    /// exception it let escape is (or wraps) a <see cref="UvException"/> ECONNRESET, EPIPE or
    /// ECONNABORTED. Routine for a server, so it is not an unhandled failure: without a hook, one
    /// line on stderr (no stack) at most every second. Its handler's tasklet ends normally either
    /// way; any other exception is still reported through <see cref="EventLoop.UnhandledException"/>.
    /// </summary>
    public Action<TcpConnection, UvException>? PeerDisconnected { get; set; }

    /// <summary>How many <see cref="ServeAsync"/> handlers ended with their peer gone away (see <see cref="PeerDisconnected"/>).</summary>
    public long PeerDisconnectCount { get; private set; }

    /// <summary>The address the server listens on (with the port the system chose for port 0).</summary>
    public IPEndPoint? LocalEndPoint => _local ??= LocalName();

    /// <summary>The open connections the server accepted.</summary>
    public IReadOnlyCollection<TcpConnection> Connections
    {
        get
        {
            _loop.VerifyAccess("TcpServer.Connections");
            return _connections.ToArray();
        }
    }

    /// <summary>True once <see cref="CloseAsync"/> has started: no more connections are accepted.</summary>
    public bool IsClosed => _closing;

    /// <summary>Binds the listening socket to <paramref name="endPoint"/> (port 0: the system picks one).</summary>
    /// <param name="endPoint">The local address and port.</param>
    /// <param name="ipv6Only">For an IPv6 address, refuse IPv4 connections (no dual stack).</param>
    /// <exception cref="UvException">The address cannot be bound.</exception>
    /// <exception cref="InvalidOperationException">Already bound or closed, or called from another thread.</exception>
    public void Bind(IPEndPoint endPoint, bool ipv6Only = false)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        Check("Bind");
        if (_bound) throw new InvalidOperationException($"{this} is already bound.");
        TcpStream.Bind(_handle, endPoint, ipv6Only ? LibUvNet.TcpIPv6Only : 0);
        _bound = true;
        _bindEndPoint = endPoint;
        _local = null;
    }

    /// <summary>Starts listening; connections then wait in a backlog of <paramref name="backlog"/> until accepted.</summary>
    /// <exception cref="UvException">The socket cannot listen (EADDRINUSE: the address is taken).</exception>
    /// <exception cref="InvalidOperationException">Not bound, already listening, or closed.</exception>
    public unsafe void Listen(int backlog = 511)
    {
        Check("Listen");
        if (!_bound) throw new InvalidOperationException($"{this} must be bound (Bind) before it listens.");
        if (_listening) throw new InvalidOperationException($"{this} is already listening.");
        if (backlog < 1) throw new ArgumentOutOfRangeException(nameof(backlog), backlog, "the backlog must be at least 1");
        int rc = LibUvNet.uv_listen(_handle.Handle, backlog, UvTcpHandle.ConnectionCallback);
        // libuv reports a taken address here, not in bind.
        if (rc < 0) throw new UvException(rc, "listen", _bindEndPoint!.ToString(), "on");
        _listening = true;
        _backlog = backlog;
        _local = LocalName();
    }

    private void Check(string member)
    {
        if (!_loop.CheckAccess()) _loop.VerifyAccess($"TcpServer.{member}");
        if (_closing) throw new InvalidOperationException($"{member}: {this} is closed.");
    }

    private unsafe IPEndPoint? LocalName()
    {
        if (_handle.IsClosing || _handle.IsClosed) return null;
        byte* addr = stackalloc byte[SockAddr.StorageSize];
        int length = SockAddr.StorageSize;
        return LibUvNet.uv_tcp_getsockname(_handle.Handle, addr, &length) < 0 ? null : SockAddr.ReadEndPoint(addr);
    }

    // --- accepting -----------------------------------------------------------------------------

    internal void OnConnection(int status)
    {
        if (_closing) return;
        if (status < 0)
        {
            var error = new UvException(status, "accept", LocalEndPoint?.ToString(), "on");
            ReportAcceptError(error);
            if (status == UvError.EMFILE || status == UvError.ENFILE) ListenAgainLater();
            return;
        }
        _pending = true; // libuv holds it, and stops watching until it is accepted
        if (_backoff > TimeSpan.Zero) return; // backing off: the retry takes it
        if (_handler is not null)
        {
            AcceptPendingAndServe();
            return;
        }
        _acceptors.UnparkOne();
    }

    /// <summary>Serving: accepts the pending connection and spawns its handler, unless descriptors run short.</summary>
    private void AcceptPendingAndServe()
    {
        _pending = false;
        if (Accept() is not { } connection) return;
        SpawnHandler(connection);
        if (NearDescriptorLimit(connection, out string detail))
        {
            _backoff = TimeSpan.FromMilliseconds(50);
            ReportAcceptError(new UvException(UvError.EMFILE, "accept", $"{LocalEndPoint} ({detail}; pausing accepts for {_backoff.TotalMilliseconds:0} ms)", "on"));
            _retry = _loop.CallLater(_backoff, RetryAfterBackoff);
        }
    }

    private void RetryAfterBackoff()
    {
        _retry = null;
        if (_closing) return;
        if (ProbeFreeDescriptor() is { } detail)
        {
            _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, TimeSpan.TicksPerSecond));
            _retry = _loop.CallLater(_backoff, RetryAfterBackoff);
            return;
        }
        _backoff = TimeSpan.Zero;
        if (_pending && _handler is not null) AcceptPendingAndServe();
        else if (_pending) _acceptors.UnparkOne();
    }

    /// <summary>Descriptors counted as headroom: fewer free than this and the server backs off.</summary>
    private const int DescriptorHeadroom = 8;

    private bool NearDescriptorLimit(TcpConnection connection, out string detail)
    {
        detail = "";
        long limit = Descriptors.SoftLimit;
        if (limit <= 0) return false;
        int fd = connection.FileDescriptor;
        if (fd < limit - 4 * DescriptorHeadroom) return false; // descriptors are handed out lowest first: plenty left
        return (detail = ProbeFreeDescriptor() ?? "") != "";
    }

    /// <summary>Null when descriptors are free; otherwise why not ("descriptor 60 of 64").</summary>
    private string? ProbeFreeDescriptor()
    {
        long limit = Descriptors.SoftLimit;
        if (limit <= 0) return null;
        int probe = Descriptors.LowestFree(_handle);
        if (probe == int.MinValue) return null;
        if (probe < 0) return $"no descriptor free under the limit of {limit}";
        return probe >= limit - DescriptorHeadroom ? $"the lowest free descriptor is {probe} of a limit of {limit}" : null;
    }

    /// <summary>libuv passed EMFILE on: close the socket (the only way out of its accept loop) and listen again after a back-off.</summary>
    private void ListenAgainLater()
    {
        if (_closing || _backoff > TimeSpan.Zero && _retry is not null && !_handle.IsClosing) return;
        _backoff = _backoff > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, TimeSpan.TicksPerSecond)) : TimeSpan.FromMilliseconds(50);
        var at = LocalEndPoint;
        _handle.Server = null;
        _handle.Close();
        _pending = false;
        _retry = _loop.CallLater(_backoff, () =>
        {
            _retry = null;
            if (_closing || at is null) return;
            try
            {
                _handle = new UvTcpHandle(_loop, "tcp server") { Server = this };
                TcpStream.Bind(_handle, at, 0);
                unsafe { UvException.ThrowIfError(LibUvNet.uv_listen(_handle.Handle, _backlog, UvTcpHandle.ConnectionCallback), "listen", at.ToString()); }
                _backoff = TimeSpan.Zero;
            }
            catch (UvException e)
            {
                ReportAcceptError(e);
                ListenAgainLater();
            }
        });
    }

    private TcpConnection? Accept()
    {
        var handle = new UvTcpHandle(_loop, "accepted tcp connection");
        int rc = LibUvNet.uv_accept(_handle.Handle, handle.Handle);
        if (rc < 0)
        {
            handle.Close();
            ReportAcceptError(new UvException(rc, "accept", LocalEndPoint?.ToString(), "on"));
            return null;
        }
        var connection = new TcpConnection(this, handle);
        _connections.Add(connection);
        if (NoDelay)
        {
            try { connection.NoDelay = true; }
            catch (UvException) { /* the peer is already gone: its first read will say so */ }
        }
        return connection;
    }

    private void ReportAcceptError(UvException error)
    {
        AcceptErrorCount++;
        if (AcceptError is { } handler)
        {
            try { handler(error); }
            catch (Exception e) { _loop.Report(e, null, $"the AcceptError handler of {this}"); }
            return;
        }
        long now = Stopwatch.GetTimestamp();
        if (now - _lastErrorLine < Stopwatch.Frequency) return;
        _lastErrorLine = now;
        Console.Error.WriteLine($"Evergreen: {this}: {error.Message}; the server goes on ({AcceptErrorCount} accept errors so far).");
    }

    /// <summary>The libuv error that says the peer went away, in <paramref name="error"/> or what it wraps; else null.</summary>
    private static UvException? PeerWentAway(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is UvException { ErrorName: "ECONNRESET" or "EPIPE" or "ECONNABORTED" } uv) return uv;
        }
        return null;
    }

    private void ReportPeerDisconnect(TcpConnection connection, UvException error)
    {
        PeerDisconnectCount++;
        if (PeerDisconnected is { } hook)
        {
            try { hook(connection, error); }
            catch (Exception e) { _loop.Report(e, null, $"the PeerDisconnected handler of {this}"); }
            return;
        }
        long now = Stopwatch.GetTimestamp();
        if (now - _lastDisconnectLine < Stopwatch.Frequency) return;
        _lastDisconnectLine = now;
        Console.Error.WriteLine(
            $"Evergreen: {this}: the peer {connection.RemoteEndPoint} went away ({error.Message}); its handler ended ({PeerDisconnectCount} so far).");
    }

    /// <summary>
    /// Waits for the next connection and returns it; the caller owns it (close it). A yield
    /// point when none is pending.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The server was closed.</exception>
    /// <exception cref="InvalidOperationException">Not listening, serving with <see cref="ServeAsync"/>, not in a tasklet, or another thread.</exception>
    public async ValueTask<TcpConnection> AcceptAsync()
    {
        CheckAcceptable("AcceptAsync");
        if (_handler is not null) throw new InvalidOperationException($"AcceptAsync: {this} is serving with ServeAsync, which accepts every connection itself.");
        while (true)
        {
            if (_closing) throw new ObjectDisposedException(ToString(), $"{this} was closed.");
            if (_pending && _backoff == TimeSpan.Zero)
            {
                _pending = false;
                if (Accept() is { } connection) return connection;
                continue;
            }
            await _acceptors.ParkAsync();
        }
    }

    /// <summary>
    /// Serves every connection: accepts it and runs <paramref name="handler"/> for it in a tasklet
    /// of its own; when the handler ends, the connection is closed. A handler that throws is
    /// reported through <see cref="EventLoop.UnhandledException"/> and only its connection is
    /// closed; one that ends because its peer went away (ECONNRESET, EPIPE) is not a failure, and
    /// goes to <see cref="PeerDisconnected"/>. Returns once <see cref="CloseAsync"/> has finished. Killing the serving tasklet (or
    /// its deadline passing) closes the server at once: the handlers are killed, and the kill or
    /// timeout then goes on.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not listening, already serving, not in a tasklet, or another thread.</exception>
    public async Task ServeAsync(Func<TcpConnection, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        CheckAcceptable("ServeAsync");
        if (_handler is not null) throw new InvalidOperationException($"{this} is already serving.");
        _handler = handler;
        if (_pending && _backoff == TimeSpan.Zero) AcceptPendingAndServe();
        _acceptors.UnparkAll(new InvalidOperationException($"{this} started serving with ServeAsync, which takes every connection."));
        try
        {
            while (!_closed) await _drained.ParkAsync();
        }
        catch (Exception) when (!_closed)
        {
            await CloseAsync(TimeSpan.Zero);
            throw;
        }
    }

    private void CheckAcceptable(string member)
    {
        if (!_loop.CheckAccess()) _loop.VerifyAccess($"TcpServer.{member}");
        if (_closing) throw new ObjectDisposedException(ToString(), $"{member}: {this} is closed.");
        if (!_listening) throw new InvalidOperationException($"{member}: {this} is not listening (call Bind and Listen first).");
    }

    private void SpawnHandler(TcpConnection connection)
    {
        var handler = _handler!;
        Tasklet? me = null;
        me = _loop.Spawn(async () =>
        {
            try
            {
                await handler(connection);
            }
            catch (Exception e) when (PeerWentAway(e) is { } gone)
            {
                ReportPeerDisconnect(connection, gone);
            }
            finally
            {
                try
                {
                    // A kill that came while the handler was not parked (it then ended some other
                    // way) lands on this park: the connection still closes, and the handler must
                    // still leave the set CloseAsync waits on.
                    await connection.DisposeAsync();
                }
                finally
                {
                    _handlers.Remove(me!);
                    if (_handlers.Count == 0) _drained.UnparkAll();
                }
            }
        }, $"connection from {connection.RemoteEndPoint}");
        _handlers.Add(me);
    }

    internal void Forget(TcpConnection connection) => _connections.Remove(connection);

    // --- closing -------------------------------------------------------------------------------

    /// <summary>
    /// Stops accepting, waits up to <paramref name="drain"/> for the handlers of open connections
    /// to end, then kills those still running and waits for them to unwind (their connections
    /// close as they end). Connections taken with <see cref="AcceptAsync"/> belong to their
    /// caller and stay open. Returns once the listening socket is released. A yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not called from a tasklet, or from another thread.</exception>
    public async ValueTask CloseAsync(TimeSpan drain)
    {
        _loop.VerifyAccess("TcpServer.CloseAsync");
        _ = Tasklet.RequireCurrent("TcpServer.CloseAsync");
        if (!_closing)
        {
            _closing = true;
            _retry?.Cancel();
            _retry = null;
            _acceptors.UnparkAll(new ObjectDisposedException(ToString(), $"{this} was closed."));
            _handle.Close();
        }
        try
        {
            if (_handlers.Count > 0 && drain > TimeSpan.Zero)
            {
                long deadline = Stopwatch.GetTimestamp() + (long)(drain.TotalSeconds * Stopwatch.Frequency);
                while (_handlers.Count > 0)
                {
                    long left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0) break;
                    await _drained.ParkAsync(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency));
                }
            }
        }
        finally
        {
            // Past the drain (or cut short): the handlers still running are killed.
            foreach (var handler in _handlers.ToArray()) handler.Kill();
        }
        while (_handlers.Count > 0) await _drained.ParkAsync();
        while (!_handle.IsClosed) await _drained.ParkAsync();
        if (!_closed)
        {
            _closed = true;
            _drained.UnparkAll();
        }
    }

    internal void OnHandleClosed() => _drained.UnparkAll();

    /// <summary>Closes the server without a drain (see <see cref="CloseAsync"/>).</summary>
    public ValueTask DisposeAsync() => _closed ? default : CloseAsync(TimeSpan.Zero);

    /// <inheritdoc/>
    public override string ToString() => $"TcpServer on {(_local ?? (_bound ? LocalName() : null))?.ToString() ?? "(not bound)"}";
}
