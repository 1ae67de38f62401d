// The Digits page's "In your browser" mode (app/browser_digits.py mounts it as a Streamlit v2 component): a
// canvas whose drawing the MNIST recipe (digits_recipe.mjs) and onnxruntime-web read in the page, on every
// stroke, with no request to the server. The model file is the app's models/digits/model.onnx, refused unless its
// SHA-256 is the manifest's. Where the runtime cannot start, the component says why in its state ("runtime"), and
// the page falls back to the server's canvas.
//
// What it tells the page: "runtime" (state) is {ok: true, loadMs} once the model runs, or {ok: false, reason};
// "drawing" (trigger) is the canvas's ink (base64 alpha channel) and the browser's reading, sent only when the
// visitor asks the server to check it.

const SIZE = 280;
// The latency shown is the median of this many latest readings, so a long session keeps a fixed, small window.
const TIMED_READINGS = 100;

const HTML = `
  <div class="bd-status" data-testid="browser-digits-status">Loading the model into your browser…</div>
  <div class="bd-body">
    <div class="bd-drawing">
      <canvas class="bd-canvas" width="${SIZE}" height="${SIZE}" data-testid="browser-digits-canvas"></canvas>
      <div class="bd-tools">
        <label>Stroke width <input class="bd-width" type="range" min="8" max="40" value="22"></label>
        <button class="bd-clear" type="button">Clear</button>
        <button class="bd-check" type="button" disabled>Check on the server</button>
      </div>
    </div>
    <div class="bd-reading">
      <div class="bd-label">Prediction</div>
      <div class="bd-prediction" data-testid="browser-digits-prediction">–</div>
      <div class="bd-confidence" data-testid="browser-digits-confidence">Draw a digit.</div>
      <div class="bd-bars" data-testid="browser-digits-probabilities"></div>
      <div class="bd-timing" data-testid="browser-digits-timing"></div>
      <div class="bd-seen-row"><canvas class="bd-seen" width="28" height="28"></canvas>
        <span>What the model saw (28×28)</span></div>
    </div>
  </div>`;

function element(root, selector) {
  return root.querySelector(selector);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : NaN;
}

function bytesToBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

class BrowserDigits {
  constructor(parent, data) {
    // This module runs from a blob: URL, so the app's paths are resolved against the page's address.
    const absolute = (path) => new URL(path, document.baseURI).href;
    this.data = { ...data, recipeUrl: absolute(data.recipeUrl), ortDir: absolute(data.ortDir), modelUrl: absolute(data.modelUrl) };
    this.root = document.createElement("div");
    this.root.className = "browser-digits";
    this.root.innerHTML = HTML;
    parent.appendChild(this.root);
    this.canvas = element(this.root, ".bd-canvas");
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    this.predictions = 0;
    this.modelTimes = [];
    this.totalTimes = [];
    this.reading = null;
    this.busy = false;
    this.pending = false;
    this.bars = data.labels.map((label) => this.addBar(label));
    this.listen();
    this.start();
  }

  addBar(label) {
    const row = document.createElement("div");
    row.className = "bd-bar";
    row.innerHTML = `<span class="bd-bar-label"></span><span class="bd-bar-track"><span class="bd-bar-fill"></span></span>
      <span class="bd-bar-value">–</span>`;
    element(row, ".bd-bar-label").textContent = label;
    element(this.root, ".bd-bars").appendChild(row);
    return { fill: element(row, ".bd-bar-fill"), value: element(row, ".bd-bar-value") };
  }

  async start() {
    const started = performance.now();
    try {
      const recipe = await import(this.data.recipeUrl);
      const bytes = await recipe.fetchVerifiedModel(this.data.modelUrl, this.data.sha256);
      this.predict = await recipe.loadOnnxModel(this.data.ortDir, bytes);
      this.recipe = recipe;
      await this.predict(new Float32Array(28 * 28));
      const loadMs = performance.now() - started;
      this.status(`The model runs in your browser (onnxruntime-web on WebAssembly, loaded in ${loadMs.toFixed(0)} ms); `
        + "nothing you draw leaves this page.");
      element(this.root, ".bd-check").disabled = false;
      this.root.dataset.ready = "true";
      this.setStateValue("runtime", { ok: true, loadMs });
      this.schedule();
    } catch (error) {
      this.root.dataset.ready = "false";
      this.status(`The in-browser model could not start (${error.message || error}).`);
      element(this.root, ".bd-body").style.display = "none";
      this.setStateValue("runtime", { ok: false, reason: String(error.message || error) });
    }
  }

  status(text) {
    element(this.root, ".bd-status").textContent = text;
  }

  listen() {
    let last = null;
    const point = (event) => {
      const box = this.canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * (SIZE / box.width), (event.clientY - box.top) * (SIZE / box.height)];
    };
    const strokeTo = (next) => {
      this.context.lineWidth = Number(element(this.root, ".bd-width").value);
      this.context.lineCap = "round";
      this.context.lineJoin = "round";
      this.context.strokeStyle = "#000";
      this.context.beginPath();
      this.context.moveTo(...last);
      this.context.lineTo(...next);
      this.context.stroke();
      last = next;
      this.schedule();
    };
    this.canvas.addEventListener("pointerdown", (event) => {
      this.canvas.setPointerCapture(event.pointerId);
      last = point(event);
      strokeTo(last);
    });
    this.canvas.addEventListener("pointermove", (event) => { if (last) strokeTo(point(event)); });
    const end = () => { last = null; this.schedule(); };
    this.canvas.addEventListener("pointerup", end);
    this.canvas.addEventListener("pointercancel", end);
    element(this.root, ".bd-clear").addEventListener("click", () => {
      this.context.clearRect(0, 0, SIZE, SIZE);
      this.schedule();
    });
    element(this.root, ".bd-check").addEventListener("click", () => this.sendToServer());
  }

  // Read the canvas at most once per animation frame, and once more after a reading that was overtaken.
  schedule() {
    if (!this.predict) return;
    if (this.busy) { this.pending = true; return; }
    this.busy = true;
    requestAnimationFrame(() => this.read().finally(() => {
      this.busy = false;
      if (this.pending) { this.pending = false; this.schedule(); }
    }));
  }

  async read() {
    const started = performance.now();
    const rgba = this.context.getImageData(0, 0, SIZE, SIZE).data;
    const ink = this.recipe.inkOfAlpha(rgba, SIZE, SIZE);
    const image = this.recipe.mnistRecipe(ink, SIZE, SIZE);
    if (image === null) return this.show(null);
    const check = this.data.check ? this.recipe.digitCheck(this.recipe.inkStatistics(ink, SIZE, SIZE), this.data.check)
      : { score: 0, inDistribution: true };
    const modelStarted = performance.now();
    const raw = await this.predict(image);
    const finished = performance.now();
    this.modelTimes.push(finished - modelStarted);
    this.totalTimes.push(finished - started);
    if (this.modelTimes.length > TIMED_READINGS) {
      this.modelTimes.shift();
      this.totalTimes.shift();
    }
    this.predictions += 1;
    const probabilities = this.recipe.calibrated(raw, this.data.temperature);
    this.show({ image, probabilities, check });
  }

  show(reading) {
    this.reading = reading;
    this.root.dataset.predictions = String(this.predictions);
    const prediction = element(this.root, ".bd-prediction");
    const confidence = element(this.root, ".bd-confidence");
    const seen = element(this.root, ".bd-seen").getContext("2d");
    if (reading === null) {
      prediction.textContent = "–";
      confidence.textContent = "Draw a digit.";
      this.bars.forEach((bar) => { bar.fill.style.width = "0%"; bar.value.textContent = "–"; });
      seen.clearRect(0, 0, 28, 28);
      return;
    }
    const { image, probabilities, check } = reading;
    const best = probabilities.indexOf(Math.max(...probabilities));
    prediction.dataset.digit = String(best);
    if (check.inDistribution) {
      prediction.textContent = this.data.labels[best];
      confidence.textContent = `${(100 * probabilities[best]).toFixed(1)}% confident`;
    } else {
      prediction.textContent = "?";
      confidence.textContent = this.data.outOfDistribution;
    }
    prediction.dataset.inDistribution = String(check.inDistribution);
    probabilities.forEach((p, i) => {
      this.bars[i].fill.style.width = `${(100 * p).toFixed(1)}%`;
      this.bars[i].value.textContent = `${(100 * p).toFixed(1)}%`;
    });
    element(this.root, ".bd-bars").dataset.values = JSON.stringify(probabilities);
    element(this.root, ".bd-timing").textContent = `In your browser: ${median(this.modelTimes).toFixed(1)} ms for the `
      + `model, ${median(this.totalTimes).toFixed(1)} ms with the recipe (median of the last ${this.modelTimes.length} `
      + `readings). ${this.data.serverTiming}`;
    const pixels = seen.createImageData(28, 28);
    image.forEach((value, i) => {
      const level = Math.round(255 * value);
      pixels.data.set([level, level, level, 255], i * 4);
    });
    seen.putImageData(pixels, 0, 0);
  }

  sendToServer() {
    const rgba = this.context.getImageData(0, 0, SIZE, SIZE).data;
    const alpha = new Uint8Array(SIZE * SIZE);
    for (let i = 0; i < alpha.length; i++) alpha[i] = rgba[i * 4 + 3];
    const reading = this.reading;
    this.setTriggerValue("drawing", {
      alpha: bytesToBase64(alpha), width: SIZE, height: SIZE,
      browser: reading && { digit: reading.probabilities.indexOf(Math.max(...reading.probabilities)),
        probabilities: reading.probabilities, inDistribution: reading.check.inDistribution },
    });
  }
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let view = parentElement.__browserDigits;
  if (!view) {
    view = new BrowserDigits(parentElement, data);
    parentElement.__browserDigits = view;
  }
  view.setStateValue = setStateValue;
  view.setTriggerValue = setTriggerValue;
}
