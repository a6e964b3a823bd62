// HttpSessionResponse's body: read off the connection, decoded, counted, and the connection handed on.
//
// The response owns its connection from the head until the body's end. Bytes come from the
// connection's HttpBodyReader (framing and de-chunking are the wire layer's); an identity body is
// read straight into the caller's memory (a buffered body into one array, sized from
// Content-Length when there is one), a content-encoded one through a System.IO.Compression stream
// over an HttpRawBodyStream. MaxBodyBytes is checked on both sides of the decoder: on the bytes
// that arrive (so a huge compressed body stops early) and on the bytes decoded (so a small
// compressed bomb stops at the limit, not when memory runs out). It counts bytes read, not the
// Content-Length declared: a buffered body over it fails before its array is allocated, a
// streamed one only when a read would pass it, so reading part of a huge body works.
//
// At the body's end the connection goes back to its pool if the response said keep-alive and the
// reader saw the whole body (IsComplete); on any failure, a kill or a dispose before the end it is
// closed, never drained: the next request on that origin gets another connection. Closing never
// waits, so an expired scope or a kill cannot leave the connection half handed over.

using System.Buffers;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace Evergreen.IO.Http;

public sealed partial class HttpSessionResponse
{
    /// <summary>The content codings decoded (RFC 9110 §8.4.1).</summary>
    private enum Coding { Identity, Gzip, Deflate, Brotli }

    /// <summary>How much of a redirect's body is read to keep its connection; past it the connection is closed.</summary>
    private const int MaxDrainBytes = 64 * 1024;

    private HttpSessionConnection? _connection; // until the body's end (or a failure)
    private readonly long _maxBodyBytes;
    private readonly bool _keepAlive;
    private readonly Coding _coding;
    private Stream? _decoder;
    private long _decoded;
    private ReadOnlyMemory<byte> _body;
    private bool _bodyRead, _ended, _aborted;
    private Stream? _bodyStream;

    private static Coding CodingOf(string? contentEncoding) => contentEncoding?.Trim().ToLowerInvariant() switch
    {
        "gzip" or "x-gzip" => Coding.Gzip,
        "deflate" => Coding.Deflate,
        "br" => Coding.Brotli,
        _ => Coding.Identity, // none, identity, or one we did not ask for: handed over as it came
    };

    /// <summary>
    /// Reads the rest of a streamed body (decoded, under MaxBodyBytes) and returns it; it is then
    /// also <see cref="Body"/>. From a buffered call it returns <see cref="Body"/> at once. A yield
    /// point; the session's timeouts do not cover it (use a <see cref="CancelScope"/>), and a
    /// cancelled call closes the connection.
    /// </summary>
    /// <exception cref="HttpBodyTooLargeException">The body passed MaxBodyBytes; the connection was closed.</exception>
    /// <exception cref="MalformedHttpException">A bad chunk, or a body shorter than its Content-Length.</exception>
    /// <exception cref="UvException">The connection failed.</exception>
    /// <exception cref="InvalidDataException">The body's content coding is corrupt.</exception>
    /// <exception cref="ObjectDisposedException">The response was disposed, or its body abandoned after an error.</exception>
    public async ValueTask<ReadOnlyMemory<byte>> ReadBodyAsync()
    {
        if (!_bodyRead) await BufferBodyAsync();
        return _body;
    }

    /// <summary>
    /// Releases the response: a connection whose body was not read to its end is closed (not
    /// drained); one already given back is untouched. Not a yield point; disposing twice does nothing.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (!_ended) Abort();
        return default;
    }

    /// <summary>Reads the whole (rest of the) body into one array.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask BufferBodyAsync()
    {
        if (_aborted) throw Abandoned();
        var connection = _connection;
        if (connection is null)
        {
            _body = ReadOnlyMemory<byte>.Empty;
            _bodyRead = true;
            return;
        }
        var framing = connection.Body.Framing;
        long expected = framing.Kind == HttpBodyKind.Length ? framing.Length - connection.Body.BytesRead : -1;
        long cap = Math.Min(_maxBodyBytes + 1, Array.MaxLength); // one byte past the limit is how it shows
        byte[] buffer;
        bool exact = expected >= 0 && _coding == Coding.Identity;
        if (exact)
        {
            if (expected > _maxBodyBytes) throw Fail(TooLarge());
            if (expected > Array.MaxLength) throw Fail(TooLargeForAnArray());
            buffer = expected == 0 ? [] : new byte[expected];
        }
        else
        {
            // Compressed: room for about twice the compressed size to start with, then doubling.
            long initial = expected > 0 ? Math.Max(Math.Min(expected, cap) * 2, 4096) : 16 * 1024;
            buffer = new byte[Math.Min(cap, initial)];
        }
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (exact)
                {
                    FinishBody(); // every byte of the Content-Length is in: the reader is complete
                    break;
                }
                if (buffer.Length >= cap) throw Fail(TooLargeForAnArray()); // only when the limit is past what one array holds
                Array.Resize(ref buffer, (int)Math.Min(cap, (long)buffer.Length * 2));
            }
            int n = await ReadDecodedAsync(buffer.AsMemory(filled));
            if (n == 0) break;
            filled += n;
        }
        _body = buffer.AsMemory(0, filled);
        _bodyRead = true;
    }

    /// <summary>
    /// Reads decoded body bytes; 0 at the end, when the connection is handed back. Any failure
    /// closes the connection. A yield point.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<int> ReadDecodedAsync(Memory<byte> buffer)
    {
        var connection = _connection;
        if (connection is null) return _aborted ? throw Abandoned() : 0;
        if (buffer.IsEmpty) return 0;
        try
        {
            // The limit applies to what is read, not to what the head declares: a streamed body
            // can be read in part (a robots.txt's first 500 KiB) however large it says it is.
            // A read asks for no more than the limit leaves room for, so every byte up to it is
            // handed over; at the limit it asks for one byte, and only a byte beyond it fails.
            long room = _maxBodyBytes - _decoded;
            if (buffer.Length > room) buffer = buffer[..(int)Math.Max(room, 1)];
            int n;
            if (_coding == Coding.Identity)
            {
                n = await connection.Body.ReadAsync(buffer);
            }
            else
            {
                var decoder = _decoder ?? await OpenDecoderAsync();
                try
                {
                    n = await decoder.ReadAsync(buffer);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"{Method} {Url.AbsoluteUri}: the {_coding.ToString().ToLowerInvariant()}-encoded body cannot be decoded: {e.Message}", e);
                }
                if (n == 0) await DrainAfterDecoderAsync();
            }
            if (n == 0)
            {
                FinishBody();
                return 0;
            }
            _decoded += n;
            if (_decoded > _maxBodyBytes) throw TooLarge();
            return n;
        }
        catch
        {
            Abort();
            throw;
        }
    }

    /// <summary>Reads raw (still encoded) body bytes for the decoder, under the limit. A yield point.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<int> ReadRawAsync(Memory<byte> buffer)
    {
        var connection = _connection ?? throw Abandoned();
        int n = await connection.Body.ReadAsync(buffer);
        if (connection.Body.BytesRead > _maxBodyBytes) throw TooLarge();
        return n;
    }

    private async ValueTask<Stream> OpenDecoderAsync()
    {
        var raw = new HttpRawBodyStream(this);
        switch (_coding)
        {
            case Coding.Gzip:
                return _decoder = new GZipStream(raw, CompressionMode.Decompress);
            case Coding.Brotli:
                return _decoder = new BrotliStream(raw, CompressionMode.Decompress);
            default:
                // "deflate" is zlib (RFC 1950) by the spec, but some servers send raw deflate: look
                // at the first two bytes for a zlib header (CM 8, a check multiple of 31).
                var first = (await raw.PeekAsync(2)).ToArray();
                bool zlib = first.Length == 2 && (first[0] & 0x0F) == 8 && ((first[0] << 8) | first[1]) % 31 == 0;
                return _decoder = zlib ? new ZLibStream(raw, CompressionMode.Decompress) : new DeflateStream(raw, CompressionMode.Decompress);
        }
    }

    /// <summary>
    /// The decoder ended; read what the framing still holds (a chunked body's last chunk and
    /// trailers) so the connection can be reused. Data past the compressed stream is ignored, up
    /// to a bound: past it the connection is closed.
    /// </summary>
    private async ValueTask DrainAfterDecoderAsync()
    {
        var connection = _connection!;
        if (connection.Body.IsComplete) return;
        var scratch = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            long drained = 0;
            int n;
            while ((n = await ReadRawAsync(scratch)) > 0)
            {
                drained += n;
                if (drained > MaxDrainBytes) return; // not complete: FinishBody closes it
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Reads and drops a redirect's body so its connection can be reused, if it is small;
    /// otherwise (too long, or delimited by the close) closes the connection. A yield point.
    /// </summary>
    internal async ValueTask DrainForRedirectAsync()
    {
        var connection = _connection;
        if (connection is null) return;
        var framing = connection.Body.Framing;
        if (framing.Kind == HttpBodyKind.UntilClose || framing.Kind == HttpBodyKind.Length && framing.Length > MaxDrainBytes)
        {
            Abort();
            return;
        }
        var scratch = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            long drained = 0;
            int n;
            while ((n = await connection.Body.ReadAsync(scratch)) > 0)
            {
                drained += n;
                if (drained > MaxDrainBytes)
                {
                    Abort();
                    return;
                }
            }
            FinishBody();
        }
        catch
        {
            Abort();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>The body's end: the connection goes back to its pool (idle if it can be reused). Not a yield point.</summary>
    internal void FinishBody()
    {
        var connection = _connection;
        if (connection is null) return;
        _connection = null;
        _ended = true;
        ReleaseDecoder();
        connection.Pool.Return(connection, _keepAlive && connection.Body.IsComplete);
    }

    /// <summary>Gives up the body: the connection is closed. Not a yield point; idempotent.</summary>
    internal void Abort()
    {
        var connection = _connection;
        if (connection is null) return;
        _connection = null;
        _aborted = true;
        ReleaseDecoder();
        connection.Pool.Return(connection, reusable: false);
    }

    private void ReleaseDecoder()
    {
        var decoder = _decoder;
        _decoder = null;
        decoder?.Dispose(); // returns its buffers; the raw stream under it owns nothing
    }

    private Exception Fail(Exception error)
    {
        Abort();
        return error;
    }

    private HttpBodyTooLargeException TooLarge() => new(_maxBodyBytes, Url,
        $"{Method} {Url.AbsoluteUri}: the body exceeds the {FormatBytes(_maxBodyBytes)} limit (MaxBodyBytes); the request was aborted");

    private HttpBodyTooLargeException TooLargeForAnArray() => new(Array.MaxLength, Url,
        $"{Method} {Url.AbsoluteUri}: the body exceeds {Array.MaxLength} bytes, the most a buffered body can hold; the request was aborted (stream it instead)");

    private ObjectDisposedException Abandoned() => new(ToString(),
        $"the body of {this} was abandoned (the response was disposed, or reading it failed) and its connection closed.");

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1 << 20 when bytes % (1 << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1 << 10 when bytes % (1 << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} bytes",
    };
}
