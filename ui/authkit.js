// Keyway's connect modal for pages without React: one call, the same behaviour as @picahq/authkit's
// useAuthKit().open() (pica-compat §7.1): a transparent full-screen iframe `#event-link` on `{baseUrl}?data=`,
// the configuration posted on load, shown 100 ms later, and LINK_SUCCESS / LINK_ERROR / EXIT_EVENT_LINK
// turned into onSuccess / onError / onClose. Only messages from that iframe, from Keyway's origin, are read.
//
//   <script src="https://keyway.example.com/authkit.js"></script>
//   KeywayAuthKit.open({ token: { url: "/api/authkit-token", headers: {} }, onSuccess(connection) {} });
(function () {
  "use strict";

  var script = document.currentScript;
  var defaultBase = script && script.src ? script.src.replace(/\/authkit\.js(?:[?#].*)?$/, "/authkit") : null;
  var active = null;

  /** JSON that `btoa` accepts: characters above U+00FF are written as \\uXXXX escapes. */
  function latin1Json(value) {
    return JSON.stringify(value).replace(/[\u0100-\uffff]/g, function (c) {
      return "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
    });
  }

  function close() {
    if (!active) return;
    window.removeEventListener("message", active.listener);
    if (active.iframe.parentNode) active.iframe.parentNode.removeChild(active.iframe);
    active = null;
  }

  function open(options) {
    options = options || {};
    if (!options.token || !options.token.url) throw new Error("KeywayAuthKit.open: token.url is required");
    var baseUrl = options.baseUrl || defaultBase;
    if (!baseUrl) throw new Error("KeywayAuthKit.open: baseUrl is required");
    close();

    var config = {
      linkTokenEndpoint: new URL(options.token.url, window.location.href).href,
      linkHeaders: options.token.headers,
      title: options.title,
      imageUrl: options.imageUrl,
      companyName: options.companyName,
      selectedConnection: options.selectedConnection,
      showNameInput: options.showNameInput,
      appTheme: options.appTheme,
    };
    var src = baseUrl + "?" + new URLSearchParams({ data: btoa(latin1Json(config)) }).toString();
    var origin = new URL(src, window.location.href).origin;

    var iframe = document.createElement("iframe");
    iframe.id = "event-link";
    iframe.title = options.title || "Connect an account";
    iframe.setAttribute("allow", "clipboard-write");
    var s = iframe.style;
    s.position = "fixed";
    s.inset = "0px";
    s.width = "100%";
    s.height = "100%";
    s.border = "0";
    s.zIndex = "9999";
    s.backgroundColor = "transparent";
    s.colorScheme = "normal";
    s.visibility = "hidden";
    iframe.src = src;

    var session = { iframe: iframe, listener: null, seen: {} };
    session.listener = function (event) {
      if (event.source !== iframe.contentWindow || event.origin !== origin) return;
      var data = event.data;
      if (!data || typeof data.messageType !== "string") return;
      if (data.messageType === "LINK_SUCCESS") {
        if (options.onSuccess) options.onSuccess(data.message);
      } else if (data.messageType === "LINK_ERROR") {
        if (options.onError) options.onError(data.message);
      } else if (data.messageType === "EXIT_EVENT_LINK") {
        if (session.seen.exit) return;
        session.seen.exit = true;
        if (options.onClose) options.onClose();
        setTimeout(function () {
          if (active === session) close();
        }, 200);
      }
    };
    iframe.addEventListener("load", function () {
      iframe.contentWindow.postMessage(config, origin);
      setTimeout(function () {
        s.visibility = "visible";
        s.display = "block";
      }, 100);
    });
    window.addEventListener("message", session.listener);
    active = session;
    document.body.appendChild(iframe);
    return { close: close };
  }

  window.KeywayAuthKit = { open: open, close: close };
})();
