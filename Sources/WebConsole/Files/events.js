// The events page's live view: while the box is ticked, asks every two seconds for the events newer than the last one
// shown and puts them at the top of the table. Text goes in as text (textContent), never as HTML.
"use strict";

(() => {
  const toggle = document.getElementById("live");
  const table = document.querySelector("#events tbody");
  const status = document.getElementById("live-status");
  if (!toggle || !table) return;
  let poll = new URL(toggle.dataset.poll, window.location.href);
  let timer = null;

  const cell = (text, className) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };

  const add = (event) => {
    const row = document.createElement("tr");
    row.dataset.id = event.id;
    row.className = "new";
    row.append(
      cell(String(event.id)), cell(event.time), cell(event.type, "type"), cell(event.user, "user"),
      cell(event.result + (event.error ? ": " + event.error : ""), "result " + event.result), cell(event.resource),
      cell(event.client), cell(event.details, "details"));
    table.querySelector("tr.none")?.remove();
    table.prepend(row);
  };

  const fetchNew = async () => {
    try {
      const response = await fetch(poll, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const body = await response.json();
      body.events.forEach(add);
      poll.searchParams.set("after", String(body.last));
      status.textContent = body.events.length ? body.events.length + " new" : "";
    } catch (error) {
      status.textContent = "Could not fetch new events (" + error.message + ").";
    }
  };

  toggle.addEventListener("change", () => {
    if (toggle.checked) {
      fetchNew();
      timer = window.setInterval(fetchNew, 2000);
    } else {
      window.clearInterval(timer);
      status.textContent = "";
    }
  });
})();
