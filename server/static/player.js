// The player page: table of contents, navigation between items, the SCO frame and the
// closing summary. It reads its configuration from the JSON script element
// #player-config (see server/player.py) and drives one ScoSession per SCO launch.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("player-config").textContent);
  const frame = document.getElementById("sco-frame");
  const notice = document.getElementById("notice");
  const saveStatus = document.getElementById("save-status");
  const previousButton = document.getElementById("previous-button");
  const nextButton = document.getElementById("next-button");
  const exitButton = document.getElementById("exit-button");
  const is2004 = config.standard === "2004";

  // Status per item identifier: lesson_status (1.2) or completion_status (2004).
  const itemStatus = {};
  let current = null;
  let busy = false;
  let closing = false;
  let finished = false;

  ScormAdapter.install(window, config.standard, () => (current ? current.session : null));
  window.scormPlayer = { config, current: () => current, launch, exit: exitCourse };

  // ------------------------------------------------------------ server calls

  async function apiRequest(path, options) {
    const response = await fetch(config.apiBase + path, {
      method: options.method || "GET",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Launch ${config.token}`,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.error || `The request failed with status ${response.status}.`);
    }
    return body;
  }

  function openSession(item) {
    return apiRequest(`/attempts/${config.attemptId}/sessions/`, {
      method: "POST",
      body: { sco_id: item.identifier },
    });
  }

  async function fetchSummary() {
    const response = await fetch(config.summaryUrl, {
      headers: { Authorization: `Launch ${config.token}` },
      cache: "no-store",
    });
    const body = await response.json();
    if (!response.ok) {
      throw new Error(body.error || `The summary request failed with status ${response.status}.`);
    }
    return body;
  }

  // ---------------------------------------------------------- notices, status

  function showNotice(message) {
    notice.textContent = message;
    notice.hidden = false;
  }

  function showSaveStatus(state) {
    const text = {
      saved: "All changes saved",
      retrying: "Connection lost; retrying…",
      error: "A change was rejected by the server",
    }[state];
    saveStatus.textContent = text || "";
    saveStatus.dataset.state = state;
  }

  // ------------------------------------------------------- table of contents

  function buildToc() {
    const list = document.getElementById("toc");
    if (!list) return;
    list.replaceChildren(...config.toc.map(tocEntry));
  }

  function tocEntry(node) {
    const entry = document.createElement("li");
    const index = config.items.findIndex((item) => item.identifier === node.identifier);
    if (index >= 0) {
      const link = document.createElement("button");
      link.type = "button";
      link.className = "toc-item";
      link.dataset.identifier = node.identifier;
      link.textContent = node.title;
      link.addEventListener("click", () => launch(index));
      entry.append(link);
    } else {
      const label = document.createElement("span");
      label.className = "toc-group";
      label.textContent = node.title;
      entry.append(label);
    }
    if (node.children && node.children.length) {
      const children = document.createElement("ul");
      children.replaceChildren(...node.children.map(tocEntry));
      entry.append(children);
    }
    return entry;
  }

  function refreshNavigation() {
    const index = current ? current.index : -1;
    const flow = config.controlMode.flow !== false;
    const choice = config.controlMode.choice !== false;
    previousButton.disabled = finished || !flow || findAvailable(index - 1, -1) < 0;
    nextButton.disabled = finished || !flow || findAvailable(index + 1, 1) < 0;
    for (const link of document.querySelectorAll(".toc-item")) {
      const itemIndex = config.items.findIndex((item) => item.identifier === link.dataset.identifier);
      const status = itemStatus[link.dataset.identifier] || "";
      link.dataset.status = status;
      link.title = status ? `Status: ${status}` : "";
      link.classList.toggle("current", itemIndex === index);
      link.disabled = finished || !choice || !isAvailable(itemIndex);
    }
  }

  // --------------------------------------------------------- prerequisites

  // SCORM 1.2 adlcp:prerequisites in the aicc_script form, limited to
  // identifiers, & (and), | (or), ~ (not) and parentheses. An item counts as
  // done when its lesson_status is passed or completed.
  function prerequisitesMet(expression) {
    const tokens = expression.match(/[&|~()]|[^\s&|~()]+/g) || [];
    let position = 0;
    const done = (identifier) => ["passed", "completed"].includes(itemStatus[identifier]);
    function parseOr() {
      let value = parseAnd();
      while (tokens[position] === "|") {
        position += 1;
        value = parseAnd() || value;
      }
      return value;
    }
    function parseAnd() {
      let value = parseNot();
      while (tokens[position] === "&") {
        position += 1;
        value = parseNot() && value;
      }
      return value;
    }
    function parseNot() {
      if (tokens[position] === "~") {
        position += 1;
        return !parseNot();
      }
      if (tokens[position] === "(") {
        position += 1;
        const value = parseOr();
        position += 1;
        return value;
      }
      const token = tokens[position++];
      if (token === undefined || /[=*{},]/.test(token)) throw new Error(`unsupported token ${token} in the expression`);
      return done(token);
    }
    try {
      const value = parseOr();
      if (position !== tokens.length) throw new Error("trailing tokens");
      return value;
    } catch (error) {
      // NOTE: forms other than identifiers with & | ~ ( ) are not evaluated
      // and leave the item available.
      console.warn("Prerequisites %s not evaluated: %s", expression, error.message);
      return true;
    }
  }

  function isAvailable(index) {
    if (index < 0 || index >= config.items.length) return false;
    if (is2004) return true;
    const expression = config.prerequisites[config.items[index].identifier];
    return !expression || prerequisitesMet(expression);
  }

  function findAvailable(start, step) {
    for (let index = start; index >= 0 && index < config.items.length; index += step) {
      if (isAvailable(index)) return index;
    }
    return -1;
  }

  // ------------------------------------------------------------- launching

  async function launch(index) {
    if (busy || finished || !isAvailable(index)) return;
    busy = true;
    try {
      await unloadCurrent();
      await startItem(index);
    } catch (error) {
      console.error("Launching item %d failed: %s", index, error);
      showNotice(`The course item could not be opened: ${error.message}`);
    } finally {
      busy = false;
      refreshNavigation();
    }
  }

  async function startItem(index) {
    const item = config.items[index];
    let session = null;
    let sender = null;
    if (item.scorm_type !== "asset") {
      const opened = await openSession(item);
      sender = new ScormAdapter.BatchSender({
        apiBase: config.apiBase,
        attemptId: config.attemptId,
        token: config.token,
        sessionId: opened.session_id,
        onResults: ScormAdapter.compareResults,
        onSuperseded: (message, reason) => showNotice(
          reason === "expired"
            ? `Progress can no longer be saved: ${message} Open the course again from your LMS.`
            : "This course is open in another window or tab. Progress made here is no longer " +
              "saved, so close this window."
        ),
        onStatus: showSaveStatus,
      });
      session = new ScormAdapter.ScoSession({
        standard: config.standard,
        cmi: opened.cmi,
        sender,
        modelOptions: {
          suspendDataMax: config.suspendDataMax,
          navigationValidity: (kind, target) => navigationValidity(index, kind, target),
        },
        onCommit: () => sender.flush(),
        onTerminate: (ended) => afterTerminate(ended),
      });
    }
    // After Back or a restored tab, the browser may have loaded the last SCO
    // into the frame by itself. It is unloaded before the new session becomes
    // current, so it cannot call that session's API.
    if (!frameIsBlank()) await blankFrame();
    current = { index, item, session, sender };
    showInFrame(launchUrl(item));
  }

  // A launch path that starts with "http:", "https:" or "//" names a SCO
  // outside the package, because its manifest href was absolute. Such a SCO
  // cannot reach the API unless it has the player's origin. Any other path,
  // "javascript:..." included, is a file inside the package.
  function launchUrl(item) {
    const path = item.launch_path;
    if (/^(https?:)?\/\//i.test(path)) return path;
    return config.contentBase + path;
  }

  // Navigate the SCO frame in place. A new session history entry would let the
  // browser's Back button take the frame to an earlier SCO behind the player's back.
  function showInFrame(url) {
    frame.contentWindow.location.replace(url);
  }

  // Let the SCO in the frame unload (it may call Terminate itself), end its
  // session if it did not, and wait until its calls are saved.
  async function unloadCurrent() {
    if (!current) return;
    const leaving = current;
    closing = true;
    await blankFrame();
    if (leaving.session && leaving.session.state === "running") {
      leaving.session.terminate("");
    }
    if (leaving.sender) await leaving.sender.flush(true);
    recordStatus(leaving);
    closing = false;
    current = null;
  }

  function blankFrame() {
    return new Promise((resolve) => {
      frame.addEventListener("load", () => resolve(), { once: true });
      showInFrame("about:blank");
    });
  }

  function frameIsBlank() {
    try {
      return frame.contentWindow.location.href === "about:blank";
    } catch (error) {
      // A SCO of another origin is in the frame.
      return false;
    }
  }

  function recordStatus(launched) {
    if (!launched.session) {
      itemStatus[launched.item.identifier] = "completed";
      return;
    }
    const element = is2004 ? "cmi.completion_status" : "cmi.core.lesson_status";
    try {
      itemStatus[launched.item.identifier] = launched.session.model.getValue(element);
    } catch (error) {
      console.warn("No status for %s: %s", launched.item.identifier, error.message);
    }
  }

  function afterTerminate(session) {
    const launched = current;
    if (!launched || launched.session !== session) return;
    launched.sender.flush(true);
    recordStatus(launched);
    if (closing) return;
    // Navigate after the SCO's Terminate call has returned to it.
    setTimeout(() => followNavigationRequest(session), 0);
  }

  // Whether a navigation request from item `index` would be followed.
  function navigationValidity(index, kind, target) {
    const flow = config.controlMode.flow !== false;
    const choice = config.controlMode.choice !== false;
    if (kind === "continue") return String(flow && findAvailable(index + 1, 1) >= 0);
    if (kind === "previous") return String(flow && findAvailable(index - 1, -1) >= 0);
    const targetIndex = config.items.findIndex((item) => item.identifier === target);
    if (kind === "choice") return String(choice && targetIndex >= 0);
    return String(targetIndex >= 0);
  }

  // SCORM 2004 adl.nav.request after Terminate, in organization order.
  function followNavigationRequest(session) {
    refreshNavigation();
    if (!is2004) return;
    const request = session.model.values.get("adl.nav.request") || "_none_";
    const index = current ? current.index : -1;
    const choice = /^\{target=([^}]+)\}(choice|jump)$/.exec(request);
    if (request === "continue") {
      const next = findAvailable(index + 1, 1);
      if (next >= 0) launch(next);
      else exitCourse();
    } else if (request === "previous") {
      const previous = findAvailable(index - 1, -1);
      if (previous >= 0) launch(previous);
    } else if (choice) {
      const target = config.items.findIndex((item) => item.identifier === choice[1]);
      if (target >= 0) launch(target);
    } else if (["exitAll", "suspendAll", "abandonAll"].includes(request)) {
      exitCourse();
    }
  }

  // -------------------------------------------------------------- closing

  async function exitCourse() {
    if (finished) return;
    while (busy) await new Promise((resolve) => setTimeout(resolve, 50));
    busy = true;
    try {
      await unloadCurrent();
      finished = true;
      frame.hidden = true;
      await showSummary();
    } catch (error) {
      console.error("Closing the course failed: %s", error);
      showNotice(`The summary could not be loaded: ${error.message}`);
    } finally {
      busy = false;
      refreshNavigation();
      exitButton.disabled = true;
    }
  }

  async function showSummary() {
    const summary = await fetchSummary();
    const section = document.getElementById("summary");
    const rows = config.items.map((item) => {
      const data = (summary.items || {})[item.identifier] || {};
      const status = data.lesson_status || data.completion_status || data.status ||
        itemStatus[item.identifier] || "not attempted";
      const success = data.success_status && data.success_status !== "unknown"
        ? ` (${data.success_status})` : "";
      const score = data.score === undefined || data.score === null ? "" : String(data.score);
      const row = document.createElement("tr");
      for (const text of [item.title, status + success, score]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    });
    document.getElementById("summary-rows").replaceChildren(...rows);
    const overall = summary.is_complete ? "Course complete." : "Course not complete yet.";
    const score = summary.score === null || summary.score === undefined
      ? "" : ` Score: ${summary.score}.`;
    document.getElementById("summary-overall").textContent = overall + score;
    section.hidden = false;
  }

  // -------------------------------------------------------------- page life

  function onPageHidden() {
    if (current && current.sender) current.sender.flushOnHide();
  }

  window.addEventListener("pagehide", () => {
    if (current && current.sender) current.sender.hiding = true;
    onPageHidden();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") onPageHidden();
  });

  const currentIndex = () => (current ? current.index : -1);
  previousButton.addEventListener("click", () => launch(findAvailable(currentIndex() - 1, -1)));
  nextButton.addEventListener("click", () => launch(findAvailable(currentIndex() + 1, 1)));
  exitButton.addEventListener("click", () => exitCourse());

  // Take the status of each item from the attempt, for prerequisites and the contents.
  async function loadItemStatus() {
    try {
      const summary = await fetchSummary();
      for (const [identifier, data] of Object.entries(summary.items || {})) {
        const status = data && (data.lesson_status || data.completion_status || data.status);
        if (status) itemStatus[identifier] = status;
      }
    } catch (error) {
      console.warn("The attempt's item status could not be loaded: %s", error.message);
    }
  }

  async function start() {
    buildToc();
    await ScormAdapter.resendStoredBatches(config.attemptId, config.token);
    await loadItemStatus();
    const first = findAvailable(0, 1);
    if (first < 0) {
      showNotice("No item of this course is available.");
      return;
    }
    await launch(first);
  }

  start();
})();
