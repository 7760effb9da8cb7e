#!/usr/bin/env bash
# Many small uploads and downloads in one lftp session over loopback: the per-file cost (PASV, STOR/RETR, 226),
# which large-file throughput hides. Prints the median seconds of RUNS runs for COUNT files of SIZE bytes each way.
#
# Needs: lftp, python3, dotnet. Usage: bench/small-files.sh           (RUNS=5 COUNT=500 SIZE=4096 by default)
#        SERVER_DLL=/other/build/ScriptFtp.Server.dll bench/small-files.sh   (to compare another build)
#        TARGET=ftp://user:pass@127.0.0.1:21/folder bench/small-files.sh      (a server already running, e.g.
#        vsftpd; the folder must be writable and is emptied of f*.bin between runs through FTP)
set -euo pipefail

RUNS=${RUNS:-5}
COUNT=${COUNT:-500}
SIZE=${SIZE:-4096}
REPO=$(cd "$(dirname "$0")/.." && pwd)
command -v lftp >/dev/null || { echo "missing: lftp" >&2; exit 2; }

# shellcheck source=bench/common.sh
. "$REPO/bench/common.sh"

WORK=$(mktemp -d /tmp/scriptftp-small.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/files" "$WORK/back"
for i in $(seq "$COUNT"); do head -c "$SIZE" /dev/urandom > "$WORK/files/f$i.bin"; done

run() { # folder, lftp commands: milliseconds taken
  local start end
  start=$(date +%s%N)
  (cd "$WORK/$1" && lftp -e "set cmd:fail-exit yes; set ftp:passive-mode yes; $2; bye" "$URL" >/dev/null)
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 ))"
}

measure() {
  local up=() down=()
  for _ in $(seq "$RUNS"); do
    lftp -e "set cmd:fail-exit no; mrm -f f*.bin; bye" "$URL" >/dev/null 2>&1 || true
    rm -f "$WORK/back/"*
    up+=("$(run files "mput *.bin")")
    down+=("$(run back "mget *.bin")")
    [ "$(ls "$WORK/back" | wc -l)" = "$COUNT" ] || { echo "download lost files" >&2; exit 1; }
  done
  printf '%s files of %s bytes: upload %s ms, download %s ms (median of %s)\n' "$COUNT" "$SIZE" \
    "$(printf '%s\n' "${up[@]}" | median)" "$(printf '%s\n' "${down[@]}" | median)" "$RUNS"
}

if [ -n "${TARGET:-}" ]; then
  URL=$TARGET
  measure
  exit 0
fi

if [ -z "${SERVER_DLL:-}" ]; then
  dotnet build -c Release "$REPO/Server" -v quiet -nologo >&2
  SERVER_DLL="$REPO/Server/bin/Release/net10.0/ScriptFtp.Server.dll"
fi
PORT=$(free_port)
URL="ftp://bench:bench@127.0.0.1:$PORT/"
scriptftp_config "$WORK" "$PORT" bench
dotnet "$SERVER_DLL" --config "$WORK/ftp.toml" > "$WORK/console.log" 2>&1 &
PID=$!
for _ in $(seq 100); do lftp -e "set net:max-retries 1; ls; bye" "$URL" >/dev/null 2>&1 && break; sleep 0.1; done
measure
