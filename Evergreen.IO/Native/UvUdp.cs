using Evergreen.IO;

namespace Evergreen.Native;

/// <summary>
/// The <c>uv_udp_t</c> handle of a <see cref="UdpEndpoint"/> (a handle: long-lived, its native
/// memory freed in the close callback). Created with <c>uv_udp_init_ex</c> and the endpoint's
/// family, so the socket exists at once and options can be set before binding.
/// </summary>
internal sealed class UvUdp : UvHandle
{
    internal UvUdp(EventLoop loop, UdpEndpoint owner, int nativeFamily, string description)
        : base(loop, UvHandleType.Udp, description)
    {
        Owner = owner;
        Init(LibUvNet.uv_udp_init_ex(loop.NativeHandle, Handle, (uint)nativeFamily), "uv_udp_init_ex");
    }

    /// <summary>The endpoint the callbacks go to.</summary>
    internal UdpEndpoint Owner { get; }

    protected override void OnClosed() => Owner.OnHandleClosed();
}
