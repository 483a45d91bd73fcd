-- Event store schema (SQLite). Applied by `jobads init`; idempotent.
--
-- seq is the ETL cursor: AUTOINCREMENT makes it strictly increasing and never
-- reused, and SQLite serialises writers, so seq order is commit order.
-- ts is epoch milliseconds UTC; cost is exact integer micros (1 unit = 1,000,000).
-- event_id is the UUID's 16 bytes (since layout 2; layout 1 held its 36-character
-- text). Look one up with X'...' (its hex without the dashes), or read
-- tracking_original.
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

-- The duplicate check (layout 3; docs/architecture.md, "Duplicates"): every
-- stored event's key (ts, event_id), once, in one of two tables. A client that
-- re-sends an event re-sends its ts too. A batch claims its keys in
-- tracking_key_new, which stays small (written at random places, it stays in
-- the page cache), after looking each one up in tracking_key, the large one
-- (a read, no write); once tracking_key_new holds enough, a commit moves it
-- into tracking_key in key order, one pass over its pages. Layout 2 kept the
-- key as a unique index on tracking, which history out of time order wrote at
-- random places: into a store of 10 M, each row cost about two page writes.
-- merged_upto is the newest seq whose key is in tracking_key.
CREATE TABLE IF NOT EXISTS tracking_key (
    ts       INTEGER NOT NULL,
    event_id BLOB    NOT NULL,
    PRIMARY KEY (ts, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tracking_key_new (
    ts       INTEGER NOT NULL,
    event_id BLOB    NOT NULL,
    PRIMARY KEY (ts, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tracking_key_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    merged_upto INTEGER NOT NULL
);
INSERT OR IGNORE INTO tracking_key_state (id, merged_upto) VALUES (1, 0);
-- Layout 4: a Bloom filter of tracking_key's keys as of merged_upto (blocks of
-- 64 bytes), so that a new event's key is looked up there only when the filter
-- may hold it (src/store/sqlite/events_bloom.c). Written with each merge; a
-- filter whose merged_upto is not the table's is never used, and rebuilt.
CREATE TABLE IF NOT EXISTS tracking_key_bloom (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    merged_upto INTEGER NOT NULL,
    blocks      INTEGER NOT NULL,
    bits        BLOB    NOT NULL
);

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

PRAGMA user_version = 4;
