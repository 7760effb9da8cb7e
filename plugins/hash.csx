// hash.csx: file checksums, as ProFTPD's mod_digest offers them.
//
//   XMD5 <file>     250 <md5 hex>
//   XSHA256 <file>  250 <sha-256 hex>
//   HASH <file>     213 SHA-256 0-<size> <sha-256 hex> <file>
//   OPTS HASH       200 SHA-256 (the selected algorithm; SHA-256 is the only one offered)
//
// FEAT announces "HASH SHA-256*", so clients that follow draft-bryan-ftpext-hash find the command.
// The file is streamed through the hash (never read whole into memory), and hashing stops when the
// handler's time limit cancels ctx.Cancel. Paths are the client's: relative to its current directory.

async Task<Reply> Digest(PluginContext ctx, Func<Stream, CancellationToken, ValueTask<byte[]>> hash, Func<string, long, string, Reply> answer)
{
    if (ctx.Argument.Length == 0) return Reply.Syntax($"{ctx.Request!.Verb} <file>");
    try
    {
        // The commands are LoggedIn-only, so there always is a user. OpenRead throws FileNotFoundException for a folder too.
        await using var stream = ctx.Files!.OpenRead(ctx.Argument);
        var size = stream.Length;
        return answer(Convert.ToHexStringLower(await hash(stream, ctx.Cancel)), size, ctx.Argument);
    }
    catch (FileNotFoundException)
    {
        return ctx.Reply(550, $"{Reply.Sanitize(ctx.Argument)}: No such file.");
    }
}

AddCommand("XMD5", Access.LoggedIn, "XMD5 <file>", "MD5 checksum of a file.",
    ctx => Digest(ctx, MD5.HashDataAsync, (hex, _, _) => new Reply(250, hex)));

AddCommand("XSHA256", Access.LoggedIn, "XSHA256 <file>", "SHA-256 checksum of a file.",
    ctx => Digest(ctx, SHA256.HashDataAsync, (hex, _, _) => new Reply(250, hex)));

AddCommand("HASH", Access.LoggedIn, "HASH <file>", "SHA-256 checksum of a file (draft-bryan-ftpext-hash).",
    ctx => Digest(ctx, SHA256.HashDataAsync, (hex, size, name) => new Reply(213, $"SHA-256 0-{size} {hex} {name}")),
    feature: "HASH SHA-256*");

// OPTS HASH [algorithm] asks for, or selects, the algorithm HASH uses; every other option is the server's own.
AddCommand("OPTS", Access.Anyone, "OPTS <option> [value]", "Set an option (UTF8, MLST, HASH).", ctx =>
{
    var words = ctx.Argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    if (words.Length == 0 || !words[0].Equals("HASH", StringComparison.OrdinalIgnoreCase)) return ctx.BuiltIn();
    if (words.Length == 1 || words[1].Equals("SHA-256", StringComparison.OrdinalIgnoreCase)) return ctx.Reply(200, "SHA-256");
    return ctx.Reply(501, $"Unknown algorithm {Reply.Sanitize(words[1])}; the selection stays SHA-256.");
});
