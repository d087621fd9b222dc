// The console page: polls /api/overview and redraws topics, groups (uPlot lag charts)
// and apps (Mermaid topology); the browser form reads records through the API.
// Plain script, no build step; uPlot and mermaid are globals from /vendor.

const REFRESH_MS = 2000;
const charts = new Map(); // groupId -> { plot, keys }
const drawn = new Map(); // applicationId -> mermaid text already drawn
let overview = null;
let drawCount = 0;

mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function num(n, digits = 0) {
  return el(
    "td",
    { class: "num" },
    Number(n).toLocaleString("en-US", { maximumFractionDigits: digits }),
  );
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

async function refresh() {
  try {
    const res = await fetch("/api/overview");
    overview = await res.json();
    renderTopics(overview.cluster);
    renderGroups(overview.cluster);
    await renderApps(overview.apps);
    const problems = [overview.cluster.error, overview.apps.error].filter(Boolean);
    const when = new Date(overview.cluster.sampledAt).toLocaleTimeString();
    document.getElementById("status").textContent =
      problems.length > 0 ? `sampled ${when} — ${problems.join("; ")}` : `sampled ${when}`;
  } catch (e) {
    document.getElementById("status").textContent = `console unreachable: ${e.message}`;
  }
}

function renderTopics(cluster) {
  const showInternal = document.getElementById("show-internal").checked;
  const rows = [];
  for (const t of cluster.topics) {
    if ((t.internal || t.name === "_tributary_apps") && !showInternal) continue;
    t.partitions.forEach((p, i) => {
      rows.push(
        el(
          "tr",
          { "data-topic": t.name, "data-partition": String(p.partition) },
          el(
            "td",
            {},
            i === 0 ? t.name : "",
            i === 0 && t.cleanupPolicy !== "delete"
              ? el("span", { class: "badge" }, t.cleanupPolicy)
              : null,
          ),
          num(p.partition),
          num(p.logStartOffset),
          num(p.logEndOffset),
          num(p.logEndOffset - p.logStartOffset),
          el("td", { class: "num" }, bytes(p.sizeBytes)),
          num(p.recordsPerSec, 1),
          el("td", { class: "num" }, `${bytes(p.bytesPerSec)}/s`),
        ),
      );
    });
  }
  document.getElementById("topic-rows").replaceChildren(...rows);
  const select = document.getElementById("browse-topic");
  const names = cluster.topics.map((t) => t.name);
  if ([...select.options].map((o) => o.value).join() !== names.join()) {
    const current = select.value;
    select.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
    if (names.includes(current)) select.value = current;
    else
      select.value =
        cluster.topics.find((t) => !t.internal && !t.name.startsWith("_"))?.name ?? names[0] ?? "";
  }
}

function renderGroups(cluster) {
  const list = document.getElementById("group-list");
  if (cluster.groups.length === 0) {
    list.replaceChildren(el("p", { class: "empty" }, "no consumer groups"));
    charts.clear();
    return;
  }
  for (const id of [...charts.keys()]) {
    if (!cluster.groups.some((g) => g.groupId === id)) charts.delete(id);
  }
  const blocks = cluster.groups.map((g) => {
    let block = list.querySelector(`.group[data-group="${CSS.escape(g.groupId)}"]`);
    if (block === null) {
      block = el(
        "div",
        { class: "group", "data-group": g.groupId },
        el("h3", {}),
        el("table", {}),
        el("div", { class: "lag-chart" }),
      );
    }
    block
      .querySelector("h3")
      .replaceChildren(
        g.groupId,
        el("span", { class: "badge" }, g.state),
        el("span", { class: "badge" }, `${g.members.length} member(s)`),
        el("span", { class: "badge total-lag" }, `lag ${g.totalLag.toLocaleString("en-US")}`),
      );
    block.querySelector("table").replaceChildren(
      el(
        "tr",
        {},
        el("th", {}, "Topic"),
        el("th", {}, "Partition"),
        el("th", {}, "Committed"),
        el("th", {}, "End"),
        el("th", {}, "Lag"),
        el("th", {}, "Owner"),
      ),
      ...g.offsets.map((o) => {
        const owner = g.members.find((m) => m.assignment.includes(`${o.topic}-${o.partition}`));
        return el(
          "tr",
          { class: "lag-row", "data-tp": `${o.topic}-${o.partition}`, "data-lag": String(o.lag) },
          el("td", {}, o.topic),
          num(o.partition),
          num(o.committed),
          num(o.logEndOffset),
          el("td", { class: "num lag" }, o.lag.toLocaleString("en-US")),
          el("td", {}, owner ? owner.clientId : "—"),
        );
      }),
    );
    return block;
  });
  list.replaceChildren(...blocks);
  for (const g of cluster.groups)
    drawLag(g, list.querySelector(`.group[data-group="${CSS.escape(g.groupId)}"] .lag-chart`));
}

/** One line per partition: lag over the sampled history. */
function drawLag(group, target) {
  const keys = [...new Set(group.history.flatMap((s) => Object.keys(s.lag)))].sort();
  const data = [
    group.history.map((s) => s.at / 1000),
    ...keys.map((k) => group.history.map((s) => s.lag[k] ?? null)),
  ];
  const existing = charts.get(group.groupId);
  if (existing && existing.keys.join() === keys.join() && target.contains(existing.plot.root)) {
    existing.plot.setData(data);
    return;
  }
  existing?.plot.destroy();
  const palette = [
    "#2563eb",
    "#dc2626",
    "#16a34a",
    "#d97706",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#4b5563",
  ];
  const plot = new uPlot(
    {
      width: Math.min(900, document.body.clientWidth - 80),
      height: 220,
      title: `lag per partition — ${group.groupId}`,
      scales: { x: { time: true } },
      series: [
        {},
        ...keys.map((k, i) => ({ label: k, stroke: palette[i % palette.length], width: 2 })),
      ],
      axes: [{}, { label: "records behind" }],
    },
    data,
    target,
  );
  target.replaceChildren(plot.root);
  charts.set(group.groupId, { plot, keys });
}

async function renderApps(apps) {
  const list = document.getElementById("app-list");
  if (apps.apps.length === 0) {
    list.replaceChildren(
      el(
        "p",
        { class: "empty" },
        "no running apps (workers publish their status to _tributary_apps)",
      ),
    );
    drawn.clear();
    return;
  }
  const blocks = [];
  for (const a of apps.apps) {
    let block = list.querySelector(`.app[data-app="${CSS.escape(a.applicationId)}"]`);
    if (block === null) {
      block = el(
        "div",
        { class: "app", "data-app": a.applicationId },
        el("h3", {}, a.applicationId),
        el("div", { class: "members" }),
        el(
          "details",
          { open: true },
          el("summary", {}, "topology"),
          el("div", { class: "topology" }),
        ),
        el(
          "details",
          {},
          el("summary", {}, "topology as text"),
          el("pre", { class: "topology-text" }),
        ),
      );
      drawn.delete(a.applicationId);
    }
    block.querySelector(".topology-text").textContent = a.topology.text;
    block.querySelector(".members").replaceChildren(membersTable(a), tasksTable(a));
    blocks.push(block);
  }
  list.replaceChildren(...blocks);
  for (const a of apps.apps) {
    if (drawn.get(a.applicationId) === a.topology.mermaid) continue;
    const target = list.querySelector(`.app[data-app="${CSS.escape(a.applicationId)}"] .topology`);
    try {
      const { svg } = await mermaid.render(`topology-${++drawCount}`, a.topology.mermaid);
      target.innerHTML = svg;
      target.dataset.drawn = "true";
    } catch (e) {
      target.replaceChildren(el("p", { class: "error" }, `topology not drawn: ${e.message}`));
    }
    drawn.set(a.applicationId, a.topology.mermaid);
  }
}

function membersTable(app) {
  return el(
    "table",
    { class: "member-table" },
    el(
      "tr",
      {},
      ...["Member", "Client", "State", "Tasks", "Processed", "Committed", "Lag", "Last seen"].map(
        (h) => el("th", {}, h),
      ),
    ),
    ...app.members.map((m) =>
      el(
        "tr",
        { "data-member": m.memberId },
        el("td", {}, m.memberId),
        el("td", {}, m.clientId),
        el(
          "td",
          {},
          m.state,
          m.stale ? el("span", { class: "badge stale" }, "stale") : null,
          m.error ? el("span", { class: "badge failed", title: m.error }, "error") : null,
        ),
        num(m.tasks.length),
        num(m.metrics.recordsProcessed ?? 0),
        num(m.metrics.commits ?? 0),
        num(m.metrics.totalLag ?? 0),
        el("td", {}, new Date(m.publishedAt).toLocaleTimeString()),
      ),
    ),
  );
}

function tasksTable(app) {
  const rows = [];
  for (const m of app.members) {
    for (const t of m.tasks) {
      const stores =
        t.stores.length === 0
          ? ["—"]
          : t.stores.map((s) => {
              const r = s.restore;
              const restore =
                r === null || r.total === 0
                  ? "nothing to restore"
                  : r.done >= r.total
                    ? `restored ${r.total.toLocaleString("en-US")}`
                    : el(
                        "span",
                        {},
                        el("progress", { max: r.total, value: r.done }),
                        ` ${r.done}/${r.total}`,
                      );
              return el("div", { class: "store", "data-store": s.name }, `${s.name}: `, restore);
            });
      rows.push(
        el(
          "tr",
          { class: "task", "data-task": t.id },
          el("td", {}, t.id),
          el("td", {}, m.clientId),
          el("td", {}, ...stores),
        ),
      );
    }
  }
  return el(
    "table",
    { class: "task-table" },
    el("tr", {}, el("th", {}, "Task"), el("th", {}, "Member"), el("th", {}, "Stores and restore")),
    ...rows,
  );
}

function shown(b) {
  if (b === null) return el("i", {}, "null");
  const text = b.encoding === "utf8" ? b.data : `base64:${b.data}`;
  return el(
    "pre",
    {},
    text,
    b.length > b.data.length && b.encoding === "utf8" ? ` … (${b.length} bytes)` : "",
  );
}

async function browse(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const topic = form.get("topic");
  const params = new URLSearchParams();
  params.set("limit", form.get("limit"));
  let url;
  if (form.get("mode") === "tail") {
    params.set("partition", form.get("partition"));
    url = `/api/topics/${encodeURIComponent(topic)}/tail?${params}`;
  } else {
    for (const f of ["key", "from", "to"]) if (form.get(f)) params.set(f, form.get(f));
    url = `/api/topics/${encodeURIComponent(topic)}/search?${params}`;
  }
  const out = document.getElementById("browse-result");
  out.replaceChildren(el("p", {}, "reading…"));
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) {
    out.replaceChildren(el("p", { class: "error" }, body.error));
    return;
  }
  out.replaceChildren(
    el(
      "p",
      {},
      `${body.records.length} record(s), ${body.scanned} read${body.truncated ? " — stopped at the read bound: narrow the search" : ""}`,
    ),
    el(
      "table",
      { class: "records" },
      el("tr", {}, ...["Partition", "Offset", "Time", "Key", "Value"].map((h) => el("th", {}, h))),
      ...body.records.map((r) =>
        el(
          "tr",
          { class: "record", "data-offset": String(r.offset) },
          num(r.partition),
          num(r.offset),
          el("td", {}, new Date(r.timestamp).toISOString()),
          el("td", {}, shown(r.key)),
          el("td", {}, shown(r.value)),
        ),
      ),
    ),
  );
}

document.getElementById("browse-form").addEventListener("submit", browse);
document
  .getElementById("show-internal")
  .addEventListener("change", () => overview && renderTopics(overview.cluster));
// Chained, not an interval: a slow drawing never overlaps the next refresh.
(async function loop() {
  await refresh();
  setTimeout(loop, REFRESH_MS);
})();
