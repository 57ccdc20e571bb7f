// The curation queue: each pending study's what-if preview, loaded when it scrolls into view.
// One request at a time, so that a long queue never runs its previews all at once (each costs
// two analyses per cell it touches). Without JavaScript the link opens the preview's own page;
// with it, the page's preview section takes the link's place. Nothing is stored either way.
(function () {
  "use strict";
  var waiting = [];
  var busy = false;

  function show(slot, html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var section = page.querySelector("section.preview");
    if (section) {
      slot.replaceChildren(document.importNode(section, true));
    }
  }

  function next() {
    if (busy || waiting.length === 0) {
      return;
    }
    busy = true;
    var slot = waiting.shift();
    var link = slot.querySelector("a.preview-link");
    slot.setAttribute("aria-busy", "true");
    fetch(link.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) { show(slot, html); })
      .catch(function () { link.textContent = "The preview could not be loaded here: open it"; })
      .finally(function () {
        slot.removeAttribute("aria-busy");
        busy = false;
        next();
      });
  }

  var seen = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) {
        seen.unobserve(entry.target);
        waiting.push(entry.target);
        next();
      }
    });
  }, { rootMargin: "200px 0px" });
  document.querySelectorAll(".preview-slot").forEach(function (slot) { seen.observe(slot); });
})();
