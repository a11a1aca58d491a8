// A draft note saves itself (clinical/views/notes.py note_autosave): after a pause in
// typing, on leaving a field, when the tablet switches away from the page, and before an
// automatic logoff (core/static/core/idle.js waits for it). What passes the note's checks is
// saved as the note; what does not yet (a row without its minutes) is kept on the server as
// typed, and the status line says what to finish. Every save sends the version the page
// holds, so a save from another tab or device is never overwritten: the status says so and
// autosave stops until "Save draft" shows both. Leaving with changes not yet on the server
// asks first. No inline script, so the strict Content-Security-Policy holds.
(function () {
  "use strict";

  var form = document.querySelector("form[data-autosave-url]");
  if (!form) return;
  var url = form.getAttribute("data-autosave-url");
  var status = form.querySelector("[data-autosave-status]");
  var PAUSE_MS = 1500;
  var edits = 0; // changes since the last save began
  var pending = null; // the request on its way
  var again = false; // more changes while it was on its way
  var stopped = false; // a conflict or a refusal: the person decides
  var submitting = false;
  var timer = null;

  function say(text, tone) {
    if (!status) return;
    status.textContent = text;
    status.classList.remove("saved", "kept", "failed");
    if (tone) status.classList.add(tone);
  }

  function csrf() {
    var meta = document.querySelector("meta[name='csrf-token']");
    return meta ? meta.content : "";
  }

  function setHidden(name, value) {
    var input = form.querySelector("input[type=hidden][name='" + name + "']");
    if (input && value !== undefined && value !== null) input.value = String(value);
  }

  function clearMarks(allSaved) {
    form.querySelectorAll("[data-autosave-problem]").forEach(function (el) { el.remove(); });
    // What the server marked when the page was made is out of date once a save has answered.
    form.querySelectorAll("tr.technique-row td > p.error").forEach(function (el) { el.remove(); });
    form.querySelectorAll("tr.technique-row.has-error").forEach(function (row) { row.classList.remove("has-error"); });
    if (allSaved) form.querySelectorAll(".form-errors").forEach(function (el) { el.remove(); });
  }

  function mark(problem) {
    // The message beside the field it names; a reason to give reveals its row.
    var field = problem.field && form.querySelector("[name='" + problem.field + "']");
    if (!field) return;
    var override = field.closest("tr.technique-override");
    if (override) override.hidden = false;
    var note = document.createElement("p");
    note.className = "error";
    note.setAttribute("data-autosave-problem", "");
    note.textContent = problem.message;
    var holder = field.closest("td, .field") || field.parentNode;
    holder.appendChild(note);
  }

  function answered(state) {
    if (state.version !== undefined) setHidden("version", state.version);
    if (state.state === "saved" || state.state === "kept") {
      setHidden("loaded", state.loaded);
      setHidden("loaded_rows", state.loaded_rows);
      clearMarks(state.state === "saved");
      (state.problems || []).forEach(mark);
      say(state.message, state.state);
      return true;
    }
    stopped = true;
    say(state.message || "Not saved. Press Save draft.", "failed");
    return false;
  }

  function isJson(response) {
    return (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
  }

  // Save now; returns a promise that settles when the server has answered (or failed).
  function save(options) {
    window.clearTimeout(timer);
    if (stopped || submitting) return Promise.resolve();
    if (pending) {
      again = true;
      return pending;
    }
    if (!edits) return Promise.resolve();
    var sent = edits;
    var body = new FormData(form); // taken now: the page may be replaced after this
    body.delete("sign");
    body.delete("add_row");
    // A request that outlives the page (keepalive) may carry 64 KB at most: a longer note is
    // sent as an ordinary request, which the logoff waits for anyway.
    var size = 0;
    body.forEach(function (value) { size += typeof value === "string" ? value.length * 3 : 0; });
    var keepalive = Boolean(options && options.keepalive) && size < 60000;
    say("Saving…");
    pending = window.fetch(url, {
      method: "POST",
      body: body,
      headers: { Accept: "application/json", "X-CSRFToken": csrf() },
      credentials: "same-origin",
      redirect: "manual", // signed out: the login page is not an answer
      keepalive: keepalive,
    }).then(function (response) {
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        stopped = true;
        say("Not saved: you are signed out. Sign in again; what was saved before is kept.", "failed");
        return;
      }
      if (!isJson(response)) {
        say("Not saved: the server did not answer. It will try again as you type.", "failed");
        return;
      }
      return response.json().then(function (state) {
        if (answered(state)) edits = Math.max(0, edits - sent);
      });
    }, function () {
      say("Not saved: no connection. It will try again as you type; keep this page open.", "failed");
    }).then(function () {
      pending = null;
      if (again) {
        again = false;
        if (edits) return save();
      }
    });
    return pending;
  }

  function changed(event) {
    if (stopped) return;
    edits += 1;
    say("Changes not saved yet…");
    window.clearTimeout(timer);
    // A reason to chart past a flag is recorded (and audited) each time it is saved: it is
    // saved once written, on leaving its field, not at every pause halfway through it.
    var target = event && event.target;
    if (event && event.type === "input" && target && /-override_reason$/.test(target.name || "")) return;
    timer = window.setTimeout(save, PAUSE_MS);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("focusout", function () { if (edits) save(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && edits) save({ keepalive: true });
  });
  form.addEventListener("submit", function (event) {
    window.clearTimeout(timer);
    if (pending && !submitting) {
      // A save is on its way with the version this page holds: submitting now would meet
      // that save as "changed elsewhere". Wait for its answer (which carries the new version
      // into the form), then submit with the same button.
      event.preventDefault();
      submitting = true;
      var button = event.submitter || null;
      say("Saving…");
      pending.then(function () { if (button) form.requestSubmit(button); else form.requestSubmit(); });
      return;
    }
    submitting = true;
  });
  window.addEventListener("beforeunload", function (event) {
    if (submitting || (!edits && !pending)) return;
    save({ keepalive: true });
    event.preventDefault();
    event.returnValue = ""; // the browser asks: "Leave site? Changes you made may not be saved."
  });
  // core/static/core/idle.js: before an automatic logoff, the draft is saved first.
  document.addEventListener("effleura:before-logoff", function (event) {
    if (edits && event.detail && event.detail.waitFor) event.detail.waitFor.push(save({ keepalive: true }));
    submitting = true; // the page is about to go: no question
  });
  // Back to this page from the browser's page cache after a save: the page is as it was left,
  // mid-submit, so load it afresh from the server.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });
  if (form.hasAttribute("data-autosave-dirty")) say("Restored what you typed: it saves itself as the note once it passes the checks.", "kept");
})();
