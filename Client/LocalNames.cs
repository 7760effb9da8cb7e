namespace ScriptFtp.Client;

// Where a downloaded file lands locally: never on top of an existing file.
internal static class LocalNames
{
    internal const string Prefix = "new_";

    // The last segment of a remote path (dir/a.txt → a.txt).
    public static string FromRemotePath(string remotePath)
    {
        var name = remotePath.TrimEnd('/', '\\');
        name = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        // A server-chosen ".." must not walk us out of the working directory.
        return name is "" or "." or ".." || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
            ? throw new ArgumentException($"'{remotePath}' does not name a file that can be saved locally.")
            : name;
    }

    // name if free, else new_name, new_new_name, … whichever comes first.
    public static string FirstFree(string name, Func<string, bool> isTaken)
    {
        var candidate = name;
        while (isTaken(candidate))
            candidate = Prefix + candidate;
        return candidate;
    }
}
