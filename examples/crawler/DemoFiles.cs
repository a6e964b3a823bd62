using System.Text;

namespace Evergreen.Crawler;

/// <summary>The demo site's non-HTML files: small but real (a PDF and a PNG that open, JSON that parses).</summary>
internal static class DemoFiles
{
    /// <summary>A one-page PDF saying hello.</summary>
    public static readonly byte[] Pdf = Encoding.ASCII.GetBytes(
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
        "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 100]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj\n" +
        "4 0 obj<</Length 44>>stream\nBT /F1 18 Tf 20 40 Td (Hello, crawler) Tj ET\nendstream endobj\n" +
        "5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");

    /// <summary>A 1x1 green PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    /// <summary>A small JSON document naming <paramref name="what"/>.</summary>
    public static byte[] Json(string what) => Encoding.UTF8.GetBytes(
        $$"""{"site":"Evergreen demo","about":"{{what}}","links":["/","/s/0/"],"note":"JSON is not parsed for links"}""" + "\n");
}
