using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Infrastructure;

public class AtomicFileTests
{
    private string _folder = null!;

    [SetUp]
    public void SetUp()
    {
        _folder = Path.Combine(Path.GetTempPath(), "scriptftp-atomic-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    [Test]
    public async Task Writes_the_text_as_UTF8_without_a_byte_order_mark_and_leaves_no_temporary_file()
    {
        var path = Path.Combine(_folder, "a.toml");
        await AtomicFile.WriteAllTextAsync(path, "name = \"Zoë\"\n");
        await AtomicFile.WriteAllTextAsync(path, "name = \"Åsa\"\n");

        File.ReadAllBytes(path).ShouldBe("name = \"Åsa\"\n"u8.ToArray());
        Directory.GetFiles(_folder).Select(Path.GetFileName).ShouldBe(["a.toml"]);
    }

    [Test]
    public async Task A_replaced_file_keeps_its_permissions_and_a_new_file_gets_the_ones_asked_for()
    {
        if (OperatingSystem.IsWindows())
            return; // Unix file modes only
        var kept = Path.Combine(_folder, "kept");
        File.WriteAllText(kept, "old");
        const UnixFileMode shared = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(kept, shared);
        const UnixFileMode secret = UnixFileMode.UserRead | UnixFileMode.UserWrite;

        await AtomicFile.WriteAllTextAsync(kept, "new", newFileMode: secret);
        await AtomicFile.WriteAllTextAsync(Path.Combine(_folder, "fresh"), "new", newFileMode: secret);

        File.GetUnixFileMode(kept).ShouldBe(shared);
        File.GetUnixFileMode(Path.Combine(_folder, "fresh")).ShouldBe(secret);
    }

    [Test]
    public async Task Writes_through_the_temporary_name_given_and_removes_it_when_the_write_fails()
    {
        var path = Path.Combine(_folder, "target.txt");
        var temp = Path.Combine(_folder, ".partial");
        await AtomicFile.WriteAllTextAsync(path, "x", temporaryPath: temp);
        File.ReadAllText(path).ShouldBe("x");
        File.Exists(temp).ShouldBeFalse();

        Directory.CreateDirectory(Path.Combine(_folder, "dir"));
        await Should.ThrowAsync<IOException>(() => AtomicFile.WriteAllTextAsync(Path.Combine(_folder, "dir"), "y", temporaryPath: temp));
        File.Exists(temp).ShouldBeFalse();
    }
}

public class DebouncedWatcherTests
{
    private string _folder = null!;

    [SetUp]
    public void SetUp()
    {
        _folder = Path.Combine(Path.GetTempPath(), "scriptftp-watch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    [Test]
    public async Task A_burst_of_changes_leads_to_one_call_after_the_folder_settles()
    {
        var calls = 0;
        // A long quiet time, so that a slow machine still writes the burst well within it.
        using var watcher = new DebouncedWatcher(_folder, "*.txt", TimeSpan.FromSeconds(1), () => Interlocked.Increment(ref calls));

        for (var i = 0; i < 5; i++)
            File.WriteAllText(Path.Combine(_folder, "a.txt"), new string('x', i + 1));

        (await Tools.EventuallyAsync(() => Volatile.Read(ref calls) > 0)).ShouldBeTrue();
        await Task.Delay(1500);
        calls.ShouldBe(1);
    }

    [Test]
    public async Task Events_the_filter_calls_irrelevant_are_ignored()
    {
        var calls = 0;
        using var watcher = new DebouncedWatcher(_folder, "*", TimeSpan.FromMilliseconds(50), () => Interlocked.Increment(ref calls),
            relevant: e => e.Name == "mine");

        File.WriteAllText(Path.Combine(_folder, "other"), "x");
        await Task.Delay(500);
        calls.ShouldBe(0);

        File.WriteAllText(Path.Combine(_folder, "mine"), "x");
        (await Tools.EventuallyAsync(() => Volatile.Read(ref calls) > 0)).ShouldBeTrue();
    }

    [Test]
    public async Task Nothing_is_called_after_dispose()
    {
        var calls = 0;
        var watcher = new DebouncedWatcher(_folder, "*", TimeSpan.FromMilliseconds(200), () => Interlocked.Increment(ref calls));
        watcher.Poke();
        watcher.Dispose();
        watcher.Poke();

        await Task.Delay(600);
        calls.ShouldBe(0);
    }
}
