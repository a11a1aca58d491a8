// Automatic logoff in the browser (core/idle.py; the markup is core/includes/idle_logoff.html).
// A minute before the idle time runs out the page warns and offers "Stay signed in" (a POST
// that counts as activity); when it runs out the page is replaced by a signed-out notice, the
// session is ended on the server and the browser goes to the login page. Times come from the
// data- attributes; no inline script, so a strict Content-Security-Policy holds.
//
// Activity is: the request that made this page, htmx requests from it, "Stay signed in", and
// typing or clicking in the page (told to the server at most once a minute, so a long note
// being written does not end in a logoff). Tabs share the last activity through localStorage;
// the status poll (once a minute) only learns whether the server has ended the session.
(function () {
  "use strict";

  var box = document.getElementById("idle-logoff");
  if (!box) return;
  var idleMs = Number(box.dataset.idleSeconds) * 1000;
  var warnMs = Number(box.dataset.warnSeconds) * 1000;
  var loadedAt = Date.now();
  // The sign-in's time limit ends a little early here: the server counts it from the sign-in
  // itself, this page from its arrival, and the last save before the logoff must still find
  // the session open.
  var MAXIMUM_MARGIN_MS = 15000;
  var maximumAt = loadedAt + Number(box.dataset.maximumSecondsLeft) * 1000 - MAXIMUM_MARGIN_MS;
  var statusUrl = box.dataset.statusUrl;
  var loginUrl = box.dataset.loginUrl;
  var stayForm = box.querySelector("form[data-idle-stay]");
  var endForm = document.querySelector("form[data-idle-end]");
  var ACTIVITY_KEY = "effleura.idle.lastActivity";
  var ENDED_KEY = "effleura.idle.ended";
  var NUDGE_MS = 60000; // typing tells the server at most this often
  var POLL_MS = 60000;
  var lastActivity = loadedAt;
  var lastInteraction = 0;
  var over = false;
  var staying = false;
  var warned = false;

  function store(key, value) {
    try { window.localStorage.setItem(key, String(value)); } catch (e) { /* private mode: this tab alone */ }
  }

  function sharedActivity() {
    var other = 0;
    try { other = Number(window.localStorage.getItem(ACTIVITY_KEY)) || 0; } catch (e) { other = 0; }
    if (other > Date.now()) other = 0; // another clock's stamp: never let it extend the session
    return Math.max(lastActivity, other);
  }

  function activity(at) {
    lastActivity = Math.max(lastActivity, typeof at === "number" ? at : Date.now());
    store(ACTIVITY_KEY, lastActivity);
  }

  function plural(seconds) {
    if (seconds >= 60) return "1 minute";
    return seconds + (seconds === 1 ? " second" : " seconds");
  }

  function hide() {
    box.hidden = true;
    warned = false;
  }

  function warn(reason, leftMs) {
    var maximum = reason === "maximum";
    box.querySelector("[data-idle-text]").hidden = maximum;
    box.querySelector("[data-maximum-text]").hidden = !maximum;
    stayForm.hidden = maximum; // nothing extends the maximum
    var text = plural(Math.max(1, Math.ceil(leftMs / 1000)));
    box.querySelector(maximum ? "[data-maximum-countdown]" : "[data-idle-countdown]").textContent = text;
    if (!warned) {
      warned = true;
      box.hidden = false;
      if (!maximum) stayForm.querySelector("button").focus();
    }
  }

  function blank(reason) {
    // Nothing of the record stays on the screen: the whole page is replaced.
    var main = document.createElement("main");
    main.id = "main";
    main.className = "signed-out";
    var title = document.createElement("h1");
    title.textContent = "You have been signed out";
    var why = document.createElement("p");
    why.textContent = reason === "maximum"
      ? "Your sign-in reached its time limit."
      : "You were signed out after a while without activity, to keep records private.";
    var link = document.createElement("a");
    link.href = loginUrl;
    link.textContent = "Log in again";
    main.append(title, why, link);
    document.body.replaceChildren(main);
    document.title = "Signed out · Effleura";
  }

  function goToLogin() {
    window.location.assign(loginUrl);
  }

  function signedOut(reason) {
    if (over) return;
    over = true;
    blank(reason || "idle");
    goToLogin();
  }

  // Work a page must not lose (a draft note: clinical/static/clinical/autosave.js) is saved
  // before the session ends: listeners of "effleura:before-logoff" add a promise to
  // detail.waitFor, taken before the page is replaced; the logoff waits for them, a few
  // seconds at most.
  var SAVE_FIRST_MS = 5000;

  function saveFirst() {
    var waitFor = [];
    document.dispatchEvent(new CustomEvent("effleura:before-logoff", { detail: { waitFor: waitFor } }));
    if (!waitFor.length) return Promise.resolve();
    var settled = waitFor.map(function (p) { return Promise.resolve(p).catch(function () {}); });
    var limit = new Promise(function (resolve) { window.setTimeout(resolve, SAVE_FIRST_MS); });
    return Promise.race([Promise.all(settled), limit]);
  }

  function end(reason) {
    if (over) return;
    over = true;
    endForm.elements.logoff_reason.value = reason;
    var body = new FormData(endForm); // taken before the page (and the form) is replaced
    var saved = saveFirst();
    blank(reason);
    // Other tabs are told, and this one goes to the login page, only once the server has
    // answered: a login page asked for earlier would find the session still on.
    function ended() {
      store(ENDED_KEY, Date.now());
      goToLogin();
    }
    saved.then(function () {
      return window.fetch(endForm.action, { method: "POST", body: body, credentials: "same-origin", keepalive: true });
    }).then(ended, ended);
  }

  function isJson(response) {
    return (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
  }

  function stay(at) {
    if (over) return;
    activity(at); // the moment of the click or keystroke, not of this request
    if (staying) return; // the request on its way tells the server; the next nudge will too
    staying = true;
    window.fetch(stayForm.action, {
      method: "POST",
      body: new FormData(stayForm),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      return response.ok && isJson(response) ? response.json() : { signed_in: false };
    }).then(function (state) {
      staying = false;
      if (!state.signed_in) return signedOut("idle");
      hide();
    }, function () {
      staying = false; // offline: the next tick tries again or ends the session
    });
  }

  function poll() {
    if (over) return;
    window.fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      // Anything but JSON (a login page, a proxy's error page) tells nothing: the page
      // still ends the session on time.
      .then(function (response) { return response.ok && isJson(response) ? response.json() : null; })
      .then(function (state) {
        if (!state) return;
        if (!state.signed_in) return signedOut("idle");
        // The server may know the maximum is nearer (it is counted from the sign-in); never later.
        maximumAt = Math.min(maximumAt, Date.now() + state.maximum_seconds_left * 1000 - MAXIMUM_MARGIN_MS);
      }, function () { /* offline: the page still ends the session on time */ });
  }

  function tick() {
    if (over) return;
    var now = Date.now();
    if (lastInteraction > sharedActivity() + (warned ? 0 : NUDGE_MS)) stay(lastInteraction);
    var idleAt = sharedActivity() + idleMs;
    var reason = maximumAt <= idleAt ? "maximum" : "idle";
    var left = Math.min(idleAt, maximumAt) - now;
    if (left <= 0) end(reason);
    else if (left <= warnMs) warn(reason, left);
    else if (warned) hide();
  }

  stayForm.addEventListener("submit", function (event) {
    event.preventDefault();
    stay(Date.now());
  });
  ["keydown", "pointerdown", "input"].forEach(function (name) {
    document.addEventListener(name, function () { lastInteraction = Date.now(); }, { capture: true, passive: true });
  });
  document.addEventListener("htmx:afterRequest", function () { activity(Date.now()); });
  document.addEventListener("visibilitychange", tick);
  window.addEventListener("storage", function (event) {
    if (event.key === ENDED_KEY) signedOut("idle"); // another tab of this session ended it
  });
  store(ACTIVITY_KEY, lastActivity);
  window.setInterval(tick, 1000);
  window.setInterval(poll, POLL_MS);
})();
