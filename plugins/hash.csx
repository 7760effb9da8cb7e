// hash.csx: file checksums, as ProFTPD's mod_digest and FileZilla Server offer them.
//
//   XCRC <file> [start [end]]  250 <CRC-32, 8 hex digits, upper case>  (bytes start to end-1; end defaults to the size)
//   XMD5 <file>                250 <md5 hex>
//   XSHA1 <file>               250 <sha-1 hex>
//   XSHA256 <file>             250 <sha-256 hex>
//   XSHA512 <file>             250 <sha-512 hex>
//   HASH <file>                213 <algorithm> 0-<size> <hex> <file>   (draft-bryan-ftpext-hash)
//   OPTS HASH [algorithm]      200 <algorithm>: shows, or chooses for this session, what HASH uses:
//                              SHA-1, SHA-256 (the default), SHA-512, MD5 or CRC32
//
// FEAT announces "HASH SHA-1;SHA-256*;SHA-512;MD5;CRC32"; the * follows the session's choice.
// Files are streamed through the hash (never read whole into memory), and hashing stops when the handler's time limit
// cancels ctx.Cancel. Paths are the client's: relative to its current directory.

const string DefaultAlgorithm = "SHA-256";
string[] Algorithms = ["SHA-1", "SHA-256", "SHA-512", "MD5", "CRC32"];

async Task<byte[]> Crc32Of(Stream stream, long count, CancellationToken cancel)
{
    var crc = new System.IO.Hashing.Crc32();
    var buffer = new byte[64 * 1024];
    for (var left = count; left > 0;)
    {
        var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancel);
        if (read == 0) break;
        crc.Append(buffer.AsSpan(0, read));
        left -= read;
    }
    // The CRC as a number, most significant byte first, as zlib.crc32 and the clients print it.
    var value = crc.GetCurrentHashAsUInt32();
    return [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];
}

ValueTask<byte[]> Hash(string algorithm, Stream stream, CancellationToken cancel) => algorithm switch
{
    "SHA-1" => SHA1.HashDataAsync(stream, cancel),
    "SHA-256" => SHA256.HashDataAsync(stream, cancel),
    "SHA-512" => SHA512.HashDataAsync(stream, cancel),
    "MD5" => MD5.HashDataAsync(stream, cancel),
    "CRC32" => new ValueTask<byte[]>(Crc32Of(stream, long.MaxValue, cancel)),
    _ => throw new ArgumentException($"unknown algorithm {algorithm}"),
};

Reply NoFile(PluginContext ctx, string path) => ctx.Reply(550, $"{Reply.Sanitize(path)}: No such file.");

async Task<Reply> Digest(PluginContext ctx, string algorithm, Func<string, long, Reply> answer)
{
    if (ctx.Argument.Length == 0) return Reply.Syntax($"{ctx.Request!.Verb} <file>");
    try
    {
        // The commands are LoggedIn-only, so there always is a user. OpenRead throws FileNotFoundException for a folder too.
        await using var stream = ctx.Files!.OpenRead(ctx.Argument);
        var size = stream.Length;
        return answer(Convert.ToHexStringLower(await Hash(algorithm, stream, ctx.Cancel)), size);
    }
    catch (FileNotFoundException)
    {
        return NoFile(ctx, ctx.Argument);
    }
}

// "XCRC a b.txt 10 20": a name may contain spaces and digits, so trailing numbers are a range only when the whole
// argument is not itself a file.
(string Path, long Start, long? End)? Range(PluginContext ctx)
{
    var words = ctx.Argument.Split(' ');
    if (ctx.Files!.Stat(ctx.Argument) is { IsDirectory: false }) return (ctx.Argument, 0, null);
    for (var numbers = Math.Min(2, words.Length - 1); numbers >= 1; numbers--)
    {
        var tail = words[^numbers..];
        if (!tail.All(w => long.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out _))) continue;
        var path = string.Join(' ', words[..^numbers]);
        var start = long.Parse(tail[0], CultureInfo.InvariantCulture);
        return (path, start, numbers == 2 ? long.Parse(tail[1], CultureInfo.InvariantCulture) : null);
    }
    return null;
}

async Task<Reply> Xcrc(PluginContext ctx)
{
    if (ctx.Argument.Length == 0) return Reply.Syntax("XCRC <file> [start [end]]");
    if (Range(ctx) is not { } range) return NoFile(ctx, ctx.Argument);
    var (path, start, end) = range;
    try
    {
        await using var stream = ctx.Files!.OpenRead(path);
        var stop = end ?? stream.Length;
        if (start > stream.Length || stop > stream.Length || stop < start)
            return ctx.Reply(501, $"Range {start}-{stop} does not fit the file ({stream.Length} bytes).");
        stream.Seek(start, SeekOrigin.Begin);
        return new Reply(250, Convert.ToHexString(await Crc32Of(stream, stop - start, ctx.Cancel)));
    }
    catch (FileNotFoundException)
    {
        return NoFile(ctx, path);
    }
}

string Current(PluginContext ctx) => ctx.Choice("HASH") ?? DefaultAlgorithm;

AddCommand("XCRC", Access.LoggedIn, "XCRC <file> [start [end]]", "CRC-32 of a file, or of bytes start to end-1.", Xcrc);

foreach (var (verb, algorithm) in new[] { ("XMD5", "MD5"), ("XSHA1", "SHA-1"), ("XSHA256", "SHA-256"), ("XSHA512", "SHA-512") })
    AddCommand(verb, Access.LoggedIn, $"{verb} <file>", $"{algorithm} checksum of a file.",
        ctx => Digest(ctx, algorithm, (hex, _) => new Reply(250, hex)));

AddCommand("HASH", Access.LoggedIn, "HASH <file>", "Checksum of a file with the algorithm OPTS HASH chose (draft-bryan-ftpext-hash).",
    ctx => Digest(ctx, Current(ctx), (hex, size) => new Reply(213, $"{Current(ctx)} 0-{size} {hex} {ctx.Argument}")),
    feature: "HASH " + string.Join(';', Algorithms.Select(a => a == DefaultAlgorithm ? a + "*" : a)));

// OPTS HASH [algorithm] shows, or chooses for this session, the algorithm HASH uses; every other option is the server's own.
AddCommand("OPTS", Access.Anyone, "OPTS <option> [value]", "Set an option (UTF8, MLST, HASH).", ctx =>
{
    var words = ctx.Argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    if (words.Length == 0 || !words[0].Equals("HASH", StringComparison.OrdinalIgnoreCase)) return ctx.BuiltIn();
    if (words.Length == 1) return ctx.Reply(200, Current(ctx));
    var chosen = Algorithms.FirstOrDefault(a => a.Equals(words[1], StringComparison.OrdinalIgnoreCase));
    if (chosen is null)
        return ctx.Reply(501, $"Unknown algorithm {Reply.Sanitize(words[1])}; choose {string.Join(", ", Algorithms)}. "
            + $"The selection stays {Current(ctx)}.");
    ctx.Choose("HASH", chosen);
    return ctx.Reply(200, chosen);
});
