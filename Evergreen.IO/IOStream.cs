// IOStream: the one stream API of Evergreen.IO (Tornado's IOStream, made cooperative).
//
// Every stream reads into one buffer of its own, and every read helper works on that buffer:
// ReadAsync copies out of it, ReadUntilAsync / ReadLineAsync / ReadUntilRegexAsync scan it,
// and when it holds too little they ask the subclass to fill it (FillAsync: for a libuv stream,
// park until the read callback has appended bytes; for TLS, read from the SslStream into it).
// Bytes a helper did not consume stay buffered for the next read, including when it throws
// (a limit passed, the stream ended before a delimiter). The buffer is a pinned array from
// PinnedBuffers, so libuv can read straight into its free tail.
//
// Reads are one at a time (one reader per stream; a second concurrent reader is a clear error),
// and so are writes (a subclass serializes them). Every wait is a park: a kill or an expired
// CancelScope ends it and the bytes already buffered stay for the next read.
//
// Must never: lose a buffered byte, hand out the buffer itself (callers get copies), or keep the
// buffer after Close (it goes back to the pool).

using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using System.Runtime.CompilerServices;

namespace Evergreen.IO;

/// <summary>
/// A byte stream for tasklets: reads and writes park the tasklet instead of blocking the thread.
/// <see cref="TcpStream"/> (and its <see cref="TcpConnection"/>) and <see cref="TlsStream"/> are
/// the kinds there are.
/// <code>
/// await using var conn = await TcpStream.ConnectAsync("example.com", 80);
/// await conn.WriteAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray());
/// string? status = await conn.ReadLineAsync();
/// </code>
/// One tasklet reads at a time and writes are done in order. Every read and write is a yield
/// point when it waits, and a kill or an expired <see cref="CancelScope"/> ends the wait; bytes
/// already received stay buffered for the next read. Loop thread only.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public abstract class IOStream : IAsyncDisposable
{
    /// <summary>The default <see cref="ReadLineAsync"/> limit: 64 KiB.</summary>
    public const int DefaultMaxLineBytes = 64 * 1024;

    private static readonly byte[] s_newline = [(byte)'\n'];

    private protected readonly EventLoop _loop;
    private protected byte[]? _buffer;    // pinned; null until the first read, and after Close
    private protected int _start, _end;   // the buffered bytes are _buffer[_start.._end]
    private protected bool _eof;          // the peer ended its side; what is buffered is all there is
    private protected Exception? _readError;
    private protected bool _closed;
    private bool _reading;                // a read call is in progress (one reader at a time)
    private int _highWaterMark = 64 * 1024;
    private Stream? _adapter;

    private protected IOStream(EventLoop loop) => _loop = loop;

    /// <summary>The loop the stream belongs to.</summary>
    internal EventLoop Loop => _loop;

    /// <summary>The local end of the connection, or null if unknown.</summary>
    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>The remote end of the connection, or null if unknown.</summary>
    public abstract EndPoint? RemoteEndPoint { get; }

    /// <summary>True once <see cref="Close"/> (or <see cref="DisposeAsync"/>) was called.</summary>
    public bool IsClosed => _closed;

    /// <summary>The size of the read buffer now (tests: it stays near the high-water mark).</summary>
    internal int BufferCapacity => _buffer?.Length ?? 0;

    /// <summary>How many received bytes are buffered, ready to be read without waiting.</summary>
    public int Available => _end - _start;

    /// <summary>
    /// True once the peer's end of the stream or a read error has been seen (by a read, or by
    /// reading on in the background): nothing more will arrive. A pool checks it before reusing
    /// an idle connection.
    /// </summary>
    internal bool HasEnded => _eof || _readError is not null;

    /// <summary>
    /// How many bytes may be buffered while nobody reads before the stream stops taking more from
    /// the network (backpressure: the peer's writes then wait). Default 64 KiB; at least 4 KiB.
    /// A read that needs more (a long line) still gets it, up to its own limit.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 4 KiB.</exception>
    public int ReadBufferHighWaterMark
    {
        get => _highWaterMark;
        set
        {
            if (value < PinnedBuffers.MinSize) throw new ArgumentOutOfRangeException(nameof(value), value, $"the high-water mark must be at least {PinnedBuffers.MinSize} bytes");
            _highWaterMark = value;
        }
    }

    // --- reading -------------------------------------------------------------------------------

    /// <summary>
    /// Reads up to <paramref name="buffer"/>.Length bytes: what is buffered, or else waits for the
    /// next bytes to arrive. Returns 0 at the end of the stream (and for an empty buffer). A yield
    /// point only when it waits.
    /// </summary>
    /// <exception cref="UvException">The connection failed (ECONNRESET...); later reads throw it again.</exception>
    /// <exception cref="ObjectDisposedException">The stream is closed.</exception>
    /// <exception cref="InvalidOperationException">Another tasklet is reading, or called from another thread.</exception>
    public ValueTask<int> ReadAsync(Memory<byte> buffer)
    {
        CheckReadable("ReadAsync");
        if (buffer.IsEmpty) return new ValueTask<int>(0);
        if (_end > _start) return new ValueTask<int>(CopyOut(buffer.Span));
        if (_readError is { } error) return ValueTask.FromException<int>(Rethrowable(error));
        if (_eof) return new ValueTask<int>(0);
        return ReadWhenAvailableAsync(buffer);
    }

    /// <summary>Waits for bytes, then copies them out (the subclass may do it without allocating).</summary>
    private protected virtual async ValueTask<int> ReadWhenAvailableAsync(Memory<byte> buffer)
    {
        BeginRead();
        try
        {
            while (_end == _start && !_eof && _readError is null) await FillAsync();
        }
        finally
        {
            EndRead();
        }
        if (_end > _start) return CopyOut(buffer.Span);
        if (_readError is { } error) throw Rethrowable(error);
        return 0;
    }

    /// <summary>
    /// Reads exactly <paramref name="buffer"/>.Length bytes, waiting as long as needed.
    /// </summary>
    /// <exception cref="EndOfStreamException">The stream ended first; the bytes read so far are in <paramref name="buffer"/> and lost to the stream.</exception>
    /// <exception cref="UvException">The connection failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream is closed.</exception>
    /// <exception cref="InvalidOperationException">Another tasklet is reading, or called from another thread.</exception>
    public async ValueTask ReadExactlyAsync(Memory<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await ReadAsync(buffer[done..]);
            if (n == 0) throw new EndOfStreamException($"{this} ended after {done} of the {buffer.Length} bytes ReadExactlyAsync wanted");
            done += n;
        }
    }

    /// <summary>
    /// Reads up to and including <paramref name="delimiter"/>, waiting as long as needed, and
    /// returns those bytes (a copy).
    /// </summary>
    /// <param name="delimiter">The bytes that end the read (at least one).</param>
    /// <param name="maxBytes">The most bytes to return, delimiter included.</param>
    /// <exception cref="InvalidDataException">No delimiter within <paramref name="maxBytes"/>; the bytes stay buffered for the next read.</exception>
    /// <exception cref="EndOfStreamException">The stream ended before a delimiter; the bytes stay buffered.</exception>
    /// <exception cref="UvException">The connection failed.</exception>
    /// <exception cref="ArgumentException">An empty delimiter, or <paramref name="maxBytes"/> shorter than it.</exception>
    public async ValueTask<byte[]> ReadUntilAsync(ReadOnlyMemory<byte> delimiter, int maxBytes)
    {
        if (delimiter.IsEmpty) throw new ArgumentException("the delimiter must have at least one byte", nameof(delimiter));
        if (maxBytes < delimiter.Length) throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "maxBytes must be at least the delimiter's length");
        int length = await FindAsync(delimiter, maxBytes, "ReadUntilAsync");
        if (length < 0) throw new EndOfStreamException($"{this} ended before the delimiter ({Available} bytes stay buffered)");
        return TakeArray(length);
    }

    /// <summary>
    /// Reads one line and returns it without its end (<c>\n</c> or <c>\r\n</c>), decoded as UTF-8.
    /// At the end of the stream returns the last, unterminated line, then null.
    /// </summary>
    /// <param name="maxBytes">The longest line accepted, in bytes, line end included.</param>
    /// <exception cref="InvalidDataException">A line longer than <paramref name="maxBytes"/>; its bytes stay buffered.</exception>
    /// <exception cref="UvException">The connection failed.</exception>
    public async ValueTask<string?> ReadLineAsync(int maxBytes = DefaultMaxLineBytes)
    {
        if (maxBytes < 1) throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "maxBytes must be at least 1");
        int length = await FindAsync(s_newline, maxBytes, "ReadLineAsync");
        if (length < 0)
        {
            if (_end == _start) return null;
            length = _end - _start; // the last line, without an end
        }
        var line = _buffer.AsSpan(_start, length);
        int text = line.Length;
        if (text > 0 && line[text - 1] == (byte)'\n') text--;
        if (text > 0 && line[text - 1] == (byte)'\r') text--;
        string result = Encoding.UTF8.GetString(line[..text]);
        Consume(length);
        return result;
    }

    /// <summary>
    /// Reads up to the end of the first match of <paramref name="regex"/> and returns those bytes
    /// (a copy). The buffered bytes are matched as Latin-1 text (one char per byte), so a pattern
    /// of ASCII and <c>\xNN</c> escapes matches bytes exactly.
    /// </summary>
    /// <param name="regex">What ends the read.</param>
    /// <param name="maxBytes">The most bytes to return.</param>
    /// <exception cref="InvalidDataException">No match within <paramref name="maxBytes"/>; the bytes stay buffered.</exception>
    /// <exception cref="EndOfStreamException">The stream ended before a match; the bytes stay buffered.</exception>
    /// <exception cref="UvException">The connection failed.</exception>
    public async ValueTask<byte[]> ReadUntilRegexAsync(Regex regex, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(regex);
        if (maxBytes < 1) throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "maxBytes must be at least 1");
        CheckReadable("ReadUntilRegexAsync");
        BeginRead();
        char[]? chars = null;
        try
        {
            while (true)
            {
                int window = Math.Min(_end - _start, maxBytes);
                if (window > 0)
                {
                    if (chars is null || chars.Length < window)
                    {
                        if (chars is not null) ArrayPool<char>.Shared.Return(chars);
                        chars = ArrayPool<char>.Shared.Rent(Math.Max(window, 256));
                    }
                    int n = Encoding.Latin1.GetChars(_buffer.AsSpan(_start, window), chars);
                    foreach (var match in regex.EnumerateMatches(chars.AsSpan(0, n)))
                    {
                        int length = match.Index + match.Length;
                        if (length == 0) continue;
                        return TakeArray(length);
                    }
                }
                if (_end - _start >= maxBytes)
                {
                    throw new InvalidDataException($"ReadUntilRegexAsync: no match of /{regex}/ within {maxBytes} bytes of {this} (they stay buffered)");
                }
                if (_readError is { } error) throw Rethrowable(error);
                if (_eof) throw new EndOfStreamException($"{this} ended before a match of /{regex}/ ({Available} bytes stay buffered)");
                await FillAsync();
            }
        }
        finally
        {
            if (chars is not null) ArrayPool<char>.Shared.Return(chars);
            EndRead();
        }
    }

    /// <summary>The bytes buffered and not yet read (valid until the next read or fill).</summary>
    internal ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Drops <paramref name="count"/> buffered bytes that a parser read in place from <see cref="Buffered"/>.</summary>
    internal void Skip(int count)
    {
        Debug.Assert(count >= 0 && count <= _end - _start);
        Consume(count);
    }

    /// <summary>
    /// For parsers that read in place: waits until <see cref="Buffered"/> holds
    /// <paramref name="delimiter"/> within its first <paramref name="maxBytes"/> bytes and returns
    /// the length up to and including it; -1 if the stream ended first, -2 if
    /// <paramref name="maxBytes"/> bytes came without it. Nothing is consumed. A yield point.
    /// </summary>
    internal ValueTask<int> FindInBufferAsync(ReadOnlyMemory<byte> delimiter, int maxBytes, string member)
    {
        if (_end - _start >= delimiter.Length && _loop.CheckAccess() && !_closed && !_reading)
        {
            int window = Math.Min(_end - _start, maxBytes);
            int at = _buffer.AsSpan(_start, window).IndexOf(delimiter.Span);
            if (at >= 0) return new ValueTask<int>(at + delimiter.Length);
        }
        return FindAsync(delimiter, maxBytes, member, throwPastMax: false);
    }

    /// <summary>
    /// Waits until the buffer holds <paramref name="delimiter"/> within <paramref name="maxBytes"/>
    /// and returns the length up to and including it; -1 if the stream ended first (-2 past
    /// <paramref name="maxBytes"/> when not <paramref name="throwPastMax"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> FindAsync(ReadOnlyMemory<byte> delimiter, int maxBytes, string member, bool throwPastMax = true)
    {
        CheckReadable(member);
        BeginRead();
        try
        {
            int scanned = 0; // bytes already searched (from _start), minus a delimiter's overlap
            while (true)
            {
                int window = Math.Min(_end - _start, maxBytes);
                if (window >= delimiter.Length)
                {
                    int at = _buffer.AsSpan(_start + scanned, window - scanned).IndexOf(delimiter.Span);
                    if (at >= 0) return scanned + at + delimiter.Length;
                    scanned = window - delimiter.Length + 1;
                }
                if (_end - _start >= maxBytes)
                {
                    if (!throwPastMax) return -2;
                    throw new InvalidDataException($"{member}: no delimiter within {maxBytes} bytes of {this} (they stay buffered for the next read)");
                }
                if (_readError is { } error) throw Rethrowable(error);
                if (_eof) return -1;
                await FillAsync();
            }
        }
        finally
        {
            EndRead();
        }
    }

    /// <summary>
    /// Brings more bytes into the buffer, or sets <see cref="_eof"/> or <see cref="_readError"/>.
    /// Called by the one reader, with the read in progress; a yield point.
    /// </summary>
    private protected abstract ValueTask FillAsync();

    private protected void BeginRead()
    {
        if (_reading)
        {
            throw new InvalidOperationException($"another tasklet is already reading from {this}: a stream has one reader at a time.");
        }
        _reading = true;
    }

    private protected void EndRead() => _reading = false;

    private protected void CheckReadable(string member)
    {
        if (!_loop.CheckAccess()) _loop.VerifyAccess($"{GetType().Name}.{member}"); // the name is built only for the error
        if (_closed) throw new ObjectDisposedException(ToString(), $"{member}: {this} is closed.");
    }

    /// <summary>Copies buffered bytes out and consumes them.</summary>
    private protected int CopyOut(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        Consume(n);
        return n;
    }

    private byte[] TakeArray(int length)
    {
        var bytes = _buffer.AsSpan(_start, length).ToArray();
        Consume(length);
        return bytes;
    }

    /// <summary>Drops <paramref name="count"/> buffered bytes (they were read).</summary>
    private protected virtual void Consume(int count)
    {
        _start += count;
        if (_start == _end) _start = _end = 0;
    }

    /// <summary>A stored failure, rethrown with a fresh stack for this read.</summary>
    private protected static Exception Rethrowable(Exception error) => error;

    /// <summary>
    /// Makes room for at least <paramref name="minimumFree"/> more bytes at the buffer's tail
    /// (compacting or growing it) and returns the free tail's length.
    /// </summary>
    private protected int EnsureSpace(int minimumFree)
    {
        if (_buffer is null)
        {
            _buffer = PinnedBuffers.Rent(Math.Max(minimumFree, 16 * 1024));
            return _buffer.Length;
        }
        int free = _buffer.Length - _end;
        if (free >= minimumFree) return free;
        int buffered = _end - _start;
        if (_start > 0 && _buffer.Length - buffered >= minimumFree)
        {
            _buffer.AsSpan(_start, buffered).CopyTo(_buffer);
            _start = 0;
            _end = buffered;
            return _buffer.Length - _end;
        }
        var bigger = PinnedBuffers.Rent(buffered + minimumFree);
        _buffer.AsSpan(_start, buffered).CopyTo(bigger);
        PinnedBuffers.Return(_buffer);
        _buffer = bigger;
        _start = 0;
        _end = buffered;
        return _buffer.Length - _end;
    }

    /// <summary>Gives the buffer back to the pool (on close, when nothing can read into it any more).</summary>
    private protected void ReleaseBuffer()
    {
        if (_buffer is null) return;
        PinnedBuffers.Return(_buffer);
        _buffer = null;
        _start = _end = 0;
    }

    // --- writing and closing --------------------------------------------------------------------

    /// <summary>
    /// Writes <paramref name="data"/>, and completes once every byte is handed to the kernel (or
    /// TLS). Writes are done in order; a write that cannot go at once parks its tasklet until it
    /// has (backpressure: a slow peer slows the writer). A yield point only when it waits. Keep
    /// <paramref name="data"/> unchanged until it completes.
    /// </summary>
    /// <exception cref="UvException">The connection failed (EPIPE, ECONNRESET...).</exception>
    /// <exception cref="ObjectDisposedException">The stream is closed.</exception>
    /// <exception cref="InvalidOperationException">The write side was shut down, not called from a tasklet, or from another thread.</exception>
    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> data);

    /// <summary>
    /// Ends the write side (TCP half-close: the peer reads the end of the stream) once earlier
    /// writes are done; reading goes on. Later writes throw. A yield point.
    /// </summary>
    /// <exception cref="UvException">The connection failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream is closed.</exception>
    public abstract ValueTask ShutdownAsync();

    /// <summary>
    /// Closes the stream now: a pending read throws <see cref="ObjectDisposedException"/>, pending
    /// writes fail, and unread bytes are dropped. Closing twice does nothing. Not a yield point;
    /// <see cref="DisposeAsync"/> also waits until the connection's handle is released.
    /// </summary>
    public abstract void Close();

    /// <summary>Closes the stream and, in a tasklet, waits until its native handle is released.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>
    /// This stream as a <see cref="Stream"/>, for APIs that take one (<see cref="StreamReader"/>,
    /// <see cref="System.Net.Security.SslStream"/>, serializers). Its async members are this
    /// stream's, so they park the tasklet; its synchronous Read and Write would block the loop and
    /// throw <see cref="NotSupportedException"/>. Disposing it closes this stream. The same object
    /// every time.
    /// </summary>
    public Stream AsStream() => _adapter ??= new IOStreamAdapter(this);

    /// <summary>Names the stream and its endpoints.</summary>
    public override string ToString() => $"{GetType().Name} {LocalEndPoint?.ToString() ?? "?"} -> {RemoteEndPoint?.ToString() ?? "?"}{(_closed ? " (closed)" : "")}";
}
