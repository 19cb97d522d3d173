// fab serve's live reload (development only; never in output/). The server says, over
// server-sent events, when a build newer than this page's has finished: reload to show it
// (or the page with the build's error line, which the server adds).
(() => {
  const script = document.currentScript;
  const generation = new URL(script.src).searchParams.get("build") || "0";
  const events = new EventSource(`/__events?build=${encodeURIComponent(generation)}`);
  events.addEventListener("build", () => {
    events.close();
    window.location.reload();
  });
})();
