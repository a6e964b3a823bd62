using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Evergreen.Sync;

// System.Threading.Channels views: for code written against ChannelReader<T>/ChannelWriter<T>.
// Their WaitToRead/WaitToWrite need "wait until an operation could succeed" without performing it,
// which the channel itself never does, so the views park on two lazily created WaitQueues that
// the channel pokes when the answer may have changed (a value buffered or a sender parked; a slot
// freed or a receiver parked; Close). The pokes cost one null check while no view waits. The views
// are for compatibility, not speed: a WaitTo* that parks runs a (pooled) async method, whose
// completion goes through the tasklet's SynchronizationContext (one small allocation per park).

public sealed partial class AsyncChannel<T>
{
    private WaitQueue? _readable;   // tasklets in the reader view's WaitToReadAsync
    private WaitQueue? _writable;   // tasklets in the writer view's WaitToWriteAsync
    private TaskCompletionSource? _completion;
    private Exception? _closeCause;
    private ChannelReader<T>? _reader;
    private ChannelWriter<T>? _writer;

    /// <summary>
    /// This channel as a <see cref="ChannelReader{T}"/>, for code written against
    /// System.Threading.Channels. Loop thread only, from tasklets, like the channel itself.
    /// <c>ReadAsync</c> is <see cref="ReceiveAsync"/> (it throws <see cref="AsyncChannelClosedException"/>,
    /// not System's ChannelClosedException); <c>WaitToReadAsync</c> parks until a value is buffered,
    /// a sender waits, or the channel is closed and drained (false). Cancellation tokens are checked
    /// on entry only: a kill or a <see cref="CancelScope"/> ends the waits. <c>Completion</c>
    /// completes once the channel is closed and drained.
    /// </summary>
    public ChannelReader<T> AsChannelReader()
    {
        _affinity.Check("AsyncChannel.AsChannelReader");
        return _reader ??= new Reader(this);
    }

    /// <summary>
    /// This channel as a <see cref="ChannelWriter{T}"/>, for code written against
    /// System.Threading.Channels. Loop thread only, from tasklets. <c>WriteAsync</c> is
    /// <see cref="SendAsync"/> (a rendezvous still waits for the receiver); <c>TryWrite</c> is
    /// <see cref="TrySend"/>; <c>WaitToWriteAsync</c> parks until a receiver waits or a slot is
    /// free (true) or the channel is closed (false); on a rendezvous channel that means a parked
    /// <see cref="ReceiveAsync"/> (or reader view <c>ReadAsync</c>), never a reader in
    /// <c>WaitToReadAsync</c>, so do not pair the two waits there. <c>TryComplete(error)</c> is <see cref="Close"/>,
    /// and its error becomes the inner exception of the <see cref="AsyncChannelClosedException"/>s
    /// thrown afterwards. Tokens are checked on entry only.
    /// </summary>
    public ChannelWriter<T> AsChannelWriter()
    {
        _affinity.Check("AsyncChannel.AsChannelWriter");
        return _writer ??= new Writer(this);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NotifyReadable()
    {
        if (_readable is { IsEmpty: false } q) q.UnparkAll();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NotifyWritable()
    {
        if (_writable is { IsEmpty: false } q) q.UnparkAll();
    }

    private sealed class Reader(AsyncChannel<T> channel) : ChannelReader<T>
    {
        public override bool CanCount => true;

        public override int Count => channel.Count;

        public override Task Completion
        {
            get
            {
                channel._affinity.Check("AsyncChannel reader Completion");
                if (channel._completion is null)
                {
                    channel._completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    if (channel._closed && channel._count == 0) channel._completion.TrySetResult();
                }
                return channel._completion.Task;
            }
        }

        public override bool TryRead(out T item) => channel.TryReceive(out item);

        public override ValueTask<T> ReadAsync(CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return channel.ReceiveAsync();
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            channel._affinity.Check("AsyncChannel reader WaitToReadAsync");
            if (channel._count > 0 || channel._senders.Count > 0) return new ValueTask<bool>(true);
            return channel._closed ? new ValueTask<bool>(false) : WaitSlowAsync();
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> WaitSlowAsync()
        {
            while (true)
            {
                await (channel._readable ??= new WaitQueue(channel)).ParkAsync();
                if (channel._count > 0 || channel._senders.Count > 0) return true;
                if (channel._closed) return false;
            }
        }
    }

    private sealed class Writer(AsyncChannel<T> channel) : ChannelWriter<T>
    {
        public override bool TryWrite(T item) => channel.TrySend(item);

        public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return channel.SendAsync(item);
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            channel._affinity.Check("AsyncChannel writer WaitToWriteAsync");
            if (channel._closed) return new ValueTask<bool>(false);
            return CanWrite() ? new ValueTask<bool>(true) : WaitSlowAsync();
        }

        private bool CanWrite() => channel._receivers.Count > 0 || channel._count < channel._buffer.Length;

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> WaitSlowAsync()
        {
            while (true)
            {
                await (channel._writable ??= new WaitQueue(channel)).ParkAsync();
                if (channel._closed) return false;
                if (CanWrite()) return true;
            }
        }

        public override bool TryComplete(Exception? error = null)
        {
            channel._affinity.Check("AsyncChannel writer TryComplete");
            if (channel._closed) return false;
            channel._closeCause = error;
            channel.Close();
            return true;
        }
    }
}
