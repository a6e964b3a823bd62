// IOStream.AsStream(): an IOStream seen as a System.IO.Stream.
//
// The async members forward to the IOStream, so SslStream, StreamReader and StreamWriter park
// the tasklet like any Evergreen wait. The synchronous Read and Write would block the loop's
// thread (and with it every tasklet), so they refuse with a message saying what to call instead.
// A cancellation token is honoured when it is already cancelled; a wait in progress is ended by
// a kill or a CancelScope, as every Evergreen wait.

namespace Evergreen.IO;

/// <summary>The <see cref="Stream"/> view of an <see cref="IOStream"/>.</summary>
internal sealed class IOStreamAdapter(IOStream inner) : Stream
{
    public override bool CanRead => !inner.IsClosed;
    public override bool CanWrite => !inner.IsClosed;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException($"{inner} is a network stream: it has no length.");
    public override long Position
    {
        get => throw new NotSupportedException($"{inner} is a network stream: it has no position.");
        set => throw new NotSupportedException($"{inner} is a network stream: it cannot seek.");
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : inner.ReadAsync(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled(cancellationToken) : inner.WriteAsync(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
        // Writes are not buffered here: each WriteAsync hands its bytes on before it completes.
    }

    public override int Read(byte[] buffer, int offset, int count) => throw Blocking("Read");

    public override int Read(Span<byte> buffer) => throw Blocking("Read");

    public override void Write(byte[] buffer, int offset, int count) => throw Blocking("Write");

    public override void Write(ReadOnlySpan<byte> buffer) => throw Blocking("Write");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException($"{inner} is a network stream: it cannot seek.");

    public override void SetLength(long value) => throw new NotSupportedException($"{inner} is a network stream: it has no length.");

    private NotSupportedException Blocking(string member) =>
        new($"{member} on the Stream of {inner} would block the event loop's thread: use {member}Async from a tasklet.");

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Close();
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
