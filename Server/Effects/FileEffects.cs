namespace ScriptFtp;

/// <summary>
/// The interpreter of the file-system effects (<see cref="Effect.FileEffect"/>) against one user's files. Failures come
/// back as a reason fit for a 550 reply, never as an exception.
/// </summary>
internal static class FileEffects
{
    public static EffectResult Apply(UserFiles files, Effect.FileEffect effect)
    {
        try
        {
            return effect switch
            {
                Effect.Stat s => new EffectResult.Stat(files.Stat(s.Path)),
                Effect.List l => new EffectResult.Listing(files.List(l.Path)),
                Effect.MakeDirectory m => MakeDirectory(files, m.Path),
                Effect.RemoveDirectory r => RemoveDirectory(files, r.Path),
                Effect.DeleteFile d => DeleteFile(files, d.Path),
                Effect.Rename r => Rename(files, r.From, r.To),
                Effect.SetModified m => Change(files, m.Path, (full, entry) => SetModified(full, entry, m.Utc)),
                Effect.SetMode m => Change(files, m.Path, (full, _) => SetMode(full, m.Mode)),
                _ => throw new ArgumentException($"not a file-system effect: {effect.GetType().Name}", nameof(effect)),
            };
        }
        catch (Exception e) when (ReasonFor(e) is { } reason) { return Failed(reason); }
    }

    /// <summary>What a failed file-system call tells the client, or null for an exception that is not about the files.</summary>
    internal static string? ReasonFor(Exception e) => e switch
    {
        UnauthorizedAccessException => Reasons.PermissionDenied,
        DirectoryNotFoundException or FileNotFoundException => Reasons.NoSuchFileOrDirectory,
        PathTooLongException => Reasons.NameTooLong,
        // The operating system's own words, first sentence only: "No space left on device."
        IOException io => Brief(io),
        _ => null,
    };

    private static string Brief(IOException e) => e.Message.Split('\n')[0].Split(" : ")[0].TrimEnd('.') + ".";

    private static readonly EffectResult Done = new EffectResult.Done();

    private static EffectResult Failed(string reason) => new EffectResult.Failed(reason);

    private static EffectResult MakeDirectory(UserFiles files, string path)
    {
        var full = files.Physical(path);
        if (full is null) return Failed(Reasons.NameNotAllowed);
        if (Directory.Exists(full) || File.Exists(full)) return Failed(Reasons.Exists(path));
        if (!Directory.Exists(Path.GetDirectoryName(full))) return Failed(Reasons.NoParent);
        Directory.CreateDirectory(full);
        return Done;
    }

    private static EffectResult RemoveDirectory(UserFiles files, string path)
    {
        var full = files.Physical(path);
        var entry = full is null ? null : UserFiles.Describe(full);
        if (entry is { IsDirectory: false }) return Failed(Reasons.NotADirectory(path));
        if (full is null || entry is null) return Failed(Reasons.NoSuchDirectory(path));
        if (Directory.EnumerateFileSystemEntries(full).Any()) return Failed(Reasons.NotEmpty(path));
        Directory.Delete(full);
        return Done;
    }

    private static EffectResult DeleteFile(UserFiles files, string path)
    {
        var full = files.Physical(path);
        var entry = full is null ? null : UserFiles.Describe(full);
        if (entry is { IsDirectory: true }) return Failed(Reasons.IsADirectory(path));
        if (full is null || entry is null) return Failed(Reasons.NoSuchFile(path));
        File.Delete(full);
        return new EffectResult.Deleted(entry.Size);
    }

    /// <summary>Changes an entry in place: a path outside the home, or to nothing, is missing.</summary>
    private static EffectResult Change(UserFiles files, string path, Action<string, FileEntry> change)
    {
        var full = files.Physical(path);
        if (full is null || UserFiles.Describe(full) is not { } entry) return Failed(Reasons.Missing(path));
        change(full, entry);
        return Done;
    }

    private static void SetModified(string full, FileEntry entry, DateTime utc)
    {
        if (entry.IsDirectory) Directory.SetLastWriteTimeUtc(full, utc);
        else File.SetLastWriteTimeUtc(full, utc);
    }

    private static void SetMode(string full, int mode)
    {
        // The core offers SITE CHMOD only where there are Unix modes.
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("Windows files have no Unix mode bits.");
        File.SetUnixFileMode(full, (UnixFileMode)mode);
    }

    private static EffectResult Rename(UserFiles files, string from, string to)
    {
        var source = files.Physical(from);
        var target = files.Physical(to);
        if (source is null || UserFiles.Describe(source) is not { } entry) return Failed(Reasons.Missing(from));
        if (target is null) return Failed(Reasons.NameNotAllowed);
        if (File.Exists(target) || Directory.Exists(target)) return Failed(Reasons.Exists(to));
        if (entry.IsDirectory && (to + "/").StartsWith(from + "/", StringComparison.Ordinal)) return Failed(Reasons.IntoItself);
        if (entry.IsDirectory) Directory.Move(source, target);
        else File.Move(source, target, overwrite: false);
        return Done;
    }
}
