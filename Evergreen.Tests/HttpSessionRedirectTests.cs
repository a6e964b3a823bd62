using Evergreen.IO.Http;
using static Evergreen.Tests.RawHttpServer;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpSession following redirects: relative Location, method rewriting, loops and limits.
public class HttpSessionRedirectTests
{
    private static string Redirect(int status, string location, string body = "") =>
        $"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: {body.Length}\r\n\r\n{body}";

    /// <summary>A server whose answers come from a table: path -> raw response (a 404 otherwise).</summary>
    private static RawHttpServer Site(Dictionary<string, string> pages) => new(async (request, conn) =>
    {
        var path = request.Target.Split('?')[0];
        await Send(conn, pages.TryGetValue(path, out var raw) ? raw : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return true;
    });

    [Fact]
    public void RelativeLocations_AreResolved_AndTheChainIsRecorded()
    {
        Run(async () =>
        {
            await using var server = Site(new()
            {
                ["/a/start"] = Redirect(301, "next?x=1", "moved along"),   // relative to /a/
                ["/a/next"] = Redirect(302, "../b/end"),
                ["/b/end"] = Redirect(308, "/final"),
                ["/final"] = Ok("arrived"),
            });
            await using var http = new HttpSession();
            var response = await http.GetAsync(server.Url("/a/start"));
            Assert.Equal("arrived", response.Text);
            Assert.Equal(new Uri(server.Url("/final")), response.Url);
            Assert.Equal([server.Url("/a/start"), server.Url("/a/next?x=1"), server.Url("/b/end")], response.RedirectChain.Select(u => u.AbsoluteUri));
            Assert.Equal(["/a/start", "/a/next?x=1", "/b/end", "/final"], server.Requests.Select(r => r.Target));
            Assert.Equal(1, server.Accepted); // each redirect's body was drained: one connection
        });
    }

    [Fact]
    public void A303_TurnsAPostIntoAGet_WithoutTheBody()
    {
        Run(async () =>
        {
            await using var server = Site(new() { ["/form"] = Redirect(303, "/thanks"), ["/thanks"] = Ok("thanks") });
            await using var http = new HttpSession();
            var response = await http.PostAsync(server.Url("/form"), "name=x"u8.ToArray(), "application/x-www-form-urlencoded");
            Assert.Equal("thanks", response.Text);
            Assert.Equal("GET", response.Method);
            var get = server.Requests[1];
            Assert.Equal("GET", get.Method);
            Assert.Empty(get.Body);
            Assert.False(get.Headers.Contains("Content-Length"));
            Assert.False(get.Headers.Contains("Content-Type"));
        });
    }

    [Fact]
    public void A301AfterAPost_BecomesAGet_AsBrowsersDo()
    {
        Run(async () =>
        {
            await using var server = Site(new() { ["/old"] = Redirect(301, "/new"), ["/new"] = Ok("new") });
            await using var http = new HttpSession();
            var response = await http.PostAsync(server.Url("/old"), "x"u8.ToArray(), "text/plain");
            Assert.Equal("GET", response.Method);
            Assert.Equal("GET", server.Requests[1].Method);
        });
    }

    [Theory]
    [InlineData(307)]
    [InlineData(308)]
    public void A307Or308_KeepsThePostAndItsBody(int status)
    {
        Run(async () =>
        {
            await using var server = Site(new() { ["/submit"] = Redirect(status, "/submit2"), ["/submit2"] = Ok("stored") });
            await using var http = new HttpSession();
            var response = await http.PostAsync(server.Url("/submit"), "payload"u8.ToArray(), "text/plain");
            Assert.Equal("stored", response.Text);
            Assert.Equal("POST", response.Method);
            var again = server.Requests[1];
            Assert.Equal("POST", again.Method);
            Assert.Equal("payload", again.BodyText);
            Assert.Equal("text/plain", again.Headers.Get("Content-Type"));
        });
    }

    [Fact]
    public void ALoop_IsAnHttpRedirectException_NamingTheChain()
    {
        Run(async () =>
        {
            await using var server = Site(new() { ["/1"] = Redirect(302, "/2"), ["/2"] = Redirect(302, "/3"), ["/3"] = Redirect(302, "/1") });
            await using var http = new HttpSession();
            var error = await Assert.ThrowsAsync<HttpRedirectException>(async () => await http.GetAsync(server.Url("/1")));
            Assert.True(error.IsLoop);
            Assert.Equal([server.Url("/1"), server.Url("/2"), server.Url("/3")], error.Chain.Select(u => u.AbsoluteUri));
            Assert.Contains($"redirect loop: {server.Url("/1")} -> {server.Url("/2")} -> {server.Url("/3")} -> {server.Url("/1")}", error.Message);
            Assert.Equal(3, server.Requests.Count);
            Assert.Equal(0, http.ActiveConnectionCount);
        });
    }

    [Fact]
    public void TooManyRedirects_IsAnHttpRedirectException()
    {
        Run(async () =>
        {
            // An endless chain of distinct URLs: only the limit stops it.
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                int n = int.Parse(request.Target.TrimStart('/'));
                await Send(conn, Redirect(302, $"/{n + 1}"));
                return true;
            });
            await using var http = new HttpSession(new HttpSessionOptions { MaxRedirects = 3 });
            var error = await Assert.ThrowsAsync<HttpRedirectException>(async () => await http.GetAsync(server.Url("/0")));
            Assert.False(error.IsLoop);
            Assert.Equal(4, error.Chain.Count);
            Assert.Contains("more than 3 redirects", error.Message);
            Assert.Equal(4, server.Requests.Count);
        });
    }

    [Fact]
    public void MaxRedirectsZero_ReturnsTheRedirectItself()
    {
        Run(async () =>
        {
            await using var server = Site(new() { ["/here"] = Redirect(302, "/there", "see there") });
            await using var http = new HttpSession(new HttpSessionOptions { MaxRedirects = 0 });
            var response = await http.GetAsync(server.Url("/here"));
            Assert.Equal(302, response.StatusCode);
            Assert.Equal("/there", response.Headers.Get("Location"));
            Assert.Equal("see there", response.Text);
            Assert.Single(server.Requests);
        });
    }

    [Fact]
    public void ARedirectToAnotherOrigin_UsesItsPool_AndDropsCredentials()
    {
        Run(async () =>
        {
            await using var target = new RawHttpServer(Always(Ok("other origin")));
            await using var server = Site(new() { ["/go"] = Redirect(302, target.Url("/landing")) });
            await using var http = new HttpSession();
            var headers = new HttpFields();
            headers.Add("Authorization", "Bearer secret");
            headers.Add("X-Keep", "1");
            var response = await http.GetAsync(server.Url("/go"), headers);
            Assert.Equal("other origin", response.Text);
            Assert.Equal("Bearer secret", server.Requests[0].Headers.Get("Authorization"));
            Assert.False(target.Requests[0].Headers.Contains("Authorization"));
            Assert.Equal("1", target.Requests[0].Headers.Get("X-Keep"));
            Assert.Equal(2, http.IdleConnectionCount);
        });
    }

    [Fact]
    public void ALocationThatIsNotHttp_IsAnHttpRedirectException()
    {
        Run(async () =>
        {
            await using var server = Site(new() { ["/x"] = Redirect(302, "mailto:someone@example.com") });
            await using var http = new HttpSession();
            var error = await Assert.ThrowsAsync<HttpRedirectException>(async () => await http.GetAsync(server.Url("/x")));
            Assert.Contains("is not an http or https URL", error.Message);
        });
    }

    [Fact]
    public void ARedirectWithABigBody_ClosesItsConnection_InsteadOfDrainingIt()
    {
        Run(async () =>
        {
            var big = new string('x', 200_000);
            await using var server = Site(new() { ["/big"] = Redirect(302, "/small", big), ["/small"] = Ok("small") });
            await using var http = new HttpSession();
            Assert.Equal("small", (await http.GetAsync(server.Url("/big"))).Text);
            Assert.Equal(2, server.Accepted);
        });
    }
}
