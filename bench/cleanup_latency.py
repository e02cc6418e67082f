#!/usr/bin/python3
"""Time from a client's close to its abandoned upload being gone from the blob store.

Starts tetherd with session.resume_window_ms=0 on a temp data dir, then for N sessions in turn:
upload a file, connect, register it, close the socket, and time until blobs/<file_id> is gone.
Prints p50/p90/p99/max in milliseconds. Needs Debian's python3-websockets.
usage: bench/cleanup_latency.py [--sessions 200] [--tetherd build/tetherd]
"""
import argparse, asyncio, json, os, statistics, subprocess, sys, tempfile, time, urllib.request

import websockets


def start_server(tetherd, data_dir, extra):
    proc = subprocess.Popen([tetherd, "--set", "server.port=0", "--set", f"storage.data_dir={data_dir}",
                             "--set", "log.level=warn", *extra], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    port = int(line.strip().rsplit(":", 1)[1])
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz").status == 200:
                return proc, port
        except Exception:
            time.sleep(0.01)
    raise SystemExit("tetherd did not become ready")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def token(tetherd, data_dir, user):
    return subprocess.check_output([tetherd, "token", user, "--set", f"storage.data_dir={data_dir}"], text=True).strip()


def upload(port, tok, body=b"x" * 1024):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/files?name=a.bin", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {tok}"})
    return json.load(urllib.request.urlopen(req))["file_id"]


async def one(port, tok, blob_dir):
    fid = upload(port, tok)
    path = os.path.join(blob_dir, fid)
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?token={tok}") as ws:
        json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "register", "file_ids": [fid]}))
        reply = json.loads(await ws.recv())
        assert reply["file_ids"] == [fid], reply
        t0 = time.perf_counter()
    # The context manager has sent the close frame and waited for the server's.
    while os.path.exists(path):
        if time.perf_counter() - t0 > 5:
            raise SystemExit(f"{fid} was not deleted within 5 s")
        time.sleep(0.0002)
    return (time.perf_counter() - t0) * 1000


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--tetherd", default=os.path.join(os.path.dirname(__file__), "..", "build", "tetherd"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        proc, port = start_server(args.tetherd, data_dir, ["--set", "session.resume_window_ms=0"])
        try:
            tok = token(args.tetherd, data_dir, "bench")
            blob_dir = os.path.join(data_dir, "blobs")
            samples = [await one(port, tok, blob_dir) for _ in range(args.sessions)]
        finally:
            proc.terminate()
            proc.wait(10)
    samples.sort()
    q = lambda p: samples[min(len(samples) - 1, int(p / 100 * len(samples)))]
    print(f"sessions={len(samples)} close->deleted ms: p50={q(50):.2f} p90={q(90):.2f} p99={q(99):.2f} "
          f"max={samples[-1]:.2f} mean={statistics.mean(samples):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
