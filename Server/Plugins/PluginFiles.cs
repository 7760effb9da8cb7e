using System.Collections.Immutable;
using System.Text;

namespace ScriptFtp.Plugins;

/// <summary>
/// One user's files as a plugin may touch them. Paths are virtual, as the client sees them: absolute (<c>/docs/a.txt</c>) or
/// relative to the session's current directory. Nothing outside the user's home can be reached: such a path, like a path
/// to an upload in progress, is treated as absent.
/// </summary>
public sealed class PluginFiles
{
    private readonly UserFiles _files;
    private readonly string _directory;
    private readonly bool _readOnly;

    internal PluginFiles(UserFiles files, string directory, bool readOnly)
    {
        _files = files;
        _directory = directory;
        _readOnly = readOnly;
    }

    /// <summary>The absolute virtual path for <paramref name="path"/>, resolved against the current directory.</summary>
    /// <exception cref="ArgumentException">The path is not usable (too long, control characters).</exception>
    public string Resolve(string path) =>
        VirtualPath.Resolve(_directory, path)
            ?? throw new ArgumentException($"\"{Reply.Sanitize(path)}\" is not a usable path", nameof(path));

    /// <summary>Describes a file or folder, or null when nothing is there.</summary>
    public FileEntry? Stat(string path) => _files.Stat(Resolve(path));

    /// <summary>True when a file or folder is there.</summary>
    public bool Exists(string path) => Stat(path) is not null;

    /// <summary>The size of a file in bytes.</summary>
    /// <exception cref="FileNotFoundException">No file is there (or it is a folder).</exception>
    public long Size(string path) => Stat(path) is { IsDirectory: false } entry ? entry.Size : throw NoFile(path);

    /// <summary>The entries of a folder, names sorted ordinally.</summary>
    /// <exception cref="DirectoryNotFoundException">No folder is there.</exception>
    public ImmutableArray<FileEntry> List(string path = ".")
    {
        var virtualPath = Resolve(path);
        return _files.Stat(virtualPath) is { IsDirectory: true }
            ? _files.List(virtualPath)
            : throw new DirectoryNotFoundException($"{Reply.Sanitize(path)}: No such directory.");
    }

    /// <summary>Opens a file for reading, asynchronously and shared with writers. Dispose the stream when done.</summary>
    /// <exception cref="FileNotFoundException">No file is there.</exception>
    public Stream OpenRead(string path) =>
        new FileStream(PhysicalFile(path), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024,
            FileOptions.Asynchronous | FileOptions.SequentialScan);

    /// <summary>Reads a whole (small) text file as UTF-8.</summary>
    public Task<string> ReadAllTextAsync(string path, CancellationToken cancel = default) =>
        File.ReadAllTextAsync(PhysicalFile(path), Encoding.UTF8, cancel);

    /// <summary>Writes a text file as UTF-8, replacing it if it exists.</summary>
    /// <exception cref="UnauthorizedAccessException">The user is read-only, or the name is not allowed.</exception>
    public async Task WriteAllTextAsync(string path, string text, CancellationToken cancel = default)
    {
        if (_readOnly) throw new UnauthorizedAccessException("The user is read-only.");
        var virtualPath = Resolve(path);
        var physical = _files.Physical(virtualPath);
        if (physical is null || virtualPath == "/" || Directory.Exists(physical)
            || VirtualPath.Name(virtualPath).StartsWith(UserFiles.PartialPrefix, StringComparison.Ordinal))
            throw new UnauthorizedAccessException($"{Reply.Sanitize(path)}: File name not allowed.");
        // Written beside the target under a hidden upload name and moved in, so that a reader never sees half a file.
        await AtomicFile.WriteAllTextAsync(physical, text, temporaryPath: UserFiles.PartialFor(physical), cancel: cancel);
    }

    /// <summary>
    /// The bytes the user's home takes: every file below it, uploads in progress included. Links are not followed.
    /// This walks the whole tree, so it costs time in proportion to the number of files.
    /// </summary>
    public long UsedBytes()
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint,
        };
        return new DirectoryInfo(_files.Root).EnumerateFiles("*", options).Sum(f => f.Length);
    }

    private string PhysicalFile(string path)
    {
        var virtualPath = Resolve(path);
        return _files.Stat(virtualPath) is { IsDirectory: false } && _files.Physical(virtualPath) is { } physical
            ? physical
            : throw NoFile(path);
    }

    private static FileNotFoundException NoFile(string path) => new($"{Reply.Sanitize(path)}: No such file.");
}
