using System.Net;
using System.Net.Sockets;
using System.Text;
using BenchmarkDotNet.Attributes;
using Evergreen.IO;
using Evergreen.IO.Http;

namespace Evergreen.Benchmarks;

/// <summary>
/// HTTP/1.1 GETs of a small keep-alive response over 127.0.0.1, in one process.
/// <c>GetSequential</c>: one tasklet, one pooled connection, one request after the other (one
/// operation is one GET: the request written from the connection's head buffer, the head parsed
/// in place, a 1 KiB Content-Length body read into its array). <c>GetConcurrent</c>: 64 tasklets
/// over a pool of 16 connections, as a crawler's workers are. The server is a raw tasklet server on
/// the same loop that answers each request head with canned bytes. <c>HttpClientGetSequential</c>
/// is the same conversation with .NET's HttpClient (SocketsHttpHandler) against a raw Socket server
/// on the thread pool, in the same run.
/// </summary>
[MemoryDiagnoser]
public class HttpSessionBenchmarks
{
    private const int Requests = 5_000;
    private const int Workers = 64;
    private const int Connections = 16;

    private static readonly byte[] s_response = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 1024\r\nServer: raw\r\n\r\n" + new string('x', 1024));

    private static readonly byte[] s_headEnd = "\r\n\r\n"u8.ToArray();

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests)]
    public void GetSequential() => EventLoop.Run(static async () =>
    {
        await using var server = StartServer(out var url);
        await using var http = new HttpSession();
        long bytes = 0;
        for (int i = 0; i < Requests; i++) bytes += (await http.GetAsync(url)).Body.Length;
        if (bytes != (long)Requests * 1024) throw new InvalidOperationException($"read {bytes} body bytes");
    });

    [Benchmark(OperationsPerInvoke = Requests)]
    public void GetConcurrent() => EventLoop.Run(static async () =>
    {
        await using var server = StartServer(out var url);
        await using var http = new HttpSession(new HttpSessionOptions { MaxConnectionsPerOrigin = Connections });
        int next = 0;
        var workers = new Tasklet[Workers];
        for (int w = 0; w < Workers; w++)
        {
            workers[w] = Tasklet.Spawn(async () =>
            {
                while (next++ < Requests) await http.GetAsync(url);
            });
        }
        foreach (var worker in workers) await worker;
    });

    [Benchmark(OperationsPerInvoke = Requests)]
    public void HttpClientGetSequential() => HttpClientGetAsync().GetAwaiter().GetResult();

    /// <summary>A raw server on the current loop: every request head gets <see cref="s_response"/>.</summary>
    private static TcpServer StartServer(out Uri url)
    {
        var server = new TcpServer();
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen();
        url = new Uri($"http://127.0.0.1:{server.LocalEndPoint!.Port}/page");
        _ = Tasklet.Spawn(() => server.ServeAsync(async conn =>
        {
            try
            {
                while (true)
                {
                    await conn.ReadUntilAsync(s_headEnd, 8192); // a GET has no body
                    await conn.WriteAsync(s_response);
                }
            }
            catch (EndOfStreamException)
            {
                // The client closed its connection.
            }
        }));
        return server;
    }

    private static async Task HttpClientGetAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var serving = Task.Run(async () =>
        {
            using var conn = await listener.AcceptAsync();
            conn.NoDelay = true;
            var buffer = new byte[8192];
            int filled = 0;
            while (true)
            {
                int n = await conn.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
                if (n == 0) return;
                filled += n;
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf(s_headEnd)) >= 0)
                {
                    int used = end + s_headEnd.Length;
                    buffer.AsSpan(used, filled - used).CopyTo(buffer);
                    filled -= used;
                    await conn.SendAsync(s_response, SocketFlags.None);
                }
            }
        });
        var url = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}/page");
        using (var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }))
        {
            long bytes = 0;
            for (int i = 0; i < Requests; i++) bytes += (await client.GetByteArrayAsync(url)).Length;
            if (bytes != (long)Requests * 1024) throw new InvalidOperationException($"read {bytes} body bytes");
        }
        await serving;
    }
}
