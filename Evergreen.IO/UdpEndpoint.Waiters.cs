// The tasklets waiting in UdpEndpoint.ReceiveAsync: pooled ParkedOperation nodes in one WaitList
// (Core's Park/), each handed a datagram or an error by Deliver, so a wait allocates nothing. See
// UdpEndpoint.Receive.cs for how datagrams reach them.

namespace Evergreen.IO;

public sealed partial class UdpEndpoint
{
    private WaitList<ReceiveWaiter> _receivers;    // the tasklets in ReceiveAsync, first come first served
    private WaitList<ReceiveWaiter> _freeWaiters;  // idle nodes

    private void Link(ReceiveWaiter node)
    {
        _receivers.AddLast(node);
        if (_receivers.Count == 1) _handle.Ref(); // a waiting receiver keeps the loop alive
    }

    private void Unlink(ReceiveWaiter node)
    {
        if (_receivers.Remove(node) && _receivers.IsEmpty) _handle.Unref();
    }

    /// <summary>A tasklet parked in <see cref="ReceiveAsync"/>; a recalled wait takes no datagram.</summary>
    private sealed class ReceiveWaiter(UdpEndpoint endpoint) : ParkedOperation<UdpDatagram>
    {
        private UdpDatagram _datagram;

        internal ValueTask<UdpDatagram> Start()
        {
            var wait = ParkAsync("UdpEndpoint.ReceiveAsync");
            endpoint.Link(this);
            return wait;
        }

        /// <summary>Wakes the tasklet with the datagram, or with the error its ReceiveAsync throws.</summary>
        internal void Hand(in Received received)
        {
            if (received.Error is { } error)
            {
                Complete(error);
            }
            else
            {
                _datagram = new UdpDatagram(received.Data!, received.From!);
                Complete();
            }
        }

        protected override UdpDatagram Finish(bool completed)
        {
            var datagram = _datagram;
            _datagram = default;
            return datagram;
        }

        protected override bool TryRecall()
        {
            endpoint.Unlink(this);
            return true;
        }

        protected override void OnIdle()
        {
            _datagram = default;
            endpoint._freeWaiters.AddLast(this);
        }

        public override string ToString() => $"{endpoint} to receive a datagram";
    }
}
