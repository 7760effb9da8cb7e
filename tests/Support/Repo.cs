namespace ScriptFtp.Tests.Support;

/// <summary>Files of the repository the tests read (shipped config, plugins, README, the shared TOML corpus).</summary>
internal static class Repo
{
    /// <summary>The folder holding ScriptFtp.sln, found by walking up from the test binaries; null if there is none.</summary>
    public static string? TryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "ScriptFtp.sln"))) return dir.FullName;
        return null;
    }

    /// <summary>The repository root; fails when the tests run outside a checkout.</summary>
    public static string Root => TryRoot() ?? throw new DirectoryNotFoundException($"ScriptFtp.sln not found above {AppContext.BaseDirectory}");

    /// <summary>A path inside the repository.</summary>
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);
}
