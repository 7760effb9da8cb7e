using System.Collections.Immutable;

namespace ScriptFtp;

/// <summary>
/// The file system as one user may see it: every virtual path maps under <see cref="Root"/>, and anything that
/// would resolve outside it (through a link planted by someone with shell access) is treated as absent.
/// The changes the protocol asks for are made by <see cref="FileEffects"/>; uploads are named and placed here.
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
        if (normalized is null || normalized.Split('/').Any(segment => segment.StartsWith(PartialPrefix, StringComparison.Ordinal)))
            return null;
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

    internal static FileEntry? Describe(string full)
    {
        try
        {
            FileSystemInfo info = new DirectoryInfo(full);
            if (!info.Exists) info = new FileInfo(full);
            return info.Exists ? Entry(info) : null;
        }
        // Gone between the two looks: nothing is there.
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
    }

    /// <summary>The entries of a folder, names sorted ordinally (for STAT and plugins; listings use <see cref="Entries"/>).</summary>
    public ImmutableArray<FileEntry> List(string virtualPath) =>
        [.. Entries(virtualPath).OrderBy(e => e.Name, StringComparer.Ordinal)];

    /// <summary>
    /// The entries of a folder one at a time, in the order the file system gives them. An entry that vanishes or cannot be
    /// looked at between reading the folder and looking at the entry is left out: a drop box that a job empties while
    /// clients list it is the normal case. Only a folder that cannot be read itself throws, on the first step.
    /// </summary>
    public IEnumerable<FileEntry> Entries(string virtualPath)
    {
        var full = Physical(virtualPath) ?? throw new DirectoryNotFoundException();
        var folder = virtualPath.TrimEnd('/') + "/";
        return new DirectoryInfo(full).EnumerateFileSystemInfos()
            .Where(i => !i.Name.StartsWith(PartialPrefix, StringComparison.Ordinal))
            .Select(i => Visible(i, folder))
            .OfType<FileEntry>();
    }

    private FileEntry? Visible(FileSystemInfo info, string folder)
    {
        try
        {
            // Exists looks once and keeps what it saw, so the size and time below belong to the same look.
            if (!info.Exists) return null;
            return info.LinkTarget is null || Physical(folder + info.Name) is not null ? Entry(info) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static FileEntry Entry(FileSystemInfo info) => (info switch
    {
        FileInfo f => new FileEntry(f.Name, false, f.Length, f.LastWriteTimeUtc),
        DirectoryInfo d => new FileEntry(d.Name, true, 0, d.LastWriteTimeUtc),
        _ => throw new InvalidOperationException("unknown file system entry"),
    }) with { Mode = OperatingSystem.IsWindows() ? null : (int)info.UnixFileMode };

    /// <summary>A fresh hidden name in the folder of <paramref name="physicalTarget"/> for an upload in progress.</summary>
    public static string PartialFor(string physicalTarget) =>
        Path.Combine(Path.GetDirectoryName(physicalTarget)!, $"{PartialPrefix}{Guid.NewGuid():N}.part");

    /// <summary>Opens a file to send; null when it cannot be read.</summary>
    internal static FileStream? OpenForReading(string physical)
    {
        try
        {
            return new FileStream(physical, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// Opens the file an upload writes to: <paramref name="target"/> itself for an append or a resume, a new file (the
    /// hidden partial one) otherwise.
    /// </summary>
    internal static FileStream OpenForWriting(string target, WriteMode mode) => mode switch
    {
        WriteMode.Append => new FileStream(target, FileMode.Append, FileAccess.Write, FileShare.Read, 0, FileOptions.Asynchronous),
        WriteMode.Resume => new FileStream(target, FileMode.Open, FileAccess.Write, FileShare.Read, 0, FileOptions.Asynchronous),
        _ => new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous),
    };

    /// <summary>STOU's names for <paramref name="physical"/>: itself, then name.1, name.2, …</summary>
    private static IEnumerable<string> UniqueNames(string physical)
    {
        yield return physical;
        for (var i = 1; ; i++) yield return $"{physical}.{i}";
    }

    /// <summary>The first of STOU's names that is free now.</summary>
    internal static string FreeName(string physical) => UniqueNames(physical).First(c => !File.Exists(c) && !Directory.Exists(c));

    /// <summary>Moves a finished upload to its name; null when the name was taken meanwhile and overwriting is off.</summary>
    internal static string? Place(string partial, string physical, WriteMode mode)
    {
        switch (mode)
        {
            case WriteMode.Overwrite:
                File.Move(partial, physical, overwrite: true);
                return physical;
            case WriteMode.Create:
                try { File.Move(partial, physical, overwrite: false); return physical; }
                catch (IOException) when (File.Exists(physical)) { return null; }
            case WriteMode.Unique:
                foreach (var candidate in UniqueNames(physical))
                {
                    try { File.Move(partial, candidate, overwrite: false); return candidate; }
                    catch (IOException) when (File.Exists(candidate) || Directory.Exists(candidate)) { }
                }
                throw new System.Diagnostics.UnreachableException();
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "not a whole-file upload");
        }
    }
}
