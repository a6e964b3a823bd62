using System.Threading.Tasks.Sources;

namespace Evergreen.Sync;

public sealed partial class AsyncChannel<T>
{
    /// <summary>
    /// Receives values until the channel is closed and drained (<c>await foreach</c>); every
    /// step is a <see cref="ReceiveAsync"/>. <paramref name="cancellationToken"/> is checked
    /// before each step (kill and <see cref="CancelScope"/> need no token).
    /// </summary>
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        _affinity.Check("AsyncChannel.GetAsyncEnumerator");
        return new Enumerator(this, cancellationToken);
    }

    /// <summary>
    /// The <c>await foreach</c> enumerator. A parked step is a ValueTask whose source is the
    /// enumerator, forwarding to its receive waiter: no state machine, no allocation per step.
    /// </summary>
    private sealed class Enumerator(AsyncChannel<T> channel, CancellationToken token) : IAsyncEnumerator<T>, IValueTaskSource<bool>
    {
        private Waiter? _node;
        private short _nodeToken;
        private short _version;

        public T Current { get; private set; } = default!;

        public ValueTask<bool> MoveNextAsync()
        {
            token.ThrowIfCancellationRequested();
            channel._affinity.Check("AsyncChannel.MoveNextAsync");
            if (_node is not null) throw new InvalidOperationException("an AsyncChannel enumerator moves one step at a time (await MoveNextAsync before calling it again)");
            if (channel.TryReceiveCore(out var value, out var error))
            {
                if (error is not null) return ValueTask.FromException<bool>(error);
                Current = value;
                return new ValueTask<bool>(true);
            }
            if (channel._closed) return new ValueTask<bool>(false);
            _node = channel.ParkReceiver("AsyncChannel.MoveNextAsync");
            _nodeToken = _node.Version;
            return new ValueTask<bool>(this, ++_version);
        }

        ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => Receive(token).GetStatus(_nodeToken);

        void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            Receive(token).OnCompleted(continuation, state, _nodeToken, flags);

        bool IValueTaskSource<bool>.GetResult(short token)
        {
            var receive = Receive(token);
            _node = null;
            try
            {
                Current = receive.GetResult(_nodeToken);
                return true;
            }
            catch (AsyncChannelClosedException) when (channel._closed && channel._count == 0)
            {
                return false;
            }
        }

        private IValueTaskSource<T> Receive(short token)
        {
            if (token != _version || _node is null) throw new InvalidOperationException("an AsyncChannel MoveNextAsync result was awaited twice (await it exactly once)");
            return _node;
        }

        public ValueTask DisposeAsync() => default;
    }
}
