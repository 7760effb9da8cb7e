using System.Diagnostics;
using System.Text;
using ScriptFtp.Toml;
using Tomlyn.Parsing;

const int UserCount = 10_000;
const int Runs = 15;

var text = GenerateUsers(UserCount);
Console.WriteLine($"users.toml: {UserCount:N0} users, {text.Length / 1024.0 / 1024.0:F2} MiB, {text.Count(c => c == '\n'):N0} lines");

Measure("Tomlyn SyntaxParser.Parse (validate: true), alone", () => SyntaxParser.Parse(text, "users.toml", validate: true));
{
    var tree = SyntaxParser.Parse(text, "users.toml", validate: true);
    Measure("TomlBinder.Bind alone (syntax tree to model)", () => TomlBinder.Bind(tree, "users.toml"));
}
Measure("Toml.Parse (parse, validate, bind the model)", () => Toml.Parse(text, "users.toml"));
// What the server does when it reads users.toml: parse the document, bind every user from its model, let the tree go.
Measure("read users.toml: TomlDocument.Parse + bind every user", () =>
{
    var read = TomlDocument.Parse(text, "users.toml");
    read.ReleaseSyntaxTree();
    var reader = new TomlTableReader(read.Model, "users.toml");
    var users = reader.Table("users")!;
    var admins = 0;
    foreach (var (_, user) in users.Tables())
    {
        user.String("password", "");
        user.String("home", "/");
        if (user.Boolean("admin", false)) admins++;
        user.Boolean("banned", false);
        user.Boolean("read_only", false);
        user.RejectUnknown();
    }
    users.RejectUnknown();
    reader.RejectUnknown();
    return admins;
});
// The read holds collections off (see TomlSyntax.WithoutCollections); the store then lets the syntax tree go, so the
// first collection afterwards finds it dead instead of moving 100 MB.
Measure("read users.toml, release the tree, then a collection", () =>
{
    var document = TomlDocument.Parse(text, "users.toml");
    document.ReleaseSyntaxTree();
    GC.Collect(0, GCCollectionMode.Forced, blocking: true);
    return document;
});
// An admin command, as the store runs it: the edit parses the text once, then the store lets the tree go.
var document = TomlDocument.Parse(text, "users.toml");
var banned = false;
Measure("admin command: ban/unban one user (one parse, edit, text, model)", () =>
{
    banned = !banned;
    document = document.Set(["users", "user5001"], "banned", banned);
    document.ReleaseSyntaxTree();
    return document.ToString().Length;
});
Console.WriteLine($"memory held: a document (syntax tree and model) {Held(() => TomlDocument.Parse(text, "users.toml")) / 1e6:F0} MB,"
    + $" a model alone {Held(() => Toml.Parse(text, "users.toml")) / 1e6:F0} MB, the text {Held(() => new string(text)) / 1e6:F0} MB");
{
    var before = GC.GetAllocatedBytesForCurrentThread();
    var edited = document.Set(["users", "user5001"], "banned", !banned);
    Console.WriteLine($"allocated by one admin command: {(GC.GetAllocatedBytesForCurrentThread() - before) / 1e6:F0} MB,"
        + $" by one read: {Allocated(() => TomlDocument.Parse(text, "users.toml")) / 1e6:F0} MB");
    edited.ReleaseSyntaxTree();
}
var bannedNow = ((TomlTable)((TomlTable)document.Model["users"])["user5001"])["banned"];
if (!Equals(bannedNow, banned))
    throw new InvalidOperationException("the model does not follow the edits");

static long Allocated(Func<object> make)
{
    var before = GC.GetAllocatedBytesForCurrentThread();
    GC.KeepAlive(make());
    return GC.GetAllocatedBytesForCurrentThread() - before;
}

static long Held(Func<object> make)
{
    var before = GC.GetTotalMemory(forceFullCollection: true);
    var held = make();
    var after = GC.GetTotalMemory(forceFullCollection: true);
    GC.KeepAlive(held);
    return after - before;
}

static void Measure(string name, Func<object> action)
{
    for (var i = 0; i < 3; i++) action(); // JIT and caches
    var times = new List<double>();
    var cpu = new List<double>();
    var process = Process.GetCurrentProcess();
    for (var i = 0; i < Runs; i++)
    {
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        GC.KeepAlive(action());
        times.Add(sw.Elapsed.TotalMilliseconds);
        process.Refresh();
        cpu.Add((process.TotalProcessorTime - cpuBefore).TotalMilliseconds);
    }
    times.Sort();
    cpu.Sort();
    // Wall-clock time suffers on a loaded machine; CPU time (all threads, GC included) is steadier.
    Console.WriteLine($"{name,-55} wall median {times[Runs / 2],7:F1} ms  min {times[0],7:F1} ms  max {times[^1],7:F1} ms"
        + $" | cpu median {cpu[Runs / 2],7:F1} ms");
}

static string GenerateUsers(int count)
{
    var sb = new StringBuilder();
    sb.Append("# users.toml generated for the benchmark\n\n");
    var random = new Random(42);
    for (var i = 0; i < count; i++)
    {
        var salt = Convert.ToBase64String(RandomBytes(random, 16));
        var hash = Convert.ToBase64String(RandomBytes(random, 32));
        sb.Append("# user number ").Append(i).Append('\n');
        sb.Append(i % 10 == 0 ? $"[users.\"user {i}\"]\n" : $"[users.user{i}]\n");
        sb.Append("password = \"pbkdf2-sha256$600000$").Append(salt).Append('$').Append(hash).Append("\"\n");
        sb.Append("home = \"/srv/ftp/user").Append(i).Append("\"\n");
        sb.Append("admin = ").Append(i % 100 == 0 ? "true" : "false").Append('\n');
        sb.Append("banned = false  # since 2024-01-01\n");
        sb.Append("read_only = ").Append(i % 3 == 0 ? "true" : "false").Append("\n\n");
    }
    return sb.ToString();
}

static byte[] RandomBytes(Random random, int length)
{
    var bytes = new byte[length];
    random.NextBytes(bytes);
    return bytes;
}
