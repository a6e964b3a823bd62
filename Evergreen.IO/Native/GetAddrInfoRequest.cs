using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Evergreen.Native;

/// <summary>One <c>uv_getaddrinfo</c> call (see <see cref="DnsRequest{TSelf, TResult}"/> for its life).</summary>
internal sealed unsafe class GetAddrInfoRequest : DnsRequest<GetAddrInfoRequest, IPAddress[]>
{
    private IntPtr _list; // the addrinfo list the callback handed over; freed with uv_freeaddrinfo

    /// <summary>Starts resolving <paramref name="host"/> for the current tasklet and parks it.</summary>
    internal static ValueTask<IPAddress[]> Start(string host, int nativeFamily)
    {
        var loop = Tasklet.RequireCurrent("Resolver.ResolveAsync").Loop!;
        int max = Encoding.UTF8.GetMaxByteCount(host.Length) + 1;
        byte[]? rented = max > 512 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> name = rented ?? stackalloc byte[512];
        int length = Encoding.UTF8.GetBytes(host, name);
        name[length] = 0;
        byte* hints = stackalloc byte[AddrInfo.Size];
        AddrInfo.WriteHints(hints, nativeFamily);
        var node = Rent(host);
        int rc;
        try
        {
            var req = node.AllocNative(loop, UvReqType.GetAddrInfo);
            // libuv copies the name and the hints: they may live on this stack.
            fixed (byte* p = name) rc = LibUvNet.uv_getaddrinfo(loop.NativeHandle, req, &OnResolved, p, null, hints);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
        if (rc < 0)
        {
            node.FailedStart();
            throw new UvException(rc, "getaddrinfo", host);
        }
        return node.Park("Resolver.ResolveAsync");
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnResolved(IntPtr req, int status, IntPtr list)
    {
        EventLoop? loop = null;
        try
        {
            var node = FromNative(req);
            loop = node.Loop;
            node._list = list; // read by Produce, on the woken tasklet; else freed by Reset
            node.OnCallback(status);
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(loop, e, "a getaddrinfo callback");
        }
    }

    protected override IPAddress[] Produce()
    {
        var list = _list;
        _list = IntPtr.Zero;
        try
        {
            if (Status < 0) throw new UvException(Status, "getaddrinfo", Target);
            return AddrInfo.ReadAddresses(list);
        }
        finally
        {
            LibUvNet.uv_freeaddrinfo(list);
        }
    }

    protected override void Reset()
    {
        if (_list != IntPtr.Zero) LibUvNet.uv_freeaddrinfo(_list); // nobody read it: an abandoned lookup
        _list = IntPtr.Zero;
    }

    public override string ToString() => $"getaddrinfo of '{Target}'";
}
