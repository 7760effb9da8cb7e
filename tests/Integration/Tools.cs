using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace ScriptFtp.Tests.Integration;

/// <summary>What a client process did: exit code and everything it printed.</summary>
internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public string Output => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs real FTP clients as processes and compares files and trees on disk.</summary>
internal static class Tools
{
    /// <summary>The full path of a program on PATH; ignores the test (never passes it silently) when it is missing.</summary>
    public static string Require(string program)
    {
        var found = Which(program);
        if (found is null) Assert.Ignore($"{program} not installed");
        return found!;
    }

    /// <summary>Like <c>which</c>: the first executable of that name on PATH, or null.</summary>
    public static string? Which(string program)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, program);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }
        return null;
    }

    /// <summary>
    /// Runs a program with stdin redirected (fed <paramref name="stdin"/>, then closed), capturing both outputs.
    /// The process tree is killed and the test fails when it outlives <paramref name="timeout"/>.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> arguments, string? stdin = null,
        TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        // A proxy in the environment would send curl and lftp elsewhere; the tests talk to loopback only.
        foreach (var name in new[] { "ftp_proxy", "FTP_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY" })
            info.Environment.Remove(name);
        info.Environment["LANG"] = "C.UTF-8";
        info.Environment["LC_ALL"] = "C.UTF-8";
        info.Environment["HOME"] = workingDirectory ?? Path.GetTempPath(); // no ~/.netrc, ~/.lftprc, ~/.curlrc of the machine

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        catch (IOException) { } // the program exited without reading its input
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        try
        {
            await process.WaitForExitAsync().WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{Path.GetFileName(program)} {string.Join(' ', info.ArgumentList)} did not finish within {limit.TotalSeconds:0} s and was killed.\n" +
                        $"--- stdout ---\n{await stdout}\n--- stderr ---\n{await stderr}");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The non-empty lines of a client's output, without line endings (CRLF or LF).</summary>
    public static string[] Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();

    /// <summary>SHA-256 of a file, hex.</summary>
    public static string Sha256(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexString(SHA256.HashData(file));
    }

    /// <summary>A fresh empty folder under the temp folder.</summary>
    public static string NewFolder(string prefix = "scriptftp-it-") => Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>Deletes a folder tree, ignoring what cannot be deleted (a test's cleanup must not hide its failure).</summary>
    public static void DeleteQuietly(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Writes <paramref name="size"/> pseudo-random bytes, streaming (never the whole file in memory). Each seed gives other bytes.</summary>
    public static void WriteRandomFile(string path, long size, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var random = new Random(seed);
        var block = new byte[1 << 20];
        random.NextBytes(block);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        long written = 0;
        for (long index = 0; written < size; index++)
        {
            // Vary every block cheaply so no two megabytes are alike (a shifted or repeated block would change the hash).
            BitConverter.TryWriteBytes(block.AsSpan(0, 8), index);
            BitConverter.TryWriteBytes(block.AsSpan(block.Length - 8, 8), index ^ seed);
            var count = (int)Math.Min(block.Length, size - written);
            file.Write(block, 0, count);
            written += count;
        }
    }

    /// <summary>Random bytes in memory, for small files.</summary>
    public static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// A tree as data: relative path ('/'-separated, NFC as stored) to "dir" or the file's SHA-256, sorted.
    /// Two trees with equal maps have the same folders, names and contents.
    /// </summary>
    public static SortedDictionary<string, string> Tree(string root)
    {
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
            tree[relative] = entry is DirectoryInfo ? "dir" : Sha256(entry.FullName);
        }
        return tree;
    }

    /// <summary>Shows a tree map, one entry per line, for assertion messages.</summary>
    public static string Show(SortedDictionary<string, string> tree) =>
        string.Join('\n', tree.Select(e => $"{e.Key} {(e.Value == "dir" ? "<dir>" : e.Value[..12])}"));

    /// <summary>Polls a condition until it holds or the time is up (10 s unless told).</summary>
    public static Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? within = null) =>
        EventuallyAsync(() => Task.FromResult(condition()), within);

    /// <summary>Polls an asynchronous condition (a login attempt, say) until it holds or the time is up.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return true;
            await Task.Delay(25);
        }
        return await condition();
    }

    /// <summary>Files left behind by uploads in flight (the server's hidden partial files) anywhere under a folder.</summary>
    public static string[] PartialFiles(string folder) =>
        Directory.EnumerateFiles(folder, UserFiles.PartialPrefix + "*", SearchOption.AllDirectories).ToArray();
}
