using System.Runtime.InteropServices;
using System.Text;

namespace ScriptFtp;

/// <summary>
/// Replaces a file so that a reader, or a power cut, sees the old content or the new, never a mix: the text goes to a
/// temporary file in the same folder, is flushed to disk, is renamed over the target, and the folder is flushed too.
/// </summary>
internal static class AtomicFile
{
    private static readonly UTF8Encoding _utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte order mark) in place of <paramref name="path"/>.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="text">The new content.</param>
    /// <param name="temporaryPath">Where to write first (same folder); by default a hidden name made from the target's.</param>
    /// <param name="newFileMode">Unix permissions for a file that does not exist yet; a replaced file keeps its own.</param>
    /// <param name="cancel">Cancels the write; the temporary file is removed.</param>
    public static Task WriteAllTextAsync(string path, string text, string? temporaryPath = null,
        UnixFileMode? newFileMode = null, CancellationToken cancel = default) =>
        WriteAllBytesAsync(path, _utf8.GetBytes(text), temporaryPath, newFileMode, cancel);

    /// <summary>Writes <paramref name="bytes"/> in place of <paramref name="path"/>.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="bytes">The new content.</param>
    /// <param name="temporaryPath">Where to write first (same folder); by default a hidden name made from the target's.</param>
    /// <param name="newFileMode">Unix permissions for a file that does not exist yet; a replaced file keeps its own.</param>
    /// <param name="cancel">Cancels the write; the temporary file is removed.</param>
    public static async Task WriteAllBytesAsync(string path, ReadOnlyMemory<byte> bytes, string? temporaryPath = null,
        UnixFileMode? newFileMode = null, CancellationToken cancel = default)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temp = temporaryPath ?? Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var mode = OperatingSystem.IsWindows() ? null : File.Exists(path) ? File.GetUnixFileMode(path) : newFileMode;
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous,
            };
            if (mode is { } create && !OperatingSystem.IsWindows())
                options.UnixCreateMode = create;
            await using (var stream = new FileStream(temp, options))
            {
                if (mode is { } exact && !OperatingSystem.IsWindows())
                    File.SetUnixFileMode(stream.SafeFileHandle, exact); // the create mode is subject to the umask
                await stream.WriteAsync(bytes, cancel);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            FlushFolder(directory);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    // POSIX: a rename is durable only once the folder holding it is flushed too; without it a power cut right after the
    // write can bring back the old file (never a broken one: that is the temporary file and the rename's job).
    private static void FlushFolder(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        try
        {
            var fd = Posix.Open(directory, 0 /* O_RDONLY */);
            if (fd < 0)
                return;
            try { _ = Posix.Fsync(fd); }
            finally { _ = Posix.Close(fd); }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No C library by that name here: the file is written and renamed all the same, only less durably.
        }
    }

    private static class Posix
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}
