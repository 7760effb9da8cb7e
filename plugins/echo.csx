// echo.csx: the smallest useful plugin. SITE ECHO <text> answers 200 with the text, which is handy for
// checking that a client, a proxy and the plugin system all work.

AddSiteCommand("ECHO", Access.LoggedIn, "ECHO <text>", "Reply with the text sent.", ctx =>
    ctx.Argument.Length == 0
        ? ctx.Reply(501, "Usage: SITE ECHO <text>")
        : ctx.Reply(200, Reply.Sanitize(ctx.Argument)));
