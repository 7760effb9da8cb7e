using System.Collections.Immutable;
using ScriptFtp.Toml;

namespace ScriptFtp;

/// <summary>
/// The users file as text and as accounts, and the edits admin commands make to it. Each edit changes only the lines
/// it concerns (comments, order and line endings stay) and reads the accounts again from the edited document, which
/// costs no parse: the document reuses its syntax tree.
/// </summary>
internal sealed record UsersFile(TomlDocument Document, ImmutableDictionary<string, UserAccount> Users, HomeFolders Homes)
{
    /// <summary>The file's text, as it was read or as an edit left it.</summary>
    public string Text => Document.ToString();

    /// <summary>Parses the text and reads every account; any invalid or unknown entry is an error.</summary>
    /// <exception cref="TomlException">A syntax error, or an entry that is not a valid account.</exception>
    public static UsersFile Parse(string text, string path, HomeFolders homes)
    {
        var document = TomlDocument.Parse(text, path);
        return new UsersFile(document, ReadUsers(document.Model, path, homes), homes);
    }

    /// <summary>Adds <c>[users.NAME]</c> at the end, with the home folder named after the user.</summary>
    public UsersFile AddUser(string name, string passwordHash) =>
        Edited(Document.AddTable(["users", name],
        [
            new("password", passwordHash),
            new("home", name),
            new("admin", false),
            new("banned", false),
            new("read_only", false),
        ]));

    /// <summary>Removes a user's table and the comments directly above it.</summary>
    public UsersFile RemoveUser(string name) => Edited(Document.RemoveTable(["users", name]));

    /// <summary>Sets one key of a user, in place when it is already written.</summary>
    public UsersFile SetKey(string name, string key, object value) => Edited(Document.Set(["users", name], key, value));

    private UsersFile Edited(TomlDocument document) =>
        this with { Document = document, Users = ReadUsers(document.Model, document.SourceName, Homes) };

    /// <summary>Builds the accounts from a parsed file; throws <see cref="TomlException"/> on any invalid entry.</summary>
    private static ImmutableDictionary<string, UserAccount> ReadUsers(TomlTable model, string sourceName, HomeFolders homes)
    {
        var root = new TomlTableReader(model, sourceName);
        var builder = ImmutableDictionary.CreateBuilder<string, UserAccount>(StringComparer.Ordinal);
        if (root.Table("users") is { } usersTable)
        {
            foreach (var (name, reader) in usersTable.Tables())
            {
                if (!UserNames.IsValid(name))
                    throw usersTable.Error(name, $"invalid user name \"{name}\": {UserNames.Rule}");
                builder[name] = ReadUser(name, reader, homes);
            }
            usersTable.RejectUnknown();
        }
        root.RejectUnknown();
        return builder.ToImmutable();
    }

    private static UserAccount ReadUser(string name, TomlTableReader reader, HomeFolders homes)
    {
        var password = reader.OptionalString("password")
            ?? throw reader.Error("password", "the user has no password");
        if (password.Length == 0)
            throw reader.Error("password", "the password must not be empty");
        if (!Passwords.IsPlainText(password) && !Passwords.IsWellFormedHash(password))
            throw reader.Error("password",
                $"malformed password hash (expected {Passwords.Format}, as hash-password prints it; {Passwords.Bounds})");

        var home = reader.String("home", name);
        if (home.Length == 0)
            throw reader.Error("home", "the home folder must not be empty (use \"/\" for the server root)");
        if (homes.Resolve(home) is null)
            throw reader.Error("home", "the home folder must lie inside the server root");

        var user = new UserAccount(
            name,
            password,
            home,
            Admin: reader.Boolean("admin", false),
            Banned: reader.Boolean("banned", false),
            ReadOnly: reader.Boolean("read_only", false)) { Tls = ReadTls(reader) };
        reader.RejectUnknown();
        return user;
    }

    private static TlsRequirement ReadTls(TomlTableReader reader) => reader.OptionalString("tls") switch
    {
        null => TlsRequirement.Server,
        "required" => TlsRequirement.Required,
        "optional" => TlsRequirement.Optional,
        var other => throw reader.Error("tls", $"tls is \"required\" or \"optional\" (or left out to follow [tls] plain_allowed_from), " +
            $"not \"{other}\""),
    };
}
