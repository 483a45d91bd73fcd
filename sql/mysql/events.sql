-- Event store schema (MySQL 8 / MariaDB 10.5+). Applied by `jobads init`;
-- idempotent. Default database: ads_events. To apply by hand:
--   mariadb ads_events < sql/mysql/events.sql
-- (on MySQL 8, replace utf8mb4_nopad_bin by utf8mb4_0900_bin: `jobads init`
-- does so itself).
--
-- seq is the ETL cursor. AUTO_INCREMENT values are assigned at insert, not at
-- commit, so a transaction holding seq 100 may commit after one holding 101:
-- the ETL reads past a gap in seq only once the row after it is older than the
-- settle time (`?settle=S`, default 5 s); stored_at, set by the server, says how
-- old a row is (docs/architecture.md, "MySQL/MariaDB").
-- ts is epoch milliseconds UTC; cost is exact integer micros (1 unit = 1,000,000).
-- The unique key (ts, event_id) is the duplicate check, as on SQLite.
-- Text compares bytewise (utf8mb4_nopad_bin: binary, no trailing-space padding),
-- so GROUP BY and ORDER BY agree with the C aggregation and with SQLite.
CREATE TABLE IF NOT EXISTS tracking (
    seq               BIGINT       NOT NULL AUTO_INCREMENT,
    event_id          CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    ts                BIGINT       NOT NULL,
    publisher_id      INT          NOT NULL,
    publisher_name    VARCHAR(200) NOT NULL,
    publisher_traffic VARCHAR(16)  NULL,
    publisher_quality VARCHAR(16)  NULL,
    bid               BIGINT       NULL,
    job_id            INT          NOT NULL,
    campaign_id       INT          NOT NULL,
    industry          VARCHAR(100) NOT NULL,
    location          VARCHAR(100) NOT NULL,
    impressions       BIGINT       NOT NULL,
    clicks            BIGINT       NOT NULL,
    apply_count       BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    quality_score     SMALLINT     NOT NULL,
    device            VARCHAR(50)  NOT NULL,
    hour              TINYINT      NOT NULL,
    day_of_week       TINYINT      NOT NULL,
    stored_at         TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (seq),
    UNIQUE KEY tracking_ts_event_id (ts, event_id)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;

-- The original's view of a row: ts as a UTC DATETIME and cost in units (exact).
CREATE OR REPLACE VIEW tracking_original AS
SELECT event_id,
       TIMESTAMPADD(MICROSECOND, ts * 1000, '1970-01-01 00:00:00') AS ts,
       publisher_id, publisher_name, publisher_traffic, publisher_quality, bid,
       job_id, campaign_id, industry, location, impressions, clicks, apply_count,
       CAST(CAST(cost_micros AS DECIMAL(26, 6)) / 1000000 AS DECIMAL(20, 6)) AS cost,
       quality_score, device, hour, day_of_week
FROM tracking;

CREATE TABLE IF NOT EXISTS jobads_schema (
    store   VARCHAR(16) NOT NULL PRIMARY KEY,
    version INT         NOT NULL
) ENGINE = InnoDB;
-- Version 2: jobads reserves seq ranges and loads rows with LOAD DATA LOCAL.
-- jobads_seq: where jobads writers reserve seq ranges, past both next_seq and
-- tracking's AUTO_INCREMENT counter (which other writers take from). MEMORY:
-- the row is never locked until commit, and after a restart the counter alone
-- says where to go on.
CREATE TABLE IF NOT EXISTS jobads_seq (
    name     VARCHAR(64) NOT NULL PRIMARY KEY,
    next_seq BIGINT      NOT NULL
) ENGINE = MEMORY;

-- Seqs a jobads writer reserved but will never use (the row was a duplicate):
-- the ETL passes over them without waiting the settle time.
CREATE TABLE IF NOT EXISTS tracking_void (
    from_seq BIGINT NOT NULL PRIMARY KEY,
    to_seq   BIGINT NOT NULL
) ENGINE = InnoDB;

-- Version 3: a jobads writer's transaction holds the seqs from its first one
-- on until it ends, and says so here, so that the ETL never passes a seq it
-- may still commit, however long the settle time ago the rows after it came
-- (docs/architecture.md, "Holds"). One row per writer connection
-- (CONNECTION_ID()), written outside the transaction (MEMORY: seen at once,
-- never rolled back), renewed while the writer lives, deleted after its
-- COMMIT or ROLLBACK; a dead writer's row is ignored once lease_until passes.
CREATE TABLE IF NOT EXISTS jobads_hold (
    conn_id     BIGINT       NOT NULL PRIMARY KEY,
    holder      VARCHAR(128) NOT NULL,
    from_seq    BIGINT       NOT NULL,
    lease_until DATETIME(6)  NOT NULL
) ENGINE = MEMORY;

INSERT INTO jobads_schema (store, version) VALUES ('events', 3)
    ON DUPLICATE KEY UPDATE version = GREATEST(version, 3);
