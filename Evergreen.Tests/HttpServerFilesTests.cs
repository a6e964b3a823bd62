using System.Globalization;
using System.Text;
using Evergreen.IO.Http;
using static Evergreen.Tests.HttpServerTests;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpServer.MapFiles and HttpServerReply.SendFileAsync over a temporary directory: content types,
// index.html, redirects, traversal attempts, a 1 MB file byte-exact, HEAD, If-Modified-Since.
public sealed class HttpServerFilesTests : IDisposable
{
    private readonly string _dir;      // holds secret.txt, and the served "site" directory
    private readonly string _site;
    private readonly byte[] _big = new byte[1024 * 1024];

    public HttpServerFilesTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), "evergreen-http-" + Guid.NewGuid().ToString("N"));
        _site = Path.Combine(_dir, "site");
        Directory.CreateDirectory(Path.Combine(_site, "sub"));
        Directory.CreateDirectory(Path.Combine(_site, "noindex"));
        File.WriteAllText(Path.Combine(_dir, "secret.txt"), "TOP SECRET");
        File.WriteAllText(Path.Combine(_site, "index.html"), "<h1>home</h1>");
        File.WriteAllText(Path.Combine(_site, "sub", "index.html"), "<h1>sub</h1>");
        File.WriteAllText(Path.Combine(_site, "sub", "page two.txt"), "spaced");
        foreach (var name in new[] { "site.css", "app.js", "data.json", "note.txt", "img.png", "photo.jpg", "anim.gif", "logo.svg", "doc.pdf", "feed.xml", "favicon.ico", "blob.bin", "README" })
        {
            File.WriteAllText(Path.Combine(_site, name), "content of " + name);
        }
        new Random(1).NextBytes(_big);
        File.WriteAllBytes(Path.Combine(_site, "big.bin"), _big);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Running Serve() => Start(new HttpServer()
        .MapFiles("/static", _site)
        .MapGet("/send", (_, reply) => reply.SendFileAsync(Path.Combine(_site, "note.txt")))
        .MapGet("/send-typed", (_, reply) => reply.SendFileAsync(Path.Combine(_site, "README"), "text/markdown"))
        .MapGet("/send-missing", (_, reply) => reply.SendFileAsync(Path.Combine(_site, "nope.txt"))));

    [Theory]
    [InlineData("site.css", "text/css; charset=utf-8")]
    [InlineData("app.js", "text/javascript; charset=utf-8")]
    [InlineData("data.json", "application/json")]
    [InlineData("note.txt", "text/plain; charset=utf-8")]
    [InlineData("img.png", "image/png")]
    [InlineData("photo.jpg", "image/jpeg")]
    [InlineData("anim.gif", "image/gif")]
    [InlineData("logo.svg", "image/svg+xml")]
    [InlineData("doc.pdf", "application/pdf")]
    [InlineData("feed.xml", "application/xml")]
    [InlineData("favicon.ico", "image/x-icon")]
    [InlineData("index.html", "text/html; charset=utf-8")]
    [InlineData("blob.bin", "application/octet-stream")]
    [InlineData("README", "application/octet-stream")]
    public void MapFiles_ContentTypeFromTheExtension(string name, string type)
    {
        Run(async () =>
        {
            await using var http = Serve();
            var r = await http.GetAsync("/static/" + name);
            Assert.Equal(200, r.Status);
            Assert.Equal(type, r.Header("Content-Type"));
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(_site, name)), r.Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void MapFiles_DirectoryServesIndexHtml_AndGetsItsSlashByRedirect()
    {
        Run(async () =>
        {
            await using var http = Serve();
            await using var client = await http.ConnectAsync();
            Assert.Equal("<h1>home</h1>", (await client.RequestAsync("/static/")).Text);
            Assert.Equal("<h1>sub</h1>", (await client.RequestAsync("/static/sub/")).Text);
            var bare = await client.RequestAsync("/static");
            Assert.Equal(301, bare.Status);
            Assert.Equal("/static/", bare.Header("Location"));
            var sub = await client.RequestAsync("/static/sub?x=1");
            Assert.Equal(301, sub.Status);
            Assert.Equal("/static/sub/?x=1", sub.Header("Location"));
            Assert.Equal(404, (await client.RequestAsync("/static/noindex/")).Status); // no listing
            Assert.Equal("spaced", (await client.RequestAsync("/static/sub/page%20two.txt")).Text);
            Assert.Equal(404, (await client.RequestAsync("/static/missing.txt")).Status);
            await http.StopAsync();
        });
    }

    [Theory]
    [InlineData("/static/../secret.txt")]
    [InlineData("/static/%2e%2e/secret.txt")]
    [InlineData("/static/%2E%2E%2Fsecret.txt")]
    [InlineData("/static/..%2fsecret.txt")]
    [InlineData("/static/sub/../../secret.txt")]
    [InlineData("/static/sub/%2e%2e/%2e%2e/secret.txt")]
    [InlineData("/static/./index.html")]
    [InlineData("/static//etc/passwd")]
    [InlineData("/static/%2Fetc%2Fpasswd")]
    [InlineData("/static/..\\secret.txt")]
    [InlineData("/static/%5c..%5csecret.txt")]
    [InlineData("/static/index.html%00.txt")]
    public void MapFiles_PathsThatWouldLeaveTheDirectory_Are404(string target)
    {
        Run(async () =>
        {
            await using var http = Serve();
            var r = await http.GetAsync(target);
            Assert.Equal(404, r.Status);
            Assert.DoesNotContain("SECRET", r.Text);
            Assert.DoesNotContain("root:", r.Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void MapFiles_AbsolutePathInTheRest_CannotEscape()
    {
        // Below HTTP: the resolver itself, for a rest that is an absolute path of the secret.
        var files = new HttpStaticFiles(_site);
        string secret = Path.Combine(_dir, "secret.txt");
        Assert.False(files.TryResolve(secret, out _));                   // "/tmp/.../secret.txt"
        Assert.False(files.TryResolve(Uri.EscapeDataString(secret), out _)); // "%2Ftmp%2F...": decoded first
        // Without its leading slash it is only a (missing) path inside the directory.
        Assert.True(files.TryResolve(secret.TrimStart('/'), out var inside));
        Assert.StartsWith(_site + "/", inside);
        Assert.True(files.TryResolve("sub/page%20two.txt", out var ok));
        Assert.Equal(Path.Combine(_site, "sub", "page two.txt"), ok);
    }

    [Fact]
    public void MapFiles_OneMegabyteFile_ByteExact_WithContentLength()
    {
        Run(async () =>
        {
            await using var http = Serve();
            await using var client = await http.ConnectAsync();
            var r = await client.RequestAsync("/static/big.bin");
            Assert.Equal(_big.Length.ToString(CultureInfo.InvariantCulture), r.Header("Content-Length"));
            Assert.Null(r.Header("Transfer-Encoding"));
            Assert.Equal(_big, r.Body);
            Assert.Equal(200, (await client.RequestAsync("/static/note.txt")).Status); // in step after it
            await http.StopAsync();
        });
    }

    [Fact]
    public void MapFiles_Head_HasTheLengthAndNoBody()
    {
        Run(async () =>
        {
            await using var http = Serve();
            await using var client = await http.ConnectAsync();
            var head = await client.RequestAsync("/static/big.bin", "HEAD");
            Assert.Equal(200, head.Status);
            Assert.Equal(_big.Length.ToString(CultureInfo.InvariantCulture), head.Header("Content-Length"));
            Assert.Equal("application/octet-stream", head.Header("Content-Type"));
            Assert.Equal("content of note.txt", (await client.RequestAsync("/static/note.txt")).Text); // no body came before it
            await http.StopAsync();
        });
    }

    [Fact]
    public void MapFiles_LastModified_AndIfModifiedSince304()
    {
        Run(async () =>
        {
            var when = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
            File.SetLastWriteTimeUtc(Path.Combine(_site, "note.txt"), when);
            await using var http = Serve();
            await using var client = await http.ConnectAsync();
            var r = await client.RequestAsync("/static/note.txt");
            Assert.Equal("Mon, 06 May 2024 07:08:09 GMT", r.Header("Last-Modified"));
            var same = await client.RequestAsync("/static/note.txt", extra: "If-Modified-Since: Mon, 06 May 2024 07:08:09 GMT\r\n");
            Assert.Equal(304, same.Status);
            Assert.Empty(same.Body);
            var older = await client.RequestAsync("/static/note.txt", extra: "If-Modified-Since: Sun, 05 May 2024 00:00:00 GMT\r\n");
            Assert.Equal(200, older.Status);
            Assert.Equal("content of note.txt", older.Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void MapFiles_OtherMethods_Are405()
    {
        Run(async () =>
        {
            await using var http = Serve();
            var r = await http.GetAsync("/static/note.txt", "POST", "Content-Length: 0\r\n");
            Assert.Equal(405, r.Status);
            Assert.Equal("GET, HEAD", r.Header("Allow"));
            await http.StopAsync();
        });
    }

    [Fact]
    public void MapFiles_MissingDirectory_IsRefusedAtMapTime()
    {
        Assert.Throws<DirectoryNotFoundException>(() => new HttpServer().MapFiles("/x", Path.Combine(_dir, "nope")));
        Assert.Throws<ArgumentException>(() => new HttpServer().MapFiles("x", _site));
    }

    [Fact]
    public void SendFileAsync_FromAHandler_TypeFromExtensionOrGiven_MissingIs500()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            await using var http = Serve();
            await using var client = await http.ConnectAsync();
            var r = await client.RequestAsync("/send");
            Assert.Equal("content of note.txt", r.Text);
            Assert.Equal("text/plain; charset=utf-8", r.Header("Content-Type"));
            Assert.Equal("text/markdown", (await client.RequestAsync("/send-typed")).Header("Content-Type"));
            Assert.Equal(500, (await client.RequestAsync("/send-missing")).Status);
            await http.StopAsync();
        }, reports);
        Assert.IsType<FileNotFoundException>(Assert.Single(reports).Exception);
    }

    [Fact]
    public void MapFiles_ManyClientsFetchTheBigFileAtOnce_AllByteExact()
    {
        Run(async () =>
        {
            await using var http = Serve();
            var fetchers = Enumerable.Range(0, 8).Select(_ => Tasklet.Spawn(async () =>
            {
                var r = await http.GetAsync("/static/big.bin");
                Assert.Equal(_big, r.Body);
            })).ToList();
            foreach (var f in fetchers) await f;
            await http.StopAsync();
        });
    }

    /// <summary>How many of this process's descriptors are open on <paramref name="path"/>.</summary>
    private static int DescriptorsOn(string path) =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Count(fd =>
        {
            try { return fd.LinkTarget == path; }
            catch (IOException) { return false; } // closed while we looked
        });

    [Fact]
    public void MapFiles_AFifoUnderTheRoot_Is404AtOnce_AndLeavesNoDescriptor()
    {
        if (!OperatingSystem.IsLinux()) return; // the regular-file check is Linux's (statx)
        string fifo = Path.Combine(_site, "pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        Run(async () =>
        {
            await using var http = Serve();
            // Bounded: a server that opens the FIFO for reading waits in open() for a writer forever.
            using (CancelScope.FailAfter(TimeSpan.FromSeconds(10)))
            {
                Assert.Equal(404, (await http.GetAsync("/static/pipe")).Status);
                Assert.Equal(404, (await http.GetAsync("/static/pipe", "HEAD")).Status);
                // With a writer present an open would succeed: the file is still no regular file.
                await using (var writer = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite))
                {
                    for (int i = 0; i < 5; i++) Assert.Equal(404, (await http.GetAsync("/static/pipe")).Status);
                    Assert.Equal(1, DescriptorsOn(fifo)); // the writer's own
                }
                Assert.Equal("content of note.txt", (await http.GetAsync("/static/note.txt")).Text); // files beside it still served
            }
            Assert.Equal(0, DescriptorsOn(fifo));
            await http.StopAsync();
        });
    }
}
