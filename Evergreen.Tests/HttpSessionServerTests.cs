using System.Text;
using Evergreen.IO.Http;
using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpSession against Evergreen's own HttpServer, end to end on one loop: the two halves of the
// HTTP layer agree on framing, keep-alive, HEAD and redirects.
public class HttpSessionServerTests
{
    private static HttpServer Site() => new HttpServer()
        .MapGet("/hello", (_, reply) => reply.SendTextAsync(200, "hello from the server"))
        .MapPost("/echo", (request, reply) => reply.SendAsync(200, request.Body, "application/octet-stream"))
        .MapGet("/stream", async (_, reply) =>
        {
            reply.Headers.Set("Content-Type", "text/plain; charset=utf-8");
            for (int i = 0; i < 100; i++) await reply.WriteAsync(Encoding.UTF8.GetBytes($"part {i}\n")); // chunked
        })
        .MapGet("/old", (_, reply) => reply.RedirectAsync("/hello", 301))
        .MapGet("/query", (request, reply) => reply.SendTextAsync(200, request.Query));

    [Fact]
    public void Get_Post_Chunked_Redirect_Head_AndNotFound_AgainstHttpServer()
    {
        Run(async () =>
        {
            await using var site = HttpServerTests.Start(Site());
            await using var http = new HttpSession();
            string root = $"http://127.0.0.1:{site.EndPoint.Port}";

            var hello = await http.GetAsync($"{root}/hello");
            Assert.Equal(200, hello.StatusCode);
            Assert.Equal("text/plain", hello.ContentType);
            Assert.Equal("hello from the server", hello.Text);

            var payload = new byte[50_000];
            new Random(9).NextBytes(payload);
            Assert.Equal(payload, (await http.PostAsync($"{root}/echo", payload, "application/octet-stream")).Body.ToArray());

            var streamed = await http.GetAsync($"{root}/stream");
            Assert.Equal(string.Concat(Enumerable.Range(0, 100).Select(i => $"part {i}\n")), streamed.Text);

            var moved = await http.GetAsync($"{root}/old");
            Assert.Equal("hello from the server", moved.Text);
            Assert.Equal([new Uri($"{root}/old")], moved.RedirectChain);

            Assert.Equal("a=1&b=two", (await http.GetAsync($"{root}/query?a=1&b=two")).Text);

            var head = await http.HeadAsync($"{root}/hello");
            Assert.Equal(200, head.StatusCode);
            Assert.True(head.Body.IsEmpty);

            Assert.Equal(404, (await http.GetAsync($"{root}/missing")).StatusCode);
            Assert.Equal(1, site.Server.ConnectionCount); // every exchange on one keep-alive connection
            Assert.Equal(1, http.IdleConnectionCount);
        });
    }

    [Fact]
    public void ManyTaskletsFetching_ShareTheBoundedPool()
    {
        Run(async () =>
        {
            await using var site = HttpServerTests.Start(Site());
            await using var http = new HttpSession(new HttpSessionOptions { MaxConnectionsPerOrigin = 4 });
            int ok = 0;
            await using (var group = new TaskGroup())
            {
                for (int w = 0; w < 20; w++)
                {
                    group.Spawn(async () =>
                    {
                        for (int i = 0; i < 10; i++)
                        {
                            if ((await http.GetAsync($"http://127.0.0.1:{site.EndPoint.Port}/hello")).Text == "hello from the server") ok++;
                        }
                    });
                }
            }
            Assert.Equal(200, ok);
            Assert.Equal(200, site.Server.RequestCount);
            Assert.True(site.Server.ConnectionCount <= 4, $"{site.Server.ConnectionCount} connections");
            Assert.Equal(site.Server.ConnectionCount, http.IdleConnectionCount);
        });
    }
}
