-- A directive's roll-up, one row per host that answered it, kept up to date by ingest and
-- record_outcome so that counts, pages and exports of a 100,000-host directive are index
-- scans. A host with no row (or a row whose status is NULL: an outcome that decides
-- nothing) has not answered: pending before the deadline, not answered after it.
-- status: affected, clean, fixed (clean now, affected before) or errored.
-- verdicts: the campaign verdicts of a `check` run, a JSON object campaign -> verdict.
-- Rows for runs and outcomes stored before this migration are filled in by the store
-- right after it (the verdicts need the stored reports parsed).
CREATE TABLE directive_hosts (
    directive_id INTEGER NOT NULL REFERENCES directives(id),
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    org_id INTEGER NOT NULL,
    host_name TEXT NOT NULL,
    status TEXT,
    run_pk INTEGER,
    run_id TEXT,
    findings INTEGER NOT NULL DEFAULT 0,
    prior_affected INTEGER NOT NULL DEFAULT 0,
    answered_ms INTEGER,
    verdicts TEXT,
    errored INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    message TEXT,
    PRIMARY KEY (directive_id, host_id)
);
-- The page filtered by status, in host-name order.
CREATE INDEX directive_hosts_status_name ON directive_hosts(directive_id, org_id, status, host_name, host_id);
-- Counts per status and the chart over time, from the index alone.
CREATE INDEX directive_hosts_status_time ON directive_hosts(directive_id, org_id, status, answered_ms)
