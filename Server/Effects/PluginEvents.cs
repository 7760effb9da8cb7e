namespace ScriptFtp;

/// <summary>
/// The interpreter of the plugin effects: runs a plugin's command handler, and tells the plugins what happened.
/// The handlers' time limit and error handling live with the plugins (<see cref="ScriptFtp.Plugins.PluginHost"/>).
/// </summary>
internal static class PluginEvents
{
    private static readonly EffectResult Done = new EffectResult.Done();

    public static async Task<EffectResult> PerformAsync(Effect.PluginEffect effect, IServerHooks hooks, SessionView session,
        UserFiles? files, CancellationToken cancel)
    {
        switch (effect)
        {
            case Effect.RunPlugin run:
                return await run.Handler(session, run.Request, files, run.Choices, cancel);
            case Effect.Notify notify:
                Tell(hooks, session, notify.Event);
                return Done;
            default:
                throw new ArgumentException($"not a plugin effect: {effect.GetType().Name}", nameof(effect));
        }
    }

    /// <summary>Passes an event on; the hooks run it in the background, in order for each session.</summary>
    public static void Tell(IServerHooks hooks, SessionView session, PluginEvent happened)
    {
        switch (happened)
        {
            case PluginEvent.LoggedIn: hooks.LoggedIn(session); break;
            case PluginEvent.LoginFailed failed: hooks.LoginFailed(session, failed.User); break;
            case PluginEvent.FileSent sent: hooks.FileSent(session, sent.Path, sent.Bytes); break;
            case PluginEvent.FileReceived received: hooks.FileReceived(session, received.Path, received.Bytes); break;
            case PluginEvent.FileDeleted deleted: hooks.FileDeleted(session, deleted.Path, deleted.Bytes); break;
            default: throw new ArgumentException($"unknown event {happened.GetType().Name}", nameof(happened));
        }
    }
}
