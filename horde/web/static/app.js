// The page: one event stream (server-sent events) feeds every panel; the form and buttons call Locust's routes.
// A past run (horde ui JOURNAL) gets the whole story at once and a slider that asks for any moment's panels.

import { LineChart, clock } from "./chart.js";

const $ = (id) => document.getElementById(id);
const page = { mode: "live", points: [], markers: [], started: null, config: null, at: null };

const charts = {
  rps: new LineChart($("chart-rps"), {
    series: [{ key: "rps", label: "RPS", color: "#2f6fde" }, { key: "fps", label: "Failures/s", color: "#c4320a" }],
  }),
  times: new LineChart($("chart-times"), {
    series: [
      { key: "p50", label: "Median", color: "#12b76a" },
      { key: "p95", label: "95%ile", color: "#f79009" },
      { key: "p99", label: "99%ile", color: "#9e77ed" },
    ],
  }),
  users: new LineChart($("chart-users")),
};

function number(v, digits = 0) {
  if (v === null || v === undefined) return "";
  return Number(v).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function fill(tbody, rows, make) {
  tbody.replaceChildren(...rows.map(make));
}

function renderView(view) {
  $("state").textContent = view.state + (view.stop_reason && view.state === "stopped" ? ` (${view.stop_reason})` : "");
  $("user-count").textContent = number(view.user_count);
  $("rps").textContent = number(view.current_rps, 1);
  $("fail-ratio").textContent = `${number(view.fail_ratio * 100, 0)}%`;
  $("host").textContent = view.host || "-";
  const shaped = page.config && page.config.shape;
  const target = view.target_users === null ? "-" : `${number(view.target_users)} at ${number(view.spawn_rate, 1)}/s`;
  $("target").textContent = shaped ? `${target} (LoadTestShape drives)` : target;
  fill($("stats-table").tBodies[0], view.stats, (s) => {
    const tr = document.createElement("tr");
    tr.dataset.name = s.name;
    tr.dataset.method = s.method;
    if (s.name === "Aggregated") tr.className = "total";
    tr.append(
      cell(s.method), cell(s.name), cell(number(s.num_requests)), cell(number(s.num_failures)),
      cell(number(s.median_response_time)), cell(number(s["response_time_percentile_0.9"])),
      cell(number(s["response_time_percentile_0.95"])), cell(number(s["response_time_percentile_0.99"])),
      cell(number(s.avg_response_time, 1)), cell(number(s.min_response_time)), cell(number(s.max_response_time)),
      cell(number(s.avg_content_length)), cell(number(s.current_rps, 1)), cell(number(s.current_fail_per_sec, 1)),
    );
    return tr;
  });
  $("worker-count").textContent = view.workers.length ? `(${view.worker_count} active)` : "";
  fill($("workers-table").tBodies[0], view.workers, (w) => {
    const tr = document.createElement("tr");
    tr.className = w.state;
    tr.dataset.worker = w.id;
    tr.dataset.state = w.state;
    const story = [w.missed ? `missing ${w.missed}x` : "", w.rejoined ? "rejoined" : ""].filter(Boolean).join(", ");
    tr.append(
      cell(w.id), cell(w.hostname), cell(w.state), cell(number(w.user_count)), cell(number(w.cpu_usage, 1)),
      cell(`${number(w.memory_usage / 1048576, 0)} MB`), cell(w.heard_ago === null ? "" : `${number(w.heard_ago, 1)} s ago`),
      cell(story),
    );
    return tr;
  });
  fill($("failures-table").tBodies[0], view.errors, (e) => {
    const tr = document.createElement("tr");
    tr.append(cell(number(e.occurrences)), cell(e.method), cell(e.name), cell(e.error));
    return tr;
  });
  fill($("exceptions-table").tBodies[0], view.exceptions, (e) => {
    const tr = document.createElement("tr");
    const trace = cell("");
    const pre = document.createElement("pre");
    pre.textContent = e.traceback;
    trace.append(pre);
    tr.append(cell(number(e.count)), cell(e.msg), trace, cell(e.nodes));
    return tr;
  });
  document.body.dataset.state = view.state;
  const ready = view.state === "ready";
  $("stop-button").disabled = ready || view.state === "stopped";
  // After Stop the same button starts a new test, as Locust's "New" does.
  $("edit-button").textContent = ready ? "Start" : view.state === "stopped" ? "New test" : "Edit";
  $("edit-button").disabled = view.state === "stopping";
}

function renderTimeline() {
  const start = page.started ?? (page.points.length ? page.points[0].t : 0);
  fill($("timeline"), page.markers, (m) => {
    const li = document.createElement("li");
    li.dataset.seq = m.seq;
    li.dataset.type = m.type;
    if (page.at !== null && m.t > start + page.at) li.className = "later";
    const time = document.createElement("time");
    time.textContent = page.mode === "journal" ? `+${(m.t - start).toFixed(1)} s` : clock(m.t);
    li.append(time, document.createTextNode(m.text));
    return li;
  });
}

function drawCharts() {
  for (const chart of Object.values(charts)) chart.set(page.points, page.markers);
}

// --- live -------------------------------------------------------------------------------------------------------

function connect() {
  const source = new EventSource("events");
  source.addEventListener("hello", (e) => {
    const hello = JSON.parse(e.data);
    page.mode = hello.mode;
    page.points = hello.points;
    page.markers = hello.markers;
    if (hello.mode === "journal") {
      source.close();
      startJournal(hello);
    }
    renderView(hello.view);
    drawCharts();
    renderTimeline();
    $("connection").textContent = hello.mode === "journal" ? `journal ${hello.journal}` : "live";
  });
  source.addEventListener("tick", (e) => {
    const tick = JSON.parse(e.data);
    page.points.push(tick.point);
    const known = new Set(page.markers.map((m) => `${m.seq} ${m.text}`));
    page.markers.push(...tick.markers.filter((m) => !known.has(`${m.seq} ${m.text}`)));
    renderView(tick.view);
    drawCharts();
    if (tick.markers.length) renderTimeline();
  });
  source.onerror = () => {
    if (page.mode === "live") $("connection").textContent = "disconnected: retrying...";
  };
  source.onopen = () => {
    if (page.mode === "live") $("connection").textContent = "live";
  };
}

// Locust's Logs tab: the master's last lines and each worker's, as its heartbeats brought them (`/logs`).
async function refreshLogs() {
  const response = await fetch("logs");
  if (!response.ok) return;
  const logs = await response.json();
  $("master-log").textContent = logs.master.join("\n");
  const holder = $("worker-logs");
  for (const [worker, lines] of Object.entries(logs.workers)) {
    let pre = holder.querySelector(`pre[data-worker="${CSS.escape(worker)}"]`);
    if (!pre) {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = `Worker ${worker}`;
      pre = document.createElement("pre");
      pre.className = "log";
      pre.dataset.worker = worker;
      details.append(summary, pre);
      holder.append(details);
    }
    pre.textContent = lines.join("\n");
  }
}

function openSwarm() {
  const config = page.config;
  const state = document.body.dataset.state;
  const fresh = !state || state === "ready" || state === "stopped";
  $("swarm-title").textContent = fresh ? "Start a new load test" : "Edit the running load test";
  shapeChosen(config);
  $("swarm-error").textContent = "";
  $("swarm-dialog").showModal();
}

// A LoadTestShape sets the users and the rate: the locustfile's own, or the one the class picker chose.
function shapeChosen(config) {
  const picker = $("shape_class");
  const shaped = picker ? picker.value !== "Default" : Boolean(config.shape);
  $("shape-note").hidden = !shaped;
  for (const id of ["user_count", "spawn_rate"]) $(id).required = !shaped;
}

function buildForm(config) {
  $("user_count").value = config.user_count ?? 1;
  $("spawn_rate").value = config.spawn_rate ?? 1;
  $("host-input").value = config.host || "";
  $("profile").value = config.profile || "";
  const holder = $("custom-arguments");
  if (config.class_picker) {
    // --class-picker: tick the User classes this test runs (none ticked: all of them, or those already running).
    const set = document.createElement("fieldset");
    set.id = "class-picker";
    const legend = document.createElement("legend");
    legend.textContent = "User classes";
    set.append(legend);
    for (const name of config.class_picker) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "user_classes";
      box.value = name;
      box.checked = true;
      box.className = "class-pick";
      box.id = `class-${name}`;
      label.append(box, ` ${name}`);
      set.append(label);
    }
    holder.append(set);
  }
  if (config.shape_classes && config.shape_classes.length) {
    // --class-picker with LoadTestShape classes: one of them drives the test, or "Default" (none), as Locust's.
    const label = document.createElement("label");
    label.textContent = "Shape class";
    const select = document.createElement("select");
    select.id = "shape_class";
    select.name = "shape_class";
    for (const name of ["Default", ...config.shape_classes]) select.append(new Option(name, name));
    select.onchange = () => shapeChosen(config);
    label.append(select);
    holder.append(label);
  }
  for (const arg of config.arguments) {
    const label = document.createElement("label");
    label.textContent = arg.help || arg.dest;
    let input;
    if (arg.choices) {
      input = document.createElement("select");
      for (const choice of arg.choices) input.append(new Option(String(choice), String(choice)));
      input.value = String(arg.default ?? "");
    } else {
      input = document.createElement("input");
      if (arg.kind === "bool") {
        input.type = "checkbox";
        input.checked = Boolean(arg.default);
        input.value = "true";
      } else {
        input.type = arg.is_secret ? "password" : "text";
        input.value = arg.default ?? "";
      }
    }
    input.name = arg.dest;
    input.id = `arg-${arg.dest}`;
    input.required = arg.is_required;
    label.append(input);
    holder.append(label);
  }
}

async function post(url, body) {
  const response = await fetch(url, { method: "POST", body });
  const text = await response.text();
  let message = text;
  try { message = JSON.parse(text).message ?? text; } catch { /* plain text */ }
  return { ok: response.ok, message };
}

function startLive(config) {
  $("live-buttons").hidden = false;
  buildForm(config);
  $("edit-button").onclick = openSwarm;
  $("cancel-button").onclick = () => $("swarm-dialog").close();
  $("stop-button").onclick = () => post("stop");
  $("reset-button").onclick = () => post("stats/reset");
  $("swarm-form").onsubmit = async (e) => {
    e.preventDefault();
    const form = new FormData($("swarm-form"));
    for (const box of $("swarm-form").querySelectorAll("input[type=checkbox]:not(.class-pick)")) if (!box.checked) form.set(box.name, "false");
    const result = await post("swarm", new URLSearchParams(form));
    if (result.ok) $("swarm-dialog").close();
    else $("swarm-error").textContent = result.message;
  };
  if (!config.started) openSwarm();
  $("logs-section").hidden = false;
  refreshLogs();
  setInterval(refreshLogs, 5000);
}

// --- a past run -------------------------------------------------------------------------------------------------

let pending = null;

function startJournal(hello) {
  page.started = hello.started;
  $("journal-bar").hidden = false;
  $("journal-name").textContent = hello.journal;
  $("duration").textContent = `${hello.duration.toFixed(1)} s`;
  const slider = $("slider");
  slider.max = String(hello.duration);
  slider.value = String(hello.duration);
  $("moment").textContent = `${hello.duration.toFixed(1)} s`;
  slider.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(() => moveTo(Number(slider.value)), 60);
  });
}

async function moveTo(seconds) {
  page.at = seconds;
  $("moment").textContent = `${seconds.toFixed(1)} s`;
  const response = await fetch(`replay/state?at=${seconds}`);
  if (!response.ok) return;
  const view = await response.json();
  if (page.at !== seconds) return; // the slider moved on meanwhile
  renderView(view);
  document.body.dataset.at = String(seconds);
  for (const chart of Object.values(charts)) chart.setCursor(page.started + seconds);
  renderTimeline();
  for (const link of document.querySelectorAll(".downloads a")) {
    const url = new URL(link.getAttribute("href"), location.href);
    if (link.id !== "dl-journal") url.searchParams.set("at", String(seconds));
    link.href = url.toString();
  }
}

async function main() {
  const response = await fetch("config");
  page.config = await response.json();
  page.mode = page.config.mode;
  if (page.mode === "live") startLive(page.config);
  connect();
}

main();
