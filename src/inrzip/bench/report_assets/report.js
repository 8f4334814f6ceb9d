// inrzip report: draws the RD charts (plotly.js, copied beside this file) and runs the before/after sliders.
// Everything it needs is embedded in the page as JSON, so the site works from disk with no server.
(function () {
  "use strict";

  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function fmt(v, digits) {
    return v === null || v === undefined ? "-" : Number(v).toFixed(digits);
  }

  function text(tag, content, cls) {
    var el = document.createElement(tag);
    el.textContent = content;
    if (cls) { el.className = cls; }
    return el;
  }

  // ---- before / after comparison ----------------------------------------------------------------
  var comparisons = {};

  function Comparison(data) {
    var self = this;
    this.data = data;
    this.el = function (suffix) { return document.getElementById(data.id + "-" + suffix); };
    this.groupSelect = this.el("group");
    this.leftSelect = this.el("left");
    this.rightSelect = this.el("right");
    data.groups.forEach(function (g, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = g.label;
      self.groupSelect.appendChild(o);
    });
    this.groupSelect.addEventListener("change", function () { self.showGroup(Number(self.groupSelect.value)); });
    this.leftSelect.addEventListener("change", function () { self.render(); });
    this.rightSelect.addEventListener("change", function () { self.render(); });
    var slider = this.el("slider");
    var view = this.el("view");
    slider.addEventListener("input", function () { view.style.setProperty("--pos", slider.value + "%"); });
    view.addEventListener("pointermove", function (ev) {
      if (ev.buttons !== 1) { return; }
      var box = view.getBoundingClientRect();
      var pos = Math.max(0, Math.min(100, 100 * (ev.clientX - box.left) / box.width));
      slider.value = String(pos);
      view.style.setProperty("--pos", pos + "%");
    });
    if (data.groups.length) {
      this.showGroup(0);
    } else {
      this.fillChoices([]);
      this.render();
    }
  }

  Comparison.prototype.fillChoices = function (ids) {
    var self = this;
    [this.leftSelect, this.rightSelect].forEach(function (sel) {
      sel.innerHTML = "";
      var o = document.createElement("option");
      o.value = "original";
      o.textContent = "original";
      sel.appendChild(o);
      ids.forEach(function (id) {
        var e = self.data.entries[id];
        var opt = document.createElement("option");
        opt.value = id;
        opt.textContent = e.label + " (" + fmt(e.bpp, 3) + " bpp)" + (e.img ? "" : " - " + (e.note || "no picture"));
        opt.disabled = !e.img;
        sel.appendChild(opt);
      });
    });
  };

  Comparison.prototype.showGroup = function (i) {
    var g = this.data.groups[i];
    this.groupSelect.value = String(i);
    this.ids = [g.ours].concat(g.others);
    this.fillChoices(this.ids);
    this.leftSelect.value = "original";
    this.rightSelect.value = this.data.entries[g.ours].img ? g.ours : "original";
    this.render();
  };

  Comparison.prototype.select = function (id) {
    for (var i = 0; i < this.data.groups.length; i++) {
      var g = this.data.groups[i];
      if (g.ours === id || g.others.indexOf(id) >= 0) {
        this.showGroup(i);
        if (this.data.entries[id].img) { this.rightSelect.value = id; }
        this.render();
        return true;
      }
    }
    return false;
  };

  Comparison.prototype.picture = function (id) {
    if (id === "original") { return {src: this.data.original, label: "original"}; }
    var e = this.data.entries[id];
    return {src: e.img || this.data.original, label: e.label + ", " + fmt(e.bpp, 3) + " bpp, " + fmt(e.psnr, 2) + " dB"};
  };

  Comparison.prototype.render = function () {
    var left = this.picture(this.leftSelect.value);
    var right = this.picture(this.rightSelect.value);
    this.el("left-img").src = left.src;
    this.el("right-img").src = right.src;
    this.el("left-tag").textContent = left.label;
    this.el("right-tag").textContent = right.label;
    this.table();
  };

  Comparison.prototype.table = function () {
    var self = this;
    var t = this.el("table");
    t.innerHTML = "";
    var head = document.createElement("tr");
    ["shown", "method / setting", "bpp", "bytes", "PSNR (database)", "PSNR (this picture)", "SSIM", "file",
     "made by"].forEach(function (h) { head.appendChild(text("th", h)); });
    t.appendChild(head);
    (this.ids || []).forEach(function (id) {
      var e = self.data.entries[id];
      var tr = document.createElement("tr");
      var side = [self.leftSelect.value === id ? "left" : "", self.rightSelect.value === id ? "right" : ""]
        .filter(Boolean).join(", ");
      tr.appendChild(text("td", side));
      tr.appendChild(text("td", e.label));
      tr.appendChild(text("td", fmt(e.bpp, 4)));
      tr.appendChild(text("td", String(e.bytes)));
      tr.appendChild(text("td", fmt(e.psnr, 2)));
      tr.appendChild(text("td", fmt(e.psnr_shown, 2)));
      tr.appendChild(text("td", fmt(e.ssim, 4)));
      var file = document.createElement("td");
      if (e.file) {
        var a = document.createElement("a");
        a.href = e.file;
        a.textContent = "download (" + e.bytes + " B)";
        file.appendChild(a);
      } else {
        file.appendChild(text("span", e.note || "no file stored", "missing"));
      }
      if (e.file && e.note) { file.appendChild(text("div", e.note, "missing")); }
      tr.appendChild(file);
      var made = document.createElement("td");
      var details = document.createElement("details");
      details.appendChild(text("summary", "commands"));
      details.appendChild(text("div", "settings: " + e.settings));
      details.appendChild(text("div", "ran: "));
      details.appendChild(text("code", e.made.ran));
      details.appendChild(text("div", "the same file alone (" + e.made.note + "):"));
      details.appendChild(text("code", e.made.single));
      made.appendChild(details);
      tr.appendChild(made);
      t.appendChild(tr);
    });
  };

  // ---- charts ---------------------------------------------------------------------------------------
  function drawCharts() {
    var charts = json("charts");
    if (!charts || typeof window.Plotly === "undefined") { return; }  // the static PNGs stay in place
    charts.forEach(function (c) {
      var div = document.getElementById(c.id);
      if (!div) { return; }
      div.innerHTML = "";
      window.Plotly.newPlot(div, c.traces, c.layout, {responsive: true, displaylogo: false}).then(function () {
        div.on("plotly_click", function (ev) {
          var id = ev.points && ev.points[0] && ev.points[0].customdata;
          if (!id) { return; }
          Object.keys(comparisons).some(function (k) { return comparisons[k].select(id); });
        });
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("section.comparison"), function (sec) {
      var data = json(sec.id + "-data");
      if (data) { comparisons[sec.id] = new Comparison(data); }
    });
    drawCharts();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
