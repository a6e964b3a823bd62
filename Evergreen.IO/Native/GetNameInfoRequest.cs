using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>One <c>uv_getnameinfo</c> call (see <see cref="DnsRequest{TSelf, TResult}"/> for its life).</summary>
internal sealed unsafe class GetNameInfoRequest : DnsRequest<GetNameInfoRequest, string>
{
    private string? _host; // copied in the callback: libuv's buffer lives in the native request

    /// <summary>Starts the reverse lookup of <paramref name="address"/> for the current tasklet and parks it.</summary>
    internal static ValueTask<string> Start(IPAddress address)
    {
        var loop = Tasklet.RequireCurrent("Resolver.ReverseAsync").Loop!;
        byte* sockaddr = stackalloc byte[SockAddr.StorageSize];
        SockAddr.Write(address, 0, sockaddr); // libuv copies it
        var node = Rent(address.ToString());
        var req = node.AllocNative(loop, UvReqType.GetNameInfo);
        int rc = LibUvNet.uv_getnameinfo(loop.NativeHandle, req, &OnNamed, sockaddr, 0);
        if (rc < 0)
        {
            node.FailedStart();
            throw new UvException(rc, "getnameinfo", node.Target);
        }
        return node.Park("Resolver.ReverseAsync");
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnNamed(IntPtr req, int status, byte* host, byte* service)
    {
        EventLoop? loop = null;
        try
        {
            var node = FromNative(req);
            loop = node.Loop;
            if (status == 0 && host != null) node._host = Marshal.PtrToStringUTF8((IntPtr)host);
            node.OnCallback(status);
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(loop, e, "a getnameinfo callback");
        }
    }

    protected override string Produce()
    {
        if (Status < 0) throw new UvException(Status, "getnameinfo", Target);
        return _host ?? throw new UvException(UvError.EAI_NONAME, "getnameinfo", Target);
    }

    protected override void Reset() => _host = null;

    public override string ToString() => $"getnameinfo of {Target}";
}
