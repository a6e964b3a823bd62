using System.Net.Security;
using System.Text;
using Evergreen.IO;
using Evergreen.IO.Http;
using Evergreen.Sync;

namespace Evergreen.Tests;

/// <summary>One request as a <see cref="RawHttpServer"/> read it.</summary>
internal sealed record RawRequest(string Method, string Target, HttpFields Headers, byte[] Body, int Connection, int IndexOnConnection)
{
    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A tiny HTTP server for client tests: it parses each request (with the wire layer) and lets the
/// test answer with exact bytes on the raw connection. The handler returns whether to read another
/// request on that connection (false closes it). Counts the connections it accepted, how many are
/// open now and at most, and logs the requests. Over TLS when given a certificate. Create it in a
/// tasklet; dispose it at the end of the test.
/// </summary>
internal sealed class RawHttpServer : IAsyncDisposable
{
    private readonly TcpServer _server;
    private readonly Tasklet _serving;
    private readonly Func<RawRequest, IOStream, Task<bool>> _handler;
    private readonly bool _tls;

    public RawHttpServer(Func<RawRequest, IOStream, Task<bool>> handler, bool tls = false)
    {
        _handler = handler;
        _tls = tls;
        _server = ConnectedPair.Listen();
        _serving = Tasklet.Spawn(() => _server.ServeAsync(ServeAsync), "raw http server");
    }

    public int Port => _server.LocalEndPoint!.Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted { get; private set; }

    /// <summary>Connections open now, and the most open at once.</summary>
    public int Open { get; private set; }

    public int MaxOpen { get; private set; }

    public List<RawRequest> Requests { get; } = new();

    /// <summary>Set each time a connection ends on the server's side (cleared by the test as it likes).</summary>
    public AsyncEvent ConnectionEnded { get; } = new();

    public string Url(string path = "/") => $"{(_tls ? "https" : "http")}://{(_tls ? "localhost" : "127.0.0.1")}:{Port}{path}";

    private async Task ServeAsync(TcpConnection tcp)
    {
        int id = ++Accepted;
        Open++;
        MaxOpen = Math.Max(MaxOpen, Open);
        try
        {
            if (_tls)
            {
                await using var tls = await TlsStream.AuthenticateAsServerAsync(tcp, TestCertificate.Lazy.Value);
                await ExchangesAsync(tls, id);
            }
            else
            {
                await ExchangesAsync(tcp, id);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // The client went away (or reset the connection): that is what some tests do.
        }
        finally
        {
            Open--;
            ConnectionEnded.Set();
        }
    }

    private async Task ExchangesAsync(IOStream conn, int id)
    {
        var reader = new HttpBodyReader();
        for (int index = 0; ; index++)
        {
            var head = await HttpWire.ReadRequestHeadAsync(conn, new HttpHeadLimits(), "test client");
            if (head is null) return;
            reader.Start(conn, HttpWire.RequestFraming(head), new HttpHeadLimits(), "test client", request: true);
            var body = new MemoryStream();
            var buffer = new byte[8192];
            int n;
            while ((n = await reader.ReadAsync(buffer)) > 0) body.Write(buffer, 0, n);
            var request = new RawRequest(head.Method, head.Target, head.Fields, body.ToArray(), id, index);
            Requests.Add(request);
            if (!await _handler(request, conn)) return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _server.CloseAsync(TimeSpan.Zero);
        await _serving;
    }

    // --- answers -----------------------------------------------------------------------------------

    public static async Task Send(IOStream conn, string raw) => await conn.WriteAsync(Encoding.Latin1.GetBytes(raw));

    public static async Task Send(IOStream conn, byte[] raw) => await conn.WriteAsync(raw);

    /// <summary>A 200 with a Content-Length body (Latin-1, as Send writes it) and extra header lines (each ending in CRLF).</summary>
    public static string Ok(string body, string headers = "") =>
        $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n{headers}\r\n{body}";

    /// <summary>A response head and a binary body with its Content-Length.</summary>
    public static byte[] WithBody(string statusAndHeaders, byte[] body)
    {
        var head = Encoding.Latin1.GetBytes($"{statusAndHeaders}Content-Length: {body.Length}\r\n\r\n");
        return [.. head, .. body];
    }

    /// <summary>A handler that answers every request with <paramref name="raw"/> and keeps the connection.</summary>
    public static Func<RawRequest, IOStream, Task<bool>> Always(string raw) => async (_, conn) =>
    {
        await Send(conn, raw);
        return true;
    };

    /// <summary>Client TLS options that trust the test certificate.</summary>
    public static SslClientAuthenticationOptions TrustingTls() => TestCertificate.Trusting();
}
