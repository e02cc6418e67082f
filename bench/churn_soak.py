#!/usr/bin/python3
"""RSS per ended session under churn (the leak check of docs/benchmarks.md).

Starts tetherd on a temp data dir, runs a warm-up of sessions, then N more sessions from C
parallel loops, each connecting (JWT on the upgrade), doing one of: nothing, one `ping`, or
register an uploaded file, and leaving by a close frame or by dropping the TCP connection.
Prints RSS after the warm-up, every 10% of the run and after 2 s idle, the growth per ended
session after the warm-up, and the server's live object counts (all must be zero).
Needs Debian's python3-websockets; run with /usr/bin/python3.
usage: bench/churn_soak.py [--sessions 100000] [--warmup 10000] [--parallel 10] [--tetherd build/tetherd]
"""
import argparse, asyncio, json, os, resource, sys, tempfile, time, urllib.request

import websockets

sys.path.insert(0, os.path.dirname(__file__))
from cleanup_latency import rss_kib, start_server, token, upload  # noqa: E402


def live_objects(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("tether_live_objects{"):
            series, value = line.rsplit(" ", 1)
            out[series.split('"')[1]] = int(float(value))
    return out


async def one_session(port, tok, i, loop):
    kind = i % 6
    fid = None
    if kind in (2, 5):
        fid = await loop.run_in_executor(None, upload, port, tok, b"x")
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws?token={tok}", ping_interval=None)
    json.loads(await ws.recv())
    if kind in (1, 4):
        await ws.send('{"type":"ping"}')
        await ws.recv()
    if fid:
        await ws.send(json.dumps({"type": "register", "file_ids": [fid]}))
        await ws.recv()
    if kind < 3:
        await ws.close()
    else:
        ws.transport.abort()  # a drop: no close frame


async def loop_worker(port, tok, start, count, step, done):
    loop = asyncio.get_running_loop()
    for i in range(start, count, step):
        await one_session(port, tok, i, loop)
        done[0] += 1


async def churn(port, tok, count, parallel, on_progress=None):
    done = [0]
    tasks = [asyncio.create_task(loop_worker(port, tok, k, count, parallel, done)) for k in range(parallel)]
    next_mark = count // 10
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.2)
        if on_progress and done[0] >= next_mark:
            on_progress(done[0])
            next_mark += count // 10
    for t in tasks:
        t.result()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=100000)
    ap.add_argument("--warmup", type=int, default=10000)
    ap.add_argument("--parallel", type=int, default=10)
    ap.add_argument("--tetherd", default=os.path.join(os.path.dirname(__file__), "..", "build", "tetherd"))
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    with tempfile.TemporaryDirectory() as data_dir:
        proc, port = start_server(args.tetherd, data_dir, [
            "--set", "session.resume_window_ms=0", "--set", "limits.max_connections_per_ip=10000"])
        try:
            tok = token(args.tetherd, data_dir, "bench")
            t0 = time.time()
            await churn(port, tok, args.warmup, args.parallel)
            await asyncio.sleep(2)
            base = rss_kib(proc.pid)
            print(f"after warm-up of {args.warmup}: rss={base} KiB", flush=True)

            def progress(n):
                print(f"  {n:>7} sessions: rss={rss_kib(proc.pid)} KiB", flush=True)

            t1 = time.time()
            await churn(port, tok, args.sessions, args.parallel, progress)
            elapsed = time.time() - t1
            await asyncio.sleep(2)
            end = rss_kib(proc.pid)
            growth = (end - base) * 1024 / args.sessions
            print(f"sessions={args.sessions} in {elapsed:.0f} s ({args.sessions / elapsed:.0f}/s) "
                  f"rss_after_warmup={base} KiB rss_end={end} KiB growth_per_session={growth:.1f} bytes")
            print(f"live objects: {live_objects(port)}")
            print(f"total time {time.time() - t0:.0f} s")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    asyncio.run(main())
