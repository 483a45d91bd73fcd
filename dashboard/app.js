/*
 * The jobads dashboard: fetches the JSON API of `jobads serve` and draws the
 * original Grafana panels plus KPI tiles, a heatmap, a sortable campaign table
 * and the pipeline strip. Plain browser JavaScript, no build step; ECharts is
 * embedded in the binary and served from /assets.
 *
 * Every text from the data (names of devices, industries, publishers) reaches
 * the page as text: textContent in the DOM, esc() in ECharts tooltips, which
 * are HTML. The grouped routes answer pages: the campaign table shows the top
 * TABLE_ROWS in the order the server sorted them. A table's "Download CSV" is a
 * plain link to its route with format=csv, kept at the current range, filters and
 * sort (the most rows a page may have): the server names the file, no script runs.
 * "Compare" asks the tiles and the campaign table for compare=previous|year: each
 * tile shows the change in percent with its direction (green where it is good
 * news: rates up, prices down), the table a spend change column; "–" where the
 * earlier value was 0 or none.
 */
"use strict";
(function () {
  const $ = (s, el) => (el || document).querySelector(s);
  const $$ = (s, el) => Array.from((el || document).querySelectorAll(s));
  const nf = new Intl.NumberFormat("en-US");
  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const pct = new Intl.NumberFormat("en-US", { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

  const fmt = {
    int: (v) => (v == null ? "–" : nf.format(v)),
    money: (v) => (v == null ? "–" : money.format(v)),
    pct: (v) => (v == null ? "–" : pct.format(v)),
  };
  const KPI_TYPES = { spend: "money", ctr: "pct", cpc: "money", cpa: "money", apply_rate: "pct" };
  /* Which way is good news: up for rates, down for prices, neither for spend. */
  const GOOD_WHEN = { ctr: 1, apply_rate: 1, cpc: -1, cpa: -1, spend: 0 };
  const change = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  /* A change in percent with its direction: "▲ 12.3 %"; "–" where the API gives none (an earlier 0 or null). */
  const fmtChange = (v) => (v == null ? "–" : `${v > 0 ? "▲" : v < 0 ? "▼" : "="} ${change.format(Math.abs(v))} %`);
  const TABLE_ROWS = 100;
  const DOWNLOAD_ROWS = 1000; /* API_PAGE_MAX */
  const HTML_ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  /* text into HTML (ECharts tooltip formatters return HTML) */
  const esc = (v) => String(v).replace(/[&<>"']/g, (c) => HTML_ESC[c]);

  const charts = {};
  let sortKey = "spend", sortDir = -1;
  let refreshTimer = null;
  let generation = 0;

  function chart(name) {
    if (!charts[name]) {
      const el = $(`[data-panel="${name}"] .chart`);
      charts[name] = echarts.init(el, null, { renderer: "canvas" });
    }
    return charts[name];
  }

  function markPanel(name, points) {
    const p = $(`[data-panel="${name}"]`);
    p.dataset.points = String(points);
    p.dataset.state = "ready";
  }

  function setStatus(text, bad) {
    const s = $("#status");
    s.textContent = text;
    s.style.color = bad ? "#b3261e" : "";
  }

  /* The query string of the current range and filters. */
  function query(extra) {
    const q = new URLSearchParams();
    const range = $("#range").value;
    if (range === "custom") {
      const f = $("#from").value, t = $("#to").value;
      if (f) q.set("from", f + ":00Z");
      if (t) q.set("to", t + ":00Z");
    } else if (range !== "all") {
      q.set("from", range);
      q.set("to", "now+1h");
    }
    for (const [id, key] of [["f-campaign", "campaign_id"], ["f-publisher", "publisher_id"], ["f-industry", "industry"], ["f-device", "device"]]) {
      const v = $("#" + id).value;
      if (v) q.set(key, v);
    }
    for (const k in extra || {}) q.set(k, extra[k]);
    const s = q.toString();
    return s ? "?" + s : "";
  }

  /* compare=, for the tiles and the table: off, or with "All time" a previous period has no length. */
  function comparing() {
    const c = $("#compare").value;
    return c && !(c === "previous" && $("#range").value === "all") ? c : "";
  }

  async function api(path) {
    const res = await fetch(path, { headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({ error: "not JSON" }));
    if (!res.ok) throw new Error(`${path}: ${res.status} ${body.error || ""}`);
    return body;
  }

  /* 1-2-5 steps: a gauge's scale that fits v. */
  function niceMax(v) {
    if (!(v > 0)) return 10;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function drawTiles(kpis) {
    const total = kpis.total;
    for (const tile of $$(".tile")) {
      const k = tile.dataset.kpi, v = total[k];
      const el = $(".v", tile);
      el.textContent = fmt[KPI_TYPES[k]](v);
      el.dataset.raw = v == null ? "" : String(v);
      const d = $(".d", tile);
      d.hidden = !kpis.change;
      if (kpis.change) {
        const c = kpis.change[k], was = kpis.previous[k];
        d.textContent = `${fmtChange(c)} vs ${fmt[KPI_TYPES[k]](was)}`;
        d.dataset.raw = c == null ? "" : String(c);
        d.className = "d" + (c == null || !c || !GOOD_WHEN[k] ? "" : c * GOOD_WHEN[k] > 0 ? " good" : " bad");
      }
    }
  }

  function drawGauges(total) {
    const items = [["Impressions", total.impressions], ["Clicks", total.clicks], ["Applies", total.applies]];
    chart("gauges").setOption({
      series: items.map(([name, v], i) => ({
        type: "gauge", center: [`${17 + i * 33}%`, "58%"], radius: "80%", min: 0, max: niceMax(v),
        splitNumber: 5, progress: { show: true, width: 12 }, axisLine: { lineStyle: { width: 12 } },
        axisLabel: { formatter: (x) => compact.format(x), fontSize: 9, distance: 16 }, pointer: { show: false },
        title: { offsetCenter: [0, "75%"] }, detail: { formatter: (x) => nf.format(x), fontSize: 18, offsetCenter: [0, "20%"] },
        data: [{ value: v, name }],
      })),
    }, true);
    markPanel("gauges", items.filter((x) => x[1] > 0).length);
  }

  function drawIndustries(rows) {
    const names = rows.map((r) => r.industry);
    const share = (r, k) => { const t = r.clicks + r.applies; return t ? (100 * r[k]) / t : 0; };
    chart("industries").setOption({
      tooltip: { trigger: "axis", valueFormatter: (v) => v.toFixed(1) + " %" },
      legend: { data: ["Clicks", "Applications"] },
      grid: { left: 52, right: 10, bottom: 40, top: 30 }, // room for "100 %"
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value} %" } },
      series: [
        { name: "Clicks", type: "bar", stack: "p", data: rows.map((r) => share(r, "clicks")) },
        { name: "Applications", type: "bar", stack: "p", data: rows.map((r) => share(r, "applies")) },
      ],
    }, true);
    markPanel("industries", rows.length);
  }

  function drawDevices(rows) {
    chart("devices").setOption({
      tooltip: { trigger: "item", formatter: (p) => `${esc(p.name)}: ${esc(nf.format(p.value))} clicks (${esc(p.percent)}%)` },
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "70%"], data: rows.map((r) => ({ name: r.device, value: r.clicks })) }],
    }, true);
    markPanel("devices", rows.length);
  }

  /* Pacing (GET /api/pacing): spend against budget per campaign for its current period, with
     the projection behind it; the spend bar takes the state's colour. */
  const STATE_COLOURS = { "on track": "#2e7d32", "over-pacing": "#c62828", "under-pacing": "#f9a825", exhausted: "#6a1b9a", inactive: "#9e9e9e" };
  function drawPacing(doc) {
    const rows = doc.campaigns;
    const names = rows.map((r) => (r.campaign_name ? `${r.campaign_id} ${r.campaign_name}` : String(r.campaign_id)));
    const tip = (ps) => {
      const r = rows[ps[0].dataIndex];
      return `${esc(names[ps[0].dataIndex])}<br>${esc(r.state)}: spent ${esc(fmt.money(r.spent))} of ${esc(fmt.money(r.budget))} (${esc(r.per)} ${esc(r.period_start)}…${esc(r.period_end || "")}), ` +
        `expected ${esc(fmt.money(r.expected))}, projected ${esc(fmt.money(r.projected))}${r.runs_out ? ", runs out " + esc(r.runs_out) : ""}`;
    };
    chart("pacing").setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: tip },
      legend: { data: ["Budget", "Projected", "Spent"] },
      grid: { left: 170, right: 20, top: 30, bottom: 20 },
      xAxis: { type: "value", axisLabel: { formatter: (x) => compact.format(x) } },
      yAxis: { type: "category", inverse: true, data: names },
      series: [
        { name: "Budget", type: "bar", barGap: "-100%", itemStyle: { color: "#d5d9e2" }, data: rows.map((r) => r.budget) },
        { name: "Projected", type: "bar", barGap: "-100%", itemStyle: { color: "#a9c1ee" }, data: rows.map((r) => r.projected ?? 0) },
        { name: "Spent", type: "bar", barGap: "-100%", data: rows.map((r) => ({ value: r.spent, itemStyle: { color: STATE_COLOURS[r.state] || "#666" } })) },
      ],
    }, true);
    $("#pacing-states").textContent = rows.length ? Object.entries(rows.reduce((a, r) => ((a[r.state] = (a[r.state] || 0) + 1), a), {})).map(([k, n]) => `${n} ${k}`).join(" · ") : "no budgets set";
    markPanel("pacing", rows.length);
  }

  function timeAxisOption(series) {
    return {
      tooltip: { trigger: "axis", valueFormatter: (v) => nf.format(v) },
      legend: { data: series.map((s) => s.name) },
      grid: { left: 60, right: 20, bottom: 50, top: 30 },
      xAxis: { type: "time" },
      yAxis: { type: "value", axisLabel: { formatter: (x) => compact.format(x) } },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 6 }],
      series,
    };
  }

  function drawDaily(points) {
    const s = (name, k) => ({ name, type: "line", showSymbol: false, data: points.map((p) => [p.t, p[k]]) });
    chart("daily").setOption(timeAxisOption([s("Impressions", "impressions"), s("Clicks", "clicks"), s("Applies", "applies")]), true);
    markPanel("daily", points.length);
  }

  function drawClicks(points) {
    chart("clicks").setOption(timeAxisOption([{ name: "Clicks", type: "line", showSymbol: false, areaStyle: { opacity: 0.15 }, data: points.map((p) => [p.t, p.value]) }]), true);
    markPanel("clicks", points.length);
  }

  function drawPublishers(rows) {
    rows = rows.slice().sort((a, b) => a.clicks - b.clicks);
    const names = rows.map((r) => r.publisher_name || "#" + r.publisher_id);
    chart("publishers").setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v) => nf.format(v) },
      legend: { data: ["Impressions", "Clicks", "Applies"] },
      grid: { left: 110, right: 20, bottom: 30, top: 30 },
      xAxis: { type: "log", axisLabel: { formatter: (x) => compact.format(x) } },
      yAxis: { type: "category", data: names },
      series: [
        { name: "Impressions", type: "bar", data: rows.map((r) => r.impressions || null) },
        { name: "Clicks", type: "bar", data: rows.map((r) => r.clicks || null) },
        { name: "Applies", type: "bar", data: rows.map((r) => r.applies || null) },
      ],
    }, true);
    markPanel("publishers", rows.length);
  }

  function drawHeatmap(cells) {
    const data = cells.map((c) => [c.hour, c.weekday - 1, c.clicks]);
    const max = cells.reduce((m, c) => Math.max(m, c.clicks), 0);
    chart("heatmap").setOption({
      tooltip: { formatter: (p) => esc(`${WEEKDAYS[p.value[1]]} ${String(p.value[0]).padStart(2, "0")}:00 UTC: ${nf.format(p.value[2])} clicks`) },
      grid: { left: 40, right: 10, top: 10, bottom: 60 },
      xAxis: { type: "category", data: [...Array(24).keys()].map((h) => String(h).padStart(2, "0")), splitArea: { show: true } },
      yAxis: { type: "category", data: WEEKDAYS, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: max || 1, calculable: true, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, formatter: (v) => nf.format(Math.round(v)) },
      series: [{ type: "heatmap", data }],
    }, true);
    markPanel("heatmap", cells.length);
  }

  /* The campaign table's query: the server sorts and cuts (a store may hold 40,000 campaigns). */
  function tableQuery() {
    const extra = { sort: (sortDir < 0 ? "-" : "") + sortKey, limit: TABLE_ROWS };
    if (comparing()) extra.compare = comparing();
    return query(extra);
  }

  function drawTable(page) {
    const rows = page.rows;
    const table = $("#campaign-table");
    table.dataset.sort = page.sort;
    $('.download[data-table="campaign-table"]').href = "/api/campaigns" + query(Object.assign({ sort: page.sort, limit: DOWNLOAD_ROWS, format: "csv" }, comparing() ? { compare: comparing() } : {}));
    $("#campaign-count").textContent = page.total > rows.length ? `top ${nf.format(rows.length)} of ${nf.format(page.total)}` : "";
    const compared = !!page.compare;
    for (const th of $$("#campaign-table th[data-change]")) th.hidden = !compared;
    const heads = $$("#campaign-table th").filter((th) => !th.hidden);
    for (const th of heads) th.className = th.dataset.key === sortKey ? (sortDir > 0 ? "asc" : "desc") : "";
    const tbody = $("#campaign-table tbody");
    tbody.replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      for (const th of heads) {
        const td = document.createElement("td");
        if (th.dataset.change) {
          const c = r.change ? r.change[th.dataset.change] : null;
          td.textContent = fmtChange(c);
          td.dataset.raw = c == null ? "" : String(c);
        } else {
          td.textContent = fmt[th.dataset.type](r[th.dataset.key]);
          /* a campaign's name (jobads campaign set) beside its id, which stays the cell's first text */
          if (th.dataset.key === "campaign_id" && r.campaign_name) {
            const name = document.createElement("span");
            name.className = "campaign-name";
            name.textContent = " " + r.campaign_name;
            td.appendChild(name);
          }
        }
        tr.appendChild(td);
      }
      return tr;
    }));
    markPanel("campaigns", rows.length);
  }

  function drawPipeline(h) {
    const run = h.last_run;
    $("#p-run").textContent = run ? `#${run.id} (${run.trigger})` : "none yet";
    const st = $("#p-state");
    st.textContent = run ? run.state : "–";
    st.className = run ? (run.state === "success" ? "ok" : run.state === "failed" ? "bad" : "warn") : "";
    $("#p-finished").textContent = run && run.finished ? run.finished.replace("T", " ").replace(/\.\d+Z$/, " UTC") + (run.duration_s != null ? ` in ${run.duration_s.toFixed(2)} s` : "") : "–";
    const behind = $("#p-behind");
    behind.textContent = fmt.int(h.events_behind);
    behind.className = h.events_behind > 0 ? "warn" : "ok";
    $("#p-stored").textContent = fmt.int(h.events_stored);
    $("#p-updated").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC";
  }

  /* Fill a filter's options once (from all data), keeping the current choice. */
  function fillSelect(id, rows, value, label) {
    const sel = $("#" + id);
    if (sel.options.length > 1) return;
    for (const r of rows) {
      const o = document.createElement("option");
      o.value = String(r[value]);
      o.textContent = label(r);
      sel.appendChild(o);
    }
  }

  async function loadTable() {
    const g = generation;
    const page = await api("/api/campaigns" + tableQuery());
    if (g === generation) drawTable(page);
  }

  async function loadFilters() {
    const [c, p, i, d] = await Promise.all(["/api/campaigns?sort=campaign_id&limit=1000", "/api/publishers?sort=publisher_name&limit=1000",
      "/api/industries?sort=industry&limit=1000", "/api/devices?sort=device&limit=1000"].map(api));
    fillSelect("f-campaign", c.rows, "campaign_id", (r) => r.campaign_name ? `${r.campaign_id} ${r.campaign_name}` : String(r.campaign_id));
    fillSelect("f-publisher", p.rows, "publisher_id", (r) => r.publisher_name || "#" + r.publisher_id);
    fillSelect("f-industry", i.rows, "industry", (r) => r.industry);
    fillSelect("f-device", d.rows, "device", (r) => r.device);
  }

  async function load() {
    const g = ++generation;
    const q = query();
    setStatus("loading…");
    try {
      const [kpis, camps, pubs, inds, devs, heat, daily, clicks, health, pacing] = await Promise.all([
        api("/api/kpis" + (comparing() ? query({ compare: comparing() }) : q)), api("/api/campaigns" + tableQuery()), api("/api/publishers" + query({ sort: "-clicks", limit: 30 })), api("/api/industries" + q),
        api("/api/devices" + q), api("/api/heatmap" + q), api("/api/timeseries" + query({ interval: "day" })),
        api("/api/timeseries" + query({ interval: "hour", metric: "clicks" })), api("/api/health"), api("/api/pacing"),
      ]);
      if (g !== generation) return; /* a newer load started meanwhile */
      drawTiles(kpis);
      drawGauges(kpis.total);
      drawIndustries(inds.rows);
      drawDevices(devs.rows);
      drawDaily(daily.points);
      drawClicks(clicks.points);
      drawPublishers(pubs.rows);
      drawHeatmap(heat.cells);
      drawTable(camps);
      drawPacing(pacing);
      drawPipeline(health);
      $("#p-tz").textContent = kpis.tz || "UTC"; /* the store's zone: hours and days are its */
      document.body.dataset.loaded = String(g);
      const r = kpis.range;
      const c = kpis.compare;
      setStatus(`Range ${r.from || "beginning"} to ${r.to || "now"} · ${nf.format(kpis.total.records)} records` +
        (c ? ` · compared with ${c.range.from || "the beginning"} to ${c.range.to}` : ""));
    } catch (e) {
      if (g === generation) setStatus("Could not load: " + e.message, true);
    }
  }

  function scheduleRefresh() {
    clearInterval(refreshTimer);
    const s = Number($("#refresh").value);
    if (s > 0) refreshTimer = setInterval(load, s * 1000);
  }

  function init() {
    if (window.JOBADS_NO_ECHARTS || typeof echarts === "undefined") {
      setStatus(window.JOBADS_NO_ECHARTS || "the chart library did not load", true);
      return;
    }
    $("#controls").addEventListener("submit", (e) => e.preventDefault());
    $("#range").addEventListener("change", () => {
      $("#custom").hidden = $("#range").value !== "custom";
      if ($("#range").value !== "custom") load();
    });
    for (const id of ["from", "to", "f-campaign", "f-publisher", "f-industry", "f-device"]) $("#" + id).addEventListener("change", load);
    $("#refresh").addEventListener("change", scheduleRefresh);
    $("#compare").addEventListener("change", load);
    $("#reload").addEventListener("click", load);
    for (const th of $$("#campaign-table th[data-key]")) /* the change column is the server's, not a sort */
      th.addEventListener("click", () => {
        sortDir = sortKey === th.dataset.key ? -sortDir : -1;
        sortKey = th.dataset.key;
        loadTable().catch((e) => setStatus("Could not load the campaigns: " + e.message, true));
      });
    window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
    loadFilters().catch((e) => setStatus("Could not load the filters: " + e.message, true));
    load();
    scheduleRefresh();
  }

  init();
})();
