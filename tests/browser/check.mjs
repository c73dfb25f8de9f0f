// Browser check of the governance site: builds the example repository with a governed
// history (two pull requests merged, their decisions in the audit ledger, a release tag),
// renders its site, serves it on 127.0.0.1 and loads each kind of page in headless
// Chromium (the system's /usr/bin/chromium; nothing is downloaded). Each page must load
// with no console error and no request leaving the site, and pass axe-core with no serious
// or critical violation; the index's search must filter. Screenshots go to
// target/site-screenshots/.
//
//   node tests/browser/check.mjs        (MODELGATE_BIN overrides the binary to use)

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync, statSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve, extname, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../..");
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repoRoot, "target");
const modelgate = process.env.MODELGATE_BIN || join(targetDir, "release", "modelgate");
const screenshots = join(repoRoot, "target", "site-screenshots");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `\n     ${detail}` : ""}`);
  }
}

function run(command, args, options = {}) {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options });
}

// --- the example repository, with history -------------------------------------------
const work = mkdtempSync(join(tmpdir(), "modelgate-browser-"));
const repo = join(work, "repo");
run(modelgate, ["demo", "--out", repo]);
const git = (...args) =>
  run("git", ["-C", repo, ...args], {
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Dana Reviewer", GIT_AUTHOR_EMAIL: "dana@example.invalid",
      GIT_COMMITTER_NAME: "Dana Reviewer", GIT_COMMITTER_EMAIL: "dana@example.invalid",
      GIT_AUTHOR_DATE: "2026-01-12T10:00:00Z", GIT_COMMITTER_DATE: "2026-01-12T10:00:00Z",
    },
  }).trim();

function mergePullRequest(number, branch, factsFile) {
  const head = git("rev-parse", branch);
  const facts = JSON.parse(readFileSync(join(repoRoot, "fixtures/example", factsFile), "utf8").replaceAll("$HEAD", head));
  facts.number = number;
  const factsPath = join(work, `facts-${number}.json`);
  writeFileSync(factsPath, JSON.stringify(facts));
  const reportPath = join(work, `report-${number}.json`);
  run(modelgate, ["check", "--repo", repo, "--base", "main", "--head", branch, "--format", "json", "--pr-facts", factsPath, "--output", reportPath]);
  git("merge", "--no-ff", "-q", "-m", `Merge pull request #${number} from ${branch}`, branch);
  run(modelgate, ["audit", "record", "--repo", repo, "--commit", "HEAD", "--report", reportPath, "--pr-facts", factsPath]);
}
mergePullRequest(4, "retrain-support-router", "facts/one-approval.json");
mergePullRequest(1, "retrain-credit-risk", "facts/risk-accepted.json");
git("tag", "-a", "credit-risk@v2.2.0", "-m", "credit-risk 2.2.0");
// GTO stage tags: the model page's stage timeline.
git("tag", "-a", "credit-risk#prod#1", "-m", "promote credit-risk to prod");
// The high tier asks for the EU AI Act's Annex IV documentation: each credit-risk version
// gets its technical-documentation page (with the sections its card lacks marked missing).
const policyPath = join(repo, ".github/modelgate.yml");
writeFileSync(policyPath, readFileSync(policyPath, "utf8").replace("    review_every: 180d\n", "    review_every: 180d\n    documentation: eu-ai-act-annex-iv\n"));
git("commit", "-q", "-am", "Policy: Annex IV documentation for the high tier");

const site = join(work, "site");
console.log(run(modelgate, ["site", "build", "--repo", repo, "--out", site]).trim());

// --- a static server on loopback -------------------------------------------------------
const types = { ".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript", ".json": "application/json", ".md": "text/markdown" };
const server = createServer((request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
  let file = join(site, path);
  if (!file.startsWith(site + sep) && file !== site) {
    response.writeHead(403).end();
    return;
  }
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
  if (!existsSync(file)) {
    response.writeHead(404).end("not found");
    return;
  }
  response.writeHead(200, { "Content-Type": types[extname(file)] || "application/octet-stream" });
  response.end(readFileSync(file));
});
await new Promise((done) => server.listen(0, "127.0.0.1", done));
const origin = `http://127.0.0.1:${server.address().port}/`;

// --- the browser -------------------------------------------------------------------------
const profile = mkdtempSync(join(tmpdir(), "modelgate-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 900 },
});
mkdirSync(screenshots, { recursive: true });

async function visit(name, path, { dark = false } = {}) {
  const page = await context.newPage();
  await page.emulateMedia({ colorScheme: dark ? "dark" : "light" });
  const errors = [];
  const outside = [];
  page.on("console", (message) => { if (message.type() === "error") errors.push(message.text()); });
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("request", (request) => { if (!request.url().startsWith(origin)) outside.push(request.url()); });
  const response = await page.goto(origin + path, { waitUntil: "load" });
  check(`${name}: loads (${path})`, response && response.status() === 200, `status ${response && response.status()}`);
  check(`${name}: no console errors`, errors.length === 0, errors.join(" | "));
  check(`${name}: no request leaves the site`, outside.length === 0, outside.join(" "));
  // Evaluated through the DevTools protocol, so the page's CSP (which allows only its own
  // script) does not have to be loosened for axe.
  await page.evaluate(axeSource);
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }));
  const severe = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(`${name}: axe-core finds no serious or critical violation`, severe.length === 0,
    severe.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`).join("; "));
  const minor = results.violations.filter((v) => !severe.includes(v));
  if (minor.length) console.log(`     note: minor/moderate: ${minor.map((v) => v.id).join(", ")}`);
  await page.screenshot({ path: join(screenshots, `${name}${dark ? "-dark" : ""}.png`), fullPage: true });
  return page;
}

try {
  const index = await visit("index", "index.html");
  const rows = () => index.locator("#models tbody tr:visible").count();
  check("index: search box is shown with JavaScript", await index.locator("#search").isVisible());
  const all = await rows();
  await index.fill("#search-text", "credit");
  check("index: typing `credit` leaves one model", (await rows()) === 1 && all === 3, `${await rows()} of ${all}`);
  await index.fill("#search-text", "");
  await index.selectOption("#search-tier", "medium");
  check("index: the tier filter keeps the medium model", (await rows()) === 1);
  await index.selectOption("#search-tier", "");
  check("index: clearing the filters shows every model", (await rows()) === all);

  const model = await visit("model", "models/credit-risk/index.html");
  await model.keyboard.press("Tab");
  const focused = await model.evaluate(() => document.activeElement && document.activeElement.className);
  check("model: the first Tab reaches the skip link", focused === "skip", `focused: ${focused}`);
  await visit("model", "models/credit-risk/index.html", { dark: true });
  const versionHref = await model.locator("#versions-h ~ .table-wrap a").first().getAttribute("href");
  const versionKey = (versionHref || "").match(/([0-9a-f]{12})\/index\.html$/);
  check("model: lists its versions, newest first", versionKey !== null, versionHref);
  check("model: the metric charts have labelled axes, the rule's bound and a table of the same numbers",
    (await model.locator("svg.chart .axis-title").count()) > 0 && (await model.locator("svg.chart .bound").count()) > 0 &&
    (await model.locator("details.chart-data table").count()) > 0);
  check("model: shows the prod stage timeline", (await model.locator("#stages-h").count()) === 1);
  const version = await visit("version", `models/credit-risk/${versionKey ? versionKey[1] : "missing"}/index.html`);
  check("version: shows the metric deltas and the card diff",
    (await version.locator(".effect-worse").count()) > 0 && (await version.locator(".diff-add").count()) > 0);
  const documentation = await visit("documentation", `models/credit-risk/${versionKey ? versionKey[1] : "missing"}/technical-documentation.html`);
  check("documentation: lists Annex IV's points and marks what is missing",
    (await documentation.locator("h2", { hasText: "Annex IV point" }).count()) === 13 && (await documentation.locator(".status.missing").count()) > 0);
  await visit("dataset", "datasets/data/credit/applications.csv/index.html");
  await visit("lineage", "lineage.html");
  const audit = await visit("audit", "audit.html");
  check("audit: the ledger is verified intact", (await audit.locator("text=is intact").count()) + (await audit.locator("strong", { hasText: "intact" }).count()) > 0);
  const evidenceHref = await audit.locator(".record a", { hasText: "record #" }).first().getAttribute("href");
  const evidence = await visit("evidence", evidenceHref || "audit/record-missing.html");
  check("evidence: shows the kept report's checks and approvals",
    (await evidence.locator("#models-h").count()) === 1 && (await evidence.locator("#approvals-h").count()) === 1);
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}

console.log(`screenshots in ${screenshots}`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
