using System.Collections.Immutable;
using System.Net;

namespace ScriptFtp.Tests.Core;

/// <summary>
/// The rules the core decides without a socket: what may run while a transfer is in progress, how a transfer and an upload
/// end, the replies that go with them, and when a session is closed.
/// </summary>
public class SessionRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly IPEndPoint Client = new(IPAddress.Parse("192.0.2.10"), 40000);
    private static readonly IPEndPoint Local = new(IPAddress.Parse("192.0.2.1"), 21);
    private static readonly Context Ctx = new(Protocol.BuiltIns, ServerOptions.Default, Now);
    private static readonly UserView Alice = new("alice", false, false);

    private static Session LoggedIn() => new Session("t", Client, Local) with
    {
        Login = new Login.LoggedIn(Alice),
        Data = new DataPlan.Active(new IPEndPoint(Client.Address, 2000)),
    };

    private static Outcome Dispatch(Session session, string line, Context? context = null) =>
        Protocol.Dispatch(context ?? Ctx, session, Request.Parse(line)!);

    /// <summary>Answers a chain's effects with <paramref name="answer"/> until the core replies; returns the effects asked for.</summary>
    private static (Outcome.Respond Respond, List<Effect> Effects) Settle(Outcome outcome, Func<Effect, EffectResult> answer)
    {
        var effects = new List<Effect>();
        while (outcome is Outcome.Perform perform)
        {
            effects.Add(perform.Effect);
            outcome = perform.Then(answer(perform.Effect));
        }
        return (outcome.ShouldBeOfType<Outcome.Respond>(), effects);
    }

    private static EffectResult Answer(Effect effect) => effect switch
    {
        Effect.Stat s when s.Path == "/a.txt" => new EffectResult.Stat(new FileEntry("a.txt", false, 42, Now)),
        Effect.Stat => new EffectResult.Stat(null),
        Effect.Notify => new EffectResult.Done(),
        Effect.WatchControl => new EffectResult.Control(Closed: false),
        Effect.CommitUpload => new EffectResult.Transferred(10, TimeSpan.FromMilliseconds(5)) { StoredAs = "/up.bin" },
        Effect.DiscardUpload => new EffectResult.Done(),
        _ => throw new InvalidOperationException($"unexpected {effect}"),
    };

    /// <summary>Runs a transfer command up to the point where the shell would start the transfer.</summary>
    private static Outcome.StartTransfer Start(Session session, string line)
    {
        var outcome = Dispatch(session, line);
        while (outcome is Outcome.Perform perform) outcome = perform.Then(Answer(perform.Effect));
        return outcome.ShouldBeOfType<Outcome.StartTransfer>();
    }

    [Test]
    public void A_transfer_takes_the_data_plan_with_it_and_leaves_the_session_without_one()
    {
        var session = LoggedIn();
        var start = Start(session, "RETR a.txt");
        start.Transfer.ShouldBe(new Effect.SendFile("/a.txt", 0, TransferType.Binary) { Plan = session.Data });
        start.Next.Transfer.ShouldBe(start.Transfer);
        start.Next.Data.ShouldBe(DataPlan.None);
    }

    [TestCase("NOOP")]
    [TestCase("STAT a.txt")]
    [TestCase("RETR a.txt")]
    [TestCase("FROB")]
    public void Other_commands_wait_for_the_transfer_in_progress(string line)
    {
        var running = Start(LoggedIn(), "RETR a.txt").Next;
        var waiting = Dispatch(running, line).ShouldBeOfType<Outcome.Wait>();
        waiting.Request.ShouldBe(Request.Parse(line));
        waiting.Next.ShouldBe(running);
    }

    [Test]
    public void Abor_stat_and_quit_run_during_a_transfer_by_their_table_entries()
    {
        Protocol.BuiltIns.Entries.Values.Where(c => c.DuringTransfer).Select(c => c.Verb).Order().ShouldBe(["ABOR", "QUIT", "STAT"]);
    }

    [Test]
    public void Stat_during_a_transfer_reports_its_progress_and_leaves_it_running()
    {
        var running = Start(LoggedIn(), "RETR a.txt").Next;
        var (respond, effects) = Settle(Dispatch(running, "STAT"), _ => new EffectResult.Progress(1234));
        effects.ShouldBe([new Effect.TransferProgress()]);
        respond.Replies.ShouldBe([new Reply(213, "Transfer in progress: 1234 bytes so far.")]);
        respond.Next.Transfer.ShouldNotBeNull();
    }

    [Test]
    public void Abor_during_a_transfer_answers_the_transfer_426_then_226()
    {
        var running = Start(LoggedIn(), "RETR a.txt").Next;
        var (respond, effects) = Settle(Dispatch(running, "ABOR"),
            e => e is Effect.AbortTransfer ? new EffectResult.Transferred(500, TimeSpan.Zero, TransferFault.Interrupted) : Answer(e));
        effects.ShouldBe([new Effect.AbortTransfer()]);
        respond.Replies.ShouldBe([Reply.TransferAborted, Reply.AbortDone]);
        respond.Next.Transfer.ShouldBeNull();
    }

    [Test]
    public void Quit_during_an_upload_waits_for_it_and_the_upload_is_stored_without_watching_the_connection()
    {
        var running = Start(LoggedIn(), "STOR up.bin").Next;
        var quit = Dispatch(running, "QUIT").ShouldBeOfType<Outcome.Wait>();
        quit.Next.QuitSent.ShouldBeTrue();
        Protocol.FinishAfterHangUp(quit.Next).ShouldBeTrue();

        var ended = Protocol.TransferEnded(Ctx, quit.Next, new EffectResult.Transferred(10, TimeSpan.FromSeconds(1)));
        var (respond, effects) = Settle(ended, Answer);
        effects.ShouldBe([new Effect.CommitUpload(), new Effect.Notify(new PluginEvent.FileReceived("/up.bin", 10))]);
        respond.Replies.ShouldBe([Reply.TransferComplete]);

        var goodbye = Protocol.Dispatch(Ctx, respond.Next, quit.Request).ShouldBeOfType<Outcome.Respond>();
        goodbye.Replies.Single().Code.ShouldBe(221);
        goodbye.Close.ShouldBeTrue();
    }

    [Test]
    public void Without_quit_a_hang_up_cuts_the_transfer()
    {
        Protocol.FinishAfterHangUp(Start(LoggedIn(), "RETR a.txt").Next).ShouldBeFalse();
        Protocol.FinishAfterHangUp(LoggedIn() with { QuitSent = true }).ShouldBeFalse();
    }

    [Test]
    public void A_finished_upload_whose_control_connection_closed_is_discarded_and_not_announced()
    {
        var running = Start(LoggedIn(), "STOR up.bin").Next;
        var ended = Protocol.TransferEnded(Ctx, running, new EffectResult.Transferred(10, TimeSpan.FromMilliseconds(20)));
        var (respond, effects) = Settle(ended, e => e is Effect.WatchControl ? new EffectResult.Control(Closed: true) : Answer(e));
        effects.Count.ShouldBe(2);
        effects[0].ShouldBe(new Effect.WatchControl(TimeSpan.FromMilliseconds(20)));
        effects[1].ShouldBeOfType<Effect.DiscardUpload>();
        respond.Replies.ShouldBe([Reply.TransferAborted]);
        respond.Next.Transfer.ShouldBeNull();
    }

    [Test]
    public void The_settle_wait_is_as_long_as_the_upload_took_at_most_50_ms_and_an_append_is_only_checked()
    {
        TimeSpan WaitAfter(string line, TimeSpan took)
        {
            var running = Start(LoggedIn(), line).Next;
            var ended = Protocol.TransferEnded(Ctx, running, new EffectResult.Transferred(10, took));
            return ended.ShouldBeOfType<Outcome.Perform>().Effect.ShouldBeOfType<Effect.WatchControl>().Within;
        }

        WaitAfter("STOR up.bin", TimeSpan.FromSeconds(5)).ShouldBe(TimeSpan.FromMilliseconds(50));
        if (!OperatingSystem.IsWindows()) WaitAfter("STOR up.bin", TimeSpan.FromMilliseconds(3)).ShouldBe(TimeSpan.FromMilliseconds(3));
        WaitAfter("APPE a.txt", TimeSpan.FromSeconds(5)).ShouldBe(TimeSpan.Zero);
    }

    [Test]
    public void A_stored_upload_is_announced_then_answered_and_stou_names_the_file()
    {
        var running = Start(LoggedIn(), "STOU up.bin").Next;
        var ended = Protocol.TransferEnded(Ctx, running, new EffectResult.Transferred(10, TimeSpan.FromSeconds(1)));
        var (respond, effects) = Settle(ended, Answer);
        effects.OfType<Effect.Notify>().Single().Event.ShouldBe(new PluginEvent.FileReceived("/up.bin", 10));
        respond.Replies.ShouldBe([new Reply(226, "Transfer complete; stored as up.bin.")]);
    }

    [Test]
    public void A_completed_download_is_announced_but_a_listing_is_not()
    {
        var download = Start(LoggedIn(), "RETR a.txt").Next;
        var (sent, effects) = Settle(Protocol.TransferEnded(Ctx, download, new EffectResult.Transferred(42, TimeSpan.Zero)), Answer);
        effects.ShouldBe([new Effect.Notify(new PluginEvent.FileSent("/a.txt", 42))]);
        sent.Replies.ShouldBe([Reply.TransferComplete]);

        var listing = Protocol.TransferEnded(Ctx, LoggedIn() with { Transfer = new Effect.SendText("", "listing of /") },
            new EffectResult.Transferred(0, TimeSpan.Zero));
        listing.ShouldBeOfType<Outcome.Respond>().Replies.ShouldBe([Reply.TransferComplete]);
    }

    [TestCase(TransferFault.Interrupted, 426, "Connection closed; transfer aborted.")]
    [TestCase(TransferFault.WriteError, 451, "Local error: the file could not be written (disk full?).")]
    [TestCase(TransferFault.TooLarge, 552, "up.bin: Exceeded storage allocation (this upload may bring at most 7 bytes).")]
    [TestCase(TransferFault.Crashed, 451, "Local error in processing.")]
    public void A_failed_upload_is_answered_with_what_went_wrong(TransferFault fault, int code, string text)
    {
        var running = Start(LoggedIn(), "STOR up.bin").Next;
        var ended = Protocol.TransferEnded(Ctx, running, new EffectResult.Transferred(9, TimeSpan.Zero, fault) { Limit = 7 });
        var respond = ended.ShouldBeOfType<Outcome.Respond>();
        respond.Replies.ShouldBe([new Reply(code, text)]);
        respond.Next.Transfer.ShouldBeNull();
    }

    [Test]
    public void An_upload_whose_name_was_taken_meanwhile_is_451()
    {
        var running = Start(LoggedIn(), "STOR up.bin").Next;
        var (respond, effects) = Settle(Protocol.TransferEnded(Ctx, running, new EffectResult.Transferred(10, TimeSpan.Zero)),
            e => e is Effect.CommitUpload ? new EffectResult.Transferred(10, TimeSpan.Zero, TransferFault.NameTaken) : Answer(e));
        effects.OfType<Effect.Notify>().ShouldBeEmpty();
        respond.Replies.ShouldBe([new Reply(451, "up.bin: File exists; overwriting is disabled on this server.")]);
    }

    [Test]
    public void Opening_replies_name_the_size_of_a_download_and_the_name_stou_picked()
    {
        Protocol.Opening(new Effect.SendFile("/d/a.txt", 2, TransferType.Binary), 40)
            .ShouldBe(new Reply(150, "Opening BINARY mode data connection for a.txt (40 bytes)."));
        Protocol.Opening(new Effect.ReceiveFile("/up.bin", WriteMode.Create, 0, TransferType.Ascii))
            .ShouldBe(new Reply(150, "Ok to send data (ASCII mode)."));
        Protocol.Opening(new Effect.ReceiveFile("/up.bin", WriteMode.Unique, 0, TransferType.Binary), storedName: "up.bin.1")
            .ShouldBe(new Reply(150, "FILE: up.bin.1"));
        Protocol.Opening(new Effect.SendText("", "listing")).ShouldBe(new Reply(150, "Here comes the directory listing."));
    }

    [Test]
    public void A_plugin_that_replaces_abor_runs_during_a_transfer_and_can_hand_back_to_the_built_in()
    {
        PluginHandler handler = (_, _, _, _, _) => Task.FromResult(new EffectResult.PluginReply(null));
        var table = Protocol.BuiltIns.With(Protocol.PluginCommand("ABOR", Access.Anyone, "ABOR", "abort, logged", "audit.csx", handler));
        table.Find("ABOR")!.DuringTransfer.ShouldBeTrue("an override keeps the verb's place during transfers");
        var context = Ctx with { Commands = table };
        var running = Start(LoggedIn(), "RETR a.txt").Next;

        var answered = Settle(Dispatch(running, "ABOR", context), e => e is Effect.RunPlugin
            ? new EffectResult.PluginReply(new Reply(200, "Not now."))
            : throw new InvalidOperationException($"unexpected {e}"));
        answered.Respond.Replies.ShouldBe([new Reply(200, "Not now.")]);
        answered.Respond.Next.Transfer.ShouldNotBeNull("the plugin's answer leaves the transfer running");

        var builtIn = Settle(Dispatch(running, "ABOR", context), e => e switch
        {
            Effect.RunPlugin run when run.Handler == handler => new EffectResult.PluginReply(null),
            Effect.AbortTransfer => new EffectResult.Transferred(1, TimeSpan.Zero, TransferFault.Interrupted),
            _ => throw new InvalidOperationException($"unexpected {e}"),
        });
        builtIn.Respond.Replies.ShouldBe([Reply.TransferAborted, Reply.AbortDone]);
    }

    [Test]
    public void Thirty_error_replies_in_a_row_close_the_session_and_a_success_starts_the_count_afresh()
    {
        var session = new Session("t", Client, Local);
        for (var i = 1; i < Protocol.MaxConsecutiveErrors; i++)
        {
            var respond = Dispatch(session, "FROB").ShouldBeOfType<Outcome.Respond>();
            respond.Close.ShouldBeFalse();
            session = respond.Next;
        }
        Dispatch(session, "NOOP").ShouldBeOfType<Outcome.Respond>().Next.Errors.ShouldBe(0);

        var last = Dispatch(session, "FROB").ShouldBeOfType<Outcome.Respond>();
        last.Replies.ShouldBe([Reply.Unknown("FROB"), Reply.TooManyErrors]);
        last.Close.ShouldBeTrue();
        Protocol.LineTooLong(session).ShouldBeOfType<Outcome.Respond>().Close.ShouldBeTrue("a line too long counts as an error too");
    }

    [Test]
    public void Refresh_applies_changed_rights_and_ends_the_session_of_a_deleted_or_banned_account()
    {
        var session = LoggedIn();
        Protocol.Refresh(session, Alice).ShouldBe((session, (Reply?)null));
        Protocol.Refresh(session, Alice with { ReadOnly = true }).Next.User!.ReadOnly.ShouldBeTrue();
        Protocol.Refresh(session, null).Ended.ShouldBe(Reply.Closing("Your account has been deleted."));
        Protocol.Refresh(session, Alice with { Banned = true }).Ended.ShouldBe(Reply.Closing("Your account has been banned."));
        var anonymous = new Session("t", Client, Local);
        Protocol.Refresh(anonymous, null).ShouldBe((anonymous, (Reply?)null));
    }

    [Test]
    public void Connections_over_either_limit_are_turned_away_with_421()
    {
        Protocol.Admit(9, 4, maxSessions: 10, maxFromAddress: 5).ShouldBeNull();
        Protocol.Admit(10, 0, maxSessions: 10, maxFromAddress: 5)!.Lines[0].ShouldBe("Too many connections; try again later.");
        Protocol.Admit(3, 5, maxSessions: 10, maxFromAddress: 5)!.Lines[0]
            .ShouldBe("Too many connections from your address; try again later.");
    }

    [Test]
    public void A_passive_port_that_cannot_be_opened_leaves_no_data_plan()
    {
        var session = LoggedIn() with { Data = new DataPlan.Passive(new IPEndPoint(Local.Address, 50000)) };
        var (respond, _) = Settle(Dispatch(session, "EPSV"), _ => new EffectResult.Failed("No passive port is free; try again later."));
        respond.Replies.ShouldBe([new Reply(425, "No passive port is free; try again later.")]);
        respond.Next.Data.ShouldBe(DataPlan.None);
    }

    [TestCase(LoginFailure.Incorrect, 530, "Login incorrect.", true)]
    [TestCase(LoginFailure.Banned, 530, "Login refused: this account is banned.", true)]
    [TestCase(LoginFailure.HomeUnavailable, 530, "Login refused: your home folder is unavailable; ask the administrator.", false)]
    public void A_refused_login_is_answered_and_told_to_plugins_when_a_password_was_tried(LoginFailure why, int code, string text,
        bool told)
    {
        var awaiting = new Session("t", Client, Local) with { Login = new Login.AwaitingPassword("alice") };
        var (respond, effects) = Settle(Dispatch(awaiting, "PASS x"),
            e => e is Effect.Authenticate ? new EffectResult.LoginFailed(why) : Answer(e));
        respond.Replies.ShouldBe([new Reply(code, text)]);
        respond.Close.ShouldBeFalse();
        effects.OfType<Effect.Notify>().Any(n => n.Event == new PluginEvent.LoginFailed("alice")).ShouldBe(told);
    }

    [Test]
    public void A_locked_out_address_gets_421_with_the_time_left_and_is_closed()
    {
        var awaiting = new Session("t", Client, Local) with { Login = new Login.AwaitingPassword("alice") };
        var (respond, effects) = Settle(Dispatch(awaiting, "PASS x"),
            _ => new EffectResult.LoginFailed(LoginFailure.AddressBanned, TimeSpan.FromSeconds(89.2)));
        respond.Replies.ShouldBe([Reply.Closing("Too many failed logins from your address; try again in 90 seconds.")]);
        respond.Close.ShouldBeTrue();
        effects.OfType<Effect.Notify>().ShouldBeEmpty();
        Protocol.AddressBanned(TimeSpan.FromMinutes(14.5)).ShouldBe(Reply.Closing("Too many failed logins from your address; try again in 15 minutes."));
    }

    [Test]
    public void A_user_locked_out_for_the_address_gets_421_and_is_closed()
    {
        var awaiting = new Session("t", Client, Local) with { Login = new Login.AwaitingPassword("alice") };
        var (respond, _) = Settle(Dispatch(awaiting, "PASS x"), _ => new EffectResult.LoginFailed(LoginFailure.LockedOut, TimeSpan.FromSeconds(59.5)));
        respond.Replies.ShouldBe([Reply.Closing("Too many failed logins for this user; try again in 60 seconds.")]);
        respond.Close.ShouldBeTrue();
    }

    [Test]
    public void The_third_failed_password_on_a_connection_closes_it()
    {
        var session = new Session("t", Client, Local);
        for (var i = 1; i <= Protocol.MaxFailedPasswords; i++)
        {
            var awaiting = session with { Login = new Login.AwaitingPassword("alice") };
            var (respond, _) = Settle(Dispatch(awaiting, "PASS x"),
                e => e is Effect.Authenticate ? new EffectResult.LoginFailed(LoginFailure.Incorrect) : Answer(e));
            respond.Next.FailedPasswords.ShouldBe(i);
            respond.Close.ShouldBe(i == Protocol.MaxFailedPasswords);
            respond.Replies[0].ShouldBe(new Reply(530, "Login incorrect."));
            session = respond.Next;
        }
    }

    [Test]
    public void A_login_is_told_to_plugins_as_the_logged_in_session()
    {
        var awaiting = new Session("t", Client, Local) with { Login = new Login.AwaitingPassword("alice") };
        var outcome = Dispatch(awaiting, "PASS secret").ShouldBeOfType<Outcome.Perform>();
        var notify = outcome.Then(new EffectResult.Authenticated(Alice)).ShouldBeOfType<Outcome.Perform>();
        notify.Effect.ShouldBe(new Effect.Notify(new PluginEvent.LoggedIn()));
        notify.Next.User.ShouldBe(Alice);
        notify.Then(new EffectResult.Done()).ShouldBeOfType<Outcome.Respond>().Replies.ShouldBe([new Reply(230, "User alice logged in.")]);
    }

    [Test]
    public void Status_shows_the_server_figures_it_is_given()
    {
        var (respond, _) = Settle(Dispatch(LoggedIn(), "STAT"), _ => new EffectResult.Status(3, new TimeSpan(1, 2, 3, 4)));
        respond.Replies.Single().Lines.ShouldContain(" 3 session(s) connected");
        respond.Replies.Single().Lines.ShouldContain(" Up for 1d 02:03:04");
    }

    private static ImmutableArray<Reply> Replies(Outcome outcome) => outcome.ShouldBeOfType<Outcome.Respond>().Replies;

    [Test]
    public void An_ipv4_client_of_a_dual_stack_socket_may_use_pasv()
    {
        var mapped = new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.1"), 21);
        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 21);
        Replies(Dispatch(LoggedIn() with { Local = v6 }, "PASV"))[0].Code.ShouldBe(522);
        Dispatch(LoggedIn() with { Local = mapped }, "PASV").ShouldBeOfType<Outcome.Perform>().Effect.ShouldBe(new Effect.OpenPassive());
    }
}
