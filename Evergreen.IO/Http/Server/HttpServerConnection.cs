// The send timeout: a write the kernel takes at once costs nothing more, so a reply to a client
// that reads pays no timer. Only a write that has to wait opens a cancel scope of SendTimeout,
// after the write has parked: the scope's deadline aborts the park it finds, whenever it was
// registered. Writes are cut into slices of at most 64 KiB, each with its own scope, so the time
// measures progress (nginx's send_timeout: between two writes), not the length of the reply. A
// write that times out closes the connection with a reset: the client is not reading, and the
// bytes the kernel still holds for it would otherwise stay until TCP gives up.
using System.Buffers;
using System.Diagnostics;

namespace Evergreen.IO.Http;

/// <summary>
/// What an <see cref="HttpServer"/> keeps per connection, reused by every request on it: the
/// stream, one write buffer (a reply's head and small bodies go out in one write from it), the
/// body reader, and where the connection stands (idle between requests, broken).
/// </summary>
[DebuggerDisplay("HTTP connection from {Peer,nq}{Idle ? \" (idle)\" : \"\",nq}")]
internal sealed class HttpServerConnection
{
    /// <summary>How long a closing connection keeps reading (and dropping) what the client still sends.</summary>
    private static readonly TimeSpan s_linger = TimeSpan.FromSeconds(2);

    /// <summary>The most bytes a closing connection reads and drops before it closes anyway.</summary>
    private const int LingerBytes = 1024 * 1024;

    /// <summary>The most bytes one write hands the stream: each slice gets its own send timeout.</summary>
    internal const int SendSliceBytes = 64 * 1024;

    private ArrayBufferWriter<byte>? _held;

    public HttpServerConnection(HttpServer server, TcpConnection stream)
    {
        Server = server;
        Stream = stream;
        Peer = stream.RemoteEndPoint?.ToString() ?? "an unknown peer";
    }

    public HttpServer Server { get; }

    public TcpConnection Stream { get; }

    /// <summary>The client, for error messages: "127.0.0.1:53012".</summary>
    public string Peer { get; }

    /// <summary>Bytes waiting to go out (a reply's head and whatever fits with it); empty between calls.</summary>
    public ArrayBufferWriter<byte> Out { get; } = new(4096);

    /// <summary>A reply's first write, held back in case it is the whole body (then it gets a Content-Length).</summary>
    public ArrayBufferWriter<byte> Held => _held ??= new ArrayBufferWriter<byte>(4096);

    /// <summary>Reads request bodies; started again for each request.</summary>
    public HttpBodyReader BodyReader { get; } = new();

    /// <summary>True while waiting for the first byte of a request: <see cref="HttpServer.CloseAsync"/> closes such connections at once.</summary>
    public bool Idle { get; set; }

    /// <summary>A write failed or timed out: the client is gone, and the connection only has to end.</summary>
    public bool Broken { get; private set; }

    /// <summary>Bytes of the current request's body buffer counted in the server's <see cref="HttpServer.BodyBytesHeld"/>.</summary>
    public long BodyBytesHeld { get; set; }

    /// <summary>Writes what <see cref="Out"/> holds and empties it. A yield point when the write waits.</summary>
    public ValueTask FlushAsync()
    {
        if (Out.WrittenCount == 0) return default;
        return WriteOutAsync();
    }

    private async ValueTask WriteOutAsync()
    {
        await WriteAsync(Out.WrittenMemory);
        Out.ResetWrittenCount();
    }

    /// <summary>
    /// Writes <paramref name="data"/> (after <see cref="Out"/> was flushed) under the send timeout;
    /// a failure marks the connection broken, and a timeout also closes it. A yield point when the
    /// write waits; a cancelled write leaves the connection unusable.
    /// </summary>
    /// <exception cref="IOException">The client is gone, or took nothing for <see cref="HttpServerOptions.SendTimeout"/>.</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        if (data.Length > SendSliceBytes) return WriteSlicesAsync(data);
        ValueTask write;
        try
        {
            write = Stream.WriteAsync(data);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Broken = true;
            throw;
        }
        if (write.IsCompletedSuccessfully) return default;
        // The write is parked (or waits its turn): the scope's deadline aborts that park.
        return AwaitWriteAsync(write, CancelScope.FailAfter(Server.Options.SendTimeout));
    }

    private async ValueTask WriteSlicesAsync(ReadOnlyMemory<byte> data)
    {
        for (int at = 0; at < data.Length; at += SendSliceBytes)
        {
            await WriteAsync(data.Slice(at, Math.Min(SendSliceBytes, data.Length - at)));
        }
    }

    private async ValueTask AwaitWriteAsync(ValueTask write, CancelScope scope)
    {
        try
        {
            await write;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Broken = true;
            throw;
        }
        catch (TimeoutException e) when (scope.IsExpiryOf(e))
        {
            Broken = true;
            Stream.CloseWithReset(); // libuv cancels the abandoned write and frees its memory
            var timeout = Server.Options.SendTimeout;
            throw new IOException($"the client at {Peer} took none of the reply for {Timeouts.Describe(timeout)} (SendTimeout): connection closed", e);
        }
        finally
        {
            scope.Dispose();
        }
    }

    /// <summary>
    /// Closes after a reply the client may not have expected (an error sent while it was still
    /// sending, or a request it pipelined unread): ends the write side, then reads and drops what
    /// the client still sends until it closes its side, for a little while. Closing with unread
    /// bytes would reset the connection, and a reset can make the client lose the reply it has not
    /// read yet. A yield point; never throws but for a kill.
    /// </summary>
    public async ValueTask LingerAsync()
    {
        if (Stream.IsClosed || Broken) return;
        var scope = CancelScope.FailAfter(s_linger);
        // Reads copy out of the stream's own buffer, so the scratch is free whenever a read returns.
        byte[] scratch = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            await Stream.ShutdownAsync();
            long dropped = 0;
            int n;
            while (dropped < LingerBytes && (n = await Stream.ReadAsync(scratch)) > 0) dropped += n;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException || e is TimeoutException && scope.IsExpired)
        {
            // The client reset or left, or took too long: the connection closes all the same.
        }
        finally
        {
            scope.Dispose();
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
