"""`cinder-snapshots list` against `openstack volume snapshot list`, side by side on the same
real local cloud (scripts/bench-cli runs this). Whole processes, measured with wait4: wall
time and CPU (user + sys); medians of BENCH_RUNS runs, and ratios ours/peer; and the HTTP
requests one run sends (from each tool's --debug log). (No peak RSS:
a child's maxrss includes the pages it had as a fork of this Python process before exec;
scripts/bench measures memory properly through benches/rusage.c.)

Arguments: OURS (the cinder-snapshots binary) OPENSTACK (the openstack command) ENV_FILE
(admin.env of the local cloud) SNAPSHOTS (how many to create for the listing).
"""

import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def load_env(path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                env[key] = shlex.split(value)[0] if value else ""
    return env


def run(argv, env):
    """One whole process: (wall s, cpu s, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{argv} failed ({proc.returncode}): {err.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime, out.decode()


def requests_made(argv, env):
    """HTTP requests one run of argv sends, from its --debug log on stderr: our tool logs one
    `debug: METHOD URL STATUS ...` line per request (Keystone, discovery and Cinder alike), the
    openstack command one `REQ: curl ...` line per request."""
    debug = [argv[0], "--debug"] + argv[1:]
    proc = subprocess.run(debug, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{debug} failed ({proc.returncode}): {proc.stderr}")
    lines = proc.stderr.splitlines()
    ours = [line for line in lines if re.match(r"debug: (GET|POST|PUT|DELETE|HEAD) ", line)]
    theirs = [line for line in lines if "REQ: curl" in line]
    return len(ours) + len(theirs), [line.split(" in ")[0] for line in ours] or [line[:80] for line in theirs]


def main():
    ours, openstack, env_file, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    runs = int(os.environ.get("BENCH_RUNS", "10"))
    env = load_env(env_file)
    cache = tempfile.mkdtemp(prefix="bench-cli-cache-")
    env["XDG_CACHE_HOME"] = cache

    # The local cloud's default quota is 10 snapshots.
    run([openstack, "quota", "set", "--snapshots", str(count + 10), env["OS_PROJECT_NAME"]], env)
    vol = run([openstack, "volume", "create", "--size", "1", "-f", "value", "-c", "id", "bench-cli"], env)[2].strip()
    created = []
    try:
        for _ in range(60):
            status = run([openstack, "volume", "show", "-f", "value", "-c", "status", vol], env)[2].strip()
            if status == "available":
                break
            time.sleep(1)
        for i in range(count):
            out = run([ours, "--json", "create", "--volume", vol, "--wait", f"bench-cli-{i:03}"], env)[2]
            created.append(out.split('"id":')[1].split('"')[1])

        jobs = [
            ("cinder-snapshots list (token cache warm)", [ours, "list"]),
            ("cinder-snapshots list --no-token-cache", [ours, "--no-token-cache", "list"]),
            ("openstack volume snapshot list", [openstack, "volume", "snapshot", "list"]),
        ]
        run(jobs[0][1], env)  # fills the token cache
        results = {}
        for name, argv in jobs:
            samples = [run(argv, env) for _ in range(runs)]
            rows = sum(1 for line in samples[0][2].splitlines() if "bench-cli-" in line)
            if rows != count:
                sys.exit(f"{name} listed {rows} of the {count} snapshots")
            results[name] = tuple(statistics.median(s[i] for s in samples) for i in range(2))
        # Requests of one more run of each (after the timed ones, so the cache is as warm).
        requests = {name: requests_made(argv, env) for name, argv in jobs}
        print(f"== {count} snapshots on the local Keystone + Cinder, medians of {runs} runs, whole processes")
        print(f"{'':44} {'wall s':>8} {'CPU s':>8} {'requests':>8}")
        for name, (wall, cpu) in results.items():
            print(f"{name:44} {wall:8.3f} {cpu:8.3f} {requests[name][0]:8}")
        for name, (_, which) in requests.items():
            print(f"requests of {name}: " + "; ".join(which))
        peer = results["openstack volume snapshot list"]
        for name in list(results)[:2]:
            wall, cpu = results[name]
            print(f"ratio {name:38} wall {wall / peer[0]:.3f}  CPU {cpu / peer[1]:.3f}")
    finally:
        for sid in created:
            subprocess.run([ours, "delete", "--wait", sid], env=env, capture_output=True)
        subprocess.run([openstack, "volume", "delete", vol], env=env, capture_output=True)


if __name__ == "__main__":
    main()
