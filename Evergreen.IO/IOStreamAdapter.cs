// IOStream.AsStream(): an IOStream seen as a System.IO.Stream.
//
// The async members forward to the IOStream, so SslStream, StreamReader and StreamWriter park
// the tasklet like any Evergreen wait. The synchronous Read and Write would block the loop's
// thread (and with it every tasklet), so they refuse with a message saying what to call instead.
// A cancellation token is honoured when it is already cancelled; a wait in progress is ended by
// a kill or a CancelScope, as every Evergreen wait. A call from another thread (library code
// that resumed on the thread pool after a ConfigureAwait(false)) is run on the loop.

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

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        if (!inner.Loop.CheckAccess()) return OnLoopAsync(() => inner.ReadAsync(buffer));
        return inner.ReadAsync(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        if (!inner.Loop.CheckAccess()) return new ValueTask(OnLoopAsync(async () => { await inner.WriteAsync(buffer); return 0; }).AsTask());
        return inner.WriteAsync(buffer);
    }

    /// <summary>
    /// Runs an operation that came from another thread on the loop, in a tasklet of its own, and
    /// completes the returned task there. Library code that awaits with ConfigureAwait(false)
    /// (SslStream waiting for an OCSP fetch on the thread pool, say) resumes on a pool thread and
    /// calls the stream from it; the stream itself is loop-only, so the call travels to the loop
    /// through CallFromThread. Slower than a call on the loop, and only for such hops.
    /// </summary>
    private ValueTask<int> OnLoopAsync(Func<ValueTask<int>> operation)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = inner.Loop;
        if (!loop.CompleteFromThread(() => loop.Spawn(async () =>
            {
                try { done.SetResult(await operation()); }
                catch (Exception e) { done.SetException(e); }
            }, $"a call from another thread on {inner}")))
        {
            done.SetException(new ObjectDisposedException(inner.ToString(), $"the loop of {inner} is gone."));
        }
        return new ValueTask<int>(done.Task);
    }

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
