"""Soak test of ``sealshot serve``: one camera on a looped clip served live at its own rate by FFmpeg.

Samples the camera's resident memory, lag and processing fps (from ``/metrics``) every second for
``--minutes``, then, with ``--busy-minutes``, as long again with a CPU-bound process spinning on one
core beside it. Saves ``soak.json``, ``soak.md`` and ``soak.png`` under ``--out``.

    python bench/soak.py                       # 10 min idle + 3 min with a busy core (the targets' run)
    python bench/soak.py --minutes 2 --busy-minutes 1   # a quick run

Targets: RSS flat after warm-up (growth < 5 % from minute 2 to the end), <= 400 MB per camera
process; lag p99 < 1 s; no crash; with a busy core, at least half of the idle fps.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_CLIP = REPO.parent / "shared" / "data" / "video" / "arcade-walkers-1080p.mp4"
BUNDLED_CLIP = REPO / "src" / "sealshot" / "video" / "samples" / "arcade-walkers-1080p-crf29.mp4"
WARM_UP_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("sealshot_") and 'camera="soak"' in line and "last_error" not in line:
            values[line.split("{", 1)[0]] = float(line.rsplit(" ", 1)[1])
    return values


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(math.ceil(q / 100 * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="idle phase (default 10)")
    parser.add_argument("--busy-minutes", type=float, default=3.0, help="phase with one busy core beside it (0: none)")
    parser.add_argument("--clip", type=Path, default=SHARED_CLIP if SHARED_CLIP.exists() else BUNDLED_CLIP)
    parser.add_argument("--quality", default="vae-ratio")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clip-seconds", type=float, default=0.0, help="seal a clip of this many seconds with each snapshot (0: none)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "soak")
    args = parser.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("ffmpeg is needed to serve the clip live (make system-deps)")
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sealshot-soak-"))
    stream_port, metrics_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "sealshot.cli", "keygen", "--out", str(work / "keys")], check=True, env=env, stdout=subprocess.DEVNULL)
    (work / "cameras.toml").write_text(
        f'vault = "vault"\nrecipient = "keys/authority.pub"\nquality = "{args.quality}"\nthreads = {args.threads}\nclip_seconds = {args.clip_seconds}\n\n'
        f'[[camera]]\nid = "soak"\nsource = "tcp://127.0.0.1:{stream_port}"\n'
    )
    server = subprocess.Popen(
        [ffmpeg, "-v", "quiet", "-re", "-stream_loop", "-1", "-i", str(args.clip), "-c", "copy", "-f", "mpegts", f"tcp://127.0.0.1:{stream_port}?listen=1"]
    )
    log = (work / "serve.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "sealshot.cli", "serve", "--config", str(work / "cameras.toml"), "--metrics", f"127.0.0.1:{metrics_port}"],
        cwd=work, env=env, stderr=log,
    )
    busy: subprocess.Popen[bytes] | None = None
    samples: list[dict[str, float | str]] = []
    start = time.monotonic()
    total_s = 60 * (args.minutes + args.busy_minutes)
    try:
        while time.monotonic() - start < total_s:
            elapsed = time.monotonic() - start
            phase = "idle" if elapsed < 60 * args.minutes else "busy"
            if phase == "busy" and busy is None:
                busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            if serve.poll() is not None:
                raise SystemExit(f"serve exited with {serve.returncode}; see {work / 'serve.log'}")
            try:
                metrics = scrape(metrics_port)
            except OSError:
                metrics = {}
            if metrics.get("sealshot_camera_resident_megabytes"):
                samples.append({"t_s": round(elapsed, 1), "phase": phase, **metrics})
            time.sleep(1.0)
    finally:
        if busy is not None:
            busy.kill()
        serve.send_signal(signal.SIGTERM)
        serve.wait(120)
        server.kill()
        log.close()
    summarise(samples, args, work)


def summarise(samples: list[dict[str, float | str]], args: argparse.Namespace, work: Path) -> None:
    def series(name: str, phase: str | None = None, after_s: float = 0.0) -> list[float]:
        return [float(s[name]) for s in samples if (phase is None or s["phase"] == phase) and float(s["t_s"]) >= after_s and name in s]

    idle_end = 60 * args.minutes
    rss = series("sealshot_camera_resident_megabytes", "idle", WARM_UP_S)
    rss_growth = (rss[-1] - rss[0]) / rss[0] * 100 if len(rss) > 1 else float("nan")
    lags = series("sealshot_lag_max_seconds", "idle", 30.0)
    fps_idle = series("sealshot_processing_fps", "idle", 30.0)
    fps_busy = series("sealshot_processing_fps", "busy", idle_end + 20.0)
    last = samples[-1] if samples else {}
    sealed = [path.stat().st_size for path in (work / "vault" / "snapshots").glob("*.seal")]
    summary = {
        "clip": str(args.clip),
        "minutes_idle": args.minutes,
        "minutes_busy": args.busy_minutes,
        "quality": args.quality,
        "threads": args.threads,
        "clip_seconds": args.clip_seconds,
        "rss_mb_max": round(max(series("sealshot_camera_resident_megabytes")), 1) if samples else None,
        "rss_mb_at_warm_up": round(rss[0], 1) if rss else None,
        "rss_mb_at_end": round(rss[-1], 1) if rss else None,
        "rss_growth_pct_after_warm_up": round(rss_growth, 2),
        "private_mb_at_end": last.get("sealshot_camera_private_megabytes"),
        "lag_p50_s": round(percentile(lags, 50), 3),
        "lag_p99_s": round(percentile(lags, 99), 3),
        "lag_max_s": round(max(lags), 3) if lags else None,
        "fps_idle_mean": round(sum(fps_idle) / len(fps_idle), 2) if fps_idle else None,
        "fps_busy_mean": round(sum(fps_busy) / len(fps_busy), 2) if fps_busy else None,
        "frames_decoded": last.get("sealshot_frames_decoded_total"),
        "frames_processed": last.get("sealshot_frames_processed_total"),
        "frames_dropped": last.get("sealshot_frames_dropped_total"),
        "snapshots_sealed": last.get("sealshot_snapshots_sealed_total"),
        "restarts": last.get("sealshot_camera_restarts_total"),
        "sealed_file_bytes_mean": round(sum(sealed) / len(sealed)) if sealed else None,
        "machine": f"{os.cpu_count()} cores, shared with other work (load average at the end {os.getloadavg()[0]:.2f})",
        "serve_log": str(work / "serve.log"),
    }
    (args.out / "soak.json").write_text(json.dumps({"summary": summary, "samples": samples}, indent=1))
    rows = "\n".join(f"| {k} | {v} |" for k, v in summary.items() if k != "serve_log")
    (args.out / "soak.md").write_text(f"# sealshot serve soak\n\n| measure | value |\n|---|---|\n{rows}\n")
    plot(samples, idle_end, args.out / "soak.png")
    print(json.dumps(summary, indent=2))


def plot(samples: list[dict[str, float | str]], idle_end: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    t = [float(s["t_s"]) / 60 for s in samples]
    for axis, (name, label) in zip(
        axes,
        [("sealshot_camera_resident_megabytes", "RSS (MB)"), ("sealshot_lag_max_seconds", "lag, max per second (s)"), ("sealshot_processing_fps", "processing fps (5 s)")],
    ):
        axis.plot(t, [float(s.get(name, float("nan"))) for s in samples], linewidth=1)
        axis.set_ylabel(label)
        axis.axvline(idle_end / 60, color="grey", linestyle="--", linewidth=1)
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("minutes (dashed: a CPU-bound process starts on one core)")
    axes[0].set_title("sealshot serve: one camera, 25 fps live stream (shared 2-core machine)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
