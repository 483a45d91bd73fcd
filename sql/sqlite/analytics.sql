-- Analytics store schema (SQLite). Applied by `jobads init`; idempotent.
--
-- fact_hourly holds additive measures only, at the grain
-- (hour_start, campaign_id, publisher_id, industry, location, device), so that
-- any KPI over any range is a ratio of sums, and the original's avg_* columns
-- (plain means of per-record ratios) are sum / records.
CREATE TABLE IF NOT EXISTS fact_hourly (
    hour_start   INTEGER NOT NULL,  -- unix seconds UTC, multiple of 3600
    campaign_id  INTEGER NOT NULL,
    publisher_id INTEGER NOT NULL,
    industry     TEXT    NOT NULL,
    location     TEXT    NOT NULL,
    device       TEXT    NOT NULL,
    records      INTEGER NOT NULL,
    impressions  INTEGER NOT NULL,
    clicks       INTEGER NOT NULL,
    applies      INTEGER NOT NULL,
    cost_micros  INTEGER NOT NULL,
    quality_sum  INTEGER NOT NULL,
    ctr_sum      REAL    NOT NULL,  -- sum of per-record clicks/impressions (0 if none)
    cpc_sum      REAL    NOT NULL,  -- sum of per-record cost/clicks
    cpa_sum      REAL    NOT NULL,  -- sum of per-record cost/apply_count
    roi_sum      REAL    NOT NULL,  -- sum of per-record apply_count/cost
    PRIMARY KEY (hour_start, campaign_id, publisher_id, industry, location, device)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dim_publisher (
    publisher_id      INTEGER PRIMARY KEY,
    publisher_name    TEXT    NOT NULL,
    publisher_traffic TEXT,
    publisher_quality TEXT,
    last_seq          INTEGER NOT NULL  -- seq of the event the name was taken from
);

-- The ETL cursor: moved in the same transaction as the deltas it covers.
CREATE TABLE IF NOT EXISTS etl_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cursor     INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
);
INSERT OR IGNORE INTO etl_state (id, cursor, updated_at)
VALUES (1, 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE IF NOT EXISTS etl_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger        TEXT    NOT NULL,  -- schedule, manual, api
    attempt        INTEGER NOT NULL,
    state          TEXT    NOT NULL,  -- running, success, failed, retrying
    started_at     TEXT    NOT NULL,
    finished_at    TEXT,
    events_read    INTEGER NOT NULL DEFAULT 0,
    groups_written INTEGER NOT NULL DEFAULT 0,
    cursor_from    INTEGER,
    cursor_to      INTEGER,
    error          TEXT,
    owner          TEXT               -- host:pid:space:instance of the process that ran it
);

-- A run with nothing new is recorded too, so the table grows with every slot:
-- finding runs left 'running' must not scan it.
CREATE INDEX IF NOT EXISTS etl_runs_state ON etl_runs (state);

-- The run lock: one run at a time across every process sharing this store.
-- Taken and renewed in BEGIN IMMEDIATE transactions; a holder whose lease ran
-- out (or whose process is found dead on the same host) loses it.
CREATE TABLE IF NOT EXISTS etl_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    owner       TEXT    NOT NULL,   -- '' when free
    acquired_ms INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
);
INSERT OR IGNORE INTO etl_lock (id, owner, acquired_ms, expires_ms) VALUES (1, '', 0, 0);

-- The reporting time zone (docs/architecture.md, "The reporting time zone"): its
-- IANA name, and its UTC offsets as intervals [from_s, to_s) written by `jobads
-- init --tz` (1900..2100, the ends standing for ever). An event is in the local
-- hour it happened in: fact_hourly.hour_start is the UTC instant that local hour
-- starts. The views and report queries join tz_offsets for the local hour of
-- day, weekday and day. A store made before it is UTC.
CREATE TABLE IF NOT EXISTS tz_zone (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT    NOT NULL
);
INSERT OR IGNORE INTO tz_zone (id, name) VALUES (1, 'UTC');
CREATE TABLE IF NOT EXISTS tz_offsets (
    from_s   INTEGER PRIMARY KEY,
    to_s     INTEGER NOT NULL,
    offset_s INTEGER NOT NULL
);
INSERT INTO tz_offsets (from_s, to_s, offset_s)
SELECT -4611686018427387904, 4611686018427387904, 0
WHERE NOT EXISTS (SELECT 1 FROM tz_offsets);

-- The views that read local time are made again by every init (version 3 ones
-- read UTC).
DROP VIEW IF EXISTS fact_hourly_kpi;
DROP VIEW IF EXISTS hourly_stats;
DROP VIEW IF EXISTS daily_stats;

-- Every fact row with its time parts and the KPIs as ratios of sums (NULL on a
-- zero denominator). ROI keeps the original's meaning: applies per unit of cost.
CREATE VIEW fact_hourly_kpi AS
SELECT f.*,
       strftime('%Y-%m-%dT%H:%M:%SZ', hour_start, 'unixepoch') AS hour_start_utc,
       ((hour_start + z.offset_s) / 3600) % 24 AS hour_of_day,
       (((hour_start + z.offset_s) / 86400) + 3) % 7 + 1 AS day_of_week,
       cost_micros / 1000000.0 AS spend,
       clicks * 1.0 / NULLIF(impressions, 0) AS ctr,
       cost_micros / 1000000.0 / NULLIF(clicks, 0) AS cpc,
       cost_micros / 1000000.0 / NULLIF(applies, 0) AS cpa,
       applies * 1.0 / NULLIF(clicks, 0) AS apply_rate,
       applies / NULLIF(cost_micros / 1000000.0, 0) AS roi
FROM tz_offsets z CROSS JOIN fact_hourly f
    ON f.hour_start >= z.from_s AND f.hour_start < z.to_s;

CREATE VIEW IF NOT EXISTS kpi_total AS
SELECT COALESCE(SUM(records), 0) AS records,
       COALESCE(SUM(impressions), 0) AS impressions,
       COALESCE(SUM(clicks), 0) AS clicks,
       COALESCE(SUM(applies), 0) AS applies,
       COALESCE(SUM(cost_micros), 0) AS cost_micros,
       COALESCE(SUM(cost_micros), 0) / 1000000.0 AS spend,
       SUM(clicks) * 1.0 / NULLIF(SUM(impressions), 0) AS ctr,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(clicks), 0) AS cpc,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(applies), 0) AS cpa,
       SUM(applies) * 1.0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) / NULLIF(SUM(cost_micros) / 1000000.0, 0) AS roi
FROM fact_hourly;

CREATE VIEW IF NOT EXISTS kpi_device AS
SELECT device, SUM(records) AS records, SUM(impressions) AS impressions,
       SUM(clicks) AS clicks, SUM(applies) AS applies, SUM(cost_micros) AS cost_micros,
       SUM(cost_micros) / 1000000.0 AS spend,
       SUM(clicks) * 1.0 / NULLIF(SUM(impressions), 0) AS ctr,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(clicks), 0) AS cpc,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(applies), 0) AS cpa,
       SUM(applies) * 1.0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) / NULLIF(SUM(cost_micros) / 1000000.0, 0) AS roi
FROM fact_hourly GROUP BY device;

-- Seed-compatible views: the original's names, columns and definitions over all
-- processed events (avg_* = plain mean of per-record ratios), then the correct
-- KPI columns beside them.
-- campaign_summary: in the campaigns block at the end, with the name.

CREATE VIEW IF NOT EXISTS publisher_summary AS
SELECT f.publisher_id,
       (SELECT d.publisher_name FROM dim_publisher d WHERE d.publisher_id = f.publisher_id)
           AS publisher_name,
       SUM(impressions) AS total_impressions,
       SUM(clicks) AS total_clicks,
       SUM(applies) AS total_applies,
       SUM(quality_sum) * 1.0 / SUM(records) AS avg_quality_score,
       SUM(ctr_sum) / SUM(records) AS avg_ctr,
       SUM(cpc_sum) / SUM(records) AS avg_cpc,
       SUM(cpa_sum) / SUM(records) AS avg_cpa,
       SUM(roi_sum) / SUM(records) AS avg_roi,
       SUM(records) AS records,
       SUM(cost_micros) AS cost_micros,
       SUM(cost_micros) / 1000000.0 AS spend,
       SUM(clicks) * 1.0 / NULLIF(SUM(impressions), 0) AS ctr,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(clicks), 0) AS cpc,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(applies), 0) AS cpa,
       SUM(applies) * 1.0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) / NULLIF(SUM(cost_micros) / 1000000.0, 0) AS roi
FROM fact_hourly f GROUP BY f.publisher_id;

CREATE VIEW IF NOT EXISTS industry_summary AS
SELECT industry,
       SUM(clicks) AS clicks,
       SUM(applies) AS applications,
       SUM(quality_sum) * 1.0 / SUM(records) AS quality,
       SUM(records) AS records,
       SUM(impressions) AS impressions,
       SUM(cost_micros) AS cost_micros,
       SUM(cost_micros) / 1000000.0 AS spend,
       SUM(clicks) * 1.0 / NULLIF(SUM(impressions), 0) AS ctr,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(clicks), 0) AS cpc,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(applies), 0) AS cpa,
       SUM(applies) * 1.0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) / NULLIF(SUM(cost_micros) / 1000000.0, 0) AS roi
FROM fact_hourly GROUP BY industry;

CREATE VIEW hourly_stats AS
SELECT ((hour_start + z.offset_s) / 3600) % 24 AS hour,
       SUM(impressions) AS impressions,
       SUM(clicks) AS clicks,
       SUM(applies) AS applies,
       SUM(records) AS records,
       SUM(cost_micros) AS cost_micros,
       SUM(clicks) * 1.0 / NULLIF(SUM(impressions), 0) AS ctr,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(clicks), 0) AS cpc,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(applies), 0) AS cpa,
       SUM(applies) * 1.0 / NULLIF(SUM(clicks), 0) AS apply_rate
FROM tz_offsets z CROSS JOIN fact_hourly f
    ON f.hour_start >= z.from_s AND f.hour_start < z.to_s GROUP BY 1;

CREATE VIEW daily_stats AS
SELECT (((hour_start + z.offset_s) / 86400) + 3) % 7 + 1 AS day_of_week,
       SUM(clicks) AS clicks,
       SUM(applies) AS applies,
       SUM(records) AS records,
       SUM(impressions) AS impressions,
       SUM(cost_micros) AS cost_micros,
       SUM(clicks) * 1.0 / NULLIF(SUM(impressions), 0) AS ctr,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(clicks), 0) AS cpc,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(applies), 0) AS cpa,
       SUM(applies) * 1.0 / NULLIF(SUM(clicks), 0) AS apply_rate
FROM tz_offsets z CROSS JOIN fact_hourly f
    ON f.hour_start >= z.from_s AND f.hour_start < z.to_s GROUP BY 1;

-- Retention (jobads prune, issue 16; version 5). raw_from: the fact-hour start
-- (unix seconds) before which raw events may have been pruned, NULL when never;
-- the facts of the hours before it hold every event before it with seq <=
-- kept_upto, and later ones as the cursor reaches them. verify checks and
-- rebuild recomputes only the hours from raw_from on.
CREATE TABLE IF NOT EXISTS etl_retention (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    raw_from  INTEGER,
    kept_upto INTEGER NOT NULL
);
INSERT OR IGNORE INTO etl_retention (id, raw_from, kept_upto) VALUES (1, NULL, 0);

-- ---- Campaigns (schema 6, issue 17) ----------------------------------------
-- A campaign's name, flight and budget (docs/architecture.md, "Campaigns"):
-- set by `jobads campaign`, PUT /api/campaigns/ID. Dates are days of the
-- reporting time zone's calendar ('YYYY-MM-DD', end inclusive); the budget is
-- micros of the cost currency per budget_per (day, month, flight), both NULL
-- when there is none. campaign_summary is defined once, here after dim_campaign,
-- and always dropped first, so that an older store's view without the name is
-- replaced; the name is its last column so that readers of the older columns keep
-- working.
CREATE TABLE IF NOT EXISTS dim_campaign (
    campaign_id   INTEGER PRIMARY KEY,
    name          TEXT,
    start_date    TEXT,
    end_date      TEXT,
    budget_micros INTEGER CHECK (budget_micros >= 0),
    budget_per    TEXT    CHECK (budget_per IN ('day', 'month', 'flight')),
    CHECK ((budget_micros IS NULL) = (budget_per IS NULL)),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
DROP VIEW IF EXISTS campaign_summary;
CREATE VIEW campaign_summary AS
SELECT f.campaign_id,
       SUM(impressions) AS total_impressions,
       SUM(clicks) AS total_clicks,
       SUM(applies) AS total_applies,
       SUM(ctr_sum) / SUM(records) AS avg_ctr,
       SUM(cpc_sum) / SUM(records) AS avg_cpc,
       SUM(cpa_sum) / SUM(records) AS avg_cpa,
       SUM(roi_sum) / SUM(records) AS avg_roi,
       SUM(records) AS records,
       SUM(cost_micros) AS cost_micros,
       SUM(cost_micros) / 1000000.0 AS spend,
       SUM(clicks) * 1.0 / NULLIF(SUM(impressions), 0) AS ctr,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(clicks), 0) AS cpc,
       SUM(cost_micros) / 1000000.0 / NULLIF(SUM(applies), 0) AS cpa,
       SUM(applies) * 1.0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) / NULLIF(SUM(cost_micros) / 1000000.0, 0) AS roi,
       (SELECT c.name FROM dim_campaign c WHERE c.campaign_id = f.campaign_id)
           AS campaign_name
FROM fact_hourly f GROUP BY f.campaign_id;
-- ---- end of campaigns --------------------------------------------------------

PRAGMA user_version = 6;
