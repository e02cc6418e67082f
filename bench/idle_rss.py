#!/usr/bin/python3
"""Resident memory of tetherd per idle WebSocket session.

Starts tetherd on a temp data dir, measures its RSS, opens N authenticated sessions that then
stay idle, measures again, and prints (RSS_N - RSS_0) / N. Needs Debian's python3-websockets.
usage: bench/idle_rss.py [--sessions 1000] [--tetherd build/tetherd]
"""
import argparse, asyncio, json, os, resource, subprocess, sys, tempfile, time, urllib.request

import websockets

sys.path.insert(0, os.path.dirname(__file__))
from cleanup_latency import rss_kib, start_server, token  # noqa: E402


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--tetherd", default=os.path.join(os.path.dirname(__file__), "..", "build", "tetherd"))
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.sessions * 2 + 100), hard))
    with tempfile.TemporaryDirectory() as data_dir:
        proc, port = start_server(args.tetherd, data_dir, ["--set", f"limits.max_connections_per_ip={args.sessions + 10}"])
        try:
            tok = token(args.tetherd, data_dir, "bench")
            # Warm up once so that one-time allocations (thread buffers, caches) are not counted.
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws?token={tok}") as ws:
                await ws.recv()
            time.sleep(0.5)
            before = rss_kib(proc.pid)
            sockets = []
            for _ in range(args.sessions):
                ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws?token={tok}", ping_interval=None)
                json.loads(await ws.recv())
                sockets.append(ws)
            time.sleep(1.0)
            after = rss_kib(proc.pid)
            print(f"sessions={args.sessions} rss_before={before} KiB rss_after={after} KiB "
                  f"per_session={(after - before) * 1024 / args.sessions:.0f} bytes")
            for ws in sockets:
                await ws.close()
        finally:
            proc.terminate()
            proc.wait(10)


asyncio.run(main())
