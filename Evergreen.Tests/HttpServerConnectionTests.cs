using System.Net;
using System.Text;
using Evergreen.IO;
using Evergreen.IO.Http;
using Evergreen.Sync;
using static Evergreen.Tests.HttpServerTests;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpServer connections over raw TcpStream clients: keep-alive and pipelining, Connection: close,
// HTTP/1.0, the idle and head timeouts, closing with a drain, many clients, listening and serving.
public class HttpServerConnectionTests
{
    private static HttpHandler Text(string text) => (_, reply) => reply.SendTextAsync(200, text);

    [Fact]
    public void KeepAlive_SeveralRequestsOnOneConnection()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/n/*", (request, reply) => reply.SendTextAsync(200, request.RouteRest)));
            await using var client = await http.ConnectAsync();
            for (int i = 0; i < 5; i++) Assert.Equal(i.ToString(), (await client.RequestAsync($"/n/{i}")).Text);
            Assert.Equal(1, http.Server.ConnectionCount);
            Assert.Equal(5, http.Server.RequestCount);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Pipelined_RequestsInOneWrite_AreAnsweredInOrder()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer()
                .MapGet("/slow", async (_, reply) =>
                {
                    await Tasklet.Sleep(TimeSpan.FromMilliseconds(20)); // answered in order all the same
                    await reply.SendTextAsync(200, "slow");
                })
                .MapGet("/fast", Text("fast"))
                .MapPost("/echo", (request, reply) => reply.SendAsync(200, request.Body, "application/octet-stream")));
            await using var client = await http.ConnectAsync();
            await client.SendAsync(
                "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n" +
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody" +
                "GET /fast HTTP/1.1\r\nHost: t\r\n\r\n" +
                "HEAD /fast HTTP/1.1\r\nHost: t\r\n\r\n" +
                "GET /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            Assert.Equal("slow", (await client.ReadResponseAsync()).Text);
            Assert.Equal("body", (await client.ReadResponseAsync()).Text);
            Assert.Equal("fast", (await client.ReadResponseAsync()).Text);
            Assert.Equal("4", (await client.ReadResponseAsync(head: true)).Header("Content-Length"));
            var last = await client.ReadResponseAsync();
            Assert.Equal("close", last.Header("Connection"));
            Assert.True(await client.ServerClosedAsync());
            await http.StopAsync();
        });
    }

    [Fact]
    public void ConnectionClose_IsHonoured_AndTheServerCloses()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/", Text("bye")));
            await using var client = await http.ConnectAsync();
            var r = await client.RequestAsync("/", extra: "Connection: close\r\n");
            Assert.Equal("close", r.Header("Connection"));
            Assert.Equal("bye", r.Text);
            Assert.True(await client.ServerClosedAsync());
            await http.StopAsync();
        });
    }

    [Fact]
    public void Handler_ConnectionCloseHeader_ClosesAfterTheReply()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/", (_, reply) =>
            {
                reply.Headers.Set("Connection", "close");
                return reply.SendTextAsync(200, "last one");
            }));
            await using var client = await http.ConnectAsync();
            var r = await client.RequestAsync("/");
            Assert.Equal("close", r.Header("Connection"));
            Assert.Equal(1, r.Count("Connection"));
            Assert.True(await client.ServerClosedAsync());
            await http.StopAsync();
        });
    }

    [Fact]
    public void Http10_ClosesUnlessKeepAliveAsked_AndGetsNoChunks()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer()
                .MapGet("/", Text("ten"))
                .MapGet("/stream", async (_, reply) =>
                {
                    await reply.WriteAsync(Encoding.ASCII.GetBytes("a"));
                    await reply.WriteAsync(Encoding.ASCII.GetBytes("b"));
                }));
            await using (var plain = await http.ConnectAsync())
            {
                await plain.SendAsync("GET / HTTP/1.0\r\n\r\n");
                var r = await plain.ReadResponseAsync();
                Assert.Equal("ten", r.Text);
                Assert.Equal("close", r.Header("Connection"));
                Assert.True(await plain.ServerClosedAsync());
            }
            await using (var kept = await http.ConnectAsync())
            {
                await kept.SendAsync("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
                var r = await kept.ReadResponseAsync();
                Assert.Equal("keep-alive", r.Header("Connection"));
                await kept.SendAsync("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
                var streamed = await kept.ReadResponseAsync(); // no length, no chunks: the body runs to the close
                Assert.Null(streamed.Header("Transfer-Encoding"));
                Assert.Equal("close", streamed.Header("Connection"));
                Assert.Equal("ab", streamed.Text);
            }
            await http.StopAsync();
        });
    }

    [Fact]
    public void IdleKeepAliveConnection_IsClosedAfterKeepAliveTimeout()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer(new HttpServerOptions { KeepAliveTimeout = Ms(100) }).MapGet("/", Text("x")));
            await using var client = await http.ConnectAsync();
            Assert.Equal(200, (await client.RequestAsync("/")).Status);
            Assert.True(await client.ServerClosedAsync()); // no further request: the server hangs up
            Assert.Equal(0, http.Server.ConnectionCount);
            await http.StopAsync();
        });
    }

    [Fact]
    public void RequestHeadTimeout_AHalfSentHead_Gets408AndTheClose()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer(new HttpServerOptions { RequestHeadTimeout = Ms(100) }).MapGet("/", Text("x")));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "); // and nothing more
            var r = await client.ReadResponseAsync();
            Assert.Equal(408, r.Status);
            Assert.Equal("close", r.Header("Connection"));
            Assert.True(await client.ServerClosedAsync());
            Assert.Equal(0, http.Server.RequestCount);
            await http.StopAsync();
        });
    }

    [Fact]
    public void RequestHeadTimeout_ASilentNewConnection_IsClosedWithoutAWord()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer(new HttpServerOptions { RequestHeadTimeout = Ms(100) }).MapGet("/", Text("x")));
            await using var client = await http.ConnectAsync();
            Assert.True(await client.ServerClosedAsync());
            await http.StopAsync();
        });
    }

    [Fact]
    public void CloseAsync_Drain_InFlightRequestFinishes_IdleConnectionClosedAtOnce()
    {
        Run(async () =>
        {
            var release = new AsyncEvent();
            var entered = new AsyncEvent();
            await using var http = Start(new HttpServer()
                .MapGet("/", Text("x"))
                .MapGet("/slow", async (_, reply) =>
                {
                    entered.Set();
                    await release.WaitAsync();
                    await reply.SendTextAsync(200, "finished");
                }));
            await using var idle = await http.ConnectAsync();
            Assert.Equal(200, (await idle.RequestAsync("/")).Status);
            await using var busy = await http.ConnectAsync();
            await busy.SendAsync("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
            await entered.WaitAsync();
            var closing = Tasklet.Spawn(async () => await http.StopAsync(TimeSpan.FromSeconds(30)));
            Assert.True(await idle.ServerClosedAsync()); // closed while /slow still runs
            release.Set();
            var r = await busy.ReadResponseAsync();
            Assert.Equal("finished", r.Text);
            Assert.Equal("close", r.Header("Connection"));
            Assert.True(await busy.ServerClosedAsync());
            await closing;
        });
    }

    [Fact]
    public void CloseAsync_DrainRunsOut_TheBusyHandlerIsKilled()
    {
        Run(async () =>
        {
            var entered = new AsyncEvent();
            bool finished = false;
            await using var http = Start(new HttpServer().MapGet("/forever", async (_, reply) =>
            {
                entered.Set();
                await new AsyncEvent().WaitAsync(); // never set
                finished = true;
            }));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
            await entered.WaitAsync();
            await http.StopAsync(Ms(50));
            Assert.True(await client.ServerClosedAsync());
            Assert.False(finished);
        });
    }

    [Fact]
    public void ManyConcurrentClients_AllAnswered()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/c/*", async (request, reply) =>
            {
                await Tasklet.Yield(); // let the others interleave
                await reply.SendTextAsync(200, request.RouteRest);
            }));
            const int clients = 200;
            var done = 0;
            var tasks = new List<Tasklet>();
            for (int i = 0; i < clients; i++)
            {
                int id = i;
                tasks.Add(Tasklet.Spawn(async () =>
                {
                    await using var client = await http.ConnectAsync();
                    for (int k = 0; k < 2; k++) Assert.Equal($"{id}-{k}", (await client.RequestAsync($"/c/{id}-{k}")).Text);
                    done++;
                }));
            }
            foreach (var t in tasks) await t;
            Assert.Equal(clients, done);
            Assert.Equal(2 * clients, http.Server.RequestCount);
            await http.StopAsync();
        });
    }

    [Fact]
    public void ServeAsync_KilledServingTasklet_ClosesEverything()
    {
        Run(async () =>
        {
            var server = new HttpServer().MapGet("/", Text("x"));
            var endPoint = server.Listen(new IPEndPoint(IPAddress.Loopback, 0));
            var serving = Tasklet.Spawn(() => server.ServeAsync());
            await using var client = await RawHttpClient.ConnectAsync(endPoint);
            Assert.Equal(200, (await client.RequestAsync("/")).Status);
            serving.Kill();
            await serving.JoinAsync();
            Assert.True(await client.ServerClosedAsync());
        });
    }

    [Fact]
    public void Listen_Twice_OrServeBeforeListen_IsMisuse()
    {
        Run(async () =>
        {
            await using var server = new HttpServer();
            await Assert.ThrowsAsync<InvalidOperationException>(() => server.ServeAsync()); // thrown at the call
            server.Listen(new IPEndPoint(IPAddress.Loopback, 0));
            Assert.Throws<InvalidOperationException>(() => server.Listen(new IPEndPoint(IPAddress.Loopback, 0)));
        });
    }

    [Fact]
    public void Listen_OnATakenPort_Throws_AndLeavesNoHandle()
    {
        Run(async () =>
        {
            await using var first = new HttpServer();
            var endPoint = first.Listen(new IPEndPoint(IPAddress.Loopback, 0));
            await using var second = new HttpServer();
            Assert.Throws<UvException>(() => second.Listen(endPoint));
        });
    }

    [Fact]
    public void Reply_ToAClientThatNeverReads_IsCutAfterSendTimeout_AndTheConnectionCloses()
    {
        Run(async () =>
        {
            Exception? seen = null;
            var big = new byte[32 * 1024 * 1024]; // more than the kernel's buffers on both sides hold
            await using var http = Start(new HttpServer(new HttpServerOptions { SendTimeout = Ms(200) }).MapGet("/big", async (request, reply) =>
            {
                try
                {
                    await reply.SendAsync(200, big, "application/octet-stream");
                }
                catch (IOException e)
                {
                    seen = e;
                    throw;
                }
            }));
            var client = await http.ConnectAsync();
            client.Stream.ReceiveBufferSize = 4096;
            await client.SendAsync("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
            // The client never reads. Bounded: without the timeout the connection stays forever.
            using (CancelScope.FailAfter(TimeSpan.FromSeconds(20)))
            {
                while (http.Server.ConnectionCount > 0) await Tasklet.Sleep(Ms(20));
            }
            Assert.IsType<IOException>(seen);
            Assert.Contains("SendTimeout", seen!.Message);
            await client.DisposeAsync();
            await http.StopAsync();
        });
    }
}
