using Evergreen.IO;
using System.Net.Sockets;
using System.Text;

namespace Evergreen.Tests;

/// <summary>The nginx fixture itself (NginxSite): it serves, logs, stops and cleans up.</summary>
public class NginxSiteTests
{
    /// <summary>One HTTP/1.1 GET over an Evergreen TcpStream, Connection: close; the whole response as text.</summary>
    internal static async Task<string> RawGetAsync(int port, string target)
    {
        await using var stream = await TcpStream.ConnectAsync("127.0.0.1", port);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: NginxSiteTests\r\nConnection: close\r\n\r\n"));
        var response = new MemoryStream();
        var buffer = new byte[16 * 1024];
        using (CancelScope.FailAfter(TimeSpan.FromSeconds(10)))
        {
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0) response.Write(buffer, 0, n);
        }
        return Encoding.UTF8.GetString(response.ToArray());
    }

    [Fact]
    public void Start_ServesItsRoot_AndLogsEveryRequest()
    {
        using var site = NginxSite.Start();
        File.WriteAllText(Path.Combine(site.Root, "index.html"), "<html><body><a href=\"a.txt\">a</a></body></html>");
        Directory.CreateDirectory(Path.Combine(site.Root, "sub"));
        File.WriteAllText(Path.Combine(site.Root, "sub", "a.txt"), "served by nginx\n");
        Assert.True(site.IsRunning);
        Assert.True(File.Exists(Path.Combine(site.Directory, "nginx.pid")), "the pid file belongs in the fixture's dir");

        string index = "", text = "", missing = "";
        TestLoop.Run(async () =>
        {
            index = await RawGetAsync(site.Port, "/");
            text = await RawGetAsync(site.Port, "/sub/a.txt?x=1");
            missing = await RawGetAsync(site.Port, "/no/such/page.html");
        });

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", index);
        Assert.Contains("Content-Type: text/html", index);
        Assert.EndsWith("<a href=\"a.txt\">a</a></body></html>", index);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text);
        Assert.Contains("Content-Type: text/plain", text);
        Assert.EndsWith("\r\n\r\nserved by nginx\n", text);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", missing);

        site.Stop();
        Assert.False(site.IsRunning);
        Assert.Equal(
            [new NginxRequest("GET", 200, "/"), new NginxRequest("GET", 200, "/sub/a.txt?x=1"), new NginxRequest("GET", 404, "/no/such/page.html")],
            site.ReadAccessLog());
    }

    [Fact]
    public void Dispose_StopsNginx_FreesItsPort_AndDeletesItsDirectory()
    {
        var site = NginxSite.Start();
        int port = site.Port;
        string dir = site.Directory;
        Assert.True(Directory.Exists(dir));

        site.Dispose();

        Assert.False(site.IsRunning);
        Assert.False(Directory.Exists(dir), $"{dir} was left behind");
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = Assert.Throws<SocketException>(() => probe.Connect("127.0.0.1", port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public void TwoSites_RunSideBySide_OnTheirOwnPorts()
    {
        using var first = NginxSite.Start();
        using var second = NginxSite.Start();
        File.WriteAllText(Path.Combine(first.Root, "who.txt"), "first");
        File.WriteAllText(Path.Combine(second.Root, "who.txt"), "second");
        Assert.NotEqual(first.Port, second.Port);

        string a = "", b = "";
        TestLoop.Run(async () =>
        {
            a = await RawGetAsync(first.Port, "/who.txt");
            b = await RawGetAsync(second.Port, "/who.txt");
        });
        Assert.EndsWith("\r\n\r\nfirst", a);
        Assert.EndsWith("\r\n\r\nsecond", b);
    }

    [Fact]
    public void Start_WithoutNginx_FailsSayingHowToInstallIt()
    {
        var error = Assert.Throws<InvalidOperationException>(() => NginxSite.Start("/nonexistent/sbin/nginx"));
        Assert.Contains("/nonexistent/sbin/nginx does not exist", error.Message);
        Assert.Contains("apt-get install nginx-light", error.Message);
    }

    [Fact]
    public void Start_WithABinaryThatIsNotNginx_FailsNamingIt()
    {
        // -V says nothing nginx-like: the fixture says which binary it asked, before writing anything.
        var error = Assert.Throws<InvalidOperationException>(() => NginxSite.Start("/bin/false"));
        Assert.Contains("/bin/false -V", error.Message);
    }
}
