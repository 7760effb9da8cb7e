using System.Net;
using System.Net.Sockets;

namespace ScriptFtp;

/// <summary>
/// A connection's passive listener, which lives exactly as long as the session's data plan names it: the plan is the one
/// truth, this is the socket that goes with it.
/// </summary>
internal sealed class PassivePort(int portMin, int portMax)
{
    private (Socket Socket, IPEndPoint Endpoint)? _open;

    /// <summary>Where the listener is, while one is open.</summary>
    public IPEndPoint? Endpoint => _open?.Endpoint;

    /// <summary>Opens a listener on the control connection's local address, closing the previous one.</summary>
    /// <exception cref="SocketException">No port of the range is free.</exception>
    public IPEndPoint Open(IPAddress local)
    {
        Close();
        var socket = DataChannel.Listen(local, portMin, portMax);
        var endpoint = (IPEndPoint)socket.LocalEndPoint!;
        _open = (socket, endpoint);
        return endpoint;
    }

    /// <summary>Hands the listener the plan names to a transfer, which closes it when done; null when the plan names none.</summary>
    public Socket? Take(DataPlan plan)
    {
        if (_open is not { } open || !Names(plan, open.Endpoint)) return null;
        _open = null;
        return open.Socket;
    }

    /// <summary>Closes the listener unless <paramref name="plan"/> still names it.</summary>
    public void Follow(DataPlan plan)
    {
        if (_open is { } open && !Names(plan, open.Endpoint)) Close();
    }

    public void Close()
    {
        _open?.Socket.Dispose();
        _open = null;
    }

    private static bool Names(DataPlan plan, IPEndPoint endpoint) => plan is DataPlan.Passive passive && passive.Listening.Equals(endpoint);
}
