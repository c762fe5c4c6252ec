#!/usr/bin/env python3
"""Time the directive page and the roll-up export of a 100,000-host directive (driven by
bench/directive_page.sh).

`ferret serve` creates the schema; an organisation and an admin user are made over the API;
the hosts, the directive, the runs, the agents' outcomes and the roll-up rows are then
inserted directly in SQL (sqlite3 module or psql) for speed, with a realistic mix: per 100
hosts, 5 affected (with a `check` verdict), 2 fixed (affected, then clean), 3 errored, 60
clean and 30 silent (pending). The dashboard's directive page is then requested RUNS times
per variant (first page, deep keyset page, status filters, host-name filters); the
server-side time is the page's `server-timing` header (`store`: the store calls, `total`:
the whole handler with rendering), the client time is the request's wall clock on loopback.
Medians are printed. The full CSV and JSON exports are timed at the client. Only loopback
addresses are used; every loop is bounded.
"""

import argparse
import http.client
import json
import os
import re
import sqlite3
import statistics
import subprocess
import time
import urllib.parse

DAY_MS = 86_400_000


def sql_sqlite(path, org, now_ms, hosts):
    db = sqlite3.connect(path, timeout=60)
    created = now_ms - 2 * DAY_MS
    deadline = now_ms + DAY_MS
    cur = db.cursor()
    cur.execute("INSERT INTO directives (name, command, bundle, deadline_ms, created_ms) "
                "VALUES ('bench', 'check --campaign pulse-secure', NULL, ?, ?)", (deadline, created))
    did = cur.lastrowid
    cur.execute("INSERT INTO directive_orgs (directive_id, org_id) VALUES (?, ?)", (did, org))
    cur.execute(f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {hosts})
        INSERT INTO hosts (org_id, name, token_hash, enrolled_ms)
        SELECT ?, printf('host-%06d', i), printf('bench-token-%d', i), ? FROM n""", (org, created))
    answered = f"({created} + (h.id * 7919 % 100) * {2 * DAY_MS // 100})"
    # One run per answering host (fixed hosts: an affected run, then a clean one).
    cur.execute(f"""
        INSERT INTO runs (org_id, host_id, run_id, directive_id, verb, tool_version, started_ms,
            finished_ms, received_ms, complete, findings, problems, max_severity, report)
        SELECT h.org_id, h.id, 'run-' || h.id, ?, 'check', '0.1.0', {answered}, {answered},
            {answered}, 1, CASE WHEN h.id % 100 < 5 THEN 3 ELSE 0 END, 0,
            CASE WHEN h.id % 100 < 5 THEN 4 ELSE NULL END, '{{}}'
        FROM hosts h WHERE h.org_id = ? AND h.id % 100 < 70 AND h.id % 100 NOT IN (7, 8, 9)""",
                (did, org))
    cur.execute(f"""
        INSERT INTO runs (org_id, host_id, run_id, directive_id, verb, tool_version, started_ms,
            finished_ms, received_ms, complete, findings, problems, max_severity, report)
        SELECT h.org_id, h.id, 'early-' || h.id, ?, 'check', '0.1.0', {answered} - 1000,
            {answered} - 1000, {answered} - 1000, 1, 2, 0, 4, '{{}}'
        FROM hosts h WHERE h.org_id = ? AND h.id % 100 IN (5, 6)""", (did, org))
    cur.execute(f"""
        INSERT INTO directive_results (directive_id, host_id, state, exit_code, message, run_id,
            updated_ms)
        SELECT ?, h.id, 'errored', 2, 'could not start: no such file', NULL, {answered}
        FROM hosts h WHERE h.org_id = ? AND h.id % 100 IN (7, 8, 9)""", (did, org))
    has_rollup = cur.execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'directive_hosts'").fetchone()[0]
    if has_rollup:  # absent on a collector from before the roll-up table (the baseline)
        cur.execute(f"""
            INSERT INTO directive_hosts (directive_id, host_id, org_id, host_name, status, run_pk,
                run_id, findings, prior_affected, answered_ms, verdicts, errored, exit_code, message)
            SELECT ?, h.id, h.org_id, h.name,
                CASE WHEN h.id % 100 < 5 THEN 'affected' WHEN h.id % 100 < 7 THEN 'fixed'
                     WHEN h.id % 100 < 10 THEN 'errored' ELSE 'clean' END,
                r.id, r.run_id, COALESCE(r.findings, 0), CASE WHEN h.id % 100 IN (5, 6) THEN 1 ELSE 0 END,
                {answered},
                CASE WHEN h.id % 100 < 5 THEN '{{"pulse-secure":"affected"}}'
                     WHEN h.id % 100 < 10 THEN NULL ELSE '{{"pulse-secure":"not_found"}}' END,
                CASE WHEN h.id % 100 IN (7, 8, 9) THEN 1 ELSE 0 END,
                CASE WHEN h.id % 100 IN (7, 8, 9) THEN 2 WHEN h.id % 100 < 5 THEN 1 ELSE 0 END,
                CASE WHEN h.id % 100 IN (7, 8, 9) THEN 'could not start: no such file' END
            FROM hosts h LEFT JOIN runs r ON r.host_id = h.id AND r.run_id = 'run-' || h.id
            WHERE h.org_id = ? AND h.id % 100 < 70""", (did, org))
    db.commit()
    db.close()
    return did


def psql(url, sql):
    out = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-qAt", url, "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def sql_postgres(url, schema, org, now_ms, hosts):
    created = now_ms - 2 * DAY_MS
    deadline = now_ms + DAY_MS
    s = schema
    did = int(psql(url, f"INSERT INTO {s}.directives (name, command, bundle, deadline_ms, created_ms) "
                        f"VALUES ('bench', 'check --campaign pulse-secure', NULL, {deadline}, {created}) "
                        "RETURNING id").splitlines()[0])
    answered = f"({created} + (h.id * 7919 % 100) * {2 * DAY_MS // 100})"
    psql(url, f"""
        INSERT INTO {s}.directive_orgs (directive_id, org_id) VALUES ({did}, {org});
        INSERT INTO {s}.hosts (org_id, name, token_hash, enrolled_ms)
        SELECT {org}, 'host-' || lpad(i::text, 6, '0'), 'bench-token-' || i, {created}
        FROM generate_series(1, {hosts}) AS i;
        INSERT INTO {s}.runs (org_id, host_id, run_id, directive_id, verb, tool_version, started_ms,
            finished_ms, received_ms, complete, findings, problems, max_severity, report)
        SELECT h.org_id, h.id, 'run-' || h.id, {did}, 'check', '0.1.0', {answered}, {answered},
            {answered}, 1, CASE WHEN h.id % 100 < 5 THEN 3 ELSE 0 END, 0,
            CASE WHEN h.id % 100 < 5 THEN 4 ELSE NULL END, '{{}}'
        FROM {s}.hosts h WHERE h.org_id = {org} AND h.id % 100 < 70 AND h.id % 100 NOT IN (7, 8, 9);
        INSERT INTO {s}.runs (org_id, host_id, run_id, directive_id, verb, tool_version, started_ms,
            finished_ms, received_ms, complete, findings, problems, max_severity, report)
        SELECT h.org_id, h.id, 'early-' || h.id, {did}, 'check', '0.1.0', {answered} - 1000,
            {answered} - 1000, {answered} - 1000, 1, 2, 0, 4, '{{}}'
        FROM {s}.hosts h WHERE h.org_id = {org} AND h.id % 100 IN (5, 6);
        INSERT INTO {s}.directive_results (directive_id, host_id, state, exit_code, message, run_id,
            updated_ms)
        SELECT {did}, h.id, 'errored', 2, 'could not start: no such file', NULL, {answered}
        FROM {s}.hosts h WHERE h.org_id = {org} AND h.id % 100 IN (7, 8, 9);
        ANALYZE {s}.hosts; ANALYZE {s}.runs; ANALYZE {s}.directive_results;""")
    if psql(url, f"SELECT to_regclass('{s}.directive_hosts') IS NOT NULL") != "t":
        return did  # a collector from before the roll-up table (the baseline)
    psql(url, f"""
        INSERT INTO {s}.directive_hosts (directive_id, host_id, org_id, host_name, status, run_pk,
            run_id, findings, prior_affected, answered_ms, verdicts, errored, exit_code, message)
        SELECT {did}, h.id, h.org_id, h.name,
            CASE WHEN h.id % 100 < 5 THEN 'affected' WHEN h.id % 100 < 7 THEN 'fixed'
                 WHEN h.id % 100 < 10 THEN 'errored' ELSE 'clean' END,
            r.id, r.run_id, COALESCE(r.findings, 0), CASE WHEN h.id % 100 IN (5, 6) THEN 1 ELSE 0 END,
            {answered},
            CASE WHEN h.id % 100 < 5 THEN '{{"pulse-secure":"affected"}}'
                 WHEN h.id % 100 < 10 THEN NULL ELSE '{{"pulse-secure":"not_found"}}' END,
            CASE WHEN h.id % 100 IN (7, 8, 9) THEN 1 ELSE 0 END,
            CASE WHEN h.id % 100 IN (7, 8, 9) THEN 2 WHEN h.id % 100 < 5 THEN 1 ELSE 0 END,
            CASE WHEN h.id % 100 IN (7, 8, 9) THEN 'could not start: no such file' END
        FROM {s}.hosts h LEFT JOIN {s}.runs r ON r.host_id = h.id AND r.run_id = 'run-' || h.id
        WHERE h.org_id = {org} AND h.id % 100 < 70;
        ANALYZE {s}.directive_hosts;""")
    return did


class Conn:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.c = http.client.HTTPConnection(self.host, self.port, timeout=300)

    def req(self, method, path, body=None, headers=None):
        self.c.request(method, path, body=body, headers=headers or {})
        r = self.c.getresponse()
        data = r.read()
        return r, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferret", required=True)
    ap.add_argument("--db", required=True, help="sqlite:PATH or a postgres URL")
    ap.add_argument("--pg-url", help="the PostgreSQL URL psql uses (postgres only)")
    ap.add_argument("--pg-schema", help="the schema the collector uses (postgres only)")
    ap.add_argument("--hosts", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--listen", default="127.0.0.1:18473")
    ap.add_argument("--admin-token-file", required=True)
    args = ap.parse_args()

    proc = subprocess.Popen([args.ferret, "serve", "--db", args.db, "--listen", args.listen,
                             "--admin-token-file", args.admin_token_file],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        c = None
        for _ in range(300):
            try:
                c = Conn(args.listen)
                c.req("GET", "/api/v1/openapi.json")
                break
            except OSError:
                time.sleep(0.1)
        admin = open(args.admin_token_file).read().strip()
        auth = {"authorization": f"Bearer {admin}", "content-type": "application/json"}
        r, body = c.req("POST", "/api/v1/admin/orgs", json.dumps({"name": "bench-agency"}), auth)
        assert r.status == 201, body
        org = json.loads(body)["id"]
        r, body = c.req("POST", "/api/v1/admin/users", json.dumps(
            {"name": "bench", "password": "a long bench password", "org_id": org, "role": "viewer"}), auth)
        assert r.status == 201, body
        now_ms = int(time.time() * 1000)
        t0 = time.time()
        if args.db.startswith("sqlite:"):
            did = sql_sqlite(args.db[len("sqlite:"):].split("?")[0], org, now_ms, args.hosts)
        else:
            did = sql_postgres(args.pg_url, args.pg_schema, org, now_ms, args.hosts)
        print(f"loaded {args.hosts} hosts in {time.time() - t0:.1f} s")

        r, _ = c.req("GET", "/login")
        csrf = r.getheader("set-cookie").split("ferret_login_csrf=")[1].split(";")[0]
        r, _ = c.req("POST", "/login", urllib.parse.urlencode(
            {"user": "bench", "password": "a long bench password", "csrf": csrf}),
            {"content-type": "application/x-www-form-urlencoded",
             "cookie": f"ferret_login_csrf={csrf}"})
        assert r.status == 303, r.status
        session = next(v for k, v in r.getheaders() if k.lower() == "set-cookie"
                       and v.startswith("ferret_session=")).split("=", 1)[1].split(";")[0]
        cookie = {"cookie": f"ferret_session={session}"}
        page = f"/o/{org}/directives/{did}"
        # A deep page: the keyset cursor of the host 90% down the list.
        r, body = c.req("GET", page, headers=cookie)
        assert r.status == 200, body[:500]
        text = body.decode()
        assert "affected (" in text and "pending (" in text, text[:2000]
        if r.getheader("server-timing") is None:
            # A collector without the paginated page (the baseline): one page of every host,
            # timed at the client only.
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                r, body = c.req("GET", page, headers=cookie)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status == 200
            print(f"baseline page (every host on one page) bytes={len(body)} client median "
                  f"{statistics.median(times):.0f} ms, max {max(times):.0f} ms ({args.runs} runs)")
            return
        deep_name = f"host-{int(args.hosts * 0.9):06d}"
        variants = [
            ("first page", page),
            ("deep page (90%)", f"{page}?after={deep_name}&after_id=0"),
            ("status=affected", f"{page}?status=affected"),
            ("status=errored", f"{page}?status=errored"),
            ("status=pending", f"{page}?status=pending"),
            ("status=clean, deep", f"{page}?status=clean&after={deep_name}&after_id=0"),
            ("host=host-0999 (name filter)", f"{page}?host=host-0999"),
            ("status=fixed&host=77", f"{page}?status=fixed&host=77"),
            ("host=no-such-host (scans all)", f"{page}?host=no-such-host"),
        ]
        results = {}
        for name, path in variants:
            server_total, server_store, client = [], [], []
            rows = None
            for _ in range(args.runs):
                t = time.perf_counter()
                r, body = c.req("GET", path, headers=cookie)
                client.append((time.perf_counter() - t) * 1000)
                assert r.status == 200, (path, r.status)
                timing = r.getheader("server-timing")
                server_store.append(float(re.search(r"store;dur=([0-9.]+)", timing).group(1)))
                server_total.append(float(re.search(r"total;dur=([0-9.]+)", timing).group(1)))
                rows = body.decode().split("<table class=\"rollup\">")[1].count("<tr>") - 1
            results[name] = {
                "rows": rows, "bytes": len(body),
                "server_total_ms_median": round(statistics.median(server_total), 1),
                "server_store_ms_median": round(statistics.median(server_store), 1),
                "client_ms_median": round(statistics.median(client), 1),
                "server_total_ms_max": round(max(server_total), 1),
                "runs": args.runs,
            }
            print(f"{name:32s} rows={rows:4d} bytes={len(body):7d} server median "
                  f"{results[name]['server_total_ms_median']:7.1f} ms (store "
                  f"{results[name]['server_store_ms_median']:7.1f}, max "
                  f"{results[name]['server_total_ms_max']:7.1f}) client median "
                  f"{results[name]['client_ms_median']:7.1f} ms")
        for fmt in ("csv", "json"):
            times, size = [], 0
            for _ in range(3):
                t = time.perf_counter()
                r, body = c.req("GET", f"{page}/export?format={fmt}", headers=cookie)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status == 200
                size = len(body)
            lines = body.count(b"\n")
            print(f"export {fmt:4s} bytes={size} lines={lines} client median "
                  f"{statistics.median(times):.0f} ms (3 runs)")
        rss = open(f"/proc/{proc.pid}/status").read()
        print("collector " + " ".join(l.replace("\t", " ") for l in rss.splitlines()
                                        if l.startswith("VmHWM")))
        print(json.dumps({"hosts": args.hosts, "pages": results}))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
