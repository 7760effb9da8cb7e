#!/usr/bin/env python3
"""Time from process start to "listening" for the Release server, without and with the shipped plugins.

Usage: dotnet build -c Release Server && python3 bench/startup.py [runs]
"""
import os, shutil, signal, statistics, subprocess, sys, tempfile, time

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
exe = os.path.join(repo, "Server", "bin", "Release", "net10.0", "ScriptFtp.Server")
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
if not os.path.exists(exe):
    sys.exit("build first: dotnet build -c Release Server")

work = tempfile.mkdtemp(prefix="scriptftp-startup-")
try:
    shutil.copy(os.path.join(repo, "users.toml"), work)
    for variant, folder in (("without", ""), ("with", os.path.join(repo, "plugins"))):
        config = os.path.join(work, f"{variant}.toml")
        with open(config, "w") as f:
            f.write(f'[server]\nlisten = "127.0.0.1"\nport = 0\nroot = "root"\n[log]\nfile = ""\n'
                    f'[plugins]\nfolder = "{folder}"\nreload = false\n[plugin.quota]\ndefault_mb = 1024\n')
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            p = subprocess.Popen([exe, "--config", config], stdout=subprocess.PIPE, text=True)
            for line in p.stdout:
                if "is listening on port" in line:
                    times.append((time.perf_counter() - start) * 1000)
                    break
            p.send_signal(signal.SIGTERM)
            p.wait()
        times = times[1:]  # the first run warms the disk cache
        print(f"{variant:7} plugins: median {statistics.median(times):.0f} ms, min {min(times):.0f}, max {max(times):.0f} (n={len(times)})")
finally:
    shutil.rmtree(work, ignore_errors=True)
