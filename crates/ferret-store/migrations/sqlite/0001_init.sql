-- ferret collector schema, SQLite. Times are Unix milliseconds (UTC); booleans are 0/1.
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);
CREATE TABLE enrolment_secrets (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    secret_hash TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);
CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_ms INTEGER NOT NULL,
    last_seen_ms INTEGER
);
CREATE INDEX hosts_org ON hosts(org_id, name);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id),
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, org_id)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE TABLE admin_tokens (
    token_hash TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    run_id TEXT NOT NULL,
    directive_id INTEGER,
    verb TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    exe_sha256 TEXT,
    ruleset_sha256 TEXT,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    problems INTEGER NOT NULL,
    max_severity INTEGER,
    report TEXT NOT NULL,
    UNIQUE (host_id, run_id)
);
CREATE INDEX runs_org_host ON runs(org_id, host_id, finished_ms);
CREATE INDEX runs_directive ON runs(directive_id, host_id);
CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    run_pk INTEGER NOT NULL REFERENCES runs(id),
    org_id INTEGER NOT NULL,
    host_id INTEGER NOT NULL,
    engine TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    severity INTEGER NOT NULL,
    score INTEGER NOT NULL,
    path TEXT,
    time_ms INTEGER,
    message TEXT,
    evidence TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX findings_run ON findings(run_pk);
CREATE INDEX findings_org ON findings(org_id, severity);
CREATE TABLE directives (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    command TEXT NOT NULL,
    bundle BLOB,
    deadline_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE directive_orgs (
    directive_id INTEGER NOT NULL REFERENCES directives(id),
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (directive_id, org_id)
);
CREATE TABLE directive_results (
    directive_id INTEGER NOT NULL REFERENCES directives(id),
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    state TEXT NOT NULL,
    exit_code INTEGER,
    message TEXT,
    run_id TEXT,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (directive_id, host_id)
)
