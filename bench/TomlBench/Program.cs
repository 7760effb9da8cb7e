using System.Diagnostics;
using System.Text;
using ScriptFtp.Toml;

const int UserCount = 10_000;
const int Runs = 15;

var text = GenerateUsers(UserCount);
Console.WriteLine($"users.toml: {UserCount:N0} users, {text.Length / 1024.0 / 1024.0:F2} MiB, {text.Count(c => c == '\n'):N0} lines");

Measure("Toml.Parse", () => Toml.Parse(text, "users.toml"));
Measure("TomlDocument.Parse", () => TomlDocument.Parse(text, "users.toml"));
Measure("Toml.Parse + bind every user", () =>
{
    var reader = new TomlTableReader(Toml.Parse(text, "users.toml"), "users.toml");
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
var document = TomlDocument.Parse(text, "users.toml");
Measure("TomlDocument.Set (ban one user, re-parse)", () => document.Set(["users", "user5000"], "banned", true));
Measure("Toml.Write", () => Toml.Write(document.Model));

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
    Console.WriteLine($"{name,-45} wall median {times[Runs / 2],7:F1} ms  min {times[0],7:F1} ms  max {times[^1],7:F1} ms | cpu median {cpu[Runs / 2],7:F1} ms");
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
