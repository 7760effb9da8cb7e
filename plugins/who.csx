// who.csx: WHO, for administrators, lists the connected sessions as a multi-line 211 reply:
//
//   211-3 session(s) connected:
//    ID    USER             ADDRESS                   CONNECTED  CLIENT                DIRECTORY
//    1     admin            127.0.0.1                  00:05:12  lftp/4.9.2            /
//
// CLIENT is the name the client program gave with CLNT ("-" when it gave none).
//   211 End
//
// Access.Admin makes the server refuse other users with 550 before the handler runs;
// ctx.Sessions() would refuse them too.

string Age(TimeSpan age) => $"{(int)age.TotalHours:00}:{age.Minutes:00}:{age.Seconds:00}";

AddCommand("WHO", Access.Admin, "WHO", "List connected sessions (administrators).", ctx =>
{
    var now = DateTimeOffset.UtcNow;
    var sessions = ctx.Sessions();
    var rows = sessions.Select(s =>
        $" {s.Id,-5} {s.User ?? "-",-16} {s.RemoteAddress,-25} {Age(now - s.ConnectedAt),9}  {s.Client ?? "-",-20}  {s.Directory}");
    var header = $" {"ID",-5} {"USER",-16} {"ADDRESS",-25} {"CONNECTED",9}  {"CLIENT",-20}  DIRECTORY";
    return ctx.Reply(211, [$"{sessions.Length} session(s) connected:", header, .. rows, "End"]);
});
