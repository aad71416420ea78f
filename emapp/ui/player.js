// Drives the EM chart in the browser: steps, scrubbing and playback without a rerun per frame.
//
// The chart (st.plotly_chart) holds one animation frame per state of the EM run, named by the
// state's index. Python sends the state to show (`target`), or a playback request (`playing`
// with a new `token` and the `sequence` of states to animate). This module moves the chart
// there, keeps the status line in step with what is on screen, and reports where playback
// stopped (state value `stopped` = {token, index}) so Python continues from that state.
//
// Steps and jumps use Plotly.animate. Playback draws with its own requestAnimationFrame loop
// on the SVG that Plotly already made: a Plotly.animate call costs 20 ms plus 30 ms per 1,000
// recoloured points here, too slow for 10 iterations per second, whereas setting the points'
// fill and the ellipses' path directly costs a few milliseconds and lets the ellipses glide
// at the screen's frame rate. When playback stops, one Plotly.animate call brings Plotly's
// own state up to date. If the SVG is not as expected, playback falls back to Plotly.animate.
//
// plotly.js registers itself as window.Plotly when Streamlit loads its chart module, so no
// copy of plotly.js is fetched here.

const REGISTRY_KEY = "__emPlayer";
const POLL_MS = 30;
// A chart-first page asks for the rest after this long even if the chart is not drawn.
const PAGE_FALLBACK_MS = 3000;
// Within a Step, the half-steps in between are played (so the M-step's glide is seen).
const MAX_PLAYED_STEPS = 3;
// Playback keeps its schedule through small delays and slips (honestly) after larger ones.
const MAX_CATCH_UP_MS = 40;

function registry() {
  if (!window[REGISTRY_KEY]) {
    window[REGISTRY_KEY] = {
      gd: null, // the chart's graph div
      version: null, // which run the chart's frames belong to
      shown: 0, // state index on screen
      colourSource: 0, // state whose colours the points show (M frames leave them alone)
      playing: false,
      fast: false, // whether the running playback is the direct-drawing loop
      token: null, // token of the playback running or last finished
      generation: 0, // increases whenever an animation starts or stops, to drop stale ones
      data: null, // latest data from Python
      setStateValue: null,
      status: null, // the status element of the mounted component
      listeners: [], // called with the index of every state shown (used by the benchmark)
      pauseListener: false,
      stepListener: false,
      heading: null, // the state the chart is moving to (or shows), when not playing
      plotlyShown: null, // the state Plotly itself last drew (direct drawing runs ahead)
      swallow: null, // a stepping button whose click the browser has answered
      requests: 0, // step requests sent to Python
    };
  }
  return window[REGISTRY_KEY];
}

// -- the chart and the status line --------------------------------------------------------

// The chart's graph div once it is drawn with the frames of this run (layout.meta holds the
// run's version, so a chart still showing the previous run is not mistaken for the new one).
function findChart(data) {
  const gd = document.querySelector(`.st-key-${data.chart} .js-plotly-plot`);
  const ready = gd && gd._fullLayout && gd._transitionData && window.Plotly;
  if (!ready || gd._fullLayout.meta !== data.version) return null;
  const frames = gd._transitionData._frames;
  return frames && frames.length > 0 ? gd : null;
}

function showStatus(reg, index) {
  const data = reg.data;
  showTable(reg, index);
  if (!reg.status || !data || index >= data.labels.length) return;
  reg.status.querySelector(".em-iteration").textContent = data.labels[index];
  reg.status.querySelector(".em-loglik").textContent = data.loglik[index];
  reg.status.dataset.index = String(index);
  const notes = data.notes[data.notes_index[index]];
  const box = reg.status.querySelector(".em-notes");
  if (box.__notes !== notes) {
    box.__notes = notes;
    box.replaceChildren(
      ...notes.map(([kind, sentence]) => {
        const note = document.createElement("div");
        note.className = `em-note ${kind}`;
        note.textContent = sentence;
        return note;
      }),
    );
  }
}

// The parameter table (a second component below the chart) follows the state on screen.
function showTable(reg, index) {
  const view = reg.table;
  if (!view) return;
  const data = view.data;
  const state = data.version === reg.version && index < data.rows.length ? index : 0;
  view.root.querySelector(".em-table-title").textContent = `Parameters at ${data.labels[state]}`;
  view.root.dataset.index = String(state);
  // textContent, never innerHTML: header cells hold column names from uploaded files.
  const cell = (tag, text) => {
    const element = document.createElement(tag);
    element.textContent = text;
    return element;
  };
  const head = view.root.querySelector("thead");
  if (head.__header !== data.header) {
    head.__header = data.header;
    const row = document.createElement("tr");
    row.append(...data.header.map((name) => cell("th", name)));
    head.replaceChildren(row);
  }
  const rows = data.rows[state].map((values, k) => {
    const row = document.createElement("tr");
    const swatch = cell("span", values[0]);
    swatch.className = "em-swatch";
    swatch.style.background = data.colours[state][k];
    const first = document.createElement("td");
    first.append(swatch);
    row.append(first, ...values.slice(1).map((value) => cell("td", value)));
    return row;
  });
  view.root.querySelector("tbody").replaceChildren(...rows);
  view.root.querySelector(".em-table-caption").textContent = data.caption || "";
}

function stateShown(reg, index) {
  reg.shown = index;
  if (reg.data && reg.data.stages[index] !== "M") reg.colourSource = index;
  // A step plays the half-steps on the way; the status names the destination throughout.
  const destination = !reg.playing && reg.heading !== null ? reg.heading : index;
  showStatus(reg, destination);
  for (const listener of reg.listeners) listener(index);
}

function attachChart(reg, gd, data) {
  reg.gd = gd;
  reg.version = data.version;
  reg.shown = 0; // a freshly drawn chart shows its base traces: state 0
  reg.heading = 0;
  reg.plotlyShown = 0;
  reg.colourSource = 0;
  reg.playing = false;
  if (gd.__emListening) return;
  gd.__emListening = true;
  gd.on("plotly_animatingframe", (event) => {
    const index = Number(event.name);
    if (Number.isFinite(index)) stateShown(reg, index);
  });
}

// -- steps and jumps: Plotly.animate -------------------------------------------------------

// Animate through `names`: M frames glide the ellipses for `glideMs`; E frames (and the start)
// recolour the points at once and stay for `holdMs`. Only the few ellipse outlines are
// tweened, never the thousands of points.
function animate(reg, names, glideMs, holdMs) {
  reg.generation += 1;
  const generation = reg.generation;
  const stages = reg.data.stages;
  const isM = names.map((i) => stages[i] === "M");
  const options = {
    frame: isM.map((m) => ({ duration: m ? glideMs : holdMs, redraw: false })),
    transition: isM.map((m) => (m ? { duration: glideMs, easing: "cubic-in-out" } : { duration: 0 })),
    mode: "immediate",
  };
  reg.plotlyShown = names[names.length - 1];
  clearLabelOffsets(reg); // Plotly places the labels itself again
  reg.fast = false;
  return window.Plotly.animate(reg.gd, names.map(String), options).then(
    () => generation === reg.generation,
    () => false,
  );
}

// The frames that show `target` correctly from what is on screen now.
function framesFor(reg, target) {
  const names = [];
  if (reg.data.stages[target] === "M" && reg.colourSource !== target - 1) {
    names.push(target - 1); // an M state is coloured by the E state before it
  }
  names.push(target);
  return names;
}

// Play a step's half-steps. Drawing straight on the SVG shows the first change within a
// frame of the click; Plotly.animate recomputes every trace first (about 0.2 s for 1,000
// points here). Plotly's own state is brought up to date once the glide is over.
async function glide(reg, names) {
  const data = reg.data;
  const targets = drawingTargets(reg.gd, data.traces);
  if (targets === null) return animate(reg, names, data.step_ms, data.step_hold_ms);
  const timing = { glide: data.step_ms, hold: data.step_hold_ms };
  const done = await drawPlayback(reg, data, names, targets, timing, () => !reg.playing);
  if (!done) return false;
  await syncPlotly(reg);
  return true;
}

// Show `target`: a few states forward play the half-steps in between, anything else jumps.
function goTo(reg, target) {
  reg.heading = target;
  if (reg.shown === target) {
    showStatus(reg, target);
    return Promise.resolve(true);
  }
  const ahead = target - reg.shown;
  if (ahead > 0 && ahead <= MAX_PLAYED_STEPS) {
    const names = [];
    for (let i = reg.shown + 1; i <= target; i += 1) names.push(i);
    return glide(reg, names);
  }
  return animate(reg, framesFor(reg, target), 0, 0);
}

// -- playback: drawing directly on Plotly's SVG --------------------------------------------

// The SVG group of every scatter trace, by trace index (Plotly binds its data with d3).
function traceGroups(gd) {
  const groups = new Map();
  for (const group of gd.querySelectorAll(".scatterlayer .trace")) {
    const calc = group.__data__;
    if (calc && calc[0] && calc[0].trace) groups.set(calc[0].trace.index, group);
  }
  return groups;
}

function pointsByIndex(group) {
  const points = [];
  for (const point of group.querySelectorAll("path.point")) {
    if (point.__data__ && Number.isInteger(point.__data__.i)) points[point.__data__.i] = point;
  }
  return points;
}

// Everything the loop moves, or null if the SVG is not what this code expects.
function drawingTargets(gd, traces) {
  const layout = gd._fullLayout;
  const axes = [layout.xaxis, layout.yaxis, layout.xaxis2, layout.yaxis2];
  if (axes.some((axis) => !axis || typeof axis.c2p !== "function")) return null;
  const groups = traceGroups(gd);
  const group = (i) => groups.get(i);
  const line = (i) => group(i) && group(i).querySelector("path.js-line");
  const targets = {
    axes,
    points: group(traces.points) && pointsByIndex(group(traces.points)),
    ellipses: traces.ellipses.map(line),
    means: group(traces.means) && pointsByIndex(group(traces.means)),
    labels: group(traces.means) ? [...group(traces.means).querySelectorAll(".textpoint")] : [],
    curve: line(traces.curve),
    curveMarkers: group(traces.curve) && pointsByIndex(group(traces.curve)),
    current: group(traces.current) && pointsByIndex(group(traces.current)),
  };
  const complete =
    targets.points && targets.points.length > 0 && targets.ellipses.every(Boolean) &&
    targets.means && targets.curve && targets.curveMarkers && targets.current;
  return complete ? targets : null;
}

// A frame's trace updates, by trace index.
function frameTraces(gd, index) {
  const frame = gd._transitionData._frameHash[String(index)];
  const byTrace = new Map();
  frame.traces.forEach((trace, k) => byTrace.set(trace, frame.data[k]));
  return byTrace;
}

function pathOf(xs, ys, xa, ya) {
  let d = "";
  for (let i = 0; i < xs.length; i += 1) {
    d += `${i === 0 ? "M" : "L"}${xa.c2p(xs[i]).toFixed(1)},${ya.c2p(ys[i]).toFixed(1)}`;
  }
  return d;
}

function place(element, x, y, xa, ya) {
  if (element) element.setAttribute("transform", `translate(${xa.c2p(x)},${ya.c2p(y)})`);
}

const lerp = (a, b, t) => a + (b - a) * t;
const ease = (t) => (t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2); // cubic in-out

function lerpArrays(from, to, t) {
  return from.map((value, i) => lerp(value, to[i], t));
}

// Ellipses and means of a state, in data coordinates (what the M-step moves).
function geometryOf(byTrace, traces) {
  const ellipses = traces.ellipses.map((i) => ({ x: byTrace.get(i).x, y: byTrace.get(i).y }));
  const means = byTrace.get(traces.means);
  return { ellipses, means: { x: means.x, y: means.y } };
}

function blend(from, to, t) {
  return {
    ellipses: from.ellipses.map((e, k) => ({
      x: lerpArrays(e.x, to.ellipses[k].x, t),
      y: lerpArrays(e.y, to.ellipses[k].y, t),
    })),
    means: { x: lerpArrays(from.means.x, to.means.x, t), y: lerpArrays(from.means.y, to.means.y, t) },
  };
}

function drawGeometry(targets, geometry, labelOrigin) {
  const [xa, ya] = targets.axes;
  geometry.ellipses.forEach((e, k) => targets.ellipses[k].setAttribute("d", pathOf(e.x, e.y, xa, ya)));
  geometry.means.x.forEach((x, k) => {
    const y = geometry.means.y[k];
    place(targets.means[k], x, y, xa, ya);
    const label = targets.labels[k];
    if (label && labelOrigin[k]) {
      const dx = xa.c2p(x) - labelOrigin[k][0];
      const dy = ya.c2p(y) - labelOrigin[k][1];
      label.setAttribute("transform", `translate(${dx},${dy})`);
    }
  });
}

// The E-step's visible part: new point colours and a longer log-likelihood curve.
function drawColoursAndCurve(targets, byTrace, traces) {
  const colours = byTrace.get(traces.points).marker.color;
  if (Array.isArray(colours)) {
    targets.points.forEach((point, i) => {
      if (point) point.style.fill = colours[i];
    });
  }
  const [, , xa2, ya2] = targets.axes;
  const curve = byTrace.get(traces.curve);
  if (curve.y.every((y) => y !== null)) {
    targets.curve.setAttribute("d", pathOf(curve.x, curve.y, xa2, ya2));
    targets.curveMarkers.forEach((marker, i) => place(marker, curve.x[i], curve.y[i], xa2, ya2));
  }
  const current = byTrace.get(traces.current);
  if (current.x[0] !== null) place(targets.current[0], current.x[0], current.y[0], xa2, ya2);
}

function clearLabelOffsets(reg) {
  if (!reg.fastTargets) return;
  for (const label of reg.fastTargets.labels) label.removeAttribute("transform");
  reg.fastTargets = null;
}

// Play `sequence` by drawing directly; resolves true if it reached the end.
function drawPlayback(reg, data, sequence, targets, timing = null, active = () => reg.playing) {
  const glideMs = timing ? timing.glide : data.glide_ms;
  const holdMs = timing ? timing.hold : data.hold_ms;
  const gd = reg.gd;
  const traces = data.traces;
  reg.generation += 1;
  const generation = reg.generation;
  reg.fast = true;
  reg.fastTargets = targets;
  const [xa, ya] = targets.axes;
  // Plotly last drew the labels at the means of the state on screen; they move by offsets.
  // Plotly last drew the labels at the means of the state it knows (see syncPlotly).
  const startMeans = frameTraces(gd, reg.plotlyShown ?? reg.shown).get(traces.means);
  const labelOrigin = startMeans.x.map((x, k) => [xa.c2p(x), ya.c2p(startMeans.y[k])]);
  let geometry = geometryOf(frameTraces(gd, reg.shown), traces);
  let k = -1;
  let segment = null;
  return new Promise((resolve) => {
    const enter = (now) => {
      k += 1;
      if (k >= sequence.length) return false;
      const index = sequence[k];
      const byTrace = frameTraces(gd, index);
      const glide = data.stages[index] === "M";
      segment = {
        index,
        glide,
        start: segment ? Math.max(segment.end, now - MAX_CATCH_UP_MS) : now,
        from: geometry,
        to: geometryOf(byTrace, traces),
      };
      segment.end = segment.start + (glide ? glideMs : holdMs);
      if (!glide) {
        drawColoursAndCurve(targets, byTrace, traces);
        drawGeometry(targets, segment.to, labelOrigin);
      }
      geometry = segment.to;
      stateShown(reg, index);
      return true;
    };
    const tick = (now) => {
      if (generation !== reg.generation || !active()) return resolve(false);
      if (segment === null && !enter(now)) return resolve(true);
      while (now >= segment.end) {
        if (segment.glide) drawGeometry(targets, segment.to, labelOrigin);
        if (!enter(now)) return resolve(true);
      }
      if (segment.glide) {
        const t = Math.min(1, Math.max(0, (now - segment.start) / (segment.end - segment.start)));
        drawGeometry(targets, blend(segment.from, segment.to, ease(t)), labelOrigin);
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

// Bring Plotly's own state up to the state on screen after drawing directly.
function syncPlotly(reg) {
  clearLabelOffsets(reg);
  reg.fast = false;
  const target = reg.shown;
  const names = reg.data.stages[target] === "M" ? [target - 1, target] : [target];
  return animate(reg, names, 0, 0);
}

function play(reg, data) {
  reg.playing = true;
  reg.heading = null;
  reg.token = data.token;
  const token = data.token;
  const current = () => reg.playing && reg.token === token;
  const finish = (finished) => {
    if (!finished || !current()) return;
    reg.playing = false;
    report(reg, token);
  };
  const run = async () => {
    await goTo(reg, data.target);
    let sequence = data.sequence;
    let targets = drawingTargets(reg.gd, data.traces);
    if (targets === null && sequence.length > 0 && current()) {
      // At the start there is no curve to move yet: let Plotly draw the first E-step.
      await animate(reg, [sequence[0]], 0, data.hold_ms);
      sequence = sequence.slice(1);
      targets = drawingTargets(reg.gd, data.traces);
    }
    if (!current()) return;
    if (targets === null) {
      finish(await animate(reg, sequence, data.glide_ms, data.hold_ms));
      return;
    }
    if (!(await drawPlayback(reg, data, sequence, targets))) return;
    await syncPlotly(reg);
    finish(true);
  };
  run();
}

function stopPlayback(reg) {
  if (!reg.playing) return;
  reg.playing = false;
  reg.heading = reg.shown;
  reg.generation += 1;
  if (reg.fast) {
    syncPlotly(reg);
    return;
  }
  window.Plotly.animate(reg.gd, [null], {
    frame: { duration: 0, redraw: false },
    transition: { duration: 0 },
    mode: "immediate",
  });
}

function report(reg, token, index = reg.shown) {
  if (!reg.setStateValue) return;
  reg.setStateValue("stopped", { token, index, at: Date.now() });
}

// Pause is a Streamlit button. Stop the animation on pointer-down, before the button's own
// click reaches Streamlit, and report the state on screen so the rerun continues from it.
function listenForPause(reg) {
  if (reg.pauseListener) return;
  reg.pauseListener = true;
  const onPause = (event) => {
    const data = reg.data;
    if (!data || !reg.playing || !event.target.closest) return;
    if (!event.target.closest(`.st-key-${data.pause_key}`)) return;
    const token = reg.token;
    // Read the state on screen first: bringing Plotly up to date replays an M state's
    // colouring E state, which passes through the index before it.
    const index = reg.shown;
    stopPlayback(reg);
    report(reg, token, index);
  };
  window.addEventListener("pointerdown", onPause, true);
  window.addEventListener("click", onPause, true);
  window.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Enter" || event.key === " ") onPause(event);
    },
    true,
  );
}

// The stepping buttons are Streamlit buttons too: Python moves its cursor in the rerun the
// click starts, and the chart would wait for that round trip. The browser knows the run's
// states, so it starts moving the chart on pointer-down, by the same rules as
// emapp/build/state.py; the rerun then confirms the same target (or corrects it, and wins).
const STEP_RULES = {
  e_step: (stage) => (stage === "E" ? 0 : 1),
  m_step: (stage) => (stage === "E" ? 1 : 2),
  step: (stage) => ({ S: 3, E: 2, M: 1 })[stage],
};

function stepTarget(data, key, from) {
  const last = data.stages.length - 1;
  if (key === "reset") return 0;
  if (key === "run") return last;
  const ahead = STEP_RULES[key](data.stages[from]);
  const target = from + ahead;
  return ahead > 0 && target <= last ? target : null;
}

function listenForSteps(reg) {
  if (reg.stepListener) return;
  reg.stepListener = true;
  window.addEventListener(
    "pointerdown",
    (event) => {
      const data = reg.data;
      if (!data || !data.step_keys || reg.playing || !reg.gd || !event.target.closest) return;
      if (event.button !== 0 || reg.version !== data.version) return;
      const key = data.step_keys.find((k) => event.target.closest(`.st-key-${k}`));
      const button = key && event.target.closest("button");
      if (!button || button.disabled) return;
      const target = stepTarget(data, key, reg.heading ?? reg.shown);
      // Nothing to move: the click goes on to Streamlit, and Python says why.
      if (target === null || target === reg.heading) return;
      reg.swallow = button; // the click that follows is answered here, not by Streamlit
      goTo(reg, target);
      showStatus(reg, target); // say where the chart is going while it glides there
      reg.requests += 1;
      reg.setStateValue("request", { index: target, version: data.version, seq: reg.requests });
    },
    true,
  );
  // Stop the button's own click: its trigger could be lost when reruns pile up, and Python
  // would step a second time. Keyboard presses (no pointer-down) still reach Streamlit.
  window.addEventListener(
    "click",
    (event) => {
      const button = event.target.closest && event.target.closest("button");
      if (!reg.swallow || button !== reg.swallow) return;
      reg.swallow = null;
      event.stopPropagation();
      event.preventDefault();
    },
    true,
  );
}

// -- chart first -----------------------------------------------------------------------------

// A session's first page has only the chart and this panel (see app.py). Once the chart is
// drawn and painted, ask Python for the rest; if the chart never comes, ask anyway, so the
// controls are never withheld. Each render of the panel asks at most once.
function askForPage(reg, data, setTriggerValue) {
  if (!data.ask_for_page || reg.pageAsked === data.rerun) return;
  reg.pageAsked = data.rerun;
  requestAnimationFrame(() => setTimeout(() => setTriggerValue("page", true), 0));
}

// -- entry point -----------------------------------------------------------------------------

function sync(reg, data) {
  const gd = findChart(data);
  if (!gd) return false;
  if (gd !== reg.gd || data.version !== reg.version) attachChart(reg, gd, data);
  if (data.playing) {
    if (reg.token !== data.token) play(reg, data);
    return true;
  }
  stopPlayback(reg);
  // A click the browser already answered (see listenForSteps): let its animation finish.
  if (reg.heading !== data.target) goTo(reg, data.target);
  else showStatus(reg, reg.shown);
  return true;
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  const reg = registry();
  if (data.role === "table") {
    reg.table = { root: parentElement.querySelector(".em-table-view"), data };
    showTable(reg, reg.shown);
    return undefined;
  }
  // Python numbers its reruns: an older render arriving late (as under load) must not move
  // the chart back to a state the server has already left.
  const previous = reg.data;
  if (previous && previous.version === data.version && data.rerun < previous.rerun) {
    return undefined;
  }
  reg.data = data;
  reg.setStateValue = setStateValue;
  reg.status = parentElement.querySelector(".em-status");
  listenForPause(reg);
  listenForSteps(reg);
  // The chart's frames update the status as they are shown; a new run starts at its start.
  showStatus(reg, reg.version === data.version ? reg.shown : data.target);

  let timer = null;
  const started = performance.now();
  const attempt = () => {
    timer = null;
    if (reg.data !== data) return; // a newer render took over
    const drawn = sync(reg, data);
    if (drawn || performance.now() - started > PAGE_FALLBACK_MS) {
      askForPage(reg, data, setTriggerValue);
    }
    if (!drawn) timer = setTimeout(attempt, POLL_MS);
  };
  attempt();
  return () => {
    if (timer !== null) clearTimeout(timer);
  };
}
