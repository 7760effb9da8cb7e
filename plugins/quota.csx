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
// same time share what is left, so together they cannot pass the limit either.
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

// The home is counted once per user (adding up a large home on every upload would be slow), and the count is then kept:
// uploads take what they bring from the user's allowance as the bytes arrive, the server gives back what a failed upload
// took and what a replaced file held, and deletes give back what the file held. Files added or removed by other means
// are seen when the home is counted again: when an upload would be refused, and when the count is ten minutes old.
var accounts = new System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<Account>>>();
var recountAfter = TimeSpan.FromMinutes(10);
var missRecountAfter = TimeSpan.FromSeconds(5);

// The first upload of a user counts; uploads that start meanwhile wait for that one count instead of walking too.
async Task<Account> AccountOf(PluginContext ctx, long limit)
{
    var name = ctx.User!.Name;
    var files = ctx.Files!;
    var entry = accounts.GetOrAdd(name, _ => new Lazy<Task<Account>>(() => Task.Run(() =>
        new Account(new UploadAllowance(limit - Count(ctx.Log, name, files)), DateTimeOffset.UtcNow))));
    try
    {
        return await entry.Value.WaitAsync(ctx.Cancel);
    }
    catch (Exception) when (entry.Value.IsFaulted)
    {
        accounts.TryRemove(new KeyValuePair<string, Lazy<Task<Account>>>(name, entry));
        throw;
    }
}

long Count(PluginLog log, string user, PluginFiles files)
{
    var used = files.UsedBytes();
    log.Information("Counted the home of {User}: {Used} MB", user, Mb(used));
    return used;
}

void Recount(PluginContext ctx, Account account, long limit)
{
    account.Counted = DateTimeOffset.UtcNow;
    account.Left.Reset(limit - Count(ctx.Log, ctx.User!.Name, ctx.Files!));
}

OnFileDeleted((ctx, path, bytes) =>
{
    if (accounts.TryGetValue(ctx.User!.Name, out var entry) && entry.IsValueCreated && entry.Value.IsCompletedSuccessfully)
        entry.Value.Result.Left.Add(bytes);
});

OnBeforeUpload(async (ctx, path) =>
{
    var limit = LimitBytes(ctx);
    if (limit == 0) return null;
    var account = await AccountOf(ctx, limit);
    var age = DateTimeOffset.UtcNow - account.Counted;
    if (age > recountAfter || (account.Left.Remaining <= 0 && age > missRecountAfter)) Recount(ctx, account, limit);
    if (account.Left.Remaining > 0)
    {
        ctx.LimitUpload(account.Left);
        return null;
    }
    var used = limit - account.Left.Remaining;
    ctx.Log.Information("Upload of {Path} refused: {Used} MB used of {Limit} MB", path, Mb(used), Mb(limit));
    return ctx.Reply(552, $"Quota exceeded: you use {Mb(used)} MB of {Mb(limit)} MB. Delete files to upload more.");
});

AddSiteCommand("QUOTA", Access.LoggedIn, "QUOTA", "Show your disk usage and quota.", async ctx =>
{
    var limit = LimitBytes(ctx);
    // Without a quota nothing is kept, so the home is counted for the answer.
    if (limit == 0) return ctx.Reply(200, $"You use {Mb(ctx.Files!.UsedBytes())} MB; no quota.");
    var account = await AccountOf(ctx, limit);
    return ctx.Reply(200, $"You use {Mb(limit - account.Left.Remaining)} MB of {Mb(limit)} MB.");
});

// What is left of a user's quota, and when the home was last counted.
sealed class Account(UploadAllowance left, DateTimeOffset counted)
{
    public UploadAllowance Left { get; } = left;
    public DateTimeOffset Counted { get; set; } = counted;
}
