using System.Runtime.ExceptionServices;

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
    /// The <c>await foreach</c> enumerator. A step that must wait is the enumerator's own
    /// ParkedOperation, with a receive waiter registered in the channel that fires it (as a select's
    /// branch does): no state machine, no allocation per step.
    /// </summary>
    private sealed class Enumerator(AsyncChannel<T> channel, CancellationToken token) : ParkedOperation<bool>, IAsyncEnumerator<T>, IChannelWaitOwner
    {
        private Waiter? _node;

        public T Current { get; private set; } = default!;

        public ValueTask<bool> MoveNextAsync()
        {
            token.ThrowIfCancellationRequested();
            channel._affinity.Check("AsyncChannel.MoveNextAsync");
            if (IsBusy) throw new InvalidOperationException("an AsyncChannel enumerator moves one step at a time (await MoveNextAsync before calling it again)");
            if (channel.TryReceiveCore(out var value, out var error))
            {
                if (error is not null) return ValueTask.FromException<bool>(error);
                Current = value;
                return new ValueTask<bool>(true);
            }
            if (channel._closed) return new ValueTask<bool>(false);
            var wait = ParkAsync("AsyncChannel.MoveNextAsync");
            _node = channel.Register(this, 0, sender: false, default!);
            return wait;
        }

        void IChannelWaitOwner.Fire(int branch) => Complete();

        Tasklet? IChannelWaitOwner.ParkedTasklet => Waiter;

        protected override bool TryRecall()
        {
            if (_node is { } node)
            {
                _node = null;
                channel.Unregister(node);
            }
            return true;
        }

        protected override bool Finish(bool completed)
        {
            var node = _node!;
            _node = null;
            var value = node.Value;
            var error = node.Error;
            channel.Recycle(node);
            if (error is not null)
            {
                if (error is AsyncChannelClosedException && channel._closed && channel._count == 0) return false;
                ExceptionDispatchInfo.Throw(error);
            }
            Current = value;
            return true;
        }

        public ValueTask DisposeAsync() => default;

        public override string ToString() => $"receiving from {channel}";
    }
}
