// The editable body chart (clinical/templates/clinical/includes/body_chart_svg.html).
//
// Progressive enhancement: without this script the form posts the plain list of region
// checkboxes. With it, the list is hidden and disabled, and the marks travel as JSON in the
// hidden input ([{"region", "symbol", "intensity"}]); the server validates both the same
// way (clinical/bodychart.py clean_body_marks). Each region is one keyboard stop
// (tabindex, role="button", an aria-label naming its marks); a tap, a click, Enter or Space
// opens a small dialog to pick a symbol and an intensity; every change is announced in a
// polite live region. Drawing mirrors bodychart.py (region_fill, _badges): keep them alike.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function phrase(cfg, mark) {
    return labelOf(cfg, mark.symbol).toLowerCase() + " " + mark.intensity + " of 10";
  }

  function labelOf(cfg, symbol) {
    for (var i = 0; i < cfg.symbols.length; i++) if (cfg.symbols[i].key === symbol) return cfg.symbols[i].label;
    return symbol;
  }

  function styleOf(cfg, symbol) {
    for (var i = 0; i < cfg.symbols.length; i++) if (cfg.symbols[i].key === symbol) return cfg.symbols[i];
    return { code: "?", colour: "#000" };
  }

  function BodyChart(root) {
    this.root = root;
    this.cfg = JSON.parse(root.querySelector("script[type='application/json']").textContent);
    this.input = root.querySelector("[data-bodychart-input]");
    this.status = root.querySelector("[data-bodychart-status]");
    this.dialog = root.querySelector("[data-bodychart-dialog]");
    this.list = root.querySelector("[data-bodychart-list]");
    this.regionKeys = Object.keys(this.cfg.regions);
    this.current = null; // the region the dialog is open for
    this.opener = null; // the element focus goes back to
    try {
      this.marks = JSON.parse(this.input.value || "[]");
    } catch (e) {
      this.marks = [];
    }
    this.enhance();
    this.ready = true; // from now on, a change of the marks is the person's
  }

  BodyChart.prototype.enhance = function () {
    var self = this;
    // The JSON input speaks for the chart now; the no-script list steps aside.
    this.input.disabled = false;
    var fallback = this.root.querySelector("[data-bodychart-fallback]");
    if (fallback) {
      fallback.hidden = true;
      fallback.querySelectorAll("input, select").forEach(function (el) { el.disabled = true; });
    }
    var help = this.root.querySelector("[data-bodychart-help]");
    if (help) help.hidden = false;

    this.root.addEventListener("click", function (event) {
      var region = event.target.closest && event.target.closest(".bc-region");
      if (!region || !self.root.contains(region)) return;
      self.open(region.getAttribute("data-region"), region);
    });
    this.root.addEventListener("keydown", function (event) {
      var region = event.target.closest && event.target.closest(".bc-region[tabindex]");
      if (!region) return;
      if (event.key === "Enter" || event.key === " " || event.key === "Spacebar") {
        event.preventDefault(); // Space would scroll the page
        self.open(region.getAttribute("data-region"), region);
      }
    });

    var d = this.dialog;
    this.intensity = d.querySelector("[data-dialog-intensity]");
    this.output = d.querySelector("[data-dialog-output]");
    this.saveButton = d.querySelector("[data-dialog-save]");
    this.intensity.addEventListener("input", function () { self.output.textContent = self.intensity.value; });
    d.querySelectorAll("input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", function () { self.syncToSymbol(); });
    });
    this.saveButton.addEventListener("click", function () { self.save(); });
    d.querySelector("[data-dialog-close]").addEventListener("click", function () { self.close(); });
    d.addEventListener("close", function () { self.restoreFocus(); });
    d.addEventListener("cancel", function () { /* Escape: the native dialog closes itself */ });
    d.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !d.showModal) { event.preventDefault(); self.close(); }
      // Enter on a radio or the slider saves, as a form would; never submit the outer form.
      if (event.key === "Enter" && event.target.tagName === "INPUT") { event.preventDefault(); self.save(); }
    });
  };

  BodyChart.prototype.marksOf = function (region) {
    var order = this.cfg.symbols.map(function (s) { return s.key; });
    return this.marks
      .filter(function (m) { return m.region === region; })
      .sort(function (a, b) { return order.indexOf(a.symbol) - order.indexOf(b.symbol); });
  };

  BodyChart.prototype.summary = function (region) {
    var cfg = this.cfg;
    var found = this.marksOf(region);
    if (!found.length) return cfg.regions[region] + ": no marks";
    return cfg.regions[region] + ": " + found.map(function (m) { return phrase(cfg, m); }).join(", ");
  };

  BodyChart.prototype.chosenSymbol = function () {
    var checked = this.dialog.querySelector("input[type=radio]:checked");
    return checked ? checked.value : this.cfg.symbols[0].key;
  };

  // The slider shows the intensity already given for the chosen symbol; the button says
  // whether saving adds a mark or changes one.
  BodyChart.prototype.syncToSymbol = function () {
    var symbol = this.chosenSymbol();
    var existing = this.find(this.current, symbol);
    if (existing) this.intensity.value = existing.intensity;
    this.output.textContent = this.intensity.value;
    this.saveButton.textContent = existing ? "Change mark" : "Add mark";
  };

  BodyChart.prototype.find = function (region, symbol) {
    for (var i = 0; i < this.marks.length; i++) {
      if (this.marks[i].region === region && this.marks[i].symbol === symbol) return this.marks[i];
    }
    return null;
  };

  BodyChart.prototype.open = function (region, element) {
    this.current = region;
    // Focus returns to the region's keyboard stop, even when its twin on the other view was tapped.
    this.opener = this.root.querySelector(".bc-region[tabindex][data-region='" + region + "']") || element;
    this.dialog.querySelector("[data-dialog-title]").textContent = this.cfg.regions[region];
    this.renderCurrent();
    this.syncToSymbol();
    if (typeof this.dialog.showModal === "function") {
      if (!this.dialog.open) this.dialog.showModal();
    } else {
      this.dialog.setAttribute("open", "");
    }
    var first = this.dialog.querySelector("input[type=radio]:checked") || this.dialog.querySelector("input");
    if (first) first.focus();
  };

  BodyChart.prototype.close = function () {
    if (typeof this.dialog.close === "function" && this.dialog.open) {
      this.dialog.close(); // the close event restores focus
    } else {
      this.dialog.removeAttribute("open");
      this.restoreFocus();
    }
  };

  BodyChart.prototype.restoreFocus = function () {
    if (this.opener) this.opener.focus();
    this.current = null;
  };

  BodyChart.prototype.save = function () {
    var region = this.current;
    if (!region) return;
    var symbol = this.chosenSymbol();
    var intensity = parseInt(this.intensity.value, 10);
    if (!(intensity >= 0 && intensity <= 10)) intensity = 0;
    var existing = this.find(region, symbol);
    if (existing) {
      existing.intensity = intensity;
    } else if (this.marks.length >= this.cfg.max) {
      this.announce("The body chart holds at most " + this.cfg.max + " marks. Remove one first.");
      return;
    } else {
      this.marks.push({ region: region, symbol: symbol, intensity: intensity });
    }
    this.update();
    this.announce(this.cfg.regions[region] + ": " + phrase(this.cfg, { symbol: symbol, intensity: intensity }) + (existing ? " changed." : " added."));
    this.close();
  };

  BodyChart.prototype.remove = function (region, symbol) {
    this.marks = this.marks.filter(function (m) { return !(m.region === region && m.symbol === symbol); });
    this.update();
    this.renderCurrent();
    this.syncToSymbol();
    this.announce(this.cfg.regions[region] + ": " + labelOf(this.cfg, symbol).toLowerCase() + " removed.");
    var next = this.dialog.querySelector("[data-dialog-current] button") || this.dialog.querySelector("input[type=radio]:checked");
    if (next) next.focus();
  };

  BodyChart.prototype.announce = function (text) {
    // Clear first so the same words twice are still read out.
    var status = this.status;
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  };

  // The marks of the open region, each with its own Remove button.
  BodyChart.prototype.renderCurrent = function () {
    var self = this;
    var ul = this.dialog.querySelector("[data-dialog-current]");
    ul.textContent = "";
    var found = this.marksOf(this.current);
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No marks here yet.";
      ul.appendChild(none);
      return;
    }
    found.forEach(function (mark) {
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(phrase(self.cfg, mark) + " "));
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = "Remove";
      button.setAttribute("aria-label", "Remove " + labelOf(self.cfg, mark.symbol).toLowerCase());
      button.addEventListener("click", function () { self.remove(mark.region, mark.symbol); });
      li.appendChild(button);
      ul.appendChild(li);
    });
  };

  BodyChart.prototype.fill = function (found) {
    if (!found.length) return { fill: this.cfg.emptyFill, opacity: "1" };
    var symbols = found.map(function (m) { return m.symbol; });
    var top = this.cfg.fillPriority.filter(function (s) { return symbols.indexOf(s) !== -1; })[0];
    var strongest = Math.max.apply(null, found.map(function (m) { return m.intensity; }));
    return { fill: styleOf(this.cfg, top).colour, opacity: Math.min(0.15 + 0.05 * strongest, 0.65).toFixed(2) };
  };

  // Redraw everything the marks show: fills, names, badges, the text list, the JSON.
  BodyChart.prototype.update = function () {
    var self = this;
    var value = JSON.stringify(this.marks);
    var changed = this.input.value !== value;
    this.input.value = value;
    // A script's change fires no event by itself: tell the form (a draft saves itself).
    if (changed && this.ready) this.input.dispatchEvent(new Event("change", { bubbles: true }));
    this.root.querySelectorAll(".bc-region").forEach(function (g) {
      var key = g.getAttribute("data-region");
      var found = self.marksOf(key);
      var f = self.fill(found);
      g.setAttribute("fill", f.fill);
      g.setAttribute("fill-opacity", f.opacity);
      g.classList.toggle("is-marked", found.length > 0);
      if (g.hasAttribute("tabindex")) g.setAttribute("aria-label", self.summary(key));
    });
    this.root.querySelectorAll("svg[data-view]").forEach(function (svg) { self.drawBadges(svg); });
    this.renderList();
  };

  BodyChart.prototype.drawBadges = function (svg) {
    var self = this;
    var layer = svg.querySelector("[data-badges]");
    var anchors = this.cfg.anchors[svg.getAttribute("data-view")];
    var b = this.cfg.badge;
    layer.textContent = "";
    this.regionKeys.forEach(function (key) {
      if (!anchors[key]) return;
      var found = self.marksOf(key);
      var top = anchors[key][1] - (found.length * (b.h + b.gap) - b.gap) / 2;
      found.forEach(function (mark, n) {
        var style = styleOf(self.cfg, mark.symbol);
        var g = document.createElementNS(SVG, "g");
        var rect = document.createElementNS(SVG, "rect");
        rect.setAttribute("x", anchors[key][0] - b.w / 2);
        rect.setAttribute("y", top + n * (b.h + b.gap));
        rect.setAttribute("width", b.w);
        rect.setAttribute("height", b.h);
        rect.setAttribute("rx", 3);
        rect.setAttribute("fill", style.colour);
        var text = document.createElementNS(SVG, "text");
        text.setAttribute("x", anchors[key][0]);
        text.setAttribute("y", top + n * (b.h + b.gap) + 9);
        text.setAttribute("fill", "#fff");
        text.textContent = style.code + mark.intensity;
        g.appendChild(rect);
        g.appendChild(text);
        layer.appendChild(g);
      });
    });
  };

  BodyChart.prototype.renderList = function () {
    var self = this;
    this.list.textContent = "";
    var any = false;
    this.regionKeys.forEach(function (key) {
      var found = self.marksOf(key);
      if (!found.length) return;
      any = true;
      var li = document.createElement("li");
      li.setAttribute("data-region", key);
      var strong = document.createElement("strong");
      strong.textContent = self.cfg.regions[key];
      li.appendChild(strong);
      li.appendChild(document.createTextNode(": " + found.map(function (m) { return phrase(self.cfg, m); }).join(", ")));
      self.list.appendChild(li);
    });
    if (!any) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No marks on the body chart.";
      this.list.appendChild(none);
    }
  };

  function start() {
    document.querySelectorAll("[data-bodychart]").forEach(function (root) {
      if (root.hasAttribute("data-bodychart-ready")) return; // the script may be included twice
      root.setAttribute("data-bodychart-ready", "");
      new BodyChart(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
