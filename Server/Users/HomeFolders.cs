namespace ScriptFtp;

/// <summary>
/// Where users' home folders are: every <c>home</c> value is relative to the server root (a leading '/' is allowed and
/// means the root), and a value that would lead outside the root is refused.
/// </summary>
internal sealed class HomeFolders(string root)
{
    private static readonly StringComparison _pathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>The server root folder, absolute.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The absolute home folder of <paramref name="user"/>.</summary>
    /// <exception cref="InvalidOperationException">The home folder would lie outside the server root.</exception>
    public string PathOf(UserAccount user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return Resolve(user.Home)
            ?? throw new InvalidOperationException($"The home folder of user {user.Name} lies outside the server root.");
    }

    /// <summary>The absolute path of a <c>home</c> value, or null when it would escape the root.</summary>
    public string? Resolve(string home)
    {
        if (home.Contains('\0'))
            return null;
        string full;
        try
        {
            full = Path.GetFullPath(Path.Combine(Root, home.TrimStart('/', '\\')));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
        var root = Path.TrimEndingDirectorySeparator(Root);
        if (string.Equals(Path.TrimEndingDirectorySeparator(full), root, _pathComparison))
            return full;
        var prefix = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        return full.StartsWith(prefix, _pathComparison) ? full : null;
    }
}
