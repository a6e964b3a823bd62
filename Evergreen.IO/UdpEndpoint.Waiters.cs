// The tasklets waiting in UdpEndpoint.ReceiveAsync: a FIFO linked through pooled nodes, each the
// owner of its tasklet's park and the ValueTask the tasklet awaits (forwarding to the park, as
// Offload's node does), so a wait allocates nothing. See UdpEndpoint.Receive.cs for how datagrams
// reach them.

using System.Threading.Tasks.Sources;

namespace Evergreen.IO;

public sealed partial class UdpEndpoint
{
    private void Link(ReceiveWaiter node)
    {
        node.Prev = _waitTail;
        if (_waitTail is null) _waitHead = node; else _waitTail.Next = node;
        _waitTail = node;
        node.IsLinked = true;
        if (++_waiting == 1) _handle.Ref(); // a waiting receiver keeps the loop alive
    }

    private void Unlink(ReceiveWaiter node)
    {
        if (!node.IsLinked) return;
        if (node.Prev is null) _waitHead = node.Next; else node.Prev.Next = node.Next;
        if (node.Next is null) _waitTail = node.Prev; else node.Next.Prev = node.Prev;
        node.Prev = node.Next = null;
        node.IsLinked = false;
        if (--_waiting == 0) _handle.Unref();
    }

    private void ReturnWaiter(ReceiveWaiter node)
    {
        node.Next = _freeWaiters;
        _freeWaiters = node;
    }

    /// <summary>A tasklet parked in <see cref="ReceiveAsync"/>: owner of its park, and the ValueTask it awaits.</summary>
    private sealed class ReceiveWaiter(UdpEndpoint endpoint) : IParkOwner, IValueTaskSource<UdpDatagram>
    {
        private Tasklet? _tasklet;
        private UdpDatagram _datagram;
        private bool _handed;
        internal ReceiveWaiter? Prev, Next;
        internal bool IsLinked;
        internal short Token;

        internal void Begin(Tasklet tasklet)
        {
            _tasklet = tasklet;
            _handed = false;
            Token = tasklet._version;
        }

        /// <summary>Wakes the tasklet with the datagram, or with the error its ReceiveAsync throws.</summary>
        internal void Hand(in Received received)
        {
            _handed = true;
            if (received.Error is { } error)
            {
                _tasklet!.Unpark(error);
            }
            else
            {
                _datagram = new UdpDatagram(received.Data!, received.From!);
                _tasklet!.Unpark();
            }
        }

        void IParkOwner.AbortPark(Tasklet tasklet) => endpoint.Unlink(this);

        private IValueTaskSource<bool> Park => _tasklet!;

        public ValueTaskSourceStatus GetStatus(short token) => Park.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            Park.OnCompleted(continuation, state, token, flags);

        public UdpDatagram GetResult(short token)
        {
            try
            {
                Park.GetResult(token); // the handed error, the kill, or the scope's timeout
                if (!_handed)
                {
                    endpoint.Unlink(this);
                    throw new InvalidOperationException(
                        $"a tasklet waiting in ReceiveAsync on {endpoint} was woken by something other than a datagram (Tasklet.Unpark?); it received nothing.");
                }
                return _datagram;
            }
            finally
            {
                _tasklet = null;
                _datagram = default;
                endpoint.ReturnWaiter(this);
            }
        }

        public override string ToString() => $"{endpoint} to receive a datagram";
    }
}
