using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Effects;

/// <summary>The file-system interpreter against a real folder, with no connection: each effect to its result.</summary>
public class FileEffectsTests
{
    private string _root = "";
    private UserFiles _files = null!;

    [SetUp]
    public void CreateHome()
    {
        _root = Tools.NewFolder("scriptftp-effects-");
        _files = new UserFiles(_root);
    }

    [TearDown]
    public void DeleteHome() => Tools.DeleteQuietly(_root);

    private EffectResult Apply(Effect.FileEffect effect) => FileEffects.Apply(_files, effect);

    [Test]
    public void Mkd_then_stat_and_list_see_the_folder_and_a_second_mkd_is_refused()
    {
        Apply(new Effect.MakeDirectory("/d")).ShouldBeOfType<EffectResult.Done>();
        Apply(new Effect.Stat("/d")).ShouldBeOfType<EffectResult.Stat>().Entry!.IsDirectory.ShouldBeTrue();
        Apply(new Effect.List("/")).ShouldBeOfType<EffectResult.Listing>().Entries.Select(e => e.Name).ShouldBe(["d"]);
        Apply(new Effect.MakeDirectory("/d")).ShouldBe(new EffectResult.Failed("d: File exists."));
        Apply(new Effect.MakeDirectory("/x/y")).ShouldBe(new EffectResult.Failed("The parent directory does not exist."));
    }

    [Test]
    public void Entries_deleted_after_the_folder_was_read_are_left_out_and_the_rest_listed()
    {
        var names = Enumerable.Range(0, 50).Select(i => $"f{i:00}.txt").ToArray();
        foreach (var name in names) File.WriteAllText(Path.Combine(_root, name), name);
        Directory.CreateDirectory(Path.Combine(_root, "sub"));
        using var entries = _files.Entries("/").GetEnumerator();
        entries.MoveNext().ShouldBeTrue();
        var first = entries.Current.Name;
        // The names are read from the folder in batches: the rest are already read when their files go.
        foreach (var name in names.Where(n => n != first && string.CompareOrdinal(n, "f25") < 0))
            File.Delete(Path.Combine(_root, name));
        var rest = new List<FileEntry>();
        while (entries.MoveNext()) rest.Add(entries.Current);

        var expected = names.Where(n => string.CompareOrdinal(n, "f25") >= 0).Append("sub").Where(n => n != first);
        rest.Select(e => e.Name).Order(StringComparer.Ordinal).ShouldBe(expected.Order(StringComparer.Ordinal));
        rest.Where(e => !e.IsDirectory).ShouldAllBe(e => e.Size == 7);
        Should.Throw<DirectoryNotFoundException>(() => _files.Entries("/missing").GetEnumerator().MoveNext());
    }

    [Test]
    public void Rmd_and_dele_each_refuse_the_other_kind_and_a_folder_that_is_not_empty()
    {
        Directory.CreateDirectory(Path.Combine(_root, "d"));
        File.WriteAllText(Path.Combine(_root, "d", "f.txt"), "x");
        Apply(new Effect.DeleteFile("/d")).ShouldBe(new EffectResult.Failed("d: Is a directory; use RMD for directories."));
        Apply(new Effect.RemoveDirectory("/d/f.txt")).ShouldBe(new EffectResult.Failed("f.txt: Not a directory; use DELE for files."));
        Apply(new Effect.RemoveDirectory("/d")).ShouldBe(new EffectResult.Failed("d: Directory not empty."));
        Apply(new Effect.DeleteFile("/d/f.txt")).ShouldBe(new EffectResult.Deleted(1), "DELE reports what the file held");
        Apply(new Effect.RemoveDirectory("/d")).ShouldBeOfType<EffectResult.Done>();
        Directory.EnumerateFileSystemEntries(_root).ShouldBeEmpty();
    }

    [Test]
    public void Rename_never_moves_a_folder_into_itself_nor_onto_an_existing_name()
    {
        Directory.CreateDirectory(Path.Combine(_root, "d"));
        File.WriteAllText(Path.Combine(_root, "f.txt"), "x");
        Apply(new Effect.Rename("/d", "/d/inner")).ShouldBe(new EffectResult.Failed("Cannot move a directory into itself."));
        Apply(new Effect.Rename("/f.txt", "/d")).ShouldBe(new EffectResult.Failed("d: File exists."));
        Apply(new Effect.Rename("/f.txt", "/d/g.txt")).ShouldBeOfType<EffectResult.Done>();
        File.ReadAllText(Path.Combine(_root, "d", "g.txt")).ShouldBe("x");
    }

    [Test]
    public void Names_of_uploads_in_flight_are_neither_seen_nor_made()
    {
        var partial = UserFiles.PartialPrefix + "x.part";
        File.WriteAllText(Path.Combine(_root, partial), "half");
        Apply(new Effect.Stat("/" + partial)).ShouldBe(new EffectResult.Stat(null));
        Apply(new Effect.List("/")).ShouldBeOfType<EffectResult.Listing>().Entries.ShouldBeEmpty();
        Apply(new Effect.MakeDirectory("/" + UserFiles.PartialPrefix + "d")).ShouldBe(new EffectResult.Failed("File name not allowed."));
    }
}
