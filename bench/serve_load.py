#!/usr/bin/env python3
"""Load and reliability run for `ferret serve` (driven by bench/serve.sh).

Simulated hosts enrol, then each uploads one gzip-compressed JSONL report with FINDINGS
findings. With --collectors 2, two collectors share the database and the uploads alternate
between them. With --kill-after N, the first collector is killed with SIGKILL once N uploads
have been acknowledged and started again; with --pg-restart-after N, PostgreSQL is restarted
(--pg-restart-cmd) once N uploads have been acknowledged, while uploads go on. Hosts whose
upload was not acknowledged resend the same run id until it is. At the end the database is
checked: every acknowledged run is there exactly once with all its findings.

CPU: the user+system time of each collector process over the upload phase is read from
/proc/PID/stat, and with --pg-url that of the PostgreSQL backends serving the collectors
(found by their application_name) and of all PostgreSQL processes. Only loopback addresses
are used; every loop is bounded.
"""

import argparse
import gzip
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid


def report_jsonl(host, run_id, findings):
    lines = []
    for i in range(findings):
        lines.append(json.dumps({
            "type": "finding", "engine": "check",
            "rule": {"id": f"PS{i % 7:03d}", "name": f"pulse-secure-indicator-{i % 7}"},
            "severity": ["low", "medium", "high", "critical"][i % 4], "score": 50 + i % 50,
            "path": f"/home/webserver/htdocs/dana-na/file{i}.cgi",
            "evidence": [{"label": "$a", "offset": i, "data": "perl -e exec"}],
        }))
    lines.append(json.dumps({
        "type": "summary", "schema_version": 1,
        "tool": {"name": "ferret", "version": "0.1.0"}, "verb": "check", "run_id": run_id,
        "host": host, "targets": [], "started": "2026-04-01T08:00:00Z",
        "finished": "2026-04-01T08:00:03Z", "problems_dropped": 0, "counters": {},
        "skipped": {}, "problems": {}, "rules": {"loaded": {}, "not_loaded": {}},
        "findings": {}, "complete": True,
    }))
    return gzip.compress(("\n".join(lines) + "\n").encode(), 6)


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process in seconds, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def postgres_pids(pg_url, app_prefix=None):
    """Pids of the backends whose application_name starts with app_prefix, or of every
    PostgreSQL process of the cluster (postmaster's children included) when None."""
    if app_prefix is None:
        out = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]
    q = f"SELECT pid FROM pg_stat_activity WHERE application_name LIKE '{app_prefix}%'"
    out = subprocess.run(["psql", "-At", pg_url, "-c", q], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


class CpuMeter:
    """CPU seconds of a changing set of processes between start() and stop()."""

    def __init__(self, pids_fn):
        self.pids_fn = pids_fn
        self.start_cpu = {}
        self.last_cpu = {}

    def sample(self):
        for pid in self.pids_fn():
            c = cpu_seconds(pid)
            if c is not None:
                self.last_cpu[pid] = c

    def start(self):
        self.sample()
        self.start_cpu = dict(self.last_cpu)

    def stop(self):
        self.sample()
        return sum(c - self.start_cpu.get(pid, 0.0) for pid, c in self.last_cpu.items())


class Collector:
    def __init__(self, args, index):
        self.args = args
        self.index = index
        host, port = args.listen.rsplit(":", 1)
        self.addr = (host, int(port) + index)
        self.proc = None
        self.cpu_before_kill = 0.0

    def db_url(self):
        if not self.args.db.startswith("postgres"):
            return self.args.db
        sep = "&" if "?" in self.args.db else "?"
        return f"{self.args.db}{sep}application_name=ferret_bench_c{self.index}"

    def cpu(self):
        c = cpu_seconds(self.proc.pid)
        return self.cpu_before_kill + (c or 0.0)

    def start(self):
        cmd = [self.args.ferret, "serve", "--db", self.db_url(),
               "--listen", f"{self.addr[0]}:{self.addr[1]}",
               "--admin-token-file", self.args.admin_token_file]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        host, port = self.addr
        for _ in range(200):
            try:
                c = http.client.HTTPConnection(host, int(port), timeout=2)
                c.request("GET", "/api/v1/openapi.json")
                c.getresponse().read()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("collector did not start")

    def kill(self):
        self.cpu_before_kill += cpu_seconds(self.proc.pid) or 0.0
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def request(conn_holder, method, path, body=None, headers=None):
    host, port = conn_holder["addr"]
    if conn_holder.get("conn") is None:
        conn_holder["conn"] = http.client.HTTPConnection(host, port, timeout=30)
    conn = conn_holder["conn"]
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data
    except (OSError, http.client.HTTPException):
        conn.close()
        conn_holder["conn"] = None
        raise


def signed_directive(ferret, org_id):
    """A directive envelope signed with a throw-away directive key (`ferret admin directive sign`)."""
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "directive.key")
        subprocess.run([ferret, "keygen", "-o", key], check=True, capture_output=True)
        spec = os.path.join(d, "spec.json")
        with open(spec, "w") as f:
            json.dump({"name": "bench", "verb": "check", "targets": ["/"],
                       "options": ["campaign=pulse-secure"],
                       "deadline": "2030-01-01T00:00:00Z", "orgs": [org_id]}, f)
        env = os.path.join(d, "envelope.json")
        subprocess.run([ferret, "admin", "directive", "sign", spec, "--key", key, "-o", env],
                       check=True, capture_output=True)
        with open(env) as f:
            return f.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferret", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--listen", default="127.0.0.1:18444")
    ap.add_argument("--admin-token-file", required=True)
    ap.add_argument("--hosts", type=int, default=2000)
    ap.add_argument("--findings", type=int, default=100)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--kill-after", type=int, default=0)
    ap.add_argument("--collectors", type=int, default=1,
                    help="collectors sharing the database (ports --listen, +1, ...)")
    ap.add_argument("--pg-url", default="",
                    help="PostgreSQL URL for psql, to measure the backends' CPU")
    ap.add_argument("--pg-restart-after", type=int, default=0)
    ap.add_argument("--pg-restart-cmd", default="pg_ctlcluster 15 main restart")
    ap.add_argument("--on-upload-start", default="",
                    help="shell command started in the background when uploads begin; "
                         "{pid} is the first collector's pid (e.g. a profiler)")
    ap.add_argument("--check-cmd", required=True,
                    help="shell command printing 'runs findings distinct_runs' from the database")
    ap.add_argument("--dashboard-hosts", type=int, default=0)
    args = ap.parse_args()
    admin = open(args.admin_token_file).read().strip()
    host, port = args.listen.rsplit(":", 1)
    addr = (host, int(port))

    cols = [Collector(args, i) for i in range(args.collectors)]
    for c in cols:
        c.start()
    col = cols[0]
    holder = {"addr": addr}
    st, body = request(holder, "POST", "/api/v1/admin/orgs",
                       json.dumps({"name": f"load-{uuid.uuid4().hex[:8]}"}),
                       {"authorization": f"Bearer {admin}", "content-type": "application/json"})
    assert st == 201, body
    org = json.loads(body)
    secret = org["enrolment_secret"]
    st, body = request(holder, "POST", "/api/v1/admin/directives",
                       signed_directive(args.ferret, org["id"]),
                       {"authorization": f"Bearer {admin}", "content-type": "application/json"})
    assert st == 201, body
    directive = json.loads(body)["id"]

    # Enrol every host and build its report before the clock starts.
    tokens = []
    for i in range(args.hosts):
        st, body = request(holder, "POST", "/api/v1/enroll",
                           json.dumps({"secret": secret, "host": f"host-{i:05d}"}),
                           {"content-type": "application/json"})
        assert st == 201, body
        tokens.append(json.loads(body)["token"])
    bodies = [report_jsonl(f"host-{i:05d}", f"run-{i:05d}", args.findings) for i in range(args.hosts)]

    acked = {}
    lat = []
    lock = threading.Lock()
    next_index = [0]
    kill_done = threading.Event()
    restarted = threading.Event()
    if not args.kill_after:
        restarted.set()
    resends = [0]
    pg_restart_done = threading.Event()
    pg_restart_info = {}
    restart_threads = []

    def restart_postgres():
        t0 = time.perf_counter()
        out = subprocess.run(args.pg_restart_cmd, shell=True, capture_output=True, text=True)
        pg_restart_info.update({"pg_restart_s": round(time.perf_counter() - t0, 2),
                                "pg_restart_rc": out.returncode,
                                "pg_restart_at_ack": args.pg_restart_after})

    def worker(wid):
        h = {"addr": cols[wid % len(cols)].addr}
        while True:
            with lock:
                i = next_index[0]
                if i >= args.hosts:
                    return
                next_index[0] += 1
            tries = 0
            while True:
                tries += 1
                if tries > 200:
                    raise SystemExit(f"upload {i} never acknowledged")
                t0 = time.perf_counter()
                try:
                    st, body = request(h, "POST", "/api/v1/reports", bodies[i], {
                        "authorization": f"Bearer {tokens[i]}",
                        "content-encoding": "gzip", "content-type": "application/x-ndjson",
                        "x-ferret-directive": str(directive)})
                except (OSError, http.client.HTTPException):
                    with lock:
                        resends[0] += 1
                    restarted.wait(30)
                    time.sleep(0.05)
                    continue
                dt = time.perf_counter() - t0
                if st >= 500:
                    with lock:
                        resends[0] += 1
                    time.sleep(0.05)
                    continue
                assert st == 200, (st, body)
                with lock:
                    acked[i] = json.loads(body)
                    lat.append(dt)
                    n = len(acked)
                if (args.pg_restart_after and n == args.pg_restart_after
                        and not pg_restart_done.is_set()):
                    pg_restart_done.set()
                    rt = threading.Thread(target=restart_postgres)
                    rt.start()
                    restart_threads.append(rt)
                if args.kill_after and n == args.kill_after and not kill_done.is_set():
                    kill_done.set()
                    col.kill()
                    col.start()
                    restarted.set()
                break

    pg_backends = pg_all = None
    if args.pg_url:
        pg_backends = CpuMeter(lambda: postgres_pids(args.pg_url, "ferret_bench_c"))
        pg_all = CpuMeter(lambda: postgres_pids(args.pg_url))
        pg_backends.start()
        pg_all.start()
    hook = None
    if args.on_upload_start:
        hook = subprocess.Popen(args.on_upload_start.replace("{pid}", str(col.proc.pid)),
                                shell=True)
    cpu0 = [c.cpu() for c in cols]
    load0 = open("/proc/loadavg").read().split()[0]
    t_start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.workers)]
    for t in threads:
        t.start()
    stop_sampling = threading.Event()

    def sampler():
        # Backends come and go (a restart replaces them): sample them while the run lasts.
        while not stop_sampling.wait(0.5):
            if pg_backends:
                pg_backends.sample()
                pg_all.sample()
    st = threading.Thread(target=sampler)
    st.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_start
    for rt in restart_threads:
        rt.join()
    stop_sampling.set()
    st.join()
    cpu1 = [c.cpu() for c in cols]
    load1 = open("/proc/loadavg").read().split()[0]

    result = {
        "hosts": args.hosts, "findings_per_report": args.findings, "workers": args.workers,
        "elapsed_s": round(elapsed, 2),
        "reports_per_s": round(args.hosts / elapsed, 1),
        "findings_per_s": round(args.hosts * args.findings / elapsed, 0),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p99_ms": round(sorted(lat)[max(0, int(len(lat) * 0.99) - 1)] * 1000, 1),
        "killed_and_restarted": bool(args.kill_after), "resends": resends[0],
        "duplicates_acknowledged": sum(1 for v in acked.values() if v.get("duplicate")),
        "collectors": args.collectors,
        "collector_cpu_s": [round(b - a, 3) for a, b in zip(cpu0, cpu1)],
        "collector_cpu_ms_per_report": round(
            sum(b - a for a, b in zip(cpu0, cpu1)) * 1000 / args.hosts, 3),
        "loadavg_1min_before_after": [float(load0), float(load1)],
    }
    if pg_backends:
        pb, pa = pg_backends.stop(), pg_all.stop()
        result.update({"pg_backends_cpu_s": round(pb, 3),
                       "pg_backends_cpu_ms_per_report": round(pb * 1000 / args.hosts, 3),
                       "pg_all_cpu_s": round(pa, 3),
                       "pg_all_cpu_ms_per_report": round(pa * 1000 / args.hosts, 3)})
    result.update(pg_restart_info)

    if args.dashboard_hosts:
        result.update(dashboard(args, admin, org["id"], secret, addr, directive))

    if hook:
        hook.wait()
    for c in cols:
        c.stop()
    out = subprocess.run(args.check_cmd, shell=True, capture_output=True, text=True, check=True)
    runs, findings, distinct = (int(x) for x in out.stdout.split())
    result.update({"db_runs": runs, "db_findings": findings, "db_distinct_runs": distinct})
    ok = (len(acked) == args.hosts and runs == args.hosts and distinct == args.hosts
          and findings == args.hosts * args.findings)
    result["verified"] = ok
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


def dashboard(args, admin, org_id, secret, addr, did):
    """Time the directive page for a directive over args.dashboard_hosts hosts."""
    h = {"addr": addr}
    hdr = {"authorization": f"Bearer {admin}", "content-type": "application/json"}
    # More hosts, up to dashboard_hosts; those never answer (pending).
    for i in range(args.hosts, args.dashboard_hosts):
        request(h, "POST", "/api/v1/enroll", json.dumps({"secret": secret, "host": f"host-{i:05d}"}),
                {"content-type": "application/json"})
    user = f"bench{uuid.uuid4().hex[:6]}"
    st, body = request(h, "POST", "/api/v1/admin/users", json.dumps(
        {"name": user, "password": "benchmark-password", "org_id": org_id, "role": "viewer"}), hdr)
    assert st == 201, body
    c = http.client.HTTPConnection(*addr, timeout=30)
    c.request("GET", "/login")
    r = c.getresponse()
    r.read()
    csrf = r.getheader("set-cookie").split("ferret_login_csrf=")[1].split(";")[0]
    c.request("POST", "/login", body=urllib.parse.urlencode(
        {"user": user, "password": "benchmark-password", "csrf": csrf}),
        headers={"content-type": "application/x-www-form-urlencoded",
                 "cookie": f"ferret_login_csrf={csrf}"})
    r = c.getresponse()
    r.read()
    assert r.status == 303, r.status
    cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
    session = next(v for v in cookies if v.startswith("ferret_session=")).split("=", 1)[1].split(";")[0]
    times = []
    size = 0
    for _ in range(10):
        t0 = time.perf_counter()
        c.request("GET", f"/o/{org_id}/directives/{did}", headers={"cookie": f"ferret_session={session}"})
        r = c.getresponse()
        data = r.read()
        times.append(time.perf_counter() - t0)
        assert r.status == 200, r.status
        size = len(data)
    return {"dashboard_hosts": args.dashboard_hosts,
            "directive_page_ms_median": round(statistics.median(times) * 1000, 1),
            "directive_page_ms_max": round(max(times) * 1000, 1), "directive_page_bytes": size}


if __name__ == "__main__":
    main()
