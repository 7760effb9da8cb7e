// quota.csx: a per-user upload quota. Settings, in ftp.toml:
//
//   [plugin.quota]
//   default_mb = 1024        # for users not listed below; 0 means unlimited
//
//   [plugin.quota.users]
//   alice = 5000             # alice may use 5000 MB
//
// Before each upload the plugin checks what the user's home already holds; at or over the limit the
// upload is refused with 552 and no file is created. Under it, the upload may bring at most what is left:
// the server cuts it off there with 552 and keeps nothing of it (ctx.LimitUpload). Uploads running at the
// same time each get what was left when they started, so together they can pass the limit.
// SITE QUOTA shows a user where they stand.

// TomlTableReader gives typed values, and errors that point at the line in ftp.toml.
var settings = new TomlTableReader(Settings, "ftp.toml", "plugin.quota");
var defaultMb = settings.Integer("default_mb", 1024, min: 0);
var perUser = new Dictionary<string, long>();
if (settings.Table("users") is { } users)
{
    foreach (var name in users.Raw.Keys) perUser[name] = users.Integer(name, defaultMb, min: 0);
    users.RejectUnknown();
}
settings.RejectUnknown();

long LimitBytes(PluginContext ctx) => perUser.GetValueOrDefault(ctx.User!.Name, defaultMb) * 1024 * 1024;
string Mb(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture);

// Adding up a large home on every upload would be slow, so each user's usage is remembered: uploads add to it, and the
// folder is walked again only when the remembered figure is a minute old or near the limit (deletes only make it high).
var usage = new System.Collections.Concurrent.ConcurrentDictionary<string, (long Bytes, DateTimeOffset Measured)>();
long Measure(PluginContext ctx)
{
    var used = ctx.Files!.UsedBytes();
    usage[ctx.User!.Name] = (used, DateTimeOffset.UtcNow);
    return used;
}

OnFileReceived((ctx, path, bytes) => usage.AddOrUpdate(ctx.User!.Name, _ => (bytes, DateTimeOffset.MinValue), (_, u) => (u.Bytes + bytes, u.Measured)));

OnBeforeUpload((ctx, path) =>
{
    var limit = LimitBytes(ctx);
    if (limit == 0) return null;
    var used = usage.TryGetValue(ctx.User!.Name, out var known) && DateTimeOffset.UtcNow - known.Measured < TimeSpan.FromMinutes(1) && known.Bytes < limit * 0.9
        ? known.Bytes
        : Measure(ctx);
    if (used < limit)
    {
        ctx.LimitUpload(limit - used);
        return null;
    }
    ctx.Log.Information("Upload of {Path} refused: {Used} MB used of {Limit} MB", path, Mb(used), Mb(limit));
    return ctx.Reply(552, $"Quota exceeded: you use {Mb(used)} MB of {Mb(limit)} MB. Delete files to upload more.");
});

AddSiteCommand("QUOTA", Access.LoggedIn, "QUOTA", "Show your disk usage and quota.", ctx =>
{
    var limit = LimitBytes(ctx);
    var used = Measure(ctx);
    return ctx.Reply(200, limit == 0 ? $"You use {Mb(used)} MB; no quota." : $"You use {Mb(used)} MB of {Mb(limit)} MB.");
});
