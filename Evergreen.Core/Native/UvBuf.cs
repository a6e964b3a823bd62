using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>
/// libuv's <c>uv_buf_t</c> on Unix (the layout of <c>struct iovec</c>: base, then length), for
/// handle-based primitives that pass buffers to libuv (reads, writes, sends). Windows has the two
/// fields the other way round; Evergreen targets Linux and macOS.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct UvBuf
{
    /// <summary>The first byte (pinned native or managed memory).</summary>
    public IntPtr Base;

    /// <summary>How many bytes.</summary>
    public nuint Length;

    /// <summary>A buffer of <paramref name="length"/> bytes at <paramref name="data"/>.</summary>
    public UvBuf(IntPtr data, nuint length)
    {
        Base = data;
        Length = length;
    }
}
