// The study site's behaviour: search and filters, reveal, keyboard, quiz. No dependencies.
// Content is data: text from the bank is only ever set with textContent, never parsed as HTML.
(function () {
  "use strict";
  var body = document.body;
  var page = body.dataset.page;
  var storeKey = body.dataset.store;
  var root = body.dataset.root || "";

  // --- stored state: results per question and the quiz in progress ---------------------------
  function load() {
    try {
      var state = JSON.parse(localStorage.getItem(storeKey) || "{}");
      return state && typeof state === "object" ? state : {};
    } catch (e) { return {}; }
  }
  function save(state) {
    try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* not kept */ }
  }
  var state = load();
  state.results = state.results || {};

  function showResults() {
    document.querySelectorAll("[data-result-for]").forEach(function (el) {
      var result = state.results[el.dataset.resultFor];
      el.textContent = result === "knew" ? "knew it" : result === "missed" ? "didn't know" : "";
      el.className = "result" + (result ? " " + result : "");
    });
  }

  function questionUrl(id) { return root + "q/" + encodeURIComponent(id) + ".html"; }

  function startQuiz(ids, order) {
    ids = ids.slice();
    if (order === "random") {
      for (var i = ids.length - 1; i > 0; i--) {
        var j = Math.floor(Math.random() * (i + 1));
        var swap = ids[i]; ids[i] = ids[j]; ids[j] = swap;
      }
    }
    if (!ids.length) return;
    state.quiz = {queue: ids, position: 0, marks: {}};
    save(state);
    location.href = questionUrl(ids[0]);
  }

  // --- theme ---------------------------------------------------------------------------------
  var themes = ["auto", "light", "night"];
  var toggle = document.querySelector(".theme-toggle");
  function labelTheme() {
    if (toggle && window.prepdeckTheme) toggle.textContent = "Theme: " + window.prepdeckTheme.get();
  }
  function nextTheme() {
    if (!window.prepdeckTheme) return;
    var current = themes.indexOf(window.prepdeckTheme.get());
    window.prepdeckTheme.set(themes[(current + 1) % themes.length]);
    labelTheme();
  }
  if (toggle) toggle.addEventListener("click", nextTheme);
  labelTheme();

  function typing(event) {
    var tag = event.target && event.target.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || event.altKey || event.ctrlKey ||
      event.metaKey;
  }

  // --- index: search and filters -------------------------------------------------------------
  function words(text) {
    return text.toLowerCase().split(/[^\p{L}\p{N}\p{M}]+/u).filter(Boolean);
  }

  function setupIndex() {
    var index = window.prepdeckSearch || {};
    var items = Array.prototype.slice.call(document.querySelectorAll(".question-item"));
    var haystack = {};
    items.forEach(function (item) { haystack[item.dataset.id] = " " + (index[item.dataset.id] || ""); });
    var search = document.getElementById("search");
    var selects = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
    var count = document.getElementById("count");
    var empty = document.getElementById("empty");

    function apply() {
      var query = words(search.value).map(function (w) { return " " + w; });
      var shown = 0;
      items.forEach(function (item) {
        var ok = selects.every(function (select) {
          var value = select.value;
          if (!value) return true;
          if (select.dataset.filter === "tag") return item.dataset.tags.split(" ").indexOf(value) >= 0;
          return item.dataset[select.dataset.filter] === value;
        });
        var text = haystack[item.dataset.id];
        ok = ok && query.every(function (w) { return text.indexOf(w) >= 0; });
        item.hidden = !ok;
        if (ok) shown += 1;
      });
      count.textContent = shown === items.length
        ? items.length + " question" + (items.length === 1 ? "" : "s")
        : shown + " of " + items.length + " questions";
      empty.hidden = shown !== 0;
      var params = new URLSearchParams();
      if (search.value) params.set("q", search.value);
      selects.forEach(function (s) { if (s.value) params.set(s.dataset.filter, s.value); });
      var hash = params.toString();
      history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    }

    var restored = new URLSearchParams(location.hash.slice(1));
    search.value = restored.get("q") || "";
    selects.forEach(function (select) {
      var value = restored.get(select.dataset.filter);
      if (value && Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
        select.value = value;
      }
    });
    search.addEventListener("input", apply);
    selects.forEach(function (select) { select.addEventListener("change", apply); });
    document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });
    apply();

    document.getElementById("quiz-start").addEventListener("click", function () {
      var ids = items.filter(function (item) { return !item.hidden; }).map(function (i) { return i.dataset.id; });
      startQuiz(ids, document.getElementById("quiz-order").value);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "/" && !typing(event)) { event.preventDefault(); search.focus(); }
    });
  }

  // --- question page: reveal, keys, quiz marks -----------------------------------------------
  function reveal(card) {
    if (card.dataset.revealed === "true") return false;
    card.querySelector(".side.front").hidden = true;
    card.querySelector(".side.back").hidden = false;
    card.dataset.revealed = "true";
    return true;
  }

  // One cloze note: the front and the back of its first card. Showing card n makes the front
  // Anki's front of card n: its deletions ask ("cloze", data-cloze, the hint), every other
  // deletion shows its text ("cloze-inactive", copied from the back); the back's highlight
  // (Anki's "cloze" class) follows the card shown.
  var DELETION = "span.cloze[data-ordinal], span.cloze-inactive[data-ordinal]";
  function setupCloze(card) {
    var asked = JSON.parse(card.dataset.cards);
    var front = card.querySelector(".side.front");
    var back = card.querySelector(".side.back");
    var fromBack = front.hasAttribute("data-from-back");
    if (fromBack) {
      // The page left this front out: it is the back without its extra section (the
      // deletions are set below, for whichever card is shown).
      front.replaceChildren.apply(front, Array.prototype.map.call(back.childNodes, function (node) {
        return node.cloneNode(true);
      }));
      front.querySelectorAll(":scope > .prepdeck > section.extra").forEach(function (extra) { extra.remove(); });
      front.removeAttribute("data-from-back");
    }
    var fronts = front.querySelectorAll(DELETION);
    var backs = back.querySelectorAll(DELETION);
    var revealButton = card.querySelector(".reveal-cloze");
    var nextButton = card.querySelector(".next-cloze");
    var shown = 0;
    function show(index) {
      var ordinal = String(asked[index][0]);
      var deletions = asked[index][1].slice();
      shown = index;
      fronts.forEach(function (span, i) {
        if (backs[i].dataset.ordinal === ordinal && deletions.length) {
          var deletion = deletions.shift();
          span.className = "cloze";
          span.setAttribute("data-cloze", deletion[0]);
          span.textContent = deletion[1];
        } else {
          span.className = "cloze-inactive";
          span.removeAttribute("data-cloze");
          span.replaceChildren.apply(span, Array.prototype.map.call(backs[i].childNodes, function (node) {
            return node.cloneNode(true);
          }));
        }
      });
      front.dataset.ordinal = ordinal;
      front.hidden = false;
      back.hidden = true;
      revealButton.hidden = false;
      card.dataset.revealed = "false";
      card.dataset.ordinal = ordinal;
      if (nextButton) nextButton.querySelector(".cloze-position").textContent = String(index + 1);
    }
    revealButton.addEventListener("click", function () {
      var ordinal = String(asked[shown][0]);
      backs.forEach(function (span) {
        var active = span.dataset.ordinal === ordinal;
        span.classList.toggle("cloze", active);
        span.classList.toggle("cloze-inactive", !active);
      });
      front.hidden = true;
      back.hidden = false;
      revealButton.hidden = true;
      card.dataset.revealed = "true";
    });
    if (nextButton) nextButton.addEventListener("click", function () { show((shown + 1) % asked.length); });
    if (fromBack) show(0);
  }

  function setupQuestion() {
    var card = document.getElementById("card");
    var id = card.dataset.id;
    var revealButton = document.getElementById("reveal");
    var marks = document.getElementById("marks");
    var quiz = state.quiz && state.quiz.queue && state.quiz.queue[state.quiz.position] === id ? state.quiz : null;

    if (quiz) {
      var bar = document.getElementById("quiz-bar");
      bar.hidden = false;
      document.getElementById("quiz-progress").textContent =
        "Quiz: question " + (quiz.position + 1) + " of " + quiz.queue.length;
    }
    function showAnswer() {
      reveal(card);
      revealButton.hidden = true;
      if (quiz) { marks.hidden = false; document.getElementById("knew").focus(); }
    }
    function mark(result) {
      if (!quiz || card.dataset.revealed !== "true") return;
      state.results[id] = result;
      quiz.marks[id] = result;
      quiz.position += 1;
      save(state);
      location.href = quiz.position < quiz.queue.length ? questionUrl(quiz.queue[quiz.position])
        : root + "quiz.html";
    }
    function go(rel) {
      if (quiz) return;  // in a quiz, the marks move on
      var link = document.querySelector('a[rel="' + rel + '"]');
      if (link) location.href = link.href;
    }
    revealButton.addEventListener("click", showAnswer);
    document.getElementById("knew").addEventListener("click", function () { mark("knew"); });
    document.getElementById("missed").addEventListener("click", function () { mark("missed"); });
    document.querySelectorAll(".cloze-card").forEach(setupCloze);
    document.addEventListener("keydown", function (event) {
      if (typing(event)) return;
      var key = event.key.toLowerCase();
      if (event.key === " " || event.key === "Enter" && event.target === document.body) {
        if (card.dataset.revealed !== "true") { event.preventDefault(); showAnswer(); }
      } else if (event.key === "ArrowRight") {
        go("next");
      } else if (event.key === "ArrowLeft") {
        go("prev");
      } else if (key === "k") {
        mark("knew");
      } else if (key === "d") {
        mark("missed");
      }
    });
  }

  // --- quiz page -----------------------------------------------------------------------------
  function setupQuiz() {
    var titles = {};
    var all = [];
    document.querySelectorAll("#quiz-ids li").forEach(function (li) {
      titles[li.dataset.id] = li;
      all.push(li.dataset.id);
    });
    var quiz = state.quiz;
    var summary = document.getElementById("quiz-summary");
    var missed = [];
    if (quiz && quiz.queue) {
      var marks = quiz.marks || {};
      var knew = 0;
      quiz.queue.forEach(function (id) {
        if (marks[id] === "knew") knew += 1;
        if (marks[id] === "missed" && titles[id]) missed.push(id);
      });
      var done = Math.min(quiz.position, quiz.queue.length);
      summary.textContent = (done < quiz.queue.length ? "Quiz in progress: " : "Last quiz: ") + done +
        " of " + quiz.queue.length + " answered; knew " + knew + ", missed " + missed.length + ".";
      if (done < quiz.queue.length) {
        var next = document.getElementById("quiz-continue");
        next.href = questionUrl(quiz.queue[done]);
        next.hidden = false;
      }
    } else {
      var known = Object.keys(state.results).filter(function (id) { return titles[id]; });
      if (known.length) {
        summary.textContent = "No quiz in progress. Results kept for " + known.length + " question" +
          (known.length === 1 ? "" : "s") + ".";
      }
    }
    var list = document.getElementById("quiz-missed");
    missed.forEach(function (id) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = questionUrl(id);
      a.textContent = "#" + titles[id].dataset.number + " " + titles[id].textContent;
      li.appendChild(a);
      list.appendChild(li);
    });
    document.getElementById("quiz-missed-block").hidden = missed.length === 0;
    var order = document.getElementById("quiz-order");
    document.getElementById("quiz-review").addEventListener("click", function () { startQuiz(missed, order.value); });
    document.getElementById("quiz-all").addEventListener("click", function () { startQuiz(all, order.value); });
    document.getElementById("quiz-clear").addEventListener("click", function () {
      state = {results: {}};
      save(state);
      location.reload();
    });
  }

  document.addEventListener("keydown", function (event) {
    if (!typing(event) && event.key.toLowerCase() === "t") nextTheme();
  });
  if (page === "index") setupIndex();
  if (page === "question") setupQuestion();
  if (page === "quiz") setupQuiz();
  showResults();
})();
