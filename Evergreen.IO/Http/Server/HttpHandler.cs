namespace Evergreen.IO.Http;

/// <summary>
/// Answers one request of an <see cref="HttpServer"/>: reads <paramref name="request"/> (its body
/// is already read) and writes <paramref name="reply"/>. It runs in the connection's tasklet, so it
/// may await anything; the next request on the connection waits for it. If it returns without
/// ending the reply, the server ends it; if it throws before sending the head, the client gets a
/// 500 and the exception is reported through <see cref="EventLoop.UnhandledException"/>.
/// <code>
/// server.MapGet("/hello", (request, reply) => reply.SendTextAsync(200, "hello " + request.Query));
/// </code>
/// </summary>
/// <param name="request">The request, body included.</param>
/// <param name="reply">The reply to write.</param>
public delegate ValueTask HttpHandler(HttpServerRequest request, HttpServerReply reply);
