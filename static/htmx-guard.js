// Only the app's own answers go into the page (issue 19). The app marks every answer
// (X-Jifen: 1, app/ops.py); the proxy's own error page (nginx's 502/503/504 while no app
// server answers, marked X-Jifen-Unavailable: 1), a hotspot's login page or a crash's bare
// 500 is not marked, and is treated as no answer at all: nothing is swapped, the form
// keeps what was typed and the photo chosen, and the person is told that it was not saved
// and to send it again. That is safe: a form that creates something carries a one-time key
// (app/web/once.py), so a send that was saved after all is not saved twice.
// A send that got no answer (no network, a timeout) is told the same way.
// The texts come from the page, in its language: the form's own (data-unsent,
// data-unsaved), else the page's (base.html). Loaded by every page, for every htmx form.
(function () {
  "use strict";

  function appAnswer(xhr) {
    return xhr.getResponseHeader("X-Jifen") === "1" && !xhr.getResponseHeader("X-Jifen-Unavailable");
  }
  // A request that would change something: a form sent, not a page part fetched.
  function sending(detail) {
    var verb = detail && detail.requestConfig && detail.requestConfig.verb;
    return !!verb && verb.toLowerCase() !== "get";
  }
  function closest(element, selector) {
    return element && element.closest ? element.closest(selector) : null;
  }
  function words(element, name) {
    var own = closest(element, "[data-" + name + "]");
    return (own || document.body).getAttribute("data-" + name) || "";
  }

  // Where the message goes: the form's own place for it (made before its button the first
  // time), or #flash for anything that is not in a form.
  function place(element) {
    var form = closest(element, "form");
    if (!form) { return document.getElementById("flash"); }
    var where = form.querySelector("[data-send-error]");
    if (!where) {
      var button = form.querySelector("button:not([type=button]):not([type=reset]), input[type=submit]");
      where = document.createElement("div");
      where.setAttribute("data-send-error", "");
      if (button && button.parentNode) {
        button.parentNode.insertBefore(where, button);
      } else {
        form.appendChild(where);
      }
    }
    return where;
  }

  function say(element, text) {
    var where = place(element);
    if (!where || !text) { return; }
    var message = document.createElement("p");
    message.className = "flash flash-error";
    message.setAttribute("role", "alert");
    message.textContent = text;
    where.textContent = "";
    where.appendChild(message);
    if (message.scrollIntoView) { message.scrollIntoView({block: "nearest"}); }
  }

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    if (appAnswer(event.detail.xhr)) { return; }
    event.preventDefault();  // nothing of it is swapped, nor any header of it followed
    say(event.target, words(event.target, sending(event.detail) ? "unsaved" : "unreachable"));
  });

  ["htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      say(event.target, words(event.target, sending(event.detail) ? "unsent" : "offline"));
    });
  });

  // Back to a page the browser kept (its back/forward cache) as it was while sending: the
  // buttons htmx disabled for the send, and its "sending" indicator, as if it never ended.
  // They are given back; sent again, the form's one-time key answers "already received".
  var heldBack = [];
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = closest(event.target, "form");
    if (!form) { return; }
    Array.prototype.forEach.call(form.querySelectorAll("button, input[type=submit]"),
      function (button) { if (!button.disabled) { heldBack.push(button); } });
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    heldBack.forEach(function (button) { button.disabled = false; });
    heldBack = [];
    Array.prototype.forEach.call(document.querySelectorAll(".htmx-request"),
      function (element) { element.classList.remove("htmx-request"); });
  });

  // Sent again: the last message goes.
  document.addEventListener("htmx:beforeSend", function (event) {
    var form = closest(event.target, "form"), where = form && form.querySelector("[data-send-error]");
    if (where) { where.textContent = ""; }
  });
}());
