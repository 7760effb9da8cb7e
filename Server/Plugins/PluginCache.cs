using System.Collections.Immutable;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Serilog;

namespace ScriptFtp.Plugins;

/// <summary>
/// Compiled plugins kept on disk, in <c>.cache/</c> inside the plugins folder, so that a start (or a reload) with scripts
/// unchanged loads them without the compiler: no Roslyn in memory, no compile time. One file per plugin, named after it,
/// holding the emitted image, its symbols, its warnings and the key it was built under. The key is a hash of everything
/// that changes the output: the script and its path, the server build (which holds the instrumenter, the rules and the
/// globals the script is compiled against), the compiler, the runtime and every referenced assembly. An entry under another
/// key, or whose checksum does not match, is ignored and rebuilt.
/// </summary>
internal sealed class PluginCache(string folder, ILogger log)
{
    /// <summary>The cache folder's name inside the plugins folder.</summary>
    public const string FolderName = ".cache";

    private const string Extension = ".bin";
    private static readonly byte[] Magic = "ScriptFtp plugin cache\n"u8.ToArray();
    private const int Format = 1;
    private const int HashSize = SHA256.HashSizeInBytes;

    private static readonly Lazy<byte[]> Build = new(BuildIdentity);

    /// <summary>The cache of <paramref name="pluginsFolder"/>.</summary>
    public static PluginCache For(string pluginsFolder, ILogger log) => new(Path.Combine(pluginsFolder, FolderName), log);

    /// <summary>The key a script compiles under: any change to it, or to the build that compiles it, makes another key.</summary>
    public static byte[] Key(string name, string path, string display, string code)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Build.Value);
        foreach (var part in (ReadOnlySpan<string>)[name, Path.GetFullPath(path), display, code])
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }
        return hash.GetHashAndReset();
    }

    /// <summary>The script cached under <paramref name="key"/>, or null: none, built under another key, or damaged (logged).</summary>
    public CompiledScript? TryRead(string name, string display, byte[] key)
    {
        var path = PathOf(name);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning("Cannot read the plugin cache entry {File} ({Reason}); compiling {Plugin}", path, e.Message, name);
            return null;
        }
        var (script, damage) = Decode(bytes, name, display, key);
        if (damage is not null)
            log.Warning("The plugin cache entry {File} is damaged ({Reason}); compiling {Plugin} again", path, damage, name);
        return script;
    }

    /// <summary>Stores compiled scripts, each replacing its entry atomically; a failure is logged and costs only the next start's
    /// time.</summary>
    public async Task WriteAsync(IEnumerable<(CompiledScript Script, byte[] Key)> scripts)
    {
        try
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
            else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await Task.WhenAll(scripts.Select(s => AtomicFile.WriteAllBytesAsync(PathOf(s.Script.Name), Encode(s.Script, s.Key),
                newFileMode: UnixFileMode.UserRead | UnixFileMode.UserWrite)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warning("Cannot write the plugin cache in {Folder} ({Reason}); plugins will be compiled again at the next start",
                folder, e.Message);
        }
    }

    /// <summary>Removes the entries of plugins that are gone, and temporary files a crash left behind.</summary>
    public void Prune(IEnumerable<string> plugins)
    {
        if (!Directory.Exists(folder)) return;
        var keep = plugins.Select(PathOf).ToHashSet(StringComparer.Ordinal);
        try
        {
            var stale = Directory.GetFiles(folder, "*" + Extension).Where(f => !keep.Contains(f))
                .Concat(Directory.GetFiles(folder, ".*.tmp").Where(f => File.GetLastWriteTimeUtc(f) < DateTime.UtcNow.AddMinutes(-1)));
            foreach (var file in stale) File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Debug("Cannot tidy the plugin cache in {Folder}: {Reason}", folder, e.Message);
        }
    }

    private string PathOf(string name) => Path.Combine(folder, name + Extension);

    /// <summary>Magic, format, key, entry point, warnings, image, symbols; then a SHA-256 of all that, so damage shows.</summary>
    public static byte[] Encode(CompiledScript script, byte[] key)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Format);
            writer.Write(key);
            writer.Write(script.EntryType!);
            writer.Write(script.EntryMethod!);
            writer.Write(script.Warnings.Length);
            foreach (var warning in script.Warnings) writer.Write(warning);
            foreach (var blob in (ReadOnlySpan<byte[]>)[script.Image!, script.Symbols!])
            {
                writer.Write(blob.Length);
                writer.Write(blob);
            }
        }
        buffer.Write(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
        return buffer.ToArray();
    }

    /// <summary>The script an entry holds: null when it was built under another key; with the damage when it is not whole.</summary>
    public static (CompiledScript? Script, string? Damage) Decode(byte[] bytes, string name, string display, byte[] key)
    {
        if (bytes.Length < Magic.Length + HashSize || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            return (null, "not a plugin cache file");
        var body = bytes.AsSpan(0, bytes.Length - HashSize);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(body.Length)))
            return (null, "its checksum does not match: cut short or overwritten");
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, body.Length, writable: false), Encoding.UTF8);
            reader.ReadBytes(Magic.Length);
            if (reader.ReadInt32() != Format || !reader.ReadBytes(HashSize).AsSpan().SequenceEqual(key)) return (null, null);
            var entryType = reader.ReadString();
            var entryMethod = reader.ReadString();
            var warnings = ImmutableArray.CreateRange(Enumerable.Range(0, Count(reader, body.Length)).Select(_ => reader.ReadString()));
            var image = reader.ReadBytes(Count(reader, body.Length));
            var symbols = reader.ReadBytes(Count(reader, body.Length));
            return reader.BaseStream.Position == body.Length
                ? (new CompiledScript(name, display, image, symbols, entryType, entryMethod, [], warnings), null)
                : (null, "its parts do not add up");
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException or ArgumentException)
        {
            return (null, $"its parts do not add up: {e.Message}");
        }
    }

    private static int Count(BinaryReader reader, int length)
    {
        var count = reader.ReadInt32();
        return count >= 0 && count <= length - reader.BaseStream.Position
            ? count
            : throw new FormatException($"a count of {count} runs past the end");
    }

    /// <summary>What the output depends on besides the script: this server build, the compiler, the runtime, the references.</summary>
    private static byte[] BuildIdentity()
    {
        var server = typeof(PluginGlobals).Assembly;
        // Read from the compiler's files, not loaded: a cache hit must not bring Roslyn into the process.
        var compiler = server.GetReferencedAssemblies().Where(a => a.Name!.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
            .Select(a => $"compiler {a.FullName} {FileVersion(a.Name!)}");
        var references = PluginLoader.References.Value.Select(a => $"reference {a.FullName} {a.ManifestModule.ModuleVersionId}");
        string[] lines =
        [
            $"format {Format}", $"server {server.FullName} {server.ManifestModule.ModuleVersionId}",
            $"runtime {RuntimeInformation.FrameworkDescription} {RuntimeInformation.RuntimeIdentifier}", .. compiler, .. references,
        ];
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    private static string FileVersion(string assembly)
    {
        var file = Path.Combine(AppContext.BaseDirectory, assembly + ".dll");
        return File.Exists(file) ? FileVersionInfo.GetVersionInfo(file).ProductVersion ?? "" : "";
    }
}
