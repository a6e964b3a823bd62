namespace Evergreen.Crawler;

/// <summary>One request the demo site received: its Host header and request target (path and query).</summary>
public readonly record struct DemoRequest(string? Host, string Target);
