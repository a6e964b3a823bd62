namespace Evergreen.IO.Http;

/// <summary>
/// <see cref="HttpSessionResponse.BodyStream"/> of a streamed response: the decoded body as a read-only
/// <see cref="Stream"/>. Its async reads park the tasklet (they are the response's); the
/// synchronous ones would block the loop's thread and refuse. Read to its end, it has given the
/// connection back to the pool; disposed before, it closes the connection.
/// </summary>
internal sealed class HttpBodyStream(HttpSessionResponse response) : Stream
{
    private bool _disposed;

    public override bool CanRead => !_disposed;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException($"the body of {response} is streamed: its length is not known before its end.");
    public override long Position
    {
        get => throw new NotSupportedException($"the body of {response} is streamed: it has no position.");
        set => throw new NotSupportedException($"the body of {response} is streamed: it cannot seek.");
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return response.ReadDecodedAsync(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw Blocking();

    public override int Read(Span<byte> buffer) => throw Blocking();

    private NotSupportedException Blocking() =>
        new($"a synchronous Read of the body of {response} would block the event loop's thread: use ReadAsync from a tasklet.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("a response body is read-only.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException($"the body of {response} is streamed: it cannot seek.");

    public override void SetLength(long value) => throw new NotSupportedException("a response body is read-only.");

    public override void Flush()
    {
        // Read-only: nothing to flush.
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _ = response.DisposeAsync(); // completes synchronously: closes an unfinished body's connection
        }
        base.Dispose(disposing);
    }
}
