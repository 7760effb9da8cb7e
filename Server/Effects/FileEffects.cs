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
                _ => throw new ArgumentException($"not a file-system effect: {effect.GetType().Name}", nameof(effect)),
            };
        }
        catch (UnauthorizedAccessException) { return new EffectResult.Failed("Permission denied."); }
        catch (DirectoryNotFoundException) { return new EffectResult.Failed("No such file or directory."); }
        catch (FileNotFoundException) { return new EffectResult.Failed("No such file or directory."); }
        catch (PathTooLongException) { return new EffectResult.Failed("File name too long."); }
        catch (IOException e) { return new EffectResult.Failed(Brief(e)); }
    }

    private static string Brief(IOException e) => e.Message.Split('\n')[0].Split(" : ")[0].TrimEnd('.') + ".";

    private static readonly EffectResult Done = new EffectResult.Done();

    private static EffectResult Failed(string reason) => new EffectResult.Failed(reason);

    private static EffectResult MakeDirectory(UserFiles files, string path)
    {
        var full = files.Physical(path);
        if (full is null) return Failed("File name not allowed.");
        if (Directory.Exists(full) || File.Exists(full)) return Failed($"{VirtualPath.Name(path)}: File exists.");
        if (!Directory.Exists(Path.GetDirectoryName(full))) return Failed("The parent directory does not exist.");
        Directory.CreateDirectory(full);
        return Done;
    }

    private static EffectResult RemoveDirectory(UserFiles files, string path)
    {
        var full = files.Physical(path);
        var entry = full is null ? null : UserFiles.Describe(full);
        if (entry is { IsDirectory: false }) return Failed($"{VirtualPath.Name(path)}: Not a directory; use DELE for files.");
        if (full is null || entry is null) return Failed($"{VirtualPath.Name(path)}: No such directory.");
        if (Directory.EnumerateFileSystemEntries(full).Any()) return Failed($"{VirtualPath.Name(path)}: Directory not empty.");
        Directory.Delete(full);
        return Done;
    }

    private static EffectResult DeleteFile(UserFiles files, string path)
    {
        var full = files.Physical(path);
        var entry = full is null ? null : UserFiles.Describe(full);
        if (entry is { IsDirectory: true }) return Failed($"{VirtualPath.Name(path)}: Is a directory; use RMD for directories.");
        if (full is null || entry is null) return Failed($"{VirtualPath.Name(path)}: No such file.");
        File.Delete(full);
        return Done;
    }

    private static EffectResult Rename(UserFiles files, string from, string to)
    {
        var source = files.Physical(from);
        var target = files.Physical(to);
        if (source is null || UserFiles.Describe(source) is not { } entry)
            return Failed($"{VirtualPath.Name(from)}: No such file or directory.");
        if (target is null) return Failed("File name not allowed.");
        if (File.Exists(target) || Directory.Exists(target)) return Failed($"{VirtualPath.Name(to)}: File exists.");
        if (entry.IsDirectory && (to + "/").StartsWith(from + "/", StringComparison.Ordinal))
            return Failed("Cannot move a directory into itself.");
        if (entry.IsDirectory) Directory.Move(source, target);
        else File.Move(source, target, overwrite: false);
        return Done;
    }
}
