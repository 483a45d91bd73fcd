// The DuckDB peer of bench/bench_history.sh: the same job as jobads ingest + etl,
// in DuckDB's own SQL through @duckdb/node-api, one step per process so that each
// is timed whole, as jobads' are.
//
//   node peer.js MODULES DB ingest FILE   append an NDJSON file to raw as the next batch
//   node peer.js MODULES DB etl           upsert the new batches' groups into fact_hourly
//   node peer.js MODULES DB check         rows|records|impressions|clicks|applies|cost_micros
//   node peer.js MODULES DB version       DuckDB's version
//
// MODULES is the folder npm ci installed into (its node_modules holds @duckdb/node-api).
// raw.batch plays jobads' seq: the ETL takes the batches after etl_state.cursor and
// moves the cursor in the same transaction as the groups it adds.
'use strict';
const { createRequire } = require('module');
const path = require('path');

const [modules, db, step, file] = process.argv.slice(2);
if (!modules || !db || !step) {
    console.error('usage: node peer.js MODULES DB ingest FILE|etl|check|version');
    process.exit(2);
}
const { DuckDBInstance } = createRequire(path.join(path.resolve(modules), 'package.json'))(
    '@duckdb/node-api');

const SCHEMA = `
CREATE TABLE IF NOT EXISTS raw (
    batch INTEGER NOT NULL, event_id VARCHAR, ts_ms BIGINT, publisher_id BIGINT,
    publisher_name VARCHAR, publisher_traffic VARCHAR, publisher_quality VARCHAR, bid BIGINT,
    job_id BIGINT, campaign_id BIGINT, industry VARCHAR, location VARCHAR, impressions BIGINT,
    clicks BIGINT, apply_count BIGINT, cost_micros BIGINT, quality_score BIGINT,
    device VARCHAR, hour INTEGER, day_of_week INTEGER);
CREATE TABLE IF NOT EXISTS fact_hourly (
    hour_start BIGINT, campaign_id BIGINT, publisher_id BIGINT, industry VARCHAR,
    location VARCHAR, device VARCHAR, records BIGINT, impressions BIGINT, clicks BIGINT,
    applies BIGINT, cost_micros BIGINT, quality_sum BIGINT, ctr_sum DOUBLE, cpc_sum DOUBLE,
    cpa_sum DOUBLE, roi_sum DOUBLE,
    PRIMARY KEY (hour_start, campaign_id, publisher_id, industry, location, device));
CREATE TABLE IF NOT EXISTS etl_state (id INTEGER PRIMARY KEY, cursor INTEGER NOT NULL);
INSERT OR IGNORE INTO etl_state VALUES (1, 0);`;

// The original's column names, cost in units: converted to jobads' ts in ms and cost in
// micros on the way in, as jobads ingest does.
const COLUMNS = `{event_id: 'VARCHAR', ts: 'TIMESTAMPTZ', publisher_id: 'BIGINT',
    publisher_name: 'VARCHAR', publisher_traffic: 'VARCHAR', publisher_quality: 'VARCHAR',
    bid: 'BIGINT', job_id: 'BIGINT', campaign_id: 'BIGINT', industry: 'VARCHAR',
    location: 'VARCHAR', impressions: 'BIGINT', clicks: 'BIGINT', apply_count: 'BIGINT',
    cost: 'DOUBLE', quality_score: 'BIGINT', device: 'VARCHAR', hour: 'INTEGER',
    day_of_week: 'INTEGER'}`;

const INGEST = (f) => `
INSERT INTO raw SELECT (SELECT coalesce(max(batch), 0) + 1 FROM raw), event_id, epoch_ms(ts),
    publisher_id, publisher_name, publisher_traffic, publisher_quality, bid, job_id,
    campaign_id, industry, location, impressions, clicks, apply_count,
    CAST(round(cost * 1000000) AS BIGINT), quality_score, device, hour, day_of_week
FROM read_json('${f.replace(/'/g, "''")}', format = 'newline_delimited', columns = ${COLUMNS})`;

// The GROUP BY of bench/bench.sh's SQLite peer, as an upsert of each group's deltas.
const ETL = (upto) => `
INSERT INTO fact_hourly
SELECT (ts_ms // 3600000) * 3600, campaign_id, publisher_id, industry, location, device,
    count(*), sum(impressions), sum(clicks), sum(apply_count), sum(cost_micros),
    sum(quality_score),
    sum(CASE WHEN impressions > 0 THEN clicks / impressions ELSE 0 END),
    sum(CASE WHEN clicks > 0 THEN cost_micros / 1000000.0 / clicks ELSE 0 END),
    sum(CASE WHEN apply_count > 0 THEN cost_micros / 1000000.0 / apply_count ELSE 0 END),
    sum(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1000000.0) ELSE 0 END)
FROM raw WHERE batch > (SELECT cursor FROM etl_state WHERE id = 1) AND batch <= ${upto}
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO UPDATE SET records = records + excluded.records,
    impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks,
    applies = applies + excluded.applies, cost_micros = cost_micros + excluded.cost_micros,
    quality_sum = quality_sum + excluded.quality_sum, ctr_sum = ctr_sum + excluded.ctr_sum,
    cpc_sum = cpc_sum + excluded.cpc_sum, cpa_sum = cpa_sum + excluded.cpa_sum,
    roi_sum = roi_sum + excluded.roi_sum`;

const CHECK = `SELECT count(*), sum(records), sum(impressions), sum(clicks), sum(applies),
    sum(cost_micros) FROM fact_hourly`;

(async () => {
    const inst = await DuckDBInstance.create(step === 'version' ? ':memory:' : db);
    const con = await inst.connect();
    if (step === 'version') {
        console.log((await con.runAndReadAll('SELECT version()')).getRows()[0][0]);
        return;
    }
    await con.run(SCHEMA);
    if (step === 'ingest') {
        if (!file) throw new Error('ingest needs a FILE');
        await con.run('BEGIN');
        await con.run(INGEST(path.resolve(file)));
        await con.run('COMMIT');
    } else if (step === 'etl') {
        await con.run('BEGIN');
        // the cursor is read before the groups, as jobads' compare-and-set does
        const upto = (await con.runAndReadAll('SELECT coalesce(max(batch), 0) FROM raw'))
                         .getRows()[0][0];
        await con.run(ETL(upto));
        await con.run(`UPDATE etl_state SET cursor = ${upto} WHERE id = 1`);
        await con.run('COMMIT');
    } else if (step === 'check') {
        console.log((await con.runAndReadAll(CHECK)).getRows()[0].map(String).join('|'));
    } else {
        throw new Error(`unknown step ${step}`);
    }
})().catch((e) => {
    console.error(`duckdb peer: ${step}: ${e.message}`);
    process.exit(1);
});
