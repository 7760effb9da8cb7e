namespace ScriptFtp.Client;

/// <summary>Where a downloaded file lands locally: never on top of an existing file.</summary>
internal static class LocalNames
{
    internal const string Prefix = "new_";

    /// <summary>The last segment of a remote path (<c>dir/a.txt</c> → <c>a.txt</c>).</summary>
    public static string FromRemotePath(string remotePath)
    {
        var name = remotePath.TrimEnd('/', '\\');
        name = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        // A server-chosen ".." must not walk us out of the working directory.
        return name is "" or "." or ".." || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
            ? throw new ArgumentException($"'{remotePath}' does not name a file that can be saved locally.")
            : name;
    }

    /// <summary><paramref name="name"/> if free, else <c>new_name</c>, <c>new_new_name</c>, … whichever comes first.</summary>
    public static string FirstFree(string name, Func<string, bool> isTaken)
    {
        var candidate = name;
        while (isTaken(candidate))
            candidate = Prefix + candidate;
        return candidate;
    }
}
