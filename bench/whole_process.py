#!/usr/bin/env python3
"""Whole-process time and peak memory of several commands, run in turn (A B C A B C ...) so that a drift of the
machine's speed touches every command alike. One warm-up round is not counted.

  python3 bench/whole_process.py [--runs N] LABEL='COMMAND ARGS' [LABEL='COMMAND ARGS' ...]

Prints one JSON line per command: median, min and max wall seconds and peak resident memory (the kernel's
ru_maxrss of the finished child), and the exit codes seen. Output of the commands is discarded.
"""
import json, os, shlex, statistics, subprocess, sys, time


def run_once(argv):
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    return wall, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def main():
    args = sys.argv[1:]
    runs = 5
    if len(args) >= 2 and args[0] == "--runs":
        runs, args = int(args[1]), args[2:]
    if not args:
        sys.exit(__doc__)
    cmds = []
    for a in args:
        label, _, cmd = a.partition("=")
        cmds.append((label, shlex.split(cmd)))
    results = {label: {"wall": [], "rss": [], "exit": set()} for label, _ in cmds}
    for i in range(runs + 1):
        for label, argv in cmds:
            wall, rss, code = run_once(argv)
            if i == 0:
                continue
            r = results[label]
            r["wall"].append(wall), r["rss"].append(rss), r["exit"].add(code)
    for label, _ in cmds:
        r = results[label]
        print(json.dumps({"command": label, "runs": runs,
                          "wall_s": {"median": statistics.median(r["wall"]), "min": min(r["wall"]), "max": max(r["wall"])},
                          "peak_rss_bytes": {"median": statistics.median(r["rss"]), "max": max(r["rss"])},
                          "exit_codes": sorted(r["exit"])}), flush=True)


if __name__ == "__main__":
    main()
