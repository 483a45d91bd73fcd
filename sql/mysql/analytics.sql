-- Analytics store schema (MySQL 8 / MariaDB 10.5+). Applied by `jobads init`;
-- idempotent. Default database: ads_analytics, the original's. To apply by hand:
--   mariadb ads_analytics < sql/mysql/analytics.sql
-- (on MySQL 8, replace utf8mb4_nopad_bin by utf8mb4_0900_bin: `jobads init`
-- does so itself).
--
-- The same tables and views as sql/sqlite/analytics.sql. Money is BIGINT micros
-- in tables and DECIMAL in views. The views' integer totals are DECIMAL(38, 0):
-- SUM over BIGINT is exact, and a cast to SIGNED would clip a total past int64
-- to its limit without an error. Text compares bytewise (utf8mb4_nopad_bin), so
-- the primary key's order is the C aggregation's grain order.
--
-- fact_hourly holds additive measures only, at the grain
-- (hour_start, campaign_id, publisher_id, industry, location, device). The
-- primary key leads with hour_start, so a dashboard query over 7 days reads
-- only those days' rows (a range of the clustered index).
CREATE TABLE IF NOT EXISTS fact_hourly (
    hour_start   BIGINT       NOT NULL,  -- unix seconds UTC, multiple of 3600
    campaign_id  INT          NOT NULL,
    publisher_id INT          NOT NULL,
    industry     VARCHAR(100) NOT NULL,
    location     VARCHAR(100) NOT NULL,
    device       VARCHAR(50)  NOT NULL,
    records      BIGINT       NOT NULL,
    impressions  BIGINT       NOT NULL,
    clicks       BIGINT       NOT NULL,
    applies      BIGINT       NOT NULL,
    cost_micros  BIGINT       NOT NULL,
    quality_sum  BIGINT       NOT NULL,
    ctr_sum      DOUBLE       NOT NULL,  -- sum of per-record clicks/impressions (0 if none)
    cpc_sum      DOUBLE       NOT NULL,  -- sum of per-record cost/clicks
    cpa_sum      DOUBLE       NOT NULL,  -- sum of per-record cost/apply_count
    roi_sum      DOUBLE       NOT NULL,  -- sum of per-record apply_count/cost
    PRIMARY KEY (hour_start, campaign_id, publisher_id, industry, location, device)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS dim_publisher (
    publisher_id      INT          NOT NULL PRIMARY KEY,
    publisher_name    VARCHAR(200) NOT NULL,
    publisher_traffic VARCHAR(16)  NULL,
    publisher_quality VARCHAR(16)  NULL,
    last_seq          BIGINT       NOT NULL  -- seq of the event the name was taken from
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;

-- The ETL cursor: moved in the same transaction as the deltas it covers.
-- (`cursor` is a reserved word in MySQL: quote it.)
CREATE TABLE IF NOT EXISTS etl_state (
    id         INT         NOT NULL PRIMARY KEY CHECK (id = 1),
    `cursor`   BIGINT      NOT NULL,
    updated_at DATETIME(3) NOT NULL  -- UTC
) ENGINE = InnoDB;
INSERT IGNORE INTO etl_state (id, `cursor`, updated_at) VALUES (1, 0, UTC_TIMESTAMP(3));

CREATE TABLE IF NOT EXISTS etl_runs (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    `trigger`      VARCHAR(16)  NOT NULL,  -- schedule, manual, api
    attempt        INT          NOT NULL,
    state          VARCHAR(16)  NOT NULL,  -- running, success, failed, retrying
    owner          VARCHAR(128) NOT NULL DEFAULT '',  -- the run lock holder's host:pid:space:instance
    started_at     DATETIME(3)  NOT NULL,  -- UTC
    finished_at    DATETIME(3)  NULL,
    events_read    BIGINT       NOT NULL DEFAULT 0,
    groups_written BIGINT       NOT NULL DEFAULT 0,
    cursor_from    BIGINT       NULL,
    cursor_to      BIGINT       NULL,
    error          TEXT         NULL,
    KEY etl_runs_state (state)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;

-- The run lock (jobads schedule): one row, taken under SELECT ... FOR UPDATE.
-- owner '' is free; times are unix milliseconds of the caller's clock.
CREATE TABLE IF NOT EXISTS etl_lock (
    id          INT          NOT NULL PRIMARY KEY CHECK (id = 1),
    owner       VARCHAR(128) NOT NULL DEFAULT '',
    acquired_ms BIGINT       NOT NULL DEFAULT 0,
    expires_ms  BIGINT       NOT NULL DEFAULT 0
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
INSERT IGNORE INTO etl_lock (id, owner, acquired_ms, expires_ms) VALUES (1, '', 0, 0);

-- The reporting time zone (docs/architecture.md, "The reporting time zone"): its
-- IANA name, and its UTC offsets as intervals [from_s, to_s) written by `jobads
-- init --tz` (1900..2100, the ends standing for ever). fact_hourly.hour_start is
-- the UTC instant the event's local hour starts; the views and report queries
-- join tz_offsets for the local hour of day, weekday and day. A store made
-- before it is UTC.
CREATE TABLE IF NOT EXISTS tz_zone (
    id   INT          NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL
) ENGINE = InnoDB;
INSERT IGNORE INTO tz_zone (id, name) VALUES (1, 'UTC');
CREATE TABLE IF NOT EXISTS tz_offsets (
    from_s   BIGINT NOT NULL PRIMARY KEY,
    to_s     BIGINT NOT NULL,
    offset_s INT    NOT NULL
) ENGINE = InnoDB;
INSERT INTO tz_offsets (from_s, to_s, offset_s)
SELECT -4611686018427387904, 4611686018427387904, 0 FROM DUAL
WHERE NOT EXISTS (SELECT 1 FROM tz_offsets);

-- Every fact row with its time parts and the KPIs as ratios of sums (NULL on a
-- zero denominator). ROI keeps the original's meaning: applies per unit of cost.
-- Money (spend, cpc, cpa) is DECIMAL; rates are DOUBLE.
CREATE OR REPLACE VIEW fact_hourly_kpi AS
SELECT f.*,
       TIMESTAMPADD(SECOND, hour_start, '1970-01-01 00:00:00') AS hour_start_utc,
       ((hour_start + z.offset_s) DIV 3600) % 24 AS hour_of_day,
       (((hour_start + z.offset_s) DIV 86400) + 3) % 7 + 1 AS day_of_week,
       CAST(CAST(cost_micros AS DECIMAL(30, 6)) / 1000000 AS DECIMAL(24, 6)) AS spend,
       clicks * 1e0 / NULLIF(impressions, 0) AS ctr,
       CAST(CAST(cost_micros AS DECIMAL(30, 6)) / 1000000 / NULLIF(clicks, 0) AS DECIMAL(24, 6)) AS cpc,
       CAST(CAST(cost_micros AS DECIMAL(30, 6)) / 1000000 / NULLIF(applies, 0) AS DECIMAL(24, 6)) AS cpa,
       applies * 1e0 / NULLIF(clicks, 0) AS apply_rate,
       applies * 1e0 / NULLIF(cost_micros / 1e6, 0) AS roi
FROM tz_offsets z STRAIGHT_JOIN fact_hourly f
    ON f.hour_start >= z.from_s AND f.hour_start < z.to_s;

CREATE OR REPLACE VIEW kpi_total AS
SELECT CAST(COALESCE(SUM(records), 0) AS DECIMAL(38, 0)) AS records,
       CAST(COALESCE(SUM(impressions), 0) AS DECIMAL(38, 0)) AS impressions,
       CAST(COALESCE(SUM(clicks), 0) AS DECIMAL(38, 0)) AS clicks,
       CAST(COALESCE(SUM(applies), 0) AS DECIMAL(38, 0)) AS applies,
       CAST(COALESCE(SUM(cost_micros), 0) AS DECIMAL(38, 0)) AS cost_micros,
       CAST(CAST(COALESCE(SUM(cost_micros), 0) AS DECIMAL(30, 6)) / 1000000 AS DECIMAL(24, 6)) AS spend,
       SUM(clicks) * 1e0 / NULLIF(SUM(impressions), 0) AS ctr,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(clicks), 0) AS DECIMAL(24, 6)) AS cpc,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(applies), 0) AS DECIMAL(24, 6)) AS cpa,
       SUM(applies) * 1e0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) * 1e0 / NULLIF(SUM(cost_micros) / 1e6, 0) AS roi
FROM fact_hourly;

CREATE OR REPLACE VIEW kpi_device AS
SELECT device, CAST(SUM(records) AS DECIMAL(38, 0)) AS records,
       CAST(SUM(impressions) AS DECIMAL(38, 0)) AS impressions,
       CAST(SUM(clicks) AS DECIMAL(38, 0)) AS clicks, CAST(SUM(applies) AS DECIMAL(38, 0)) AS applies,
       CAST(SUM(cost_micros) AS DECIMAL(38, 0)) AS cost_micros,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 AS DECIMAL(24, 6)) AS spend,
       SUM(clicks) * 1e0 / NULLIF(SUM(impressions), 0) AS ctr,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(clicks), 0) AS DECIMAL(24, 6)) AS cpc,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(applies), 0) AS DECIMAL(24, 6)) AS cpa,
       SUM(applies) * 1e0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) * 1e0 / NULLIF(SUM(cost_micros) / 1e6, 0) AS roi
FROM fact_hourly GROUP BY device;

-- Seed-compatible views: the original's names, columns and definitions over all
-- processed events (avg_* = plain mean of per-record ratios), then the correct
-- KPI columns beside them.
-- campaign_summary: in the campaigns block at the end, with the name.

CREATE OR REPLACE VIEW publisher_summary AS
SELECT f.publisher_id,
       (SELECT d.publisher_name FROM dim_publisher d WHERE d.publisher_id = f.publisher_id)
           AS publisher_name,
       CAST(SUM(impressions) AS DECIMAL(38, 0)) AS total_impressions,
       CAST(SUM(clicks) AS DECIMAL(38, 0)) AS total_clicks,
       CAST(SUM(applies) AS DECIMAL(38, 0)) AS total_applies,
       SUM(quality_sum) * 1e0 / SUM(records) AS avg_quality_score,
       SUM(ctr_sum) / SUM(records) AS avg_ctr,
       SUM(cpc_sum) / SUM(records) AS avg_cpc,
       SUM(cpa_sum) / SUM(records) AS avg_cpa,
       SUM(roi_sum) / SUM(records) AS avg_roi,
       CAST(SUM(records) AS DECIMAL(38, 0)) AS records,
       CAST(SUM(cost_micros) AS DECIMAL(38, 0)) AS cost_micros,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 AS DECIMAL(24, 6)) AS spend,
       SUM(clicks) * 1e0 / NULLIF(SUM(impressions), 0) AS ctr,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(clicks), 0) AS DECIMAL(24, 6)) AS cpc,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(applies), 0) AS DECIMAL(24, 6)) AS cpa,
       SUM(applies) * 1e0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) * 1e0 / NULLIF(SUM(cost_micros) / 1e6, 0) AS roi
FROM fact_hourly f GROUP BY f.publisher_id;

CREATE OR REPLACE VIEW industry_summary AS
SELECT industry,
       CAST(SUM(clicks) AS DECIMAL(38, 0)) AS clicks,
       CAST(SUM(applies) AS DECIMAL(38, 0)) AS applications,
       SUM(quality_sum) * 1e0 / SUM(records) AS quality,
       CAST(SUM(records) AS DECIMAL(38, 0)) AS records,
       CAST(SUM(impressions) AS DECIMAL(38, 0)) AS impressions,
       CAST(SUM(cost_micros) AS DECIMAL(38, 0)) AS cost_micros,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 AS DECIMAL(24, 6)) AS spend,
       SUM(clicks) * 1e0 / NULLIF(SUM(impressions), 0) AS ctr,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(clicks), 0) AS DECIMAL(24, 6)) AS cpc,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(applies), 0) AS DECIMAL(24, 6)) AS cpa,
       SUM(applies) * 1e0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) * 1e0 / NULLIF(SUM(cost_micros) / 1e6, 0) AS roi
FROM fact_hourly GROUP BY industry;

CREATE OR REPLACE VIEW hourly_stats AS
SELECT ((hour_start + z.offset_s) DIV 3600) % 24 AS hour,
       CAST(SUM(impressions) AS DECIMAL(38, 0)) AS impressions,
       CAST(SUM(clicks) AS DECIMAL(38, 0)) AS clicks,
       CAST(SUM(applies) AS DECIMAL(38, 0)) AS applies,
       CAST(SUM(records) AS DECIMAL(38, 0)) AS records,
       CAST(SUM(cost_micros) AS DECIMAL(38, 0)) AS cost_micros,
       SUM(clicks) * 1e0 / NULLIF(SUM(impressions), 0) AS ctr,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(clicks), 0) AS DECIMAL(24, 6)) AS cpc,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(applies), 0) AS DECIMAL(24, 6)) AS cpa,
       SUM(applies) * 1e0 / NULLIF(SUM(clicks), 0) AS apply_rate
FROM tz_offsets z STRAIGHT_JOIN fact_hourly f
    ON f.hour_start >= z.from_s AND f.hour_start < z.to_s
GROUP BY ((hour_start + z.offset_s) DIV 3600) % 24;

CREATE OR REPLACE VIEW daily_stats AS
SELECT (((hour_start + z.offset_s) DIV 86400) + 3) % 7 + 1 AS day_of_week,
       CAST(SUM(clicks) AS DECIMAL(38, 0)) AS clicks,
       CAST(SUM(applies) AS DECIMAL(38, 0)) AS applies,
       CAST(SUM(records) AS DECIMAL(38, 0)) AS records,
       CAST(SUM(impressions) AS DECIMAL(38, 0)) AS impressions,
       CAST(SUM(cost_micros) AS DECIMAL(38, 0)) AS cost_micros,
       SUM(clicks) * 1e0 / NULLIF(SUM(impressions), 0) AS ctr,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(clicks), 0) AS DECIMAL(24, 6)) AS cpc,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(applies), 0) AS DECIMAL(24, 6)) AS cpa,
       SUM(applies) * 1e0 / NULLIF(SUM(clicks), 0) AS apply_rate
FROM tz_offsets z STRAIGHT_JOIN fact_hourly f
    ON f.hour_start >= z.from_s AND f.hour_start < z.to_s
GROUP BY (((hour_start + z.offset_s) DIV 86400) + 3) % 7 + 1;

CREATE TABLE IF NOT EXISTS jobads_schema (
    store   VARCHAR(16) NOT NULL PRIMARY KEY,
    version INT         NOT NULL
) ENGINE = InnoDB;
-- Version 2 added the time zone (tz_zone, tz_offsets and the views reading them).
-- Version 3: retention (jobads prune, issue 16). raw_from: the fact-hour start
-- (unix seconds) before which raw events may have been pruned, NULL when never;
-- the facts of the hours before it hold every event before it with seq <=
-- kept_upto, and later ones as the cursor reaches them.
CREATE TABLE IF NOT EXISTS etl_retention (
    id        INT    NOT NULL PRIMARY KEY CHECK (id = 1),
    raw_from  BIGINT NULL,
    kept_upto BIGINT NOT NULL
) ENGINE = InnoDB;
INSERT IGNORE INTO etl_retention (id, raw_from, kept_upto) VALUES (1, NULL, 0);
INSERT INTO jobads_schema (store, version) VALUES ('analytics', 3)
ON DUPLICATE KEY UPDATE version = GREATEST(version, 3);
-- ---- Campaigns (schema 4, issue 17) ----------------------------------------
-- A campaign's name, flight and budget (docs/architecture.md, "Campaigns"):
-- set by `jobads campaign`, PUT /api/campaigns/ID. Dates are days of the
-- reporting time zone's calendar (end inclusive); the budget is micros of the
-- cost currency per budget_per (day, month, flight), both NULL when there is
-- none. campaign_summary is defined once, here after dim_campaign, and always
-- replaced, so that an older store's view without the name is; the name is its
-- last column so that readers of the older columns keep working.
CREATE TABLE IF NOT EXISTS dim_campaign (
    campaign_id   INT          NOT NULL PRIMARY KEY,
    name          VARCHAR(200) NULL,
    start_date    DATE         NULL,
    end_date      DATE         NULL,
    budget_micros BIGINT       NULL CHECK (budget_micros >= 0),
    budget_per    VARCHAR(8)   NULL CHECK (budget_per IN ('day', 'month', 'flight')),
    CHECK ((budget_micros IS NULL) = (budget_per IS NULL)),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
CREATE OR REPLACE VIEW campaign_summary AS
SELECT f.campaign_id,
       CAST(SUM(impressions) AS DECIMAL(38, 0)) AS total_impressions,
       CAST(SUM(clicks) AS DECIMAL(38, 0)) AS total_clicks,
       CAST(SUM(applies) AS DECIMAL(38, 0)) AS total_applies,
       SUM(ctr_sum) / SUM(records) AS avg_ctr,
       SUM(cpc_sum) / SUM(records) AS avg_cpc,
       SUM(cpa_sum) / SUM(records) AS avg_cpa,
       SUM(roi_sum) / SUM(records) AS avg_roi,
       CAST(SUM(records) AS DECIMAL(38, 0)) AS records,
       CAST(SUM(cost_micros) AS DECIMAL(38, 0)) AS cost_micros,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 AS DECIMAL(24, 6)) AS spend,
       SUM(clicks) * 1e0 / NULLIF(SUM(impressions), 0) AS ctr,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(clicks), 0) AS DECIMAL(24, 6)) AS cpc,
       CAST(CAST(SUM(cost_micros) AS DECIMAL(30, 6)) / 1000000 / NULLIF(SUM(applies), 0) AS DECIMAL(24, 6)) AS cpa,
       SUM(applies) * 1e0 / NULLIF(SUM(clicks), 0) AS apply_rate,
       SUM(applies) * 1e0 / NULLIF(SUM(cost_micros) / 1e6, 0) AS roi,
       (SELECT c.name FROM dim_campaign c WHERE c.campaign_id = f.campaign_id)
           AS campaign_name
FROM fact_hourly f GROUP BY f.campaign_id;
INSERT INTO jobads_schema (store, version) VALUES ('analytics', 4)
ON DUPLICATE KEY UPDATE version = GREATEST(version, 4);
-- ---- end of campaigns --------------------------------------------------------
