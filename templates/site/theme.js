// Light or night before the first paint: the reader's choice, else the system's setting.
// Anki's night-mode classes (nightMode, night_mode) switch the deck's own card CSS too.
(function () {
  "use strict";
  var key = "prepdeck:theme";
  var chosen = null;
  try { chosen = localStorage.getItem(key); } catch (e) { /* storage off: follow the system */ }
  var system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function apply() {
    var night = chosen === "night" || (chosen !== "light" && !!system && system.matches);
    var classes = document.documentElement.classList;
    classes.toggle("nightMode", night);
    classes.toggle("night_mode", night);
    document.documentElement.dataset.theme = chosen || "auto";
  }
  apply();
  if (system && system.addEventListener) system.addEventListener("change", apply);
  window.prepdeckTheme = {
    get: function () { return chosen || "auto"; },
    set: function (value) {
      chosen = value === "auto" ? null : value;
      try {
        if (chosen) localStorage.setItem(key, chosen); else localStorage.removeItem(key);
      } catch (e) { /* not kept */ }
      apply();
    }
  };
})();
