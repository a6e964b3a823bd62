namespace Evergreen.IO.Http;

/// <summary>
/// The raw (still content-encoded) body of a response as a <see cref="Stream"/>, for the
/// System.IO.Compression decoder over it. It can give back bytes it peeked at (to tell zlib from
/// raw deflate). Async reads only; the decoder's reads park the tasklet through it.
/// </summary>
internal sealed class HttpRawBodyStream(HttpSessionResponse response) : Stream
{
    private byte[]? _peeked;
    private int _peekStart, _peekEnd;

    /// <summary>Reads up to <paramref name="count"/> bytes ahead and returns them; later reads return them again first. A yield point.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> PeekAsync(int count)
    {
        _peeked = new byte[count];
        while (_peekEnd < count)
        {
            int n = await response.ReadRawAsync(_peeked.AsMemory(_peekEnd));
            if (n == 0) break;
            _peekEnd += n;
        }
        return _peeked.AsMemory(0, _peekEnd);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException("a response body has no length before its end.");
    public override long Position
    {
        get => throw new NotSupportedException("a response body has no position.");
        set => throw new NotSupportedException("a response body cannot seek.");
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_peekStart < _peekEnd)
        {
            int n = Math.Min(buffer.Length, _peekEnd - _peekStart);
            _peeked.AsSpan(_peekStart, n).CopyTo(buffer.Span);
            _peekStart += n;
            return new ValueTask<int>(n);
        }
        return response.ReadRawAsync(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("a response body is read asynchronously (a synchronous read would block the loop).");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("a response body is read-only.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a response body cannot seek.");

    public override void SetLength(long value) => throw new NotSupportedException("a response body is read-only.");

    public override void Flush()
    {
        // Read-only: nothing to flush.
    }
}
