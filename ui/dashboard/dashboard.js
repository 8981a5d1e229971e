// Keyway dashboard: progressive behaviour only. Every page works without this file (forms post and
// redirect); with it, switches flip in place with an undo toast, filters apply as you type, values copy
// with one click, destructive forms ask in a dialog, times read "2 min ago", the menu opens on phones,
// and the theme can be toggled. Loaded with the page's CSP nonce; it adds no inline code or styles.
(function () {
  "use strict";

  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // ---- toasts (announced by the live region) -------------------------------------------------
  const toasts = () => document.getElementById("toasts");
  function toast(message, options) {
    const host = toasts();
    if (!host) return;
    const el = document.createElement("div");
    el.className = "toast" + (options && options.error ? " error" : "");
    const text = document.createElement("span");
    text.textContent = message;
    el.appendChild(text);
    if (options && options.action) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = options.action.label;
      b.addEventListener("click", () => {
        el.remove();
        options.action.run();
      });
      el.appendChild(b);
    }
    host.appendChild(el);
    setTimeout(() => el.remove(), options && options.action ? 8000 : 4000);
  }

  // ---- forms sent by script ------------------------------------------------------------------
  async function send(form, overrides) {
    const data = new URLSearchParams(new FormData(form));
    if (overrides) for (const [k, v] of Object.entries(overrides)) data.set(k, v);
    const res = await fetch(form.action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-keyway-fetch": "1" },
      body: data.toString(),
      credentials: "same-origin",
      redirect: "manual",
    });
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (!res.ok) {
      throw new Error((body && body.message) || "That did not work (HTTP " + res.status + "). Reload the page and try again.");
    }
    return body || {};
  }

  // Visibility switches: flip in place, say so, offer undo.
  function setSwitch(form, enabled) {
    const button = form.querySelector(".switch");
    const input = form.querySelector('input[name="enabled"]');
    const label = form.querySelector(".switch-label");
    button.setAttribute("aria-checked", String(enabled));
    input.value = enabled ? "false" : "true";
    if (label) label.textContent = enabled ? label.dataset.on || "Shown" : label.dataset.off || "Hidden";
    const row = form.closest("[data-enabled]");
    if (row) row.dataset.enabled = String(enabled);
    const count = document.querySelector("[data-enabled-count]");
    if (count) count.textContent = String(document.querySelectorAll('[data-enabled="true"]').length);
  }
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-switch-form")) return;
    event.preventDefault();
    const button = form.querySelector(".switch");
    if (button.disabled) return;
    const enable = form.querySelector('input[name="enabled"]').value === "true";
    button.disabled = true;
    try {
      const body = await send(form);
      setSwitch(form, enable);
      toast(body.message || "Saved.", {
        action: {
          label: "Undo",
          run: async () => {
            try {
              const back = await send(form, { enabled: String(!enable) });
              setSwitch(form, !enable);
              toast(back.message || "Undone.");
            } catch (err) {
              toast(err.message, { error: true });
            }
          },
        },
      });
    } catch (err) {
      toast(err.message, { error: true });
    } finally {
      button.disabled = false;
      button.focus();
    }
  });

  // ---- confirmations: a dialog instead of the browser's confirm() ----------------------------
  function confirmDialog(message, confirmLabel) {
    return new Promise((resolve) => {
      const dialog = document.createElement("dialog");
      dialog.setAttribute("aria-labelledby", "confirm-title");
      dialog.innerHTML =
        '<form method="dialog"><div class="dialog-body"><h2 id="confirm-title">Are you sure?</h2><p></p></div>' +
        '<div class="dialog-actions"><button value="cancel" class="button secondary">Cancel</button>' +
        '<button value="ok" class="button danger"></button></div></form>';
      dialog.querySelector("p").textContent = message;
      dialog.querySelector('button[value="ok"]').textContent = confirmLabel || "Yes, do it";
      document.body.appendChild(dialog);
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "ok");
        dialog.remove();
      });
      dialog.showModal();
      dialog.querySelector('button[value="cancel"]').focus();
    });
  }
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm || form.dataset.confirmed) return;
    event.preventDefault();
    const submitter = event.submitter;
    if (await confirmDialog(form.dataset.confirm, form.dataset.confirmLabel)) {
      form.dataset.confirmed = "1";
      if (form.dataset.confirmField) {
        const field = form.querySelector('input[name="' + form.dataset.confirmField + '"]');
        if (field) field.value = "yes";
      }
      if (form.requestSubmit) form.requestSubmit(submitter || undefined);
      else form.submit();
    }
  });

  // ---- copy buttons ---------------------------------------------------------------------------
  for (const b of document.querySelectorAll(".copy-button")) b.hidden = false;
  document.addEventListener("click", async (event) => {
    const button = event.target.closest(".copy-button");
    if (!button) return;
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.classList.add("copied");
      toast("Copied.");
      setTimeout(() => button.classList.remove("copied"), 1600);
    } catch {
      toast("Your browser did not allow copying: select the text instead.", { error: true });
    }
  });

  // ---- live filtering of a server-rendered list -----------------------------------------------
  for (const form of document.querySelectorAll("form[data-live-filter]")) {
    const list = document.getElementById(form.dataset.liveFilter);
    if (!list) continue;
    const text = form.querySelector("[data-filter-text]");
    const category = form.querySelector("[data-filter-category]");
    const show = form.querySelector("[data-filter-show]");
    const counter = document.querySelector("[data-shown-count]");
    const empty = document.querySelector("[data-filter-empty]");
    const apply = () => {
      const needle = (text && text.value.trim().toLowerCase()) || "";
      let shown = 0;
      for (const row of list.children) {
        const ok =
          (!needle || row.dataset.haystack.includes(needle)) &&
          (!category || !category.value || row.dataset.category === category.value) &&
          (!show || !show.value || (show.value === "enabled") === (row.dataset.enabled === "true"));
        row.hidden = !ok;
        if (ok) shown += 1;
      }
      if (counter) counter.textContent = shown + " listed";
      if (empty) empty.hidden = shown > 0;
      const params = new URLSearchParams(new FormData(form));
      for (const [k, v] of [...params]) if (!v) params.delete(k);
      const query = params.toString();
      history.replaceState(null, "", form.action + (query ? "?" + query : ""));
    };
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      apply();
    });
  }

  // Buttons only needed without script (e.g. "Go" beside a select that submits itself).
  for (const el of document.querySelectorAll("[data-noscript]")) el.hidden = true;
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }

  // ---- times: relative, with the absolute local time on hover ---------------------------------
  const units = [
    ["year", 31536000],
    ["month", 2592000],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const rtf = typeof Intl !== "undefined" && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  function relative(date) {
    const seconds = (date.getTime() - Date.now()) / 1000;
    if (!rtf) return date.toLocaleString();
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return rtf.format(Math.round(seconds / size), unit);
    }
    return Math.abs(seconds) < 30 ? "just now" : rtf.format(Math.round(seconds), "second");
  }
  for (const t of document.querySelectorAll("time[datetime][data-relative]")) {
    const date = new Date(t.getAttribute("datetime"));
    if (isNaN(date)) continue;
    t.title = date.toLocaleString();
    t.textContent = relative(date);
  }

  // ---- the menu on narrow screens ---------------------------------------------------------------
  const menuButton = document.querySelector(".menu-button");
  if (menuButton) {
    let scrim = null;
    const setOpen = (open) => {
      document.body.classList.toggle("nav-open", open);
      menuButton.setAttribute("aria-expanded", String(open));
      if (open) {
        scrim = document.createElement("div");
        scrim.className = "scrim";
        scrim.addEventListener("click", () => setOpen(false));
        document.body.appendChild(scrim);
        const first = document.querySelector("#sidebar a");
        if (first) first.focus();
      } else if (scrim) {
        scrim.remove();
        scrim = null;
      }
    };
    menuButton.addEventListener("click", () => setOpen(!document.body.classList.contains("nav-open")));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && document.body.classList.contains("nav-open")) {
        setOpen(false);
        menuButton.focus();
      }
    });
  }

  // ---- theme toggle ---------------------------------------------------------------------------
  const themeButton = document.querySelector(".theme-button");
  if (themeButton) {
    themeButton.hidden = false;
    themeButton.addEventListener("click", () => {
      const root = document.documentElement;
      const current = root.dataset.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
      const next = current === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try {
        localStorage.setItem("keyway-theme", next);
      } catch {
        /* private mode: the choice lasts for this page */
      }
      toast(next === "dark" ? "Dark theme." : "Light theme.");
    });
  }

  // ---- "Try the modal" -------------------------------------------------------------------------
  const tryForm = document.querySelector("form[data-try-modal]");
  if (tryForm && window.KeywayAuthKit) {
    tryForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(tryForm);
      const url = new URL(tryForm.dataset.tokenUrl, location.href);
      url.searchParams.set("identity", data.get("identity") || "");
      url.searchParams.set("identityType", data.get("identity_type") || "user");
      const log = document.getElementById("try-log");
      const say = (text) => {
        if (!log) return;
        const li = document.createElement("li");
        li.textContent = text;
        log.prepend(li);
      };
      window.KeywayAuthKit.open({
        baseUrl: new URL("/authkit", location.href).href,
        token: { url: url.href, headers: { "x-csrf-token": csrf() } },
        title: data.get("title") || undefined,
        appTheme: data.get("theme") || undefined,
        onSuccess: (connection) => {
          say("Connected " + (connection.platform || "") + " for " + (connection.identity || "") + ": " + connection.key);
          toast("Connected. The new connection is listed under Connections.");
        },
        onError: (message) => say("Error: " + message),
        onClose: () => say("The modal was closed."),
      });
    });
  }
})();
