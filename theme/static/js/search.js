// The search page: queries the index Pagefind wrote at build time, in the browser.
// pagefind.js (and the WebAssembly it loads) is fetched on the first query, not with the page.
const form = document.getElementById("search-form");
const input = document.getElementById("search-query");
const status = document.getElementById("search-status");
const results = document.getElementById("search-results");
const SHOWN = 20;
let pagefind = null;
let latest = 0;

function say(text) {
  status.hidden = !text;
  status.textContent = text;
}

function resultItem(data) {
  const item = document.createElement("li");
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  link.href = data.url;
  link.textContent = data.meta.title || data.url;
  heading.append(link);
  const excerpt = document.createElement("p");
  // Pagefind escapes the page's text and adds only <mark> around the words found.
  excerpt.innerHTML = data.excerpt;
  item.append(heading, excerpt);
  return item;
}

async function search(query) {
  const asked = ++latest;
  if (!query.trim()) {
    results.replaceChildren();
    say("");
    return;
  }
  try {
    pagefind ??= await import(new URL(form.dataset.index, document.baseURI).href);
    const found = await pagefind.search(query);
    const pages = await Promise.all(found.results.slice(0, SHOWN).map((r) => r.data()));
    if (asked !== latest) return;
    results.replaceChildren(...pages.map(resultItem));
    const count = found.results.length;
    say(count ? `${count} post${count === 1 ? "" : "s"} found.` : "No post has those words.");
  } catch (error) {
    if (asked === latest) say("Search is unavailable right now; the archives list every post.");
    console.warn("search:", error);
  }
}

function fromForm(event) {
  event?.preventDefault();
  const query = input.value;
  const url = new URL(location.href);
  url.searchParams.set("q", query);
  history.replaceState(null, "", url);
  search(query);
}

let pause;
input.addEventListener("input", () => {
  clearTimeout(pause);
  pause = setTimeout(fromForm, 200);
});
form.addEventListener("submit", fromForm);

const asked = new URLSearchParams(location.search).get("q");
if (asked) {
  input.value = asked;
  search(asked);
}
