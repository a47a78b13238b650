// "Simulate before you save" on the achievement form: the form as typed goes to the admin's
// simulate view, which streams NDJSON progress lines and then the result.
"use strict";
(function () {
  function text(tag, value) {
    const cell = document.createElement(tag);
    cell.textContent = value;
    return cell;
  }

  function render(box, result) {
    box.replaceChildren();
    const table = document.createElement("table");
    table.id = "laurel-simulate-table";
    const rows = [
      ["Customers with events", result.customers], ["Events", result.events],
      ["Started", result.started], ["In progress", result.inProgress],
      ["Completed", result.completed], ["Expired", result.expired],
      ["Completions", result.completions],
    ];
    const rewards = Object.entries(result.rewards || {});
    rows.push(["Rewards", rewards.length
      ? rewards.map(([code, amount]) => `${amount.toLocaleString()} ${code}`).join(", ")
      : "none (no reward offer on this achievement yet)"]);
    for (const [label, value] of rows) {
      const row = document.createElement("tr");
      row.append(text("th", label), text("td", typeof value === "number"
        ? value.toLocaleString() : value));
      row.dataset.figure = label;
      table.append(row);
    }
    box.append(table);
    if (result.sample && result.sample.length) {
      const list = document.createElement("ul");
      for (const customer of result.sample) {
        const parts = customer.iterations.map((i) =>
          `#${i.sequence} ${i.status} (${i.progress})`);
        list.append(text("li", `${customer.integrationId}: ${parts.join(", ")}`));
      }
      box.append(text("p", "A few customers' simulated iterations:"), list);
    }
    box.hidden = false;
  }

  function start() {
    const panel = document.getElementById("laurel-simulate");
    const form = panel && panel.closest("form");
    if (!form) {
      return;
    }
    const from = document.getElementById("laurel-simulate-from");
    const to = document.getElementById("laurel-simulate-to");
    const today = new Date();
    to.value = today.toISOString().slice(0, 10);
    from.value = new Date(today.getTime() - 90 * 86400000).toISOString().slice(0, 10);
    const bar = document.getElementById("laurel-simulate-progress");
    const status = document.getElementById("laurel-simulate-status");
    const box = document.getElementById("laurel-simulate-result");
    document.getElementById("laurel-simulate-run").addEventListener("click", async () => {
      const body = new FormData(form);
      body.set("object_id", panel.dataset.objectId);
      body.set("simulate_from", from.value ? `${from.value}T00:00:00` : "");
      body.set("simulate_to", to.value ? `${to.value}T23:59:59` : "");
      bar.hidden = false;
      bar.value = 0;
      box.hidden = true;
      status.textContent = "Simulating…";
      try {
        const response = await fetch(panel.dataset.url, {method: "POST", body,
                                                          credentials: "same-origin"});
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let pending = "";
        for (;;) {
          const {done, value} = await reader.read();
          pending += decoder.decode(value || new Uint8Array(), {stream: !done});
          const lines = pending.split("\n");
          pending = lines.pop();
          for (const line of lines.filter(Boolean)) {
            const message = JSON.parse(line);
            if (message.error) {
              status.textContent = message.error;
            } else if (message.result) {
              status.textContent = "Simulated: nothing was written.";
              bar.value = bar.max;
              render(box, message.result);
            } else {
              bar.max = Math.max(message.total, 1);
              bar.value = Math.min(message.progress, bar.max);
              status.textContent = `Simulating… ${message.progress.toLocaleString()} of ` +
                `${message.total.toLocaleString()} customers`;
            }
          }
          if (done) {
            break;
          }
        }
      } catch (error) {
        status.textContent = "The simulation could not run right now.";
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
