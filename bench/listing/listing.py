#!/usr/bin/env python3
"""The server's memory while it lists one big folder (issue 13: a listing streams, with memory flat).

Usage:
  bench/listing/listing.py                      build this checkout (Release) and measure it
  bench/listing/listing.py --revision 667ca4a   also build that git revision (git archive, no worktree) and measure it first
  bench/listing/listing.py --entries 20000      another folder size (default 100,000)

For each build: start the server on a free 127.0.0.1 port with its own temp folder, make a folder of N empty files,
log in, and list it with LIST, NLST and MLSD (three times each), while the server's resident memory (VmRSS in
/proc/PID/status) is sampled every 10 ms. Prints, per listing: bytes, lines, seconds to the first byte and in all,
and the highest VmRSS seen above the one right before that listing; then the process's VmHWM (its peak RSS).
Loopback only; installs nothing; the temp folder is removed at the end.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
USER, PASSWORD = "bench", "Bench-pass-1"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build(source, output, label):
    print(f"building {label} ...", file=sys.stderr, flush=True)
    subprocess.run(["dotnet", "build", "-c", "Release", os.path.join(source, "Server", "Server.csproj"), "-o", output,
                    "-nologo", "-v", "quiet"], check=True, capture_output=True, text=True)
    return output


def build_revision(revision, work):
    source = os.path.join(work, f"src-{revision}")
    os.makedirs(source)
    archive = subprocess.run(["git", "-C", REPO, "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", source], input=archive, check=True)
    return build(source, os.path.join(work, f"build-{revision}"), revision)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """Keeps the highest VmRSS of a process while it runs."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.01)

    def stop(self):
        self.running = False
        self.join()
        return self.peak


class Control:
    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=120)
        self.file = self.sock.makefile("rb")

    def reply(self):
        line = first = self.file.readline().decode()
        while first[3:4] == "-" and not (line[:3] == first[:3] and line[3:4] == " "):
            line = self.file.readline().decode()
        return line.strip()

    def command(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()


def listing(control, verb):
    """One listing over PASV: (bytes, lines, seconds to the first byte, seconds in all)."""
    pasv = control.command("PASV")
    numbers = pasv[pasv.index("(") + 1:pasv.index(")")].split(",")
    data = socket.create_connection((HOST, int(numbers[4]) * 256 + int(numbers[5])), timeout=120)
    started = time.perf_counter()
    opening = control.command(f"{verb} big")
    if not opening.startswith("150"):
        raise RuntimeError(f"{verb}: {opening}")
    total, lines, first = 0, 0, None
    while chunk := data.recv(1 << 16):
        first = first or time.perf_counter() - started
        total += len(chunk)
        lines += chunk.count(b"\n")
    data.close()
    done = control.reply()
    if not done.startswith("226"):
        raise RuntimeError(f"{verb}: {done}")
    return total, lines, first or 0.0, time.perf_counter() - started


def measure(label, output, entries, work):
    folder = os.path.join(work, f"server-{label}")
    home = os.path.join(folder, "root", USER)
    big = os.path.join(home, "big")
    os.makedirs(big)
    for i in range(entries):
        open(os.path.join(big, f"file-{i:07d}.dat"), "wb").close()
    port = free_port()
    with open(os.path.join(folder, "users.toml"), "w") as f:
        f.write(f'[users.{USER}]\npassword = "{PASSWORD}"\nhome = "{USER}"\n')
    with open(os.path.join(folder, "ftp.toml"), "w") as f:
        f.write(f'[server]\nlisten = "{HOST}"\nport = {port}\nroot = "root"\nusers_file = "users.toml"\n'
                f'[log]\nfile = ""\nlevel = "Warning"\n[plugins]\nfolder = ""\n')
    server = subprocess.Popen([os.path.join(output, "ScriptFtp.Server"), "--config", "ftp.toml"], cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        control = Control(port)
        control.reply()
        control.command(f"USER {USER}")
        if not control.command(f"PASS {PASSWORD}").startswith("230"):
            raise RuntimeError("login failed")
        print(f"\n{label}: {entries:,} entries; VmRSS after login {rss_kib(server.pid) // 1024} MiB")
        print(f"  {'listing':8} {'bytes':>12} {'lines':>8} {'first byte':>11} {'all':>8} {'VmRSS growth':>13}")
        for verb in ["LIST", "NLST", "MLSD"] * 3:
            before = rss_kib(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            size, lines, first, took = listing(control, verb)
            growth = max(0, sampler.stop() - before)
            print(f"  {verb:8} {size:12,} {lines:8,} {first:10.3f}s {took:7.3f}s {growth / 1024:10.1f} MiB")
        print(f"  peak VmRSS of the process (VmHWM): {rss_kib(server.pid, 'VmHWM') // 1024} MiB")
        control.command("QUIT")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--revision", help="also measure this git revision, built from git archive")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="scriptftp-listing-")
    try:
        builds = []
        if args.revision:
            builds.append((args.revision, build_revision(args.revision, work)))
        builds.append(("this checkout", build(REPO, os.path.join(work, "build-current"), "this checkout")))
        for label, output in builds:
            measure(label.replace(" ", "-"), output, args.entries, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
