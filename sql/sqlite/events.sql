-- Event store schema (SQLite). Applied by `jobads init`; idempotent.
--
-- seq is the ETL cursor: AUTOINCREMENT makes it strictly increasing and never
-- reused, and SQLite serialises writers, so seq order is commit order.
-- ts is epoch milliseconds UTC; cost is exact integer micros (1 unit = 1,000,000).
-- The unique key (ts, event_id) is the duplicate check: a client that re-sends
-- an event re-sends its ts too, and keys that grow with time keep inserts at the
-- right edge of the index (docs/architecture.md, "Duplicates").
-- event_id is the UUID's 16 bytes (layout 2; layout 1 held its 36-character
-- text): history out of time order writes the index at random places, and a
-- key of 8 + 16 bytes instead of 8 + 36 keeps it in fewer pages. Look one up
-- with X'...' (its hex without the dashes), or read tracking_original.
CREATE TABLE IF NOT EXISTS tracking (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id          BLOB    NOT NULL,
    ts                INTEGER NOT NULL,
    publisher_id      INTEGER NOT NULL,
    publisher_name    TEXT    NOT NULL,
    publisher_traffic TEXT,
    publisher_quality TEXT,
    bid               INTEGER,
    job_id            INTEGER NOT NULL,
    campaign_id       INTEGER NOT NULL,
    industry          TEXT    NOT NULL,
    location          TEXT    NOT NULL,
    impressions       INTEGER NOT NULL,
    clicks            INTEGER NOT NULL,
    apply_count       INTEGER NOT NULL,
    cost_micros       INTEGER NOT NULL,
    quality_score     INTEGER NOT NULL,
    device            TEXT    NOT NULL,
    hour              INTEGER NOT NULL,
    day_of_week       INTEGER NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS tracking_ts_event_id ON tracking (ts, event_id);

-- The original's view of a row: event_id as the UUID's text, ts as ISO-8601
-- text and cost in units.
CREATE VIEW IF NOT EXISTS tracking_original AS
SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' ||
       substr(h, 17, 4) || '-' || substr(h, 21, 12) AS event_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch') AS ts,
       publisher_id, publisher_name, publisher_traffic, publisher_quality, bid,
       job_id, campaign_id, industry, location, impressions, clicks, apply_count,
       cost_micros / 1000000.0 AS cost, quality_score, device, hour, day_of_week
FROM (SELECT lower(hex(event_id)) AS h, * FROM tracking);

PRAGMA user_version = 2;
