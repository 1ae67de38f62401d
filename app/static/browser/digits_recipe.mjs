// The MNIST recipe of showcase/tasks/digits.py in JavaScript, for drawings on a canvas (ink in the alpha
// channel): crop to the ink, scale the longer side to 20 pixels with Pillow's Lanczos filter, centre the
// centre of mass in a 28×28 field. Then the temperature of showcase/calibration.py on the model's output.
// tests/e2e/test_browser_recipe.py checks it against the Python code on the same drawings.

export const IMAGE_SIZE = 28;
export const DIGIT_BOX = 20;
const MIN_CONTRAST = 0.15;
const INK_FLOOR = 0.25;
const LANCZOS_SUPPORT = 3.0;

// Python's round(): halves go to the even neighbour.
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const rest = value - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

// numpy.percentile with linear interpolation, over ink levels that are multiples of 1/255 (a histogram).
function percentileOfLevels(counts, total, percent) {
  const position = (percent / 100) * (total - 1);
  const below = Math.floor(position);
  const valueAt = (rank) => {
    let seen = 0;
    for (let level = 0; level < counts.length; level++) {
      seen += counts[level];
      if (seen > rank) return Math.fround(level / 255);
    }
    return Math.fround((counts.length - 1) / 255);
  };
  const low = valueAt(below);
  const high = below + 1 < total ? valueAt(below + 1) : low;
  return low + (high - low) * (position - below);
}

// Ink intensity in [0, 1] (float32) of RGBA pixels whose ink is in the alpha channel.
export function inkOfAlpha(rgba, width, height) {
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) ink[i] = rgba[i * 4 + 3] / 255;
  return ink;
}

function sinc(x) {
  if (x === 0) return 1.0;
  const scaled = x * Math.PI;
  return Math.sin(scaled) / scaled;
}

function lanczos(x) {
  return -LANCZOS_SUPPORT <= x && x < LANCZOS_SUPPORT ? sinc(x) * sinc(x / LANCZOS_SUPPORT) : 0.0;
}

// Pillow's precompute_coeffs (Resample.c): for each output pixel, its first input pixel and normalised weights
// of a filter (a kernel and its support).
function coefficients(inSize, outSize, filter) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = filter.support * filterScale;
  const rows = [];
  for (let out = 0; out < outSize; out++) {
    const centre = (out + 0.5) * scale;
    const first = Math.max(0, Math.trunc(centre - support + 0.5));
    const last = Math.min(inSize, Math.trunc(centre + support + 0.5));
    const weights = [];
    let total = 0.0;
    for (let x = first; x < last; x++) {
      const weight = filter.kernel((x - centre + 0.5) / filterScale);
      weights.push(weight);
      total += weight;
    }
    rows.push({ first, weights: total !== 0 ? weights.map((weight) => weight / total) : weights });
  }
  return rows;
}

const LANCZOS = { kernel: lanczos, support: LANCZOS_SUPPORT };
const BOX = { kernel: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0), support: 0.5 };

// Image.resize(size, filter) of a mode "F" image: a horizontal pass, then a vertical one, each summing in
// double precision and storing float32, each skipped when that side keeps its size.
function resize(pixels, width, height, outWidth, outHeight, filter) {
  let current = pixels;
  let currentWidth = width;
  if (outWidth !== width) {
    const horizontal = coefficients(width, outWidth, filter);
    const next = new Float32Array(outWidth * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < outWidth; x++) {
        const { first, weights } = horizontal[x];
        let sum = 0.0;
        for (let k = 0; k < weights.length; k++) sum += current[y * currentWidth + first + k] * weights[k];
        next[y * outWidth + x] = sum;
      }
    }
    current = next;
    currentWidth = outWidth;
  }
  if (outHeight !== height) {
    const vertical = coefficients(height, outHeight, filter);
    const next = new Float32Array(currentWidth * outHeight);
    for (let y = 0; y < outHeight; y++) {
      const { first, weights } = vertical[y];
      for (let x = 0; x < currentWidth; x++) {
        let sum = 0.0;
        for (let k = 0; k < weights.length; k++) sum += current[(first + k) * currentWidth + x] * weights[k];
        next[y * currentWidth + x] = sum;
      }
    }
    current = next;
  }
  return current;
}

// The recipe on ink intensities; returns a 28×28 Float32Array (white ink on black), or null without ink.
export function mnistRecipe(ink, width, height) {
  const counts = new Array(256).fill(0);
  for (let i = 0; i < ink.length; i++) counts[Math.round(ink[i] * 255)]++;
  const peak = percentileOfLevels(counts, ink.length, 99.9);
  if (peak < MIN_CONTRAST) return null;
  let top = height, bottom = -1, left = width, right = -1;
  const scaled = new Float32Array(ink.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let value = Math.min(1, Math.max(0, Math.fround(ink[y * width + x] / peak)));
      if (value < INK_FLOOR) value = 0;
      scaled[y * width + x] = value;
      if (value > 0) {
        top = Math.min(top, y); bottom = Math.max(bottom, y);
        left = Math.min(left, x); right = Math.max(right, x);
      }
    }
  }
  const cropWidth = right - left + 1, cropHeight = bottom - top + 1;
  const cropped = new Float32Array(cropWidth * cropHeight);
  for (let y = 0; y < cropHeight; y++) {
    cropped.set(scaled.subarray((top + y) * width + left, (top + y) * width + right + 1), y * cropWidth);
  }
  return centreByMass(...scaleToBox(cropped, cropWidth, cropHeight));
}

function scaleToBox(cropped, width, height) {
  const scale = DIGIT_BOX / Math.max(width, height);
  const outWidth = Math.max(1, roundHalfEven(width * scale));
  const outHeight = Math.max(1, roundHalfEven(height * scale));
  const resized = resize(cropped, width, height, outWidth, outHeight, LANCZOS);
  for (let i = 0; i < resized.length; i++) resized[i] = Math.min(1, Math.max(0, resized[i]));
  return [resized, outWidth, outHeight];
}

function centreByMass(digit, width, height) {
  let total = 0, rowMoment = 0, colMoment = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = digit[y * width + x];
      total += value; rowMoment += y * value; colMoment += x * value;
    }
  }
  const centreRow = total ? rowMoment / total : (height - 1) / 2;
  const centreCol = total ? colMoment / total : (width - 1) / 2;
  const clip = (value, high) => Math.min(high, Math.max(0, value));
  const top = clip(roundHalfEven(IMAGE_SIZE / 2 - centreRow), IMAGE_SIZE - height);
  const left = clip(roundHalfEven(IMAGE_SIZE / 2 - centreCol), IMAGE_SIZE - width);
  const field = new Float32Array(IMAGE_SIZE * IMAGE_SIZE);
  for (let y = 0; y < height; y++) {
    field.set(digit.subarray(y * width, (y + 1) * width), (top + y) * IMAGE_SIZE + left);
  }
  return field;
}

// ## Is this one handwritten digit? (digit_check of showcase/tasks/digits.py, for canvas ink)

const CHECK_SIDE = 64;
const STROKE_INK = 0.5, FAINT_INK = 0.15, FRAME = 0.06, PIECE_SHARE = 0.05;

// numpy.percentile with linear interpolation.
function percentile(values, percent) {
  const sorted = Float64Array.from(values).sort();
  const position = (percent / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

// The pixel counts of the 8-connected pieces of a mask, largest first.
function pieceSizes(mask, width, height) {
  const seen = new Uint8Array(mask.length);
  const sizes = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let size = 0;
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const index = stack.pop();
      size++;
      const y = Math.floor(index / width), x = index % width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const ny = y + dy, nx = x + dx;
          if (ny < 0 || nx < 0 || ny >= height || nx >= width) continue;
          const next = ny * width + nx;
          if (mask[next] && !seen[next]) { seen[next] = 1; stack.push(next); }
        }
      }
    }
    sizes.push(size);
  }
  return sizes.sort((a, b) => b - a);
}

// ink_statistics of an image whose ink is in the alpha channel (so its colourfulness is 0).
export function inkStatistics(ink, width, height) {
  const scale = CHECK_SIDE / Math.max(width, height);
  const smallWidth = Math.max(1, roundHalfEven(width * scale)), smallHeight = Math.max(1, roundHalfEven(height * scale));
  const small = resize(ink, width, height, smallWidth, smallHeight, BOX);
  const contrast = percentile(small, 99.5);
  const stroke = new Uint8Array(small.length);
  let strokes = 0, faint = 0, paperSum = 0, paperCount = 0;
  for (let i = 0; i < small.length; i++) {
    const relative = Math.min(1, Math.max(0, small[i] / Math.max(contrast, 1e-6)));
    if (relative >= STROKE_INK) { stroke[i] = 1; strokes++; }
    else if (relative >= FAINT_INK) faint++;
    else { paperSum += relative; paperCount++; }
  }
  const pieces = pieceSizes(stroke, smallWidth, smallHeight);
  const margin = Math.max(1, roundHalfEven(FRAME * Math.min(smallWidth, smallHeight)));
  let frameStroke = 0, frameCount = 0, top = smallHeight, bottom = -1, left = smallWidth, right = -1;
  for (let y = 0; y < smallHeight; y++) {
    for (let x = 0; x < smallWidth; x++) {
      const inFrame = y < margin || y >= smallHeight - margin || x < margin || x >= smallWidth - margin;
      const isStroke = stroke[y * smallWidth + x];
      if (inFrame) { frameCount++; frameStroke += isStroke; }
      if (isStroke) { top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x); }
    }
  }
  const counted = Math.max(strokes, 1);
  return {
    contrast, ink_share: strokes / small.length, faint_ratio: faint / counted,
    pieces: pieces.filter((size) => size >= PIECE_SHARE * counted).length,
    largest_piece: pieces.length ? pieces[0] / counted : 0.0, frame_ink: frameStroke / frameCount,
    colourfulness: 0.0, paper_unevenness: paperCount ? paperSum / paperCount : 1.0,
    aspect: bottom >= 0 ? (bottom - top + 1) / (right - left + 1) : 1.0,
  };
}

// range_score and judge: how far the statistics fall outside the manifest's ranges, in range widths, and whether
// that is at most its threshold. ``check`` holds the digits entry's ranges, threshold and the statistics' rules.
export function digitCheck(statistics, check) {
  let score = 0;
  for (const name of check.statistics) {
    const value = check.log_statistics.includes(name) ? Math.log(statistics[name] + 1e-3) : statistics[name];
    const [low, high] = check.ranges[name];
    const width = Math.max(high - low, 1e-6);
    const above = check.only_below.includes(name) ? 0 : (value - high) / width;
    const below = check.only_above.includes(name) ? 0 : (low - value) / width;
    score = Math.max(score, above, below);
  }
  return { score, inDistribution: score <= check.threshold };
}

// The recipe on a canvas's RGBA pixels (ImageData.data), or null while the canvas is blank.
export function prepareDrawing(rgba, width, height) {
  return mnistRecipe(inkOfAlpha(rgba, width, height), width, height);
}

// showcase.calibration.scaled for softmax outputs: log-probabilities (floored) divided by T, then softmax.
export function calibrated(probabilities, temperature, floor = 1e-30) {
  if (temperature === 1) return Array.from(probabilities);
  const logits = Array.from(probabilities, (p) => Math.log(Math.max(p, floor)) / temperature);
  const largest = Math.max(...logits);
  const shifted = logits.map((logit) => Math.exp(logit - largest));
  const sum = shifted.reduce((a, b) => a + b, 0);
  return shifted.map((value) => value / sum);
}

// SHA-256 of bytes, in hex (crypto.subtle needs a secure context: https or localhost).
export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// Fetch the model, refuse it unless its SHA-256 is the manifest's, and return its bytes.
export async function fetchVerifiedModel(url, expectedSha256) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the model file answered HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = await sha256Hex(bytes);
  if (actual !== expectedSha256) throw new Error(`the model file's SHA-256 ${actual.slice(0, 12)}… is not the manifest's`);
  return bytes;
}

// onnxruntime-web on WebAssembly, from the app's own copy at ortDir (ort.wasm.min.mjs and its .wasm): compile
// the verified model; returns predict(Float32Array of 28×28) -> raw probabilities (Float32Array of 10).
export async function loadOnnxModel(ortDir, modelBytes) {
  if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
  const ort = await import(new URL("ort.wasm.min.mjs", ortDir).href);
  // The runtime's files come from the app, never from a CDN; one thread, as a page that is not cross-origin
  // isolated has no shared memory for more.
  ort.env.wasm.wasmPaths = ortDir;
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ["wasm"] });
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  return async (image) => {
    const outputs = await session.run({ [inputName]: new ort.Tensor("float32", image, [1, IMAGE_SIZE, IMAGE_SIZE, 1]) });
    return outputs[outputName].data;
  };
}
