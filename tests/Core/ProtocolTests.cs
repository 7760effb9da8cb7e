using System.Collections.Immutable;
using System.Net;
using System.Text;

namespace ScriptFtp.Tests.Core;

/// <summary>The pure core, driven without sockets: effects are answered by a small in-memory interpreter.</summary>
public class ProtocolTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly IPEndPoint Client = new(IPAddress.Parse("192.0.2.10"), 40000);
    private static readonly IPEndPoint Local = new(IPAddress.Parse("192.0.2.1"), 21);

    /// <summary>A tiny world: a set of folders and files, and who may log in.</summary>
    private sealed record World(ImmutableDictionary<string, FileEntry> Entries, List<Effect> Performed)
    {
        /// <summary>The address bans in force.</summary>
        public ImmutableArray<AddressBan> Bans { get; init; } = [];

        public static World Create(params string[] paths)
        {
            var entries = ImmutableDictionary<string, FileEntry>.Empty.Add("/", new FileEntry("", true, 0, Now));
            foreach (var p in paths)
                entries = entries.SetItem(p.TrimEnd('/'), new FileEntry(VirtualPath.Name(p.TrimEnd('/')), p.EndsWith('/'), p.EndsWith('/') ? 0 : 42, Now.AddDays(-400)));
            return new World(entries, []);
        }

        /// <summary>What the shell sends for a listing of this world's folder: the core's line for each entry.</summary>
        public string Listed(Effect.SendListing listing) => Listing.Lines(Entries
            .Where(e => e.Key != "/" && VirtualPath.Parent(e.Key) == listing.Path).Select(e => e.Value)
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .Select(e => Listing.Line(listing.Format, e)).OfType<string>());

        public EffectResult Answer(Effect effect)
        {
            Performed.Add(effect);
            return effect switch
            {
                Effect.Authenticate { Name: "alice", Password: "secret" } => new EffectResult.Authenticated(new UserView("alice", false, false)),
                Effect.Authenticate { Name: "root", Password: "toor" } => new EffectResult.Authenticated(new UserView("root", true, false)),
                Effect.Authenticate { Name: "reader", Password: "r" } => new EffectResult.Authenticated(new UserView("reader", false, true)),
                Effect.Authenticate => new EffectResult.LoginFailed(LoginFailure.Incorrect),
                Effect.Stat s => new EffectResult.Stat(Entries.GetValueOrDefault(s.Path)),
                Effect.List l => new EffectResult.Listing([.. Entries.Where(e => e.Key != "/" && VirtualPath.Parent(e.Key) == l.Path).Select(e => e.Value)]),
                Effect.MakeDirectory or Effect.RemoveDirectory or Effect.Rename => new EffectResult.Done(),
                Effect.DeleteFile => new EffectResult.Deleted(0),
                Effect.SetModified or Effect.SetMode => new EffectResult.Done(),
                Effect.OpenPassive => new EffectResult.Listening(new IPEndPoint(Local.Address, 50000), Local.Address),
                Effect.SendFile s => new EffectResult.Transferred(42 - s.Offset, TimeSpan.FromMilliseconds(1)),
                Effect.SendText t => new EffectResult.Transferred(t.Text.Length, TimeSpan.FromMilliseconds(1)),
                Effect.SendListing l => new EffectResult.Transferred(Listed(l).Length, TimeSpan.FromMilliseconds(1)),
                Effect.ReceiveFile r => new EffectResult.Transferred(10, TimeSpan.FromMilliseconds(1)) { StoredAs = r.Path },
                Effect.WatchControl => new EffectResult.Control(Closed: false),
                Effect.CommitUpload => new EffectResult.Transferred(10, TimeSpan.FromMilliseconds(1)) { StoredAs = "/stored" },
                Effect.Notify => new EffectResult.Done(),
                Effect.Administer a => new EffectResult.Done($"{a.Action} {a.Name} done."),
                Effect.ServerStatus => new EffectResult.Status(1, TimeSpan.FromMinutes(5)),
                Effect.ListBans => new EffectResult.Bans(Bans),
                Effect.LiftBan lift => new EffectResult.BanLifted(Bans.Any(b => b.Address.Equals(lift.Address))),
                _ => throw new InvalidOperationException(effect.ToString()),
            };
        }
    }

    private static readonly Context Ctx = new(Protocol.BuiltIns, ServerOptions.Default, Now);

    /// <summary>Runs one command to its replies, answering every effect from the world; a transfer ends at once.</summary>
    private static (Session Next, ImmutableArray<Reply> Replies, bool Close) Run(World world, Session session, string line, Context? context = null)
    {
        var outcome = Protocol.Dispatch(context ?? Ctx, session, Request.Parse(line)!);
        while (outcome is not Outcome.Respond)
        {
            outcome = outcome switch
            {
                Outcome.Perform perform => perform.Then(world.Answer(perform.Effect)),
                Outcome.StartTransfer start => Protocol.TransferEnded(context ?? Ctx, start.Next, world.Answer(start.Transfer)),
                _ => throw new InvalidOperationException($"unexpected {outcome}"),
            };
        }
        var respond = (Outcome.Respond)outcome;
        return (respond.Next, respond.Replies, respond.Close);
    }

    private static (Session Session, List<int> Codes) Script(World world, params string[] lines)
    {
        var session = new Session("t", Client, Local);
        var codes = new List<int>();
        foreach (var line in lines)
        {
            var (next, replies, _) = Run(world, session, line);
            session = next;
            codes.AddRange(replies.Select(r => r.Code));
        }
        return (session, codes);
    }

    private static Session LoggedIn(World world, string user = "alice", string password = "secret") =>
        Script(world, $"USER {user}", $"PASS {password}").Session;

    [Test]
    public void Parse_splits_verb_and_argument_and_upper_cases_the_verb()
    {
        Request.Parse("retr my file.txt").ShouldBe(new Request("RETR", "my file.txt"));
        Request.Parse("NOOP").ShouldBe(new Request("NOOP", ""));
        Request.Parse("   ").ShouldBeNull();
    }

    [Test]
    public void Password_never_appears_in_ToString()
    {
        new Request("PASS", "hunter2").ToString().ShouldNotContain("hunter2");
        new Request("ADDUSER", "bob hunter2").ToString().ShouldNotContain("hunter2");
        new Request("SITE", "ADDUSER bob hunter2").ToString().ShouldNotContain("hunter2");
        new Request("RETR", "a.txt").ToString().ShouldBe("RETR a.txt");
    }

    [Test]
    public void Single_line_reply_is_code_space_text_crlf() =>
        new Reply(200, "OK.").Format().ShouldBe("200 OK.\r\n");

    [Test]
    public void Multi_line_reply_follows_rfc959_and_indents_lines_that_start_with_digits() =>
        new Reply(211, ["Features:", " SIZE", "211 looks like an end", "End"]).Format()
            .ShouldBe("211-Features:\r\n SIZE\r\n 211 looks like an end\r\n211 End\r\n");

    [Test]
    public void Framer_handles_a_crlf_split_across_reads_fed_one_byte_at_a_time()
    {
        var input = Encoding.UTF8.GetBytes("USER bob\r\nPASS x\nNOOP\r\n");
        var lines = new List<string>();
        var buffer = new List<byte>();
        foreach (var b in input)
        {
            buffer.Add(b);
            while (true)
            {
                var frame = LineFramer.Next(buffer.ToArray(), 512);
                buffer.RemoveRange(0, frame.Consumed);
                if (frame.Line is null) break;
                lines.Add(frame.Line);
            }
        }
        lines.ShouldBe(["USER bob", "PASS x", "NOOP"]);
    }

    [Test]
    public void Framer_removes_telnet_interrupt_and_sync_before_abor()
    {
        // What a Telnet-aware client sends before ABOR: IAC IP IAC DM, then the command.
        byte[] input = [255, 244, 255, 242, .. "ABOR\r\n"u8.ToArray()];
        LineFramer.Next(input, 512).Line.ShouldBe("ABOR");
    }

    [Test]
    public void Framer_keeps_an_escaped_iac_and_decodes_utf8()
    {
        LineFramer.Next("RETR файл.txt\r\n"u8, 512).Line.ShouldBe("RETR файл.txt");
        LineFramer.Next([(byte)'A', 255, 255, (byte)'\n'], 512).Line.ShouldBe("A\u00ff");
    }

    [Test]
    public void Framer_reports_an_overlong_line()
    {
        var frame = LineFramer.Next(Encoding.ASCII.GetBytes(new string('x', 600) + "\r\n"), 512);
        frame.TooLong.ShouldBeTrue();
        frame.Consumed.ShouldBe(602);
        LineFramer.Next(Encoding.ASCII.GetBytes(new string('x', 600)), 512).TooLong.ShouldBeTrue();
    }

    [TestCase("/", "a/b", "/a/b")]
    [TestCase("/a", "../../../etc/passwd", "/etc/passwd")]
    [TestCase("/a/b", "..", "/a")]
    [TestCase("/a", "/x/./y//z/", "/x/y/z")]
    [TestCase("/", "..\\..\\users.toml", "/users.toml")]
    [TestCase("/a", "", "/a")]
    [TestCase("/", "名前/ファイル", "/名前/ファイル")]
    public void Resolve_never_leaves_the_root(string current, string argument, string expected) =>
        VirtualPath.Resolve(current, argument).ShouldBe(expected);

    [Test]
    public void Resolve_rejects_nul_control_characters_and_overlong_names()
    {
        VirtualPath.Resolve("/", "a\0b").ShouldBeNull();
        VirtualPath.Resolve("/", "a\nb").ShouldBeNull();
        VirtualPath.Resolve("/", new string('x', 256)).ShouldBeNull();
        VirtualPath.Resolve("/", string.Join('/', Enumerable.Repeat("abc", 2000))).ShouldBeNull();
    }

    [Test]
    public void Commands_before_login_get_530_and_no_effect_runs()
    {
        var world = World.Create("/a.txt");
        var (_, codes) = Script(world, "LIST", "RETR a.txt", "CWD /", "STOR x");
        codes.ShouldBe([530, 530, 530, 530]);
        world.Performed.ShouldBeEmpty();
    }

    [Test]
    public void Pass_without_user_is_a_bad_sequence() =>
        Script(World.Create(), "PASS x").Codes.ShouldBe([503]);

    [Test]
    public void Login_then_pwd()
    {
        var (session, codes) = Script(World.Create(), "USER alice", "PASS secret", "PWD");
        codes.ShouldBe([331, 230, 257]);
        session.User!.Name.ShouldBe("alice");
    }

    [Test]
    public void Wrong_password_gets_530_and_stays_logged_out()
    {
        var (session, codes) = Script(World.Create(), "USER alice", "PASS wrong", "PWD");
        codes.ShouldBe([331, 530, 530]);
        session.User.ShouldBeNull();
    }

    [Test]
    public void Rnto_only_directly_after_rnfr()
    {
        var world = World.Create("/a.txt");
        var session = LoggedIn(world);
        Run(world, session, "RNTO b.txt").Replies[0].Code.ShouldBe(503);
        var afterRnfr = Run(world, session, "RNFR a.txt");
        afterRnfr.Replies[0].Code.ShouldBe(350);
        var interrupted = Run(world, afterRnfr.Next, "NOOP").Next;
        Run(world, interrupted, "RNTO b.txt").Replies[0].Code.ShouldBe(503);
        var renamed = Run(world, afterRnfr.Next, "RNTO b.txt");
        renamed.Replies[0].Code.ShouldBe(250);
        world.Performed.OfType<Effect.Rename>().ShouldHaveSingleItem().ShouldBe(new Effect.Rename("/a.txt", "/b.txt"));
    }

    [Test]
    public void Unknown_verb_is_500_and_missing_argument_is_501_with_usage()
    {
        var world = World.Create();
        var session = LoggedIn(world);
        Run(world, session, "FROB").Replies[0].Code.ShouldBe(500);
        var retr = Run(world, session, "RETR").Replies[0];
        retr.Code.ShouldBe(501);
        retr.Lines[0].ShouldContain("RETR <file>");
    }

    [Test]
    public void Aliases_dispatch_to_the_same_entry()
    {
        var world = World.Create("/d/");
        var session = LoggedIn(world);
        Run(world, session, "XPWD").Replies[0].Code.ShouldBe(257);
        var moved = Run(world, session, "XCWD d");
        moved.Next.Directory.ShouldBe("/d");
        Run(world, moved.Next, "XCUP").Next.Directory.ShouldBe("/");
    }

    [Test]
    public void Cwd_into_a_file_or_missing_folder_is_550_and_keeps_the_directory()
    {
        var world = World.Create("/a.txt");
        var session = LoggedIn(world);
        Run(world, session, "CWD a.txt").Replies[0].Code.ShouldBe(550);
        var missing = Run(world, session, "CWD nope");
        missing.Replies[0].Code.ShouldBe(550);
        missing.Next.Directory.ShouldBe("/");
    }

    [Test]
    public void Stor_onto_an_existing_file_is_refused_unless_overwrite_is_allowed()
    {
        var world = World.Create("/a.txt");
        var session = Run(world, LoggedIn(world), "EPSV").Next;
        var refused = Run(world, session, "STOR a.txt");
        refused.Replies[0].Code.ShouldBe(550);
        world.Performed.OfType<Effect.ReceiveFile>().ShouldBeEmpty();

        var permissive = Ctx with { Options = ServerOptions.Default with { AllowOverwrite = true } };
        Run(world, session, "STOR a.txt", permissive).Replies[0].Code.ShouldBe(226);
        world.Performed.OfType<Effect.ReceiveFile>().ShouldHaveSingleItem().Mode.ShouldBe(WriteMode.Overwrite);
    }

    [Test]
    public void Stor_of_a_new_file_creates_and_rest_then_stor_resumes()
    {
        var world = World.Create("/a.txt");
        var session = Run(world, LoggedIn(world), "EPSV").Next;
        Run(world, session, "STOR new.txt").Replies[0].Code.ShouldBe(226);
        var rest = Run(world, session, "REST 42");
        rest.Replies[0].Code.ShouldBe(350);
        Run(world, rest.Next, "STOR a.txt").Replies[0].Code.ShouldBe(226);
        world.Performed.OfType<Effect.ReceiveFile>().Select(r => (r.Path, r.Mode, r.Offset))
            .ShouldBe([("/new.txt", WriteMode.Create, 0L), ("/a.txt", WriteMode.Resume, 42L)]);
    }

    [Test]
    public void Rest_inside_an_existing_file_then_stor_is_refused_unless_overwrite_is_allowed()
    {
        var world = World.Create("/a.txt");
        var session = Run(world, Run(world, LoggedIn(world), "EPSV").Next, "REST 1").Next;
        Run(world, session, "STOR a.txt").Replies[0].Code.ShouldBe(550);
        world.Performed.OfType<Effect.ReceiveFile>().ShouldBeEmpty();
        var permissive = Ctx with { Options = ServerOptions.Default with { AllowOverwrite = true } };
        Run(world, session, "STOR a.txt", permissive).Replies[0].Code.ShouldBe(226);
        world.Performed.OfType<Effect.ReceiveFile>().ShouldHaveSingleItem().Offset.ShouldBe(1);
    }

    [Test]
    public void A_rest_offset_does_not_survive_an_unrelated_command()
    {
        var world = World.Create("/a.txt");
        var session = Run(world, Run(world, LoggedIn(world), "REST 10").Next, "PWD").Next;
        session.RestartOffset.ShouldBe(0);
        Run(world, Run(world, LoggedIn(world), "REST 10").Next, "EPSV").Next.RestartOffset.ShouldBe(10);
    }

    [Test]
    public void Invalid_user_names_in_admin_commands_are_501_with_usage()
    {
        var world = World.Create();
        var admin = LoggedIn(world, "root", "toor");
        var reply = Run(world, admin, "BAN ../etc").Replies[0];
        reply.Code.ShouldBe(501);
        reply.Lines[0].ShouldContain("Usage: BAN <user>");
        world.Performed.OfType<Effect.Administer>().ShouldBeEmpty();
    }

    [Test]
    public void Passwords_are_masked_however_the_command_is_spaced()
    {
        Request.Parse("SITE  ADDUSER  carol  Secr3t")!.ToString().ShouldNotContain("Secr3t");
        Request.Parse("site adduser carol Secr3t")!.ToString().ShouldNotContain("Secr3t");
        Request.Parse("ADDUSER   carol   Secr3t")!.ToString().ShouldNotContain("Secr3t");
    }

    [Test]
    public void Retr_of_a_missing_file_is_a_clear_550_and_rest_past_the_end_is_554()
    {
        var world = World.Create("/a.txt");
        var session = Run(world, LoggedIn(world), "PASV").Next;
        var missing = Run(world, session, "RETR missing.txt").Replies[0];
        missing.Code.ShouldBe(550);
        missing.Lines[0].ShouldContain("missing.txt");
        Run(world, Run(world, session, "REST 100").Next, "RETR a.txt").Replies[0].Code.ShouldBe(554);
    }

    [Test]
    public void Transfers_need_a_data_plan_first() =>
        Run(World.Create("/a.txt"), LoggedIn(World.Create("/a.txt")), "RETR a.txt").Replies[0].Code.ShouldBe(425);

    [Test]
    public void Read_only_users_cannot_write()
    {
        var world = World.Create();
        var session = LoggedIn(world, "reader", "r");
        foreach (var line in new[] { "STOR x", "DELE x", "MKD x", "RMD x", "RNFR x", "APPE x" })
            Run(world, session, line).Replies[0].ShouldBe(Reply.ReadOnlyUser);
    }

    [Test]
    public void Admin_verbs_are_refused_for_users_and_checked_for_arity()
    {
        var world = World.Create();
        var user = LoggedIn(world);
        Run(world, user, "ADDUSER bob pw").Replies[0].Code.ShouldBe(550);
        Run(world, user, "SITE BAN bob").Replies[0].Code.ShouldBe(550);
        world.Performed.OfType<Effect.Administer>().ShouldBeEmpty();

        var admin = LoggedIn(world, "root", "toor");
        Run(world, admin, "ADDUSER bob").Replies[0].Code.ShouldBe(501);
        Run(world, admin, "BAN a b").Replies[0].Code.ShouldBe(501);
        Run(world, admin, "ADDUSER bob pw").Replies[0].Code.ShouldBe(200);
        Run(world, admin, "SITE UNBAN bob").Replies[0].Code.ShouldBe(200);
        world.Performed.OfType<Effect.Administer>().Select(a => a.Action).ShouldBe([AdminAction.AddUser, AdminAction.Unban]);
    }

    [Test]
    public void Bans_lists_each_banned_address_with_its_end_time_left_and_offences_for_admins_only()
    {
        var world = World.Create() with
        {
            Bans =
            [
                new(IPAddress.Parse("198.51.100.7"), Now.AddSeconds(599.2), 1),
                new(IPAddress.Parse("2001:db8::7"), Now.AddHours(26.5), 3),
            ],
        };
        var user = LoggedIn(world);
        Run(world, user, "SITE BANS").Replies.ShouldBe([Reply.AdminOnly]);
        Run(world, user, "BANS").Replies.ShouldBe([Reply.AdminOnly]);
        world.Performed.OfType<Effect.ListBans>().ShouldBeEmpty();

        var admin = LoggedIn(world, "root", "toor");
        var expected = new Reply(211,
        [
            "2 banned address(es):",
            " 198.51.100.7    until 2026-11-21 12:09:59Z (10m 0s left), offence 1: too many failed logins",
            " 2001:db8::7     until 2026-11-22 14:30:00Z (1d 2h 30m left), offence 3: too many failed logins",
            "End of bans.",
        ]);
        Run(world, admin, "SITE BANS").Replies.ShouldBe([expected]);
        Run(world, admin, "BANS").Replies.ShouldBe([expected]);
        Run(world, admin, "SITE BANS all").Replies[0].Code.ShouldBe(501);
        Run(World.Create(), admin, "SITE BANS").Replies.ShouldBe([new Reply(211, "No address is banned.")]);
    }

    [Test]
    public void Unban_address_checks_the_address_at_the_edge_and_lifts_the_normalised_address()
    {
        var world = World.Create() with { Bans = [new(IPAddress.Parse("198.51.100.7"), Now.AddMinutes(10), 1)] };
        Run(world, LoggedIn(world), "SITE UNBAN-ADDRESS 198.51.100.7").Replies.ShouldBe([Reply.AdminOnly]);

        var admin = LoggedIn(world, "root", "toor");
        Run(world, admin, "SITE UNBAN-ADDRESS").Replies.ShouldBe([Reply.Syntax("SITE UNBAN-ADDRESS <address>")]);
        Run(world, admin, "SITE UNBAN-ADDRESS 198.51.100.7 198.51.100.8").Replies.ShouldBe([Reply.Syntax("SITE UNBAN-ADDRESS <address>")]);
        foreach (var bad in new[] { "198.51.100", "127.1", "10", "banned.example", "300.1.1.1" })
        {
            Run(world, admin, $"SITE UNBAN-ADDRESS {bad}").Replies.ShouldBe([new Reply(501,
                $"\"{bad}\" is not an IP address (e.g. 192.0.2.7 or 2001:db8::7). Usage: SITE UNBAN-ADDRESS <address>")]);
        }
        world.Performed.OfType<Effect.LiftBan>().ShouldBeEmpty("nothing reaches the guard before the address is valid");

        Run(world, admin, "SITE UNBAN-ADDRESS ::ffff:198.51.100.7").Replies.ShouldBe([new Reply(200, "Ban of 198.51.100.7 lifted.")]);
        Run(world, admin, "UNBAN-ADDRESS 203.0.113.9").Replies.ShouldBe([new Reply(550, "203.0.113.9 is not banned.")]);
        world.Performed.OfType<Effect.LiftBan>().Select(l => l.Address)
            .ShouldBe([IPAddress.Parse("198.51.100.7"), IPAddress.Parse("203.0.113.9")]);
    }

    [Test]
    public void Address_ban_commands_are_listed_for_admins_only()
    {
        var world = World.Create();
        var admin = LoggedIn(world, "root", "toor");
        string.Join('\n', Run(world, admin, "SITE HELP").Replies[0].Lines).ShouldContain("SITE UNBAN-ADDRESS <address>");
        string.Join('\n', Run(world, admin, "HELP").Replies[0].Lines).ShouldContain("BANS");
        string.Join('\n', Run(world, LoggedIn(world), "SITE HELP").Replies[0].Lines).ShouldNotContain("BANS");
    }

    [Test]
    public void Help_lists_admin_verbs_only_for_admins()
    {
        var world = World.Create();
        string.Join('\n', Run(world, LoggedIn(world), "HELP").Replies[0].Lines).ShouldNotContain("ADDUSER");
        string.Join('\n', Run(world, LoggedIn(world, "root", "toor"), "HELP").Replies[0].Lines).ShouldContain("ADDUSER");
    }

    [Test]
    public void Port_to_another_host_is_refused_to_prevent_bounce_attacks()
    {
        var world = World.Create();
        var session = LoggedIn(world);
        Run(world, session, "PORT 10,0,0,1,4,1").Replies[0].Code.ShouldBe(500);
        Run(world, session, "EPRT |1|10.0.0.1|1025|").Replies[0].Code.ShouldBe(500);
        var ok = Run(world, session, "PORT 192,0,2,10,4,1");
        ok.Replies[0].Code.ShouldBe(200);
        ok.Next.Data.ShouldBe(new DataPlan.Active(new IPEndPoint(Client.Address, 1025)));
        Run(world, session, "PORT 1,2,3").Replies[0].Code.ShouldBe(501);
    }

    [Test]
    public void Epsv_all_locks_out_other_data_commands()
    {
        var world = World.Create();
        var session = Run(world, LoggedIn(world), "EPSV ALL").Next;
        Run(world, session, "PASV").Replies[0].Code.ShouldBe(503);
        Run(world, session, "PORT 192,0,2,10,4,1").Replies[0].Code.ShouldBe(503);
        Run(world, session, "EPSV").Replies[0].Lines[0].ShouldBe("Entering Extended Passive Mode (|||50000|).");
    }

    [Test]
    public void Pasv_reply_advertises_the_address_and_port()
    {
        var world = World.Create();
        Run(world, LoggedIn(world), "PASV").Replies[0].Lines[0].ShouldBe("Entering Passive Mode (192,0,2,1,195,80).");
    }

    [Test]
    public void Feat_lists_the_feature_lines_of_table_entries_once_each_in_order()
    {
        var world = World.Create();
        var session = new Session("t", Client, Local);
        var noop = Protocol.BuiltIns.Find("NOOP")!;
        var table = Protocol.BuiltIns.With(noop with { Verb = "XCRC", Feature = "XCRC" }, "XCRC32")
            .With(noop with { Verb = "HASH", Feature = "HASH SHA-256*" })
            .With(noop with { Verb = "XADMIN", Feature = "XADMIN", Access = Access.Admin });

        var feat = Run(world, session, "FEAT", Ctx with { Commands = table }).Replies[0];

        feat.Lines.Count(l => l == " XCRC").ShouldBe(1);
        feat.Lines.ShouldNotContain(" XADMIN", "like HELP, FEAT does not show admin commands to others");
        feat.Lines.ShouldContain(" HASH SHA-256*");
        feat.Lines.Skip(1).SkipLast(1).ShouldBeInOrder(SortDirection.Ascending, StringComparer.Ordinal);
        Run(world, session, "FEAT").Replies[0].Lines.ShouldNotContain(" HASH SHA-256*");
    }

    [Test]
    public void Feat_and_opts_utf8_as_windows_explorer_expects()
    {
        var world = World.Create();
        var session = new Session("t", Client, Local);
        var feat = Run(world, session, "FEAT").Replies[0];
        feat.Code.ShouldBe(211);
        feat.Lines.ShouldContain(" UTF8");
        feat.Lines.ShouldContain(" EPSV");
        feat.Lines.ShouldContain(" REST STREAM");
        feat.Lines.ShouldContain(" MLST type*;size*;modify*;perm*;UNIX.mode*;");
        feat.Lines.ShouldContain(" MFMT");
        Run(world, session, "OPTS UTF8 ON").Replies[0].Code.ShouldBe(200);
        var facts = Run(world, session, "OPTS MLST type;size;");
        facts.Replies[0].Lines[0].ShouldBe("MLST OPTS type;size;");
        facts.Next.Facts.ShouldBe(["type", "size"]);
    }

    [Test]
    public void Clnt_keeps_a_cleaned_client_name_before_or_after_login()
    {
        var world = World.Create();
        var before = Run(world, new Session("1", Client, Local), "CLNT FileZilla 3.66.4");
        before.Replies[0].ShouldBe(new Reply(200, "Noted: FileZilla 3.66.4."));
        before.Next.Client.ShouldBe("FileZilla 3.66.4");
        Run(world, LoggedIn(world), "CLNT lftp/4.9.2").Next.Client.ShouldBe("lftp/4.9.2");
        Protocol.ClientName("evil\u001b[31m\u202Ename\u0000 ").ShouldBe("evil[31mname");
        Protocol.ClientName(new string('x', 500)).ShouldBe(new string('x', Protocol.MaxClientName));
        Protocol.ClientName("\u0007\u200F ").ShouldBeNull();
        var refused = Run(world, new Session("1", Client, Local), "CLNT \u0007");
        refused.Replies[0].Code.ShouldBe(501);
        refused.Next.Client.ShouldBeNull();
    }

    [Test]
    public void A_folder_listing_is_left_to_the_shell_with_the_lines_the_core_makes()
    {
        var world = World.Create("/d/", "/d/a.txt", "/d/b.log", "/d/e/");
        var session = Run(world, LoggedIn(world), "EPSV").Next;
        Run(world, session, "NLST d/*.txt").Replies[0].Code.ShouldBe(226);
        var nlst = world.Performed.OfType<Effect.SendListing>().Last();
        nlst.Path.ShouldBe("/d");
        nlst.Format.ShouldBe(new ListingFormat(ListingKind.Names, Now, false, session.Facts, "*.txt", "d/"));
        world.Listed(nlst).ShouldBe("d/a.txt\r\n");
        Listing.Line(nlst.Format, new FileEntry("b.log", false, 1, Now)).ShouldBeNull();
        Run(world, session, "LIST d").Replies[0].Code.ShouldBe(226);
        var list = world.Performed.OfType<Effect.SendListing>().Last().Format;
        (list.Kind, list.Pattern, list.Prefix).ShouldBe((ListingKind.Long, null, ""));
        Listing.Line(list, new FileEntry("e", true, 0, Now.AddHours(-1))).ShouldBe("drwxr-xr-x 1 ftp ftp             0 Nov 21 11:00 e");
        // A file lists as itself, made whole by the core.
        Run(world, session, "NLST d/a.txt").Replies[0].Code.ShouldBe(226);
        world.Performed.OfType<Effect.SendText>().Last().Text.ShouldBe("d/a.txt\r\n");
    }

    [Test]
    public void Time_setting_commands_parse_to_one_utc_time_and_chmod_masks_or_is_502_without_unix_modes()
    {
        var world = World.Create("/a b.txt");
        var session = LoggedIn(world);
        var want = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);
        Run(world, session, "MFMT 20210304050607 a b.txt").Replies[0].ShouldBe(new Reply(213, "Modify=20210304050607; a b.txt"));
        world.Performed.Last().ShouldBe(new Effect.SetModified("/a b.txt", want));
        Run(world, session, "SITE UTIME a b.txt 20000101000000 20210304050608 20000101000000 UTC").Replies[0].Code.ShouldBe(200);
        world.Performed.Last().ShouldBe(new Effect.SetModified("/a b.txt", want.AddSeconds(1)), "the mtime, the second of three times");
        Run(world, session, "SITE UTIME 202103040506 a b.txt").Replies[0].Code.ShouldBe(200);
        world.Performed.Last().ShouldBe(new Effect.SetModified("/a b.txt", want.AddSeconds(-7)));
        Run(world, session, "MDTM 20210304050607 a b.txt").Replies[0].Code.ShouldBe(213);
        world.Performed.Last().ShouldBe(new Effect.SetModified("/a b.txt", want));
        Listing.ParseTime("+0210304050607").ShouldBeNull();
        Listing.ParseTime("20210304050607.5").ShouldBe(want.AddMilliseconds(500));

        Run(world, session, "SITE CHMOD 4777 a b.txt").Replies[0].Code.ShouldBe(200);
        world.Performed.Last().ShouldBe(new Effect.SetMode("/a b.txt", Convert.ToInt32("775", 8)));
        var windows = Ctx with { Options = ServerOptions.Default with { UnixModes = false } };
        var before = world.Performed.Count;
        Run(world, session, "SITE CHMOD 644 a b.txt", windows).Replies[0].Code.ShouldBe(502);
        world.Performed.Skip(before).OfType<Effect.SetMode>().ShouldBeEmpty();
    }

    [Test]
    public void List_formats_like_ls_and_mlsd_gives_facts()
    {
        var world = World.Create("/a.txt", "/d/");
        var session = Run(world, LoggedIn(world), "EPSV").Next;
        Run(world, session, "LIST -la").Replies[0].Code.ShouldBe(226);
        var listing = world.Listed(world.Performed.OfType<Effect.SendListing>().Last());
        listing.ShouldContain("-rw-r--r-- 1 ftp ftp            42 Oct 17  2025 a.txt\r\n");
        listing.ShouldContain("drwxr-xr-x 1 ftp ftp             0 Oct 17  2025 d\r\n");
        Run(world, session, "MLSD").Replies[0].Code.ShouldBe(226);
        world.Listed(world.Performed.OfType<Effect.SendListing>().Last())
            .ShouldContain("type=file;size=42;modify=20251017120000;perm=adfrw; a.txt\r\n");
        var mlst = Run(world, session, "MLST a.txt").Replies[0];
        mlst.Code.ShouldBe(250);
        mlst.Lines[1].ShouldBe(" type=file;size=42;modify=20251017120000;perm=adfrw; /a.txt");
    }

    [Test]
    public void Size_and_mdtm_of_a_file_and_550_for_a_folder()
    {
        var world = World.Create("/a.txt", "/d/");
        var session = LoggedIn(world);
        Run(world, session, "SIZE a.txt").Replies[0].ShouldBe(new Reply(213, "42"));
        Run(world, session, "MDTM a.txt").Replies[0].ShouldBe(new Reply(213, "20251017120000"));
        Run(world, session, "SIZE d").Replies[0].Code.ShouldBe(550);
    }

    [Test]
    public void Type_mode_stru_accept_what_is_supported()
    {
        var world = World.Create();
        var session = LoggedIn(world);
        var ascii = Run(world, session, "TYPE A");
        ascii.Next.Type.ShouldBe(TransferType.Ascii);
        Run(world, session, "TYPE X").Replies[0].Code.ShouldBe(504);
        Run(world, session, "MODE S").Replies[0].Code.ShouldBe(200);
        Run(world, session, "MODE B").Replies[0].Code.ShouldBe(504);
        Run(world, session, "STRU F").Replies[0].Code.ShouldBe(200);
    }

    [Test]
    public void Quit_closes_with_221()
    {
        var (_, replies, close) = Run(World.Create(), new Session("t", Client, Local), "QUIT");
        replies[0].Code.ShouldBe(221);
        close.ShouldBeTrue();
    }

    [Test]
    public void Table_with_keeps_the_replaced_entry_and_never_mutates_the_original()
    {
        var custom = new Command("NOOP", Access.Anyone, "NOOP", "custom", (_, s, _) => Out.Reply(s, 200, "custom"));
        var extended = Protocol.BuiltIns.With(custom);
        extended.Find("noop")!.Replaced.ShouldBe(Protocol.BuiltIns.Find("NOOP"));
        Protocol.BuiltIns.Find("NOOP")!.Help.ShouldBe("Do nothing.");
        Run(World.Create(), new Session("t", Client, Local), "NOOP", Ctx with { Commands = extended }).Replies[0].Lines[0].ShouldBe("custom");
    }

    [Test]
    public void Site_dispatches_to_site_entries_and_site_help_lists_them()
    {
        var world = World.Create();
        var admin = LoggedIn(world, "root", "toor");
        var help = Run(world, admin, "SITE HELP").Replies[0];
        help.Code.ShouldBe(214);
        string.Join('\n', help.Lines).ShouldContain("ADDUSER");
        Run(world, admin, "SITE FROB").Replies[0].Code.ShouldBe(500);
    }

    [Test]
    public void Stat_without_argument_reports_session_and_server_status()
    {
        var world = World.Create();
        var reply = Run(world, LoggedIn(world), "STAT").Replies[0];
        reply.Code.ShouldBe(211);
        string.Join('\n', reply.Lines).ShouldContain("Logged in as alice");
        string.Join('\n', reply.Lines).ShouldContain("1 session(s) connected");
    }

    [Test]
    public void Stat_names_an_IPv4_client_of_a_dual_stack_socket_by_its_IPv4_address()
    {
        var world = World.Create();
        var mapped = new Session("t", new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.10"), 40000), Local);
        Run(world, mapped, "STAT").Replies[0].Lines.ShouldContain(" Connected from 192.0.2.10");
    }
}
