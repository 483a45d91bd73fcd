// Drives Debian's chromium (playwright-core, no downloaded browser) against a
// running `jobads serve` with generated data: every panel renders with data,
// the KPI tiles show the numbers of /api/kpis, changing the time range and a
// filter changes them, sorting works (by the server, the table is a page), compare
// shows each tile's and campaign's change as /api/kpis and /api/campaigns give it, names
// that are HTML show as text in every tooltip and run nothing, the console
// shows no error. Saves a screenshot. usage: node dashboard.test.js BASE_URL OUT_DIR
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const os = require("os");
const path = require("path");

const [base, outDir] = process.argv.slice(2);
let checks = 0, fails = 0;
function check(what, ok, detail) {
  checks++;
  if (!ok) {
    fails++;
    console.log(`FAIL: ${what}${detail ? ": " + detail : ""}`);
  }
}

const nf = new Intl.NumberFormat("en-US");
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const pct = new Intl.NumberFormat("en-US", { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const FMT = { spend: money, ctr: pct, cpc: money, cpa: money, apply_rate: pct };
const PANELS = ["gauges", "industries", "devices", "daily", "publishers", "heatmap", "clicks", "campaigns", "pacing"];
// t_serve_browser.sh ingests events with these names
const HOSTILE = {
  devices: "<img src=x onerror=window.__xss=1>",
  industries: "<img src=x onerror=window.__xss=2>",
  publishers: "<b>pub</b><img src=x onerror=window.__xss=3>",
};

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "jobads-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 1900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  page.on("pageerror", (e) => errors.push("page error: " + e.message));
  page.on("requestfailed", (r) => errors.push("request failed: " + r.url()));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
  // the page's own /api/kpis answers, to compare the tiles with exactly what it was told
  const kpiReplies = [];
  page.on("response", async (r) => {
    if (new URL(r.url()).pathname === "/api/kpis") kpiReplies.push({ url: r.url(), body: await r.json() });
  });
  const campReplies = [];
  page.on("response", async (r) => {
    const u = new URL(r.url());
    if (u.pathname === "/api/campaigns" && u.searchParams.get("compare") && !u.searchParams.get("format")) campReplies.push({ url: r.url(), body: await r.json() });
  });
  const offsite = [];
  page.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("data:")) offsite.push(r.url()); });

  const t0 = Date.now();
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("body[data-loaded]", { timeout: 20000 });
  const firstLoad = Date.now() - t0;
  console.log(`first load (navigation to every panel drawn): ${firstLoad} ms`);
  check("first load in under 5 s", firstLoad < 5000, `${firstLoad} ms`);

  async function tiles() {
    return page.$$eval(".tile", (ts) => Object.fromEntries(ts.map((t) => [t.dataset.kpi, { text: t.querySelector(".v").textContent, raw: t.querySelector(".v").dataset.raw }])));
  }
  async function waitLoaded(prev) {
    await page.waitForFunction((p) => document.body.dataset.loaded !== p, prev, { timeout: 20000 });
    await page.waitForTimeout(300); // let the charts finish their first frame
  }
  function compareTiles(what, t, total) {
    for (const k of Object.keys(FMT)) {
      const v = total[k];
      check(`${what}: tile ${k} raw = /api/kpis`, t[k].raw === (v == null ? "" : String(v)), `${t[k].raw} vs ${v}`);
      check(`${what}: tile ${k} text`, t[k].text === (v == null ? "–" : FMT[k].format(v)), `${t[k].text}`);
    }
  }

  // every panel rendered with data: marked ready with points, and a canvas with ink on it
  for (const name of PANELS) {
    const info = await page.$eval(`[data-panel="${name}"]`, (p) => {
      const c = p.querySelector("canvas");
      let ink = 0;
      if (c) {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 16) if (d[i + 3] > 0 && (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200)) ink++;
      }
      return { state: p.dataset.state, points: Number(p.dataset.points || 0), canvas: !!c, ink, rows: p.querySelectorAll("tbody tr").length };
    });
    check(`panel ${name} is drawn`, info.state === "ready", JSON.stringify(info));
    check(`panel ${name} has data`, info.points > 0, JSON.stringify(info));
    if (name === "campaigns") check("campaign table has rows", info.rows === info.points && info.rows > 0, JSON.stringify(info));
    else check(`panel ${name} has ink on its canvas`, info.canvas && info.ink > 50, JSON.stringify(info));
  }

  // the pacing panel: one bar group per budgeted campaign of /api/pacing, states counted as it gives them
  const pacing = await (await fetch(base + "/api/pacing")).json();
  const pinfo = await page.evaluate(() => {
    const c = echarts.getInstanceByDom(document.querySelector('[data-panel="pacing"] .chart'));
    const opt = c.getOption();
    return { names: opt.yAxis[0].data, spent: opt.series[2].data.map((d) => d.value), states: document.querySelector("#pacing-states").textContent };
  });
  check("pacing panel: a row per budgeted campaign", pinfo.names.length === pacing.campaigns.length && pacing.campaigns.length === 3, JSON.stringify(pinfo.names));
  check("pacing panel: the name beside the id", pinfo.names[0] === "101 Senior Java, HCM", JSON.stringify(pinfo.names));
  check("pacing panel: the spend /api/pacing gives", pinfo.spent.every((v, i) => Math.abs(v - pacing.campaigns[i].spent) < 1e-6), JSON.stringify(pinfo.spent));
  const counted = {};
  for (const r of pacing.campaigns) counted[r.state] = (counted[r.state] || 0) + 1;
  check("pacing panel: the states", Object.entries(counted).every(([k, n]) => pinfo.states.includes(`${n} ${k}`)), pinfo.states);

  // KPI tiles = the /api/kpis the page fetched, and = a fresh fetch with the same query
  const t14 = await tiles();
  const r14 = kpiReplies[kpiReplies.length - 1];
  compareTiles("14 days", t14, r14.body.total);
  const again = await (await fetch(r14.url.replace(/from=now-14d/, "from=" + encodeURIComponent(r14.body.range.from)))).json();
  check("tiles equal an independent /api/kpis", again.total.spend === r14.body.total.spend && again.total.clicks === r14.body.total.clicks);
  check("spend is formatted with separators", /^\$\d{1,3}(,\d{3})+\.\d\d$/.test(t14.spend.text), t14.spend.text);
  check("CTR is a percentage", /^\d+\.\d\d%$/.test(t14.ctr.text), t14.ctr.text);

  // changing the time range changes them
  let gen = await page.evaluate(() => document.body.dataset.loaded);
  await page.selectOption("#range", "now-24h");
  await waitLoaded(gen);
  const t1 = await tiles();
  const r1 = kpiReplies[kpiReplies.length - 1];
  check("the page asked for the new range", r1.url.includes("from=now-24h"), r1.url);
  compareTiles("24 hours", t1, r1.body.total);
  check("the range changed spend", t1.spend.text !== t14.spend.text, `${t1.spend.text} vs ${t14.spend.text}`);
  check("24 hours has less spend than 14 days", r1.body.total.spend < r14.body.total.spend);

  // a filter changes them too
  gen = await page.evaluate(() => document.body.dataset.loaded);
  await page.selectOption("#range", "all");
  await waitLoaded(gen);
  gen = await page.evaluate(() => document.body.dataset.loaded);
  await page.selectOption("#f-campaign", "103");
  await waitLoaded(gen);
  const tc = await tiles();
  const rc = kpiReplies[kpiReplies.length - 1];
  check("the page asked for the campaign", rc.url.includes("campaign_id=103"), rc.url);
  compareTiles("campaign 103", tc, rc.body.total);
  const tableRows = await page.$$eval("#campaign-table tbody tr", (rs) => rs.length);
  check("the table shows one campaign", tableRows === 1, String(tableRows));
  gen = await page.evaluate(() => document.body.dataset.loaded);
  await page.selectOption("#f-campaign", "");
  await waitLoaded(gen);

  // names from the data reach every tooltip (HTML) as text
  for (const [panel, name] of Object.entries(HOSTILE)) {
    const idx = await page.evaluate(({ panel, name }) => {
      const c = echarts.getInstanceByDom(document.querySelector(`[data-panel="${panel}"] .chart`));
      const opt = c.getOption();
      const i = panel === "devices" ? opt.series[0].data.findIndex((d) => d.name === name)
        : (panel === "industries" ? opt.xAxis[0] : opt.yAxis[0]).data.indexOf(name);
      if (i >= 0) c.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: i });
      return i;
    }, { panel, name });
    check(`${panel}: the hostile name is in the chart`, idx >= 0, String(idx));
    await page.waitForTimeout(400);
    const seen = await page.evaluate(({ panel, name }) => {
      const p = document.querySelector(`[data-panel="${panel}"]`);
      return { text: p.textContent.includes(name), imgs: document.querySelectorAll("main img, main b").length, xss: window.__xss };
    }, { panel, name });
    check(`${panel}: the tooltip shows the name as text`, seen.text, JSON.stringify(seen));
    check(`${panel}: the tooltip made no element of it`, seen.imgs === 0, JSON.stringify(seen));
    check(`${panel}: nothing ran`, seen.xss === undefined, JSON.stringify(seen));
  }
  const filterText = await page.$eval("#f-device", (s) => Array.from(s.options).map((o) => o.textContent).join("|"));
  check("the device filter lists the hostile name as text", filterText.includes(HOSTILE.devices), filterText);

  // sorting the campaign table: the server sorts, the page shows what it was given
  async function sortBy(key, want) {
    await page.click(`#campaign-table th[data-key="${key}"]`);
    await page.waitForFunction((w) => document.querySelector("#campaign-table").dataset.sort === w, want, { timeout: 10000 });
  }
  await sortBy("clicks", "-clicks");
  const clicks = await page.$$eval("#campaign-table tbody tr td:nth-child(3)", (tds) => tds.map((t) => Number(t.textContent.replace(/,/g, ""))));
  check("sorted by clicks, largest first", clicks.length > 1 && clicks.every((v, i) => i === 0 || clicks[i - 1] >= v), clicks.join(" "));
  await sortBy("clicks", "clicks");
  const up = await page.$$eval("#campaign-table tbody tr td:nth-child(3)", (tds) => tds.map((t) => Number(t.textContent.replace(/,/g, ""))));
  check("a second click sorts the other way", up.every((v, i) => i === 0 || up[i - 1] <= v), up.join(" "));

  // every table has its download, which is the route's CSV at the table's sort and filters
  const tables = await page.$$eval("table", (ts) => ts.map((t) => ({ id: t.id, links: document.querySelectorAll(`.download[data-table="${t.id}"]`).length })));
  check("every table has one Download CSV", tables.length > 0 && tables.every((t) => t.links === 1), JSON.stringify(tables));
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 10000 }), page.click('.download[data-table="campaign-table"]')]);
  const csvUrl = new URL(dl.url());
  check("the download asks for format=csv at the table's sort", csvUrl.searchParams.get("format") === "csv" && csvUrl.searchParams.get("sort") === "clicks", dl.url());
  check("the download is named by the server", dl.suggestedFilename() === "campaigns.csv", dl.suggestedFilename());
  const csv = fs.readFileSync(await dl.path(), "utf8").split("\r\n");
  check("the CSV starts with its header row", csv[0].startsWith("campaign_id,campaign_name,records,impressions,clicks,"), csv[0]);
  // the id is the cell's first text; a name (101's) follows it in its own span
  const shown = await page.$$eval("#campaign-table tbody tr td:first-child", (tds) => tds.map((t) => t.firstChild.textContent.replace(/,/g, "")));
  const named = await page.$$eval("#campaign-table tbody tr td:first-child .campaign-name", (ss) => ss.map((s) => s.textContent));
  check("the table names campaign 101", named.includes(" Senior Java, HCM"), JSON.stringify(named));
  const csvIds = csv.slice(1, 1 + shown.length).map((l) => l.split(",")[0]);
  check("the CSV's rows are the table's, in its order", shown.length > 0 && csvIds.join(" ") === shown.join(" "), `${csvIds.slice(0, 5)} vs ${shown.slice(0, 5)}`);

  // the pipeline strip
  const strip = await page.$eval("#pipeline", (s) => s.textContent);
  check("pipeline strip shows the last run", /Last run: #\d+ \(manual\)/.test(strip) && /State: success/.test(strip), strip);

  // compare: each tile shows the change /api/kpis gives, with its direction, and the table a spend change column
  gen = await page.evaluate(() => document.body.dataset.loaded);
  await page.selectOption("#range", "now-7d");
  await waitLoaded(gen);
  gen = await page.evaluate(() => document.body.dataset.loaded);
  await page.selectOption("#compare", "previous");
  await waitLoaded(gen);
  const rp = kpiReplies[kpiReplies.length - 1];
  check("the tiles asked for compare=previous", rp.url.includes("compare=previous") && rp.body.change, rp.url);
  const deltas = await page.$$eval(".tile", (ts) => Object.fromEntries(ts.map((t) => { const d = t.querySelector(".d"); return [t.dataset.kpi, { hidden: d.hidden, text: d.textContent, raw: d.dataset.raw, cls: d.className }]; })));
  for (const k of Object.keys(FMT)) {
    const c = rp.body.change[k], d = deltas[k];
    check(`compare: tile ${k} shows its change`, !d.hidden && d.raw === (c == null ? "" : String(c)), JSON.stringify(d) + " vs " + c);
    const arrow = c == null ? "–" : c > 0 ? "▲" : c < 0 ? "▼" : "=";
    check(`compare: tile ${k} has the change's direction and percentage`, d.text.startsWith(arrow) && (c == null || new RegExp(`^. ${Math.abs(c).toFixed(1).replace(".", "\\.")} % vs `).test(d.text)), d.text);
  }
  check("compare: the earlier week has data, so changes are numbers", rp.body.change.spend != null && rp.body.previous.spend > 0, JSON.stringify(rp.body.previous));
  check("compare: CPC up is bad news, down good", deltas.cpc.cls.includes(rp.body.change.cpc > 0 ? "bad" : rp.body.change.cpc < 0 ? "good" : "d"), deltas.cpc.cls);
  const cr = campReplies[campReplies.length - 1];
  const col = await page.$$eval("#campaign-table th[data-change]", (ths) => ths.map((t) => !t.hidden));
  check("compare: the table shows its change column", col.length === 1 && col[0], JSON.stringify(col));
  const cells = await page.$$eval("#campaign-table tbody tr", (rs) => rs.map((r) => ({ id: r.cells[0].firstChild.textContent.replace(/,/g, ""), raw: r.cells[r.cells.length - 1].dataset.raw })));
  check("compare: the table's changes are the API's", cr && cells.length === cr.body.rows.length && cells.every((c, i) => c.id === String(cr.body.rows[i].campaign_id) && c.raw === (cr.body.rows[i].change.spend == null ? "" : String(cr.body.rows[i].change.spend))), JSON.stringify(cells.slice(0, 3)));
  const shot0 = path.join(outDir, "dashboard-compare.png");
  await page.screenshot({ path: shot0, fullPage: true });
  // "All time" has no previous period: the page does not ask for one (no 400 in errors)
  gen = await page.evaluate(() => document.body.dataset.loaded);
  await page.selectOption("#range", "all");
  await waitLoaded(gen);
  check("compare with All time: no change shown", await page.$eval('.tile[data-kpi="spend"] .d', (d) => d.hidden));
  gen = await page.evaluate(() => document.body.dataset.loaded);
  await page.selectOption("#compare", "");
  await waitLoaded(gen);
  check("compare off: the change column is hidden", await page.$eval("#campaign-table th[data-change]", (t) => t.hidden));

  await page.selectOption("#range", "now-14d");
  await page.waitForTimeout(800);
  const shot = path.join(outDir, "dashboard.png");
  await page.screenshot({ path: shot, fullPage: true });
  check("screenshot saved", fs.statSync(shot).size > 20000);
  check("no request left the server", offsite.length === 0, offsite.join(" "));
  check("no console error", errors.length === 0, errors.join(" | "));
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
  console.log(`dashboard.test.js: ${checks - fails} passed, ${fails} failed`);
  process.exit(fails ? 1 : 0);
})().catch((e) => {
  console.log("FAIL: " + (e.stack || e));
  process.exit(1);
});
