using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using Evergreen.IO;
using Evergreen.IO.Http;

namespace Evergreen.Benchmarks;

/// <summary>
/// <see cref="HttpServer"/> in one process over 127.0.0.1. <c>KeepAliveGetRoundTrip</c>: one
/// client tasklet sends <c>GET /hello</c> on a kept-alive connection and reads the 13-byte text
/// reply, on the same loop as the server (one operation is one request and its reply: parse the
/// head, route, write head and body in one write). The client reads the reply as a fixed number
/// of bytes (every reply has the same length), so what the memory column shows is the server's.
/// </summary>
[MemoryDiagnoser]
public class HttpServerBenchmarks
{
    private const int Requests = 20_000;

    private static readonly byte[] s_request = Encoding.ASCII.GetBytes("GET /hello HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\n\r\n");

    [Benchmark(OperationsPerInvoke = Requests)]
    public void KeepAliveGetRoundTrip() => EventLoop.Run(static async () =>
    {
        var server = new HttpServer().MapGet("/hello", static (_, reply) => reply.SendTextAsync(200, "hello, world!"));
        var endPoint = server.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var serving = Tasklet.Spawn(() => server.ServeAsync(), "http server");
        await using (var client = await TcpStream.ConnectAsync(endPoint))
        {
            // The first reply tells the length of all of them (the Date line has a fixed width).
            await client.WriteAsync(s_request);
            var head = await client.ReadUntilAsync("\r\n\r\n"u8.ToArray(), 4096);
            var body = new byte[13];
            await client.ReadExactlyAsync(body);
            var reply = new byte[head.Length + body.Length];
            for (int i = 1; i < Requests; i++)
            {
                await client.WriteAsync(s_request);
                await client.ReadExactlyAsync(reply);
            }
        }
        await server.CloseAsync(TimeSpan.FromSeconds(1));
        await serving;
    });
}
