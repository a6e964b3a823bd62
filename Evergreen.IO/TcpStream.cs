// TcpStream: a TCP connection as an IOStream, on a libuv uv_tcp_t.
//
// Reading is push: once a reader asks for bytes, uv_read_start makes libuv read into the free
// tail of the stream's pinned buffer (OnAlloc) and append (OnRead), waking the reader if it is
// parked. Reading goes on while nobody reads, until the buffer passes its high-water mark; then
// uv_read_stop, so the kernel's window fills and the peer's writes wait (backpressure). It
// resumes when a reader next waits for bytes.
//
// Writing tries uv_try_write first: on an idle connection the whole write is handed to the
// kernel at once, without a request, a pin or a yield. What the kernel does not take is queued
// with uv_write from the caller's memory, pinned until the write callback, and the writer parks
// until then, so a slow peer slows its writer (backpressure), and one write at a time is queued:
// other writers wait their turn in FIFO. Reads, writes, shutdown, connect and the close wait
// each use one reusable ParkedOperation, so steady-state reads and writes allocate nothing.
//
// Must never: touch the buffer from libuv once closed (reads stop at uv_close), unpin a write's
// memory before its callback, or wake a parked tasklet twice.

using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Evergreen.IO.Native;
using Evergreen.Native;

namespace Evergreen.IO;

/// <summary>
/// A TCP connection: <see cref="ConnectAsync(string, int, IPEndPoint?)"/> opens one; a
/// <see cref="TcpServer"/> accepts them (as <see cref="TcpConnection"/>). Reads and writes park
/// the tasklet (see <see cref="IOStream"/>). <see cref="NoDelay"/> is on by default. Dispose it
/// (<c>await using</c>) to close it. Loop thread only.
/// </summary>
public class TcpStream : IOStream
{
    /// <summary>The least free space a read into the buffer gets.</summary>
    private const int MinReadSpace = 4 * 1024;

    private protected readonly UvTcpHandle _handle;
    private protected IPEndPoint? _remote;
    private IPEndPoint? _local;
    private bool _readActive;           // uv_read_start is in effect
    private bool _writeBusy;            // a uv_write is queued
    private bool _shutdown;             // ShutdownAsync was called
    private bool _noDelay;
    private WaitQueue? _writeTurn;      // writers waiting for the queued write to finish
    private WaitQueue? _closeWaiters;   // DisposeAsync callers waiting for the close callback
    private ReadOperation? _readOp;
    private WriteOperation? _writeOp;
    private StatusOperation? _shutdownOp;
    private StatusOperation? _connectOp;

    private protected TcpStream(EventLoop loop, UvTcpHandle handle) : base(loop)
    {
        _handle = handle;
        handle.Stream = this;
    }

    // --- connecting ------------------------------------------------------------------------------

    /// <summary>
    /// Connects to <paramref name="host"/> (a name, resolved with <see cref="Resolver"/>, or an IP
    /// literal) on <paramref name="port"/>, trying each address in turn until one accepts. A kill
    /// or an expired <see cref="CancelScope"/> cancels the attempt and closes its socket.
    /// </summary>
    /// <param name="host">A host name, or an IPv4 or IPv6 address.</param>
    /// <param name="port">The TCP port.</param>
    /// <param name="localEndPoint">The local address (and port) to connect from, or null for any.</param>
    /// <exception cref="UvException">Every address failed (the last failure, naming the host); or the name did not resolve (EAI_*).</exception>
    /// <exception cref="ArgumentException">An empty host or a port out of range.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static async ValueTask<TcpStream> ConnectAsync(string host, int port, IPEndPoint? localEndPoint = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        CheckPort(port);
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Resolver.ResolveAsync(host, localEndPoint?.AddressFamily);
        UvException? last = null;
        foreach (var address in addresses)
        {
            try
            {
                return await ConnectAsync(new IPEndPoint(address, port), localEndPoint);
            }
            catch (UvException e)
            {
                last = e;
            }
        }
        if (last is null) throw new UvException(UvError.ECANCELED, "connect", $"{host}:{port} (the name resolved to no address)");
        throw addresses.Length == 1 ? last : new UvException(last.ErrorCode, "connect", $"{host}:{port} (each of its {addresses.Length} addresses failed; the last: {last.Target})");
    }

    /// <summary>Connects to <paramref name="remoteEndPoint"/>; see <see cref="ConnectAsync(string, int, IPEndPoint?)"/>.</summary>
    /// <exception cref="UvException">The connection failed, e.g. <c>ECONNREFUSED in connect to 127.0.0.1:9</c>.</exception>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static async ValueTask<TcpStream> ConnectAsync(IPEndPoint remoteEndPoint, IPEndPoint? localEndPoint = null)
    {
        ArgumentNullException.ThrowIfNull(remoteEndPoint);
        var tasklet = Tasklet.RequireCurrent("TcpStream.ConnectAsync");
        var loop = tasklet.Loop!;
        var stream = new TcpStream(loop, new UvTcpHandle(loop, $"tcp connection to {remoteEndPoint}", remoteEndPoint.AddressFamily)) { _remote = remoteEndPoint };
        try
        {
            if (localEndPoint is not null) Bind(stream._handle, localEndPoint, 0);
            BeforeConnect?.Invoke(stream.FileDescriptor);
            await stream.ConnectCoreAsync(tasklet, remoteEndPoint);
            stream.NoDelay = true;
            return stream;
        }
        catch
        {
            stream.Close();
            throw;
        }
    }

    private unsafe ValueTask ConnectCoreAsync(Tasklet tasklet, IPEndPoint remote)
    {
        var req = _handle.NewRequest(UvReqType.Connect);
        byte* addr = stackalloc byte[SockAddr.StorageSize];
        SockAddr.Write(remote, addr);
        int rc = LibUvNet.uv_tcp_connect(req, _handle.Handle, addr, UvTcpHandle.ConnectCallback);
        if (rc < 0)
        {
            UvTcpHandle.FreeRequest(req);
            throw new UvException(rc, "connect", remote.ToString());
        }
        var op = _connectOp = new StatusOperation(this, "connect");
        return op.Start();
    }

    internal void OnConnected(int status) => _connectOp?.Complete(status);

    /// <summary>Tests: called with each connecting socket's descriptor before it connects (to set kernel options); per thread, so per loop.</summary>
    [ThreadStatic] internal static Action<int>? BeforeConnect;

    internal static unsafe void Bind(UvTcpHandle handle, IPEndPoint endPoint, uint flags)
    {
        byte* addr = stackalloc byte[SockAddr.StorageSize];
        SockAddr.Write(endPoint, addr);
        int rc = LibUvNet.uv_tcp_bind(handle.Handle, addr, flags);
        if (rc < 0) throw new UvException(rc, "bind", endPoint.ToString());
    }

    private protected static void CheckPort(int port)
    {
        if (port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "a TCP port is 0 to 65535");
    }

    // --- endpoints and options -----------------------------------------------------------------

    /// <inheritdoc/>
    public override EndPoint? LocalEndPoint => _local ??= Name(local: true);

    /// <inheritdoc/>
    public override EndPoint? RemoteEndPoint => _remote ??= Name(local: false);

    private unsafe IPEndPoint? Name(bool local)
    {
        if (_closed || _handle.IsClosing) return null;
        byte* addr = stackalloc byte[SockAddr.StorageSize];
        int length = SockAddr.StorageSize;
        int rc = local ? LibUvNet.uv_tcp_getsockname(_handle.Handle, addr, &length) : LibUvNet.uv_tcp_getpeername(_handle.Handle, addr, &length);
        return rc < 0 ? null : SockAddr.ReadEndPoint(addr);
    }

    /// <summary>
    /// Whether small writes go out at once (TCP_NODELAY, Nagle's algorithm off). On by default:
    /// Evergreen streams write whole messages.
    /// </summary>
    /// <exception cref="UvException">The socket refused the option.</exception>
    public bool NoDelay
    {
        get => _noDelay;
        set
        {
            CheckOpen("NoDelay");
            UvException.ThrowIfError(LibUvNet.uv_tcp_nodelay(_handle.Handle, value ? 1 : 0), "uv_tcp_nodelay", RemoteName);
            _noDelay = value;
        }
    }

    /// <summary>Turns TCP keep-alive probes on (after <paramref name="idle"/> without traffic) or off.</summary>
    /// <exception cref="UvException">The socket refused the option.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="idle"/> is under one second.</exception>
    public void SetKeepAlive(bool enable, TimeSpan idle = default)
    {
        CheckOpen("SetKeepAlive");
        uint seconds = 0;
        if (enable)
        {
            if (idle < TimeSpan.FromSeconds(1)) throw new ArgumentOutOfRangeException(nameof(idle), idle, "keep-alive needs an idle time of at least one second");
            seconds = (uint)Math.Min(idle.TotalSeconds, int.MaxValue);
        }
        UvException.ThrowIfError(LibUvNet.uv_tcp_keepalive(_handle.Handle, enable ? 1 : 0, seconds), "uv_tcp_keepalive", RemoteName);
    }

    /// <summary>The kernel's send buffer size (SO_SNDBUF). Linux doubles what is set.</summary>
    /// <exception cref="UvException">The socket refused the option.</exception>
    public int SendBufferSize
    {
        get => BufferSize(send: true, 0);
        set => BufferSize(send: true, value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "a buffer size must be positive"));
    }

    /// <summary>The kernel's receive buffer size (SO_RCVBUF). Linux doubles what is set.</summary>
    /// <exception cref="UvException">The socket refused the option.</exception>
    public int ReceiveBufferSize
    {
        get => BufferSize(send: false, 0);
        set => BufferSize(send: false, value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "a buffer size must be positive"));
    }

    private unsafe int BufferSize(bool send, int value)
    {
        CheckOpen(send ? "SendBufferSize" : "ReceiveBufferSize");
        int v = value;
        int rc = send ? LibUvNet.uv_send_buffer_size(_handle.Handle, &v) : LibUvNet.uv_recv_buffer_size(_handle.Handle, &v);
        UvException.ThrowIfError(rc, send ? "uv_send_buffer_size" : "uv_recv_buffer_size", RemoteName);
        return v;
    }

    /// <summary>The socket's descriptor, or -1.</summary>
    internal unsafe int FileDescriptor
    {
        get
        {
            if (_closed || _handle.IsClosing) return -1;
            int fd;
            return LibUvNet.uv_fileno(_handle.Handle, &fd) < 0 ? -1 : fd;
        }
    }

    private protected string RemoteName => _remote?.ToString() ?? "an unconnected socket";

    private void CheckOpen(string member)
    {
        if (!_loop.CheckAccess()) _loop.VerifyAccess($"{GetType().Name}.{member}"); // the name is built only for the error
        if (_closed) throw new ObjectDisposedException(ToString(), $"{member}: {this} is closed.");
    }

    // --- reading -------------------------------------------------------------------------------

    private protected override ValueTask<int> ReadWhenAvailableAsync(Memory<byte> buffer)
    {
        var tasklet = Tasklet.RequireCurrent("TcpStream.ReadAsync");
        BeginRead();
        try
        {
            StartReading();
        }
        catch
        {
            EndRead();
            throw;
        }
        return (_readOp ??= new ReadOperation(this)).Start(buffer);
    }

    private protected override ValueTask FillAsync()
    {
        var tasklet = Tasklet.RequireCurrent("TcpStream read");
        StartReading();
        return (_readOp ??= new ReadOperation(this)).StartFill();
    }

    private void StartReading()
    {
        if (_readActive || _eof || _readError is not null) return;
        unsafe
        {
            UvException.ThrowIfError(LibUvNet.uv_read_start(_handle.Handle, UvTcpHandle.AllocCallback, UvTcpHandle.ReadCallback), "uv_read_start", RemoteName);
        }
        _readActive = true;
    }

    private void StopReading()
    {
        if (!_readActive) return;
        _readActive = false;
        if (!_handle.IsClosing) LibUvNet.uv_read_stop(_handle.Handle);
    }

    /// <summary>The most one read may take, past the high-water mark (a reader waiting for a long line).</summary>
    private const int MaxReadPastMark = 64 * 1024;

    internal unsafe void OnAlloc(UvBuf* buf)
    {
        // Never hand libuv more than the high-water mark allows: a loopback socket's kernel buffer
        // holds megabytes, and a read takes all the space it is given, so an uncapped tail would
        // let one read overshoot the mark and the buffer grow read after read.
        int cap = Math.Max(ReadBufferHighWaterMark - (_end - _start), MaxReadPastMark);
        int free = EnsureSpace(MinReadSpace);
        buf->Base = PinnedBuffers.AddressOf(_buffer!, _end);
        buf->Length = (nuint)Math.Min(free, cap);
    }

    internal void OnRead(int nread)
    {
        if (nread > 0)
        {
            _end += nread;
            if (_end - _start >= ReadBufferHighWaterMark && !(_readOp?.HasWaiter ?? false)) StopReading();
        }
        else if (nread == 0)
        {
            return; // EAGAIN: nothing read this time
        }
        else if (nread == UvError.EOF)
        {
            _eof = true;
            StopReading();
        }
        else
        {
            _readError = new UvException(nread, "read", RemoteName, "from");
            StopReading();
        }
        _readOp?.WakeIfParked();
    }

    // --- writing -------------------------------------------------------------------------------

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        CheckWritable("WriteAsync");
        if (data.IsEmpty) return default;
        if (_writeBusy || _writeTurn is { IsEmpty: false }) return WriteInTurnAsync(data);
        return WriteNow(data);
    }

    private async ValueTask WriteInTurnAsync(ReadOnlyMemory<byte> data)
    {
        var turn = _writeTurn ??= new WaitQueue(this);
        while (_writeBusy)
        {
            await turn.ParkAsync();
            CheckWritable("WriteAsync");
        }
        await WriteNow(data);
    }

    private unsafe ValueTask WriteNow(ReadOnlyMemory<byte> data)
    {
        int rc;
        fixed (byte* p = data.Span)
        {
            var buf = new UvBuf((IntPtr)p, (nuint)data.Length);
            rc = LibUvNet.uv_try_write(_handle.Handle, &buf, 1);
        }
        if (rc == data.Length) return default;
        if (rc < 0 && rc != UvError.EAGAIN) return ValueTask.FromException(WriteError(rc));
        int sent = Math.Max(rc, 0);
        var tasklet = Tasklet.RequireCurrent("TcpStream.WriteAsync");
        return (_writeOp ??= new WriteOperation(this)).Start(data[sent..]);
    }

    internal void OnWritten(int status)
    {
        _writeBusy = false;
        _writeOp!.Complete(status);
        if (!_closed) _writeTurn?.UnparkOne();
    }

    private Exception WriteError(int status) => status == UvError.ECANCELED && _closed
        ? new ObjectDisposedException(ToString(), $"{this} was closed while a write was waiting.")
        : new UvException(status, "write", RemoteName);

    private void CheckWritable(string member)
    {
        CheckOpen(member);
        if (_shutdown) throw new InvalidOperationException($"{member}: the write side of {this} was shut down (ShutdownAsync); it takes no more bytes.");
    }

    /// <inheritdoc/>
    public override async ValueTask ShutdownAsync()
    {
        CheckOpen("ShutdownAsync");
        if (_shutdown) return;
        var tasklet = Tasklet.RequireCurrent("TcpStream.ShutdownAsync");
        var turn = _writeTurn ??= new WaitQueue(this);
        while (_writeBusy)
        {
            await turn.ParkAsync();
            CheckOpen("ShutdownAsync");
        }
        _shutdown = true;
        StartShutdown();
        await (_shutdownOp = new StatusOperation(this, "shutdown")).Start();
    }

    private unsafe void StartShutdown()
    {
        int rc = LibUvNet.uv_shutdown(_handle.ShutdownRequest, _handle.Handle, UvTcpHandle.ShutdownCallback);
        if (rc < 0) throw new UvException(rc, "shutdown", RemoteName, "of the connection to");
    }

    internal void OnShutdownDone(int status) => _shutdownOp?.Complete(status);

    // --- closing -------------------------------------------------------------------------------

    /// <inheritdoc/>
    public override void Close() => Close(reset: false);

    /// <summary>
    /// Closes the connection with a reset (RST): the peer's reads and writes fail with
    /// ECONNRESET instead of seeing an orderly end. For aborting a connection in a bad state.
    /// </summary>
    public void CloseWithReset() => Close(reset: true);

    private void Close(bool reset)
    {
        if (!_loop.CheckAccess()) _loop.VerifyAccess($"{GetType().Name}.Close");
        if (_closed) return;
        _local ??= Name(local: true);
        _remote ??= Name(local: false);
        _closed = true;
        _readActive = false;
        _readOp?.WakeIfParked(); // it then throws ObjectDisposedException
        _writeTurn?.UnparkAll(new ObjectDisposedException(ToString(), $"{this} was closed while a write waited its turn."));
        if (reset) _handle.CloseWithReset();
        else _handle.Close(); // queued writes, shutdown and connect get their callbacks with ECANCELED
        OnClosing();
    }

    /// <summary>Called once when the stream starts closing (TcpConnection leaves its server).</summary>
    private protected virtual void OnClosing() { }

    internal void OnHandleClosed()
    {
        ReleaseBuffer();
        _closeWaiters?.UnparkAll();
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        Close();
        if (_handle.IsClosed || Tasklet.Current is null) return;
        var waiters = _closeWaiters ??= new WaitQueue(this);
        while (!_handle.IsClosed) await waiters.ParkAsync();
    }

    // --- the reusable operations ---------------------------------------------------------------

    /// <summary>A read waiting for bytes: either a ReadAsync into the caller's memory, or a helper's fill.</summary>
    private sealed class ReadOperation(TcpStream stream) : ParkedOperation<int>
    {
        private Memory<byte> _destination;
        private bool _fill;

        internal ValueTask<int> Start(Memory<byte> destination)
        {
            var wait = ParkAsync("TcpStream.ReadAsync");
            _destination = destination;
            _fill = false;
            return wait;
        }

        internal ValueTask StartFill()
        {
            var wait = ParkVoidAsync("TcpStream read");
            _fill = true;
            return wait;
        }

        internal bool HasWaiter => IsWaiting;

        internal void WakeIfParked()
        {
            if (IsWaiting) Complete();
        }

        protected override int Finish(bool completed)
        {
            var destination = _destination;
            _destination = default;
            if (_fill)
            {
                if (stream._closed) throw Closed();
                return 0;
            }
            stream.EndRead();
            if (stream._end > stream._start) return stream.CopyOut(destination.Span);
            if (stream._closed) throw Closed();
            if (stream._readError is { } error) throw Rethrowable(error);
            return 0; // the end of the stream
        }

        private ObjectDisposedException Closed() => new(stream.ToString(), $"{stream} was closed while a read was waiting.");

        protected override bool TryRecall()
        {
            // A kill or an expired scope: the bytes stay buffered for the next read.
            _destination = default;
            if (!_fill) stream.EndRead();
            return true;
        }

        public override string ToString() => $"{stream} to receive bytes";
    }

    /// <summary>The write queued with uv_write: the caller's memory, pinned until the callback.</summary>
    private sealed class WriteOperation(TcpStream stream) : ParkedOperation<bool>
    {
        private MemoryHandle _pin;
        private int _status;

        internal unsafe ValueTask Start(ReadOnlyMemory<byte> rest)
        {
            var wait = ParkVoidAsync("TcpStream.WriteAsync");
            _pin = rest.Pin();
            var buf = new UvBuf((IntPtr)_pin.Pointer, (nuint)rest.Length);
            int rc = LibUvNet.uv_write(stream._handle.WriteRequest, stream._handle.Handle, &buf, 1, UvTcpHandle.WriteCallback);
            if (rc < 0)
            {
                _pin.Dispose();
                _pin = default;
                Complete(stream.WriteError(rc)); // the await throws it
                return wait;
            }
            stream._writeBusy = true;
            return wait;
        }

        internal void Complete(int status)
        {
            _pin.Dispose();
            _pin = default;
            _status = status;
            Complete();
        }

        protected override bool Finish(bool completed)
        {
            if (_status < 0) throw stream.WriteError(_status);
            return true;
        }

        // The writer was killed or timed out: libuv still owns the write (it cannot be recalled),
        // so the memory stays pinned until the callback, and the next writer waits.
        protected override bool TryRecall() => false;

        public override string ToString() => $"{stream} to finish a write";
    }

    /// <summary>A connect or a shutdown: waits for its callback's status.</summary>
    private sealed class StatusOperation(TcpStream stream, string operation) : ParkedOperation<bool>
    {
        private int _status = 1; // 1: no callback yet

        internal ValueTask Start() => ParkVoidAsync(operation == "connect" ? "TcpStream.ConnectAsync" : "TcpStream.ShutdownAsync");

        internal void Complete(int status)
        {
            _status = status;
            Complete();
        }

        protected override bool Finish(bool completed)
        {
            if (_status == UvError.ECANCELED && stream._closed)
            {
                throw new ObjectDisposedException(stream.ToString(), $"{stream} was closed during its {operation}.");
            }
            if (_status < 0) throw new UvException(_status, operation, stream.RemoteName, operation == "connect" ? "to" : "of the connection to");
            return true;
        }

        protected override bool TryRecall()
        {
            // A connect cut short by a kill or a deadline: close the socket; the callback comes
            // later with ECANCELED and frees the request.
            if (operation == "connect") stream.Close();
            return false;
        }

        public override string ToString() => $"{stream} to {operation}";
    }
}
