// The customer's page: the published @picahq/authkit, unmodified, as its README shows it. Props come from
// `?options=<json>` (plus the token endpoint of this app); every callback is recorded in window.events.
import { useAuthKit } from "@picahq/authkit";
import { createRoot } from "react-dom/client";

window.events = [];
const options = JSON.parse(new URLSearchParams(window.location.search).get("options") || "{}");

function ConnectButton() {
  const { open } = useAuthKit({
    ...options,
    onSuccess: (connection) => window.events.push({ type: "success", payload: connection }),
    onError: (message) => window.events.push({ type: "error", payload: message }),
    onClose: () => window.events.push({ type: "close" }),
  });
  return (
    <button id="connect" type="button" onClick={open}>
      Connect an app
    </button>
  );
}

createRoot(document.getElementById("root")).render(<ConnectButton />);
