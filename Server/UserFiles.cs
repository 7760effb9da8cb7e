using System.Collections.Immutable;

namespace ScriptFtp;

/// <summary>
/// The file system as one user may see it: every virtual path maps under <see cref="Root"/>, and anything that
/// would resolve outside it (through a link planted by someone with shell access) is treated as absent.
/// </summary>
public sealed class UserFiles
{
    /// <summary>Uploads in flight carry this prefix; listings hide them.</summary>
    public const string PartialPrefix = ".scriptftp-";

    /// <summary>Creates a view rooted at an existing folder.</summary>
    public UserFiles(string root) => Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));

    /// <summary>The physical folder that is "/".</summary>
    public string Root { get; }

    /// <summary>The physical path for a virtual one, or null if it would leave the root.</summary>
    public string? Physical(string virtualPath)
    {
        var normalized = VirtualPath.Resolve("/", virtualPath);
        // Names with the partial-upload prefix belong to uploads in flight; no command may name them.
        if (normalized is null || normalized.Split('/').Any(segment => segment.StartsWith(PartialPrefix, StringComparison.Ordinal))) return null;
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Root + normalized.Replace('/', Path.DirectorySeparatorChar)));
        if (!IsInside(full)) return null;
        return EscapesThroughLink(full) ? null : full;
    }

    private bool IsInside(string full) =>
        full.Equals(Root, StringComparison.Ordinal) || full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private bool EscapesThroughLink(string full)
    {
        for (var path = full; path.Length > Root.Length; path = Path.GetDirectoryName(path)!)
        {
            FileSystemInfo info = new FileInfo(path);
            if (!info.Exists) info = new DirectoryInfo(path);
            if (info.Exists && info.LinkTarget is not null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                if (target is null || !IsInside(Path.GetFullPath(target.FullName))) return true;
            }
        }
        return false;
    }

    /// <summary>Describes one path, or null when nothing (visible) is there.</summary>
    public FileEntry? Stat(string virtualPath) => Physical(virtualPath) is { } full ? Describe(full) : null;

    private static FileEntry? Describe(string full)
    {
        FileSystemInfo info = new DirectoryInfo(full);
        if (!info.Exists) info = new FileInfo(full);
        return info.Exists ? Entry(info) : null;
    }

    /// <summary>The entries of a folder, names sorted ordinally.</summary>
    public ImmutableArray<FileEntry> List(string virtualPath)
    {
        var full = Physical(virtualPath) ?? throw new DirectoryNotFoundException();
        return new DirectoryInfo(full).EnumerateFileSystemInfos()
            .Where(i => !i.Name.StartsWith(PartialPrefix, StringComparison.Ordinal))
            .Where(i => i.LinkTarget is null || Physical(virtualPath.TrimEnd('/') + "/" + i.Name) is not null)
            .Select(Entry)
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .ToImmutableArray();
    }

    private static FileEntry Entry(FileSystemInfo info) => info switch
    {
        FileInfo f => new FileEntry(f.Name, false, f.Length, f.LastWriteTimeUtc),
        DirectoryInfo d => new FileEntry(d.Name, true, 0, d.LastWriteTimeUtc),
        _ => throw new InvalidOperationException("unknown file system entry"),
    };

    /// <summary>Performs a file-system effect; failures come back as a reason fit for a 550 reply.</summary>
    public EffectResult Apply(Effect effect)
    {
        try
        {
            return effect switch
            {
                Effect.Stat s => new EffectResult.Stat(Stat(s.Path)),
                Effect.List l => new EffectResult.Listing(List(l.Path)),
                Effect.MakeDirectory m => MakeDirectory(m.Path),
                Effect.RemoveDirectory r => RemoveDirectory(r.Path),
                Effect.DeleteFile d => DeleteFile(d.Path),
                Effect.Rename r => Rename(r.From, r.To),
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

    private EffectResult MakeDirectory(string path)
    {
        var full = Physical(path);
        if (full is null) return new EffectResult.Failed("File name not allowed.");
        if (Directory.Exists(full) || File.Exists(full)) return new EffectResult.Failed($"{VirtualPath.Name(path)}: File exists.");
        if (!Directory.Exists(Path.GetDirectoryName(full))) return new EffectResult.Failed("The parent directory does not exist.");
        Directory.CreateDirectory(full);
        return new EffectResult.Done();
    }

    private EffectResult RemoveDirectory(string path)
    {
        var full = Physical(path);
        var entry = full is null ? null : Describe(full);
        if (entry is { IsDirectory: false }) return new EffectResult.Failed($"{VirtualPath.Name(path)}: Not a directory; use DELE for files.");
        if (full is null || entry is null) return new EffectResult.Failed($"{VirtualPath.Name(path)}: No such directory.");
        if (Directory.EnumerateFileSystemEntries(full).Any()) return new EffectResult.Failed($"{VirtualPath.Name(path)}: Directory not empty.");
        Directory.Delete(full);
        return new EffectResult.Done();
    }

    private EffectResult DeleteFile(string path)
    {
        var full = Physical(path);
        var entry = full is null ? null : Describe(full);
        if (entry is { IsDirectory: true }) return new EffectResult.Failed($"{VirtualPath.Name(path)}: Is a directory; use RMD for directories.");
        if (full is null || entry is null) return new EffectResult.Failed($"{VirtualPath.Name(path)}: No such file.");
        File.Delete(full);
        return new EffectResult.Done();
    }

    private EffectResult Rename(string from, string to)
    {
        var source = Physical(from);
        var target = Physical(to);
        if (source is null || Describe(source) is not { } entry) return new EffectResult.Failed($"{VirtualPath.Name(from)}: No such file or directory.");
        if (target is null) return new EffectResult.Failed("File name not allowed.");
        if (File.Exists(target) || Directory.Exists(target)) return new EffectResult.Failed($"{VirtualPath.Name(to)}: File exists.");
        if (entry.IsDirectory && (to + "/").StartsWith(from + "/", StringComparison.Ordinal)) return new EffectResult.Failed("Cannot move a directory into itself.");
        if (entry.IsDirectory) Directory.Move(source, target);
        else File.Move(source, target, overwrite: false);
        return new EffectResult.Done();
    }

    /// <summary>A fresh hidden name in the folder of <paramref name="physicalTarget"/> for an upload in progress.</summary>
    public static string PartialFor(string physicalTarget) =>
        Path.Combine(Path.GetDirectoryName(physicalTarget)!, $"{PartialPrefix}{Guid.NewGuid():N}.part");
}
