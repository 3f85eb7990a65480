/* FlowyML UI: pan/zoom for server-laid-out SVG graphs, step details, lazy previews.
   Plain JavaScript, no dependencies, nothing fetched from another origin. */
(function () {
  "use strict";

  var graphs = [];

  // ------------------------------------------------------------------ graphs
  function Graph(wrap) {
    var svg = wrap.querySelector("svg");
    var W = parseFloat(svg.getAttribute("width")) || 100;
    var H = parseFloat(svg.getAttribute("height")) || 100;
    var natural = parseFloat(wrap.getAttribute("data-natural-height")) || H;
    var k = 1, tx = 0, ty = 0;
    var self = this;
    this.wrap = wrap;
    this.svg = svg;

    wrap.classList.add("js");
    var frac = wrap.classList.contains("tall") ? 0.78 : 0.72;

    function sizeWrap() {
      var maxH = Math.round(window.innerHeight * frac);
      wrap.style.height = Math.max(160, Math.min(natural + 8, maxH)) + "px";
    }
    function view() {
      return { w: wrap.clientWidth || 1, h: wrap.clientHeight || 1 };
    }
    function apply() {
      var v = view();
      svg.setAttribute("viewBox", [tx, ty, v.w / k, v.h / k].map(function (n) { return n.toFixed(2); }).join(" "));
    }
    function zoomAt(newK, sx, sy) {
      newK = Math.max(0.04, Math.min(4, newK));
      var gx = tx + sx / k, gy = ty + sy / k;
      k = newK;
      tx = gx - sx / k;
      ty = gy - sy / k;
      apply();
    }
    this.fit = function () {
      var v = view();
      k = Math.min(v.w / (W + 8), v.h / (H + 8), 1);
      tx = (W - v.w / k) / 2;
      ty = (H - v.h / k) / 2;
      apply();
    };
    this.reset = function () {
      var v = view();
      k = 1;
      tx = Math.min(0, (W - v.w) / 2);
      ty = Math.min(0, (H - v.h) / 2);
      apply();
    };
    this.centerOn = function (el, minK) {
      var box = el.getBBox ? el.getBBox() : null;
      var ctm = el.transform && el.transform.baseVal && el.transform.baseVal.numberOfItems
        ? el.transform.baseVal.getItem(0).matrix : { e: 0, f: 0 };
      if (!box) return;
      var v = view();
      if (minK && k < minK) k = minK;
      tx = ctm.e + box.x + box.width / 2 - v.w / (2 * k);
      ty = ctm.f + box.y + box.height / 2 - v.h / (2 * k);
      apply();
    };
    this.zoom = function (f) {
      var v = view();
      zoomAt(k * f, v.w / 2, v.h / 2);
    };
    this.relayout = function () { sizeWrap(); apply(); };

    // wheel zoom around the pointer
    wrap.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = wrap.getBoundingClientRect();
      var dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      zoomAt(k * Math.exp(-dy * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });

    // drag to pan; a drag never counts as a click on a node
    var start = null, dragged = false;
    wrap.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      start = { x: e.clientX, y: e.clientY, tx: tx, ty: ty, id: e.pointerId };
      dragged = false;
    });
    wrap.addEventListener("pointermove", function (e) {
      if (!start) return;
      var dx = e.clientX - start.x, dy = e.clientY - start.y;
      if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!dragged) {
        dragged = true;
        wrap.classList.add("dragging");
        try { wrap.setPointerCapture(start.id); } catch (err) { /* ignore */ }
      }
      tx = start.tx - dx / k;
      ty = start.ty - dy / k;
      apply();
    });
    function end() {
      start = null;
      wrap.classList.remove("dragging");
    }
    wrap.addEventListener("pointerup", end);
    wrap.addEventListener("pointercancel", end);
    wrap.addEventListener("click", function (e) {
      if (dragged) {
        e.preventDefault();
        e.stopPropagation();
        dragged = false;
      }
    }, true);

    sizeWrap();
    var focus = svg.querySelector(".role-focus");
    this.fit();
    if (focus && k < 0.6) this.centerOn(focus, 0.8);
    window.addEventListener("resize", function () { self.relayout(); });
  }

  function graphFor(el) {
    var card = el.closest(".card");
    var wrap = card && card.querySelector("[data-graph]");
    for (var i = 0; i < graphs.length; i++) if (graphs[i].wrap === wrap) return graphs[i];
    return null;
  }

  // ------------------------------------------------------------------ steps
  function openStep(name, scroll) {
    var panel = document.getElementById("step-panel");
    if (!panel) return;
    var found = null;
    panel.querySelectorAll(".step-detail").forEach(function (d) {
      var on = d.getAttribute("data-detail") === name;
      d.hidden = !on;
      if (on) found = d;
    });
    if (!found) return;
    panel.hidden = false;
    document.querySelectorAll(".node.step").forEach(function (n) {
      n.classList.toggle("selected", n.getAttribute("data-step") === name);
    });
    document.querySelectorAll(".run-graph .edge").forEach(function (p) {
      var lit = p.getAttribute("data-src") === name || p.getAttribute("data-dst") === name;
      p.classList.toggle("lit", lit);
    });
    graphs.forEach(function (g) { g.relayout(); });
    if (history.replaceState) history.replaceState(null, "", "#step=" + encodeURIComponent(name));
    if (scroll) {
      var card = panel.closest(".card");
      if (card) card.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  }

  function closePanel() {
    var panel = document.getElementById("step-panel");
    if (!panel) return;
    panel.hidden = true;
    document.querySelectorAll(".node.step.selected").forEach(function (n) { n.classList.remove("selected"); });
    document.querySelectorAll(".run-graph .edge.lit").forEach(function (p) { p.classList.remove("lit"); });
    graphs.forEach(function (g) { g.relayout(); });
    if (history.replaceState) history.replaceState(null, "", location.pathname + location.search);
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    var z = t.closest("[data-zoom]");
    if (z) {
      var g = graphFor(z);
      if (!g) return;
      var what = z.getAttribute("data-zoom");
      if (what === "in") g.zoom(1.25);
      else if (what === "out") g.zoom(0.8);
      else if (what === "fit") g.fit();
      else g.reset();
      return;
    }
    if (t.closest("[data-close-panel]")) { closePanel(); return; }
    var node = t.closest(".node.step[data-step]");
    if (node) { openStep(node.getAttribute("data-step"), false); return; }
    var opener = t.closest("[data-open-step]");
    if (opener && !t.closest("a")) { openStep(opener.getAttribute("data-open-step"), true); }
  });

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    if ((e.key === "Enter" || e.key === " ") && t.matches(".node.step[data-step]")) {
      e.preventDefault();
      openStep(t.getAttribute("data-step"), false);
    } else if (e.key === "Escape") {
      closePanel();
    }
  });

  // ------------------------------------------------------------------ lineage find
  function setupFind(input) {
    var g = graphFor(input);
    if (!g) return;
    var links = Array.prototype.slice.call(g.svg.querySelectorAll(".node-link"));
    var edges = Array.prototype.slice.call(g.svg.querySelectorAll(".edge"));
    function run(center) {
      var q = input.value.trim().toLowerCase();
      var hit = {};
      var first = null;
      links.forEach(function (a) {
        var m = q !== "" && (a.getAttribute("data-label") || "").toLowerCase().indexOf(q) >= 0;
        a.classList.toggle("match", m);
        a.classList.toggle("dim", q !== "" && !m);
        if (m) { hit[a.getAttribute("data-artifact")] = true; if (!first) first = a; }
      });
      edges.forEach(function (p) {
        p.classList.toggle("dim", q !== "" && !(hit[p.getAttribute("data-src")] && hit[p.getAttribute("data-dst")]));
      });
      if (center && first) g.centerOn(first.querySelector(".node"), 0.8);
    }
    input.addEventListener("input", function () { run(false); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); run(true); }
    });
  }

  // ------------------------------------------------------------------ preview
  function loadPreview(el) {
    var url = el.getAttribute("data-preview-url");
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) {
        return r.text().then(function (t) { return { ok: r.ok, text: t }; });
      })
      .then(function (res) {
        if (res.ok) {
          el.innerHTML = res.text;
        } else {
          el.textContent = "The preview could not be loaded.";
        }
        el.setAttribute("data-loaded", "1");
      })
      .catch(function () {
        el.textContent = "The preview could not be loaded.";
        el.setAttribute("data-loaded", "1");
      });
  }

  function init() {
    document.querySelectorAll("[data-graph]").forEach(function (w) {
      if (w.querySelector("svg")) graphs.push(new Graph(w));
    });
    document.querySelectorAll(".graph-find").forEach(setupFind);
    document.querySelectorAll("[data-preview-url]").forEach(function (el) {
      if ("IntersectionObserver" in window) {
        var io = new IntersectionObserver(function (entries) {
          entries.forEach(function (en) {
            if (en.isIntersecting) { io.disconnect(); loadPreview(el); }
          });
        }, { rootMargin: "200px" });
        io.observe(el);
      } else {
        loadPreview(el);
      }
    });
    var m = /^#step=(.+)$/.exec(location.hash);
    if (m) openStep(decodeURIComponent(m[1]), true);
    document.documentElement.setAttribute("data-ready", "1");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
