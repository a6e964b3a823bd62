using System.Net;

namespace Evergreen.IO;

/// <summary>
/// One datagram received by <see cref="UdpEndpoint.ReceiveAsync"/>: its bytes and its sender.
/// <code>var (data, from) = await endpoint.ReceiveAsync();</code>
/// </summary>
/// <param name="Data">The datagram's payload, exactly as long as it was sent (possibly empty). A new array the caller owns.</param>
/// <param name="RemoteEndPoint">The address and port it came from.</param>
public readonly record struct UdpDatagram(byte[] Data, IPEndPoint RemoteEndPoint)
{
    /// <summary>"12 bytes from 127.0.0.1:5000".</summary>
    public override string ToString() => $"{Data?.Length ?? 0} bytes from {RemoteEndPoint}";
}
