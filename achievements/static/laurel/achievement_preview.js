// The achievement form's schedule preview, updated while the form is edited (before
// saving): the form as typed goes to the admin's preview view, which runs the pure period
// engine and answers {"html": ...}.
"use strict";
(function () {
  function start() {
    const box = document.getElementById("laurel-schedule-preview");
    const form = box && box.closest("form");
    if (!form) {
      return;
    }
    let timer = null;
    let sent = 0;
    function refresh() {
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form)) {
        if (name !== "csrfmiddlewaretoken" && typeof value === "string") {
          params.append(name, value);
        }
      }
      const url = new URL(box.dataset.url, window.location.href);
      for (const [name, value] of params) {
        url.searchParams.append(name, value);
      }
      const mine = ++sent;
      box.setAttribute("aria-busy", "true");
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then((response) => response.ok ? response.json() : Promise.reject(response.status))
        .then((data) => {
          if (mine === sent) {
            box.innerHTML = data.html;
            box.dataset.updated = String(mine);
          }
        })
        .catch(() => {
          if (mine === sent) {
            box.textContent = "The preview could not be computed right now.";
          }
        })
        .finally(() => box.removeAttribute("aria-busy"));
    }
    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 250);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    if (!box.dataset.url.includes("object_id")) {
      refresh();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
