// bumpserve pages: live updates over server-sent events, the convergence
// plot, and an "add a parameter" button. Everything here is an extra:
// without JavaScript the pages refresh themselves (a <noscript> refresh)
// and the forms offer spare rows.
"use strict";

const terminal = (s) => s === "COMPLETE" || s === "ERROR" || s === "CANCEL";

function fmtNum(v) {
  if (v === undefined || v === null || !isFinite(v)) return "–";
  return Number(v.toPrecision(6)).toString();
}

function fmtTime(s) {
  if (!s) return "–";
  const d = new Date(s);
  if (isNaN(d)) return "–";
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el && el.textContent !== text) el.textContent = text;
}

function setState(el, state) {
  el.textContent = state;
  el.className = "state state-" + state.toLowerCase();
}

// ---- convergence plot: best chisq against step, drawn as SVG ----------

const SVG = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

class Convergence {
  constructor(box) {
    this.box = box;
    this.points = [];
  }
  add(step, cost) {
    if (!isFinite(step) || !isFinite(cost)) return;
    const last = this.points[this.points.length - 1];
    if (last && last.step === step) { last.cost = cost; } else if (!last || step > last.step) {
      this.points.push({ step, cost });
    }
    this.draw();
  }
  draw() {
    const W = 800, H = 240, L = 64, R = 12, T = 10, B = 36;
    const pts = this.points;
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, "data-points": String(pts.length) });
    svg.appendChild(svgEl("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
    svg.appendChild(svgEl("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
    svg.appendChild(svgEl("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "step"));
    svg.appendChild(svgEl("text", { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle" }, "χ² so far"));
    if (pts.length > 0) {
      const costs = pts.map((p) => p.cost);
      let lo = Math.min(...costs), hi = Math.max(...costs);
      // A log scale when chisq falls over decades, as it usually does.
      const log = lo > 0 && hi / lo > 20;
      const f = log ? Math.log10 : (v) => v;
      let flo = f(lo), fhi = f(hi);
      if (fhi === flo) { fhi += 1; flo -= 1; }
      const s0 = pts[0].step, s1 = Math.max(pts[pts.length - 1].step, s0 + 1);
      const x = (s) => L + (W - L - R) * (s - s0) / (s1 - s0);
      const y = (c) => T + (H - T - B) * (1 - (f(c) - flo) / (fhi - flo));
      const line = pts.map((p) => `${x(p.step).toFixed(1)},${y(p.cost).toFixed(1)}`).join(" ");
      svg.appendChild(svgEl("polyline", { points: line, fill: "none", stroke: "#1f5fbf", "stroke-width": 2 }));
      for (const p of pts.slice(-1)) {
        svg.appendChild(svgEl("circle", { cx: x(p.step), cy: y(p.cost), r: 3, fill: "#1f5fbf" }));
      }
      svg.appendChild(svgEl("text", { x: L - 4, y: T + 10, "text-anchor": "end" }, fmtNum(hi)));
      svg.appendChild(svgEl("text", { x: L - 4, y: H - B, "text-anchor": "end" }, fmtNum(lo)));
      svg.appendChild(svgEl("text", { x: L, y: H - B + 14, "text-anchor": "start" }, String(s0)));
      svg.appendChild(svgEl("text", { x: W - R, y: H - B + 14, "text-anchor": "end" }, String(s1)));
      if (log) svg.appendChild(svgEl("text", { x: W - R, y: T + 10, "text-anchor": "end" }, "log scale"));
    }
    this.box.replaceChildren(svg);
  }
}

// ---- the job page --------------------------------------------------------

function watchJob(article) {
  const initial = article.dataset.state;
  if (terminal(initial)) return;
  const fig = document.getElementById("convergence");
  const chart = document.getElementById("convergence-chart");
  const plot = chart ? new Convergence(chart) : null;
  if (plot && fig.dataset.cost !== "") plot.add(Number(fig.dataset.step), Number(fig.dataset.cost));
  else if (plot) plot.draw();

  const es = new EventSource(article.dataset.events);
  es.addEventListener("job", (ev) => {
    const j = JSON.parse(ev.data);
    setState(document.getElementById("state"), j.state);
    article.dataset.state = j.state;
    setText("reason", j.reason || "–");
    setText("attempt", `${j.attempt} of ${j.max_attempts}`);
    setText("worker", j.worker || "–");
    setText("started", fmtTime(j.started));
    setText("finished", fmtTime(j.finished));
    if (j.cancel_requested) {
      document.getElementById("cancel-status").hidden = false;
      const b = document.getElementById("cancel");
      if (b) b.disabled = true;
    }
    const p = j.progress;
    if (p) {
      document.getElementById("progress").hidden = false;
      setText("step", String(p.step));
      setText("cost", fmtNum(p.cost));
      setText("message", p.message || "–");
      if (plot && p.cost !== undefined) plot.add(p.step, p.cost);
    }
    if (terminal(j.state)) {
      es.close();
      // The results, plots and files are rendered by the server.
      location.reload();
    }
  });
  es.addEventListener("deleted", () => {
    es.close();
    setText("state", "DELETED");
  });
}

// ---- the job list --------------------------------------------------------

function watchList(table) {
  const es = new EventSource(table.dataset.events);
  es.addEventListener("job", (ev) => {
    const j = JSON.parse(ev.data);
    const row = table.querySelector(`tr[data-job-id="${j.id}"]`);
    if (!row) {
      // A job not on this page: offer the newest page, if this is it.
      if ("firstPage" in table.dataset) document.getElementById("new-jobs").hidden = false;
      return;
    }
    setState(row.querySelector(".state"), j.state);
    row.querySelector(".state").parentElement.dataset.sort = j.state;
    const cell = row.querySelector(".progress");
    let text = j.reason || "";
    if (j.progress && !terminal(j.state)) {
      text = `step ${j.progress.step}` + (j.progress.cost !== undefined ? `, χ² ${fmtNum(j.progress.cost)}` : "");
    }
    if (cell.textContent !== text) cell.textContent = text;
  });
}

// ---- sorting a table by a column ---------------------------------------

// sortable turns each heading of table into a button that sorts the rows
// shown by that column (cells' data-sort, else their text; headings with
// data-type="number" compare numbers, empty cells last).
function sortable(table) {
  const heads = [...table.tHead.rows[0].cells];
  heads.forEach((th, col) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "sort";
    b.append(...th.childNodes);
    th.appendChild(b);
    b.addEventListener("click", () => sortBy(table, heads, col));
  });
}

function sortBy(table, heads, col) {
  const th = heads[col];
  const dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
  for (const h of heads) h.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", dir);
  const numeric = th.dataset.type === "number";
  const key = (tr) => {
    const cell = tr.cells[col];
    const v = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    return numeric ? (v === "" ? NaN : Number(v)) : v.toLowerCase();
  };
  const sign = dir === "ascending" ? 1 : -1;
  const rows = [...table.tBodies[0].rows];
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (numeric) {
      if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y); // empty last either way
      return sign * (x - y);
    }
    return sign * x.localeCompare(y);
  });
  table.tBodies[0].append(...rows);
}

// ---- the submit form -----------------------------------------------------

function addParamRows(button) {
  const body = document.querySelector("#param-rows tbody");
  button.hidden = false;
  button.addEventListener("click", () => {
    const rows = body.querySelectorAll("tr.param-row");
    const next = rows.length;
    const row = rows[rows.length - 1].cloneNode(true);
    for (const input of row.querySelectorAll("input")) {
      input.name = input.name.replace(/^p\d+_/, `p${next}_`);
      input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+/, String(next + 1)));
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      if (input.type === "checkbox") input.checked = false; else input.value = "";
    }
    body.appendChild(row);
    row.querySelector("input").focus();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const article = document.getElementById("job");
  if (article) watchJob(article);
  const table = document.getElementById("jobs");
  if (table && table.dataset.events) watchList(table);
  for (const t of document.querySelectorAll("table.sortable")) sortable(t);
  const add = document.getElementById("add-param");
  if (add) addParamRows(add);
});
