// The SCORM run-time API that a SCO finds on the player window.
//
// `ScormAdapter.install(window, standard, getSession)` puts `window.API` (SCORM 1.2) or
// `window.API_1484_11` (SCORM 2004) on the window. Its methods call the current
// `ScoSession`, which keeps the SCO's CMI state in a `ScormDataModel` and returns at once. Every state-changing call is also queued and sent to the server in numbered
// batches by a `BatchSender`: on Commit, on a timer while calls are pending, at Terminate
// and when the page is hidden. Until Terminate, a session sends at most one request a
// second. The server's result is authoritative, and a result that differs from the local
// one is logged to the console.
"use strict";

(function (global) {
  const ERROR_STRINGS_12 = {
    0: "No error",
    101: "General exception",
    201: "Invalid argument error",
    202: "Element cannot have children",
    203: "Element not an array - cannot have count",
    301: "Not initialized",
    401: "Not implemented error",
    402: "Invalid set value, element is a keyword",
    403: "Element is read only",
    404: "Element is write only",
    405: "Incorrect data type",
  };

  const ERROR_STRINGS_2004 = {
    0: "No error",
    101: "General exception",
    102: "General initialization failure",
    103: "Already initialized",
    104: "Content instance terminated",
    111: "General termination failure",
    112: "Termination before initialization",
    113: "Termination after termination",
    122: "Retrieve data before initialization",
    123: "Retrieve data after termination",
    132: "Store data before initialization",
    133: "Store data after termination",
    142: "Commit before initialization",
    143: "Commit after termination",
    201: "General argument error",
    301: "General get failure",
    351: "General set failure",
    391: "General commit failure",
    401: "Undefined data model element",
    402: "Unimplemented data model element",
    403: "Data model element value not initialized",
    404: "Data model element is read only",
    405: "Data model element is write only",
    406: "Data model element type mismatch",
    407: "Data model element value out of range",
    408: "Data model dependency not established",
  };

  // API function names per standard, in the order
  // initialize, terminate, getValue, setValue, commit, lastError, errorString, diagnostic.
  const FUNCTION_NAMES = {
    "1.2": [
      "LMSInitialize", "LMSFinish", "LMSGetValue", "LMSSetValue", "LMSCommit",
      "LMSGetLastError", "LMSGetErrorString", "LMSGetDiagnostic",
    ],
    2004: [
      "Initialize", "Terminate", "GetValue", "SetValue", "Commit", "GetLastError",
      "GetErrorString", "GetDiagnostic",
    ],
  };

  // State errors per standard: [before Initialize, after Terminate].
  const STATE_ERRORS = {
    "1.2": {
      initialize: [null, 101], alreadyInitialized: 101, terminate: [301, 101],
      getValue: [301, 101], setValue: [301, 101], commit: [301, 101],
    },
    2004: {
      initialize: [null, 104], alreadyInitialized: 103, terminate: [112, 113],
      getValue: [122, 123], setValue: [132, 133], commit: [142, 143],
    },
  };

  const NOT_INITIALIZED = "not initialized";
  const RUNNING = "running";
  const TERMINATED = "terminated";

  // ------------------------------------------------------------------ transport

  const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];
  const AUTO_FLUSH_MS = 3000;
  // Outside Terminate and page hide, a session starts at most one request per
  // interval, so a SCO that commits in a loop sends a few batches, not one per
  // Commit. A browser crash can lose the calls of up to this interval.
  const MIN_SEND_INTERVAL_MS = 1000;
  const STORAGE_PREFIX = "scorm-unsent:";

  // Sends one session's calls to POST {apiBase}/attempts/{id}/runtime/ in
  // batches numbered from 1, one batch in flight at a time. Batches not yet
  // acknowledged are mirrored to sessionStorage so a reload can resend them.
  class BatchSender {
    constructor(options) {
      this.url = `${options.apiBase}/attempts/${options.attemptId}/runtime/`;
      this.token = options.token;
      this.sessionId = options.sessionId;
      this.storageKey = `${STORAGE_PREFIX}${options.attemptId}:${options.sessionId}`;
      this.onResults = options.onResults || (() => {});
      this.onSuperseded = options.onSuperseded || (() => {});
      this.onStatus = options.onStatus || (() => {});
      this.pendingCalls = [];
      this.pendingLocal = [];
      this.unacked = [];
      this.nextSeq = 1;
      this.inFlight = false;
      this.retryCount = 0;
      this.timer = null;
      this.superseded = false;
      this.idleWaiters = [];
      this.hiding = false;
      this.lastSeqSentOnHide = 0;
      this.lastSendAt = -Infinity;
      // No request before this time: the server's Retry-After, or the back-off after a failure.
      this.retryAt = -Infinity;
      this.sendTimer = null;
      this.urgent = false;
    }

    queue(call, localResult) {
      this.pendingCalls.push(call);
      this.pendingLocal.push(localResult);
      if (this.hiding) {
        // The page is going away: a SCO's unload handler runs after the
        // player's pagehide, so each of its calls is sent at once.
        this.flushOnHide();
        return;
      }
      if (this.timer === null) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.flush();
        }, AUTO_FLUSH_MS);
      }
    }

    // Move the pending calls into a numbered batch. Until that batch is
    // sent, later calls join it instead of starting another one.
    seal() {
      if (!this.pendingCalls.length) return;
      const last = this.unacked[this.unacked.length - 1];
      if (last && !last.sent) {
        last.calls.push(...this.pendingCalls);
        last.local.push(...this.pendingLocal);
      } else {
        this.unacked.push({
          session_id: this.sessionId,
          batch_seq: this.nextSeq++,
          calls: this.pendingCalls,
          local: this.pendingLocal,
          sent: false,
        });
      }
      this.pendingCalls = [];
      this.pendingLocal = [];
      this.store();
    }

    store() {
      try {
        const batches = this.unacked.map(({ session_id, batch_seq, calls }) => ({
          session_id, batch_seq, calls,
        }));
        if (batches.length) {
          global.sessionStorage.setItem(this.storageKey, JSON.stringify({ url: this.url, batches }));
        } else {
          global.sessionStorage.removeItem(this.storageKey);
        }
      } catch (error) {
        console.warn("Could not keep unsent SCORM calls in sessionStorage: %s", error);
      }
    }

    // Send the pending calls; resolves when every batch is acknowledged. An
    // urgent flush (at Terminate) does not wait for MIN_SEND_INTERVAL_MS, only
    // for a retry that is due later.
    flush(urgent = false) {
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      if (urgent) this.urgent = true;
      // Sealing and starting a request can take milliseconds, which the SCO's
      // Commit need not wait for, so they run once the SCO's script returns.
      return new Promise((resolve) => {
        queueMicrotask(() => {
          this.seal();
          this.pump();
          this.settle();
          this.whenIdle().then(resolve);
        });
      });
    }

    whenIdle() {
      if (!this.unacked.length || this.superseded) return Promise.resolve();
      return new Promise((resolve) => this.idleWaiters.push(resolve));
    }

    settle() {
      if (this.unacked.length && !this.superseded) return;
      this.urgent = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((resolve) => resolve());
    }

    // Milliseconds until the next request may start: a retry that is due
    // later, or MIN_SEND_INTERVAL_MS since the last request unless urgent.
    sendDelay() {
      const earliest = this.urgent
        ? this.retryAt
        : Math.max(this.retryAt, this.lastSendAt + MIN_SEND_INTERVAL_MS);
      return Math.max(0, earliest - Date.now());
    }

    async pump() {
      if (this.inFlight || this.superseded || !this.unacked.length) return;
      const wait = this.sendDelay();
      if (wait > 0) {
        if (this.sendTimer === null) {
          this.sendTimer = setTimeout(() => {
            this.sendTimer = null;
            this.pump();
          }, wait);
        }
        return;
      }
      if (this.sendTimer !== null) {
        clearTimeout(this.sendTimer);
        this.sendTimer = null;
      }

      this.lastSendAt = Date.now();
      const batch = this.unacked[0];
      // The server may apply a batch once it is sent, so its calls are fixed from here on.
      batch.sent = true;
      this.inFlight = true;
      let retryAfterMs = null;
      const body = JSON.stringify({
        session_id: batch.session_id, batch_seq: batch.batch_seq, calls: batch.calls,
      });
      // A SCO often terminates from beforeunload or unload, so the request of an
      // urgent flush is kept alive if it leaves room in the quota for the
      // page-hide resend of the same batch.
      const keepalive = this.urgent && new Blob([body]).size <= KEEPALIVE_QUOTA_BYTES / 2;
      try {
        const response = await global.fetch(this.url, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Launch ${this.token}` },
          body,
          keepalive,
          cache: "no-store",
        });
        retryAfterMs = await this.handleResponse(batch, response);
      } catch (error) {
        console.warn("SCORM batch %d failed to send: %s", batch.batch_seq, error);
        retryAfterMs = this.nextRetryDelay();
      } finally {
        this.inFlight = false;
      }

      if (retryAfterMs === null) {
        this.pump();
        this.settle();
      } else {
        this.onStatus("retrying");
        this.retryAt = Date.now() + retryAfterMs;
        this.pump();
      }
    }

    nextRetryDelay() {
      const delay = RETRY_DELAYS_MS[Math.min(this.retryCount, RETRY_DELAYS_MS.length - 1)];
      this.retryCount += 1;
      return delay;
    }

    // Return null when the batch is done with, or the delay before a retry.
    async handleResponse(batch, response) {
      let body = null;
      try {
        body = await response.json();
      } catch (error) {
        body = null;
      }

      if (response.ok) {
        this.retryCount = 0;
        this.unacked.shift();
        this.store();
        this.onStatus("saved");
        this.onResults(batch, (body && body.results) || []);
        return null;
      }
      if (response.status === 409 && body && body.expected_batch_seq !== undefined) {
        return this.resequence(batch, Number(body.expected_batch_seq));
      }

      if (response.status === 401 || response.status === 403) {
        // The launch token expired or was revoked. The batches stay in
        // sessionStorage, so opening the course again sends them.
        console.error("SCORM batch %d rejected with %d: %s", batch.batch_seq, response.status,
          body && body.error);
        this.superseded = true;
        this.onSuperseded((body && body.error) || "The launch has expired.", "expired");
        this.settle();
        return null;
      }
      if (response.status === 409) {
        this.superseded = true;
        this.unacked = [];
        this.store();
        this.onSuperseded((body && body.error) || "This course is open in another window.");
        this.settle();
        return null;
      }

      if (response.status >= 500 || response.status === 429 || response.status === 0) {
        const retryAfter = Number(response.headers.get("Retry-After"));
        return retryAfter > 0 ? retryAfter * 1000 : this.nextRetryDelay();
      }
      // A 4xx other than 409 and 429 will not change on retry.
      console.error("SCORM batch %d rejected with %d: %s", batch.batch_seq, response.status,
        body && body.error);
      this.unacked.shift();
      this.store();
      this.onStatus("error");
      return null;
    }

    // The server expects another batch_seq. A lower one means it never applied
    // the batches from there on, so they are numbered again from it.
    resequence(batch, expected) {
      if (expected > batch.batch_seq) {
        this.unacked.shift();
        this.store();
        return null;
      }
      if (expected === batch.batch_seq || !Number.isInteger(expected) || expected < 1) {
        // Renumbering would send the same request again, so back off instead.
        return this.nextRetryDelay();
      }
      console.warn("SCORM batch %d renumbered from %d as the server expects.", batch.batch_seq,
        expected);
      this.unacked.forEach((pending, i) => {
        pending.batch_seq = expected + i;
      });
      this.nextSeq = expected + this.unacked.length;
      this.store();
      return null;
    }

    // Send everything not yet acknowledged while the page goes away. The
    // batch in flight is sent again: the server applies a batch_seq once.
    flushOnHide() {
      this.seal();
      if (this.superseded) return;
      for (const batch of this.unacked) {
        if (batch.batch_seq <= this.lastSeqSentOnHide) continue;
        if (!batch.sent) compactForHide(batch);
        batch.sent = true;
        sendKeepalive(this.url, this.token, batch);
        this.lastSeqSentOnHide = batch.batch_seq;
      }
      this.store();
      // If the page stays (it was only hidden), the normal path still
      // reads the responses and retries.
      this.pump();
    }
  }

  // Chromium and the Fetch standard cap the bodies of keep-alive requests in
  // flight at 64 KiB per page; sendBeacon shares that quota.
  const KEEPALIVE_QUOTA_BYTES = 64 * 1024;
  const GET_METHODS = new Set(["LMSGetValue", "GetValue"]);
  const SET_METHODS = new Set(["LMSSetValue", "SetValue"]);
  // An element inside an array ("cmi.interactions.0.type") may decide whether
  // later calls are valid, so its earlier values are always sent.
  const ARRAY_ELEMENT = /\.\d+(\.|$)/;

  // Leave out the calls of a batch that do not change what the server stores,
  // so that a SCO that rewrites a large cmi.suspend_data between commits still
  // fits in the keep-alive quota at page hide. Left out are GetValue, a
  // SetValue that the data model rejected, and a SetValue outside the arrays
  // that a later successful SetValue of the same element in the batch
  // replaces. The server cannot compare the results of those calls any more.
  function compactForHide(batch) {
    const succeeded = (i) => batch.local[i] && batch.local[i].return === "true";
    const lastSet = new Map();
    batch.calls.forEach((call, i) => {
      if (SET_METHODS.has(call.method) && succeeded(i)) lastSet.set(call.args[0], i);
    });
    const keep = batch.calls.map((call, i) => {
      if (GET_METHODS.has(call.method)) return false;
      if (!SET_METHODS.has(call.method)) return true;
      if (!succeeded(i)) return false;
      return ARRAY_ELEMENT.test(call.args[0]) || lastSet.get(call.args[0]) === i;
    });
    batch.calls = batch.calls.filter((_, i) => keep[i]);
    batch.local = batch.local.filter((_, i) => keep[i]);
  }

  function sendKeepalive(url, token, batch) {
    const body = JSON.stringify({
      session_id: batch.session_id, batch_seq: batch.batch_seq, calls: batch.calls,
    });
    const beacon = () => sendBeacon(url, token, body, batch.batch_seq);
    if (new Blob([body]).size > KEEPALIVE_QUOTA_BYTES || typeof global.fetch !== "function") {
      beacon();
      return;
    }
    global.fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Launch ${token}` },
      body,
      keepalive: true,
    }).catch(beacon);
  }

  function sendBeacon(url, token, body, batchSeq) {
    // A beacon cannot set headers, so the token goes in the query string.
    const beaconUrl = `${url}?token=${encodeURIComponent(token)}`;
    const sent = global.navigator.sendBeacon(beaconUrl, new Blob([body], { type: "text/plain" }));
    if (!sent) {
      console.error("SCORM batch %d could not be sent at page hide; it stays in sessionStorage.",
        batchSeq);
    }
  }

  // Send the batches that a previous page of this tab left unsent, once each,
  // and forget them. Resolves when every request has completed or failed.
  async function resendStoredBatches(attemptId, token) {
    const prefix = `${STORAGE_PREFIX}${attemptId}:`;
    const keys = [];
    for (let i = 0; i < global.sessionStorage.length; i++) {
      const key = global.sessionStorage.key(i);
      if (key && key.startsWith(prefix)) keys.push(key);
    }
    for (const key of keys) {
      const stored = JSON.parse(global.sessionStorage.getItem(key) || "null");
      global.sessionStorage.removeItem(key);
      if (!stored) continue;
      for (const batch of stored.batches) {
        try {
          const response = await global.fetch(stored.url, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Launch ${token}` },
            body: JSON.stringify(batch),
          });
          if (!response.ok) {
            console.warn("Resent SCORM batch %d failed with status %d.", batch.batch_seq, response.status);
          }
        } catch (error) {
          console.error("Resending SCORM batch %d failed: %s", batch.batch_seq, error);
        }
      }
    }
  }

  // -------------------------------------------------------------- the session

  // One launch of one SCO: the API state machine and the local data model.
  class ScoSession {
    constructor(options) {
      this.standard = options.standard;
      this.is2004 = this.standard === "2004";
      this.names = FUNCTION_NAMES[this.standard];
      this.stateErrors = STATE_ERRORS[this.standard];
      this.model = global.ScormDataModel.create(this.standard, options.modelOptions);
      this.model.load(options.cmi);
      this.sender = options.sender || null;
      this.onTerminate = options.onTerminate || (() => {});
      this.onCommit = options.onCommit || (() => {});
      this.state = NOT_INITIALIZED;
      this.lastError = 0;
      this.lastDiagnostic = "";
    }

    record(method, args, result) {
      if (this.sender) this.sender.queue({ method, args }, result);
    }

    fail(code, diagnostic) {
      this.lastError = code;
      this.lastDiagnostic = diagnostic || "";
    }

    succeed() {
      this.lastError = 0;
      this.lastDiagnostic = "";
    }

    // Return the state error of a call, or 0 when the session is running.
    stateError(kind) {
      if (this.state === RUNNING) return 0;
      const [before, after] = this.stateErrors[kind];
      return this.state === NOT_INITIALIZED ? before : after;
    }

    answer(method, args, returned) {
      this.record(method, args, { return: returned, error_code: this.lastError });
      return returned;
    }

    initialize(argument) {
      const method = this.names[0];
      const arg = String(argument === undefined ? "" : argument);
      if (arg !== "") {
        this.fail(201, "The argument must be the empty string.");
      } else if (this.state === RUNNING) {
        this.fail(this.stateErrors.alreadyInitialized, "The session is already initialized.");
      } else if (this.state === TERMINATED) {
        this.fail(this.stateErrors.initialize[1], "The session has already terminated.");
      } else {
        this.state = RUNNING;
        this.succeed();
        return this.answer(method, [arg], "true");
      }
      return this.answer(method, [arg], "false");
    }

    terminate(argument) {
      const method = this.names[1];
      const arg = String(argument === undefined ? "" : argument);
      const error = arg !== "" ? 201 : this.stateError("terminate");
      if (error) {
        this.fail(error, "Terminate was not accepted in this state.");
        return this.answer(method, [arg], "false");
      }
      this.state = TERMINATED;
      this.succeed();
      const returned = this.answer(method, [arg], "true");
      this.onTerminate(this);
      return returned;
    }

    getValue(element) {
      const method = this.names[2];
      const name = String(element === undefined ? "" : element);
      const error = this.stateError("getValue");
      if (error) {
        this.fail(error, "GetValue was called outside a running session.");
        return this.answer(method, [name], "");
      }
      try {
        const value = this.model.getValue(name);
        this.succeed();
        return this.answer(method, [name], value);
      } catch (caught) {
        if (!(caught instanceof global.ScormDataModel.DataModelError)) throw caught;
        this.fail(caught.code, caught.message);
        return this.answer(method, [name], "");
      }
    }

    setValue(element, value) {
      const method = this.names[3];
      const name = String(element === undefined ? "" : element);
      const text = String(value === undefined ? "" : value);
      const error = this.stateError("setValue");
      if (error) {
        this.fail(error, "SetValue was called outside a running session.");
        return this.answer(method, [name, text], "false");
      }
      try {
        this.model.setValue(name, text);
        this.succeed();
        return this.answer(method, [name, text], "true");
      } catch (caught) {
        if (!(caught instanceof global.ScormDataModel.DataModelError)) throw caught;
        this.fail(caught.code, caught.message);
        return this.answer(method, [name, text], "false");
      }
    }

    // Commit returns at once because the SCO cannot wait, then flushes.
    commit(argument) {
      const method = this.names[4];
      const arg = String(argument === undefined ? "" : argument);
      const error = arg !== "" ? 201 : this.stateError("commit");
      if (error) {
        this.fail(error, "Commit was not accepted in this state.");
        return this.answer(method, [arg], "false");
      }
      this.succeed();
      const returned = this.answer(method, [arg], "true");
      this.onCommit(this);
      return returned;
    }

    getLastError() {
      return String(this.lastError);
    }

    getErrorString(code) {
      const table = this.is2004 ? ERROR_STRINGS_2004 : ERROR_STRINGS_12;
      const key = String(code === undefined ? "" : code);
      if (!/^\d+$/.test(key) || String(Number(key)) !== key) return "";
      return table[key] || "";
    }

    getDiagnostic(code) {
      const key = String(code === undefined ? "" : code);
      const text = key === "" || key === String(this.lastError)
        ? this.lastDiagnostic || this.getErrorString(String(this.lastError))
        : this.getErrorString(key);
      return text.slice(0, 255);
    }
  }

  // ------------------------------------------------------------ the API object

  // Build the object a SCO calls; it answers from whatever `getSession`
  // returns, so the player can swap sessions between SCOs.
  function buildApi(standard, getSession) {
    const names = FUNCTION_NAMES[standard];
    const idle = new ScoSession({ standard, cmi: {} });
    idle.state = TERMINATED;
    const current = () => getSession() || idle;
    const api = {};
    api[names[0]] = (arg) => current().initialize(arg);
    api[names[1]] = (arg) => current().terminate(arg);
    api[names[2]] = (element) => current().getValue(element);
    api[names[3]] = (element, value) => current().setValue(element, value);
    api[names[4]] = (arg) => current().commit(arg);
    api[names[5]] = () => current().getLastError();
    api[names[6]] = (code) => current().getErrorString(code);
    api[names[7]] = (code) => current().getDiagnostic(code);
    if (standard === "2004") api.version = "1.0";
    return api;
  }

  // Put the API of the package's standard, and only that one, on `target`.
  function install(target, standard, getSession) {
    const api = buildApi(standard, getSession);
    if (standard === "2004") {
      target.API_1484_11 = api;
    } else {
      target.API = api;
    }
    return api;
  }

  // Compare the server's results with the local ones and log differences.
  function compareResults(batch, results) {
    results.forEach((result, i) => {
      const local = batch.local[i];
      const call = batch.calls[i];
      if (!local || !result) return;
      const sameReturn = String(result.return) === String(local.return);
      const sameError = Number(result.error_code) === Number(local.error_code);
      if (!sameReturn || !sameError) {
        console.warn(
          "SCORM %s(%s): the server returned %s (error %s) but the player returned %s (error %s).",
          call.method, call.args.join(", "), result.return, result.error_code, local.return,
          local.error_code
        );
      }
    });
  }

  global.ScormAdapter = {
    BatchSender,
    ScoSession,
    FUNCTION_NAMES,
    install,
    buildApi,
    compareResults,
    resendStoredBatches,
  };
})(window);
