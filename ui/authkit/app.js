// Keyway's connect modal (pica-compat §7). It reads its configuration from `?data=` or the host's first
// message, gets an AuthKit session from the customer's token endpoint, lists the enabled integrations,
// connects one with its form or an OAuth popup, and tells the host with the three AuthKit messages.
// It holds only the short-lived session token, in memory; never a secret key.
(function () {
  "use strict";

  /** The host ignores messages until its iframe is shown, 100 ms after load. */
  const POST_DELAY_MS = 300;
  /** Without `?data=`, how long to wait for the host's configuration message. */
  const CONFIG_WAIT_MS = 5000;
  /** After the OAuth popup closes, how long its result message may still be on its way. */
  const POPUP_CLOSED_GRACE_MS = 1000;
  /**
   * When the popup's report cannot reach us, how often to ask Keyway for the attempt's outcome, and for how
   * long (an OAuth attempt lives 15 minutes). A provider whose Cross-Origin-Opener-Policy severs the popup
   * from this page makes it look closed while the person is still signing in, and a BroadcastChannel in a
   * third-party frame does not hear the popup either: asking is the one way left.
   */
  const RESULT_POLL_MS = 2000;
  const RESULT_POLL_FOR_MS = 15 * 60 * 1000;
  const OAUTH_KIND = "oauth2_authorization_code";

  const $ = (id) => document.getElementById(id);
  const framed = window.parent !== window;

  const state = {
    config: null,
    hostOrigin: null,
    token: null,
    whiteLabel: false,
    environment: null,
    integrations: [],
    query: "",
    current: null,
    oauth: null,
    exited: false,
  };

  // ---------------------------------------------------------------- messages to the host (§7.2)

  const hostReady = new Promise((ready) => {
    const later = () => setTimeout(ready, POST_DELAY_MS);
    if (document.readyState === "complete") later();
    else window.addEventListener("load", later, { once: true });
  });

  function hostTarget() {
    if (state.hostOrigin) return state.hostOrigin;
    const ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length > 0 && ancestors[0] !== "null") return ancestors[0];
    return "*";
  }

  function post(messageType, message) {
    if (!framed) return;
    hostReady.then(() => window.parent.postMessage({ messageType, message }, hostTarget()));
  }

  // ---------------------------------------------------------------- configuration (§7.1, §7.4 step 1)

  /** `?data=` is `btoa(JSON.stringify(config))`: bytes read as Latin-1, one per character (not UTF-8). */
  function configFromQuery() {
    const raw = new URLSearchParams(window.location.search).get("data");
    if (!raw) return null;
    try {
      let b64 = raw.trim().replace(/ /g, "+").replace(/-/g, "+").replace(/_/g, "/");
      while (b64.length % 4 !== 0) b64 += "=";
      const value = JSON.parse(atob(b64));
      return value && typeof value === "object" ? value : null;
    } catch {
      return null;
    }
  }

  function normalizeConfig(raw) {
    const text = (v) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
    const headers = {};
    if (raw.linkHeaders && typeof raw.linkHeaders === "object") {
      for (const [k, v] of Object.entries(raw.linkHeaders)) {
        if (v !== undefined && v !== null) headers[k] = String(v);
      }
    }
    return {
      linkTokenEndpoint: text(raw.linkTokenEndpoint),
      linkHeaders: headers,
      title: text(raw.title),
      imageUrl: text(raw.imageUrl),
      companyName: text(raw.companyName),
      selectedConnection: text(raw.selectedConnection),
      showNameInput: raw.showNameInput === true,
      appTheme: raw.appTheme === "dark" ? "dark" : "light",
      themeGiven: raw.appTheme === "dark" || raw.appTheme === "light",
    };
  }

  window.addEventListener("message", (event) => {
    if (event.origin === window.location.origin && event.data && event.data.source === "keyway-oauth") {
      oauthResult(event.data);
      return;
    }
    if (!framed || event.source !== window.parent) return;
    const data = event.data;
    if (!data || typeof data !== "object" || !("linkTokenEndpoint" in data)) return;
    if (!state.hostOrigin && event.origin && event.origin !== "null") state.hostOrigin = event.origin;
    if (!state.config) begin(data);
  });

  if ("BroadcastChannel" in window) {
    new BroadcastChannel("keyway-oauth").addEventListener("message", (event) => oauthResult(event.data));
  }

  // ---------------------------------------------------------------- Keyway's session API (§7.4)

  class ApiFailure extends Error {
    constructor(body) {
      super((body && body.message) || "request failed");
      this.code = (body && body.code) || "unknown";
      this.status = (body && body.status) || 0;
      this.details = (body && body.details) || null;
      this.serverMessage = (body && body.message) || null;
    }
  }

  async function api(method, path, body) {
    const headers = { authorization: "Bearer " + state.token, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new ApiFailure({ code: "network", status: 0 });
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const known = data && typeof data === "object" && typeof data.code === "string";
      throw new ApiFailure(known ? data : { code: "http_" + res.status, status: res.status });
    }
    return data;
  }

  /** What a person should read for an error code. */
  function sentence(err, integration) {
    const p = integration ? integration.name : "The app";
    const company = state.config && state.config.companyName;
    switch (err.code) {
      case "invalid_form":
        return "Some details need another look.";
      case "credentials_rejected":
        return p + " didn't accept these details. Check them and try again.";
      case "platform_unreachable":
        return "We couldn't reach " + p + " to check your details. Please try again in a moment.";
      case "integration_disabled":
        return p + " isn't available to connect right now.";
      case "unknown_platform":
        return p + " is no longer available to connect.";
      case "oauth_required":
        return p + " connects by signing in on its own site. Go back and choose it again.";
      case "not_oauth":
      case "oauth_app_missing":
        return "Signing in with " + p + " isn't set up yet. Please contact " +
          (company ? company + "'s support team." : "the app's support team.");
      case "invalid_session":
      case "unauthorized":
        return "This connection window has expired. Close it and start again.";
      case "access_denied":
        return "Access wasn't granted on " + p + ", so nothing was connected.";
      case "network":
        return "We couldn't reach the server. Check your internet connection and try again.";
      default:
        if (err.status === 429) return "Too many attempts. Please wait a minute and try again.";
        if (err.status >= 500 || err.status === 0) {
          return "Something went wrong on our side. Please try again in a moment.";
        }
        return err.serverMessage || "Something went wrong. Please try again.";
    }
  }

  // ---------------------------------------------------------------- start

  async function begin(raw) {
    state.config = normalizeConfig(raw);
    const c = state.config;
    document.documentElement.dataset.theme = c.appTheme;
    if (c.title) document.title = c.title;
    renderBrand();
    openDialog();
    renderLoading("Getting things ready…");

    let endpoint = null;
    try {
      endpoint = c.linkTokenEndpoint ? new URL(c.linkTokenEndpoint, window.location.href) : null;
    } catch {
      endpoint = null;
    }
    if (!endpoint || (endpoint.protocol !== "https:" && endpoint.protocol !== "http:")) {
      fatal("This connection window wasn't set up correctly.", "linkTokenEndpoint is missing or not an http(s) URL");
      return;
    }

    let res;
    let body = null;
    try {
      res = await fetch(endpoint.href, {
        method: "POST",
        headers: { "content-type": "application/json", ...c.linkHeaders },
        body: "{}",
        cache: "no-store",
      });
    } catch {
      fatal(
        "We couldn't start a secure session. Please try again later.",
        "Could not reach the token endpoint " + endpoint.href +
          " (network error, or its CORS policy does not allow the origin " + window.location.origin + ")",
      );
      return;
    }
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (!body || typeof body !== "object" || !Array.isArray(body.rows)) {
      const message = body && typeof body.message === "string" && body.message
        ? body.message
        : "The token endpoint answered " + res.status + " without an AuthKit token";
      fatal(body && body.message ? body.message : "We couldn't start a secure session. Please try again later.", message);
      return;
    }
    if (typeof body.sessionToken !== "string" || body.sessionToken === "") {
      fatal(
        "We couldn't start a secure session. Please try again later.",
        "The token endpoint's reply has no sessionToken: is it forwarding Keyway's POST /v1/authkit reply?",
      );
      return;
    }
    state.token = body.sessionToken;
    state.whiteLabel = body.isWhiteLabel === true;
    state.environment = typeof body.environment === "string" ? body.environment : null;
    renderBrand();
    renderFoot();

    try {
      const list = await api("GET", "v1/authkit/integrations");
      state.integrations = Array.isArray(list && list.rows) ? list.rows : [];
      applyBranding(list && list.branding);
    } catch (err) {
      fatal(sentence(err), err.serverMessage || sentence(err));
      return;
    }

    const wanted = c.selectedConnection && c.selectedConnection.toLowerCase();
    const selected = wanted &&
      (state.integrations.find((i) => i.name.toLowerCase() === wanted) ||
        state.integrations.find((i) => i.platform === wanted));
    if (selected) showIntegration(selected, { direct: true });
    else showList();
  }

  /** The project's branding defaults (dashboard, Settings), for what the host page did not say. */
  function applyBranding(b) {
    if (!b || typeof b !== "object") return;
    const c = state.config;
    const text = (v) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
    let changed = false;
    if (!c.companyName && text(b.companyName)) {
      c.companyName = text(b.companyName);
      changed = true;
    }
    if (!c.imageUrl && text(b.imageUrl)) {
      c.imageUrl = text(b.imageUrl);
      changed = true;
    }
    if (!c.themeGiven && (b.appTheme === "dark" || b.appTheme === "light")) {
      c.appTheme = b.appTheme;
      document.documentElement.dataset.theme = c.appTheme;
    }
    if (changed) renderBrand();
  }

  function fatal(userMessage, developerMessage) {
    renderResult({
      tone: "error",
      title: "We couldn't connect right now",
      text: userMessage,
      primary: { label: "Close", action: close },
    });
    post("LINK_ERROR", developerMessage || userMessage);
  }

  // ---------------------------------------------------------------- dialog frame

  function openDialog() {
    $("backdrop").hidden = false;
    $("dialog").hidden = false;
    $("close").replaceChildren(icon("close"));
    $("back").replaceChildren(icon("back"));
    $("close").addEventListener("click", close);
    $("back").addEventListener("click", () => {
      cancelOAuth();
      showList();
    });
    requestAnimationFrame(() => document.body.classList.add("open"));
  }

  function close() {
    if (state.exited) return;
    state.exited = true;
    cancelOAuth();
    document.body.classList.remove("open");
    document.body.classList.add("closing");
    post("EXIT_EVENT_LINK", "closed");
    if (!framed) {
      setTimeout(() => {
        $("dialog").hidden = true;
        $("backdrop").hidden = true;
        const done = h("p", { class: "noscript" }, "You can close this window.");
        document.body.append(done);
      }, 200);
    }
  }

  document.addEventListener("keydown", (event) => {
    if ($("dialog").hidden) return;
    if (event.key === "Escape") {
      // Esc in a search box with text clears it first, as everywhere else.
      if (event.target.type === "search" && event.target.value !== "") return;
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {
      trapFocus(event);
    }
  });

  function trapFocus(event) {
    const focusable = [
      ...$("dialog").querySelectorAll("a[href], button:not([disabled]), input:not([disabled]), [tabindex='0']"),
    ].filter((el) => !el.closest("[hidden]") && el.getClientRects().length > 0);
    if (focusable.length === 0) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const inside = $("dialog").contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  }

  function announce(text) {
    const region = $("status");
    region.textContent = "";
    setTimeout(() => (region.textContent = text), 50);
  }

  function setView(children, { back = false, focus = null } = {}) {
    const view = $("view");
    view.replaceChildren(...children);
    view.scrollTop = 0;
    $("back").hidden = !back;
    const target = focus ? view.querySelector(focus) : null;
    (target || view.querySelector("h1") || view).focus({ preventScroll: true });
  }

  function renderBrand() {
    const c = state.config;
    const brand = $("brand");
    const parts = [];
    if (c.imageUrl) {
      const img = h("img", { class: "host-logo", src: c.imageUrl, alt: "" });
      img.addEventListener("error", () => img.remove());
      parts.push(img);
    }
    if (c.companyName) parts.push(h("span", { class: "host-name" }, c.companyName));
    if (state.environment === "test") parts.push(h("span", { class: "badge" }, "Test mode"));
    brand.replaceChildren(...parts);
  }

  function renderFoot() {
    $("foot").replaceChildren(
      ...(state.whiteLabel ? [] : [icon("shield"), h("span", {}, "Secured by Keyway · credentials are encrypted")]),
    );
  }

  function renderLoading(text) {
    setView([
      h("div", { class: "loading", "aria-busy": "true" }, [
        h("span", { class: "spinner large", "aria-hidden": "true" }),
        h("p", { class: "muted" }, text),
      ]),
    ]);
    announce(text);
  }

  function renderResult({ tone, title, text, primary, secondary }) {
    const buttons = [h("button", { type: "button", class: "button primary wide" }, primary.label)];
    buttons[0].addEventListener("click", primary.action);
    if (secondary) {
      const b = h("button", { type: "button", class: "button secondary wide" }, secondary.label);
      b.addEventListener("click", secondary.action);
      buttons.push(b);
    }
    setView(
      [
        h("div", { class: "result " + tone }, [
          h("div", { class: "result-icon", "aria-hidden": "true" }, [icon(tone === "success" ? "check" : "alert")]),
          h("h1", { id: "dialog-title", tabindex: "-1" }, title),
          h("p", { class: "muted" }, text),
          h("div", { class: "actions" }, buttons),
        ]),
      ],
      { focus: ".button.primary" },
    );
    announce(title + ". " + text);
  }

  // ---------------------------------------------------------------- the list

  function showList() {
    state.current = null;
    const c = state.config;
    const search = h("input", {
      type: "search",
      class: "search-input",
      placeholder: "Search integrations",
      "aria-label": "Search integrations",
      autocomplete: "off",
      spellcheck: "false",
      value: state.query,
    });
    const list = h("ul", { class: "integrations", "aria-label": "Integrations" });
    const empty = h("p", { class: "empty muted", hidden: "" });
    const fill = () => {
      const q = state.query.trim().toLowerCase();
      const shown = state.integrations.filter(
        (i) => !q || [i.name, i.category, i.platform].some((s) => String(s || "").toLowerCase().includes(q)),
      );
      list.replaceChildren(...shown.map(integrationRow));
      empty.hidden = shown.length > 0;
      empty.textContent = state.integrations.length === 0
        ? "No integrations are available to connect yet."
        : "Nothing matches \u201c" + state.query.trim() + "\u201d.";
      return shown.length;
    };
    search.addEventListener("input", () => {
      state.query = search.value;
      const n = fill();
      announce(n === 1 ? "1 integration" : n + " integrations");
    });
    fill();
    const lede = c.companyName
      ? "Choose an app to connect to " + c.companyName + "."
      : "Choose an app to connect.";
    const children = [
      h("h1", { id: "dialog-title", tabindex: "-1" }, c.title || "Connect an integration"),
      h("p", { class: "lede muted" }, lede),
    ];
    if (state.integrations.length > 0) {
      children.push(h("div", { class: "search" }, [icon("search"), search]));
    }
    children.push(list, empty);
    setView(children, { focus: state.integrations.length > 0 ? ".search-input" : null });
  }

  function integrationRow(i) {
    const button = h("button", { type: "button", class: "integration" }, [
      logo(i, "logo"),
      h("span", { class: "integration-text" }, [
        h("span", { class: "integration-name" }, i.name),
        h("span", { class: "integration-category muted" }, i.category),
      ]),
      icon("chevron"),
    ]);
    button.addEventListener("click", () => showIntegration(i));
    return h("li", {}, [button]);
  }

  function logo(i, cls) {
    const img = h("img", { class: cls, src: i.image, alt: "", width: "40", height: "40" });
    img.addEventListener("error", () => {
      const initials = i.name.split(/\s+/).slice(0, 2).map((w) => w[0] || "").join("").toUpperCase();
      img.replaceWith(h("span", { class: cls + " initials", "aria-hidden": "true" }, initials || "?"));
    });
    return img;
  }

  // ---------------------------------------------------------------- one integration

  function showIntegration(i, { direct = false } = {}) {
    state.current = i;
    const back = !direct || state.integrations.length > 1;
    if (i.authKind === OAUTH_KIND) renderOAuth(i, back);
    else renderForm(i, back);
  }

  function hero(i) {
    return h("div", { class: "hero" }, [
      logo(i, "logo large"),
      h("div", {}, [
        h("h1", { id: "dialog-title", tabindex: "-1" }, "Connect " + i.name),
        h("p", { class: "muted small" }, i.category),
      ]),
    ]);
  }

  function docsLink(i, text) {
    if (!i.docsUrl) return null;
    return h("a", { href: i.docsUrl, target: "_blank", rel: "noopener noreferrer", class: "link" }, [
      text,
      icon("external"),
    ]);
  }

  function renderForm(i, back) {
    const company = state.config.companyName;
    const alert = h("div", { class: "alert", role: "alert", tabindex: "-1", hidden: "" });
    const inputs = [];
    const fieldBlocks = i.fields.map((f) => {
      const block = fieldBlock(f);
      inputs.push(block.control);
      return block.el;
    });
    let nameInput = null;
    if (state.config.showNameInput) {
      const block = fieldBlock({
        name: "__connection_name",
        label: "Connection name",
        placeholder: "e.g. Work account",
        secret: false,
        required: false,
        pattern: null,
        help: "Helps you tell this connection apart from others.",
      });
      nameInput = block.control;
      fieldBlocks.push(block.el);
    }
    const submit = h("button", { type: "submit", class: "button primary wide" }, [
      h("span", { class: "spinner", "aria-hidden": "true" }),
      h("span", { class: "label" }, "Connect " + i.name),
    ]);
    const form = h("form", { class: "form", novalidate: "" }, [alert, ...fieldBlocks, submit]);
    const note = h("p", { class: "fine-print muted" }, [
      icon("lock"),
      h("span", {}, [
        "Your details are encrypted and stored securely" +
          (company ? ", and " + company + " can use this connection on your behalf. " : ". "),
        docsLink(i, "Where do I find these?") || "",
      ]),
    ]);
    const intro = i.description ? [h("p", { class: "description muted" }, i.description)] : [];

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.classList.contains("busy")) return;
      alert.hidden = true;
      const invalid = inputs.filter((c) => !c.check());
      if (nameInput && !nameInput.check()) invalid.push(nameInput);
      if (invalid.length > 0) {
        invalid[0].input.focus();
        announce(invalid.length === 1 ? "One field needs attention." : invalid.length + " fields need attention.");
        return;
      }
      const formData = {};
      for (const c of inputs) {
        const v = c.value();
        if (v !== "") formData[c.field.name] = v;
      }
      const body = { platform: i.platform, formData };
      if (nameInput && nameInput.value() !== "") body.name = nameInput.value();

      form.classList.add("busy");
      submit.disabled = true;
      submit.querySelector(".label").textContent = "Connecting…";
      announce("Connecting " + i.name + "…");
      try {
        const record = await api("POST", "v1/authkit/connections", body);
        succeed(i, record);
      } catch (err) {
        form.classList.remove("busy");
        submit.disabled = false;
        submit.querySelector(".label").textContent = "Connect " + i.name;
        const fields = err.details && err.details.fields && typeof err.details.fields === "object"
          ? err.details.fields
          : {};
        let firstBad = null;
        for (const c of inputs) {
          if (typeof fields[c.field.name] === "string") {
            c.fail(fields[c.field.name]);
            firstBad = firstBad || c;
          }
        }
        alert.replaceChildren(icon("alert"), h("span", {}, sentence(err, i)));
        alert.hidden = false;
        if (err.code !== "invalid_form") post("LINK_ERROR", sentence(err, i));
        (firstBad ? firstBad.input : alert).focus?.();
        if (!firstBad) announce(sentence(err, i));
      }
    });

    setView([hero(i), ...intro, form, note], { back, focus: "input" });
  }

  function fieldBlock(f) {
    const id = "field-" + f.name;
    const helpId = id + "-help";
    const errorId = id + "-error";
    const input = h("input", {
      id,
      name: f.name,
      type: f.secret ? "password" : "text",
      autocomplete: f.secret ? "new-password" : "off",
      autocapitalize: "off",
      spellcheck: "false",
      placeholder: f.placeholder || "",
      "aria-describedby": (f.help ? helpId + " " : "") + errorId,
    });
    if (f.required) input.setAttribute("aria-required", "true");
    const error = h("p", { class: "field-error", id: errorId, hidden: "" });
    const label = h("label", { for: id }, [
      f.label,
      f.required ? "" : h("span", { class: "optional muted" }, " (optional)"),
    ]);
    const wrap = h("div", { class: "input-wrap" }, [input]);
    if (f.secret) {
      const toggle = h("button", {
        type: "button",
        class: "reveal",
        "aria-label": "Show " + f.label,
        "aria-pressed": "false",
      }, [icon("eye")]);
      toggle.addEventListener("click", () => {
        const shown = input.type === "text";
        input.type = shown ? "password" : "text";
        toggle.setAttribute("aria-pressed", String(!shown));
        toggle.setAttribute("aria-label", (shown ? "Show " : "Hide ") + f.label);
        toggle.replaceChildren(icon(shown ? "eye" : "eyeOff"));
      });
      wrap.append(toggle);
    }
    let pattern = null;
    if (f.pattern) {
      try {
        pattern = new RegExp(f.pattern);
      } catch {
        pattern = null;
      }
    }
    const control = {
      field: f,
      input,
      value: () => input.value.trim(),
      fail(message) {
        error.replaceChildren(icon("alert"), h("span", {}, message));
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        wrap.classList.add("invalid");
      },
      clear() {
        error.hidden = true;
        input.removeAttribute("aria-invalid");
        wrap.classList.remove("invalid");
      },
      check() {
        const v = control.value();
        if (v === "" && f.required) {
          control.fail("Enter your " + lowerFirst(f.label) + ".");
          return false;
        }
        if (v !== "" && pattern && !pattern.test(v)) {
          control.fail(
            "This doesn't look like a valid " + lowerFirst(f.label) +
              (f.placeholder ? " (it looks like \u201c" + f.placeholder + "\u201d)." : "."),
          );
          return false;
        }
        control.clear();
        return true;
      },
    };
    let touched = false;
    input.addEventListener("blur", () => {
      if (input.value !== "") touched = true;
      if (touched) control.check();
    });
    input.addEventListener("input", () => {
      if (wrap.classList.contains("invalid")) control.check();
    });
    const children = [label, wrap];
    if (f.help) children.push(h("p", { class: "help muted", id: helpId }, f.help));
    children.push(error);
    return { el: h("div", { class: "field" }, children), control };
  }

  function lowerFirst(s) {
    return /^[A-Z][a-z]/.test(s) ? s[0].toLowerCase() + s.slice(1) : s;
  }

  function succeed(i, record) {
    post("LINK_SUCCESS", record);
    const company = state.config.companyName;
    renderResult({
      tone: "success",
      title: i.name + " is connected",
      text: company
        ? company + " can now work with your " + i.name + " account."
        : "Your " + i.name + " account is now connected.",
      primary: { label: "Done", action: close },
      secondary: state.integrations.length > 1 ? { label: "Connect another app", action: showList } : null,
    });
  }

  // ---------------------------------------------------------------- OAuth in a popup

  function renderOAuth(i, back, problem) {
    const company = state.config.companyName;
    const button = h("button", { type: "button", class: "button primary wide" }, "Continue to " + i.name);
    button.addEventListener("click", () => startOAuth(i, back));
    const children = [
      hero(i),
      ...(i.description ? [h("p", { class: "description muted" }, i.description)] : []),
    ];
    if (problem) {
      children.push(h("div", { class: "alert", role: "alert" }, [icon("alert"), h("span", {}, problem)]));
    }
    children.push(
      h("ol", { class: "steps" }, [
        h("li", {}, "A window opens where you sign in to " + i.name + "."),
        h("li", {}, "You review and approve access" + (company ? " for " + company : "") + "."),
        h("li", {}, "You come back here, connected."),
      ]),
      button,
      h("p", { class: "fine-print muted" }, [
        icon("lock"),
        h("span", {}, "You sign in on " + i.name + "'s own site. Your password is never shared."),
      ]),
    );
    setView(children, { back, focus: problem ? ".button.primary" : null });
    if (problem) announce(problem);
  }

  function popupFeatures() {
    const w = 500;
    const ht = 700;
    const left = Math.max(0, Math.round(window.screenX + (window.outerWidth - w) / 2));
    const top = Math.max(0, Math.round(window.screenY + (window.outerHeight - ht) / 2));
    return "popup=yes,width=" + w + ",height=" + ht + ",left=" + left + ",top=" + top;
  }

  function startOAuth(i, back) {
    cancelOAuth();
    // Opened now, inside the click, so popup blockers allow it; pointed at the provider once Keyway answers.
    const popup = window.open("", "keyway-oauth", popupFeatures());
    if (!popup) {
      renderOAuth(i, back,
        "Your browser blocked the " + i.name + " window. Allow pop-ups for this site, then try again.");
      return;
    }
    try {
      popup.document.title = "Connecting to " + i.name + "…";
      popup.document.body.textContent = "Opening " + i.name + "…";
      popup.document.body.style.font = "15px system-ui, sans-serif";
      popup.document.body.style.padding = "24px";
    } catch {
      // not ours to write (already navigated): fine
    }
    const attempt = { i, back, popup, settled: false, poll: null, asking: null, id: null };
    state.oauth = attempt;
    renderWaiting(attempt);

    api("POST", "v1/authkit/oauth/start", { platform: i.platform })
      .then((body) => {
        if (attempt.settled || state.oauth !== attempt) return;
        if (!body || typeof body.authorizeUrl !== "string") throw new ApiFailure({ code: "unknown", status: 500 });
        attempt.id = typeof body.attemptId === "string" ? body.attemptId : null;
        popup.location.href = body.authorizeUrl;
      })
      .catch((err) => {
        if (attempt.settled || state.oauth !== attempt) return;
        settle(attempt);
        renderOAuth(i, back, sentence(err, i));
        post("LINK_ERROR", sentence(err, i));
      });

    attempt.poll = setInterval(() => {
      if (attempt.settled || !popup.closed) return;
      clearInterval(attempt.poll);
      setTimeout(async () => {
        if (attempt.settled || state.oauth !== attempt) return;
        if (await askOutcome(attempt)) return;
        if (attempt.settled || state.oauth !== attempt) return;
        // Closed, or only cut off from this page by the provider while the person is still there: say
        // so, and keep asking until the attempt ends or another one starts.
        renderOAuth(i, back,
          "The " + i.name + " window was closed before you finished, so nothing was connected. " +
          "If it is still open, finish there: this page will update.");
        const until = Date.now() + RESULT_POLL_FOR_MS;
        attempt.asking = setInterval(() => {
          if (attempt.settled || state.oauth !== attempt || Date.now() > until) {
            clearInterval(attempt.asking);
            return;
          }
          askOutcome(attempt);
        }, RESULT_POLL_MS);
      }, POPUP_CLOSED_GRACE_MS);
    }, 300);
  }

  /** Asks Keyway how the attempt ended; hands a recorded outcome to oauthResult. True when there was one. */
  async function askOutcome(attempt) {
    if (!attempt.id) return false;
    try {
      const body = await api("GET", "v1/authkit/oauth/result/" + encodeURIComponent(attempt.id));
      if (!body || body.status !== "done" || attempt.settled || state.oauth !== attempt) return false;
      oauthResult(body.result);
      return true;
    } catch {
      return false;
    }
  }

  function renderWaiting(attempt) {
    const i = attempt.i;
    const focusButton = h("button", { type: "button", class: "button secondary wide" }, "Show the " + i.name + " window");
    focusButton.addEventListener("click", () => {
      try {
        attempt.popup.focus();
      } catch {
        // closed meanwhile: the poll reports it
      }
    });
    const cancel = h("button", { type: "button", class: "button ghost wide" }, "Cancel");
    cancel.addEventListener("click", () => {
      cancelOAuth();
      renderOAuth(i, attempt.back);
    });
    setView(
      [
        h("div", { class: "waiting" }, [
          h("div", { class: "waiting-logos", "aria-hidden": "true" }, [
            logo(i, "logo large"),
            h("span", { class: "spinner large" }),
          ]),
          h("h1", { id: "dialog-title", tabindex: "-1" }, "Waiting for " + i.name),
          h("p", { class: "muted" }, "Finish signing in and approve access in the " + i.name + " window. This page updates by itself."),
          h("div", { class: "actions" }, [focusButton, cancel]),
        ]),
      ],
      { back: attempt.back },
    );
    announce("Waiting for you to finish in the " + i.name + " window.");
  }

  function settle(attempt) {
    attempt.settled = true;
    clearInterval(attempt.poll);
    clearInterval(attempt.asking);
    if (state.oauth === attempt) state.oauth = null;
  }

  function cancelOAuth() {
    const attempt = state.oauth;
    if (!attempt) return;
    settle(attempt);
    try {
      if (!attempt.popup.closed) attempt.popup.close();
    } catch {
      // already gone
    }
  }

  /** The callback page's report: `{source:"keyway-oauth", ok, connection}` or `{…, ok:false, code, message}`. */
  function oauthResult(data) {
    if (!data || data.source !== "keyway-oauth") return;
    const attempt = state.oauth;
    if (!attempt || attempt.settled) return;
    if (data.ok && data.connection && data.connection.platform && data.connection.platform !== attempt.i.platform) return;
    settle(attempt);
    try {
      if (!attempt.popup.closed) attempt.popup.close();
    } catch {
      // already gone
    }
    if (data.ok === true && data.connection && typeof data.connection === "object") {
      succeed(attempt.i, data.connection);
      return;
    }
    const err = { code: String(data.code || "unknown"), status: 400, serverMessage: data.message || null };
    const text = sentence(err, attempt.i);
    renderOAuth(attempt.i, attempt.back, text);
    post("LINK_ERROR", text);
  }

  // ---------------------------------------------------------------- tiny DOM helpers

  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "value") el.value = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    const list = children === undefined ? [] : Array.isArray(children) ? children : [children];
    for (const c of list) {
      if (c === null || c === undefined || c === "") continue;
      el.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }

  const ICONS = {
    close: ["M6 6l12 12", "M18 6L6 18"],
    back: ["M15 18l-6-6 6-6"],
    chevron: ["M9 6l6 6-6 6"],
    search: ["M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14z", "M20 20l-4.2-4.2"],
    lock: ["M6 11h12v9H6z", "M8.5 11V8a3.5 3.5 0 0 1 7 0v3"],
    shield: ["M12 3l7 3v5c0 4.5-3 8.2-7 10-4-1.8-7-5.5-7-10V6z", "M9 12l2 2 4-4"],
    check: ["M5 12.5l4.5 4.5L19 7.5"],
    alert: ["M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z", "M12 7.5v5.5", "M12 16.2v.3"],
    external: ["M14 4h6v6", "M20 4l-9 9", "M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"],
    eye: ["M2.5 12S6 5.5 12 5.5 21.5 12 21.5 12 18 18.5 12 18.5 2.5 12 2.5 12z", "M12 9.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z"],
    eyeOff: ["M3 3l18 18", "M10.6 6A9.9 9.9 0 0 1 12 5.5C18 5.5 21.5 12 21.5 12a17 17 0 0 1-3 3.8", "M6.6 7.6A16.6 16.6 0 0 0 2.5 12S6 18.5 12 18.5a9.4 9.4 0 0 0 4.4-1.1", "M9.9 10a2.5 2.5 0 0 0 3.5 3.6"],
  };

  function icon(name) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon icon-" + name);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    for (const d of ICONS[name]) {
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  }

  // ---------------------------------------------------------------- go

  const fromQuery = configFromQuery();
  if (fromQuery) {
    begin(fromQuery);
  } else {
    setTimeout(() => {
      if (state.config) return;
      state.config = normalizeConfig({});
      renderBrand();
      openDialog();
      fatal(
        "This connection window wasn't opened correctly. Please go back and try again.",
        "No configuration: open this page with @picahq/authkit or /authkit.js",
      );
    }, framed ? CONFIG_WAIT_MS : 0);
  }
})();
