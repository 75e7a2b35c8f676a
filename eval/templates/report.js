// dubkit report: the play buttons and the review decisions (docs/review.md). No framework, no network
// except the served page's own review.json (relative URL, so it carries the server's token path).
(function () {
  "use strict";
  document.querySelectorAll("button.play").forEach(function (button) {
    button.addEventListener("click", function () {
      var row = button.closest("tr"), video = document.getElementById(button.dataset.video);
      var start = parseFloat(row.dataset.start), end = parseFloat(row.dataset.end);
      if (!video) { return; }
      video.currentTime = start;
      var stop = function () {
        if (video.currentTime >= end) { video.pause(); video.removeEventListener("timeupdate", stop); }
      };
      video.addEventListener("timeupdate", stop);
      video.play();
    });
  });

  var dataNode = document.getElementById("review-data");
  if (!dataNode) { return; }
  var review = JSON.parse(dataNode.textContent);
  var served = location.protocol === "http:" || location.protocol === "https:";
  var status = document.getElementById("rv-status");
  var unsaved = false;

  function entry(lang, line, create) {
    var language = review.languages[lang];
    if (!language.lines[line] && create) { language.lines[line] = {}; }
    return language.lines[line];
  }

  function stamp(e) {
    var name = document.getElementById("rv-name").value.trim();
    if (name) { e.by = name; }
    e.at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    unsaved = true;
    status.textContent = "Unsaved decisions.";
  }

  function show(row) {
    var e = entry(row.dataset.lang, row.dataset.line, false) || {};
    var words = [];
    if (e.decision === "approve") { words.push("approved take " + e.take); }
    if (e.decision === "retake") { words.push("retake asked (after take " + e.take + ")"); }
    if (e.decision === "edit") { words.push("edited: " + e.text); }
    if (e.comment) { words.push("comment: " + e.comment); }
    row.querySelector(".rv-state").textContent = words.join(" · ");
    row.querySelectorAll("button[data-act]").forEach(function (b) {
      b.classList.toggle("on", b.dataset.act === e.decision || (b.dataset.act === "comment" && !!e.comment));
    });
  }

  function act(row, what, button) {
    var lang = row.dataset.lang, line = row.dataset.line;
    var editBox = row.querySelector(".rv-edit"), commentBox = row.querySelector(".rv-comment");
    var e = entry(lang, line, true);
    if (what === "approve-alt") {  // approve one of the other takes instead of the one used
      delete e.text; delete e.takes;
      e.decision = "approve"; e.take = parseInt(button.dataset.take, 10); e.seed = parseInt(button.dataset.seed, 10);
      stamp(e);
    } else if (what === "approve" || what === "retake") {
      if (e.decision === what) { delete e.decision; delete e.take; delete e.seed; delete e.takes; }
      else {
        delete e.text; e.decision = what; e.take = parseInt(row.dataset.take, 10);
        if (what === "approve") { e.seed = parseInt(row.dataset.seed, 10); delete e.takes; }
        else { e.takes = parseInt(row.dataset.takes, 10); delete e.seed; }
      }
      stamp(e);
    } else if (what === "edit") {
      editBox.hidden = !editBox.hidden;
      if (!editBox.hidden) { editBox.querySelector("textarea").focus(); }
    } else if (what === "edit-ok") {
      var text = editBox.querySelector("textarea").value.trim();
      delete e.take; delete e.seed; delete e.takes;
      if (text) { e.decision = "edit"; e.text = text; } else { delete e.decision; delete e.text; }
      editBox.hidden = true;
      stamp(e);
    } else if (what === "comment") {
      commentBox.hidden = !commentBox.hidden;
      if (!commentBox.hidden) { commentBox.querySelector("input").value = e.comment || ""; commentBox.querySelector("input").focus(); }
    } else if (what === "comment-ok") {
      var comment = commentBox.querySelector("input").value.trim();
      if (comment) { e.comment = comment; } else { delete e.comment; }
      commentBox.hidden = true;
      stamp(e);
    }
    if (!e.decision && !e.comment) { delete review.languages[lang].lines[line]; }
    show(row);
  }

  function rows() { return document.querySelectorAll("tr[data-line]"); }

  function wire() {
    rows().forEach(function (row) {
      if (!review.languages[row.dataset.lang]) { return; }
      row.querySelectorAll("button[data-act]").forEach(function (b) {
        b.addEventListener("click", function () { act(row, b.dataset.act, b); });
      });
      show(row);
    });
    document.body.dataset.reviewReady = "1";
  }

  function download(text) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type: "application/json"}));
    link.download = "review.json";
    document.body.appendChild(link);
    link.click();
    link.remove();
    status.textContent = "Downloaded review.json: put it in the output folder (or pass --review FILE).";
  }

  document.getElementById("rv-save").addEventListener("click", function () {
    var text = JSON.stringify(review, null, 1) + "\n";
    if (!served) { download(text); unsaved = false; return; }
    fetch("review.json", {method: "POST", headers: {"Content-Type": "application/json"}, body: text})
      .then(function (r) {
        if (!r.ok) { return r.text().then(function (t) { throw new Error(t || r.status); }); }
        unsaved = false;
        status.textContent = "Saved to review.json in the output folder. Run dubkit localize again to apply it.";
      })
      .catch(function (err) { status.textContent = "Not saved: " + err.message; });
  });

  window.addEventListener("beforeunload", function (ev) { if (unsaved) { ev.preventDefault(); } });

  if (served) {  // the output folder's review.json may be newer than the page
    fetch("review.json", {cache: "no-store"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (saved) {
        if (saved && saved.review_version === review.review_version) {
          Object.keys(review.languages).forEach(function (code) {
            var s = saved.languages && saved.languages[code];
            if (s && s.script_sha256 === review.languages[code].script_sha256) { review.languages[code].lines = s.lines || {}; }
          });
        }
      }).catch(function () {}).then(wire);
  } else { wire(); }
}());
