using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace Evergreen.Tests;

/// <summary>
/// `dotnet pack` of the solution, as a user or a release job runs it: only the libraries come out,
/// each with its metadata, licence and readme; the repository has its LICENSE.
/// </summary>
public class PackagingTests
{
    private static readonly string[] Libraries = ["Evergreen.Core", "Evergreen.Sync", "Evergreen.IO"];

    private static (DirectoryInfo Root, string Config) Repository()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory); // .../Evergreen.Tests/bin/<Config>/<tfm>/
        string config = testDir.Parent!.Name;
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Evergreen.sln"))) root = root.Parent;
        Assert.NotNull(root);
        return (root!, config);
    }

    /// <summary>Packs what the test run has already built (no build, no restore) into a fresh folder.</summary>
    private static string Pack()
    {
        var (root, config) = Repository();
        string output = Path.Combine(Path.GetTempPath(), $"evergreen-pack-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo("dotnet", ["pack", Path.Combine(root.FullName, "Evergreen.sln"), "--no-build", "-c", config, "-o", output, "-nologo"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var pack = Process.Start(start)!;
        var stdout = pack.StandardOutput.ReadToEndAsync();
        var stderr = pack.StandardError.ReadToEndAsync();
        if (!pack.WaitForExit(120_000))
        {
            pack.Kill(entireProcessTree: true);
            Assert.Fail("dotnet pack did not finish within two minutes");
        }
        Assert.True(pack.ExitCode == 0, $"dotnet pack failed ({pack.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
        return output;
    }

    [Fact]
    public void Pack_ProducesTheLibrariesOnly_EachWithLicenceReadmeAndMetadata()
    {
        string output = Pack();
        try
        {
            var packages = Directory.GetFiles(output, "*.nupkg").Select(Path.GetFileName).Order().ToList();
            Assert.Equal(Libraries.Order().Select(id => $"{id}.0.1.0.nupkg"), packages);
            foreach (string id in Libraries)
            {
                Assert.True(File.Exists(Path.Combine(output, $"{id}.0.1.0.snupkg")), $"{id} has no symbol package");
                using var zip = ZipFile.OpenRead(Path.Combine(output, $"{id}.0.1.0.nupkg"));
                var nuspecEntry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec"));
                XElement metadata;
                using (var s = nuspecEntry.Open()) metadata = XDocument.Load(s).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
                string Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";

                Assert.Equal(id, Field("id"));
                Assert.NotEqual(id, Field("authors"));
                Assert.Equal("The Evergreen for .NET authors", Field("authors"));
                Assert.StartsWith("Evergreen for .NET:", Field("description"));
                var license = metadata.Elements().Single(e => e.Name.LocalName == "license");
                Assert.Equal("expression", license.Attribute("type")?.Value);
                Assert.Equal("MIT", license.Value);
                Assert.Equal("README.md", Field("readme"));
                Assert.Contains("tasklets", Field("tags").Split(' '));
                Assert.False(string.IsNullOrEmpty(Field("projectUrl")), $"{id} has no project URL");
                Assert.NotNull(metadata.Elements().SingleOrDefault(e => e.Name.LocalName == "repository")?.Attribute("url"));

                var readme = zip.GetEntry("README.md");
                Assert.NotNull(readme);
                using var reader = new StreamReader(readme!.Open());
                Assert.StartsWith($"# {id}", reader.ReadToEnd());
                Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
                Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml")); // the XML docs travel with the package
            }
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void TheRepository_HasAnMitLicence()
    {
        var (root, _) = Repository();
        string licence = File.ReadAllText(Path.Combine(root.FullName, "LICENSE"));
        Assert.StartsWith("MIT License", licence);
        Assert.Contains("Permission is hereby granted, free of charge", licence);
    }
}
