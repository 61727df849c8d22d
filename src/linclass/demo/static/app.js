// The linear classifier demo page. Drawing and editing happen here; every score,
// loss and gradient shown comes from the server (/api/evaluate, /api/step),
// i.e. from linclass's own math. The only arithmetic done in the browser is for
// drawing: the colour of the background (argmax of the scores), the zero-score
// lines and the weight arrows.
//
// Layout: W is (3 classes × 2 features), row k = class k's weight vector, as the
// lecture writes Wx + b; the server transposes to linclass's (2 × 3).
"use strict";

const COLORS = ["#d6423a", "#2b9348", "#2f6fd6"];
const REGION = [[246, 205, 202], [200, 234, 208], [200, 216, 246]]; // light class colours (RGB)
const SIZE = 480;          // canvas size in CSS pixels; the data live on [−1, 1]²
const POINT_RADIUS = 7;
const ARROW_SCALE = 0.15;  // a weight vector W_k is drawn as 0.15 · W_k in data units
const PARAM_STEP = 0.1;    // what the ± buttons add
const Y_I = "y<sub>i</sub>";
let MESSAGES = {}; // English text → the page's language (GET /api/messages)

// A message in the page's language, its {name} placeholders filled in from `values`.
function t(text, values = {}) {
  const translated = MESSAGES[text] || text;
  return translated.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

// Swap every text node and title / aria-label of the static page for its translation.
function translatePage() {
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.replace(/\s+/g, " ").trim();
    if (text && MESSAGES[text] && MESSAGES[text] !== text) {
      node.nodeValue = node.nodeValue.replace(/\S[\s\S]*\S|\S/, MESSAGES[text]);
    }
  }
  for (const el of document.querySelectorAll("[title], [aria-label]")) {
    for (const attr of ["title", "aria-label"]) {
      const text = el.getAttribute(attr);
      if (text && MESSAGES[text]) el.setAttribute(attr, MESSAGES[text]);
    }
  }
}

const FORMULAS = { // static markup, shown with innerHTML; the names pass through t() when shown
  "svm": `<b>Weston–Watkins SVM</b>: L<sub>i</sub> = Σ<sub>j≠${Y_I}</sub> max(0, s<sub>j</sub> − s<sub>${Y_I}</sub> + Δ)`,
  "ova-svm": `<b>one-vs-all SVM</b>: L<sub>i</sub> = Σ<sub>j≠${Y_I}</sub> max(0, Δ + s<sub>j</sub>) + max(0, Δ − s<sub>${Y_I}</sub>)`,
  "structured-svm": `<b>structured SVM</b> (Crammer–Singer): L<sub>i</sub> = max(0, max<sub>j≠${Y_I}</sub> s<sub>j</sub> − s<sub>${Y_I}</sub> + Δ)`,
  "softmax": `<b>softmax</b>: L<sub>i</sub> = −log( e<sup>s<sub>${Y_I}</sub></sup> / Σ<sub>j</sub> e<sup>s<sub>j</sub></sup> )`,
};

const $ = (sel) => document.querySelector(sel);
const canvas = $("#canvas");
const ctx = canvas.getContext("2d");
const plot = $("#loss-plot");

let defaults = null;
const S = {
  X: [], y: [], W: [], b: [],
  loss: "svm", regExp: -1, stepExp: -1, delta: 1, optimizer: "sgd", optState: null,
  evaluation: null, evaluatedVersion: -1, history: [], steps: 0, running: false,
  version: 0,           // bumped on every change of data, parameters or settings
  drag: null,           // index of the point being dragged
  pending: 0,           // requests in flight (exposed as body[data-pending] for tests)
};

// ------------------------------------------------------------------ server

async function api(path, body) {
  S.pending += 1;
  document.body.dataset.pending = String(S.pending);
  try {
    const response = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || t("the server answered {status}", { status: response.status }));
    return data;
  } finally {
    S.pending -= 1;
    document.body.dataset.pending = String(S.pending);
  }
}

const regStrength = () => (S.regExp <= -5 ? 0 : 10 ** S.regExp);
const stepSize = () => 10 ** S.stepExp;

function problem() {
  return { X: S.X, y: S.y, W: S.W, b: S.b, loss: S.loss, reg_strength: regStrength(), delta: S.delta };
}

function changed() {
  S.version += 1;
}

let evalBusy = false;
let evalDirty = false;

// Evaluate the current state; while one request is in flight, later changes coalesce into one more.
function requestEvaluate() {
  evalDirty = true;
  if (!evalBusy) evaluateLoop();
}

async function evaluateLoop() {
  evalBusy = true;
  while (evalDirty) {
    evalDirty = false;
    const version = S.version;
    try {
      const evaluation = await api("/api/evaluate", problem());
      if (version === S.version) showEvaluation(evaluation);
    } catch (err) {
      showError(err);
    }
  }
  evalBusy = false;
}

let stepChain = Promise.resolve();

// Steps run one after another, each from the parameters the previous one returned.
function queueStep() {
  stepChain = stepChain.then(doStep).catch((err) => {
    showError(err);
    stopRunning();
  });
  return stepChain;
}

async function doStep() {
  // the curve starts at step 0, from an evaluation of the current settings only
  if (S.history.length === 0 && S.evaluation && S.evaluatedVersion === S.version) S.history.push(S.evaluation.loss);
  const sent = S.version;
  const result = await api("/api/step", {
    ...problem(), optimizer: S.optimizer, step_size: stepSize(), opt_state: S.optState,
  });
  const stale = sent !== S.version; // the data or settings changed while the step was computed
  S.W = result.W;
  S.b = result.b;
  S.optState = result.opt_state;
  S.steps += 1;
  showSlope(result.slope_along_step, result.steepest_slope);
  changed();
  renderParams();
  if (stale) {
    requestEvaluate();
  } else {
    S.history.push(result.evaluation.loss);
    showEvaluation(result.evaluation);
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function runLoop() {
  while (S.running) {
    await queueStep();
    await sleep(80);
  }
}

function stopRunning() {
  S.running = false;
  const button = $("#run");
  button.textContent = t("Start repeated updates");
  button.setAttribute("aria-pressed", "false");
}

// ------------------------------------------------------------------ display

// One minus sign on the page, as in `linclass explain`: the typographic "−" (U+2212) in every number shown;
// input fields keep the ASCII "-" that Number() reads back (plain()).
const MINUS = "\u2212";

function plain(v, digits = 3) {
  return (Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v).toFixed(digits);
}

function fmt(v, digits = 3) {
  return plain(v, digits).replace("-", MINUS);
}

function sig(v, digits = 2) {
  return v.toPrecision(digits).replace(/-/g, MINUS);
}

function showSlope(slope, steepest) {
  $("#step-slope").textContent = slope === null ? "…" : `${fmt(slope, 4)} ${t("(steepest {slope})", { slope: fmt(steepest, 4) })}`;
}

function showEvaluation(ev) {
  S.evaluation = ev;
  S.evaluatedVersion = S.version;
  $("#data-loss").textContent = fmt(ev.data_loss, 4);
  $("#reg-loss").textContent = fmt(ev.reg_loss, 4);
  $("#total-loss").textContent = fmt(ev.loss, 4);
  $("#mean-li").textContent = fmt(ev.data_loss, 3);
  $("#step-count").textContent = String(S.steps);
  renderTable();
  renderGrads();
  drawPlot();
  draw();
  setStatus("");
}

function setStatus(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function showError(err) {
  setStatus(t("Error: {message}", { message: err.message }), true);
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function swatch(k) {
  const span = document.createElement("span");
  span.className = `swatch c${k}`;
  return span;
}

function renderTable() {
  const body = $("#points-table tbody");
  body.replaceChildren();
  const ev = S.evaluation;
  S.X.forEach((p, i) => {
    const row = body.insertRow();
    if (i === S.drag) row.className = "active";
    cell(row, String(i));
    const cls = cell(row, String(S.y[i]));
    cls.prepend(swatch(S.y[i]));
    cell(row, fmt(p[0], 2));
    cell(row, fmt(p[1], 2));
    const fresh = ev && ev.scores.length === S.X.length;
    for (let k = 0; k < 3; k += 1) {
      cell(row, fresh ? fmt(ev.scores[i][k], 2) : "…", k === S.y[i] ? "own" : "");
    }
    const li = fresh ? ev.losses[i] : NaN;
    cell(row, fresh ? fmt(li, 3) : "…", li === 0 ? "zero" : "");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "×";
    remove.title = remove.ariaLabel = t("remove point {i}", { i });
    remove.addEventListener("click", () => removePoint(i));
    row.insertCell().append(remove);
  });
}

function renderParams() {
  const body = $("#params-table tbody");
  if (!body.rows.length) buildParamsTable(body);
  for (let k = 0; k < 3; k += 1) {
    for (let c = 0; c < 3; c += 1) {
      const input = body.rows[k].cells[c + 1].querySelector("input");
      if (document.activeElement !== input) input.value = plain(c < 2 ? S.W[k][c] : S.b[k], 3);
    }
  }
}

function buildParamsTable(body) {
  for (let k = 0; k < 3; k += 1) {
    const row = body.insertRow();
    const name = row.insertCell();
    name.append(swatch(k), t("class {k}", { k }));
    for (let c = 0; c < 3; c += 1) {
      const label = c < 2 ? `W[${k}][${c === 0 ? "x" : "y"}]` : `b[${k}]`;
      const td = row.insertCell();
      const box = document.createElement("div");
      box.className = "param";
      const minus = document.createElement("button");
      minus.type = "button";
      minus.textContent = "−";
      minus.ariaLabel = t("decrease {label}", { label });
      const input = document.createElement("input");
      input.type = "number";
      input.step = String(PARAM_STEP);
      input.ariaLabel = label;
      const plus = document.createElement("button");
      plus.type = "button";
      plus.textContent = "+";
      plus.ariaLabel = t("increase {label}", { label });
      box.append(minus, input, plus);
      const grad = document.createElement("div");
      grad.className = "grad";
      grad.title = t("gradient of the total loss with respect to {label}", { label });
      td.append(box, grad);
      minus.addEventListener("click", () => setParam(k, c, getParam(k, c) - PARAM_STEP));
      plus.addEventListener("click", () => setParam(k, c, getParam(k, c) + PARAM_STEP));
      input.addEventListener("change", () => {
        const v = Number(input.value);
        if (input.value.trim() !== "" && Number.isFinite(v)) setParam(k, c, v);
        else input.value = plain(getParam(k, c), 3);
      });
    }
  }
}

const getParam = (k, c) => (c < 2 ? S.W[k][c] : S.b[k]);

function setParam(k, c, v) {
  v = Math.round(v * 1e6) / 1e6;
  if (c < 2) S.W[k][c] = v;
  else S.b[k] = v;
  changed();
  renderParams();
  draw();
  requestEvaluate();
}

function renderGrads() {
  const body = $("#params-table tbody");
  const g = S.evaluation.grads;
  for (let k = 0; k < 3; k += 1) {
    for (let c = 0; c < 3; c += 1) {
      const v = c < 2 ? g.W[k][c] : g.b[k];
      body.rows[k].cells[c + 1].querySelector(".grad").textContent = `∂L: ${v >= 0 ? "+" : ""}${fmt(v, 3)}`;
    }
  }
}

// ------------------------------------------------------------------ canvas

const toPx = (x, y) => [((x + 1) / 2) * SIZE, ((1 - y) / 2) * SIZE];
const toData = (px, py) => [(px / SIZE) * 2 - 1, 1 - (py / SIZE) * 2];

function setupCanvas() {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = SIZE * ratio;
  canvas.height = SIZE * ratio;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
}

const regions = document.createElement("canvas");
regions.width = regions.height = 160;

function drawRegions() {
  // the predicted class argmax_k (W_k · x + b_k) on a 160 × 160 grid, scaled up smoothly
  const n = regions.width;
  const rctx = regions.getContext("2d");
  const image = rctx.createImageData(n, n);
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < n; c += 1) {
      const x = ((c + 0.5) / n) * 2 - 1;
      const y = 1 - ((r + 0.5) / n) * 2;
      let best = 0;
      let bestScore = -Infinity;
      for (let k = 0; k < 3; k += 1) {
        const s = S.W[k][0] * x + S.W[k][1] * y + S.b[k];
        if (s > bestScore) { bestScore = s; best = k; }
      }
      const o = 4 * (r * n + c);
      image.data.set([...REGION[best], 255], o);
    }
  }
  rctx.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(regions, 0, 0, SIZE, SIZE);
}

function drawGrid() {
  ctx.lineWidth = 1;
  for (let t = -1; t <= 1.001; t += 0.5) {
    const [px, py] = toPx(t, t);
    ctx.strokeStyle = Math.abs(t) < 1e-9 ? "rgba(0,0,0,0.35)" : "rgba(0,0,0,0.1)";
    ctx.beginPath();
    ctx.moveTo(px, 0); ctx.lineTo(px, SIZE);
    ctx.moveTo(0, py); ctx.lineTo(SIZE, py);
    ctx.stroke();
  }
  ctx.fillStyle = "rgba(0,0,0,0.5)";
  ctx.font = "11px system-ui, sans-serif";
  for (const t of [-0.5, 0.5]) {
    const [px, py] = toPx(t, t);
    ctx.fillText(fmt(t, 1), px + 3, SIZE / 2 - 4);
    ctx.fillText(fmt(t, 1), SIZE / 2 + 4, py - 3);
  }
}

function drawClassLine(k) {
  const [w0, w1] = S.W[k];
  const norm2 = w0 * w0 + w1 * w1;
  if (norm2 < 1e-12) return;
  const norm = Math.sqrt(norm2);
  // p0: the point of the line W_k · x + b_k = 0 closest to the origin; d: the line's direction
  const p0 = [(-S.b[k] * w0) / norm2, (-S.b[k] * w1) / norm2];
  const d = [-w1 / norm, w0 / norm];
  const reach = 2 + Math.hypot(p0[0], p0[1]);
  ctx.strokeStyle = COLORS[k];
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(...toPx(p0[0] - reach * d[0], p0[1] - reach * d[1]));
  ctx.lineTo(...toPx(p0[0] + reach * d[0], p0[1] + reach * d[1]));
  ctx.stroke();
  // the weight vector, from p0, pointing towards increasing score
  const [ax, ay] = toPx(p0[0], p0[1]);
  const [bx, by] = toPx(p0[0] + ARROW_SCALE * w0, p0[1] + ARROW_SCALE * w1);
  const angle = Math.atan2(by - ay, bx - ax);
  ctx.lineWidth = 2.5;
  ctx.beginPath();
  ctx.moveTo(ax, ay);
  ctx.lineTo(bx, by);
  ctx.stroke();
  ctx.fillStyle = COLORS[k];
  ctx.beginPath();
  ctx.moveTo(bx, by);
  ctx.lineTo(bx - 10 * Math.cos(angle - 0.4), by - 10 * Math.sin(angle - 0.4));
  ctx.lineTo(bx - 10 * Math.cos(angle + 0.4), by - 10 * Math.sin(angle + 0.4));
  ctx.closePath();
  ctx.fill();
}

function drawPoints() {
  const ev = S.evaluation;
  const fresh = ev && ev.losses.length === S.X.length;
  S.X.forEach((p, i) => {
    const [px, py] = toPx(p[0], p[1]);
    ctx.beginPath();
    ctx.arc(px, py, POINT_RADIUS, 0, 2 * Math.PI);
    ctx.fillStyle = COLORS[S.y[i]];
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#fff";
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(px, py, POINT_RADIUS + 1.5, 0, 2 * Math.PI);
    ctx.lineWidth = i === S.drag ? 2.5 : 1;
    ctx.strokeStyle = fresh && ev.losses[i] > 0 ? "#111" : "rgba(0,0,0,0.45)";
    ctx.stroke();
  });
}

function draw() {
  if (!S.W.length) return;
  ctx.clearRect(0, 0, SIZE, SIZE);
  drawRegions();
  drawGrid();
  for (let k = 0; k < 3; k += 1) drawClassLine(k);
  drawPoints();
}

function drawPlot() {
  const ratio = window.devicePixelRatio || 1;
  const w = 420;
  const h = 130;
  if (plot.width !== w * ratio) { plot.width = w * ratio; plot.height = h * ratio; }
  const p = plot.getContext("2d");
  p.setTransform(ratio, 0, 0, ratio, 0, 0);
  p.clearRect(0, 0, w, h);
  const left = 44; const right = w - 10; const top = 10; const bottom = h - 22;
  p.strokeStyle = "#c5ccd4";
  p.lineWidth = 1;
  p.beginPath();
  p.moveTo(left, top); p.lineTo(left, bottom); p.lineTo(right, bottom);
  p.stroke();
  p.fillStyle = "#5f6b7a";
  p.font = "11px system-ui, sans-serif";
  p.fillText(t("total loss over the steps taken"), left + 6, top + 4);
  const hist = S.history;
  if (hist.length === 0) {
    p.fillText(t("take a step to start the curve"), left + 6, (top + bottom) / 2 + 10);
    return;
  }
  const hi = Math.max(...hist);
  const lo = Math.min(0, Math.min(...hist));
  const span = hi - lo || 1;
  const n = Math.max(hist.length - 1, 1);
  const X = (i) => left + ((right - left) * i) / n;
  const Y = (v) => bottom - ((bottom - top - 8) * (v - lo)) / span;
  p.fillText(fmt(hi, 2), 4, Y(hi) + 4);
  p.fillText(fmt(lo, 2), 4, bottom + 4);
  p.fillText(t("step {n}", { n: hist.length - 1 }), right - 44, bottom + 15);
  p.fillText("0", left - 3, bottom + 15);
  p.strokeStyle = "#2557a7";
  p.lineWidth = 2;
  p.beginPath();
  hist.forEach((v, i) => (i ? p.lineTo(X(i), Y(v)) : p.moveTo(X(i), Y(v))));
  p.stroke();
  if (hist.length === 1) {
    p.fillStyle = "#2557a7";
    p.beginPath(); p.arc(X(0), Y(hist[0]), 3, 0, 2 * Math.PI); p.fill();
  }
}

// ------------------------------------------------------------------ editing the data

function pointerData(event) {
  const rect = canvas.getBoundingClientRect();
  const px = ((event.clientX - rect.left) / rect.width) * SIZE;
  const py = ((event.clientY - rect.top) / rect.height) * SIZE;
  const [x, y] = toData(px, py);
  return [Math.max(-1, Math.min(1, x)), Math.max(-1, Math.min(1, y)), px, py];
}

function hitPoint(px, py) {
  let best = -1;
  let bestDist = POINT_RADIUS + 4;
  S.X.forEach((p, i) => {
    const [qx, qy] = toPx(p[0], p[1]);
    const dist = Math.hypot(qx - px, qy - py);
    if (dist <= bestDist) { bestDist = dist; best = i; }
  });
  return best;
}

function dataChanged() {
  changed();
  renderTable();
  draw();
  requestEvaluate();
}

function removePoint(i) {
  if (S.X.length <= 1) {
    setStatus(t("Keep at least one point: the loss is a mean over the points."), true);
    return;
  }
  S.X.splice(i, 1);
  S.y.splice(i, 1);
  if (S.evaluation) S.evaluation = null;
  dataChanged();
}

canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  const [x, y, px, py] = pointerData(event);
  const hit = hitPoint(px, py);
  if (hit >= 0 && event.shiftKey) {
    removePoint(hit);
  } else if (hit >= 0) {
    S.drag = hit;
    canvas.classList.add("dragging");
    canvas.setPointerCapture(event.pointerId);
    renderTable();
    draw();
  } else if (S.X.length >= defaults.limits.max_points) {
    setStatus(t("At most {n} points.", { n: defaults.limits.max_points }), true);
  } else {
    S.X.push([x, y]);
    S.y.push(Number($("#new-class").value));
    S.evaluation = null;
    dataChanged();
  }
  event.preventDefault();
});

canvas.addEventListener("pointermove", (event) => {
  if (S.drag === null) return;
  const [x, y] = pointerData(event);
  S.X[S.drag] = [x, y];
  dataChanged();
});

function endDrag() {
  if (S.drag === null) return;
  S.drag = null;
  canvas.classList.remove("dragging");
  renderTable();
  draw();
}
canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);

canvas.addEventListener("contextmenu", (event) => {
  event.preventDefault();
  const [, , px, py] = pointerData(event);
  const hit = hitPoint(px, py);
  if (hit >= 0) removePoint(hit);
});

// ------------------------------------------------------------------ controls

function showSliders() {
  $("#delta-value").textContent = fmt(S.delta, 1);
  $("#delta").disabled = S.loss === "softmax"; // softmax has no margin
  const reg = regStrength();
  $("#reg-value").textContent = reg === 0 ? "0" : sig(reg);
  $("#step-size-value").textContent = sig(stepSize());
}

function showLossChoice() {
  $(`#loss-${S.loss}`).checked = true;
  $("#loss-formula").innerHTML = FORMULAS[S.loss].replace(/<b>(.*?)<\/b>/, (whole, name) => `<b>${t(name)}</b>`);
}

function resetHistory() {
  S.history = [];
  S.steps = 0;
  S.optState = null;
  showSlope(null);
}

function load(state) {
  S.X = state.X.map((p) => p.slice());
  S.y = state.y.slice();
  S.W = state.W.map((r) => r.slice());
  S.b = state.b.slice();
  S.evaluation = null;
}

function reset() {
  stopRunning();
  load(defaults);
  S.loss = defaults.loss;
  S.optimizer = defaults.optimizer;
  S.regExp = Math.log10(defaults.reg_strength);
  S.delta = defaults.delta;
  $("#delta").value = String(S.delta);
  S.stepExp = Math.log10(defaults.step_size);
  $("#reg").value = String(S.regExp);
  $("#step-size").value = String(S.stepExp);
  $("#optimizer").value = S.optimizer;
  resetHistory();
  showSliders();
  showLossChoice();
  renderParams();
  dataChanged();
}

function randomSeed() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

document.querySelectorAll("input[name=loss]").forEach((radio) => {
  radio.addEventListener("change", () => {
    S.loss = radio.value;
    resetHistory(); // a curve of one loss does not continue as another: start afresh
    showLossChoice();
    showSliders();
    changed();
    requestEvaluate();
  });
});

$("#reg").addEventListener("input", (event) => {
  S.regExp = Number(event.target.value);
  showSliders();
  changed();
  requestEvaluate();
});

$("#delta").addEventListener("input", (event) => {
  S.delta = Number(event.target.value);
  resetHistory(); // another Δ is another loss
  showSliders();
  changed();
  requestEvaluate();
});

$("#step-size").addEventListener("input", (event) => {
  S.stepExp = Number(event.target.value);
  showSliders();
});

$("#optimizer").addEventListener("change", (event) => {
  S.optimizer = event.target.value;
  S.optState = null; // each optimizer keeps its own moments: start afresh
});

$("#step").addEventListener("click", () => queueStep());

$("#run").addEventListener("click", () => {
  if (S.running) {
    stopRunning();
    return;
  }
  S.running = true;
  const button = $("#run");
  button.textContent = t("Stop repeated updates");
  button.setAttribute("aria-pressed", "true");
  runLoop();
});

$("#randomize-params").addEventListener("click", async () => {
  try {
    const params = await api("/api/random", { what: "params", seed: randomSeed() });
    S.W = params.W;
    S.b = params.b;
    resetHistory();
    renderParams();
    dataChanged();
  } catch (err) {
    showError(err);
  }
});

$("#randomize-data").addEventListener("click", async () => {
  try {
    const data = await api("/api/random", { what: "data", seed: randomSeed() });
    S.X = data.X;
    S.y = data.y;
    S.evaluation = null;
    dataChanged();
  } catch (err) {
    showError(err);
  }
});

$("#reset").addEventListener("click", reset);

async function start() {
  setupCanvas();
  try {
    const lang = new URLSearchParams(window.location.search).get("lang");
    const answer = await api(lang ? `/api/messages?lang=${encodeURIComponent(lang)}` : "/api/messages");
    MESSAGES = answer.messages;
    document.documentElement.lang = answer.lang;
    translatePage();
  } catch (err) {
    showError(err); // the page stays in English
  }
  try {
    defaults = await api("/api/defaults");
  } catch (err) {
    showError(err);
    return;
  }
  reset();
}

start();
