using System.Text;
using Evergreen.IO.Http;
using Evergreen.Sync;
using static Evergreen.Tests.HttpServerTests;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// How HttpServer holds request bodies: routed before they are read, read into a buffer that
// grows as bytes arrive (never allocated at the declared length), and counted against a
// server-wide budget (MaxBodyBytesInFlight) that a request passing it gets 503 for.
public class HttpServerBodyTests
{
    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    [Theory]
    [InlineData("POST /nothing-here", 404)]
    [InlineData("PUT /up", 405)]
    public void RequestWithABody_ThatNoHandlerTakes_IsAnsweredAtOnce_WithoutReadingTheBody(string requestLine, int status)
    {
        Run(async () =>
        {
            // A body timeout longer than the test's patience: a 408 would mean the body was waited for.
            var options = new HttpServerOptions { MaxBodyBytes = 4 * 1024 * 1024, RequestHeadTimeout = TimeSpan.FromSeconds(5) };
            await using var http = Start(new HttpServer(options).MapPost("/up", (request, reply) => reply.SendTextAsync(200, "up")));
            await using var client = await http.ConnectAsync();
            await client.SendAsync($"{requestLine} HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000\r\nExpect: 100-continue\r\n\r\n");
            var r = await client.ReadResponseAsync(); // the final status, not 100 Continue
            Assert.Equal(status, r.Status);
            Assert.Equal("close", r.Header("Connection")); // the unread body cannot be skipped: the connection ends
            await client.Stream.ShutdownAsync();
            Assert.True(await client.ServerClosedAsync());
            Assert.Equal(1, http.Server.RequestCount);
            Assert.Equal(0, http.Server.BodyBytesHeld);
            await http.StopAsync();
        });
    }

    [Fact]
    public void RequestWithoutABody_OrWithItsBodyAlreadyBuffered_ThatNoHandlerTakes_KeepsItsConnection()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapPost("/up", (request, reply) => reply.SendTextAsync(200, $"got {request.Body.Length}")));
            await using var client = await http.ConnectAsync();
            Assert.Equal(404, (await client.RequestAsync("/nothing")).Status);
            // A small body that came with its head is dropped from the buffer, not waited for.
            await client.SendAsync("POST /nothing HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
            var missed = await client.ReadResponseAsync();
            Assert.Equal(404, missed.Status);
            Assert.Null(missed.Header("Connection"));
            await client.SendAsync("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
            Assert.Equal("got 3", (await client.ReadResponseAsync()).Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void HeadsDeclaringBigBodies_CostNoMemory_UntilTheirBytesArrive()
    {
        Run(async () =>
        {
            const int Connections = 20;
            var options = new HttpServerOptions { MaxBodyBytes = 1024 * 1024 };
            await using var http = Start(new HttpServer(options).MapPost("/up", (request, reply) => reply.SendTextAsync(200, "up")));

            // Heads alike but for the length they declare: what the loop thread allocates for them
            // (the server's tasklets and the clients run on it) must not grow with that length.
            async Task<long> AllocatedForHeadsAsync(int contentLength, List<RawHttpClient> clients)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < Connections; i++)
                {
                    var client = await http.ConnectAsync();
                    clients.Add(client);
                    await client.SendAsync($"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: {contentLength,7}\r\nExpect: 100-continue\r\n\r\n");
                    // Sent once the server is past the head and about to read the body.
                    Assert.Equal("HTTP/1.1 100 Continue", await client.Stream.ReadLineAsync());
                    Assert.Equal("", await client.Stream.ReadLineAsync());
                }
                return GC.GetAllocatedBytesForCurrentThread() - before;
            }

            var small = new List<RawHttpClient>();
            var big = new List<RawHttpClient>();
            try
            {
                long forSmall = await AllocatedForHeadsAsync(1, small);
                long forBig = await AllocatedForHeadsAsync(1024 * 1024, big);
                // Before bodies were read as they arrive, the big heads cost 20 MiB more.
                Assert.True(forBig - forSmall < 1024 * 1024, $"{Connections} heads declaring 1 MiB bodies allocated {forBig} bytes, {Connections} declaring 1 byte {forSmall}");
                Assert.Equal(0, http.Server.BodyBytesHeld);

                // A little of each big body: each holds a small buffer, not its declared megabyte.
                foreach (var client in big) await client.SendAsync(new byte[100]);
                while (http.Server.BodyBytesHeld < Connections * HttpServer.MinBodyBuffer) await Tasklet.Sleep(Ms(1));
                Assert.Equal(Connections * HttpServer.MinBodyBuffer, http.Server.BodyBytesHeld);
            }
            finally
            {
                foreach (var client in small.Concat(big)) await client.DisposeAsync();
            }
            while (http.Server.ConnectionCount > 0) await Tasklet.Sleep(Ms(1));
            Assert.Equal(0, http.Server.BodyBytesHeld); // every cut-short body gave its budget back
            await http.StopAsync();
        });
    }

    [Fact]
    public void BodiesPastMaxBodyBytesInFlight_Get503_AndTheBudgetFreesAsHandlersReturn()
    {
        Run(async () =>
        {
            const int Body = 60_000;
            var options = new HttpServerOptions { MaxBodyBytes = 64 * 1024, MaxBodyBytesInFlight = 150_000 };
            var entered = new AsyncSemaphore(0);
            var gate = new AsyncEvent();
            await using var http = Start(new HttpServer(options).MapPost("/hold", async (request, reply) =>
            {
                entered.Release();
                await gate.WaitAsync();
                await reply.SendTextAsync(200, $"got {request.Body.Length}");
            }));
            string upload = $"POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: {Body}\r\n\r\n" + new string('b', Body);

            // Two bodies held by their handlers: 120 000 of the 150 000 bytes.
            var a = await http.ConnectAsync();
            var b = await http.ConnectAsync();
            await a.SendAsync(upload);
            await entered.AcquireAsync();
            await b.SendAsync(upload);
            await entered.AcquireAsync();
            Assert.Equal(2 * Body, http.Server.BodyBytesHeld);

            // A third does not fit: refused at once, not queued behind the others.
            await using (var c = await http.ConnectAsync())
            {
                await c.SendAsync(upload);
                var refused = await c.ReadResponseAsync();
                Assert.Equal(503, refused.Status);
                Assert.Equal("1", refused.Header("Retry-After"));
                Assert.Equal("close", refused.Header("Connection"));
                Assert.Contains("MaxBodyBytesInFlight", refused.Text);
                Assert.True(await c.ServerClosedAsync());
            }
            Assert.Equal(2 * Body, http.Server.BodyBytesHeld);

            gate.Set();
            Assert.Equal($"got {Body}", (await a.ReadResponseAsync()).Text);
            Assert.Equal($"got {Body}", (await b.ReadResponseAsync()).Text);
            Assert.Equal(0, http.Server.BodyBytesHeld);

            // The budget is back: the same upload now goes through, on a kept-alive connection.
            await a.SendAsync(upload);
            await entered.AcquireAsync();
            Assert.Equal($"got {Body}", (await a.ReadResponseAsync()).Text);
            await a.DisposeAsync();
            await b.DisposeAsync();
            await http.StopAsync();
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Body_ArrivingInPieces_IsReadWhole_IntoABufferThatGrows(bool chunked)
    {
        Run(async () =>
        {
            var body = new byte[300_000];
            new Random(7).NextBytes(body);
            byte[]? received = null;
            await using var http = Start(new HttpServer(new HttpServerOptions { MaxBodyBytes = body.Length }).MapPost("/up", (request, reply) =>
            {
                received = request.Body.ToArray();
                return reply.SendTextAsync(200, "ok");
            }));
            await using var client = await http.ConnectAsync();
            await client.SendAsync(chunked
                ? "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                : $"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: {body.Length}\r\n\r\n");
            for (int at = 0; at < body.Length; at += 50_000)
            {
                if (chunked) await client.SendAsync($"{50_000:x}\r\n");
                await client.SendAsync(body.AsMemory(at, 50_000).ToArray());
                if (chunked) await client.SendAsync("\r\n");
                await Tasklet.Sleep(Ms(1)); // separate arrivals, so the buffer grows several times
            }
            if (chunked) await client.SendAsync("0\r\n\r\n");
            Assert.Equal("ok", (await client.ReadResponseAsync()).Text);
            Assert.Equal(body, received);
            Assert.Equal(0, http.Server.BodyBytesHeld);
            await http.StopAsync();
        });
    }
}
