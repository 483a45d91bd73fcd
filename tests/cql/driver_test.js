// driver_test.js - drives the in-memory CQL test server (cqlsrv) with the
// official DataStax Node.js driver, to show that the server speaks the native
// protocol v4 as Cassandra does: handshake and cluster discovery, prepared
// statements, paging (an empty last page included), BATCH, lightweight
// transactions, types, errors with their codes, authentication, and the
// version negotiation a driver without maxVersion goes through.
//
//   node driver_test.js PORT AUTH_PORT     (run_driver_test.sh starts both servers)
'use strict';
const assert = require('assert');
const cassandra = require('cassandra-driver');
const { types } = cassandra;

const port = Number(process.argv[2]);
const authPort = Number(process.argv[3]);
let passed = 0, failed = 0;

async function check(name, fn) {
    try {
        await fn();
        passed++;
        console.log(`ok - ${name}`);
    } catch (e) {
        failed++;
        console.log(`not ok - ${name}: ${e && e.stack || e}`);
    }
}

function client(extra) {
    return new cassandra.Client(Object.assign({
        contactPoints: ['127.0.0.1'],
        localDataCenter: 'datacenter1',
        protocolOptions: { port, maxVersion: 4 },
        socketOptions: { connectTimeout: 3000, readTimeout: 5000 },
        pooling: { heartBeatInterval: 200 },
    }, extra || {}));
}

async function expectError(p, code, re) {
    try {
        await p;
    } catch (e) {
        assert.strictEqual(e.code, code, `error code 0x${(e.code || 0).toString(16)}: ${e.message}`);
        if (re) assert.match(e.message, re);
        return e;
    }
    assert.fail('expected an error');
}

(async () => {
    const c = client();
    await check('connect: STARTUP, system.local, system.peers, REGISTER', async () => {
        await c.connect();
        const hosts = c.hosts.values();
        assert.strictEqual(hosts.length, 1);
        assert.strictEqual(hosts[0].datacenter, 'datacenter1');
        assert.match(hosts[0].cassandraVersion, /^3\./);
        assert.strictEqual(c.getState().getConnectedHosts().length, 1);
    });
    await check('DDL: keyspace and table, schema change results', async () => {
        await c.execute("CREATE KEYSPACE drv WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        await c.execute(`CREATE TABLE drv.t (p int, c timeuuid, name text, n bigint, i int,
            d decimal, x double, ts timestamp, u uuid, PRIMARY KEY ((p), c)) WITH CLUSTERING ORDER BY (c ASC)`);
        await expectError(c.execute('CREATE TABLE drv.t (a int PRIMARY KEY)'), 0x2400, /already exists/);
        await c.execute('CREATE TABLE IF NOT EXISTS drv.t (a int PRIMARY KEY)');
    });
    const rows = [];
    await check('prepared INSERTs of every type, 1,000 in flight together', async () => {
        const q = 'INSERT INTO drv.t (p, c, name, n, i, d, x, ts, u) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
        const base = Date.UTC(2026, 0, 1);
        const all = [];
        for (let k = 0; k < 1000; k++) {
            const r = [1, types.TimeUuid.fromDate(new Date(base + k)), `név ${k}`,
                types.Long.fromString(String(9007199254740993 + k)), 0 - k,
                types.BigDecimal.fromString(`${k}.000125`), k / 7, new Date(base + k * 1000),
                types.Uuid.random()];
            rows.push(r);
            all.push(c.execute(q, r, { prepare: true }));
        }
        await Promise.all(all);
    });
    await check('paged SELECT: 1,000 rows in pages of 100, values round-trip', async () => {
        let n = 0, pages = 0, pageState;
        do {
            const rs = await c.execute('SELECT * FROM drv.t WHERE p = ?', [1],
                { prepare: true, fetchSize: 100, pageState });
            pages++;
            for (const row of rs.rows) {
                const want = rows[n];
                assert.strictEqual(row.c.toString(), want[1].toString());
                assert.strictEqual(row.name, want[2]);
                assert.strictEqual(row.n.toString(), want[3].toString());
                assert.strictEqual(row.i, want[4]);
                assert.strictEqual(row.d.toString(), want[5].toString());
                assert.strictEqual(row.x, want[6]);
                assert.strictEqual(row.ts.getTime(), want[7].getTime());
                assert.strictEqual(row.u.toString(), want[8].toString());
                n++;
            }
            pageState = rs.pageState;
        } while (pageState);
        assert.strictEqual(n, 1000);
        // 1,000 is a multiple of 100: the 10th page says "more", the 11th is empty
        assert.strictEqual(pages, 11);
    });
    await check('eachRow with autoPage and a clustering range', async () => {
        let n = 0;
        const lo = rows[100][1], hi = rows[199][1];
        await new Promise((resolve, reject) => c.eachRow(
            'SELECT c FROM drv.t WHERE p = ? AND c >= ? AND c <= ?', [1, lo, hi],
            { prepare: true, fetchSize: 7, autoPage: true }, () => n++,
            (err) => err ? reject(err) : resolve()));
        assert.strictEqual(n, 100);
    });
    await check('unlogged BATCH of prepared statements', async () => {
        const q = 'INSERT INTO drv.t (p, c, name) VALUES (?, ?, ?)';
        const batch = [];
        for (let k = 0; k < 50; k++)
            batch.push({ query: q, params: [2, types.TimeUuid.now(), `b${k}`] });
        await c.batch(batch, { prepare: true, logged: false });
        const rs = await c.execute('SELECT COUNT(*) FROM drv.t WHERE p = 2');
        assert.strictEqual(rs.first().count.toNumber(), 50);
    });
    await check('LWT: INSERT IF NOT EXISTS applies once', async () => {
        await c.execute('CREATE TABLE drv.k (id uuid, ts timestamp, v int, PRIMARY KEY ((id), ts))');
        const id = types.Uuid.random(), ts = new Date();
        const q = 'INSERT INTO drv.k (id, ts, v) VALUES (?, ?, ?) IF NOT EXISTS';
        const a = await c.execute(q, [id, ts, 1], { prepare: true });
        const b = await c.execute(q, [id, ts, 2], { prepare: true });
        assert.strictEqual(a.wasApplied(), true);
        assert.strictEqual(b.wasApplied(), false);
        assert.strictEqual(b.first().v, 1);
    });
    await check('errors carry code and message', async () => {
        await expectError(c.execute('SELEC * FROM drv.t'), 0x2000);
        await expectError(c.execute('SELECT * FROM drv.nope'), 0x2200, /unconfigured table nope/);
        await expectError(c.execute('SELECT * FROM nope.t'), 0x2200, /Keyspace nope does not exist/);
        await expectError(c.execute('INSERT INTO drv.t (p, name) VALUES (?, ?)', [1, 'x'], { prepare: true }),
            0x2200, /clustering/i);
    });
    await check('a dropped table invalidates prepared statements; the driver re-prepares', async () => {
        await c.execute('CREATE TABLE drv.r (a int PRIMARY KEY, b text)');
        const q = 'INSERT INTO drv.r (a, b) VALUES (?, ?)';
        await c.execute(q, [1, 'x'], { prepare: true });
        await c.execute('DROP TABLE drv.k'); // forgets every prepared id on this server
        await c.execute(q, [2, 'y'], { prepare: true }); // Unprepared (0x2500), PREPARE, EXECUTE
        const rs = await c.execute('SELECT b FROM drv.r WHERE a = 2');
        assert.strictEqual(rs.first().b, 'y');
    });
    await check('heartbeat: OPTIONS on an idle connection keeps it', async () => {
        await new Promise((r) => setTimeout(r, 700));
        const rs = await c.execute("SELECT release_version FROM system.local WHERE key = 'local'");
        assert.match(rs.first().release_version, /^3\./);
    });
    await c.shutdown();

    await check('no maxVersion: a v5/DSE attempt gets 0x000A, the driver settles on v4', async () => {
        const d = new cassandra.Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'datacenter1',
            protocolOptions: { port } });
        await d.connect();
        assert.strictEqual(d.controlConnection.protocolVersion, 4);
        const rs = await d.execute('SELECT COUNT(*) FROM drv.t WHERE p = 1');
        assert.strictEqual(rs.first().count.toNumber(), 1000);
        await d.shutdown();
    });
    await check('PasswordAuthenticator: SASL PLAIN, good and bad passwords', async () => {
        const good = client({ protocolOptions: { port: authPort, maxVersion: 4 },
            authProvider: new cassandra.auth.PlainTextAuthProvider('jobads', 's3cret') });
        await good.connect();
        await good.execute("SELECT key FROM system.local WHERE key = 'local'");
        await good.shutdown();
        const bad = client({ protocolOptions: { port: authPort, maxVersion: 4 },
            authProvider: new cassandra.auth.PlainTextAuthProvider('jobads', 'wrong') });
        let err;
        try { await bad.connect(); } catch (e) { err = e; }
        assert.ok(err, 'a bad password must fail');
        const inner = Object.values(err.innerErrors || {})[0] || err;
        assert.match(String(inner.message), /password/i);
        await bad.shutdown();
    });
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`not ok - ${e.stack}`); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
