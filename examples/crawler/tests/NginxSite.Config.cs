using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Evergreen.Tests;

// The config: nothing from /etc/nginx, every path in the fixture's temp dir.
internal sealed partial class NginxSite
{
    /// <summary>What `nginx -V` says about the binary: its version and which http modules it was built without.</summary>
    private sealed record BuildInfo(Version Version, string ConfigureArguments)
    {
        public bool Has(string module) => !ConfigureArguments.Contains($"--without-{module}_module", StringComparison.Ordinal);

        /// <summary>`-e` (the error log before the config is read) came in nginx 1.19.5.</summary>
        public bool HasErrorLogOption => Version >= new Version(1, 19, 5);
    }

    private static BuildInfo CompiledModules(string binary)
    {
        using var process = Process.Start(new ProcessStartInfo(binary, ["-V"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        // nginx -V prints to stderr; read both so neither pipe fills.
        var stdout = process.StandardOutput.ReadToEndAsync();
        string text = process.StandardError.ReadToEnd() + stdout.GetAwaiter().GetResult();
        process.WaitForExit();
        var version = Regex.Match(text, @"nginx/(\d+)\.(\d+)\.(\d+)");
        if (process.ExitCode != 0 || !version.Success)
        {
            throw new InvalidOperationException($"`{binary} -V` did not say which nginx it is (exit {process.ExitCode}): \"{text.Trim()}\"");
        }
        return new BuildInfo(
            new Version(int.Parse(version.Groups[1].Value), int.Parse(version.Groups[2].Value), int.Parse(version.Groups[3].Value)),
            text);
    }

    private string Config(BuildInfo build)
    {
        string dir = Directory;
        string temp = Path.Combine(dir, "temp");
        // Each module nginx was built with creates its temp dir at startup, by default under
        // /var/lib/nginx: point every one that exists here (a directive for a missing module is a
        // config error, hence the check).
        var temps = new List<string> { $"client_body_temp_path {temp}/body;" };
        if (build.Has("http_proxy")) temps.Add($"proxy_temp_path {temp}/proxy;");
        if (build.Has("http_fastcgi")) temps.Add($"fastcgi_temp_path {temp}/fastcgi;");
        if (build.Has("http_uwsgi")) temps.Add($"uwsgi_temp_path {temp}/uwsgi;");
        if (build.Has("http_scgi")) temps.Add($"scgi_temp_path {temp}/scgi;");
        return $$"""
            # Written by examples/crawler/tests/NginxSite.cs for one test; nothing here touches /etc or /var.
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{dir}}/nginx.pid;
            error_log {{ErrorLogPath}} notice;

            events {
                worker_connections 1024;
            }

            http {
                types {
                    text/html html htm;
                    text/plain txt;
                    text/css css;
                    application/javascript js;
                    application/json json;
                    application/xml xml;
                    application/pdf pdf;
                    image/png png;
                    image/jpeg jpg jpeg;
                    image/gif gif;
                }
                default_type application/octet-stream;
                log_format evergreen '$request_method $status $request_uri';
                access_log {{AccessLogPath}} evergreen;
                {{string.Join("\n    ", temps)}}
                sendfile on;
                keepalive_timeout 30s;
                keepalive_requests 100000;

                server {
                    listen 127.0.0.1:{{Port}};
                    server_name localhost;
                    root {{Root}};
                    index index.html;
                }
            }

            """;
    }
}
