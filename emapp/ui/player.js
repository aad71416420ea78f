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
      axisWanted: 0, // right end the iteration axis should reach (see applyAxis)
      plotlyBusy: 0, // Plotly.animate and relayout calls not yet finished
      badge: null, // the half-step words on the chart during Play (see showBadge)
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
    box.replaceChildren(...notes.map(([kind, sentence]) => noteElement(kind, sentence)));
  }
}

// -- the notes' box: as tall as the run's tallest note ------------------------------------

// The box keeps one height in every state, so the chart under it never moves when notes come
// and go. That height is what the run's tallest note needs at the box's width (every note
// and refusal the run can show: data.box_sentences), and at least the log-likelihood's two
// lines beside it: a fixed height left an empty band above the chart whenever the notes
// were short, or none. Measured again when the box's width changes (the sidebar, the
// window) or the run does, and once the page's fonts are in.
function fitNotes(reg) {
  const status = reg.status;
  const sentences = reg.data && reg.data.box_sentences;
  if (!status || !Array.isArray(sentences)) return;
  const box = status.querySelector(".em-notes");
  const probe = status.querySelector(".em-notes-probe");
  const loglik = status.querySelector(".em-loglik");
  if (!box || !probe || !loglik) return;
  watchNotesWidth(reg, status, box); // a box drawn later, or hidden now, is fitted then
  if (box.offsetWidth === 0) return;
  const key = `${box.offsetWidth}\n${sentences.join("\n")}`;
  if (status.__fitKey === key) return;
  status.__fitKey = key;
  probe.style.width = `${box.offsetWidth}px`;
  probe.replaceChildren(...sentences.map((sentence) => noteElement("info", sentence)));
  const heights = [...probe.children].map((note) => note.getBoundingClientRect().height);
  probe.replaceChildren();
  const lines = 2 * parseFloat(getComputedStyle(loglik).lineHeight);
  const height = Math.ceil(Math.max(lines || 0, ...heights));
  status.style.setProperty("--em-notes-fit", `${height}px`);
}

function watchNotesWidth(reg, status, box) {
  if (status.__fitWatched) return;
  status.__fitWatched = true;
  const again = () => requestAnimationFrame(() => fitNotes(reg));
  new ResizeObserver(again).observe(box);
  if (document.fonts && document.fonts.ready) {
    document.fonts.ready.then(() => {
      status.__fitKey = null; // the same width, but other glyphs
      again();
    });
  }
}

function noteElement(kind, sentence) {
  const note = document.createElement("div");
  note.className = `em-note ${kind}`;
  note.textContent = sentence;
  return note;
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
    // Black or white text, whichever contrasts more with this colour (emapp/build/colors.py).
    swatch.style.color = (data.inks && data.inks[data.colours[state][k]]) || "";
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
  wantAxis(reg, index); // Plotly's own animations widen the axis once they are done
  // A step plays the half-steps on the way; the status names the destination throughout.
  const destination = !reg.playing && reg.heading !== null ? reg.heading : index;
  showStatus(reg, destination);
  showBadge(reg, index);
  for (const listener of reg.listeners) listener(index);
}

// -- the half-step words: during Play the chart says which half just happened -------------

const BADGE_COLOURS = { E: "#1C7ED6", M: "#E8590C" };
// The words sit in the strip the figure keeps above its panels (TOP_STRIP_PX in
// emapp/build/figures.py), at its right end: the legend takes its left end, so they cover
// no point, ellipse or curve, and they take no room of their own, so nothing moves when
// they come and go. The step's name is large (read from the back of the room), what it
// does under it; both shrink to the strip's height, and to its free width on a narrow chart.
const BADGE_NAME_PX = 29; // the step's name at most; what it does is BADGE_DOES of it
const BADGE_DOES = 0.6;
const BADGE_GAP = 8; // from the chart's right edge and from the legend
const BADGE_LINES = 1.0 + BADGE_DOES * 1.1; // both lines' height, in the name's font size
const BADGE_PAD_PX = 4; // the badge's own padding, top and bottom together
// Clear of the panels' top: a tick label at the top of a panel reaches this far above it.
const BADGE_CLEAR_PX = 12;
const BADGE_TOP_PX = 2;

// The words' element in the chart's top strip (made once per chart).
function badge(reg) {
  const gd = reg.gd;
  if (!gd || !gd._fullLayout) return null;
  let element = reg.badge;
  if (!element || element.parentNode !== gd) {
    const doc = gd.ownerDocument;
    element = doc.createElement("div");
    element.className = "em-half-step";
    Object.assign(element.style, {
      position: "absolute",
      zIndex: "10",
      pointerEvents: "none",
      whiteSpace: "nowrap",
      fontWeight: "700",
      color: "#1F2430",
      background: "#FFFFFF",
      borderLeft: "7px solid",
      borderRadius: "0.35rem",
      padding: `${BADGE_PAD_PX / 2}px 0.6rem`,
      boxShadow: "0 1px 5px rgba(31, 36, 48, 0.18)",
    });
    const name = doc.createElement("div");
    name.className = "em-half-step-name";
    Object.assign(name.style, { fontSize: "1em", lineHeight: "1.0" });
    const does = doc.createElement("div");
    does.className = "em-half-step-does";
    Object.assign(does.style, { fontSize: `${BADGE_DOES}em`, lineHeight: "1.1", fontWeight: "600" });
    element.append(name, does);
    if (getComputedStyle(gd).position === "static") gd.style.position = "relative";
    gd.appendChild(element);
    reg.badge = element;
  }
  return element;
}

// While the words show, Plotly's tool buttons (which share the strip's right end, on
// hover) are hidden: the page's CSS hides them in a chart marked PLAYING_CLASS.
const PLAYING_CLASS = "em-playing";

function hideBadge(reg) {
  if (reg.badge) reg.badge.style.display = "none";
  if (reg.gd) reg.gd.classList.remove(PLAYING_CLASS);
}

// Show the words of state `index` while playing ("E-step: recolour" shows as "E-step" over
// "recolour").
function showBadge(reg, index) {
  const data = reg.data;
  const stage = data && data.stages[index];
  const words = reg.playing && data.half_steps ? data.half_steps[stage] : null;
  if (!words) return hideBadge(reg);
  const element = badge(reg);
  if (!element) return undefined;
  if (element.dataset.words !== words) {
    const [name, ...does] = words.split(": ");
    element.dataset.words = words;
    element.dataset.stage = stage;
    element.setAttribute("aria-label", words);
    element.firstChild.textContent = name;
    element.lastChild.textContent = does.join(": ");
    element.style.borderLeftColor = BADGE_COLOURS[stage] || "#3B4A6B";
  }
  element.style.display = "block";
  reg.gd.classList.add(PLAYING_CLASS);
  placeBadge(reg.gd, element);
  return undefined;
}

// In the top strip, at its right end, as large as the strip's height and free width allow.
function placeBadge(gd, element) {
  const layout = gd._fullLayout;
  const height = layout._size.t - BADGE_TOP_PX - BADGE_CLEAR_PX - BADGE_PAD_PX;
  let size = Math.min(BADGE_NAME_PX, height / BADGE_LINES);
  element.style.fontSize = `${size}px`;
  const room = layout.width - BADGE_GAP - legendEnd(gd);
  if (element.offsetWidth > room) {
    size = Math.max(12, (size * room) / element.offsetWidth);
    element.style.fontSize = `${size}px`;
  }
  element.style.left = `${layout.width - BADGE_GAP - element.offsetWidth}px`;
  element.style.top = `${BADGE_TOP_PX}px`;
}

// Where the legend ends, with a gap after it, from the chart's left edge (0: no legend).
function legendEnd(gd) {
  const legend = gd.querySelector(".legend");
  if (!legend || !gd._fullLayout.showlegend) return 0;
  return legend.getBoundingClientRect().right - gd.getBoundingClientRect().left + BADGE_GAP;
}

// -- the iteration axis: it grows with the states visited ---------------------------------

// The figure's iteration axis first reaches a few iterations whatever the run's length: at
// iteration 0 the chart must not tell how long the run will take. It reaches
// data.axis_ends[i] once state i is visited (in the browser during steps and Play, and by
// the server's furthest state after every rerun).
function wantAxis(reg, index) {
  const ends = reg.data && reg.data.axis_ends;
  if (ends && index >= 0 && index < ends.length) {
    reg.axisWanted = Math.max(reg.axisWanted, ends[index]);
  }
}

// Give the axis its wanted reach, unless Plotly is busy animating. If it changes, returns
// the promise of Plotly's relayout (null otherwise): Plotly then redraws every trace from
// its own state, which direct drawing must draw over.
function applyAxis(reg) {
  const gd = reg.gd;
  const axis = gd && gd._fullLayout && gd._fullLayout.xaxis2;
  if (!axis || !Array.isArray(axis.range) || !reg.axisWanted || reg.plotlyBusy > 0) return null;
  if (Math.abs(axis.range[1] - reg.axisWanted) < 1e-9) return null;
  reg.plotlyBusy += 1;
  const done = () => {
    reg.plotlyBusy -= 1;
  };
  const range = [axis.range[0], reg.axisWanted];
  return Promise.resolve(window.Plotly.relayout(gd, { "xaxis2.range": range })).then(done, done);
}

function attachChart(reg, gd, data) {
  reg.gd = gd;
  reg.version = data.version;
  reg.shown = 0; // a freshly drawn chart shows its base traces: state 0
  reg.heading = 0;
  reg.plotlyShown = 0;
  reg.colourSource = 0;
  reg.playing = false;
  reg.axisWanted = 0;
  reg.badge = null;
  reg.fast = false; // nothing is drawn straight on this chart's SVG yet
  reg.fastTargets = null;
  fitPanels(reg, data);
  if (gd.__emListening) return;
  gd.__emListening = true;
  gd.on("plotly_animatingframe", (event) => {
    const index = Number(event.name);
    if (Number.isFinite(index)) stateShown(reg, index);
  });
  // Streamlit redraws the chart from its own copy of the figure (when it sizes it, say).
  gd.on("plotly_afterplot", () => fitPanels(reg, reg.data));
}

// -- the panels' places: stacked on a phone, the spare width to the curve -------------------

// The figure has the data panel and the log-likelihood panel side by side; on a phone held
// upright that leaves each a sliver, so there they are stacked (data.panels, from
// emapp/build/figures.py; the page's CSS makes the chart tall enough for both). Side by side,
// a square data panel is only as wide as the chart is high: on a wide screen that is less
// than its share of the width, and the rest stood empty beside it. So the data panel ends
// where its square does and the curve takes the rest (data.panels.split): only here is the
// chart's size in pixels known. Checked when the chart is attached or redrawn (Streamlit
// redraws it at every new size) and when the screen crosses the width; never changed
// mid-animation.
const NARROW_SCREEN = "(max-width: 640px)";
const SAME_PLACE = 1e-3; // of the width: about a pixel, so a redraw settles at once

// Where the panels go: data.panels' narrow or wide places, the wide ones fitted to the chart.
function panelPlaces(gd, panels, narrow) {
  if (narrow) return panels.narrow;
  const split = panels.split;
  const size = gd._fullLayout._size;
  if (!split || !(size.w > 0) || !(size.h > 0)) return panels.wide;
  // The data panel is as high as the plot area (its y domain is [0, 1]), so its square is
  // that many pixels wide, at most its share.
  const end = Math.min(split.data_max, size.h / size.w);
  return { ...panels.wide, "xaxis.domain": [0, end], "xaxis2.domain": [end + split.gap, 1] };
}

// Whether axis `name` of `layout` has the domain `want` gives it. The data panel's domain is
// read from the layout as given: Plotly's full layout holds it narrowed to the square.
function sameDomain(layout, name, want) {
  const now = layout[name] && layout[name].domain;
  const wanted = want[`${name}.domain`];
  return Array.isArray(now) && now.every((value, i) => Math.abs(value - wanted[i]) < SAME_PLACE);
}

function fitPanels(reg, data) {
  const gd = reg.gd;
  const panels = data && data.panels;
  if (!gd || !gd._fullLayout || !gd.layout || !panels) return;
  const narrow = window.matchMedia(NARROW_SCREEN);
  if (!reg.panelListener) {
    reg.panelListener = true;
    narrow.addEventListener("change", () => fitPanels(reg, reg.data));
  }
  const want = panelPlaces(gd, panels, narrow.matches);
  // The curve's height tells side by side from stacked (the figure as built leaves it to
  // Plotly's default).
  const sameKind = sameDomain(gd._fullLayout, "yaxis2", want);
  if (sameKind && sameDomain(gd.layout, "xaxis", want) && sameDomain(gd.layout, "xaxis2", want)) {
    return;
  }
  // Not under an animation, nor under direct drawing (it holds the axes' pixel scales).
  if (reg.plotlyBusy > 0 || reg.playing || reg.fast) {
    setTimeout(() => fitPanels(reg, reg.data), 250);
    return;
  }
  reg.plotlyBusy += 1;
  const done = () => {
    reg.plotlyBusy -= 1;
  };
  // Only the widths when the panels stay side by side: a zoom the student chose is kept.
  const update = sameKind
    ? { "xaxis.domain": want["xaxis.domain"], "xaxis2.domain": want["xaxis2.domain"] }
    : want;
  Promise.resolve(window.Plotly.relayout(gd, update)).then(done, done);
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
  reg.plotlyBusy += 1;
  const settle = (finished) => {
    reg.plotlyBusy -= 1;
    if (generation === reg.generation && !reg.fast) applyAxis(reg);
    return finished && generation === reg.generation;
  };
  return window.Plotly.animate(reg.gd, names.map(String), options).then(
    () => settle(true),
    () => settle(false),
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

function hollowPoints(trace) {
  const symbols = trace && trace.marker && trace.marker.symbol;
  if (!Array.isArray(symbols)) return [];
  return symbols.map((symbol) => String(symbol).endsWith("-open"));
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
    // Hollow points (a missing value) take their colour as outline, not fill.
    hollow: hollowPoints(gd.data && gd.data[traces.points]),
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
      if (point && targets.hollow[i]) point.style.stroke = colours[i];
      else if (point) point.style.fill = colours[i];
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
  // Widening the iteration axis makes Plotly redraw every trace from its own (older) state:
  // draw the state on screen again, at once and once Plotly is done.
  const redraw = () => {
    if (generation !== reg.generation) return;
    const layout = gd._fullLayout;
    targets.axes = [layout.xaxis, layout.yaxis, layout.xaxis2, layout.yaxis2];
    drawColoursAndCurve(targets, frameTraces(gd, reg.colourSource), traces);
    drawGeometry(targets, geometry, labelOrigin);
  };
  // The relayout holds the page for a while (Plotly redraws every point): playback keeps
  // its schedule through it, skipping what it missed, so Play keeps its speed.
  let credit = 0;
  const widen = (index) => {
    wantAxis(reg, index);
    const began = performance.now();
    const relayout = applyAxis(reg);
    if (relayout === null) return;
    redraw();
    relayout.then(redraw);
    credit += performance.now() - began;
  };
  return new Promise((resolve) => {
    const enter = (now) => {
      k += 1;
      if (k >= sequence.length) return false;
      const index = sequence[k];
      if (segment && now - segment.end <= MAX_CATCH_UP_MS) credit = 0; // back on schedule
      widen(index);
      const byTrace = frameTraces(gd, index);
      const glide = data.stages[index] === "M";
      segment = {
        index,
        glide,
        start: segment ? Math.max(segment.end, now - MAX_CATCH_UP_MS - credit) : now,
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
    hideBadge(reg);
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
  hideBadge(reg);
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
// states, so it starts moving the chart on pointer-down, by Python's own table of how far
// each button goes from each stage (data.step_ahead, from step_rules in
// emapp/build/state.py: no copy of the rule here); the rerun then confirms the same target
// (or corrects it, and wins). A stage the table leaves out is one the button cannot move from.
function stepTarget(data, key, from) {
  const last = data.stages.length - 1;
  if (key === "reset") return 0;
  if (key === "run") return last;
  const rules = (data.step_ahead && data.step_ahead[key]) || {};
  const ahead = rules[data.stages[from]];
  if (!Number.isInteger(ahead) || ahead <= 0) return null;
  const target = from + ahead;
  return target <= last ? target : null;
}

// Move the chart to `target` now and ask Python to follow with the component's numbered
// `request` value (see emapp/ui/player.py, step_request): the stepping buttons' path, which
// the keyboard takes too.
function requestState(reg, data, target) {
  wantAxis(reg, target);
  goTo(reg, target);
  showStatus(reg, target); // say where the chart is going while it glides there
  reg.requests += 1;
  reg.setStateValue("request", { index: target, version: data.version, seq: reg.requests });
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
      requestState(reg, data, target);
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

// -- the keyboard --------------------------------------------------------------------------

// e, m, s and r press the E-step, M-step, Step and Reset buttons (data.key_buttons), space
// presses Play or Pause, and the arrows move one state back or forward. A key presses a
// button the way the mouse does (pointer-down, then click), so it takes the very path of a
// click: the browser moves the chart and Python follows the numbered request. Keys are
// left alone while typing or when a widget uses them (boxes and lists take letters; sliders,
// tabs and radios their arrows), and with Ctrl, Alt or Meta. A slider takes no letters, so
// "move K, press s" works without clicking away first. The page lives in the top document (components are not in
// iframes here; if they were, the listener would go on the parent window, same origin).
const TYPING = [
  "input", "textarea", "select", "[contenteditable='']", "[contenteditable='true']",
  "[role='textbox']", "[role='combobox']", "[role='listbox']", "[role='option']",
  "[role='spinbutton']", "[role='menu']", "[role='menuitem']",
  "[data-baseweb='select']", "[data-baseweb='input']", "[data-baseweb='textarea']",
].join(", ");
// Streamlit's sliders are a hidden <input type="range"> (react-aria) or a role="slider".
const SLIDER = "input[type='range'], [role='slider']";
// A drop-down whose list is closed keeps the focus after a choice; letters would only start
// a search in it, so they press the page's buttons ("choose VEV, press s"); its arrows,
// space and Enter open it.
const CLOSED_LIST = "[role='combobox'][aria-expanded='false']";
const OWN_ARROWS =
  `[role='tab'], [role='tablist'], [role='radio'], [role='radiogroup'], ${SLIDER}, ${CLOSED_LIST}`;

function hostWindow() {
  try {
    if (window.parent && window.parent !== window && window.parent.document) return window.parent;
  } catch (error) {
    // another origin: stay in this window
  }
  return window;
}

function keyOrigin(event) {
  const path = event.composedPath ? event.composedPath() : [event.target];
  return path.find((node) => node && node.nodeType === 1) || null;
}

function typingIn(origin) {
  if (!origin || (origin.matches && origin.matches(`${SLIDER}, ${CLOSED_LIST}`))) return false;
  return Boolean(origin.isContentEditable || origin.closest(TYPING));
}

// Press the Streamlit button with key `key` as a mouse does; false if there is none to press.
function pressButton(doc, key) {
  const button = doc.querySelector(`.st-key-${key} button`);
  if (!button || button.disabled) return false;
  const init = { bubbles: true, cancelable: true, composed: true, button: 0, isPrimary: true };
  button.dispatchEvent(new PointerEvent("pointerdown", { ...init, pointerType: "mouse" }));
  button.click();
  return true;
}

// One state back or forward, on the stepping buttons' path.
function moveBy(reg, delta) {
  const data = reg.data;
  if (!data || data.playing || reg.playing || !reg.gd || reg.version !== data.version) return;
  const target = (reg.heading ?? reg.shown) + delta;
  if (target < 0 || target >= data.stages.length || target === reg.heading) return;
  requestState(reg, data, target);
}

function toggleKeyHelp(reg, open) {
  const help = reg.status && reg.status.querySelector(".em-keys");
  if (help) help.open = open === undefined ? !help.open : open;
}

// The "?" list lies over the notes and the chart: a press anywhere else closes it, so it
// never stays over what the press was for (a button, the chart).
function listenForClickAway(reg) {
  const host = hostWindow();
  if (host.__emKeysAway) return;
  host.__emKeysAway = true;
  host.addEventListener(
    "pointerdown",
    (event) => {
      const help = reg.status && reg.status.querySelector(".em-keys");
      if (!help || !help.open) return;
      const path = event.composedPath ? event.composedPath() : [event.target];
      if (!path.includes(help)) help.open = false;
    },
    true,
  );
}

function onKey(reg, doc, event) {
  const data = reg.data;
  if (!data || event.defaultPrevented || event.isComposing) return false;
  if (event.ctrlKey || event.metaKey || event.altKey) return false;
  const origin = keyOrigin(event);
  if (typingIn(origin)) return false;
  const key = event.key;
  if (key === "?") {
    toggleKeyHelp(reg);
  } else if (key === "Escape") {
    toggleKeyHelp(reg, false);
    return false; // Escape goes on (it closes Streamlit's menus too)
  } else if (key === "ArrowLeft" || key === "ArrowRight") {
    if (origin && origin.closest(OWN_ARROWS)) return false;
    moveBy(reg, key === "ArrowLeft" ? -1 : 1);
  } else if (key === " ") {
    if (origin && origin.closest(CLOSED_LIST)) return false; // opens the drop-down
    // Whichever of Play and Pause the page offers (the server's view of the playback).
    if (!event.repeat && !pressButton(doc, data.pause_key)) pressButton(doc, data.play_key);
  } else {
    const button = data.key_buttons && data.key_buttons[key.toLowerCase()];
    if (!button) return false;
    if (!event.repeat || button !== "reset") pressButton(doc, button);
  }
  return true;
}

function listenForKeys(reg) {
  const host = hostWindow();
  if (host.__emKeys) return; // one listener per page, whatever the reruns
  host.__emKeys = true;
  let spaceHandled = false;
  host.addEventListener(
    "keydown",
    (event) => {
      if (!onKey(reg, host.document, event)) return;
      // Handled here: no page scroll, no click of a focused button, no Streamlit hotkey
      // (its "r" reruns the whole script).
      spaceHandled = event.key === " ";
      event.preventDefault();
      event.stopPropagation();
    },
    true,
  );
  host.addEventListener(
    "keyup",
    (event) => {
      if (event.key !== " " || !spaceHandled) return;
      spaceHandled = false;
      event.preventDefault(); // a focused button would be clicked on the space's release
      event.stopPropagation();
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

// -- placing the start by clicking ----------------------------------------------------------

// The "click to place the means" start (emapp/build/placing.py): a page that shows the data
// alone, and a component with role "placer" above it. Every click inside the chart's plot
// area puts the next component's mean there: drawn at once, and reported to Python as the
// whole list so far (state value `placed` = {token, points}), in the chart's data units.
// Python's list is the truth; clicks it has not seen yet are kept while they extend it.
const PLACER_KEY = "__emPlacer";

function placeMeans(component) {
  const { data, parentElement, setStateValue } = component;
  if (!window[PLACER_KEY]) window[PLACER_KEY] = { pending: [], token: null, listening: false };
  const placer = window[PLACER_KEY];
  if (placer.token !== data.token || placer.pending.length <= data.placed.length) {
    placer.pending = data.placed.map((point) => point.slice());
  }
  placer.token = data.token;
  placer.data = data;
  placer.setStateValue = setStateValue;
  placer.status = parentElement.querySelector(".em-place-status");
  showPlacing(placer);
  if (!placer.listening) {
    // On the page, not on one chart: every rerun may draw the chart anew.
    placer.listening = true;
    window.addEventListener("click", (event) => placeAt(placer, event), true);
  }
  let timer = null;
  const draw = () => {
    timer = null;
    if (placer.data !== data) return;
    if (!drawPlaced(placer)) timer = setTimeout(draw, POLL_MS);
  };
  draw();
  return () => {
    if (timer !== null) clearTimeout(timer);
  };
}

function placingChart(data) {
  const gd = document.querySelector(`.st-key-${data.chart} .js-plotly-plot`);
  return gd && gd._fullLayout && gd._fullLayout.xaxis && window.Plotly ? gd : null;
}

function showPlacing(placer) {
  const words = placer.data.statuses;
  const said = words[Math.min(placer.pending.length, words.length - 1)];
  if (placer.status) placer.status.textContent = said;
}

// A click inside the plot area, in data units: [x] on a histogram, [x, y] on a scatter plot.
function placeAt(placer, event) {
  const data = placer.data;
  if (!data || !event.target.closest || placer.pending.length >= data.n_components) return;
  const gd = event.target.closest(`.st-key-${data.chart} .js-plotly-plot`);
  if (!gd || gd !== placingChart(data)) return;
  const layout = gd._fullLayout;
  const xa = layout.xaxis;
  const ya = layout.yaxis;
  const box = gd.getBoundingClientRect();
  const px = event.clientX - box.left - xa._offset;
  const py = event.clientY - box.top - ya._offset;
  if (px < 0 || px > xa._length || py < 0 || py > ya._length) return;
  const point = data.dimensions === 1 ? [xa.p2c(px)] : [xa.p2c(px), ya.p2c(py)];
  placer.pending.push(point);
  showPlacing(placer);
  drawPlaced(placer);
  placer.setStateValue("placed", { token: data.token, points: placer.pending });
}

// Draw the means placed so far (the page confirms them with its next rerun); false if the
// chart is not there yet.
function drawPlaced(placer) {
  const { data, pending } = placer;
  const gd = placingChart(data);
  if (!gd) return false;
  const xs = pending.map((point) => point[0]);
  const ys = pending.map((point) => (data.dimensions === 1 ? 0 : point[1]));
  window.Plotly.restyle(
    gd,
    {
      x: [xs],
      y: [ys],
      text: [pending.map((_, k) => String(k + 1))],
      "marker.color": [pending.map((_, k) => data.colours[k])],
      "marker.symbol": [pending.map((_, k) => data.symbols[k])],
    },
    [data.means_trace],
  );
  return true;
}

// -- entry point -----------------------------------------------------------------------------

function sync(reg, data) {
  const gd = findChart(data);
  if (!gd) return false;
  if (gd !== reg.gd || data.version !== reg.version) attachChart(reg, gd, data);
  followAxis(reg, data);
  if (data.playing) {
    if (reg.token !== data.token) play(reg, data);
    return true;
  }
  stopPlayback(reg);
  // A click the browser already answered (see listenForSteps): let its animation finish.
  if (reg.heading !== data.target) goTo(reg, data.target);
  else {
    showStatus(reg, reg.shown);
    if (!reg.fast) applyAxis(reg);
  }
  return true;
}

// The iteration axis reaches the furthest state the server knows of; a fresh view (after
// Reset, or new settings) starts narrow again.
function followAxis(reg, data) {
  if (!data.axis_ends || data.playing) return;
  if (data.furthest === 0) reg.axisWanted = 0;
  wantAxis(reg, data.furthest);
  wantAxis(reg, data.target);
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  if (data.role === "placer") return placeMeans(component);
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
  fitNotes(reg);
  listenForPause(reg);
  listenForSteps(reg);
  listenForKeys(reg);
  listenForClickAway(reg);
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
