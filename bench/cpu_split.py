"""``python -m bench.cpu_split``: where the CPU goes in the two-worker MQTT ingest.

Runs the bench's MQTT load (``tracking.mqtt_ingest``) on a fresh scratch database with
``--devices`` armed devices, ``--windows`` times, and reads every process's CPU time from
``/proc`` once a second meanwhile. For each window it prints the stored rate and the CPU
per stored position of PostgreSQL, Mosquitto, the bench's spawned processes (the tracking
workers, each on its own line, and the publisher) and this process. Only the busy middle of
each window counts (a second with under 1.5 cores in use is start-up or drain).

Linux only. The figures in BENCHMARKS.md's seventh session were read with it.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from rich.progress import Progress

from bench import tracking

TICK = os.sysconf("SC_CLK_TCK")
BUSY_CORES = 1.5

_names: dict[int, str] = {}


def _snapshot() -> dict[int, float]:
    """CPU seconds (user and system) of every process now."""
    out: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if pid not in _names:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    _names[pid] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def _kind(pid: int) -> str:
    name = _names.get(pid, "")
    if name.startswith("postgres"):
        return "postgresql"
    if "mosquitto" in name:
        return "mosquitto"
    if "spawn_main" in name:
        return f"spawned {pid}"
    if pid == os.getpid():
        return "this process"
    return "other"


def _window(w: object, fleet: tracking.Fleet, args: argparse.Namespace, progress: Progress) -> None:
    samples: list[tuple[float, dict[int, float]]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter(), _snapshot()))
            time.sleep(1.0)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        row = tracking.mqtt_ingest(w, fleet, args, progress, args.workers)
    finally:
        done.set()
        sampler.join()
    busy = [
        i
        for i in range(1, len(samples))
        if sum(v - samples[i - 1][1].get(p, v) for p, v in samples[i][1].items())
        / (samples[i][0] - samples[i - 1][0])
        > BUSY_CORES
    ]
    print(f"{row.value:,.0f} positions/s ({row.note.split(';')[0]})")
    if len(busy) < 4:
        print("  too short a busy spell to split")
        return
    (start, before), (end, after) = samples[busy[1]], samples[busy[-2]]
    fixes = row.value * (end - start)
    split: dict[str, float] = {}
    for pid, cpu in after.items():
        kind = _kind(pid)
        split[kind] = split.get(kind, 0.0) + cpu - before.get(pid, cpu)
    for kind, cpu in sorted(split.items(), key=lambda kv: -kv[1]):
        if cpu > 0:
            print(f"  {kind:20s} {1e6 * cpu / fixes:6.1f} µs per position")
    print(f"  {'all':20s} {1e6 * sum(split.values()) / fixes:6.1f} µs per position")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="tracking worker processes")
    parser.add_argument("--windows", type=int, default=3, help="loads measured in a row")
    parser.add_argument("--devices", type=int, default=4_000, help="armed devices reporting")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load")
    args = parser.parse_args()
    args.track_seconds = args.seconds
    from tripp.bootstrap import wire
    from tripp.config import Settings

    url = tracking.scratch_database(tracking.TRACK_DB)
    w = wire(Settings(database_url=url))
    w.upgrade()
    with Progress(transient=True) as progress:
        fleet = tracking.setup_fleet(w, url, progress)
        tracking.arm(w, fleet, args.devices, progress)
        for _ in range(args.windows):
            _window(w, fleet, args, progress)
    w.engine.dispose()


if __name__ == "__main__":
    main()
